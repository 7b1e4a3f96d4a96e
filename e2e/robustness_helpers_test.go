package e2e

// Helpers of the robustness tests (rights matrix, concurrency, crash, streaming, sweep).
// Package-level names carry an rb prefix so that they cannot clash with the helpers of
// the per-route tests that live in the same package.

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/refstore/refstore/wire"
)

// rbSHA256 returns the hex SHA-256 of b.
func rbSHA256(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// rbFileSHA256 hashes a file on disk.
func rbFileSHA256(p string) (string, int64, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", 0, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return "", 0, err
	}
	return hex.EncodeToString(h.Sum(nil)), n, nil
}

// rbUpsert PUTs a catalog (in the admin API's JSON shape) and fails the test unless it is
// accepted. Upserts are additive, so this extends a tenant's fixture catalog.
func rbUpsert(t testing.TB, c *cluster, catalog map[string]any) {
	t.Helper()
	admin(t, c, "PUT", "/admin/v1/catalog", catalog).expect(t, 200)
}

// rbErrorCode returns the top-level "code" of an error body (both envelopes have one), or
// "" when the body is not JSON.
func rbErrorCode(body []byte) string {
	var e struct {
		Code string `json:"code"`
	}
	if json.Unmarshal(body, &e) != nil {
		return ""
	}
	return e.Code
}

// rbVersion returns the v parameter of an asset's download URL.
func rbVersion(t testing.TB, a wire.Asset) string {
	t.Helper()
	_, q, ok := strings.Cut(a.DownloadURL, "?")
	if !ok {
		t.Fatalf("download URL %q has no query", a.DownloadURL)
	}
	for kv := range strings.SplitSeq(q, "&") {
		if v, ok := strings.CutPrefix(kv, "v="); ok {
			if _, err := strconv.ParseInt(v, 10, 64); err != nil {
				t.Fatalf("download URL %q: v is not a number", a.DownloadURL)
			}
			return v
		}
	}
	t.Fatalf("download URL %q has no v", a.DownloadURL)
	return ""
}

// rbAuthHeaders are the credentials of a session as a fresh header map.
func rbAuthHeaders(s *session) http.Header {
	return http.Header{"X-Auth-Token": {s.token}, "X-Auth-AccountId": {s.account}}
}

// rbRegularFiles lists the regular files below dir (relative, slash-separated) and
// reports every other non-directory entry in odd.
func rbRegularFiles(dir string) (files, odd []string, err error) {
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == dir {
				return filepath.SkipDir
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(dir, p)
		if d.Type().IsRegular() {
			files = append(files, filepath.ToSlash(rel))
		} else {
			odd = append(odd, fmt.Sprintf("%s (%s)", filepath.ToSlash(rel), d.Type()))
		}
		return nil
	})
	return files, odd, err
}

// rbBlobHashes hashes every blob file of an account in an embedded data directory:
// content hash → paths.
func rbBlobHashes(t testing.TB, data, account string) map[string][]string {
	t.Helper()
	dir := filepath.Join(data, "accounts", account, "blobs")
	files, odd, err := rbRegularFiles(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(odd) > 0 {
		t.Errorf("non-regular entries under %s: %v", dir, odd)
	}
	out := map[string][]string{}
	for _, f := range files {
		h, _, err := rbFileSHA256(filepath.Join(dir, f))
		if errors.Is(err, fs.ErrNotExist) {
			// The server's sweeper removed it since the listing: a listed content
			// missing its blob is caught by the caller's own checks.
			continue
		} else if err != nil {
			t.Fatal(err)
		}
		out[h] = append(out[h], f)
	}
	return out
}

// rbDo sends a request without touching testing.T, so that it can run on any goroutine; the
// whole body is read.
func rbDo(c *cluster, method, path string, h http.Header, body io.Reader) (*http.Response, []byte, error) {
	return rbDoURL(method, c.url()+path, h, body)
}

func rbDoURL(method, url string, h http.Header, body io.Reader) (*http.Response, []byte, error) {
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp, nil, fmt.Errorf("%s %s: reading the body: %w", method, url, err)
	}
	return resp, b, nil
}

// rbMultipart builds an upload body with one file part.
func rbMultipart(name string, data []byte) (io.Reader, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", fmt.Sprintf(`form-data; name="file"; filename="%s"`,
		strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name)))
	h.Set("Content-Type", "application/octet-stream")
	part, _ := w.CreatePart(h)
	part.Write(data)
	w.Close()
	return &buf, w.FormDataContentType()
}

