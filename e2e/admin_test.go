package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refstore/refstore/wire"
)

// SPEC §8: the admin API needs the admin bearer token.
func TestAdminAuth(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		routes := []struct{ method, path, body string }{
			{"PUT", "/admin/v1/catalog", `{"accounts":[{"id":"` + tn.account + `","name":"hijacked"}]}`},
			{"GET", "/admin/v1/accounts", ""},
			{"GET", "/admin/v1/accounts/" + tn.account, ""},
			{"DELETE", "/admin/v1/accounts/" + tn.account, ""},
			{"DELETE", "/admin/v1/accounts/" + tn.account + "/projects/7214", ""},
			{"DELETE", "/admin/v1/accounts/" + tn.account + "/users/1/grants/pr7214", ""},
			{"POST", "/admin/v1/accounts/" + tn.account + "/users/1/keys", ""},
			{"GET", "/admin/v1/accounts/" + tn.account + "/users/1/keys", ""},
			{"DELETE", "/admin/v1/accounts/" + tn.account + "/users/1/keys/k_x", ""},
		}
		pm := tn.as("pm")
		for _, h := range []http.Header{
			{},
			{"Authorization": {"Bearer wrong-token"}},
			{"Authorization": {"Bearer " + adminToken + "x"}},
			{"Authorization": {"Bearer"}},
			{"Authorization": {"Bearer "}},
			{"Authorization": {"Basic " + adminToken}},
			{"Authorization": {adminToken}},
			// An API session is not an admin.
			{"X-Auth-Token": {pm.token}, "X-Auth-AccountId": {tn.account}},
		} {
			for _, rt := range routes {
				var body *strings.Reader
				if rt.body != "" {
					body = strings.NewReader(rt.body)
				}
				var r *response
				if body != nil {
					r = do(t, c, rt.method, rt.path, h, body)
				} else {
					r = do(t, c, rt.method, rt.path, h, nil)
				}
				r.expectError(t, 401, "unauthorized")
			}
		}
		// Nothing changed.
		var acc struct{ Name string }
		admin(t, c, "GET", "/admin/v1/accounts/"+tn.account, nil).expect(t, 200).json(t, &acc)
		if acc.Name != "Tenant "+tn.account {
			t.Fatalf("account name %q after refused calls", acc.Name)
		}
		pm.listAssets("pr7214", segA1)
	})
}

