package main

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// refstoreTarget is a refstore server loaded with the download files.
type refstoreTarget struct {
	name    string
	proc    *proc
	base    string
	api     *api
	nextSeg atomic.Int64
}

// Segments of the benchmark's catalog: the download files live in the first ones, uploads
// go to the others.
const (
	firstSegment   = 1_000_000
	catalogSegs    = 2_000
	uploadSegments = 100
)

func (e *env) startRefstore(name, data string, args, env []string) (*refstoreTarget, error) {
	p, base, err := startRefstore(name, e.bins.refstore, data, args, env)
	if err != nil {
		return nil, err
	}
	e.procs = append(e.procs, p)
	if err := loadCatalog(base, firstSegment, catalogSegs); err != nil {
		return nil, err
	}
	a, err := login(base)
	if err != nil {
		return nil, err
	}
	for i, f := range files {
		in, err := os.Open(filepath.Join(e.www, f.name))
		if err != nil {
			return nil, err
		}
		err = a.put(firstSegment+int64(i), "en", f.name+".bin", in, f.size)
		in.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: loading %s: %w", name, f.name, err)
		}
	}
	t := &refstoreTarget{name: name, proc: p, base: base, api: a}
	seg := map[string]int64{}
	for i, f := range files {
		seg[f.name] = firstSegment + int64(i)
	}
	e.servers = append(e.servers, &target{name: name, proc: p, head: a.header(),
		url: func(f string) string { return a.downloadURL(seg[f], "en", f+".bin") }})
	e.uploads = append(e.uploads, &uploadTarget{name: name, kind: "refstore", rs: t, proc: p})
	return t, nil
}

func init() {
	workloads = append(workloads, workload{name: "download", quick: true, run: downloads})
}

type dlCase struct {
	file  string
	conc  int
	rng   string // Range header, "" for whole files
	label string
}

func downloads(e *env) error {
	cases := []dlCase{}
	for _, f := range []string{"f50k", "f2m", "f100m"} {
		for _, c := range []int{1, 8, 64} {
			cases = append(cases, dlCase{file: f, conc: c})
		}
	}
	mid := int64(50 << 20)
	rng := fmt.Sprintf("bytes=%d-%d", mid, mid+(1<<20)-1)
	cases = append(cases, dlCase{file: "f100m", conc: 1, rng: rng}, dlCase{file: "f100m", conc: 8, rng: rng})
	if e.cfg.quick {
		cases = []dlCase{{file: "f50k", conc: 8}, {file: "f50k", conc: 64}, {file: "f2m", conc: 8},
			{file: "f100m", conc: 1}, {file: "f100m", conc: 8, rng: rng}}
	}
	for rep := 1; rep <= e.cfg.repeats; rep++ {
		for _, c := range cases {
			for _, t := range e.servers {
				if err := e.download(t, c, rep); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func (e *env) download(t *target, c dlCase, rep int) error {
	file := c.file
	if t.files != nil {
		file = t.files[c.file]
	}
	url := t.url(file)
	header := http.Header{}
	for k, v := range t.head {
		header[k] = v
	}
	workload, unit := "download "+sizeName(c.file), "MB/s"
	if c.rng != "" {
		header.Set("Range", c.rng)
		workload = "range 1MiB of 100MiB"
	}
	var u *usage
	if t.proc != nil {
		u = watch(t.proc.pids)
	}
	var r result
	var err error
	if c.file == "f50k" {
		unit = "req/s"
		r, err = runWrk(e.cfg.work, url, header, c.conc, e.cfg.dur)
	} else {
		r = runLoad(request{method: "GET", url: url, header: header}, c.conc, e.cfg.dur, 0)
	}
	cl := cell{Workload: workload, Case: fmt.Sprintf("c=%d", c.conc), Server: t.name, Repeat: rep, result: r, Unit: unit}
	if u != nil {
		cl.PeakRSS, cl.CPUCores = u.done()
	}
	if err != nil {
		return err
	}
	cl.Value = r.MBPerSec
	if unit == "req/s" {
		cl.Value = r.ReqPerSec
	}
	e.record(cl)
	time.Sleep(200 * time.Millisecond) // let sockets in TIME_WAIT and the page cache settle
	return nil
}

func sizeName(file string) string {
	switch file {
	case "f50k":
		return "50KiB"
	case "f2m":
		return "2MiB"
	default:
		return "100MiB"
	}
}
