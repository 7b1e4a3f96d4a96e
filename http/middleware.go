package http

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/refstore/refstore"
)

// requestID returns a client's X-Request-Id when it is a plain token (so that ids can be
// followed across a load balancer), and a fresh one otherwise.
func requestID(r *http.Request) string {
	if v := r.Header["X-Request-Id"]; len(v) > 0 {
		if id := v[0]; len(id) > 0 && len(id) <= 64 {
			ok := true
			for i := 0; i < len(id) && ok; i++ {
				c := id[i]
				ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
			}
			if ok {
				return id
			}
		}
	}
	return newRequestID()
}

// Fresh request ids are a random prefix drawn at start and a counter: unique across
// restarts and nodes without a system call per request.
var (
	idPrefix = func() string {
		var b [6]byte
		rand.Read(b[:])
		return hex.EncodeToString(b[:])
	}()
	idCounter atomic.Uint64
)

func newRequestID() string {
	var b [24]byte
	n := copy(b[:], idPrefix)
	return string(strconv.AppendUint(b[:n], idCounter.Add(1), 16))
}

// statusWriter records the status and size of a response. It passes ReadFrom through, so
// that a download still reaches the connection's sendfile path.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(p)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) ReadFrom(r io.Reader) (int64, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	var n int64
	var err error
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		// HTTP/2's writer has no ReadFrom (there is no sendfile through TLS and frames).
		n, err = io.Copy(struct{ io.Writer }{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe wraps the router: request id, panic recovery, access log and metrics. The
// route label is the mux pattern, never the raw path (which can carry file tokens).
// Failed requests (5xx) are always logged; the others only with Config.AccessLog.
func (s *Server) observe(mux http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := requestID(r)
		w.Header()["X-Request-Id"] = []string{id}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			// Mutations record the id in their audit rows; reads skip the request copy.
			r = r.WithContext(refstore.WithRequestID(r.Context(), id))
		}
		sw := &statusWriter{ResponseWriter: w}
		s.metrics.inFlight.Inc()
		defer func() {
			s.metrics.inFlight.Dec()
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				s.log.ErrorContext(r.Context(), "panic", "panic", fmt.Sprint(p))
				if sw.status == 0 {
					s.writeError(sw, r, refstore.Internal(fmt.Errorf("panic: %v", p)))
				}
			}
			route := r.Pattern
			if route == "" {
				route = "unmatched"
			}
			status := sw.status
			if status == 0 {
				status = http.StatusOK
			}
			d := time.Since(start)
			m := s.metrics.forRoute(route, status)
			m.requests.Inc()
			m.duration.Observe(d.Seconds())
			m.bytes.Add(float64(sw.bytes))
			level := slog.LevelInfo
			if status >= 500 {
				level = slog.LevelWarn
			} else if !s.cfg.AccessLog {
				return
			}
			if s.log.Enabled(r.Context(), level) {
				s.log.Log(r.Context(), level, "request", "method", r.Method, "route", route, "status", status,
					"bytes", sw.bytes, "duration_ms", float64(d.Microseconds())/1000, "request_id", id)
			}
		}()
		mux.ServeHTTP(sw, r)
	})
}
