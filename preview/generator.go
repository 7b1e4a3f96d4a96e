package preview

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/sandbox"
)

// Config configures a Generator. Zero fields take the defaults shown.
type Config struct {
	// Workers is how many previews are made at once (default: the number of CPUs). Each
	// holds at most one decoded image or one tool process, so it also bounds memory.
	Workers int
	// MaxPixels refuses larger images before decoding (default 50 megapixels: the 48 and
	// 50 MP of current phone cameras pass).
	MaxPixels int64
	// MaxDecodeBytes refuses images whose decoded pixels would take more (default 256 MiB:
	// a 50 MP JPEG takes up to 150 MB, a 50 MP RGBA PNG 200 MB, a 16-bit one would not pass).
	MaxDecodeBytes int64
	// JPEGQuality of JPEG previews (default 82: no visible artefacts at thumbnail sizes,
	// a third smaller than 92).
	JPEGQuality int
	// TempDir receives the private copy of a remote source a tool needs (default
	// os.TempDir()), in a directory of its own removed after the run; NewGenerator
	// removes those a crash left behind.
	TempDir string
	// Sandbox runs pdftoppm and ffmpeg (sandbox.Detect with Tools). Nil, or a sandbox
	// without the tool: PDF and video previews fail with CodeNoPreviewTool.
	Sandbox *sandbox.Runner
	// PDFLimits and VideoLimits bound each tool run (default DefaultPDFLimits,
	// DefaultVideoLimits; zero fields inside take sandbox.DefaultLimits).
	PDFLimits, VideoLimits sandbox.Limits
}

func (c Config) withDefaults() Config {
	if c.Workers <= 0 {
		c.Workers = runtime.NumCPU()
	}
	if c.MaxPixels <= 0 {
		c.MaxPixels = 50_000_000
	}
	if c.MaxDecodeBytes <= 0 {
		c.MaxDecodeBytes = 256 << 20
	}
	if c.JPEGQuality <= 0 || c.JPEGQuality > 100 {
		c.JPEGQuality = 82
	}
	if c.TempDir == "" {
		c.TempDir = os.TempDir()
	}
	if c.PDFLimits == (sandbox.Limits{}) {
		c.PDFLimits = DefaultPDFLimits()
	}
	if c.VideoLimits == (sandbox.Limits{}) {
		c.VideoLimits = DefaultVideoLimits()
	}
	return c
}

// Generator makes previews with a bounded pool and one flight per key. It is safe for
// concurrent use.
type Generator struct {
	cfg   Config
	slots chan struct{}

	mu      sync.Mutex
	flights map[Key]*flight

	generated, joined, failed atomic.Int64
	running, maxRunning       atomic.Int64
}

// NewGenerator returns a Generator for cfg.
func NewGenerator(cfg Config) *Generator {
	cfg = cfg.withDefaults()
	sweepSpools(cfg.TempDir)
	return &Generator{cfg: cfg, slots: make(chan struct{}, cfg.Workers), flights: map[Key]*flight{}}
}

// Config returns the configuration in force, defaults filled in.
func (g *Generator) Config() Config { return g.cfg }

// Available says whether previews of a kind can be made here: nil, or a
// CodeNoPreviewTool error naming the missing tool.
func (g *Generator) Available(kind Kind) error {
	tool, ok := toolOf[kind]
	if !ok {
		return nil
	}
	if err := g.cfg.Sandbox.Available(tool); err != nil {
		return toolError(tool, string(kind), err)
	}
	return nil
}