// SPEC §8: PUT /admin/v1/catalog is an idempotent upsert, and refuses invalid catalogs.
func TestAdminCatalog(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		path := "/admin/v1/accounts/" + tn.account
		first := admin(t, c, "GET", path, nil).expect(t, 200)
		admin(t, c, "PUT", "/admin/v1/catalog", fixtureCatalog(tn.account)).expect(t, 200)
		admin(t, c, "PUT", "/admin/v1/catalog", fixtureCatalog(tn.account)).expect(t, 200)
		second := admin(t, c, "GET", path, nil).expect(t, 200)
		if !bytes.Equal(first.body, second.body) {
			t.Fatalf("catalog changed by a repeated upsert:\n%s\n%s", first.body, second.body)
		}
		// The account's catalog is what was sent, without the API keys.
		var acc struct {
			ID       string
			Users    []map[string]any
			Projects []struct {
				ID        int64
				Documents []struct {
					ID       int64
					Segments []int64
				}
			}
			Jobs   []map[string]any
			Grants []map[string]any
		}
		second.json(t, &acc)
		if acc.ID != tn.account || len(acc.Users) != len(fixtureUsers) || len(acc.Projects) != 2 || len(acc.Jobs) != 2 || len(acc.Grants) != 7 {
			t.Fatalf("account catalog: %s", second.body)
		}
		if bytes.Contains(second.body, []byte("key-"+tn.account)) || bytes.Contains(second.body, []byte("apiKey")) {
			t.Fatalf("the account catalog shows API keys: %s", second.body)
		}
		if d := acc.Projects[0].Documents; acc.Projects[0].ID != projectID || len(d) != 2 || len(d[0].Segments) != 3 {
			t.Fatalf("project 7214 in the catalog: %+v", acc.Projects[0])
		}
		// The account is listed.
		var list wire.Accounts
		admin(t, c, "GET", "/admin/v1/accounts", nil).expect(t, 200).json(t, &list)
		found := false
		for _, a := range list.Accounts {
			found = found || a == tn.account
		}
		if !found {
			t.Fatalf("account %s not listed", tn.account)
		}
		// Existing assets survive an upsert of the same catalog.
		pm := tn.as("pm")
		pm.put("pr7214", segA1, "keep.txt", "", "", []byte("keep"))
		admin(t, c, "PUT", "/admin/v1/catalog", fixtureCatalog(tn.account)).expect(t, 200)
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "keep.txt"), nil).expect(t, 200)

		// Invalid catalogs: 400 with a reason, and nothing of them is applied.
		fresh := "bad" + tn.account
		acct := func(extra map[string]any) map[string]any {
			a := map[string]any{"id": fresh, "users": []map[string]any{{"id": 1, "name": "u"}},
				"projects": []map[string]any{{"id": 1, "documents": []map[string]any{{"id": 1, "segments": []int64{1}}}}}}
			for k, v := range extra {
				a[k] = v
			}
			return map[string]any{"accounts": []map[string]any{a}}
		}
		for i, tc := range []struct {
			body any
			want string // a word the reason must contain
		}{
			{map[string]any{"accounts": []map[string]any{{"id": "bad id!"}}}, "account"},
			{map[string]any{"accounts": []map[string]any{{"id": ""}}}, "account"},
			{map[string]any{"accounts": []map[string]any{{"id": fresh}, {"id": fresh}}}, "twice"},
			{acct(map[string]any{"users": []map[string]any{{"id": 0}}}), "user"},
			{acct(map[string]any{"projects": []map[string]any{{"id": -1}}}), "project"},
			{acct(map[string]any{"grants": []map[string]any{{"userId": 1, "projectId": 1, "rights": []string{"write"}}}}), "right"},
			{acct(map[string]any{"grants": []map[string]any{{"userId": 1, "projectId": 1, "jobId": 1, "rights": []string{"read"}}}}), "grant"},
			{acct(map[string]any{"grants": []map[string]any{{"userId": 1, "rights": []string{"read"}}}}), "grant"},
			{acct(map[string]any{"grants": []map[string]any{{"userId": 99, "projectId": 1, "rights": []string{"read"}}}}), "99"},
			{acct(map[string]any{"grants": []map[string]any{{"userId": 1, "projectId": 42, "rights": []string{"read"}}}}), "42"},
			{acct(map[string]any{"jobs": []map[string]any{{"id": 5, "projectId": 42}}}), "42"},
			{acct(map[string]any{"jobs": []map[string]any{{"id": 5, "projectId": 1, "documentIds": []int64{77}}}}), "77"},
			{acct(map[string]any{"unknownField": true}), "unknownField"},
			{map[string]any{"accounts": "nope"}, "catalog"},
		} {
			r := admin(t, c, "PUT", "/admin/v1/catalog", tc.body)
			e := r.expectError(t, 400, "invalid_body")
			if !strings.Contains(e.Reason, tc.want) {
				t.Fatalf("invalid catalog %d: reason %q does not mention %q", i, e.Reason, tc.want)
			}
			admin(t, c, "GET", "/admin/v1/accounts/"+fresh, nil).expectError(t, 404, "not_found")
		}
		// A segment may not move to another document while it holds assets.
		moved := fixtureCatalog(tn.account)
		moved["accounts"].([]map[string]any)[0]["projects"].([]map[string]any)[0]["documents"] =
			[]map[string]any{{"id": docB, "segments": []int64{segA1}}}
		admin(t, c, "PUT", "/admin/v1/catalog", moved).expectError(t, 409, "conflict")
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "keep.txt"), nil).expect(t, 200)
	})
}

