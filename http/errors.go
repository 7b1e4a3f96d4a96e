package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/wire"
)

// Codes only the HTTP layer produces: they describe an HTTP request, not the domain.
const (
	CodeMethodNotAllowed refstore.Code = "method_not_allowed" // 405: the route exists for other methods
	CodeTimeout          refstore.Code = "request_timeout"    // 408: the request body came too slowly
	// 412: an If-Match or If-Unmodified-Since of a download does not hold
	CodePreconditionFailed refstore.Code = "precondition_failed"
	// 416: a download's Range lies wholly past the end of the file
	CodeRangeNotSatisfiable refstore.Code = "range_not_satisfiable"
)

// statusOf maps every error code to its one HTTP status.
var statusOf = map[refstore.Code]int{
	refstore.CodeInvalidParameter: http.StatusBadRequest,
	refstore.CodeInvalidBody:      http.StatusBadRequest,
	refstore.CodeUnauthorized:     http.StatusUnauthorized,
	refstore.CodeInvalidKey:       http.StatusUnauthorized,
	refstore.CodeForbidden:        http.StatusForbidden,
	refstore.CodeNotFound:         http.StatusNotFound,
	refstore.CodeScopeNotFound:    http.StatusNotFound,
	refstore.CodeSegmentNotFound:  http.StatusNotFound,
	refstore.CodeAssetNotFound:    http.StatusNotFound,
	refstore.CodeFileTokenInvalid: http.StatusNotFound,
	CodeMethodNotAllowed:          http.StatusMethodNotAllowed,
	refstore.CodeConflict:         http.StatusConflict,
	refstore.CodeTooLarge:         http.StatusRequestEntityTooLarge,
	refstore.CodeUnsupportedMedia: http.StatusUnsupportedMediaType,
	refstore.CodeRateLimited:      http.StatusTooManyRequests,
	refstore.CodeInternal:         http.StatusInternalServerError,
	refstore.CodeUnavailable:      http.StatusServiceUnavailable,
	refstore.CodeStorageFull:      http.StatusInsufficientStorage,
	refstore.CodeQuotaExceeded:    http.StatusInsufficientStorage,
	CodeTimeout:                   http.StatusRequestTimeout,
	CodePreconditionFailed:        http.StatusPreconditionFailed,
	CodeRangeNotSatisfiable:       http.StatusRequestedRangeNotSatisfiable,
	refstore.CodeOutOfRange:       http.StatusNotFound,
	refstore.CodeImageTooLarge:    http.StatusUnprocessableEntity,
	refstore.CodeMediaUnreadable:  http.StatusUnprocessableEntity,
	refstore.CodeNoPreviewTool:    http.StatusNotImplemented,
}

// StatusOf returns the HTTP status of an error.
func StatusOf(err error) int {
	if s, ok := statusOf[refstore.ErrorCode(err)]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// RetryAfter is implemented by errors that tell the client when to come back.
type RetryAfter interface{ RetryAfter() time.Duration }

// writeError sends err in the Wordbee envelope. Internal errors are logged with their
// cause and shown only as a request id.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.logError(r, err)
	status := StatusOf(e)
	if status == http.StatusTooManyRequests {
		body := wire.ThrottlingError{Error: wire.ThrottlingDetail{Type: "Throttling error", Message: e.Message},
			Reason: e.Message, Code: e.Code}
		setRetryAfter(w, err)
		writeJSON(w, status, body)
		return
	}
	writeJSON(w, status, errorBody(e, w.Header().Get("X-Request-Id")))
}

// errorBody is the Wordbee envelope of e; a 5xx names the request id in its details.
func errorBody(e *refstore.Error, requestID string) wire.Error {
	body := wire.Error{Reason: e.Message, Code: e.Code, Error: wire.ErrorDetail{
		Date: refstore.FormatDate(time.Now()), Title: e.Message, Messages: []string{}}}
	if StatusOf(e) >= 500 {
		id := "request id " + requestID
		body.Error.Details = &id
	}
	return body
}

// setRetryAfter tells a throttled client when to come back.
func setRetryAfter(w http.ResponseWriter, err error) {
	var ra RetryAfter
	if errors.As(err, &ra) {
		w.Header().Set("Retry-After", strconv.Itoa(int(ra.RetryAfter().Round(time.Second)/time.Second)))
	}
}

// writeAssetIDError sends err in the envelope of the download-by-id route.
func (s *Server) writeAssetIDError(w http.ResponseWriter, r *http.Request, err error) {
	e := s.logError(r, err)
	setRetryAfter(w, err)
	msg := e.Message
	if StatusOf(e) >= 500 {
		msg += " (request id " + w.Header().Get("X-Request-Id") + ")"
	}
	writeJSON(w, StatusOf(e), wire.AssetIDError{Code: e.Code, Msg: msg, Failed: true})
}

func (s *Server) logError(r *http.Request, err error) *refstore.Error {
	e := refstore.AsError(err)
	if r.Context().Err() != nil {
		// The client went away and its request was cancelled: nothing failed here.
		s.log.DebugContext(r.Context(), "request cancelled by the client", "err", err)
		return e
	}
	if StatusOf(e) >= 500 {
		s.log.ErrorContext(r.Context(), "request failed", "code", e.Code, "err", err)
	}
	return e
}

// writeJSON sends v as JSON: one Write of the whole body, announced by its
// Content-Length, and nothing after the value — no newline. Real Wordbee connectors read
// bodies byte for byte: the C# (RestSharp) and Unreal clients strip only the quotes from the
// login's "<token>" and would keep a trailing newline in the token, which then breaks
// every header it is sent in. HTML characters are not escaped: the body is never HTML, and
// download URLs keep their plain '&'.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledJSON {
			buf.Reset()
			jsonBuffers.Put(buf)
		}
	}()
	body, err := encodeJSON(buf, v)
	if err != nil {
		// Only a value the wire types cannot hold gets here: a bug, answered as one.
		slog.Error("encoding a JSON response failed", "err", err)
		buf.Reset()
		status = http.StatusInternalServerError
		body, _ = encodeJSON(buf, errorBody(refstore.Internal(err), ""))
	}
	h := w.Header()
	h["Content-Type"] = jsonContentType
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	w.WriteHeader(status)
	if _, err := w.Write(body); err != nil {
		slog.Debug("writing a JSON response failed", "err", err)
	}
}

// encodeJSON encodes v into buf and returns the bytes without the encoder's newline.
func encodeJSON(buf *bytes.Buffer, v any) ([]byte, error) {
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte{'\n'}), nil
}

var (
	jsonContentType = []string{"application/json; charset=utf-8"}
	jsonBuffers     = sync.Pool{New: func() any { return new(bytes.Buffer) }}
)

// maxPooledJSON bounds the buffers kept for reuse: a rare large list must not pin its
// memory in the pool.
const maxPooledJSON = 64 << 10
