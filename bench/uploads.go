package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"syscall"
	"time"
)

// uploadTarget is a server a file can be stored in.
type uploadTarget struct {
	name string
	kind string // webdav, put (raw PUT), s3 (presigned PUT), refstore (media upload + attach)
	base string
	s3   *s3peer
	rs   *refstoreTarget
	proc *proc
}

func init() {
	workloads = append(workloads,
		workload{name: "upload large", quick: true, run: uploadLarge},
		workload{name: "upload small", quick: true, run: uploadSmall})
}

// randomBlock is cycled through to make upload bodies: incompressible, and cheap for the
// client to produce.
var randomBlock = func() []byte {
	b := make([]byte, 4<<20)
	rand.Read(b)
	return b
}()

type cycleReader struct {
	left int64
	off  int
	salt byte
}

func body(size int64, salt int) io.Reader { return &cycleReader{left: size, salt: byte(salt)} }

func (c *cycleReader) Read(p []byte) (int, error) {
	if c.left <= 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(int64(len(p)), c.left)], randomBlock[c.off:])
	if c.off == 0 && n > 0 {
		p[0] ^= c.salt // each body differs, so no server can deduplicate it away
	}
	c.off = (c.off + n) % len(randomBlock)
	c.left -= int64(n)
	return n, nil
}

// uploadRequest is the request that stores the i-th body of size bytes on t.
func (e *env) uploadRequest(t *uploadTarget, prefix string, size int64) (request, error) {
	ctx := context.Background()
	var seq atomic.Int64
	name := func(i int) string { return fmt.Sprintf("%s-%s-%d-%d.bin", prefix, e.runID, i, seq.Add(1)) }
	switch t.kind {
	case "webdav", "put":
		return request{method: "PUT", urlFor: func(i int) string { return t.base + name(i) },
			body: func(i int) (io.Reader, int64, string) { return body(size, i), size, "" }}, nil
	case "s3":
		return request{method: "PUT", urlFor: func(i int) string {
			u, _ := t.s3.putURL(ctx, "up/"+name(i))
			return u
		}, body: func(i int) (io.Reader, int64, string) { return body(size, i), size, "" }}, nil
	case "refstore":
		a := t.rs.api
		return request{method: "POST", header: a.header(), keepBody: true,
			urlFor: func(i int) string { return a.uploadURL(name(i)) },
			body: func(i int) (io.Reader, int64, string) {
				r, ct, extra := multipartUpload(name(i), body(size, i))
				return r, size + extra, ct
			},
			then: func(ctx context.Context, c *http.Client, resp *http.Response, b []byte) error {
				var up struct{ Result struct{ Token string } }
				if err := json.Unmarshal(b, &up); err != nil {
					return err
				}
				seg := firstSegment + int64(len(files)) + t.rs.nextSeg.Add(1)%uploadSegments
				return a.attach(c, seg, "", up.Result.Token)
			}}, nil
	}
	return request{}, fmt.Errorf("unknown upload kind %q", t.kind)
}

// diskSpeed writes size bytes to a file with fsync: the disk's own speed, the ceiling of
// any durable upload.
func (e *env) diskSpeed(size int64) result {
	path := filepath.Join(e.cfg.work, "disk-probe")
	defer os.Remove(path)
	start := time.Now()
	f, err := os.Create(path)
	if err != nil {
		return result{Errors: 1, FirstErr: err.Error()}
	}
	buf := make([]byte, 1<<20)
	n, err := io.CopyBuffer(struct{ io.Writer }{f}, body(size, 0), buf)
	if err == nil {
		err = f.Sync()
	}
	f.Close()
	d := time.Since(start)
	if err != nil {
		return result{Errors: 1, FirstErr: err.Error()}
	}
	return result{Requests: 1, Bytes: n, Duration: d, ReqPerSec: 1 / d.Seconds(), MBPerSec: float64(n) / 1e6 / d.Seconds(), P50: d, P99: d}
}

func uploadLarge(e *env) error {
	size := int64(1 << 30)
	if e.cfg.quick {
		size = 256 << 20
	}
	label := fmt.Sprintf("upload %dMiB", size>>20)
	for rep := 1; rep <= e.cfg.repeats; rep++ {
		settle()
		r := e.diskSpeed(size)
		e.record(cell{Workload: label, Case: "c=1", Server: "disk (fsync)", Repeat: rep, result: r, Value: r.MBPerSec, Unit: "MB/s"})
		for _, t := range e.uploads {
			settle()
			req, err := e.uploadRequest(t, "large", size)
			if err != nil {
				return err
			}
			u := watch(t.proc.pids)
			r := runLoad(req, 1, 0, 1)
			cl := cell{Workload: label, Case: "c=1", Server: t.name, Repeat: rep, result: r, Value: r.MBPerSec, Unit: "MB/s"}
			cl.PeakRSS, cl.CPUCores = u.done()
			e.record(cl)
			e.cleanUploads()
		}
	}
	return nil
}

func uploadSmall(e *env) error {
	n := 1000
	if e.cfg.quick {
		n = 300
	}
	for rep := 1; rep <= e.cfg.repeats; rep++ {
		for _, conc := range []int{1, 8} {
			if e.cfg.quick && conc == 1 {
				continue
			}
			for _, t := range e.uploads {
				settle()
				req, err := e.uploadRequest(t, "small", 50<<10)
				if err != nil {
					return err
				}
				u := watch(t.proc.pids)
				r := runLoad(req, conc, 0, n)
				cl := cell{Workload: "upload 50KiB (+ attach)", Case: fmt.Sprintf("c=%d", conc), Server: t.name, Repeat: rep,
					result: r, Value: r.ReqPerSec, Unit: "ops/s"}
				cl.PeakRSS, cl.CPUCores = u.done()
				e.record(cl)
			}
			e.cleanUploads()
		}
	}
	return nil
}

// settle lets the disk write back what earlier runs left in the page cache, so that one
// upload does not pay for another's data (the virtual disk absorbs bursts, then slows).
func settle() {
	syscall.Sync()
	time.Sleep(time.Second)
}

// cleanUploads removes what the upload runs stored, to keep the disk from filling up
// over a full run: files of the static peers, objects of the S3 peers, assets of the
// refstore servers (whose bytes go once their file tokens expire).
func (e *env) cleanUploads() {
	for _, dir := range []string{filepath.Join(e.cfg.work, "nginx-up"), filepath.Join(e.www, "up")} {
		os.RemoveAll(dir)
		os.Mkdir(dir, 0o777)
		os.Chmod(dir, 0o777) // nginx's workers write here as an unprivileged user
	}
	ctx := context.Background()
	for _, t := range e.uploads {
		switch {
		case t.s3 != nil:
			keys, _ := t.s3.keys(ctx, "up/")
			for k := range keys {
				t.s3.delete(ctx, k)
			}
		case t.rs != nil:
			for s := range int64(uploadSegments) {
				t.rs.api.deleteAll(firstSegment + int64(len(files)) + s)
			}
		}
	}
}
