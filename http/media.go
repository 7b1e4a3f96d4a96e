package http

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"sync"

	"github.com/refstore/refstore"
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
	if err != nil || mt != "multipart/form-data" || params["boundary"] == "" {
		return refstore.Errorf(refstore.CodeUnsupportedMedia, "Media upload expects a multipart/form-data body with one file part.")
	}
	limit := s.svc.Config().MaxUploadSize
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
	end := &multipartEnd{r: br, dash: []byte("--" + params["boundary"])}
	mr := multipart.NewReader(end, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF && !end.complete() {
			return malformedBody(io.ErrUnexpectedEOF)
		} else if errors.Is(err, io.EOF) {
			return refstore.InvalidParam("file", "the multipart body holds no file part")
		} else if err != nil {
			return malformedBody(err)
		}
		name, isFile := partFileName(part)
		if !isFile {
			if _, err := io.Copy(io.Discard, io.LimitReader(part, 64<<10)); err != nil {
				return malformedBody(err)
			}
			continue
		}
		if v := q.Get("filename"); v != "" {
			name = v
		}
		u, token, err := s.svc.Upload(r.Context(), p, name, &bodyReader{r: part, mr: mr, end: end}, maxSize)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, uploadResponse{Result: uploadResult{Token: token, Name: u.DisplayName()}})
		return nil
	}
}

type uploadResponse struct {
	Result uploadResult `json:"result"`
}

type uploadResult struct {
	Token string `json:"token"`
	Name  string `json:"name"`
}

// partFileName returns the file name of a part, folders included (Part.FileName would cut
// them off), and whether the part is the upload: the first with a file name or named file.
func partFileName(p *multipart.Part) (string, bool) {
	_, params, err := mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		return "", false
	}
	name, hasName := params["filename"]
	return name, hasName || params["name"] == "file"
}

// bodyReader turns failures to read the request body into a 400 that says so. At the
// end of the file part it reads the rest of the multipart body, so that a body cut off
// before its closing delimiter fails the upload (and keeps nothing) instead of passing.
// Its end is sticky: a reader that reads again after io.EOF (the S3 store does, when a
// file is an exact multiple of its part size) gets io.EOF again.
type bodyReader struct {
	r    io.Reader
	mr   *multipart.Reader
	end  *multipartEnd
	done bool
}

func (b *bodyReader) Read(p []byte) (int, error) {
	if b.done {
		return 0, io.EOF
	}
	n, err := b.r.Read(p)
	if err == io.EOF {
		if err := finishMultipart(b.mr, b.end); err != nil {
			return n, malformedBody(err)
		}
		b.done = true
		return n, io.EOF
	}
	if err != nil {
		return n, malformedBody(err)
	}
	return n, nil
}

// finishMultipart skips the parts after the file and checks that the body ends with the
// closing delimiter.
func finishMultipart(mr *multipart.Reader, end *multipartEnd) error {
	for {
		part, err := mr.NextRawPart()
		if err == io.EOF {
			if !end.complete() {
				return io.ErrUnexpectedEOF
			}
			return nil
		} else if err != nil {
			return err
		}
		if _, err := io.Copy(io.Discard, part); err != nil {
			return err
		}
	}
}

// multipartEnd watches the bytes mime/multipart reads. mime/multipart answers a bare
// io.EOF both for the closing delimiter and for a body cut off inside a part's headers
// (just after a delimiter); the last delimiter in the body tells the two apart.
type multipartEnd struct {
	r    io.Reader
	dash []byte // "--" + boundary
	eof  bool
	tail [512]byte
	n    int // bytes of tail in use (at its end)
}

func (m *multipartEnd) Read(p []byte) (int, error) {
	n, err := m.r.Read(p)
	if n >= len(m.tail) {
		m.n = copy(m.tail[:], p[n-len(m.tail):n])
	} else if n > 0 {
		keep := min(m.n, len(m.tail)-n)
		copy(m.tail[len(m.tail)-keep-n:], m.tail[len(m.tail)-keep:])
		copy(m.tail[len(m.tail)-n:], p[:n])
		m.n = keep + n
	}
	if err == io.EOF {
		m.eof = true
	}
	return n, err
}

// complete reports whether mime/multipart's io.EOF was the closing delimiter: the body
// goes on past it (an epilogue not read), or its last delimiter is the closing one. When
// the last delimiter is out of sight (a long epilogue, or long headers) it cannot tell,
// and trusts mime/multipart.
func (m *multipartEnd) complete() bool {
	if !m.eof {
		return true
	}
	tail := m.tail[len(m.tail)-m.n:]
	for i := len(tail); ; {
		if i = bytes.LastIndex(tail[:i], m.dash); i < 0 {
			return true
		}
		if i > 0 && tail[i-1] != '\n' {
			continue
		}
		switch rest := tail[i+len(m.dash):]; {
		case bytes.HasPrefix(rest, []byte("--")):
			return true
		case len(rest) == 0 || rest[0] == '\r' || rest[0] == '\n' || rest[0] == ' ' || rest[0] == '\t':
			return false
		}
	}
}

func malformedBody(err error) error {
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
