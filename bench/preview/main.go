// Command preview measures the preview generator (package preview) in process, without
// HTTP: how long a typical screenshot takes to become a thumbnail when nothing is cached,
// and how much memory the process holds while a burst of previews of large photos goes
// through the generator's pool.
//
//	go run ./bench/preview              the full form
//	go run ./bench/preview -quick       fewer runs
//	go run ./bench/preview -jsonl       one JSON object per measurement on stdout (bench's workload "previews")
//
// Each generation gets its own key (the same bytes under distinct SHA-256 labels), so
// every run is a cold generation: the single flight never shares one. Serving cached
// previews is measured with the HTTP integration, not here.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/refstore/refstore/preview"
)

type measurement struct {
	Workload string  `json:"workload"`
	Case     string  `json:"case"`
	Value    float64 `json:"value"`
	Unit     string  `json:"unit"`
}

func main() {
	quick := flag.Bool("quick", false, "fewer runs")
	runs := flag.Int("runs", 0, "cold screenshot previews to time (default 200, 40 with -quick)")
	large := flag.Int("large", 64, "previews of large photos generated at once")
	workers := flag.Int("workers", 0, "generator pool size (default: the number of CPUs)")
	jsonl := flag.Bool("jsonl", false, "print measurements as JSON lines instead of a table")
	dir := flag.String("work", filepath.Join(os.TempDir(), "refstore-bench-preview"), "scratch directory")
	flag.Parse()
	if *runs == 0 {
		*runs = 200
		if *quick {
			*runs = 40
		}
	}
	// Each workload has one unit, as bench's tables want; notes are for the reader only.
	out := func(m measurement) {
		switch {
		case *jsonl && m.Workload == "":
		case *jsonl:
			b, _ := json.Marshal(m)
			fmt.Println(string(b))
		case m.Workload == "":
			fmt.Printf("    (%s: %.1f %s)\n", m.Case, m.Value, m.Unit)
		default:
			fmt.Printf("  %-52s %-8s %10.1f %s\n", m.Workload, m.Case, m.Value, m.Unit)
		}
	}
	if !*jsonl {
		fmt.Printf("preview bench — %s, %d CPUs\n", runtime.Version(), runtime.NumCPU())
	}
	if err := run(*dir, *runs, *large, *workers, out); err != nil {
		fmt.Fprintln(os.Stderr, "bench/preview:", err)
		os.Exit(1)
	}
}

func run(dir string, runs, large, workers int, out func(measurement)) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	shot := filepath.Join(dir, "screenshot-1280x800.png")
	if err := writeOnce(shot, func(w io.Writer) error { return png.Encode(w, screenshot(1280, 800)) }); err != nil {
		return err
	}
	photo := filepath.Join(dir, "photo-6000x4000.jpg")
	if err := writeOnce(photo, func(w io.Writer) error {
		return jpeg.Encode(w, photoLike(6000, 4000), &jpeg.Options{Quality: 90})
	}); err != nil {
		return err
	}
	g := preview.NewGenerator(preview.Config{Workers: workers})

	// Cold screenshot previews, one after the other.
	const wl = "preview: 1280x800 PNG screenshot to 320px, cold"
	for i := range 3 { // warm the page cache and the code paths
		if _, err := g.Generate(context.Background(), source(shot, "image/png", 1_000_000+i), preview.Request{Width: 320}); err != nil {
			return err
		}
	}
	lat := make([]time.Duration, 0, runs)
	var size int
	for i := range runs {
		start := time.Now()
		p, err := g.Generate(context.Background(), source(shot, "image/png", i), preview.Request{Width: 320})
		if err != nil {
			return err
		}
		lat = append(lat, time.Since(start))
		size = len(p.Data)
	}
	slices.Sort(lat)
	out(measurement{wl, "p50", ms(pct(lat, 50)), "ms"})
	out(measurement{wl, "p99", ms(pct(lat, 99)), "ms"})
	out(measurement{"", fmt.Sprintf("%d runs; preview size", runs), float64(size) / 1e3, "KB"})

	// A burst of large photos through the pool, at the smallest and the largest width.
	for _, width := range []int{320, 1280} {
		runtime.GC()
		wl := fmt.Sprintf("preview: %d 6000x4000 JPEGs at once", large)
		cs := fmt.Sprintf("%dpx", width)
		idle := rssKB("VmRSS:")
		os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) // reset VmHWM to now
		stop, peak := sampleRSS()
		start := time.Now()
		var wg sync.WaitGroup
		errs := make(chan error, large)
		for i := range large {
			wg.Go(func() {
				_, err := g.Generate(context.Background(), source(photo, "image/jpeg", 10_000_000+width*1000+i), preview.Request{Width: width})
				errs <- err
			})
		}
		wg.Wait()
		elapsed := time.Since(start)
		stop()
		close(errs)
		for err := range errs {
			if err != nil {
				return err
			}
		}
		hwm := max(rssKB("VmHWM:"), *peak)
		out(measurement{wl + ", peak RSS", cs, float64(hwm) / 1e3, "MB"})
		out(measurement{wl + ", wall time per preview", cs, ms(elapsed) / float64(large), "ms"})
		out(measurement{"", "RSS before the burst", float64(idle) / 1e3, "MB"})
		out(measurement{"", fmt.Sprintf("pool of %d; most generations at once", g.Config().Workers), float64(g.Stats().MaxRunning), ""})
	}
	return nil
}

