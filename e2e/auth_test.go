package e2e

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"
)

// SPEC §2: POST /api/auth/token answers the token as a JSON string.
func TestAuthLogin(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		login := func(body any) *response {
			return do(t, c, "POST", "/api/auth/token", nil, jsonBody(body))
		}
		r := login(map[string]string{"accountid": tn.account, "key": apiKey(tn.account, "pm")}).expect(t, 200)
		if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
			t.Fatalf("login Content-Type %q, want application/json", ct)
		}
		if !regexp.MustCompile(`^"[^"\\]{16,}"\n?$`).Match(r.body) {
			t.Fatalf("login body %q is not a JSON string holding a token", r.body)
		}
		var token string
		r.json(t, &token)
		// The token works.
		s := &session{t: t, c: c, account: tn.account, token: token}
		s.listAssets("pr7214", segA1)

		// Bad key, another user's account, unknown account: 401 with the error envelope.
		login(map[string]string{"accountid": tn.account, "key": "nope"}).expectError(t, 401, "invalid_key")
		other := newTenant(t, c)
		login(map[string]string{"accountid": other.account, "key": apiKey(tn.account, "pm")}).expectError(t, 401, "invalid_key")
		login(map[string]string{"accountid": "nosuchaccount", "key": apiKey(tn.account, "pm")}).expectError(t, 401, "invalid_key")
		login(map[string]string{"accountid": "bad account!", "key": "x"}).expectError(t, 401, "invalid_key")

		// A missing field is a 400 that names it.
		login(map[string]string{"key": apiKey(tn.account, "pm")}).reasonNames(t, "invalid_parameter", "accountid")
		login(map[string]string{"accountid": tn.account}).reasonNames(t, "invalid_parameter", "key")
		login(map[string]string{"accountid": "", "key": ""}).reasonNames(t, "invalid_parameter", "accountid")
	})
}

// SPEC §2: every other /api call needs both headers, a live token, and the token's account.
func TestAuthHeadersRequired(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		pm := tn.as("pm")
		other := newTenant(t, c).as("pm")
		token := pm.upload("a.txt", []byte("hello"))
		a := pm.put("pr7214", segA1, "b.txt", "", "", []byte("bytes"))

		calls := []struct{ method, path string }{
			{"GET", segPath(segA1, "scope", "pr7214", "filename", "b.txt")},
			{"HEAD", segPath(segA1, "scope", "pr7214", "filename", "b.txt")},
			{"GET", "/api/resources/assets/27665601/list?scope=pr7214"},
			{"GET", "/api/resources/assets/list?scope=pr7214&segmentIds=27665601"},
			{"DELETE", segPath(segA1, "scope", "pr7214", "filename", "b.txt")},
			{"POST", segPath(segA1, "scope", "pr7214")},
			{"POST", "/api/media/upload"},
			{"GET", "/api/media/get/" + token},
			{"GET", flexPath("19641", "27665601/list")},
		}
		cases := []struct {
			name string
			h    http.Header
		}{
			{"no headers", http.Header{}},
			{"no token", http.Header{"X-Auth-AccountId": {tn.account}}},
			{"no account", http.Header{"X-Auth-Token": {pm.token}}},
			{"unknown token", http.Header{"X-Auth-Token": {"5F1C0000-0000-0000-0000-000000000000"}, "X-Auth-AccountId": {tn.account}}},
			{"other account", http.Header{"X-Auth-Token": {pm.token}, "X-Auth-AccountId": {other.account}}},
			{"token of other account", http.Header{"X-Auth-Token": {other.token}, "X-Auth-AccountId": {tn.account}}},
		}
		for _, tc := range cases {
			for _, call := range calls {
				r := do(t, c, call.method, call.path, tc.h, nil)
				if call.method == "HEAD" {
					r.expect(t, 401)
					continue
				}
				r.expectError(t, 401, "unauthorized")
			}
		}
		// Nothing was changed by the refused calls; the session still works.
		if l := pm.listAssets("pr7214", segA1); len(l) != 1 || l[0].ID != a.ID {
			t.Fatalf("after refused calls, list = %+v", l)
		}
	})
}

// SPEC §2: DELETE /api/auth/token and PUT /api/auth/token/invalidate end the session and
// are idempotent.
func TestAuthLogout(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		for _, route := range []struct{ method, path string }{
			{"DELETE", "/api/auth/token"},
			{"PUT", "/api/auth/token/invalidate"},
		} {
			s := tn.as("pm")
			keep := tn.as("pm") // another session of the same user is not touched
			s.listAssets("pr7214", segA1)
			r := s.do(route.method, route.path, nil).expect(t, 200)
			if len(r.body) != 0 {
				t.Fatalf("%s %s: body %q, want empty", route.method, route.path, r.body)
			}
			s.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expectError(t, 401, "unauthorized")
			s.do(route.method, route.path, nil).expect(t, 200)
			s.do("DELETE", "/api/auth/token", nil).expect(t, 200)
			s.do("PUT", "/api/auth/token/invalidate", nil).expect(t, 200)
			s.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expectError(t, 401, "unauthorized")
			keep.listAssets("pr7214", segA1)
		}
		// Someone naming another account cannot end a session of this one.
		s := tn.as("pm")
		other := newTenant(t, c)
		do(t, c, "DELETE", "/api/auth/token", http.Header{"X-Auth-Token": {s.token}, "X-Auth-AccountId": {other.account}}, nil).expect(t, 200)
		s.listAssets("pr7214", segA1)
	})
}

// SPEC §1, §2: a token expires after the configured time without use, and each use slides
// the expiry.
func TestAuthSlidingExpiry(t *testing.T) {
	if testing.Short() {
		t.Skip("sleeps several seconds")
	}
	forEachBackendWith(t, []string{"--token-ttl", "3s"}, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		busy, idle := tn.as("pm"), tn.as("reader")
		start := time.Now()
		for time.Since(start) < 5*time.Second {
			time.Sleep(time.Second)
			busy.listAssets("pr7214", segA1)
		}
		// busy was used every second for 5 s, past its 3 s lifetime: still valid.
		busy.listAssets("pr7214", segA1)
		// idle was last used at login, more than 3 s ago: gone.
		idle.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expectError(t, 401, "unauthorized")
		// And stays gone, even though it was just presented.
		idle.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expectError(t, 401, "unauthorized")
		// busy left idle expires too.
		time.Sleep(3500 * time.Millisecond)
		busy.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expectError(t, 401, "unauthorized")
	})
}
