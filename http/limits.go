package http

import (
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/refstore/refstore"
)

// DefaultBodyReadTimeout is how long a request body may send nothing before the request
// fails with 408 (Config.BodyReadTimeout).
const DefaultBodyReadTimeout = 30 * time.Second

// limitRequests applies what concerns every route: CORS, and the deadline of body reads.
// It changes r in place, so that the router's pattern stays visible to observe.
func (s *Server) limitRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.cors != nil && s.cors.handle(w, r) {
			return // a preflight, answered
		}
		if r.Body != nil && r.Body != http.NoBody && s.cfg.BodyReadTimeout > 0 {
			r.Body = newDeadlineBody(w, r.Body, s.cfg.BodyReadTimeout)
		}
		next.ServeHTTP(w, r)
	})
}

// deadlineBody fails a body that sends nothing for timeout: every read extends the
// connection's read deadline, so a slow but steady upload passes and a stalled one (a
// slowloris holding a connection with a body) is cut off.
type deadlineBody struct {
	io.ReadCloser
	rc      *http.ResponseController
	timeout time.Duration
	off     bool // no deadline: it is not supported, or the body has ended
}

func newDeadlineBody(w http.ResponseWriter, body io.ReadCloser, timeout time.Duration) *deadlineBody {
	b := &deadlineBody{ReadCloser: body, rc: http.NewResponseController(w), timeout: timeout}
	// Set at once: a handler that never reads leaves the server to discard the body.
	if err := b.rc.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		b.off = true
	}
	return b
}

func (b *deadlineBody) Read(p []byte) (int, error) {
	if !b.off {
		b.rc.SetReadDeadline(time.Now().Add(b.timeout))
	}
	n, err := b.ReadCloser.Read(p)
	switch {
	case err == io.EOF && !b.off:
		// The connection's reader waits for the next request from now on, which the
		// server bounds itself (IdleTimeout).
		b.off = true
		b.rc.SetReadDeadline(time.Time{})
	case err != nil && isTimeout(err):
		err = &refstore.Error{Code: CodeTimeout, Err: err,
			Message: "The request body came too slowly: nothing arrived for " + b.timeout.String() + "."}
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// bodyTimeout returns the timeout error a failed body read carries, if it does.
func bodyTimeout(err error) (*refstore.Error, bool) {
	var e *refstore.Error
	if errors.As(err, &e) && e.Code == CodeTimeout {
		return e, true
	}
	return nil, false
}
