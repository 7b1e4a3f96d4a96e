package e2e

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

var netDate = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{7}Z$`)

// wantEnvelope checks the Wordbee error body field by field and exactly (SPEC §3).
func (r *response) wantEnvelope(t testing.TB, status int, code string) {
	t.Helper()
	r.expect(t, status)
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("%s %s: error Content-Type %q", r.Request.Method, r.Request.URL, ct)
	}
	top := r.jsonObject(t)
	wantKeys(t, "error body", top, "error", "reason", "code")
	var inner map[string]json.RawMessage
	if err := json.Unmarshal(top["error"], &inner); err != nil {
		t.Fatalf("error is not an object: %s", top["error"])
	}
	wantKeys(t, "error.error", inner, "operation", "date", "title", "details", "errorurl", "messages")
	for _, k := range []string{"operation", "details", "errorurl"} {
		if string(inner[k]) != "null" {
			t.Fatalf("error.%s = %s, want null; body %s", k, inner[k], r.body)
		}
	}
	if string(inner["messages"]) != "[]" {
		t.Fatalf("error.messages = %s, want []", inner["messages"])
	}
	var date, title, reason, gotCode string
	json.Unmarshal(inner["date"], &date)
	json.Unmarshal(inner["title"], &title)
	json.Unmarshal(top["reason"], &reason)
	json.Unmarshal(top["code"], &gotCode)
	if !netDate.MatchString(date) {
		t.Fatalf("error.date %q is not UTC with exactly 7 fractional digits", date)
	}
	d, _ := time.Parse("2006-01-02T15:04:05.0000000Z", date)
	if diff := time.Since(d); diff < -time.Hour || diff > time.Hour {
		t.Fatalf("error.date %q is not the current UTC time", date)
	}
	if reason == "" || title != reason {
		t.Fatalf("reason %q, title %q: want the same non-empty text", reason, title)
	}
	if gotCode != code {
		t.Fatalf("code %q, want %q", gotCode, code)
	}
}

// SPEC §3: the error envelope, exactly, on a sample of errors of each status.
func TestErrorEnvelope(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm, reader := tn.as("pm"), tn.as("reader")
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "none.png"), nil).wantEnvelope(t, 404, "asset_not_found")
		pm.do("GET", segPath(segA1, "scope", "px7214", "filename", "none.png"), nil).wantEnvelope(t, 400, "invalid_parameter")
		pm.do("GET", segPath(segA1, "scope", "pr1", "filename", "none.png"), nil).wantEnvelope(t, 404, "scope_not_found")
		pm.do("GET", segPath(segC1, "scope", "pr7214", "filename", "none.png"), nil).wantEnvelope(t, 404, "segment_not_found")
		reader.do("DELETE", segPath(segA1, "scope", "pr7214"), nil).wantEnvelope(t, 403, "forbidden")
		do(t, c, "GET", "/api/resources/assets/27665601/list?scope=pr7214", nil, nil).wantEnvelope(t, 401, "unauthorized")
		pm.do("GET", "/api/no/such/route", nil).wantEnvelope(t, 404, "not_found")
		pm.do("PATCH", segPath(segA1, "scope", "pr7214"), nil).wantEnvelope(t, 405, "method_not_allowed")
		pm.do("POST", segPath(segA1, "scope", "pr7214"), strings.NewReader("{")).wantEnvelope(t, 400, "invalid_body")
		pm.rawUpload("text/plain", "", "hello").wantEnvelope(t, 415, "unsupported_media")
		pm.uploadResp("x.bin", "maxsize=3", []byte("four")).wantEnvelope(t, 413, "too_large")
		pm.attach("pr7214", segA1, map[string]string{"filetoken": strings.Repeat("0", 32)}).wantEnvelope(t, 404, "file_token_invalid")
		pm.put("pr7214", segA1, "en", "", "", []byte("x"))
		tok := pm.upload("y.png", []byte("y"))
		pm.attach("pr7214", segA1, map[string]string{"filetoken": tok, "locale": "en"}).wantEnvelope(t, 409, "conflict")
	})
}

// SPEC §3: unknown routes are 404 and wrong methods 405 with Allow, both as JSON.
func TestErrorRoutes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		for _, p := range []string{"/api/nothing", "/api/resources", "/api/resources/assets/1/2/3", "/api/media/get", "/elsewhere"} {
			pm.do("GET", p, nil).expectError(t, 404, "not_found")
		}
		for _, tc := range []struct {
			method, path string
			allow        []string
		}{
			{"PUT", "/api/resources/assets/27665601?scope=pr7214", []string{"GET", "HEAD", "POST", "DELETE"}},
			{"PATCH", "/api/auth/token", []string{"POST", "DELETE"}},
			{"GET", "/api/auth/token", []string{"POST", "DELETE"}},
			{"GET", "/api/media/upload", []string{"POST"}},
			{"DELETE", "/api/resources/assets/27665601/list?scope=pr7214", []string{"GET", "HEAD"}},
			{"POST", "/api/assets/re_1/download", []string{"GET", "HEAD"}},
			{"POST", "/healthz", []string{"GET", "HEAD"}},
			{"DELETE", "/metrics", []string{"GET", "HEAD"}},
			{"GET", "/admin/v1/catalog", []string{"PUT"}},
		} {
			r := pm.do(tc.method, tc.path, nil)
			r.expectError(t, 405, "method_not_allowed")
			got := strings.Split(r.Header.Get("Allow"), ", ")
			if strings.Join(got, ",") != strings.Join(tc.allow, ",") {
				t.Fatalf("%s %s: Allow %q, want %q", tc.method, tc.path, r.Header.Get("Allow"), strings.Join(tc.allow, ", "))
			}
		}
	})
}

// SPEC §3: malformed JSON bodies are a 400.
func TestErrorMalformedJSON(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm := tn.as("pm")
		for _, body := range []string{"", "{", "not json", `{"accountid": "a"} {"x": 1}`, `["a"]`} {
			do(t, c, "POST", "/api/auth/token", nil, strings.NewReader(body)).expect(t, 400)
		}
		for _, body := range []string{"{", "not json", `{"filetoken": "a"}{}`} {
			pm.do("POST", segPath(segA1, "scope", "pr7214"), strings.NewReader(body)).expectError(t, 400, "invalid_body")
		}
		pm.do("POST", segPath(segA1, "scope", "pr7214"), strings.NewReader(`{"filetoken": 5}`)).
			reasonNames(t, "invalid_parameter", "filetoken")
		pm.do("POST", segPath(segA1, "scope", "pr7214"), strings.NewReader(`{}`)).reasonNames(t, "invalid_parameter", "filetoken")
		pm.do("POST", flexPath("19641", "27665601"), strings.NewReader("{")).expectError(t, 400, "invalid_body")
		admin(t, c, "PUT", "/admin/v1/catalog", nil).expect(t, 400)
		do(t, c, "PUT", "/admin/v1/catalog", http.Header{"Authorization": {"Bearer " + adminToken}}, strings.NewReader("{")).
			expectError(t, 400, "invalid_body")
	})
}

// SPEC §3, §9: every response of every route carries X-Request-Id, success or error.
func TestRequestIDEverywhere(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm, reader := tn.as("pm"), tn.as("reader")
		tok := pm.upload("shot.png", []byte("png bytes"))
		pm.put("pr7214", segA1, "a.txt", "", "", []byte("text"))
		fa := pm.put("pr7214", segA2, "f.txt", "", "", []byte("flex"))
		bearer := http.Header{"Authorization": {"Bearer " + adminToken}}
		seen := map[string]bool{}
		check := func(r *response, status int) {
			t.Helper()
			r.expect(t, status)
			id := r.Header.Get("X-Request-Id")
			if id == "" {
				t.Fatalf("%s %s (%d): no X-Request-Id", r.Request.Method, r.Request.URL, r.StatusCode)
			}
			if seen[id] {
				t.Fatalf("%s %s: X-Request-Id %q repeats an earlier response's", r.Request.Method, r.Request.URL, id)
			}
			seen[id] = true
		}
		raw := func(method, path string, h http.Header, body string) *response {
			var b *strings.Reader
			if body != "" {
				b = strings.NewReader(body)
				return do(t, c, method, path, h, b)
			}
			return do(t, c, method, path, h, nil)
		}
		loginBody := `{"accountid":"` + tn.account + `","key":"` + apiKey(tn.account, "deleter") + `"}`

		check(raw("POST", "/api/auth/token", nil, loginBody), 200)
		check(raw("POST", "/api/auth/token", nil, `{"accountid":"x","key":"y"}`), 401)
		check(raw("POST", "/api/auth/token", nil, `{`), 400)
		s := tn.as("deleter")
		check(s.do("DELETE", "/api/auth/token", nil), 200)
		check(s.do("PUT", "/api/auth/token/invalidate", nil), 200)
		check(raw("DELETE", "/api/auth/token", nil, ""), 401)

		check(pm.uploadResp("u.txt", "", []byte("u")), 200)
		check(pm.rawUpload("text/plain", "", "x"), 415)
		check(pm.uploadResp("big.bin", "maxsize=2", []byte("three")), 413)
		check(pm.do("GET", "/api/media/get/"+tok, nil), 200)
		check(pm.do("GET", "/api/media/get/"+strings.Repeat("a", 32), nil), 404)

		check(pm.attach("pr7214", segA1, map[string]string{"filetoken": tok}), 200)
		check(pm.attach("pr7214", segA1, map[string]string{"filetoken": "bad"}), 400)
		check(pm.attach("pr7214", segA1, map[string]string{"filetoken": tok, "relativePath": "a.txt"}), 409)
		dl := segPath(segA1, "scope", "pr7214", "filename", "a.txt")
		g := pm.do("GET", dl, nil)
		check(g, 200)
		check(pm.do("HEAD", dl, nil), 200)
		check(pm.doH("GET", dl, http.Header{"If-None-Match": {g.Header.Get("ETag")}}, nil), 304)
		check(pm.doH("GET", dl, http.Header{"Range": {"bytes=1-2"}}, nil), 206)
		check(pm.doH("GET", dl, http.Header{"Range": {"bytes=100-200"}}, nil), 416)
		check(pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "zz.txt"), nil), 404)
		check(pm.do("HEAD", segPath(segA1, "scope", "pr7214", "filename", "zz.txt"), nil), 404)
		check(pm.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil), 200)
		check(pm.do("GET", "/api/resources/assets/27665601/list?scope=pr9", nil), 404)
		check(pm.do("GET", "/api/resources/assets/list?scope=pr7214&segmentIds=27665601", nil), 200)
		check(pm.do("GET", "/api/resources/assets/list?scope=pr7214&segmentIds=x", nil), 400)
		check(reader.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "a.txt"), nil), 403)
		check(pm.do("DELETE", segPath(segA1, "scope", "pr7214", "filename", "a.txt"), nil), 200)

		check(pm.do("GET", flexPath("19641", "27665602", "filename", "f.txt"), nil), 200)
		check(pm.do("GET", flexPath("19641", "27665602", "filename", "g.txt"), nil), 404)
		check(pm.do("GET", flexPath("19641", "27665602/list"), nil), 200)
		check(pm.do("GET", flexPath("19641", "list", "segmentIds", "27665602"), nil), 200)
		check(pm.do("GET", flexPath("x", "list", "segmentIds", "27665602"), nil), 400)
		check(pm.do("POST", flexPath("19641", "27665602"), jsonBody(map[string]string{"filetoken": tok})), 200)
		check(pm.do("DELETE", flexPath("19641", "27665602", "filename", "nothing.txt"), nil), 200)

		check(pm.do("GET", "/api/assets/"+fa.ID+"/download", nil), 200)
		check(pm.do("GET", "/api/assets/re_1/download", nil), 404)
		check(pm.do("GET", "/api/assets/nope/download", nil), 400)
		check(raw("GET", "/api/assets/"+fa.ID+"/download", nil, ""), 401)

		check(raw("PUT", "/admin/v1/catalog", bearer, `{"accounts":[]}`), 200)
		check(raw("PUT", "/admin/v1/catalog", nil, `{"accounts":[]}`), 401)
		check(raw("GET", "/admin/v1/accounts", bearer, ""), 200)
		check(raw("GET", "/admin/v1/accounts/"+tn.account, bearer, ""), 200)
		check(raw("GET", "/admin/v1/accounts/nosuchaccount", bearer, ""), 404)
		check(raw("GET", "/admin/v1/accounts/"+tn.account+"/users/1/keys", bearer, ""), 200)
		check(raw("DELETE", "/admin/v1/accounts/"+tn.account+"/users/99/keys/k_x", bearer, ""), 404)

		check(raw("GET", "/healthz", nil, ""), 200)
		check(raw("GET", "/readyz", nil, ""), 200)
		check(raw("GET", "/metrics", nil, ""), 200)
		check(raw("GET", "/api/nothing/here", nil, ""), 404)
		check(raw("GET", "/nothing", nil, ""), 404)
		check(raw("PATCH", "/api/auth/token", nil, ""), 405)
		check(raw("POST", "/healthz", nil, ""), 405)

		// A plain request id sent by a client (a load balancer's) is kept.
		r := do(t, c, "GET", "/healthz", http.Header{"X-Request-Id": {"lb-4f2a.9"}}, nil)
		r.wantHeader(t, "X-Request-Id", "lb-4f2a.9")
		r = do(t, c, "GET", "/healthz", http.Header{"X-Request-Id": {"bad id\" with junk"}}, nil)
		if id := r.Header.Get("X-Request-Id"); id == "" || strings.ContainsAny(id, "\" ") {
			t.Fatalf("a malformed client request id came back as %q", id)
		}
	})
}
