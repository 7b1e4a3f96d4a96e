package e2e

// The routes real Wordbee connectors call to set up a connection (POST /api/persons/list,
// POST /api/apps/wbflex/list, GET /api/apps/wbflex/documents/{id}), the Wordbee 404 of the
// routes refstore does not serve, session tokens in any case, and memories.ai's download
// with an API key (docs/api.md, "Connection checks" and "memories.ai downloads").

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/refstore/refstore/wire"
)

// personIDs lists the ids of a persons page.
func personIDs(l wire.PersonList) []int64 {
	ids := []int64{}
	for _, p := range l.Rows {
		ids = append(ids, p.PersonID)
	}
	return ids
}

func (s *session) persons(body string, h http.Header) *response {
	s.t.Helper()
	hh := s.headers()
	for k, v := range h {
		hh[k] = v
	}
	if body == "" {
		return do(s.t, s.c, "POST", "/api/persons/list", hh, nil)
	}
	return do(s.t, s.c, "POST", "/api/persons/list", hh, strings.NewReader(body))
}

func TestConnectorPersons(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []map[string]any{{"id": tn.account,
			"users": []map[string]any{{"id": 1, "name": "Jeanne de la Tour", "email": "jeanne@acme.example"}}}}}).expect(t, 200)
		nogrant := tn.as("nogrant") // persons need no grant

		// The C# connection check: no body, no Content-Type; the default page holds all 7.
		var l wire.PersonList
		nogrant.persons("", nil).expect(t, 200).json(t, &l)
		if l.Total != 7 || l.Count != 7 || !slices.Equal(personIDs(l), []int64{1, 2, 3, 4, 5, 6, 7}) {
			t.Fatalf("persons/list: %+v", l)
		}
		if l.Rows[0] != (wire.Person{PersonID: 1, FirstName: "Jeanne", LastName: "de la Tour", Email: "jeanne@acme.example"}) ||
			l.Rows[1] != (wire.Person{PersonID: 2, FirstName: "reader"}) {
			t.Fatalf("rows %+v", l.Rows[:2])
		}
		// Bodies the connectors send: an empty one under any label, JSON with paging.
		for _, tc := range []struct {
			body, contentType string
			want              []int64
			total             int
		}{
			{"", "application/x-www-form-urlencoded", []int64{1, 2, 3, 4, 5, 6, 7}, 7},
			{"  ", "application/json", []int64{1, 2, 3, 4, 5, 6, 7}, 7},
			{"{}", "application/json; charset=utf-8", []int64{1, 2, 3, 4, 5, 6, 7}, 7},
			{"null", "application/json", []int64{1, 2, 3, 4, 5, 6, 7}, 7},
			{`{"take":3}`, "application/json", []int64{1, 2, 3}, 7},
			{`{"skip":3,"take":3}`, "application/json", []int64{4, 5, 6}, 7},
			{`{"skip":6,"take":3}`, "text/plain", []int64{7}, 7},
			{`{"skip":70}`, "application/json", []int64{}, 7},
			{`{"take":0}`, "application/json", []int64{1, 2, 3, 4, 5, 6, 7}, 7},
			{`{"take":100000}`, "application/json", []int64{1, 2, 3, 4, 5, 6, 7}, 7},
			{`{"query":"{firstname}.Contains(\"DE\") OR {lastname}.Contains(\"DE\")","skip":0,"take":200}`, "application/json", []int64{1, 2, 3, 7}, 4},
			{`{"query":"{firstname}.Contains(\"de\") AND {email}.Contains(\"@acme\")"}`, "application/json", []int64{}, 0},
			{`{"query":"{lastname}.Contains(\"tour\") AND {email}.Contains(\"@acme\")"}`, "application/json", []int64{1}, 1},
			{`{"query":"","filter":null,"sort":[{"id":"lastname","asc":true}]}`, "application/json", []int64{1, 2, 3, 4, 5, 6, 7}, 7},
		} {
			var l wire.PersonList
			nogrant.persons(tc.body, http.Header{"Content-Type": {tc.contentType}}).expect(t, 200).json(t, &l)
			if l.Total != tc.total || l.Count != len(tc.want) || !slices.Equal(personIDs(l), tc.want) {
				t.Fatalf("body %s: total %d count %d ids %v; want %d, %v", tc.body, l.Total, l.Count, personIDs(l), tc.total, tc.want)
			}
		}
		// What refstore cannot apply is a 400 naming it, never a list that ignored it.
		for _, tc := range []struct{ body, param string }{
			{`{"query":"{jobid} > 1000"}`, "query"},
			{`{"query":"{firstname} = \"x\""}`, "query"},
			{`{"filter":[{"fd":"firstname","op":"contains","val":"x"}]}`, "filter"},
			{`{"skip":-1}`, "skip"},
			{`{"take":-5}`, "take"},
			{`{"take":"20"}`, "take"},
		} {
			e := nogrant.persons(tc.body, nil).reasonNames(t, "invalid_parameter", tc.param)
			if tc.param == "query" && !strings.Contains(e.Reason, `{column}.Contains("text")`) {
				t.Fatalf("query error does not say what is understood: %q", e.Reason)
			}
		}
		nogrant.persons("{", nil).expectError(t, 400, "invalid_body")
		nogrant.persons("--B\r\n", http.Header{"Content-Type": {"multipart/form-data; boundary=B"}}).expectError(t, 415, "unsupported_media")
		do(t, c, "POST", "/api/persons/list", nil, nil).expectError(t, 401, "unauthorized")
		r := nogrant.do("GET", "/api/persons/list", nil)
		r.expectError(t, 405, "method_not_allowed")
		r.wantHeader(t, "Allow", "POST")

		// Another account's persons are its own.
		var other wire.PersonList
		newTenant(t, c).as("pm").persons("", nil).expect(t, 200).json(t, &other)
		if other.Rows[0].FirstName != "pm" {
			t.Fatalf("another account sees %+v", other.Rows[0])
		}
	})
}

