// Command bench measures refstore side by side with what a user would deploy instead, in
// one run on one machine: nginx serving a folder, a bare Go server, S3 servers (versitygw,
// and MinIO when a minio binary is on PATH), and refstore on both backends (the embedded
// default, and PostgreSQL + S3 on the same versitygw). It loads the same files into each,
// drives the same workloads with the same client, prints a table of medians with min–max
// over the repeats and ratios to the reference peer, and writes every measurement as a
// JSON line.
//
//	go run ./bench -quick            the quick form (fewer cases, shorter runs)
//	go run ./bench                   the full form
//	go run ./bench -only 'download'  only the workloads whose name matches
//
// Only ratios from the same run mean anything: the load generator shares the machine's
// cores with the servers.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"time"

	"github.com/refstore/refstore/internal/testenv"
)

type config struct {
	quick   bool
	repeats int
	dur     time.Duration
	work    string
	out     string
	only    *regexp.Regexp
	minio   string
	assets  int // assets in the metadata store for the metadata workloads
}

// env is everything the workloads need: the servers and their URLs.
type env struct {
	cfg      config
	www      string
	servers  []*target // download peers, in table order
	uploads  []*uploadTarget
	embedded *refstoreTarget
	pgs3     *refstoreTarget
	vgw      *s3peer
	minio    *s3peer
	bins     struct{ refstore, goref string }
	procs    []*proc
	cleanup  []func()
	results  []cell
	// extraGoals are targets that workloads add (absolute bounds of this run).
	extraGoals []goal
	runID      string
	jsonl      *os.File
}

// target is a server a download workload reads from.
type target struct {
	name  string
	proc  *proc
	url   func(file string) string
	head  map[string][]string
	files map[string]string // file name → what url() needs, when it differs
}

// cell is one measurement, as written to the JSON lines.
type cell struct {
	Run       string  `json:"run"`
	Workload  string  `json:"workload"`
	Case      string  `json:"case"`
	Server    string  `json:"server"`
	Repeat    int     `json:"repeat"`
	Value     float64 `json:"value"`
	Unit      string  `json:"unit"`
	PeakRSS   int64   `json:"peak_rss_bytes,omitempty"`
	CPUCores  float64 `json:"cpu_cores,omitempty"`
	Quick     bool    `json:"quick"`
	GoVersion string  `json:"go"`
	result
}

// files are the download sizes: the same random bytes for every server.
var files = []struct {
	name string
	size int64
}{{"f50k", 50 << 10}, {"f2m", 2 << 20}, {"f100m", 100 << 20}}

func main() {
	var c config
	var only string
	flag.BoolVar(&c.quick, "quick", false, "the quick form: fewer cases and shorter runs")
	flag.IntVar(&c.repeats, "repeats", 3, "repeats of every cell")
	flag.DurationVar(&c.dur, "duration", 0, "length of a timed run (default 5s, 2s with -quick; whole seconds)")
	flag.StringVar(&c.work, "work", filepath.Join(os.TempDir(), "refstore-bench"), "scratch directory")
	flag.StringVar(&c.out, "out", "", "JSON lines file to append every measurement to (default bench/results/<run>.jsonl)")
	flag.StringVar(&only, "only", "", "run only the workloads whose name matches this regular expression")
	flag.StringVar(&c.minio, "minio", "", "MinIO server binary (default: minio on PATH, if any)")
	flag.IntVar(&c.assets, "assets", 0, "assets in the store for the metadata workloads (default 1000000, 20000 with -quick)")
	flag.Parse()
	if c.dur == 0 {
		c.dur = 5 * time.Second
		if c.quick {
			c.dur = 2 * time.Second
		}
	}
	if c.assets == 0 {
		c.assets = 1_000_000
		if c.quick {
			c.assets = 20_000
		}
	}
	if only != "" {
		c.only = regexp.MustCompile(only)
	}
	if c.minio == "" {
		c.minio = findBinary("minio")
	}
	e := &env{cfg: c, runID: time.Now().UTC().Format("20060102T150405Z")}
	if err := e.run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		e.stop()
		os.Exit(1)
	}
	e.stop()
}

