package ui

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

func serve(t *testing.T, h http.Handler, method, path string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	maps.Copy(r.Header, header)
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// TestUIHandlerHeaders checks what every response of the UI carries, the page at "/", the
// worker's scope header, revalidation, HEAD, and the answers to what is not there.
func TestUIHandlerHeaders(t *testing.T) {
	h := NewHandler()
	for _, p := range append(h.Paths(), "/") {
		w := serve(t, h, "GET", p, nil)
		if w.Code != 200 {
			t.Fatalf("GET %s: %d", p, w.Code)
		}
		want := map[string]string{
			"Content-Security-Policy": ContentSecurityPolicy,
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
			"Cache-Control":           "no-cache",
			"X-Frame-Options":         "DENY",
		}
		for k, v := range want {
			if got := w.Header().Get(k); got != v {
				t.Errorf("GET %s: %s %q, want %q", p, k, got, v)
			}
		}
		etag := w.Header().Get("ETag")
		if !regexp.MustCompile(`^"[A-Za-z0-9_-]{24}"$`).MatchString(etag) {
			t.Errorf("GET %s: ETag %q", p, etag)
		}
		if w.Header().Get("Last-Modified") != "" {
			t.Errorf("GET %s: Last-Modified differs between nodes and restarts; the ETag is enough", p)
		}
		if c := serve(t, h, "GET", p, http.Header{"If-None-Match": {etag}}).Code; c != 304 {
			t.Errorf("GET %s with its ETag: %d, want 304", p, c)
		}
		head := serve(t, h, "HEAD", p, nil)
		if head.Code != 200 || head.Body.Len() != 0 || head.Header().Get("Content-Length") != w.Header().Get("Content-Length") {
			t.Errorf("HEAD %s: %d, %d bytes, Content-Length %q", p, head.Code, head.Body.Len(), head.Header().Get("Content-Length"))
		}
	}
	if got := serve(t, h, "GET", "/", nil).Header().Get("Content-Type"); got != "text/html; charset=utf-8" {
		t.Errorf("/: Content-Type %q", got)
	}
	if got := serve(t, h, "GET", "/ui/sw.js", nil).Header().Get("Service-Worker-Allowed"); got != "/" {
		t.Errorf("/ui/sw.js: Service-Worker-Allowed %q, want /", got)
	}
	if got := serve(t, h, "GET", "/ui/app.js", nil).Header().Get("Service-Worker-Allowed"); got != "" {
		t.Errorf("/ui/app.js: Service-Worker-Allowed %q; only the worker gets it", got)
	}
	for _, p := range []string{"/ui/nothing.js", "/ui/", "/ui/../ui.go", "/ui/static/app.js", "/index.html"} {
		w := serve(t, h, "GET", p, nil)
		if w.Code != 404 || w.Header().Get("Content-Security-Policy") != ContentSecurityPolicy {
			t.Errorf("GET %s: %d, CSP %q; want a 404 with the CSP", p, w.Code, w.Header().Get("Content-Security-Policy"))
		}
	}
	if w := serve(t, h, "POST", "/", nil); w.Code != 405 || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /: %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
}

// TestUIHandlerRefusesUnknownTypes: a file the UI ships must have a known type, so nothing
// is ever served with a guessed one.
func TestUIHandlerRefusesUnknownTypes(t *testing.T) {
	_, err := newHandler(fstest.MapFS{
		"static/index.html": {Data: []byte("<!doctype html>")},
		"static/logo.svg":   {Data: []byte("<svg/>")},
	})
	if err == nil || !strings.Contains(err.Error(), "logo.svg") {
		t.Fatalf("an .svg was accepted: %v", err)
	}
	if _, err := newHandler(fstest.MapFS{"static/app.js": {Data: []byte("")}}); err == nil {
		t.Fatal("a tree without index.html was accepted")
	}
}

// catalog reads a message catalog: each value is a string or an object of plural forms.
func catalog(t *testing.T, lang string) map[string]any {
	t.Helper()
	b, err := fs.ReadFile(files, "i18n/"+lang+".json")
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("i18n/%s.json: %v", lang, err)
	}
	return m
}

var placeholderRE = regexp.MustCompile(`\{(\w+)\}`)

// forms returns the plural forms of a message (just "" for a plain string) and their texts.
func forms(t *testing.T, lang, key string, v any) map[string]string {
	t.Helper()
	switch v := v.(type) {
	case string:
		return map[string]string{"": v}
	case map[string]any:
		out := map[string]string{}
		for form, s := range v {
			str, ok := s.(string)
			if !ok {
				t.Fatalf("%s %s: plural form %s is not a string", lang, key, form)
			}
			out[form] = str
		}
		if out["other"] == "" {
			t.Errorf("%s %s: a plural message needs an \"other\" form", lang, key)
		}
		return out
	}
	t.Fatalf("%s %s: a message is a string or an object of plural forms, not %T", lang, key, v)
	return nil
}