// SPEC §8: API keys: issue, list, revoke.
func TestAdminKeys(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		keysPath := "/admin/v1/accounts/" + tn.account + "/users/2/keys"
		r := admin(t, c, "POST", keysPath, nil).expect(t, 200)
		var k wire.Key
		r.json(t, &k)
		if k.ID == "" || len(k.Key) < 20 {
			t.Fatalf("issued key %s: want an id and a key", r.body)
		}
		login := func(key string) *response {
			return do(t, c, "POST", "/api/auth/token", nil, jsonBody(map[string]string{"accountid": tn.account, "key": key}))
		}
		var token string
		login(k.Key).expect(t, 200).json(t, &token)
		s := &session{t: t, c: c, account: tn.account, token: token}
		// The key logs in as user 2 (reader): read, no delete.
		s.listAssets("pr7214", segA1)
		s.do("DELETE", segPath(segA1, "scope", "pr7214"), nil).expectError(t, 403, "forbidden")
		// Keys are listed by id, never with their secret.
		list := admin(t, c, "GET", keysPath, nil).expect(t, 200)
		var keys []map[string]any
		list.json(t, &keys)
		if len(keys) != 2 {
			t.Fatalf("keys of user 2: %s, want the fixture key and the new one", list.body)
		}
		ids := map[string]bool{}
		for _, e := range keys {
			id, _ := e["id"].(string)
			ids[id] = true
			if _, has := e["key"]; has {
				t.Fatalf("key list shows a secret: %s", list.body)
			}
		}
		if !ids[k.ID] || bytes.Contains(list.body, []byte(k.Key)) || bytes.Contains(list.body, []byte(apiKey(tn.account, "reader"))) {
			t.Fatalf("key list %s: want %s and no secrets", list.body, k.ID)
		}
		// A second key; then revoke the first: its login and its sessions end, the other's do not.
		r = admin(t, c, "POST", keysPath, nil).expect(t, 200)
		var k2 wire.Key
		r.json(t, &k2)
		if k2.ID == k.ID || k2.Key == k.Key {
			t.Fatal("two issued keys are the same")
		}
		var token2 string
		login(k2.Key).expect(t, 200).json(t, &token2)
		s2 := &session{t: t, c: c, account: tn.account, token: token2}
		fixture := tn.as("reader")
		r = admin(t, c, "DELETE", keysPath+"/"+k.ID, nil)
		if r.StatusCode != 204 && r.StatusCode != 200 {
			t.Fatalf("revoking a key: status %d %s", r.StatusCode, r.body)
		}
		login(k.Key).expectError(t, 401, "invalid_key")
		s.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expectError(t, 401, "unauthorized")
		s2.listAssets("pr7214", segA1)
		fixture.listAssets("pr7214", segA1)
		// Revoking again, or an unknown key, or another user's key: 404.
		admin(t, c, "DELETE", keysPath+"/"+k.ID, nil).expectError(t, 404, "not_found")
		admin(t, c, "DELETE", keysPath+"/k_nope", nil).expectError(t, 404, "not_found")
		admin(t, c, "DELETE", "/admin/v1/accounts/"+tn.account+"/users/1/keys/"+k2.ID, nil).expectError(t, 404, "not_found")
		s2.listAssets("pr7214", segA1)
		// Unknown users and accounts.
		admin(t, c, "POST", "/admin/v1/accounts/"+tn.account+"/users/99/keys", nil).expectError(t, 404, "not_found")
		admin(t, c, "GET", "/admin/v1/accounts/"+tn.account+"/users/99/keys", nil).expectError(t, 404, "not_found")
		admin(t, c, "POST", "/admin/v1/accounts/nosuchaccount/users/1/keys", nil).expectError(t, 404, "not_found")
		admin(t, c, "POST", "/admin/v1/accounts/"+tn.account+"/users/x/keys", nil).reasonNames(t, "invalid_parameter", "userId")
		// A key of one account does not log in to another.
		do(t, c, "POST", "/api/auth/token", nil, jsonBody(map[string]string{"accountid": newTenant(t, c).account, "key": k2.Key})).
			expectError(t, 401, "invalid_key")
	})
}

