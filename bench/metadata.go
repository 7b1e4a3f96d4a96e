package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
	"github.com/refstore/refstore/service"
	"github.com/refstore/refstore/sqlstore"
)

func init() {
	workloads = append(workloads, workload{name: "metadata", quick: true, run: metadata})
}

// The metadata store of this workload: busySegments segments of perBusy assets each (the
// "list one segment of 100 assets" case), and every other asset alone in its segment (the
// "list many of 1000 segments" case).
const (
	metaFirstSegment = 50_000_000
	perBusy          = 100
	metaDocuments    = 100
	metaBlobs        = 32 // distinct contents the assets share (hard links are capped per inode)
)

func busySegments(assets int) int { return max(assets/10/perBusy, 10) }

// metadataStore returns a data directory holding n assets, generating it through the
// service (uploads and attaches, as clients make them) on first use and keeping it next to
// the scratch directory for later runs.
func (e *env) metadataStore(n int) (string, error) {
	dir := fmt.Sprintf("%s-meta-%d", e.cfg.work, n)
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return dir, nil
	}
	os.RemoveAll(dir)
	start := time.Now()
	fmt.Printf("  generating a store of %d assets in %s (kept for later runs)…\n", n, dir)
	ctx := context.Background()
	blobs, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		return "", err
	}
	defer blobs.Close()
	meta, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "meta.db"))
	if err != nil {
		return "", err
	}
	defer meta.Close()
	svc := service.New(meta, blobs, service.Config{FileTokenTTL: 30 * 24 * time.Hour},
		slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))

	busy := busySegments(n)
	singles := n - busy*perBusy
	segs := busy + singles
	docs := make([]refstore.CatalogDocument, metaDocuments)
	for i := range docs {
		docs[i].ID = int64(90_000 + i)
	}
	for s := range segs {
		d := &docs[s%metaDocuments]
		d.Segments = append(d.Segments, int64(metaFirstSegment+s))
	}
	cat := &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: benchAccount,
		Users:    []refstore.CatalogUser{{ID: 1, Name: "bench", APIKey: benchKey}},
		Projects: []refstore.CatalogProject{{ID: benchProject, Documents: docs}},
		Grants:   []refstore.CatalogGrant{{UserID: 1, ProjectID: benchProject, Rights: []string{"read", "upload", "delete"}}},
	}}}
	if err := svc.UpsertCatalog(ctx, cat); err != nil {
		return "", err
	}
	p := refstore.Principal{Account: benchAccount, UserID: 1}
	tokens := make([]string, metaBlobs)
	for i := range tokens {
		data := bytes.Repeat([]byte{byte(i)}, 1024)
		if _, tokens[i], err = svc.Upload(ctx, p, fmt.Sprintf("b%d.png", i), bytes.NewReader(data), 0); err != nil {
			return "", err
		}
	}
	scope := refstore.Scope{Kind: refstore.ScopeProject, ID: benchProject}
	var next, done atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || firstErr.Load() != nil {
					return
				}
				// A busy segment's assets differ by folder; a single asset sits at the root.
				seg, folder := int64(metaFirstSegment+busy+(i-busy*perBusy)), "/"
				if i < busy*perBusy {
					seg, folder = int64(metaFirstSegment+i/perBusy), fmt.Sprintf("r%03d", i%perBusy)
				}
				_, err := svc.Attach(ctx, p, scope, seg, service.AttachRequest{FileToken: tokens[i%metaBlobs],
					RelativePath: folder})
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				if d := done.Add(1); d%100_000 == 0 {
					fmt.Printf("    %d assets (%.0f/s)\n", d, float64(d)/time.Since(start).Seconds())
				}
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o644); err != nil {
		return "", err
	}
	fmt.Printf("  generated %d assets in %s\n", n, time.Since(start).Round(time.Second))
	return dir, nil
}

