package http

import (
	"io"
	"net/http"
	"strconv"
	"strings"
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
	// attachment forces Content-Disposition: attachment even for displayable types.
	attachment bool
}

// serveFile sends a stored file. http.ServeContent does Range (206, multi-range, 416),
// If-None-Match / If-Modified-Since (304), If-Range and HEAD; handing it the *os.File the
// filesystem store opened lets net/http send the bytes with sendfile.
//
// Only images (not SVG), audio, video, PDF and plain text are inline; everything else is
// an attachment under a sandbox CSP, and nosniff keeps browsers to the declared type.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, f file, size int64, content io.ReadSeeker) error {
	inline := !f.attachment && refstore.IsInline(f.contentType)
	disposition := "attachment"
	if inline {
		disposition = "inline"
	}
	disposition = refstore.ContentDisposition(disposition, f.name)
	if p, ok := content.(refstore.Presigner); ok && s.cfg.PresignTTL > 0 && r.Method == http.MethodGet {
		return presignedRedirect(w, r, p, f.contentType, disposition, s.cfg.PresignTTL)
	}
	if p, ok := content.(refstore.RangePrefetcher); ok {
		if err := prefetch(r, p, size); err != nil {
			return err
		}
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	if !inline {
		h.Set("Content-Security-Policy", "sandbox")
	}
	h.Set("Content-Disposition", disposition)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", f.cacheControl)
	http.ServeContent(w, r, "", f.modified, content)
	return nil
}

// presignedRedirect sends the client to the blob store itself. The redirect must not be
// cached beyond the URL's life.
func presignedRedirect(w http.ResponseWriter, r *http.Request, p refstore.Presigner, contentType, disposition string, ttl time.Duration) error {
	u, err := p.PresignGet(contentType, disposition, ttl)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-store")
	http.Redirect(w, r, u, http.StatusFound)
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
func (s *Server) download(w http.ResponseWriter, r *http.Request) error {
	t, err := parseTarget(r)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	addr, err := refstore.ParseAddress(q.Get("locale"), q.Get("relativePath"), q.Get("filename"))
	if err != nil {
		return err
	}
	a, f, err := s.svc.OpenAsset(r.Context(), principal(r), t.scope, t.segmentID, addr)
	if err != nil {
		return err
	}
	defer f.Close()
	return s.serveFile(w, r, file{name: a.Name, contentType: a.ContentType, modified: a.Modified.Time(), etag: assetETag(a),
		cacheControl: cacheControl(a, q.Get("v"), q.Has("v"), t.flex)}, a.Size, f)
}

// downloadByIDHandler answers GET /api/assets/{assetId}/download, always as an attachment,
// with its own error envelope (SPEC §6).
func (s *Server) downloadByIDHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fail := func(err error) { s.writeAssetIDError(w, r, err) }
		p, err := s.svc.Authenticate(r.Context(), r.Header.Get("X-Auth-Token"), r.Header.Get("X-Auth-AccountId"))
		if err != nil {
			fail(err)
			return
		}
		id, ok := refstore.ParseAssetID(r.PathValue("assetId"))
		if !ok {
			fail(refstore.InvalidParam("assetId", "must be re_ followed by decimal digits"))
			return
		}
		a, f, err := s.svc.OpenAssetByID(r.Context(), p, id)
		if err != nil {
			fail(err)
			return
		}
		defer f.Close()
		if err := s.serveFile(w, r, file{name: a.Name, contentType: a.ContentType, modified: a.Modified.Time(),
			etag: assetETag(a), cacheControl: cacheRevalidate, attachment: true}, a.Size, f); err != nil {
			fail(err)
		}
	})
}
