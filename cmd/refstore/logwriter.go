package main

import (
	"bufio"
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"time"
)

// logWriter buffers log output so that the access log costs no system call per request:
// lines are written out every flushEvery, when the buffer fills, and at once after a
// warning or an error (see flushingHandler).
type logWriter struct {
	mu  sync.Mutex
	buf *bufio.Writer
}

const flushEvery = 200 * time.Millisecond

// logOutput is where every command logs to: stderr, buffered. main flushes it on exit.
var logOutput = newLogWriter(os.Stderr)

func newLogWriter(w io.Writer) *logWriter {
	l := &logWriter{buf: bufio.NewWriterSize(w, 64<<10)}
	go func() {
		for range time.Tick(flushEvery) {
			l.Flush()
		}
	}()
	return l
}

func (l *logWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logWriter) Flush() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Flush()
}

// flushingHandler writes warnings and errors out at once: they must not wait, nor be lost
// to a crash that follows them.
type flushingHandler struct {
	slog.Handler
	w *logWriter
}

func (h flushingHandler) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.w.Flush()
	}
	return err
}

func (h flushingHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushingHandler{h.Handler.WithAttrs(attrs), h.w}
}

func (h flushingHandler) WithGroup(name string) slog.Handler {
	return flushingHandler{h.Handler.WithGroup(name), h.w}
}