func TestConnectorFlexDocument(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []map[string]any{{"id": tn.account,
			"projects": []map[string]any{{"id": projectID, "documents": []map[string]any{
				{"id": docA, "name": `games\sample.wbflex`, "sourceLocale": "en-us", "targetLocales": []string{"DE", "fr-CA"}},
				{"id": 19999, "segments": []int64{27699901}}}}}}}}).expect(t, 200)
		pm, jobber, codyt, nogrant, reader := tn.as("pm"), tn.as("jobber"), tn.as("codyt"), tn.as("nogrant"), tn.as("reader")
		doc := func(s *session, id string) *response {
			t.Helper()
			return s.doH("GET", "/api/apps/wbflex/documents/"+id, http.Header{"Content-Type": {"application/json"}}, nil)
		}

		r := doc(pm, itoa(docA)).expect(t, 200)
		want := `{"id":19641,"dsid":null,"pid":7214,"name":"games\\sample.wbflex","dtchange":null,` +
			`"src":{"v":"en-US","t":"American English"},"trgs":[{"v":"de","t":"German"},{"v":"fr-CA","t":"Canadian French"}],` +
			`"filterName":null,"files":[]}`
		if string(r.body) != want {
			t.Fatalf("documents/%d:\n got %s\nwant %s", docA, r.body, want)
		}
		r.wantHeader(t, "Cache-Control", "private, no-store")
		// A document the catalog names nothing of: src null (never a string), trgs [].
		if r := doc(reader, itoa(docB)).expect(t, 200); string(r.body) !=
			`{"id":19642,"dsid":null,"pid":7214,"name":"","dtchange":null,"src":null,"trgs":[],"filterName":null,"files":[]}` {
			t.Fatalf("documents/%d: %s", docB, r.body)
		}
		// Rights as on the Flex asset routes: a job's documents for its grantee, c{jobId}
		// for a Codyt job.
		doc(jobber, itoa(docA)).expect(t, 200)
		doc(jobber, itoa(docB)).expectError(t, 403, "forbidden")
		var d wire.FlexDocument
		doc(codyt, fmt.Sprintf("c%d", codytJob)).expect(t, 200).json(t, &d)
		if d.ID != docC || d.ProjectID != otherProject {
			t.Fatalf("documents/c%d: %+v", codytJob, d)
		}
		doc(codyt, itoa(docC)).expect(t, 200)
		doc(codyt, itoa(docA)).expectError(t, 403, "forbidden")
		doc(nogrant, itoa(docA)).expectError(t, 403, "forbidden")
		doc(pm, "99999").expectError(t, 404, "scope_not_found")
		doc(pm, "c999").expectError(t, 404, "scope_not_found")
		doc(pm, "x1").reasonNames(t, "invalid_parameter", "id")
		doc(pm, "0").reasonNames(t, "invalid_parameter", "id")
		do(t, c, "GET", "/api/apps/wbflex/documents/"+itoa(docA), nil, nil).expectError(t, 401, "unauthorized")
		r = pm.do("POST", "/api/apps/wbflex/documents/"+itoa(docA), nil)
		r.expectError(t, 405, "method_not_allowed")
		r.wantHeader(t, "Allow", "GET, HEAD")
		// Another account does not know this account's document 19999.
		doc(newTenant(t, c).as("pm"), "19999").expectError(t, 404, "scope_not_found")
	})
}

