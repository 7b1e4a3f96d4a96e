package http

import (
	"bufio"
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
func (s *Server) upload(w http.ResponseWriter, r *http.Request) error {
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
	br.Reset(r.Body)
	defer func() { br.Reset(nil); uploadBuffers.Put(br) }()
	mr := multipart.NewReader(br, params["boundary"])
	for {
		part, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
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
		u, token, err := s.svc.Upload(r.Context(), principal(r), name, bodyReader{part}, maxSize)
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

// bodyReader turns failures to read the request body into a 400 that says so.
type bodyReader struct{ r io.Reader }

func (b bodyReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		return n, malformedBody(err)
	}
	return n, err
}

func malformedBody(err error) error {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return refstore.Errorf(refstore.CodeTooLarge, "The request body is too large.")
	}
	return &refstore.Error{Code: refstore.CodeInvalidBody, Message: "The multipart body is malformed or ended early.", Err: err}
}

// mediaGet answers GET /api/media/get/{token} with an upload's bytes, to its uploader only.
func (s *Server) mediaGet(w http.ResponseWriter, r *http.Request) error {
	u, f, err := s.svc.OpenUpload(r.Context(), principal(r), r.PathValue("token"))
	if err != nil {
		return err
	}
	defer f.Close()
	serveFile(w, r, file{name: u.Name, contentType: u.ContentType, modified: u.Created,
		etag: `"` + u.SHA256 + `"`, cacheControl: "private, no-cache"}, f)
	return nil
}
