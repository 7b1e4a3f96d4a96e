package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// request describes one kind of HTTP request a load run repeats.
type request struct {
	method string
	url    string
	// urlFor, when set, gives the URL of the i-th request instead of url.
	urlFor func(i int) string
	header http.Header
	// body returns the body of the i-th request, its length and content type; nil for none.
	body func(i int) (io.Reader, int64, string)
	// check validates a response; nil accepts any 2xx.
	check func(resp *http.Response, body []byte) error
	// keepBody keeps the response body for check (small responses only).
	keepBody bool
	// then runs after a successful request, timed as part of it (e.g. an attach after an
	// upload); nil for none.
	then func(ctx context.Context, c *http.Client, resp *http.Response, body []byte) error
}

// result is what one load run measured.
type result struct {
	Requests  int64         `json:"requests"`
	Errors    int64         `json:"errors"`
	Bytes     int64         `json:"bytes"`
	Duration  time.Duration `json:"duration_ns"`
	ReqPerSec float64       `json:"req_per_s"`
	MBPerSec  float64       `json:"mb_per_s"` // 1 MB = 10^6 bytes, response or request bodies
	P50       time.Duration `json:"p50_ns"`
	P99       time.Duration `json:"p99_ns"`
	FirstErr  string        `json:"first_error,omitempty"`
}

// newClient returns a client with one keep-alive connection per worker and large reads,
// so that the client, not the server, is never the one starving on big files.
func newClient() *http.Client {
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 10 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 1,
		MaxConnsPerHost:     1,
		DisableCompression:  true,
		ReadBufferSize:      1 << 20,
		WriteBufferSize:     1 << 20,
	}, Timeout: 30 * time.Minute}
}

// runLoad repeats req on conc connections, for dur (when count is 0) or until count
// requests are done, and measures throughput and latency.
func runLoad(req request, conc int, dur time.Duration, count int) result {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var next atomic.Int64
	var bytesDone, errs atomic.Int64
	var firstErr atomic.Value
	lat := make([][]time.Duration, conc)
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for w := range conc {
		wg.Go(func() {
			c := newClient()
			defer c.CloseIdleConnections()
			buf := make([]byte, 1<<20)
			var kept bytes.Buffer
			for {
				i := int(next.Add(1) - 1)
				if count > 0 && i >= count || count == 0 && time.Now().After(deadline) {
					return
				}
				t0 := time.Now()
				n, err := once(ctx, c, req, i, buf, &kept)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				bytesDone.Add(n)
				lat[w] = append(lat[w], time.Since(t0))
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	slices.Sort(all)
	r := result{Requests: int64(len(all)), Errors: errs.Load(), Bytes: bytesDone.Load(), Duration: elapsed,
		ReqPerSec: float64(len(all)) / elapsed.Seconds(), MBPerSec: float64(bytesDone.Load()) / 1e6 / elapsed.Seconds(),
		P50: percentile(all, 0.50), P99: percentile(all, 0.99)}
	if e, ok := firstErr.Load().(string); ok {
		r.FirstErr = e
	}
	return r
}

func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	return sorted[max(i, 0)]
}

// once sends one request and reads its response, returning the body bytes moved.
func once(ctx context.Context, c *http.Client, req request, i int, buf []byte, kept *bytes.Buffer) (int64, error) {
	var body io.Reader
	var size int64
	var ct string
	if req.body != nil {
		body, size, ct = req.body(i)
	}
	url := req.url
	if req.urlFor != nil {
		url = req.urlFor(i)
	}
	r, err := http.NewRequestWithContext(ctx, req.method, url, body)
	if err != nil {
		return 0, err
	}
	for k, v := range req.header {
		r.Header[k] = v
	}
	if body != nil {
		r.ContentLength = size
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
	}
	resp, err := c.Do(r)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var n int64
	kept.Reset()
	if req.keepBody {
		n, err = io.CopyBuffer(kept, resp.Body, buf)
	} else {
		n, err = io.CopyBuffer(io.Discard, struct{ io.Reader }{resp.Body}, buf)
	}
	if err != nil {
		return 0, err
	}
	if resp.StatusCode/100 != 2 {
		return 0, fmt.Errorf("%s %s: %s: %.200s", req.method, url, resp.Status, kept.String())
	}
	if req.check != nil {
		if err := req.check(resp, kept.Bytes()); err != nil {
			return 0, err
		}
	}
	if req.then != nil {
		if err := req.then(ctx, c, resp, kept.Bytes()); err != nil {
			return 0, err
		}
	}
	if body != nil {
		return size, nil
	}
	return n, nil
}
