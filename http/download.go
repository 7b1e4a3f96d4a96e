package http

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/refstore/refstore"
)

// file is what a download needs to know besides the bytes.
type file struct {
	name         string
	contentType  string
	modified     time.Time
	etag         string
	cacheControl string
	size         int64
	// attachment forces Content-Disposition: attachment even for displayable types.
	attachment bool
}

// fileHeaders are the response headers of one version of a file, built once: a download
// of a small asset then sets them without formatting or allocating anything.
type fileHeaders struct {
	inline        bool
	contentType   []string
	disposition   []string
	dispositionV  string
	etag          []string
	lastModified  []string
	contentLength []string
	cacheControl  []string
}

// Values shared by every response.
var (
	nosniff      = []string{"nosniff"}
	sandbox      = []string{"sandbox"}
	acceptRanges = []string{"bytes"}
)

func newFileHeaders(f file) *fileHeaders {
	inline := !f.attachment && isInline(f.contentType)
	kind := "attachment"
	if inline {
		kind = "inline"
	}
	d := contentDisposition(kind, f.name)
	return &fileHeaders{inline: inline, contentType: []string{f.contentType}, disposition: []string{d}, dispositionV: d,
		etag: []string{f.etag}, lastModified: []string{f.modified.UTC().Format(http.TimeFormat)},
		contentLength: []string{strconv.FormatInt(f.size, 10)}, cacheControl: []string{f.cacheControl}}
}

// headerCache keeps fileHeaders by file version. Versions never change, so entries are
// never stale; the map is emptied when it grows past its bound.
//
// An entry costs about 600 bytes and every overwrite makes a new version, so the bound
// decides the memory: 100,000 entries (the first bound) grew the heap by tens of MiB
// under the load soak; 8192 keep it to about 5 MiB and still cover a hot working set.
const maxHeaderEntries = 8192

type headerCache struct {
	mu sync.RWMutex
	m  map[headerKey]*fileHeaders
}

type headerKey struct {
	account      string
	id           int64
	version      refstore.Ticks
	cacheControl string
	attachment   bool
}

func (c *headerCache) get(k headerKey, f func() file) *fileHeaders {
	c.mu.RLock()
	h, ok := c.m[k]
	c.mu.RUnlock()
	if ok {
		return h
	}
	h = newFileHeaders(f())
	c.mu.Lock()
	if c.m == nil || len(c.m) >= maxHeaderEntries {
		c.m = map[headerKey]*fileHeaders{}
	}
	c.m[k] = h
	c.mu.Unlock()
	return h
}

// assetHeaders returns the headers of an asset's download.
func (s *Server) assetHeaders(a *refstore.Asset, cacheControl string, attachment bool) *fileHeaders {
	return s.headers.get(headerKey{a.Account, a.ID, a.Modified, cacheControl, attachment}, func() file {
		return file{name: a.Name, contentType: a.ContentType, modified: a.Modified.Time(), etag: assetETag(a),
			cacheControl: cacheControl, size: a.Size, attachment: attachment}
	})
}

// serveFile sends a stored file. http.ServeContent does Range (206, multi-range, 416),
// If-None-Match / If-Modified-Since (304), If-Range and HEAD; handing it the *os.File the
// filesystem store opened lets net/http send the bytes with sendfile. A small file held in
// memory, asked for whole and without validators, is written directly.
//
// Only images (not SVG), audio, video, PDF and plain text are inline; everything else is
// an attachment under a sandbox CSP, and nosniff keeps browsers to the declared type.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, fh *fileHeaders, modified time.Time, size int64, content refstore.Content) error {
	if p := content.Presigner; p != nil && s.cfg.PresignTTL > 0 && r.Method == http.MethodGet {
		return presignedRedirect(w, r, p, fh.contentType[0], fh.dispositionV, s.cfg.PresignTTL)
	}
	if p := content.Prefetcher; p != nil {
		if err := prefetch(r, p, size); err != nil {
			return err
		}
	}
	h := w.Header()
	h["Content-Type"] = fh.contentType
	if !fh.inline {
		h["Content-Security-Policy"] = sandbox
	}
	h["Content-Disposition"] = fh.disposition
	h["X-Content-Type-Options"] = nosniff
	h["Etag"] = fh.etag
	h["Cache-Control"] = fh.cacheControl
	if plainRequest(r) && (content.Prefetcher != nil || content.Bytes != nil) {
		h["Last-Modified"] = fh.lastModified
		h["Accept-Ranges"] = acceptRanges
		h["Content-Length"] = fh.contentLength
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodHead {
			return nil
		}
		if content.Bytes != nil {
			w.Write(content.Bytes)
			return nil
		}
		// Remote bytes come through in large pieces: io.Copy's 32 KiB would cost a read
		// and a write system call for every 32 KiB.
		buf := copyBuffers.Get().(*[]byte)
		io.CopyBuffer(struct{ io.Writer }{w}, content, *buf)
		copyBuffers.Put(buf)
		return nil
	}
	// The ReadSeekCloser itself: an *os.File keeps its ReadFrom path to sendfile.
	cw := contentWriter{ResponseWriter: w}
	http.ServeContent(&cw, r, "", modified, content.ReadSeekCloser)
	if cw.failed != 0 {
		return contentError(w, cw.failed, size)
	}
	return nil
}