func placeholders(s string) []string {
	var out []string
	for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// TestUICatalogsMatch checks that English and German have the same keys, that each message
// has the same placeholders in both (so no value goes missing in one language), that plural
// messages are plural in both, and that no message is empty.
func TestUICatalogsMatch(t *testing.T) {
	en, de := catalog(t, "en"), catalog(t, "de")
	if !slices.Equal(slices.Sorted(maps.Keys(en)), slices.Sorted(maps.Keys(de))) {
		for k := range en {
			if _, ok := de[k]; !ok {
				t.Errorf("de.json lacks %s", k)
			}
		}
		for k := range de {
			if _, ok := en[k]; !ok {
				t.Errorf("en.json lacks %s", k)
			}
		}
	}
	for k, ev := range en {
		dv, ok := de[k]
		if !ok {
			continue
		}
		ef, df := forms(t, "en", k, ev), forms(t, "de", k, dv)
		if (len(ef) == 1 && ef[""] != "") != (len(df) == 1 && df[""] != "") {
			t.Errorf("%s is plural in one catalog only", k)
		}
		want := placeholders(strings.Join(slices.Collect(maps.Values(ef)), " "))
		for lang, fs := range map[string]map[string]string{"en": ef, "de": df} {
			for form, s := range fs {
				if strings.TrimSpace(s) == "" {
					t.Errorf("%s %s (%s) is empty", lang, k, form)
				}
				// A "one" form may leave the count out ("a file"); every other form names
				// what the English message names.
				got := placeholders(s)
				if form != "one" && !slices.Equal(got, want) {
					t.Errorf("%s %s (%s): placeholders %v, want %v", lang, k, form, got, want)
				}
			}
		}
	}
}

// uiSources returns the UI's own JavaScript (not the vendored bundle) and its HTML.
func uiSources(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := fs.WalkDir(files, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if strings.HasSuffix(p, ".js") || strings.HasSuffix(p, ".html") {
			b, err := fs.ReadFile(files, p)
			out[p] = string(b)
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var (
	blockCommentRE = regexp.MustCompile(`(?s)/\*.*?\*/`)
	lineCommentRE  = regexp.MustCompile(`(?m)(^|[^:'"\x60\\])//.*$`)
	stringRE       = regexp.MustCompile("'(?:[^'\\\\\\n]|\\\\.)*'|\"(?:[^\"\\\\\\n]|\\\\.)*\"|`(?:[^`\\\\]|\\\\.)*`")
	keyCallRE      = regexp.MustCompile(`\bt\(\s*'([^']+)'`)
	i18nAttrRE     = regexp.MustCompile(`data-i18n(?:-aria-label|-placeholder)?="([^"]+)"`)
	noticeRE       = regexp.MustCompile(`notice: '([^']+)'`)
)

// stripComments removes JavaScript comments well enough for the scans below: the UI's
// sources keep "//" out of strings except in URLs, which the rule leaves alone.
func stripComments(src string) string {
	return lineCommentRE.ReplaceAllString(blockCommentRE.ReplaceAllString(src, ""), "$1")
}

// TestUIMessageKeysExist checks that every key the sources name is in the catalog, and every
// catalog key is named somewhere: static keys in t('…') calls, data-i18n attributes and
// notices, and the two families built at run time, error.<code> and kind.<kind>.
func TestUIMessageKeysExist(t *testing.T) {
	en := catalog(t, "en")
	used := map[string]bool{}
	for name, src := range uiSources(t) {
		for _, re := range []*regexp.Regexp{keyCallRE, i18nAttrRE, noticeRE} {
			for _, m := range re.FindAllStringSubmatch(src, -1) {
				used[m[1]] = true
				if _, ok := en[m[1]]; !ok {
					t.Errorf("%s names %s, which en.json lacks", name, m[1])
				}
			}
		}
	}
	// A key may also stand in a lookup table ({pr: 'scope.project'}) before t() gets it.
	for _, src := range uiSources(t) {
		for _, lit := range stringRE.FindAllString(stripComments(src), -1) {
			if _, ok := en[lit[1:len(lit)-1]]; ok {
				used[lit[1:len(lit)-1]] = true
			}
		}
	}
	// errors.js builds error.<code> for the codes in its KNOWN set.
	errorsJS := uiSources(t)["static/js/errors.js"]
	known := regexp.MustCompile(`(?s)const KNOWN = new Set\(\[(.*?)\]\)`).FindStringSubmatch(errorsJS)
	if known == nil {
		t.Fatal("errors.js has no KNOWN set")
	}
	for _, m := range regexp.MustCompile(`'([a-z_]+)'`).FindAllStringSubmatch(known[1], -1) {
		used["error."+m[1]] = true
		if _, ok := en["error."+m[1]]; !ok {
			t.Errorf("errors.js knows %s, which has no error.%s message", m[1], m[1])
		}
	}
	for _, kind := range []string{"image", "video", "audio", "pdf", "file"} { // previews.js kindOf
		used["kind."+kind] = true
		if _, ok := en["kind."+kind]; !ok {
			t.Errorf("en.json lacks kind.%s", kind)
		}
	}
	for k := range en {
		if !used[k] {
			t.Errorf("en.json has %s, which nothing uses", k)
		}
	}
}

// technical are the capitalised string literals that are not text for people: HTTP
// methods and headers, DOM event and key names, error class names.
var technical = map[string]bool{
	"AbortError": true, "ApiError": true, "ArrowLeft": true, "ArrowRight": true, "Escape": true, "Enter": true,
	"X-Auth-Token": true, "X-Auth-AccountId": true, "Retry-After": true, "Content-Type": true,
	"Refstore-File-Token": true,
}

var (
	capitalWordRE = regexp.MustCompile(`\b[A-Z][a-z]{2,}`)
	sentenceRE    = regexp.MustCompile(`[A-Za-z]{2,} [A-Za-z]{2,}.*[.!?…:]$`)
	keyLikeRE     = regexp.MustCompile(`^[a-z][A-Za-z]*(\.[A-Za-z_]+)+$`)
	interpRE      = regexp.MustCompile(`\$\{[^}]*\}`)
)

// TestUINoHardCodedText scans the UI's JavaScript for string literals that read like text for
// people (a capitalised word, or a sentence) outside the catalogs, and index.html for text
// that is not filled from them. Messages for developers (console, Error) are allowed. The
// browser tests check the other way round: no English catalog text on the German pages.
func TestUINoHardCodedText(t *testing.T) {
	for name, src := range uiSources(t) {
		if strings.HasSuffix(name, ".html") {
			continue
		}
		for i, line := range strings.Split(stripComments(src), "\n") {
			if strings.Contains(line, "console.") || strings.Contains(line, "Error(") || strings.Contains(line, "DOMException(") {
				continue
			}
			for _, lit := range stringRE.FindAllString(line, -1) {
				s := interpRE.ReplaceAllString(lit[1:len(lit)-1], "")
				if technical[s] || keyLikeRE.MatchString(s) || strings.HasPrefix(s, "/") {
					continue
				}
				if capitalWordRE.MatchString(s) || sentenceRE.MatchString(s) {
					t.Errorf("%s:%d: %s looks like text for people; put it in ui/i18n and use t()", name, i+1, lit)
				}
			}
		}
	}
	html := uiSources(t)["static/index.html"]
	body := html[strings.Index(html, "<body>"):]
	body = regexp.MustCompile(`(?s)<noscript>.*?</noscript>`).ReplaceAllString(body, "") // both languages, for no-JS browsers
	for _, m := range regexp.MustCompile(`>([^<]+)<`).FindAllStringSubmatch(body, -1) {
		if text := strings.TrimSpace(m[1]); text != "" && text != "refstore" {
			t.Errorf("index.html holds the text %q; use data-i18n", text)
		}
	}
}

// TestUIVendoredTusMatchesNpm checks that ui/vendor/tus.min.js is byte for byte the file of
// the tus-js-client package pinned in e2e/ui/package-lock.json, as npm ci installed it
// (scripts/ui-deps.sh), so the vendored copy cannot drift from the pinned release.
func TestUIVendoredTusMatchesNpm(t *testing.T) {
	var lock struct {
		Packages map[string]struct {
			Version   string `json:"version"`
			Integrity string `json:"integrity"`
		} `json:"packages"`
	}
	b, err := os.ReadFile(filepath.Join("..", "e2e", "ui", "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &lock); err != nil {
		t.Fatal(err)
	}
	pinned := lock.Packages["node_modules/tus-js-client"]
	if pinned.Version == "" || !strings.HasPrefix(pinned.Integrity, "sha512-") {
		t.Fatalf("package-lock.json pins no tus-js-client with an integrity hash: %+v", pinned)
	}
	dir := filepath.Join("..", "e2e", "ui", "node_modules", "tus-js-client")
	var installed struct{ Version string }
	pj, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		t.Fatalf("tus-js-client is not installed in e2e/ui: run scripts/ui-deps.sh (%v)", err)
	}
	if err := json.Unmarshal(pj, &installed); err != nil {
		t.Fatal(err)
	}
	if installed.Version != pinned.Version {
		t.Fatalf("e2e/ui/node_modules holds tus-js-client %s, the lock pins %s: run scripts/ui-deps.sh", installed.Version, pinned.Version)
	}
	want, err := os.ReadFile(filepath.Join(dir, "dist", "tus.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := fs.ReadFile(files, "vendor/tus.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("ui/vendor/tus.min.js differs from tus-js-client %s's dist/tus.min.js: copy it again", pinned.Version)
	}
}