func TestConnectorFlexList(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []map[string]any{{"id": tn.account,
			"projects": []map[string]any{{"id": projectID, "documents": []map[string]any{
				{"id": docA, "name": `games\sample.wbflex`, "sourceLocale": "en"}}}}}}}).expect(t, 200)
		list := func(s *session, body string) wire.FlexDocumentList {
			t.Helper()
			var l wire.FlexDocumentList
			h := http.Header{"Content-Type": {"application/x-www-form-urlencoded"}}
			var r *response
			if body == "" {
				r = s.doH("POST", "/api/apps/wbflex/list", h, nil)
			} else {
				h.Set("Content-Type", "application/json")
				r = s.doH("POST", "/api/apps/wbflex/list", h, strings.NewReader(body))
			}
			r.expect(t, 200).json(t, &l)
			if l.Count != len(l.Rows) {
				t.Fatalf("count %d, %d rows", l.Count, len(l.Rows))
			}
			return l
		}
		ids := func(l wire.FlexDocumentList) []string {
			out := []string{}
			for _, r := range l.Rows {
				out = append(out, r.ID)
			}
			return out
		}
		l := list(tn.as("pm"), "")
		if l.Total != 3 || !slices.Equal(ids(l), []string{itoa(docA), itoa(docB), itoa(docC)}) {
			t.Fatalf("pm's list: %+v", l)
		}
		a, b := l.Rows[0], l.Rows[1]
		if a.DocumentID != docA || a.ProjectID != projectID || a.Segments != 3 || a.Name != `games\sample.wbflex` ||
			*a.Src != "en" || *a.SrcText != "English" || a.JobID != nil || a.DtChange != nil || b.Src != nil || b.Segments != 2 {
			t.Fatalf("rows %+v, %+v", a, b)
		}
		raw := tn.as("pm").doH("POST", "/api/apps/wbflex/list", nil, strings.NewReader(`{"take":1}`)).expect(t, 200)
		var rows struct {
			Rows []map[string]json.RawMessage `json:"rows"`
		}
		raw.json(t, &rows)
		wantKeys(t, "wbflex/list row", rows.Rows[0], "id", "did", "jid", "name", "src", "srct", "dtchange", "paragraphs",
			"segments", "pid", "connector", "preference", "pstatus", "pstatust", "filterName")
		if string(rows.Rows[0]["id"]) != `"19641"` {
			t.Fatalf("id %s: want a string", rows.Rows[0]["id"])
		}

		for user, want := range map[string][]string{"jobber": {itoa(docA)}, "codyt": {itoa(docC)}, "reader": {itoa(docA), itoa(docB)}, "nogrant": {}} {
			if l := list(tn.as(user), ""); !slices.Equal(ids(l), want) || l.Total != len(want) {
				t.Fatalf("%s's list: %v (total %d), want %v", user, ids(l), l.Total, want)
			}
		}
		if l := list(tn.as("pm"), `{"query":"{name}.Contains(\"SAMPLE\")"}`); !slices.Equal(ids(l), []string{itoa(docA)}) {
			t.Fatalf("query on name: %v", ids(l))
		}
		if l := list(tn.as("pm"), `{"skip":1,"take":1}`); !slices.Equal(ids(l), []string{itoa(docB)}) || l.Total != 3 {
			t.Fatalf("skip 1 take 1: %v (total %d)", ids(l), l.Total)
		}
		tn.as("pm").do("POST", "/api/apps/wbflex/list", strings.NewReader(`{"query":"{firstname}.Contains(\"a\")"}`)).
			reasonNames(t, "invalid_parameter", "query")
	})
}

