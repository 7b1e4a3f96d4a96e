package e2e

import (
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// No secret — API key, session token, file token, the admin token, nor the wrong ones
// callers try — reaches the server's log (every request logged, at debug level), its
// metrics, the audit log, or an error body.
func TestSecretsNeverLogged(t *testing.T) {
	for _, b := range backends[:2] {
		t.Run(b.name, func(t *testing.T) {
			c := startCluster(t, b, "--access-log", "--log-level", "debug")
			secrets := secretFlow(t, c)
			if len(secrets) < 8 {
				t.Fatalf("the flow gathered only %d secrets", len(secrets))
			}
			var metrics []string
			for _, n := range c.nodes {
				metrics = append(metrics, string(doURL(t, "GET", n.url+"/metrics", nil, nil).expect(t, 200).body))
			}
			audit := string(admin(t, c, "GET", "/admin/v1/audit?limit=1000", nil).expect(t, 200).body)
			// The access log's line of a request is written after its response: wait for the
			// last request's.
			var all string
			var logs []string
			soEventually(t, 10*time.Second, "the access log of the last request", func() (bool, string) {
				logs = logs[:0]
				for _, n := range c.nodes {
					logs = append(logs, n.logs())
				}
				all = strings.Join(logs, "\n")
				return strings.Contains(all, `"route":"GET /admin/v1/audit"`), "not logged yet"
			})
			if !strings.Contains(all, `"msg":"request"`) || !strings.Contains(all, `"route":"GET /api/media/get/{token}"`) {
				t.Fatalf("the access log did not record the flow:\n%s", truncate([]byte(all)))
			}
			for name, secret := range secrets {
				for i, l := range logs {
					if strings.Contains(l, secret) {
						t.Errorf("the log of node %d holds the %s:\n%s", i, name, lineWith(l, secret))
					}
				}
				for i, m := range metrics {
					if strings.Contains(m, secret) {
						t.Errorf("the metrics of node %d hold the %s:\n%s", i, name, lineWith(m, secret))
					}
				}
				if strings.Contains(audit, secret) {
					t.Errorf("the audit log holds the %s", name)
				}
			}
		})
	}
}

func lineWith(text, s string) string {
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, s) {
			return l
		}
	}
	return ""
}