func metadata(e *env) error {
	n := e.cfg.assets
	dir, err := e.metadataStore(n)
	if err != nil {
		return fmt.Errorf("generating the metadata store: %w", err)
	}
	p, base, err := startRefstore("refstore-1M", e.bins.refstore, dir, nil, nil)
	if err != nil {
		return err
	}
	defer p.stop()
	a, err := login(base)
	if err != nil {
		return err
	}
	busy := busySegments(n)
	singles := n - busy*perBusy
	label := fmt.Sprintf("metadata, %s assets", commas(int64(n)))
	rng := rand.New(rand.NewPCG(1, 2))
	c := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
	get := func(url string) (time.Duration, error) {
		req, _ := http.NewRequest("GET", url, nil)
		req.Header = a.header()
		t0 := time.Now()
		resp, err := c.Do(req)
		if err != nil {
			return 0, err
		}
		defer resp.Body.Close()
		var buf bytes.Buffer
		buf.ReadFrom(resp.Body)
		if resp.StatusCode != 200 {
			return 0, fmt.Errorf("%s: %s %s", url, resp.Status, buf.String())
		}
		return time.Since(t0), nil
	}
	for rep := 1; rep <= e.cfg.repeats; rep++ {
		// List one segment of 100 assets, segments picked at random (most not cached yet).
		var lat []time.Duration
		for range 1000 {
			seg := metaFirstSegment + rng.IntN(busy)
			d, err := get(fmt.Sprintf("%s/api/resources/assets/%d/list?scope=pr%d", base, seg, benchProject))
			if err != nil {
				return err
			}
			lat = append(lat, d)
		}
		e.recordLatency(label, "list one segment of 100", "refstore", rep, lat)
		// List many: 1000 single-asset segments at random per call.
		lat = lat[:0]
		for range 100 {
			ids := make([]string, 1000)
			for i := range ids {
				ids[i] = strconv.Itoa(metaFirstSegment + busy + rng.IntN(singles))
			}
			d, err := get(fmt.Sprintf("%s/api/resources/assets/list?scope=pr%d&segmentIds=%s", base, benchProject,
				strings.Join(ids, ",")))
			if err != nil {
				return err
			}
			lat = append(lat, d)
		}
		e.recordLatency(label, "list many of 1000 segments", "refstore", rep, lat)
		// Attach: files uploaded first (not timed), then attached to new addresses.
		for _, size := range []int64{1 << 10, largeAttach(e)} {
			token, err := a.upload(fmt.Sprintf("attach-%d.bin", size), body(size, rep), size)
			if err != nil {
				return err
			}
			lat = lat[:0]
			for i := range 200 {
				seg := int64(metaFirstSegment + busy + rng.IntN(singles))
				t0 := time.Now()
				if err := a.attachAs(c, seg, fmt.Sprintf("x%d-%d", rep, i), token); err != nil {
					return err
				}
				lat = append(lat, time.Since(t0))
			}
			e.recordLatency(label, fmt.Sprintf("attach (%s file)", sizeLabel(size)), "refstore", rep, lat)
		}
	}
	e.extraGoals = append(e.extraGoals,
		goal{what: "list one segment of 100 assets, p99 (ms)", workload: label + " p99", cs: "list one segment of 100", server: "refstore", max: 2},
		goal{what: "list many of 1000 segments, p99 (ms)", workload: label + " p99", cs: "list many of 1000 segments", server: "refstore", max: 50},
		goal{what: "attach, p99 (ms)", workload: label + " p99", cs: "attach (1KiB file)", server: "refstore", max: 10},
		goal{what: "attach of a large file vs a 1 KiB file, p50", workload: label + " p50", cs: fmt.Sprintf("attach (%s file)", sizeLabel(largeAttach(e))),
			versusCase: "attach (1KiB file)", server: "refstore", max: 2})
	return nil
}

// largeAttach is the size of the large file whose attach is timed against a 1 KiB one.
func largeAttach(e *env) int64 {
	if e.cfg.quick {
		return 64 << 20
	}
	return 1 << 30
}

func sizeLabel(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%dGiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%dMiB", n>>20)
	default:
		return fmt.Sprintf("%dKiB", n>>10)
	}
}

// recordLatency records the p50 and p99 of a set of latencies, in milliseconds.
func (e *env) recordLatency(workload, cs, server string, rep int, lat []time.Duration) {
	s := slices.Clone(lat)
	slices.Sort(s)
	r := result{Requests: int64(len(s)), P50: percentile(s, 0.5), P99: percentile(s, 0.99)}
	e.record(cell{Workload: workload + " p50", Case: cs, Server: server, Repeat: rep, result: r,
		Value: float64(r.P50.Microseconds()) / 1000, Unit: "ms"})
	e.record(cell{Workload: workload + " p99", Case: cs, Server: server, Repeat: rep, result: r,
		Value: float64(r.P99.Microseconds()) / 1000, Unit: "ms"})
}