// Wordbee routes refstore does not serve answer a Wordbee 404 that says so — never a page,
// never an empty body — and known paths with another method a 405 with Allow.
func TestConnectorUnknownRoutes(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		for _, tc := range []struct{ method, path string }{
			{"POST", "/api/orders/list"},
			{"POST", "/api/projects/list"},
			{"GET", "/api/trm/status"},
			{"POST", "/api/apps/wbflex/documents/19641/contents/pull"},
			{"GET", "/api/settings/languages"},
			{"POST", "/api/resources/documents/list"},
		} {
			e := pm.doH(tc.method, tc.path+"?requestid=5", http.Header{"Content-Type": {"application/json"}}, strings.NewReader("{}")).
				expectError(t, 404, "not_found")
			if want := fmt.Sprintf("The route %s %s is not supported by refstore (it serves the segment-asset part of the Wordbee API).",
				tc.method, tc.path); e.Reason != want {
				t.Fatalf("reason %q, want %q", e.Reason, want)
			}
		}
		// A connector URL without /api (the C# connector's base URL must include it).
		pm.do("POST", "/auth/token", strings.NewReader(`{"accountid":"a","key":"b"}`)).expectError(t, 404, "not_found")
	})
}

// Session tokens are GUIDs: any case names the same session, for calls and logout.
func TestConnectorTokenCase(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		pm := newTenant(t, c).as("pm")
		if !upperGUID.MatchString(pm.token) {
			t.Fatalf("token %q is not an upper-case GUID", pm.token)
		}
		upper := pm.token
		for _, tok := range []string{strings.ToLower(upper), strings.ToLower(upper[:13]) + upper[13:]} {
			pm.token = tok
			pm.listAssets("pr7214", segA1)
		}
		pm.token = strings.ToLower(upper)
		pm.do("DELETE", "/api/auth/token", nil).expect(t, 200)
		pm.token = upper
		pm.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expectError(t, 401, "unauthorized")
	})
}