// findBinary looks for a program on PATH, then where go install puts it.
func findBinary(name string) string {
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
		p := filepath.Join(strings.TrimSpace(string(out)), "bin", name)
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	return ""
}

func (e *env) run() error {
	for _, tool := range []string{"nginx", "wrk"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("%s is not installed (apt-get install nginx-light wrk; `make bench` does)", tool)
		}
	}
	if err := os.RemoveAll(e.cfg.work); err != nil {
		return err
	}
	if err := os.MkdirAll(e.cfg.work, 0o755); err != nil {
		return err
	}
	out := e.cfg.out
	if out == "" {
		out = filepath.Join("bench", "results", e.runID+".jsonl")
	}
	os.MkdirAll(filepath.Dir(out), 0o755)
	f, err := os.OpenFile(out, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	e.jsonl = f
	fmt.Printf("refstore bench %s — %s, %d CPUs, %s; repeats %d, runs of %s; raw results in %s\n\n",
		e.runID, runtime.Version(), runtime.NumCPU(), map[bool]string{true: "quick", false: "full"}[e.cfg.quick],
		e.cfg.repeats, e.cfg.dur, out)
	if err := e.build(); err != nil {
		return err
	}
	if err := e.makeFiles(); err != nil {
		return err
	}
	if err := e.startServers(); err != nil {
		return err
	}
	for _, w := range workloads {
		if e.cfg.only != nil && !e.cfg.only.MatchString(w.name) {
			continue
		}
		if e.cfg.quick && !w.quick {
			continue
		}
		if err := w.run(e); err != nil {
			return fmt.Errorf("%s: %w", w.name, err)
		}
	}
	e.report()
	return nil
}

// workload is one section of the benchmark.
type workload struct {
	name  string
	quick bool // part of the quick form
	run   func(e *env) error
}

var workloads []workload

func (e *env) build() error {
	bin := filepath.Join(e.cfg.work, "bin")
	e.bins.refstore, e.bins.goref = filepath.Join(bin, "refstore"), filepath.Join(bin, "goref")
	for _, b := range []struct{ out, pkg string }{{e.bins.refstore, "./cmd/refstore"}, {e.bins.goref, "./bench/goref"}} {
		cmd := exec.Command("go", "build", "-o", b.out, b.pkg)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("building %s: %w", b.pkg, err)
		}
	}
	return nil
}

