package e2e

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// The fixture catalog every tenant starts with (ids as in the Wordbee docs).
const (
	projectID    = 7214     // project with documents docA and docB
	docA         = 19641    // in projectID, covered by stdJob
	docB         = 19642    // in projectID, not covered by stdJob
	segA1        = 27665601 // in docA
	segA2        = 27665602 // in docA
	segA3        = 27665603 // in docA
	segB1        = 27666001 // in docB
	segB2        = 27666002 // in docB
	otherProject = 7300     // a Codyt project with document docC
	docC         = 19700    // in otherProject, covered by codytJob
	segC1        = 27670001 // in docC
	segC2        = 27670002 // in docC
	stdJob       = 9927     // standard job of projectID covering docA
	codytJob     = 500      // Codyt job of otherProject covering docC
)

// The fixture users, by name, with their ids and grants.
var fixtureUsers = []struct {
	name string
	id   int64
}{
	{"pm", 1},       // read, upload, delete on projectID and otherProject
	{"reader", 2},   // read on projectID
	{"uploader", 3}, // read, upload on projectID
	{"jobber", 4},   // read, upload, delete on stdJob
	{"nogrant", 5},  // no grant at all
	{"codyt", 6},    // read, upload, delete on codytJob
	{"deleter", 7},  // read, delete on projectID
}

func fixtureCatalog(account string) map[string]any {
	users := []map[string]any{}
	for _, u := range fixtureUsers {
		users = append(users, map[string]any{"id": u.id, "name": u.name, "apiKey": apiKey(account, u.name)})
	}
	all := []string{"read", "upload", "delete"}
	return map[string]any{"accounts": []map[string]any{{
		"id": account, "name": "Tenant " + account, "users": users,
		"projects": []map[string]any{
			{"id": projectID, "name": "Web", "documents": []map[string]any{
				{"id": docA, "segments": []int64{segA1, segA2, segA3}},
				{"id": docB, "segments": []int64{segB1, segB2}},
			}},
			{"id": otherProject, "name": "App", "documents": []map[string]any{
				{"id": docC, "segments": []int64{segC1, segC2}},
			}},
		},
		"jobs": []map[string]any{
			{"id": stdJob, "codyt": false, "projectId": projectID, "documentIds": []int64{docA}},
			{"id": codytJob, "codyt": true, "projectId": otherProject, "documentIds": []int64{docC}},
		},
		"grants": []map[string]any{
			{"userId": 1, "projectId": projectID, "rights": all},
			{"userId": 1, "projectId": otherProject, "rights": all},
			{"userId": 2, "projectId": projectID, "rights": []string{"read"}},
			{"userId": 3, "projectId": projectID, "rights": []string{"read", "upload"}},
			{"userId": 4, "jobId": stdJob, "codyt": false, "rights": all},
			{"userId": 6, "jobId": codytJob, "codyt": true, "rights": all},
			{"userId": 7, "projectId": projectID, "rights": []string{"read", "delete"}},
		},
	}}}
}

func apiKey(account, user string) string { return "key-" + account + "-" + user }

// tenant is an account of its own, loaded with the fixture catalog.
type tenant struct {
	t       testing.TB
	c       *cluster
	account string
}

// newTenant creates a fresh account on the cluster.
func newTenant(t testing.TB, c *cluster) *tenant {
	t.Helper()
	var b [6]byte
	rand.Read(b[:])
	tn := &tenant{t: t, c: c, account: "t" + hex.EncodeToString(b[:])}
	resp := admin(t, c, "PUT", "/admin/v1/catalog", fixtureCatalog(tn.account))
	resp.expect(t, 200)
	return tn
}

// as logs a fixture user in.
func (tn *tenant) as(user string) *session {
	tn.t.Helper()
	resp := do(tn.t, tn.c, "POST", "/api/auth/token", nil, jsonBody(map[string]string{
		"accountid": tn.account, "key": apiKey(tn.account, user)}))
	resp.expect(tn.t, 200)
	var token string
	resp.json(tn.t, &token)
	return &session{t: tn.t, c: tn.c, account: tn.account, token: token}
}

// session is a logged-in user.
type session struct {
	t       testing.TB
	c       *cluster
	account string
	token   string
	keyID   string // the API key's id, when the test knows it
}

func (s *session) headers() http.Header {
	return http.Header{"X-Auth-Token": {s.token}, "X-Auth-AccountId": {s.account}}
}

// do sends an authenticated request.
func (s *session) do(method, path string, body io.Reader) *response {
	s.t.Helper()
	return do(s.t, s.c, method, path, s.headers(), body)
}

// doH sends an authenticated request with extra headers.
func (s *session) doH(method, path string, extra http.Header, body io.Reader) *response {
	s.t.Helper()
	h := s.headers()
	for k, v := range extra {
		h[k] = v
	}
	return do(s.t, s.c, method, path, h, body)
}