// secretFlow runs a full flow that handles every kind of secret, in headers, bodies,
// paths and query strings, successfully and not, and returns the secrets by name.
func secretFlow(t *testing.T, c *cluster) map[string]string {
	tn := newTenant(t, c)
	secrets := map[string]string{
		"admin token": adminToken,
		"API key":     apiKey(tn.account, "pm"),
	}
	pm := tn.as("pm")
	secrets["session token"] = pm.token
	data := randomBytes(1000)
	ftoken := pm.upload("docs/secret.bin", data)
	secrets["file token"] = ftoken
	pm.do("GET", "/api/media/get/"+ftoken, nil).expect(t, 200).wantBody(t, data)
	// Secrets where they do not belong: a query string, an unknown route's path.
	pm.do("GET", "/api/media/get/"+ftoken+"?token="+pm.token+"&key="+secrets["API key"], nil).expect(t, 200)
	do(t, c, "GET", "/api/nowhere/"+ftoken+"?admin="+adminToken, nil, nil).expect(t, 404)
	pm.put("pr7214", segA1, "s.bin", "", "", data)
	pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "s.bin"), nil).expect(t, 200).wantBody(t, data)
	pm.listAssets("pr7214", segA1)
	// A refused attach with someone else's file token, and one with a token of the wrong
	// shape (the error names the parameter, not the value).
	reader := tn.as("reader")
	secrets["second session token"] = reader.token
	reader.attach("pr7214", segA1, map[string]string{"filetoken": ftoken}).expectError(t, 403, "forbidden")
	badToken := hex.EncodeToString(randomBytes(16))
	secrets["unknown file token"] = badToken
	pm.attach("pr7214", segA2, map[string]string{"filetoken": badToken}).expectError(t, 404, "file_token_invalid")
	shape := "NOT-A-TOKEN-" + hex.EncodeToString(randomBytes(8))
	secrets["malformed file token"] = shape
	r := pm.attach("pr7214", segA2, map[string]string{"filetoken": shape})
	r.expectError(t, 400, "invalid_parameter")
	if strings.Contains(string(r.body), shape) {
		t.Fatalf("the error echoes the file token: %s", r.body)
	}

	// Wrong keys and tokens.
	wrongKey := "wrong-key-" + hex.EncodeToString(randomBytes(12))
	secrets["wrong API key"] = wrongKey
	r = do(t, c, "POST", "/api/auth/token", nil, jsonBody(map[string]string{"accountid": tn.account, "key": wrongKey}))
	r.expectError(t, 401, "invalid_key")
	wrongToken := strings.ToUpper(hex.EncodeToString(randomBytes(16)))
	secrets["wrong session token"] = wrongToken
	do(t, c, "GET", segPath(segA1, "scope", "pr7214", "filename", "s.bin"),
		http.Header{"X-Auth-Token": {wrongToken}, "X-Auth-AccountId": {tn.account}}, nil).expectError(t, 401, "unauthorized")
	wrongAdmin := adminToken + "-" + hex.EncodeToString(randomBytes(4))
	secrets["wrong admin token"] = wrongAdmin
	for _, bearer := range []string{wrongAdmin, adminToken[:len(adminToken)-1]} {
		r := do(t, c, "GET", "/admin/v1/accounts", http.Header{"Authorization": {"Bearer " + bearer}}, nil)
		r.expectError(t, 401, "unauthorized")
		if strings.Contains(string(r.body), adminToken[:len(adminToken)-1]) {
			t.Fatalf("the admin error echoes the token: %s", r.body)
		}
	}

	// A key issued through the admin API, used, and revoked.
	base := "/admin/v1/accounts/" + tn.account + "/users/3/keys"
	var key wire.Key
	admin(t, c, "POST", base, nil).expect(t, 200).json(t, &key)
	secrets["issued API key"] = key.Key
	r = do(t, c, "POST", "/api/auth/token", nil, jsonBody(map[string]string{"accountid": tn.account, "key": key.Key})).expect(t, 200)
	var tok3 string
	r.json(t, &tok3)
	secrets["issued key's session token"] = tok3
	admin(t, c, "DELETE", base+"/"+key.ID, nil).expect(t, 204)
	do(t, c, "GET", segPath(segA1, "scope", "pr7214", "filename", "s.bin"),
		http.Header{"X-Auth-Token": {tok3}, "X-Auth-AccountId": {tn.account}}, nil).expectError(t, 401, "unauthorized")

	// An upload cut off by the client: the server sees the connection go.
	cutUpload(t, c, tn.account, pm.token)
	pm.do("DELETE", "/api/auth/token", nil).expect(t, 200)
	for name, s := range secrets {
		if s == "" {
			t.Fatalf("the flow has no %s", name)
		}
	}
	return secrets
}

// cutUpload starts an upload and closes the connection halfway through its body.
func cutUpload(t *testing.T, c *cluster, account, token string) {
	t.Helper()
	host := strings.TrimPrefix(c.nodes[0].url, "http://")
	conn, err := net.Dial("tcp", host)
	if err != nil {
		t.Fatal(err)
	}
	part := "--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"cut.bin\"\r\n\r\n" + strings.Repeat("x", 4096)
	fmt.Fprintf(conn, "POST /api/media/upload HTTP/1.1\r\nHost: %s\r\nX-Auth-Token: %s\r\nX-Auth-AccountId: %s\r\n"+
		"Content-Type: multipart/form-data; boundary=b\r\nContent-Length: 1000000\r\n\r\n%s", host, token, account, part)
	time.Sleep(200 * time.Millisecond)
	conn.Close()
	// The server answers the next request normally.
	resp, err := http.Get(c.nodes[0].url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
}