func (e *env) makeFiles() error {
	e.www = filepath.Join(e.cfg.work, "www")
	if err := os.MkdirAll(e.www, 0o755); err != nil {
		return err
	}
	for _, f := range files {
		out, err := os.Create(filepath.Join(e.www, f.name))
		if err != nil {
			return err
		}
		_, err = io.CopyN(out, rand.Reader, f.size)
		if cerr := out.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (e *env) startServers() error {
	ctx := context.Background()
	nginx, nginxURL, err := startNginx(e.cfg.work, e.www)
	if err != nil {
		return err
	}
	e.procs = append(e.procs, nginx)
	goref, gorefURL, err := startGoref(e.bins.goref, e.www)
	if err != nil {
		return err
	}
	e.procs = append(e.procs, goref)
	e.servers = append(e.servers,
		&target{name: "nginx", proc: nginx, url: func(f string) string { return nginxURL + "/" + f }},
		&target{name: "go", proc: goref, url: func(f string) string { return gorefURL + "/" + f }})
	e.uploads = append(e.uploads,
		&uploadTarget{name: "nginx", kind: "webdav", base: nginxURL + "/up/", proc: nginx},
		&uploadTarget{name: "go", kind: "put", base: gorefURL + "/up/", proc: goref})

	// versitygw, holding the peer's objects and refstore-pgs3's blobs.
	vgwDir := filepath.Join(e.cfg.work, "versitygw")
	os.MkdirAll(vgwDir, 0o755)
	gw, err := testenv.NewS3(vgwDir)
	if err != nil {
		return err
	}
	e.cleanup = append(e.cleanup, gw.Stop)
	if e.vgw, err = newS3Peer(ctx, "versitygw", gw.Endpoint, gw.AccessKey, gw.SecretKey, gw.Bucket, false); err != nil {
		return err
	}
	if err := e.addS3Peer(ctx, e.vgw, &proc{name: "versitygw", pid: gw.Pid}); err != nil {
		return err
	}
	if e.cfg.minio != "" {
		mp, murl, err := startMinio(e.cfg.minio, filepath.Join(e.cfg.work, "minio"))
		if err != nil {
			return err
		}
		e.procs = append(e.procs, mp)
		if e.minio, err = newS3Peer(ctx, "minio", murl, "benchminio", "benchminiosecret", "bench", true); err != nil {
			return err
		}
		if err := e.addS3Peer(ctx, e.minio, mp); err != nil {
			return err
		}
	}

	// refstore on the embedded default.
	// File tokens and deleted bytes go quickly, so that a full run does not fill the disk.
	housekeeping := []string{"--file-token-ttl", "1m", "--sweep-interval", "5s"}
	if e.embedded, err = e.startRefstore("refstore", filepath.Join(e.cfg.work, "rs-embedded"), housekeeping, nil); err != nil {
		return err
	}
	// refstore on PostgreSQL + S3 (the same versitygw, under a prefix of its own).
	pg, drop, err := testenv.NewPostgresDatabase()
	if err != nil {
		return err
	}
	e.cleanup = append(e.cleanup, drop)
	blobs := fmt.Sprintf("s3://%s/rs?endpoint=%s&region=us-east-1&path-style=true", gw.Bucket, gw.Endpoint)
	if e.pgs3, err = e.startRefstore("refstore-pg-s3", filepath.Join(e.cfg.work, "rs-pgs3"),
		append(housekeeping, "--metadata", pg, "--blobs", blobs, "--delete-grace", "5s"), gw.Env()); err != nil {
		return err
	}
	// The same objects as refstore-pg-s3 stored, fetched from versitygw directly.
	objs, err := e.vgw.keys(ctx, "rs/")
	if err != nil {
		return err
	}
	direct := map[string]string{}
	for _, f := range files {
		for k, size := range objs {
			if size == f.size {
				direct[f.name] = k
			}
		}
	}
	e.servers = append(e.servers, &target{name: "versitygw-direct", proc: &proc{name: "versitygw", pid: gw.Pid}, files: direct,
		url: func(f string) string { u, _ := e.vgw.getURL(ctx, f); return u }})
	return nil
}

// addS3Peer stores the files in an S3 peer and adds it as a download and upload target.
func (e *env) addS3Peer(ctx context.Context, p *s3peer, pr *proc) error {
	for _, f := range files {
		in, err := os.Open(filepath.Join(e.www, f.name))
		if err != nil {
			return err
		}
		err = p.put(ctx, "peer/"+f.name, in, f.size)
		in.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	t := &target{name: p.name, proc: pr, url: func(f string) string { u, _ := p.getURL(ctx, "peer/"+f); return u }}
	e.servers = append(e.servers, t)
	e.uploads = append(e.uploads, &uploadTarget{name: p.name, kind: "s3", s3: p, proc: pr})
	return nil
}

func (e *env) stop() {
	for i := len(e.procs) - 1; i >= 0; i-- {
		e.procs[i].stop()
	}
	for i := len(e.cleanup) - 1; i >= 0; i-- {
		e.cleanup[i]()
	}
	if e.jsonl != nil {
		e.jsonl.Close()
	}
}

// record keeps a measurement and appends it to the JSON lines.
func (e *env) record(c cell) {
	c.Run, c.Quick, c.GoVersion = e.runID, e.cfg.quick, runtime.Version()
	e.results = append(e.results, c)
	b, _ := json.Marshal(c)
	e.jsonl.Write(append(b, '\n'))
	status := ""
	if c.Errors > 0 {
		status = fmt.Sprintf("  (%d errors: %s)", c.Errors, c.FirstErr)
	}
	fmt.Printf("  %-28s %-10s %-18s #%d  %10.1f %s%s\n", c.Workload, c.Case, c.Server, c.Repeat, c.Value, c.Unit, status)
}