// memories.ai: GET /serve/api/v2/{asset_id}/download with Authorization: <api key>, the
// rights of the key's user, errors in {code,msg,data,success,failed}.
func TestMemoriesDownload(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		data := pngBytes(2000)
		a := tn.as("pm").put("pr7214", segA1, "shot.png", "", "", data)
		path := "/serve/api/v2/" + a.ID + "/download"
		key := func(user string) http.Header { return http.Header{"Authorization": {apiKey(tn.account, user)}} }

		r := do(t, c, "GET", path, key("reader"), nil).expect(t, 200)
		r.wantBody(t, data)
		r.wantHeader(t, "Content-Type", "image/png")
		r.wantHeader(t, "Content-Disposition", `attachment; filename="shot.png"`)
		do(t, c, "HEAD", path, key("pm"), nil).expect(t, 200).wantHeader(t, "Content-Length", itoa(int64(len(data))))
		do(t, c, "GET", path, http.Header{"Authorization": {"Bearer " + apiKey(tn.account, "pm")}}, nil).expect(t, 200).wantBody(t, data)
		r = do(t, c, "GET", path, http.Header{"Authorization": key("pm")["Authorization"], "Range": {"bytes=0-9"}}, nil).expect(t, 206)
		r.wantBody(t, data[:10])

		do(t, c, "GET", path, nil, nil).wantAssetIDError(t, 401, "unauthorized")
		do(t, c, "GET", path, http.Header{"Authorization": {"sk-not-a-key-0123456789"}}, nil).wantAssetIDError(t, 401, "unauthorized")
		// A session is not an API key: the Wordbee headers do not authenticate here.
		pm := tn.as("pm")
		do(t, c, "GET", path, pm.headers(), nil).wantAssetIDError(t, 401, "unauthorized")
		do(t, c, "GET", path, key("nogrant"), nil).wantAssetIDError(t, 403, "forbidden")
		do(t, c, "GET", path, key("codyt"), nil).wantAssetIDError(t, 403, "forbidden")
		do(t, c, "GET", "/serve/api/v2/re_1/download", key("pm"), nil).wantAssetIDError(t, 404, "asset_not_found")
		r = do(t, c, "GET", "/serve/api/v2/nope/download", key("pm"), nil)
		r.wantAssetIDError(t, 400, "invalid_parameter")
		if !strings.Contains(string(r.body), "asset_id") {
			t.Fatalf("400 does not name asset_id: %s", r.body)
		}
		do(t, c, "GET", path, http.Header{"Authorization": key("pm")["Authorization"], "Range": {"bytes=5000-"}}, nil).
			wantAssetIDError(t, 416, "range_not_satisfiable")
		// Another account's key does not reach this account's asset (ids are per account).
		other := newTenant(t, c)
		do(t, c, "GET", path, http.Header{"Authorization": {apiKey(other.account, "pm")}}, nil).wantAssetIDError(t, 404, "asset_not_found")

		// The rest of memories.ai's API is not served, in its envelope.
		do(t, c, "POST", "/serve/api/v2/upload", key("pm"), nil).wantAssetIDError(t, 404, "not_found")
		do(t, c, "GET", "/serve/api/v2/"+a.ID+"/metadata", key("pm"), nil).wantAssetIDError(t, 404, "not_found")
		do(t, c, "GET", "/serve/api/v2", key("pm"), nil).wantAssetIDError(t, 404, "not_found")
		r = do(t, c, "DELETE", path, key("pm"), nil)
		r.wantAssetIDError(t, 405, "method_not_allowed")
		r.wantHeader(t, "Allow", "GET, HEAD")

		// Same rate limit as the key's sessions: the account allows 3 requests per window,
		// counted exactly on one node (how nodes share counts: TestRateLimit* and docs).
		if c.backend.name == "embedded" {
			admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []map[string]any{{"id": tn.account, "rateLimit": 3}}}).expect(t, 200)
			up := tn.as("uploader")
			up.listAssets("pr7214", segA1)
			do(t, c, "GET", path, key("uploader"), nil).expect(t, 200)
			up.listAssets("pr7214", segA1)
			r = do(t, c, "GET", path, key("uploader"), nil)
			r.wantAssetIDError(t, 429, "rate_limited")
			if r.Header.Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
			up.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil).expect(t, 429)
			do(t, c, "GET", path, key("reader"), nil).expect(t, 200) // another key, its own count
			admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []map[string]any{{"id": tn.account, "rateLimit": -1}}}).expect(t, 200)
		}

		// A revoked key stops at once.
		var keys []wire.Key
		admin(t, c, "GET", "/admin/v1/accounts/"+tn.account+"/users/2/keys", nil).expect(t, 200).json(t, &keys)
		admin(t, c, "DELETE", "/admin/v1/accounts/"+tn.account+"/users/2/keys/"+keys[0].ID, nil).expect(t, 204)
		do(t, c, "GET", path, key("reader"), nil).wantAssetIDError(t, 401, "unauthorized")
	})
}