// rbUpload uploads data as s and returns the file token.
func rbUpload(s *session, name string, data []byte) (string, error) {
	body, ct := rbMultipart(name, data)
	h := rbAuthHeaders(s)
	h.Set("Content-Type", ct)
	resp, b, err := rbDo(s.c, "POST", "/api/media/upload", h, body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != 200 {
		return "", &rbStatusError{what: "upload " + name, status: resp.StatusCode, body: b}
	}
	var out struct{ Result struct{ Token string } }
	if err := json.Unmarshal(b, &out); err != nil || len(out.Result.Token) != 32 {
		return "", fmt.Errorf("upload %s: response %s", name, truncate(b))
	}
	return out.Result.Token, nil
}

// rbAttach attaches a file token as s and returns the asset.
func rbAttach(s *session, scope string, segment int64, body map[string]string) (wire.Asset, error) {
	var a wire.Asset
	h := rbAuthHeaders(s)
	h.Set("Content-Type", "application/json")
	resp, b, err := rbDo(s.c, "POST", fmt.Sprintf("/api/resources/assets/%d?scope=%s", segment, scope), h, jsonBody(body))
	if err != nil {
		return a, err
	}
	if resp.StatusCode != 200 {
		return a, &rbStatusError{what: fmt.Sprintf("attach to %d", segment), status: resp.StatusCode, body: b}
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return a, fmt.Errorf("attach to %d: response %s: %v", segment, truncate(b), err)
	}
	return a, nil
}

// rbVersionOf is rbVersion for goroutines: "" when the URL carries no v.
func rbVersionOf(a wire.Asset) string {
	u, err := url.Parse(a.DownloadURL)
	if err != nil {
		return ""
	}
	return u.Query().Get("v")
}

// rbStatusError is a request answered with an unexpected status (as opposed to a
// transport failure).
type rbStatusError struct {
	what   string
	status int
	body   []byte
}

func (e *rbStatusError) Error() string {
	return fmt.Sprintf("%s: status %d: %s", e.what, e.status, truncate(e.body))
}

// rbTreeProblems compares, on the embedded backend, a tenant's reference-material tree
// ({data}/accounts/{account}/projects) with its assets as the API lists them: every asset
// must be a file at its SPEC path holding its bytes, and nothing else may be there. It
// lists the fixture's segments (and extra ones, "pr{project}" → segment ids) as s.
func rbTreeProblems(t testing.TB, c *cluster, s *session, extra map[string][]int64) []string {
	t.Helper()
	scopes := map[string][]int64{
		fmt.Sprintf("pr%d", projectID):    {segA1, segA2, segA3, segB1, segB2},
		fmt.Sprintf("pr%d", otherProject): {segC1, segC2},
	}
	for k, v := range extra {
		scopes[k] = append(scopes[k], v...)
	}
	want := map[string]string{} // path below projects/ → content hash
	for scope, segs := range scopes {
		ids := make([]string, len(segs))
		for i, id := range segs {
			ids[i] = strconv.FormatInt(id, 10)
		}
		var list []wire.Asset
		s.do("GET", "/api/resources/assets/list?scope="+scope+"&segmentIds="+strings.Join(ids, ","), nil).
			expect(t, 200).json(t, &list)
		for _, a := range list {
			q := url.Values{"scope": {scope}, "filename": {a.Name}}
			p := []string{strconv.FormatInt(a.ProjectID, 10), "assets", strconv.FormatInt(a.DocumentID, 10),
				strconv.FormatInt(a.SegmentID%1000, 10), strconv.FormatInt(a.SegmentID, 10)}
			if a.Locale != nil {
				q.Set("locale", *a.Locale)
				p = append(p, *a.Locale)
			}
			if a.RelativePath != "" {
				rel := strings.ReplaceAll(a.RelativePath, `\`, "/")
				q.Set("relativePath", rel)
				p = append(p, rel)
			}
			got := s.do("GET", fmt.Sprintf("/api/resources/assets/%d?%s", a.SegmentID, q.Encode()), nil).expect(t, 200)
			want[strings.Join(append(p, a.Name), "/")] = rbSHA256(got.body)
		}
	}
	root := filepath.Join(c.nodes[0].opts.Data, "accounts", s.account, "projects")
	files, odd, err := rbRegularFiles(root)
	if err != nil {
		t.Fatal(err)
	}
	problems := odd
	for _, f := range files {
		sha, ok := want[f]
		if !ok {
			problems = append(problems, "a file no asset accounts for: "+f)
			continue
		}
		delete(want, f)
		if got, _, err := rbFileSHA256(filepath.Join(root, filepath.FromSlash(f))); err != nil || got != sha {
			problems = append(problems, "a file that holds other bytes than its asset: "+f)
		}
	}
	for f := range want {
		problems = append(problems, "an asset without its file: "+f)
	}
	return problems
}