// uploadResp uploads data as a multipart file part named name (with query appended to
// the URL) and returns the raw response.
func (s *session) uploadResp(name, query string, data []byte) *response {
	s.t.Helper()
	body, ct := multipartBody(s.t, name, data)
	h := s.headers()
	h.Set("Content-Type", ct)
	path := "/api/media/upload"
	if query != "" {
		path += "?" + query
	}
	return do(s.t, s.c, "POST", path, h, body)
}

// upload uploads data and returns the file token.
func (s *session) upload(name string, data []byte) string {
	s.t.Helper()
	resp := s.uploadResp(name, "", data)
	resp.expect(s.t, 200)
	var out wire.UploadResponse
	resp.json(s.t, &out)
	if len(out.Result.Token) != 32 {
		s.t.Fatalf("upload returned token %q", out.Result.Token)
	}
	return out.Result.Token
}

// attach attaches a file token to a segment in a scope.
func (s *session) attach(scope string, segment int64, body map[string]string) *response {
	s.t.Helper()
	return s.do("POST", fmt.Sprintf("/api/resources/assets/%d?scope=%s", segment, scope), jsonBody(body))
}

// put uploads data and attaches it, failing the test unless both succeed.
func (s *session) put(scope string, segment int64, name, locale, relativePath string, data []byte) wire.Asset {
	s.t.Helper()
	token := s.upload(name, data)
	body := map[string]string{"filetoken": token}
	if locale != "" {
		body["locale"] = locale
	}
	if relativePath != "" {
		body["relativePath"] = relativePath
	}
	resp := s.attach(scope, segment, body)
	resp.expect(s.t, 200)
	var a wire.Asset
	resp.json(s.t, &a)
	return a
}

func multipartBody(t testing.TB, name string, data []byte) (io.Reader, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	h := make(map[string][]string)
	h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename="%s"`,
		strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name))}
	h["Content-Type"] = []string{"application/octet-stream"}
	part, err := w.CreatePart(h)
	if err != nil {
		t.Fatal(err)
	}
	part.Write(data)
	w.Close()
	return &buf, w.FormDataContentType()
}

func jsonBody(v any) io.Reader {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return bytes.NewReader(b)
}

// response is an HTTP response with its body read.
type response struct {
	*http.Response
	body []byte
}

var httpClient = &http.Client{Timeout: 5 * time.Minute}

// do sends a request to the next node of the cluster.
func do(t testing.TB, c *cluster, method, path string, h http.Header, body io.Reader) *response {
	t.Helper()
	return doURL(t, method, c.url()+path, h, body)
}

func doURL(t testing.TB, method, url string, h http.Header, body io.Reader) *response {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	if body != nil && req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := httpClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, url, err)
	}
	return &response{Response: resp, body: b}
}

// admin sends an admin API request with a JSON body (nil for none).
func admin(t testing.TB, c *cluster, method, path string, v any) *response {
	t.Helper()
	var body io.Reader
	if v != nil {
		body = jsonBody(v)
	}
	return do(t, c, method, path, http.Header{"Authorization": {"Bearer " + adminToken}}, body)
}

// expect fails the test unless the status is want.
func (r *response) expect(t testing.TB, want int) *response {
	t.Helper()
	if r.StatusCode != want {
		t.Fatalf("%s %s: status %d, want %d; body: %s", r.Request.Method, r.Request.URL, r.StatusCode, want, truncate(r.body))
	}
	return r
}

func (r *response) json(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("%s %s: decoding %q: %v", r.Request.Method, r.Request.URL, truncate(r.body), err)
	}
}

// expectError checks the status and the Wordbee error envelope, and returns it.
func (r *response) expectError(t testing.TB, status int, code string) wire.Error {
	t.Helper()
	r.expect(t, status)
	var e wire.Error
	r.json(t, &e)
	if string(e.Code) != code {
		t.Fatalf("%s %s: code %q, want %q; body: %s", r.Request.Method, r.Request.URL, e.Code, code, truncate(r.body))
	}
	if e.Reason == "" || e.Error.Title != e.Reason {
		t.Fatalf("%s %s: reason %q / title %q: want the same non-empty text", r.Request.Method, r.Request.URL, e.Reason, e.Error.Title)
	}
	if _, err := time.Parse("2006-01-02T15:04:05.0000000Z", e.Error.Date); err != nil {
		t.Fatalf("date %q is not UTC with 7 fractional digits", e.Error.Date)
	}
	return e
}

func truncate(b []byte) string {
	if len(b) > 500 {
		return string(b[:500]) + "…"
	}
	return string(b)
}

// randomBytes returns n random bytes (incompressible, so nothing can shortcut them).
func randomBytes(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}
