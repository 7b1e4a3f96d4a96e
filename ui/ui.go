// Package ui serves refstore's web UI: a small application of plain ES modules and CSS,
// written by hand and embedded in the binary, so that a fresh clone's `refstore serve`
// serves it with no build step. The only third-party browser code is tus-js-client,
// vendored byte for byte from its pinned npm package (vendor/, checked by a test).
//
// The page talks to the same Wordbee-compatible /api routes as any client, with the
// session token in X-Auth-Token; the token lives in the tab's sessionStorage and never in
// a URL. Media elements cannot send headers: a service worker (static/sw.js) adds them to
// the asset downloads of the pages it controls (see docs/ui.md).
package ui

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed static i18n vendor
var files embed.FS

// ContentSecurityPolicy is sent with every file of the UI. No inline script or style can
// run; images and media may also come from blob: URLs (bytes fetched with the auth
// headers); the page may talk to its own origin only and cannot be framed.
const ContentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' blob: data:; media-src 'self' blob:; connect-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// Prefix is the path under which the UI's files are served; the page itself is at "/".
const Prefix = "/ui/"

// asset is one embedded file, with what its responses need computed once.
type asset struct {
	name        string
	body        []byte
	contentType string
	etag        string
}

// Handler serves GET and HEAD of "/" (the page) and of Prefix + a file name. Files are
// sent with no-cache and a strong ETag of their content: a browser revalidates each one
// (a 304 when unchanged), so a new binary never leaves an old module next to a new one.
type Handler struct {
	assets map[string]*asset // by URL path
}

// NewHandler indexes the embedded files.
func NewHandler() *Handler {
	h, err := newHandler(files)
	if err != nil {
		panic(err) // the embedded tree is part of the binary: a bad one is a build error
	}
	return h
}

func newHandler(fsys fs.FS) (*Handler, error) {
	h := &Handler{assets: map[string]*asset{}}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		ct, ok := contentTypes[path.Ext(p)]
		if !ok {
			return fmt.Errorf("ui: %s has no known content type; add its extension to contentTypes", p)
		}
		url := Prefix + strings.TrimPrefix(p, "static/")
		if _, dup := h.assets[url]; dup {
			return fmt.Errorf("ui: two embedded files are served at %s", url)
		}
		sum := sha256.Sum256(body)
		h.assets[url] = &asset{name: p, body: body, contentType: ct,
			etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if h.assets[Prefix+"index.html"] == nil {
		return nil, fmt.Errorf("ui: static/index.html is missing")
	}
	return h, nil
}

// contentTypes are the types of the files the UI ships. A file of any other kind is
// refused when the handler is built, so nothing is ever served with a guessed type.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".json": "application/json; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	".png":  "image/png",
	".ico":  "image/x-icon",
}

// Paths returns the URL paths of every file served under Prefix, for tests.
func (h *Handler) Paths() []string {
	out := make([]string, 0, len(h.assets))
	for p := range h.assets {
		out = append(out, p)
	}
	return out
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hdr := w.Header()
	setSecurityHeaders(hdr)
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		hdr.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := r.URL.Path
	if p == "/" {
		p = Prefix + "index.html"
	}
	a, ok := h.assets[p]
	if !ok {
		hdr.Set("Cache-Control", "no-store")
		http.Error(w, "not found", http.StatusNotFound)
		return
	}
	hdr.Set("Content-Type", a.contentType)
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("Etag", a.etag)
	if a.name == "static/sw.js" {
		// The worker lives under /ui/ but must control the page at "/".
		hdr.Set("Service-Worker-Allowed", "/")
	}
	// No Last-Modified: the ETag is the same on every node and after every restart.
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// setSecurityHeaders sets the headers of every UI response, errors included.
func setSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
}