// SPEC §8: removing grants, users, catalog entries and accounts.
func TestAdminRemove(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		acct := "/admin/v1/accounts/" + tn.account
		del := func(path string) {
			t.Helper()
			admin(t, c, "DELETE", path, nil).expect(t, 204)
		}
		pm := tn.as("pm")
		pm.put("pr7214", segA1, "a.png", "", "", pngBytes(10))

		// Grants.
		reader, jobber, codyt := tn.as("reader"), tn.as("jobber"), tn.as("codyt")
		reader.listAssets("pr7214", segA1)
		jobber.listAssets("jbs9927", segA1)
		codyt.listAssets("jbc500", segC1)
		del(acct + "/users/2/grants/pr7214")
		del(acct + "/users/4/grants/jbs9927")
		del(acct + "/users/6/grants/jbc500")
		reader.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expectError(t, 403, "forbidden")
		jobber.do("GET", "/api/resources/assets/27665601/list?scope=jbs9927", nil).expectError(t, 403, "forbidden")
		jobber.do("GET", flexPath("19641", "27665601/list"), nil).expectError(t, 403, "forbidden")
		codyt.do("GET", flexPath("c500", "27670001/list"), nil).expectError(t, 403, "forbidden")
		pm.listAssets("pr7214", segA1)
		admin(t, c, "DELETE", acct+"/users/2/grants/pr7214", nil).expectError(t, 404, "not_found")
		admin(t, c, "DELETE", acct+"/users/2/grants/pr7300", nil).expectError(t, 404, "not_found")
		admin(t, c, "DELETE", acct+"/users/4/grants/jbc9927", nil).expectError(t, 404, "not_found")
		admin(t, c, "DELETE", acct+"/users/4/grants/job9927", nil).reasonNames(t, "invalid_parameter", "target")

		// A user: its keys and sessions go with it.
		uploader := tn.as("uploader")
		del(acct + "/users/3")
		uploader.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expectError(t, 401, "unauthorized")
		do(t, c, "POST", "/api/auth/token", nil, jsonBody(map[string]string{"accountid": tn.account, "key": apiKey(tn.account, "uploader")})).
			expectError(t, 401, "invalid_key")
		admin(t, c, "DELETE", acct+"/users/3", nil).expectError(t, 404, "not_found")

		// A segment, a document, a job.
		pm.put("pr7214", segA3, "s.png", "", "", pngBytes(10))
		del(acct + "/segments/27665603")
		pm.do("GET", "/api/resources/assets/27665603/list?scope=pr7214", nil).expectError(t, 404, "segment_not_found")
		pm.put("pr7214", segB2, "d.png", "", "", pngBytes(10))
		del(acct + "/documents/19642")
		pm.do("GET", "/api/resources/assets/27666002/list?scope=pr7214", nil).expectError(t, 404, "segment_not_found")
		pm.do("GET", flexPath("19642", "27666002/list"), nil).expectError(t, 404, "scope_not_found")
		del(acct + "/jobs/jbs9927")
		pm.do("GET", "/api/resources/assets/27665601/list?scope=jbs9927", nil).expectError(t, 404, "scope_not_found")
		pm.listAssets("pr7214", segA1)
		admin(t, c, "DELETE", acct+"/jobs/9927", nil).reasonNames(t, "invalid_parameter", "id")

		// Unknown entries.
		for _, p := range []string{"/projects/1", "/documents/1", "/segments/1", "/users/99", "/jobs/jbs1", "/jobs/jbc9927",
			"/segments/27665603", "/documents/19642"} {
			admin(t, c, "DELETE", acct+p, nil).expectError(t, 404, "not_found")
		}
		admin(t, c, "DELETE", acct+"/widgets/1", nil).expectError(t, 404, "not_found")
		admin(t, c, "DELETE", "/admin/v1/accounts/nosuchaccount", nil).expectError(t, 404, "not_found")
		admin(t, c, "DELETE", "/admin/v1/accounts/nosuchaccount/projects/7214", nil).expectError(t, 404, "not_found")
		admin(t, c, "GET", "/admin/v1/accounts/nosuchaccount", nil).expectError(t, 404, "not_found")
		admin(t, c, "DELETE", acct+"/projects/abc", nil).reasonNames(t, "invalid_parameter", "id")
	})
}