// Generate makes the preview of src that req asks for. Concurrent calls for the same key
// share one generation; a generation waits for a free slot of the pool. When every
// caller waiting for a generation has gone (its context done), the generation is
// cancelled, queued or running.
//
// Errors are *refstore.Error with CodeUnsupportedMedia (415), CodeImageTooLarge and
// CodeMediaUnreadable (422), CodeOutOfRange (404), CodeNoPreviewTool (501),
// CodeInvalidParameter (400), or CodeInternal; or ctx's own error.
func (g *Generator) Generate(ctx context.Context, src Source, req Request) (*Preview, error) {
	k, err := KeyOf(src, req)
	if err != nil {
		return nil, err
	}
	// Refused before queueing: a missing tool is known at start.
	if err := g.Available(k.Kind); err != nil {
		return nil, err
	}
	return g.join(ctx, k, func(ctx context.Context) (*Preview, error) {
		select {
		case g.slots <- struct{}{}:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		defer func() { <-g.slots }()
		g.enter()
		defer g.running.Add(-1)
		p, err := g.generate(ctx, src, k)
		if err != nil {
			g.failed.Add(1)
			return nil, err
		}
		g.generated.Add(1)
		p.Key = k
		return p, nil
	})
}

func (g *Generator) enter() {
	n := g.running.Add(1)
	for {
		m := g.maxRunning.Load()
		if n <= m || g.maxRunning.CompareAndSwap(m, n) {
			return
		}
	}
}

// generate makes one preview, holding a pool slot.
func (g *Generator) generate(ctx context.Context, src Source, k Key) (*Preview, error) {
	if src.Open == nil {
		return nil, refstore.Internal(errors.New("preview: source without Open"))
	}
	rc, err := src.Open(ctx)
	if err != nil {
		return nil, fmt.Errorf("preview: opening the source: %w", err)
	}
	defer rc.Close()
	f, isFile := rc.(*os.File)
	if k.Kind == KindImage && (isFile || !isTIFF(rc)) {
		return imagePreview(rc, k.Width, g.limits())
	}
	if !isFile {
		// Tools need a seekable file, and TIFF a random-access one.
		var cleanup func()
		if f, cleanup, err = g.spool(ctx, rc); err != nil {
			return nil, err
		}
		defer cleanup()
	}
	switch k.Kind {
	case KindImage:
		return imagePreview(f, k.Width, g.limits())
	case KindPDF:
		return g.pdfPreview(ctx, f, k)
	case KindVideo:
		return g.videoPreview(ctx, f, k)
	}
	return nil, refstore.Internal(fmt.Errorf("preview: kind %q", k.Kind))
}

func (g *Generator) limits() imageLimits {
	return imageLimits{maxPixels: g.cfg.MaxPixels, maxDecodeBytes: g.cfg.MaxDecodeBytes, quality: g.cfg.JPEGQuality}
}

// isTIFF peeks at r's signature and rewinds it.
func isTIFF(r io.ReadSeeker) bool {
	var b [4]byte
	n, _ := io.ReadFull(r, b[:])
	r.Seek(0, io.SeekStart)
	return sniffFormat(b[:n]) == "tiff"
}

// spool copies a remote source into a private file (in a directory of mode 0700 of its
// own), removed with its directory by the returned cleanup. The file keeps its name while
// the tool runs: bubblewrap binds an open file by resolving its path (and checks the
// inode it mounted is the descriptor's), so an unlinked file cannot be bound.
func (g *Generator) spool(ctx context.Context, r io.Reader) (*os.File, func(), error) {
	dir, err := os.MkdirTemp(g.cfg.TempDir, spoolPrefix)
	if err != nil {
		return nil, nil, refstore.Internal(fmt.Errorf("preview: temporary copy: %w", err))
	}
	f, err := os.OpenFile(filepath.Join(dir, "source"), os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, refstore.Internal(fmt.Errorf("preview: temporary copy: %w", err))
	}
	cleanup := func() {
		f.Close()
		os.RemoveAll(dir)
	}
	if _, err := io.Copy(f, ctxReader{ctx, r}); err != nil {
		cleanup()
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, fmt.Errorf("preview: copying the source: %w", err)
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		cleanup()
		return nil, nil, refstore.Internal(err)
	}
	return f, cleanup, nil
}

// spoolPrefix names the private directories of spooled sources.
const spoolPrefix = "refstore-preview-"

// sweepSpools removes spool directories a crashed process left behind: none lives longer
// than a tool's run, so one an hour old is abandoned.
func sweepSpools(dir string) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	for _, e := range ents {
		if !e.IsDir() || !strings.HasPrefix(e.Name(), spoolPrefix) {
			continue
		}
		if info, err := e.Info(); err == nil && time.Since(info.ModTime()) > time.Hour {
			os.RemoveAll(filepath.Join(dir, e.Name()))
		}
	}
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// Stats counts generations, for metrics and tests.
type Stats struct {
	Generated  int64 // previews made
	Failed     int64 // generations that ended in an error
	Joined     int64 // calls that shared another call's generation
	Running    int64 // generations holding a pool slot now
	MaxRunning int64 // the most at once since NewGenerator
}

// Stats returns the counters.
func (g *Generator) Stats() Stats {
	return Stats{Generated: g.generated.Load(), Failed: g.failed.Load(), Joined: g.joined.Load(),
		Running: g.running.Load(), MaxRunning: g.maxRunning.Load()}
}

// flight is one generation and the callers waiting for it. golang.org/x/sync/singleflight
// runs the work under the first caller's context (one caller leaving fails everyone) or
// under none (work nobody waits for any more goes on); a flight is cancelled when its
// last caller leaves, and only then.
type flight struct {
	done    chan struct{}
	p       *Preview
	err     error
	waiters int
	cancel  context.CancelFunc
}

// join runs fn once for k among concurrent callers and returns its result to each.
func (g *Generator) join(ctx context.Context, k Key, fn func(context.Context) (*Preview, error)) (*Preview, error) {
	g.mu.Lock()
	f, ok := g.flights[k]
	if ok {
		f.waiters++
		g.joined.Add(1)
	} else {
		// The generation keeps the first caller's values (trace ids) but not its
		// cancellation, which is counted instead.
		fctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), waiters: 1, cancel: cancel}
		g.flights[k] = f
		go func() {
			p, err := fn(fctx)
			g.mu.Lock()
			f.p, f.err = p, err
			if g.flights[k] == f {
				delete(g.flights, k)
			}
			g.mu.Unlock()
			cancel()
			close(f.done)
		}()
	}
	g.mu.Unlock()

	select {
	case <-f.done:
		return f.p, f.err
	case <-ctx.Done():
		g.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			f.cancel()
			// A caller arriving now starts afresh rather than join a cancelled flight.
			if g.flights[k] == f {
				delete(g.flights, k)
			}
		}
		g.mu.Unlock()
		return nil, ctx.Err()
	}
}
