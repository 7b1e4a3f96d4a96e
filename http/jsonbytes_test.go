package http

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"strconv"
	"testing"

	"github.com/refstore/refstore"
)

// A JSON body is the value and nothing after it, in one Write with its Content-Length:
// connectors that strip only the quotes from the login's body keep anything that follows.
func TestWriteJSONExactBytes(t *testing.T) {
	for _, tc := range []struct {
		v    any
		want string
	}{
		{"5F1C0D2A-1B2C-4D5E-8F90-A1B2C3D4E5F6", `"5F1C0D2A-1B2C-4D5E-8F90-A1B2C3D4E5F6"`},
		{map[string]string{"u": "a&b<c>"}, `{"u":"a&b<c>"}`},
		{[]int{}, `[]`},
		{"line\nbreak", `"line\nbreak"`},
	} {
		w := &countingRecorder{ResponseRecorder: httptest.NewRecorder()}
		writeJSON(w, http.StatusOK, tc.v)
		if got := w.Body.String(); got != tc.want {
			t.Errorf("writeJSON(%#v) wrote %q, want %q", tc.v, got, tc.want)
		}
		if cl := w.Header().Get("Content-Length"); cl != strconv.Itoa(len(tc.want)) {
			t.Errorf("writeJSON(%#v): Content-Length %q, want %d", tc.v, cl, len(tc.want))
		}
		if ct := w.Header().Get("Content-Type"); ct != "application/json; charset=utf-8" {
			t.Errorf("writeJSON(%#v): Content-Type %q", tc.v, ct)
		}
		if w.writes != 1 {
			t.Errorf("writeJSON(%#v) wrote in %d pieces, want 1", tc.v, w.writes)
		}
	}
}

// A value that cannot be encoded is a bug: it is answered as a 500 in the envelope, never
// as a half-written body.
func TestWriteJSONUnencodable(t *testing.T) {
	w := httptest.NewRecorder()
	writeJSON(w, http.StatusOK, map[string]any{"f": func() {}})
	if w.Code != 500 {
		t.Fatalf("status %d, want 500", w.Code)
	}
	if b := w.Body.Bytes(); len(b) == 0 || b[len(b)-1] != '}' || w.Header().Get("Content-Length") != strconv.Itoa(len(b)) {
		t.Fatalf("body %q, Content-Length %q", b, w.Header().Get("Content-Length"))
	}
}

// ServeContent's own statuses come back as errors of the route, with the headers that
// described the file removed.
func TestContentError(t *testing.T) {
	for _, tc := range []struct {
		status int
		code   refstore.Code
	}{
		{416, CodeRangeNotSatisfiable},
		{412, CodePreconditionFailed},
		{500, refstore.CodeInternal},
	} {
		w := httptest.NewRecorder()
		w.Header().Set("Content-Disposition", "attachment")
		w.Header().Set("Content-Range", "bytes */10")
		err := contentError(w, tc.status, 10)
		var e *refstore.Error
		if !errors.As(err, &e) || e.Code != tc.code || StatusOf(e) != tc.status {
			t.Errorf("contentError(%d) = %v, want code %s", tc.status, err, tc.code)
		}
		if w.Header().Get("Content-Disposition") != "" || w.Header().Get("Content-Range") != "bytes */10" {
			t.Errorf("contentError(%d) left headers %v", tc.status, w.Header())
		}
	}
}

type countingRecorder struct {
	*httptest.ResponseRecorder
	writes int
}

func (c *countingRecorder) Write(p []byte) (int, error) {
	c.writes++
	return c.ResponseRecorder.Write(p)
}

// RestSharp's non-ASCII file names arrive as RFC 2047 encoded words; RFC 2231 (filename*)
// is decoded by mime itself.
func TestPartFileNameEncodings(t *testing.T) {
	for _, tc := range []struct{ disposition, want string }{
		{`form-data; name="file"; filename="shot.png"`, "shot.png"},
		{`form-data; name="file"; filename="=?utf-8?B?w6l0w6kucG5n?="`, "été.png"},
		{`form-data; name="file"; filename="=?UTF-8?Q?=C3=A9t=C3=A9.png?="`, "été.png"},
		{`form-data; name="file"; filename*=utf-8''%C3%A9t%C3%A9.png`, "été.png"},
		{`form-data; name="file"; filename="docs/x.txt"`, "docs/x.txt"},
		{`form-data; name="file"; filename="=?bogus?B?w6k=?="`, "=?bogus?B?w6k=?="},
	} {
		got, ok := partFileName(textproto.MIMEHeader{"Content-Disposition": {tc.disposition}})
		if !ok || got != tc.want {
			t.Errorf("%s: name %q (%t), want %q", tc.disposition, got, ok, tc.want)
		}
	}
}