// SPEC §8: removing a project removes its assets, files included; removing an account
// removes everything of it.
func TestAdminRemoveProjectAndAccount(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		acct := "/admin/v1/accounts/" + tn.account
		pm := tn.as("pm")
		data := pngBytes(100)
		a := pm.put("pr7214", segA1, "a.png", "en", "x", data)
		pm.put("pr7214", segB1, "b.png", "", "", pngBytes(10))
		kept := pm.put("pr7300", segC1, "c.png", "", "", data) // the same bytes in another project
		embedded := c.backend.name == "embedded"
		var data0 string
		if embedded {
			data0 = c.nodes[0].opts.Data
			if _, err := os.Stat(filepath.Join(data0, "accounts", tn.account, "projects", "7214")); err != nil {
				t.Fatalf("project folder before removal: %v", err)
			}
		}
		admin(t, c, "DELETE", acct+"/projects/7214", nil).expect(t, 204)
		pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "a.png", "locale", "en", "relativePath", "x"), nil).
			expectError(t, 404, "scope_not_found")
		pm.do("GET", "/api/assets/"+a.ID+"/download", nil).wantAssetIDError(t, 404, "asset_not_found")
		pm.do("GET", "/api/resources/assets/27665601/list?scope=jbs9927", nil).expectError(t, 404, "scope_not_found")
		// The other project is untouched, bytes shared with the removed one included.
		pm.do("GET", segPath(segC1, "scope", "pr7300", "filename", "c.png"), nil).expect(t, 200).wantBody(t, data)
		pm.do("GET", "/api/assets/"+kept.ID+"/download", nil).expect(t, 200).wantBody(t, data)
		if embedded {
			if _, err := os.Stat(filepath.Join(data0, "accounts", tn.account, "projects", "7214")); !os.IsNotExist(err) {
				t.Fatalf("project folder after removal: %v (want it gone)", err)
			}
			if _, err := os.Stat(filepath.Join(data0, "accounts", tn.account, "projects", "7300")); err != nil {
				t.Fatalf("other project folder: %v", err)
			}
		}
		admin(t, c, "DELETE", acct+"/projects/7214", nil).expectError(t, 404, "not_found")
		// The project can be created again, empty.
		admin(t, c, "PUT", "/admin/v1/catalog", fixtureCatalog(tn.account)).expect(t, 200)
		if l := pm.listAssets("pr7214", segA1); len(l) != 0 {
			t.Fatalf("a re-created project shows old assets: %+v", l)
		}

		// The whole account.
		tok := pm.upload("pending.bin", randomBytes(100))
		admin(t, c, "DELETE", acct, nil).expect(t, 204)
		admin(t, c, "GET", acct, nil).expectError(t, 404, "not_found")
		pm.do("GET", "/api/resources/assets/27670001/list?scope=pr7300", nil).expectError(t, 401, "unauthorized")
		do(t, c, "POST", "/api/auth/token", nil, jsonBody(map[string]string{"accountid": tn.account, "key": apiKey(tn.account, "pm")})).
			expectError(t, 401, "invalid_key")
		admin(t, c, "DELETE", acct, nil).expectError(t, 404, "not_found")
		if embedded {
			if files := treeFiles(t, filepath.Join(data0, "accounts", tn.account)); len(files) != 0 {
				t.Fatalf("files of a removed account are left: %v", keysOfBool(files))
			}
		}
		// A new account of the same name starts empty.
		admin(t, c, "PUT", "/admin/v1/catalog", fixtureCatalog(tn.account)).expect(t, 200)
		pm = tn.as("pm")
		if l := pm.listAssets("pr7300", segC1); len(l) != 0 {
			t.Fatalf("a re-created account shows old assets: %+v", l)
		}
		pm.do("GET", "/api/media/get/"+tok, nil).expectError(t, 404, "file_token_invalid")
		_ = fmt.Sprint
		_ = json.Valid
	})
}

func keysOfBool(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
