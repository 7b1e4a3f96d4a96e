package http

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
	"github.com/refstore/refstore/service"
	"github.com/refstore/refstore/sqlstore"
)

// The fuzz targets of the request decoders, run against the real handler over real stores
// (SQLite and the filesystem in a temporary directory): whatever the body, content type
// or query, the answer is never a 5xx, an error always carries the envelope with a reason
// (naming the parameter on invalid_parameter), and a refused upload or attach keeps
// nothing. Their seed corpora are in testdata/fuzz/<target>.

const fuzzAdminToken = "fuzz-admin-token"

// fuzzServer is one handler over fresh stores, with a logged-in user and a live file
// token. A fuzz worker builds one and sends it every input in turn.
type fuzzServer struct {
	h       http.Handler
	data    string
	account string
	token   string // the user's session
	file    string // a file token of the user, substituted for $FILETOKEN in bodies
}

// fuzzCatalog is the catalog the fuzz server starts with; the catalog target's seeds are
// variations of it.
const fuzzCatalog = `{"accounts": [{"id": "acme", "name": "Acme",
  "users": [{"id": 1, "name": "pm", "apiKey": "fuzz-key-0123456789"}],
  "projects": [{"id": 7214, "name": "Web", "documents": [{"id": 19641, "segments": [27665601, 27665602]}]}],
  "jobs": [{"id": 9927, "codyt": false, "projectId": 7214, "documentIds": [19641]}],
  "grants": [{"userId": 1, "projectId": 7214, "rights": ["read", "upload", "delete"]}]}]}`

func newFuzzServer(tb testing.TB) *fuzzServer {
	tb.Helper()
	ctx := context.Background()
	dir := tb.TempDir()
	files, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	meta, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "meta.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { meta.Close(); files.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	// A small hard limit, so that inputs can cross it.
	svc := service.New(meta, files, service.Config{MaxUploadSize: 64 << 10, ExclusiveMetadata: true}, log)
	fz := &fuzzServer{h: NewServer(svc, Config{AdminToken: fuzzAdminToken}, log), data: dir, account: "acme"}

	var cat refstore.Catalog
	if err := json.Unmarshal([]byte(fuzzCatalog), &cat); err != nil {
		tb.Fatal(err)
	}
	if err := svc.UpsertCatalog(ctx, &cat); err != nil {
		tb.Fatal(err)
	}
	if fz.token, err = svc.Login(ctx, "acme", "fuzz-key-0123456789"); err != nil {
		tb.Fatal(err)
	}
	p, err := svc.Authenticate(ctx, fz.token, "acme")
	if err != nil {
		tb.Fatal(err)
	}
	if _, fz.file, err = svc.Upload(ctx, p, "docs/shot.png", strings.NewReader("\x89PNG\r\n\x1a\nfuzz"), 0); err != nil {
		tb.Fatal(err)
	}
	return fz
}

// serve sends one request to the handler.
func (fz *fuzzServer) serve(method, target string, h http.Header, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, "http://refstore.test/", bytes.NewReader(body))
	// The target is set raw, so that the fuzzer's query strings reach the handler as sent.
	path, rawQuery, _ := strings.Cut(target, "?")
	req.URL.Path, req.URL.RawQuery, req.RequestURI = path, rawQuery, target
	req.Header = h
	w := httptest.NewRecorder()
	fz.h.ServeHTTP(w, req)
	return w
}

func (fz *fuzzServer) auth() http.Header {
	return http.Header{"X-Auth-Token": {fz.token}, "X-Auth-Accountid": {fz.account}}
}

