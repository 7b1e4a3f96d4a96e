package http

import (
	"io"
	"net/http"
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
// blob store opened lets net/http send the bytes with sendfile.
//
// Only images (not SVG), audio, video, PDF and plain text are inline; everything else is
// an attachment under a sandbox CSP, and nosniff keeps browsers to the declared type.
func serveFile(w http.ResponseWriter, r *http.Request, f file, content io.ReadSeeker) {
	inline := !f.attachment && refstore.IsInline(f.contentType)
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	disposition := "attachment"
	if inline {
		disposition = "inline"
	} else {
		h.Set("Content-Security-Policy", "sandbox")
	}
	h.Set("Content-Disposition", refstore.ContentDisposition(disposition, f.name))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", f.etag)
	h.Set("Cache-Control", f.cacheControl)
	http.ServeContent(w, r, "", f.modified, content)
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
	serveFile(w, r, file{name: a.Name, contentType: a.ContentType, modified: a.Modified.Time(), etag: assetETag(a),
		cacheControl: cacheControl(a, q.Get("v"), q.Has("v"), t.flex)}, f)
	return nil
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
		serveFile(w, r, file{name: a.Name, contentType: a.ContentType, modified: a.Modified.Time(), etag: assetETag(a),
			cacheControl: cacheRevalidate, attachment: true}, f)
	})
}
