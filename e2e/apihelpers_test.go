package e2e

// Helpers of the API behaviour tests (auth, media, assets, download, flex, admin, ops).

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// query builds a query string from key/value pairs, keeping their order.
func query(kv ...string) string {
	if len(kv)%2 != 0 {
		panic("query: odd number of arguments")
	}
	var parts []string
	for i := 0; i < len(kv); i += 2 {
		parts = append(parts, url.QueryEscape(kv[i])+"="+url.QueryEscape(kv[i+1]))
	}
	return strings.Join(parts, "&")
}

// segPath is the project-route path of a segment's asset, with a query.
func segPath(segment int64, kv ...string) string {
	p := fmt.Sprintf("/api/resources/assets/%d", segment)
	if len(kv) > 0 {
		p += "?" + query(kv...)
	}
	return p
}

// flexPath is a Flex-route path below /api/apps/wbflex/documents/{doc}/assets/.
func flexPath(doc, rest string, kv ...string) string {
	p := "/api/apps/wbflex/documents/" + doc + "/assets/" + rest
	if len(kv) > 0 {
		p += "?" + query(kv...)
	}
	return p
}

// wantHeader fails the test unless the response header name is exactly want.
func (r *response) wantHeader(t testing.TB, name, want string) {
	t.Helper()
	if got := r.Header.Get(name); got != want {
		t.Fatalf("%s %s: header %s = %q, want %q", r.Request.Method, r.Request.URL, name, got, want)
	}
}

// wantNoHeader fails the test if the response carries header name.
func (r *response) wantNoHeader(t testing.TB, name string) {
	t.Helper()
	if v, ok := r.Header[http.CanonicalHeaderKey(name)]; ok {
		t.Fatalf("%s %s: unexpected header %s: %q", r.Request.Method, r.Request.URL, name, v)
	}
}

// wantBody fails the test unless the body is exactly want.
func (r *response) wantBody(t testing.TB, want []byte) {
	t.Helper()
	if string(r.body) != string(want) {
		t.Fatalf("%s %s: body of %d bytes differs from the %d expected (%q…)", r.Request.Method, r.Request.URL,
			len(r.body), len(want), truncate(r.body[:min(len(r.body), 60)]))
	}
}

// reasonNames checks that a 400 names the parameter in its reason.
func (r *response) reasonNames(t testing.TB, code, param string) wire.Error {
	t.Helper()
	e := r.expectError(t, 400, code)
	if !strings.Contains(e.Reason, param) {
		t.Fatalf("%s %s: reason %q does not name %q", r.Request.Method, r.Request.URL, e.Reason, param)
	}
	return e
}

// netTicks converts an asset date (UTC, 7 fractional digits) to .NET ticks.
func netTicks(t testing.TB, date string) int64 {
	t.Helper()
	tm, err := time.Parse("2006-01-02T15:04:05.0000000Z", date)
	if err != nil {
		t.Fatalf("date %q is not UTC with 7 fractional digits: %v", date, err)
	}
	return 621355968000000000 + tm.UnixNano()/100
}

// listAssets lists one segment on the project routes.
func (s *session) listAssets(scope string, segment int64) []wire.Asset {
	s.t.Helper()
	var out []wire.Asset
	s.do("GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=%s", segment, scope), nil).expect(s.t, 200).json(s.t, &out)
	return out
}

// jsonObject decodes a JSON object keeping raw values, to check exact field sets.
func (r *response) jsonObject(t testing.TB) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	r.json(t, &m)
	return m
}

// wantKeys fails unless m holds exactly the keys want.
func wantKeys(t testing.TB, what string, m map[string]json.RawMessage, want ...string) {
	t.Helper()
	if len(m) != len(want) {
		t.Fatalf("%s: keys %v, want exactly %v", what, keysOf(m), want)
	}
	for _, k := range want {
		if _, ok := m[k]; !ok {
			t.Fatalf("%s: keys %v, want exactly %v", what, keysOf(m), want)
		}
	}
}

func keysOf(m map[string]json.RawMessage) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// treeFiles lists the regular files below dir (relative paths); a missing dir is empty.
func treeFiles(t testing.TB, dir string) map[string]bool {
	t.Helper()
	files := map[string]bool{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			files[rel] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

// dataFiles lists the files of a data dir's accounts/ and tmp/ folders.
func dataFiles(t testing.TB, data string) map[string]bool {
	t.Helper()
	all := map[string]bool{}
	for _, sub := range []string{"accounts", "tmp"} {
		for f := range treeFiles(t, filepath.Join(data, sub)) {
			all[filepath.Join(sub, f)] = true
		}
	}
	return all
}

// wantNoNewFiles fails if after holds a file before did not.
func wantNoNewFiles(t testing.TB, before, after map[string]bool) {
	t.Helper()
	for f := range after {
		if !before[f] {
			t.Fatalf("a file was kept: %s", f)
		}
	}
}

// rawUpload sends a hand-made body to the upload route.
func (s *session) rawUpload(contentType, query string, body string) *response {
	s.t.Helper()
	h := s.headers()
	if contentType != "" {
		h.Set("Content-Type", contentType)
	}
	p := "/api/media/upload"
	if query != "" {
		p += "?" + query
	}
	return do(s.t, s.c, "POST", p, h, strings.NewReader(body))
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// uploadResult decodes a successful upload response.
func (r *response) uploadResult(t testing.TB) (token, name string) {
	t.Helper()
	var out wire.UploadResponse
	r.expect(t, 200).json(t, &out)
	return out.Result.Token, out.Result.Name
}