// files lists the files under the data directory's accounts/ and tmp/.
func (fz *fuzzServer) files(t *testing.T) []string {
	t.Helper()
	var out []string
	for _, sub := range []string{"accounts", "tmp"} {
		root := filepath.Join(fz.data, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) && p == root {
					return nil
				}
				return err
			}
			if !d.IsDir() {
				out = append(out, p)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	slices.Sort(out)
	return out
}

// checkAnswer fails on a 5xx, a status outside allowed, or an error without the Wordbee
// envelope and a reason.
func checkAnswer(t *testing.T, w *httptest.ResponseRecorder, allowed ...int) {
	t.Helper()
	if w.Code >= 500 || !slices.Contains(allowed, w.Code) {
		t.Fatalf("status %d (allowed %v): %s", w.Code, allowed, w.Body.String())
	}
	if w.Code < 400 {
		return
	}
	var e struct {
		Reason string `json:"reason"`
		Code   string `json:"code"`
		Error  struct {
			Title string `json:"title"`
		} `json:"error"`
	}
	if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil {
		t.Fatalf("status %d with a body that is not the error envelope: %q", w.Code, w.Body.String())
	}
	if e.Reason == "" || e.Code == "" || e.Error.Title != e.Reason {
		t.Fatalf("status %d: error envelope without a reason or code: %s", w.Code, w.Body.String())
	}
	if e.Code == string(refstore.CodeInvalidParameter) && !strings.Contains(e.Reason, "Invalid parameter '") {
		t.Fatalf("invalid_parameter that names no parameter: %q", e.Reason)
	}
	if strings.Contains(e.Reason, "/tmp/") || strings.Contains(e.Reason, "goroutine") {
		t.Fatalf("the reason leaks a path or a stack: %q", e.Reason)
	}
}

// FuzzUploadHandler sends arbitrary bodies, content types and queries to POST
// /api/media/upload. A refused upload keeps no file, in tmp/ or among the blobs.
func FuzzUploadHandler(f *testing.F) {
	fz := newFuzzServer(f)
	f.Add("multipart/form-data; boundary=B", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nhello\r\n--B--\r\n"), "")
	f.Add("multipart/form-data; boundary=B", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\nhello"), "")
	f.Add("multipart/form-data; boundary=B", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"../../etc/passwd\"\r\n\r\nx\r\n--B--\r\n"), "")
	f.Add("multipart/form-data; boundary=B", []byte("--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.png\"\r\n\r\n0123456789\r\n--B--\r\n"), "maxsize=5")
	f.Add("application/json", []byte(`{"filetoken":"x"}`), "filename=a.png")
	f.Fuzz(func(t *testing.T, contentType string, body []byte, query string) {
		before := fz.files(t)
		h := fz.auth()
		h.Set("Content-Type", contentType)
		target := "/api/media/upload"
		if query != "" {
			target += "?" + query
		}
		if strings.ContainsAny(target, " \t\r\n#") || !validTarget(target) {
			return // not a request line a client could send
		}
		w := fz.serve("POST", target, h, body)
		checkAnswer(t, w, 200, 400, 413, 415)
		if w.Code != 200 {
			if after := fz.files(t); !slices.Equal(before, after) {
				t.Fatalf("a refused upload (%d: %s) changed the files: %d before, %d after", w.Code, w.Body.String(), len(before), len(after))
			}
			return
		}
		var out struct {
			Result struct{ Token, Name string }
		}
		if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil || len(out.Result.Token) != 32 || out.Result.Name == "" {
			t.Fatalf("200 with body %q", w.Body.String())
		}
		// The name it reports is one the path rules accept.
		if _, _, err := refstore.SplitName("filename", out.Result.Name); err != nil {
			t.Fatalf("upload accepted the name %q: %v", out.Result.Name, err)
		}
	})
}

// validTarget reports whether a request target parses as a URL the way a server would.
func validTarget(target string) bool {
	req, err := http.ReadRequest(bufio.NewReader(strings.NewReader("POST " + target + " HTTP/1.1\r\nHost: x\r\n\r\n")))
	return err == nil && req != nil
}

// FuzzAttachDecoder sends arbitrary bodies and content types to the attach route;
// "$FILETOKEN" in a body stands for a live file token of the caller.
func FuzzAttachDecoder(f *testing.F) {
	fz := newFuzzServer(f)
	f.Add("application/json", []byte(`{"filetoken": "$FILETOKEN", "locale": "en", "relativePath": "public/images"}`), "scope=pr7214")
	f.Add("application/json", []byte(`{"filetoken": "$FILETOKEN", "relativePath": "../../x"}`), "scope=pr7214")
	f.Add("", []byte(`{"filetoken": 5}`), "scope=jbs9927")
	f.Add("multipart/form-data; boundary=B", []byte("--B\r\n\r\n--B--"), "scope=pr7214")
	f.Add("application/json", []byte(`{"filetoken": "$FILETOKEN"} {}`), "scope=pr7214")
	f.Fuzz(func(t *testing.T, contentType string, body []byte, query string) {
		target := "/api/resources/assets/27665601?" + query
		if strings.ContainsAny(target, " \t\r\n#") || !validTarget(target) {
			return
		}
		h := fz.auth()
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		body = bytes.ReplaceAll(body, []byte("$FILETOKEN"), []byte(fz.file))
		before := fz.files(t)
		w := fz.serve("POST", target, h, body)
		checkAnswer(t, w, 200, 400, 403, 404, 409, 413, 415)
		if w.Code == 200 && !utf8.Valid(body) {
			// encoding/json would have stored U+FFFD for the invalid bytes.
			t.Fatalf("attached with a body that is not UTF-8: %s", w.Body.String())
		}
		if w.Code != 200 {
			if after := fz.files(t); !slices.Equal(before, after) {
				t.Fatalf("a refused attach (%d: %s) changed the files", w.Code, w.Body.String())
			}
		}
	})
}

// FuzzLoginDecoder sends arbitrary bodies and content types to POST /api/auth/token.
func FuzzLoginDecoder(f *testing.F) {
	fz := newFuzzServer(f)
	f.Add("application/json", []byte(`{"accountid": "acme", "key": "fuzz-key-0123456789"}`))
	f.Add("application/json", []byte(`{"accountid": "acme", "key": "wrong"}`))
	f.Add("text/plain", []byte(`{"accountid": ["acme"]}`))
	f.Add("application/json; charset=utf-8", []byte(`"acme"`))
	f.Add("application/xml", []byte(`<a/>`))
	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		h := http.Header{}
		if contentType != "" {
			h.Set("Content-Type", contentType)
		}
		w := fz.serve("POST", "/api/auth/token", h, body)
		checkAnswer(t, w, 200, 400, 401, 413, 415)
		if w.Code == 200 {
			var token string
			if err := json.Unmarshal(w.Body.Bytes(), &token); err != nil || len(token) != 36 {
				t.Fatalf("200 with body %q", w.Body.String())
			}
		}
	})
}

// FuzzCatalogDecoder sends arbitrary catalogs to PUT /admin/v1/catalog.
func FuzzCatalogDecoder(f *testing.F) {
	fz := newFuzzServer(f)
	f.Add([]byte(fuzzCatalog))
	f.Add([]byte(`{"accounts": [{"id": "acme", "projects": [{"id": 7214, "documents": [{"id": 19641, "segments": [-1]}]}]}]}`))
	f.Add([]byte(`{"accounts": [{"id": "../etc", "name": "x"}]}`))
	f.Add([]byte(`{"accounts": [{"id": "b", "grants": [{"userId": 9, "projectId": 1, "rights": ["all"]}]}]}`))
	f.Add([]byte(`{"accounts": [], "extra": 1}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		h := http.Header{"Authorization": {"Bearer " + fuzzAdminToken}, "Content-Type": {"application/json"}}
		w := fz.serve("PUT", "/admin/v1/catalog", h, body)
		checkAnswer(t, w, 200, 400, 404, 409, 413)
	})
}
