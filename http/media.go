package http

import (
	"bufio"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
	"sync"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/wire"
)

// multipartSlack is what a multipart body may carry on top of its file: boundaries and
// part headers. A Content-Length above the limit plus this is refused before reading.
const multipartSlack = 1 << 20

// Pooled large read buffers: mime/multipart hands out at most what its reader has
// buffered, so a large buffer under it makes big uploads several times faster.
var uploadBuffers = sync.Pool{New: func() any { return bufio.NewReaderSize(nil, 1<<20) }}

// upload answers POST /api/media/upload: the first file part of a multipart/form-data
// body is streamed to the blob store while it arrives.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	q := r.URL.Query()
	var maxSize int64
	if v := q.Get("maxsize"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return refstore.InvalidParam("maxsize", "%q is not a positive number of bytes", v)
		}
		maxSize = n
	}
	mt, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" || len(params["boundary"]) > 70 {
		// RFC 2046 bounds boundaries to 70 characters.
		return refstore.Errorf(refstore.CodeUnsupportedMedia, "Media upload expects a multipart/form-data body with one file part (and a boundary of at most 70 characters).")
	}
	limit := s.svc.MaxUploadSize()
	if maxSize > 0 && maxSize < limit {
		limit = maxSize
	}
	if r.ContentLength > limit+multipartSlack {
		return refstore.Errorf(refstore.CodeTooLarge, "The file is larger than the limit of %d bytes.", limit)
	}
	br := uploadBuffers.Get().(*bufio.Reader)
	// Bounded, so that nothing around the file (other parts) can stream on forever.
	br.Reset(http.MaxBytesReader(w, r.Body, limit+multipartSlack))
	defer func() { br.Reset(nil); uploadBuffers.Put(br) }()
	form := newFormReader(br, params["boundary"])
	more, err := form.first()
	for ; err == nil && more; more, err = form.afterPart() {
		h, err := form.header()
		if err != nil {
			return malformedBody(err)
		}
		name, isFile := partFileName(h)
		if !isFile {
			if n, err := io.Copy(io.Discard, io.LimitReader(form.body(), maxFieldBytes+1)); err != nil {
				return malformedBody(err)
			} else if n > maxFieldBytes {
				return malformedBody(errFieldTooLong)
			}
			continue
		}
		if v := q.Get("filename"); v != "" {
			name = v
		}
		u, token, err := s.svc.Upload(r.Context(), p, name, &fileReader{part: form.body(), form: form}, maxSize)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, wire.UploadResponse{Result: wire.UploadResult{Token: token, Name: u.DisplayName()}})
		return nil
	}
	if err != nil {
		return malformedBody(err)
	}
	return refstore.InvalidParam("file", "the multipart body holds no file part")
}

// partFileName returns the file name of a part, folders included (mime/multipart would
// cut them off), and whether the part is the upload: the first with a file name or named
// file.
func partFileName(h textproto.MIMEHeader) (string, bool) {
	_, params, err := mime.ParseMediaType(h.Get("Content-Disposition"))
	if err != nil {
		return "", false
	}
	name, hasName := params["filename"]
	return decodeEncodedWord(name), hasName || params["name"] == "file"
}

// decodeEncodedWord decodes a file name .NET sent as an RFC 2047 encoded word: RestSharp
// hands names to ContentDispositionHeaderValue, which writes any non-ASCII name as
// filename="=?utf-8?B?w6l0w6kucG5n?=" (été.png) and no filename*. A name that is not one
// encoded word, or that does not decode, is kept as sent (and then refused by the path
// rules, which do not allow '?').
func decodeEncodedWord(name string) string {
	if !strings.HasPrefix(name, "=?") || !strings.HasSuffix(name, "?=") {
		return name
	}
	if decoded, err := encodedWords.DecodeHeader(name); err == nil {
		return decoded
	}
	return name
}

// encodedWords decodes UTF-8, ISO-8859-1 and US-ASCII encoded words, what .NET writes.
var encodedWords = new(mime.WordDecoder)

// fileReader reads the file part. At its end it reads the rest of the body, so that a
// body cut off before its closing delimiter fails the upload (which then keeps nothing)
// instead of passing; failures to read the body are a 400 that says so.
type fileReader struct {
	part *partReader
	form *formReader
	err  error // sticky, once the part has ended
}

func (f *fileReader) Read(p []byte) (int, error) {
	if f.err != nil {
		return 0, f.err
	}
	n, err := f.part.Read(p)
	switch {
	case err == io.EOF:
		if ferr := f.form.finish(); ferr != nil {
			f.err = malformedBody(ferr)
		} else {
			f.err = io.EOF
		}
		return n, f.err
	case err != nil:
		return n, malformedBody(err)
	}
	return n, nil
}

func malformedBody(err error) error {
	if e, ok := bodyTimeout(err); ok {
		return e
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return refstore.Errorf(refstore.CodeTooLarge, "The request body is too large.")
	}
	return &refstore.Error{Code: refstore.CodeInvalidBody, Message: "The multipart body is malformed or ended early.", Err: err}
}

// mediaGet answers GET /api/media/get/{token} with an upload's bytes, to its uploader only.
func (s *Server) mediaGet(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	u, f, err := s.svc.OpenUpload(r.Context(), p, r.PathValue("token"))
	if err != nil {
		return err
	}
	defer f.Close()
	fh := newFileHeaders(file{name: u.Name, contentType: u.ContentType, modified: u.Created,
		etag: `"` + u.SHA256 + `"`, cacheControl: cacheRevalidate, size: u.Size})
	return s.serveFile(w, r, fh, u.Created, u.Size, f)
}