// contentWriter stands between http.ServeContent and the response. ServeContent answers a
// failed precondition (412), an unsatisfiable range (416) or a file it cannot seek (500)
// itself, in plain text; connectors read the `reason` of every error, so those statuses are
// held back here and the caller answers them in the route's JSON envelope. Everything
// else passes through, ReadFrom included (the sendfile path of a file download).
type contentWriter struct {
	http.ResponseWriter
	failed int // the error status ServeContent chose; 0 while it has chosen none
}

func (c *contentWriter) WriteHeader(code int) {
	if code >= 400 {
		c.failed = code
		return
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *contentWriter) Write(p []byte) (int, error) {
	if c.failed != 0 {
		return len(p), nil // ServeContent's plain-text message: replaced by the envelope
	}
	return c.ResponseWriter.Write(p)
}

func (c *contentWriter) ReadFrom(src io.Reader) (int64, error) {
	if rf, ok := c.ResponseWriter.(io.ReaderFrom); ok && c.failed == 0 {
		return rf.ReadFrom(src)
	}
	return io.Copy(struct{ io.Writer }{c}, src)
}

func (c *contentWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// contentError is the error of a status ServeContent held back. The headers it set for the
// file that describe the file, not the error, go; Content-Range (bytes */size) stays on
// a 416, as RFC 9110 asks.
func contentError(w http.ResponseWriter, status int, size int64) error {
	h := w.Header()
	for _, k := range []string{"Content-Disposition", "Cache-Control", "Last-Modified", "Etag", "Accept-Ranges", "Content-Security-Policy"} {
		delete(h, k)
	}
	switch status {
	case http.StatusRequestedRangeNotSatisfiable:
		return refstore.Errorf(CodeRangeNotSatisfiable,
			"The requested range is not satisfiable: the file has %d bytes (bytes 0 to %d).", size, max(size-1, 0))
	case http.StatusPreconditionFailed:
		return refstore.Errorf(CodePreconditionFailed,
			"A precondition of the request (If-Match or If-Unmodified-Since) does not hold for the current version.")
	default:
		return refstore.Internal(fmt.Errorf("serving the file's bytes failed with status %d", status))
	}
}

var copyBuffers = sync.Pool{New: func() any { b := make([]byte, 256<<10); return &b }}

// plainRequest reports a request that asks for the whole file without conditions, the
// only kind whose answer needs none of ServeContent's logic.
func plainRequest(r *http.Request) bool {
	for _, k := range []string{"Range", "If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"} {
		if _, ok := r.Header[k]; ok {
			return false
		}
	}
	return true
}

// presignedRedirect sends the client to the blob store itself. The redirect must not be
// cached beyond the URL's life.
func presignedRedirect(w http.ResponseWriter, r *http.Request, p refstore.Presigner, contentType, disposition string, ttl time.Duration) error {
	u, err := p.PresignGet(contentType, disposition, ttl)
	if err != nil {
		return err
	}
	// Location alone: http.Redirect would add a small HTML page to a GET.
	h := w.Header()
	h.Set("Cache-Control", "private, no-store")
	h.Set("Location", u)
	h.Set("Content-Length", "0")
	w.WriteHeader(http.StatusFound)
	return nil
}

// prefetch tells remote content which bytes the response will carry, so that they come in
// one request and an unreachable store is a 503 before the response starts. Requests whose
// answer depends on validators (they may be a 304) or that ask for several ranges are left
// to fetch lazily.
func prefetch(r *http.Request, p refstore.RangePrefetcher, size int64) error {
	if r.Method != http.MethodGet || size == 0 || r.Header.Get("If-None-Match") != "" ||
		r.Header.Get("If-Modified-Since") != "" || r.Header.Get("If-Range") != "" || r.Header.Get("If-Match") != "" ||
		r.Header.Get("If-Unmodified-Since") != "" {
		return nil
	}
	start, end := int64(0), size-1
	if rng := r.Header.Get("Range"); rng != "" {
		var ok bool
		if start, end, ok = singleRange(rng, size); !ok {
			return nil
		}
	}
	return p.Prefetch(start, end)
}

// singleRange parses a Range header of one satisfiable byte range (bytes=a-b, a-, -n).
func singleRange(h string, size int64) (start, end int64, ok bool) {
	spec, found := strings.CutPrefix(h, "bytes=")
	if !found || strings.Contains(spec, ",") {
		return 0, 0, false
	}
	first, last, found := strings.Cut(strings.TrimSpace(spec), "-")
	if !found {
		return 0, 0, false
	}
	if first == "" {
		n, err := strconv.ParseInt(last, 10, 64)
		if err != nil || n <= 0 {
			return 0, 0, false
		}
		return max(size-n, 0), size - 1, true
	}
	start, err := strconv.ParseInt(first, 10, 64)
	if err != nil || start < 0 || start >= size {
		return 0, 0, false
	}
	end = size - 1
	if last != "" {
		if end, err = strconv.ParseInt(last, 10, 64); err != nil || end < start {
			return 0, 0, false
		}
		end = min(end, size-1)
	}
	return start, end, true
}

// Cache-Control values of the `v` rule (SPEC §5, §7).
const (
	cacheImmutable  = "private, max-age=31536000, immutable"
	cacheRevalidate = "private, no-cache"
	cacheFlex       = "private, max-age=2592000"
)

// cacheControl applies the `v` rule: a URL that names the current version can be cached
// for a year; any other must be revalidated. Flex URLs without `v` get Wordbee's 30 days.
func cacheControl(a *refstore.Asset, v string, hasV, flex bool) string {
	switch {
	case hasV && v == a.Version().String():
		return cacheImmutable
	case flex && !hasV:
		return cacheFlex
	default:
		return cacheRevalidate
	}
}

func assetETag(a *refstore.Asset) string { return `"` + a.Version().String() + `"` }

// download answers GET and HEAD of an asset, on the project and Flex routes.
func (s *Server) download(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	q := func(key string) string { v, _ := queryValue(r.URL.RawQuery, key); return v }
	t, err := parseTarget(r, q("scope"))
	if err != nil {
		return err
	}
	addr, err := refstore.ParseAddress(q("locale"), q("relativePath"), q("filename"))
	if err != nil {
		return err
	}
	a, f, err := s.svc.OpenAsset(r.Context(), p, t.scope, t.segmentID, addr)
	if err != nil {
		return err
	}
	defer f.Close()
	v, hasV := queryValue(r.URL.RawQuery, "v")
	return s.serveFile(w, r, s.assetHeaders(a, cacheControl(a, v, hasV, t.flex), false),
		a.Modified.Time(), a.Size, f)
}

// downloadByIDHandler answers GET /api/assets/{assetId}/download, always as an attachment,
// with its own error envelope (SPEC §6).
func (s *Server) downloadByIDHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticate(r)
		if err != nil {
			s.writeAssetIDError(w, r, err)
			return
		}
		s.serveAssetByID(w, r, p, "assetId")
	})
}

// serveAssetByID sends the asset named by the path's {param} to p, as an attachment;
// errors in the envelope of download by id.
func (s *Server) serveAssetByID(w http.ResponseWriter, r *http.Request, p refstore.Principal, param string) {
	fail := func(err error) { s.writeAssetIDError(w, r, err) }
	id, ok := refstore.ParseAssetID(r.PathValue(param))
	if !ok {
		fail(refstore.InvalidParam(param, "must be re_ followed by decimal digits"))
		return
	}
	a, f, err := s.svc.OpenAssetByID(r.Context(), p, id)
	if err != nil {
		fail(err)
		return
	}
	defer f.Close()
	if err := s.serveFile(w, r, s.assetHeaders(a, cacheRevalidate, true), a.Modified.Time(), a.Size, f); err != nil {
		fail(err)
	}
}