// source is the file under a label of its own (a distinct key per generation).
func source(path, ct string, label int) preview.Source {
	return preview.Source{SHA256: fmt.Sprintf("%064x", label), ContentType: ct,
		Open: func(context.Context) (io.ReadSeekCloser, error) { return os.Open(path) }}
}

func writeOnce(path string, enc func(io.Writer) error) error {
	if _, err := os.Stat(path); err == nil {
		return nil
	}
	var b bytes.Buffer
	if err := enc(&b); err != nil {
		return err
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b.Bytes(), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// screenshot draws something like an application window: title bar, sidebar, lines of
// "text" (short dark runs), buttons, and a photo-like panel.
func screenshot(w, h int) *image.NRGBA {
	rng := rand.New(rand.NewPCG(1, 2))
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	fill := func(r image.Rectangle, c color.NRGBA) {
		for y := r.Min.Y; y < r.Max.Y; y++ {
			for x := r.Min.X; x < r.Max.X; x++ {
				m.SetNRGBA(x, y, c)
			}
		}
	}
	fill(m.Rect, color.NRGBA{250, 250, 250, 255})
	fill(image.Rect(0, 0, w, 48), color.NRGBA{40, 44, 52, 255})
	fill(image.Rect(0, 48, 220, h), color.NRGBA{235, 237, 240, 255})
	for y := 70; y < h-20; y += 22 { // text lines: word-like runs of dark pixels
		x0, x1 := 240, w-360
		if y < 400 {
			x0 = 20
			x1 = 200
		}
		for x := x0 + rng.IntN(20); x < x1; {
			word := 12 + rng.IntN(50)
			for yy := y; yy < y+11; yy++ {
				for xx := x; xx < min(x+word, x1); xx++ {
					if rng.IntN(3) > 0 {
						m.SetNRGBA(xx, yy, color.NRGBA{30, 30, 30, 255})
					}
				}
			}
			x += word + 6
		}
	}
	for i := range 4 {
		fill(image.Rect(240+i*130, 60, 360+i*130, 90), color.NRGBA{uint8(30 + 50*i), 120, 215, 255})
	}
	for y := 100; y < 500; y++ { // a photo: smooth gradients with noise
		for x := w - 340; x < w-20; x++ {
			n := rng.IntN(24)
			m.SetNRGBA(x, y, color.NRGBA{uint8(x/5 + n), uint8(y/2 + n), uint8(150 + n), 255})
		}
	}
	return m
}

// photoLike is a large picture that compresses like a photo: gradients, texture, noise.
func photoLike(w, h int) *image.YCbCr {
	rng := rand.New(rand.NewPCG(3, 4))
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for y := range h {
		for x := range w {
			m.Y[m.YOffset(x, y)] = uint8((x*255/w+y*128/h)/2 + rng.IntN(40))
		}
	}
	for y := range (h + 1) / 2 {
		for x := range (w + 1) / 2 {
			i := y*m.CStride + x
			m.Cb[i] = uint8(100 + x*60/w + rng.IntN(8))
			m.Cr[i] = uint8(120 + y*60/h + rng.IntN(8))
		}
	}
	return m
}

func pct(sorted []time.Duration, p int) time.Duration {
	i := (len(sorted)*p + 99) / 100
	return sorted[max(0, min(len(sorted)-1, i-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// sampleRSS samples this process's resident memory every 10 ms until stopped.
func sampleRSS() (stop func(), peak *int64) {
	var p int64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			p = max(p, rssKB("VmRSS:"))
			select {
			case <-done:
				return
			case <-t.C:
			}
		}
	})
	return func() { close(done); wg.Wait() }, &p
}

func rssKB(field string) int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return n
		}
	}
	return 0
}
