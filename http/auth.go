package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"unicode/utf8"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/wire"
)

// maxJSONBody bounds the JSON bodies of login and attach: they hold a few short strings.
const maxJSONBody = 64 << 10

// decodeJSON reads a small JSON body into v. It accepts the content types clients send
// JSON with (including curl's default form type) and refuses uploads sent to the wrong
// route.
func decodeJSON(w http.ResponseWriter, r *http.Request, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		switch {
		case err != nil:
			return refstore.Errorf(refstore.CodeUnsupportedMedia, "The Content-Type %q cannot be parsed; send application/json.", ct)
		case mt != "application/json" && mt != "text/json" && mt != "text/plain" && mt != "application/x-www-form-urlencoded":
			return refstore.Errorf(refstore.CodeUnsupportedMedia, "The body must be JSON (application/json), not %s.", mt)
		}
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return refstore.Errorf(refstore.CodeTooLarge, "The JSON body is larger than %d bytes.", maxJSONBody)
	case err != nil:
		return &refstore.Error{Code: refstore.CodeInvalidBody, Message: "The request body could not be read.", Err: err}
	case !utf8.Valid(body):
		// encoding/json would turn invalid bytes into U+FFFD and store a name nobody sent.
		return refstore.Errorf(refstore.CodeInvalidBody, "The JSON body is not valid UTF-8.")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		if e, ok := bodyTimeout(err); ok {
			return e
		}
		switch {
		case errors.As(err, &typeErr):
			return refstore.InvalidParam(typeErr.Field, "must be a JSON %s", typeErr.Type.Kind())
		case errors.Is(err, io.EOF):
			return refstore.Errorf(refstore.CodeInvalidBody, "The request needs a JSON body.")
		default:
			return refstore.Errorf(refstore.CodeInvalidBody, "The body is not valid JSON: %v.", err)
		}
	}
	if dec.More() {
		return refstore.Errorf(refstore.CodeInvalidBody, "The body holds more than one JSON value.")
	}
	return nil
}

// login answers POST /api/auth/token with the token as a JSON string.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var req wire.LoginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	switch {
	case req.AccountID == "":
		return refstore.InvalidParam("accountid", "required")
	case req.Key == "":
		return refstore.InvalidParam("key", "required")
	}
	token, err := s.svc.Login(r.Context(), req.AccountID, req.Key)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, token)
	return nil
}

// logout answers DELETE /api/auth/token and PUT /api/auth/token/invalidate.
func (s *Server) logout(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.Logout(r.Context(), r.Header.Get("X-Auth-Token"), r.Header.Get("X-Auth-AccountId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusOK)
	return nil
}

// authedHandler is a handler of an authenticated /api call.
type authedHandler func(w http.ResponseWriter, r *http.Request, p refstore.Principal) error

// authed checks the X-Auth-Token and X-Auth-AccountId headers before h runs.
func (s *Server) authed(h authedHandler) func(http.ResponseWriter, *http.Request) error {
	return func(w http.ResponseWriter, r *http.Request) error {
		p, err := s.authenticate(r)
		if err != nil {
			return err
		}
		return h(w, r, p)
	}
}

// authenticate checks the auth headers and the rate limit of the caller's API key. The
// principal comes back with the view of the metadata its request reads through.
func (s *Server) authenticate(r *http.Request) (refstore.Principal, error) {
	p, err := s.svc.Authenticate(r.Context(), firstHeader(r, "X-Auth-Token"), firstHeader(r, "X-Auth-Accountid"))
	if err == nil {
		err = s.svc.Admit(r.Context(), p)
	}
	return p, err
}

// firstHeader reads a header by its canonical key, without canonicalising it again.
func firstHeader(r *http.Request, canonicalKey string) string {
	if v := r.Header[canonicalKey]; len(v) > 0 {
		return v[0]
	}
	return ""
}
