package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// auditPage reads one page of the audit log with the given query.
func auditPage(t testing.TB, c *cluster, q url.Values) wire.AuditPage {
	t.Helper()
	var p wire.AuditPage
	admin(t, c, "GET", "/admin/v1/audit?"+q.Encode(), nil).expect(t, 200).json(t, &p)
	return p
}

// auditAll reads every row the query selects, following next, oldest first.
func auditAll(t testing.TB, c *cluster, q url.Values) []wire.AuditEvent {
	t.Helper()
	var rows []wire.AuditEvent
	for {
		p := auditPage(t, c, q)
		rows = append(rows, p.Events...)
		if p.Next == nil {
			break
		}
		q.Set("after", *p.Next)
	}
	for i, j := 0, len(rows)-1; i < j; i, j = i+1, j-1 {
		rows[i], rows[j] = rows[j], rows[i]
	}
	return rows
}

// auditBackends are the backends the audit tests run on: the embedded default and two
// nodes sharing PostgreSQL (each request goes to the other node).
func auditBackends(t *testing.T, f func(t *testing.T, c *cluster)) {
	for _, b := range backends[:2] {
		t.Run(b.name, func(t *testing.T) { f(t, sharedCluster(t, b)) })
	}
}

// wantRow is what a test expects of an audit row; zero fields are not checked, except
// that the request id must always be the one of the response.
type wantRow struct {
	action, actor, target, outcome string
	detail                         string // a part of the detail
	user, project, document, seg   int64
	assetID                        string
	count                          int64
	requestID                      string
}

// Every kind of mutation through the API leaves one row naming who did what, where, and
// in which request; refusals are recorded with their code.
func TestAuditMutations(t *testing.T) {
	auditBackends(t, func(t *testing.T, c *cluster) {
		var want []wantRow
		rid := func(r *response) string {
			id := r.Header.Get("X-Request-Id")
			if id == "" {
				t.Fatalf("%s %s: no X-Request-Id", r.Request.Method, r.Request.URL)
			}
			return id
		}
		account := newTenantID()
		r := admin(t, c, "PUT", "/admin/v1/catalog", fixtureCatalog(account)).expect(t, 200)
		want = append(want, wantRow{action: "catalog.upsert", actor: "admin", target: "account " + account,
			detail: "users=7 projects=2 documents=3 segments=7 jobs=2 grants=7 keys=7", requestID: rid(r)})
		tn := &tenant{t: t, c: c, account: account}

		// Login with a request id of the client's own: it is kept.
		r = do(t, c, "POST", "/api/auth/token", http.Header{"X-Request-Id": {"client-" + account}},
			jsonBody(map[string]string{"accountid": account, "key": apiKey(account, "pm")})).expect(t, 200)
		var token string
		r.json(t, &token)
		pm := &session{t: t, c: c, account: account, token: token}
		want = append(want, wantRow{action: "token.issue", actor: "user", user: 1, target: "key k_", requestID: "client-" + account})
		if rid(r) != "client-"+account {
			t.Fatalf("X-Request-Id %q, want the client's", rid(r))
		}

		r = pm.uploadResp("docs/spec.txt", "", []byte("hello"))
		ftoken, _ := r.uploadResult(t)
		want = append(want, wantRow{action: "media.upload", actor: "user", user: 1, target: "docs/spec.txt",
			detail:    `size=5 type="text/plain; charset=utf-8" sha256=2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824`,
			requestID: rid(r)})

		r = pm.attach("pr7214", segA1, map[string]string{"filetoken": ftoken, "locale": "en"}).expect(t, 200)
		var a wire.Asset
		r.json(t, &a)
		want = append(want, wantRow{action: "asset.attach", actor: "user", user: 1, target: "en/docs/spec.txt",
			detail: "scope=pr7214 size=5 ", project: projectID, document: docA, seg: segA1, assetID: a.ID, requestID: rid(r)})

		r = pm.attach("pr7214", segA1, map[string]string{"filetoken": ftoken, "locale": "en"}).expect(t, 200)
		want = append(want, wantRow{action: "asset.overwrite", actor: "user", user: 1, target: "en/docs/spec.txt",
			project: projectID, document: docA, seg: segA1, assetID: a.ID, requestID: rid(r)})

		// Refused: the reader has no upload right; the nogrant user does not even see it.
		reader := tn.as("reader")
		want = append(want, wantRow{action: "token.issue", actor: "user", user: 2})
		rtoken := reader.upload("x.txt", []byte("x"))
		want = append(want, wantRow{action: "media.upload", actor: "user", user: 2, target: "x.txt"})
		r = reader.attach("pr7214", segA2, map[string]string{"filetoken": rtoken})
		r.expectError(t, 403, "forbidden")
		want = append(want, wantRow{action: "asset.attach", actor: "user", user: 2, project: projectID, seg: segA2,
			outcome: "forbidden", requestID: rid(r)})
		r = reader.do("DELETE", segPath(segA1, "scope", "pr7214"), nil)
		r.expectError(t, 403, "forbidden")
		want = append(want, wantRow{action: "asset.delete_all", actor: "user", user: 2, project: projectID, seg: segA1,
			outcome: "forbidden", requestID: rid(r)})
		r = pm.attach("pr7214", segA2, map[string]string{"filetoken": strings.Repeat("0", 32)})
		r.expectError(t, 404, "file_token_invalid")
		want = append(want, wantRow{action: "asset.attach", actor: "user", user: 1, project: projectID, document: docA,
			seg: segA2, outcome: "file_token_invalid", requestID: rid(r)})

		r = pm.do("DELETE", segPath(segA1, "scope", "pr7214", "locale", "en", "filename", "spec.txt", "relativePath", "docs"), nil).expect(t, 200)
		want = append(want, wantRow{action: "asset.delete", actor: "user", user: 1, target: "en/docs/spec.txt",
			project: projectID, document: docA, seg: segA1, assetID: a.ID, count: 1, requestID: rid(r)})

		pm.put("pr7214", segA3, "one.txt", "", "", []byte("1"))
		pm.put("pr7214", segA3, "two.txt", "", "", []byte("2"))
		for range 2 {
			want = append(want, wantRow{action: "media.upload", actor: "user", user: 1},
				wantRow{action: "asset.attach", actor: "user", user: 1, project: projectID, document: docA, seg: segA3})
		}
		r = pm.do("DELETE", segPath(segA3, "scope", "pr7214"), nil).expect(t, 200)
		want = append(want, wantRow{action: "asset.delete_all", actor: "user", user: 1, project: projectID, document: docA,
			seg: segA3, count: 2, requestID: rid(r)})

		base := "/admin/v1/accounts/" + account
		r = admin(t, c, "POST", base+"/users/3/keys", nil).expect(t, 200)
		var key wire.Key
		r.json(t, &key)
		want = append(want, wantRow{action: "key.issue", actor: "admin", target: "user 3 key " + key.ID, requestID: rid(r)})
		r = admin(t, c, "DELETE", base+"/users/3/keys/"+key.ID, nil).expect(t, 204)
		want = append(want, wantRow{action: "key.revoke", actor: "admin", target: "user 3 key " + key.ID, requestID: rid(r)})
		r = admin(t, c, "DELETE", base+"/users/7/grants/pr7214", nil).expect(t, 204)
		want = append(want, wantRow{action: "grant.revoke", actor: "admin", target: "user 7 grant pr7214",
			project: projectID, requestID: rid(r)})
		r = admin(t, c, "DELETE", base+"/segments/"+itoa(segB2), nil).expect(t, 204)
		want = append(want, wantRow{action: "catalog.remove", actor: "admin", target: "segment " + itoa(segB2),
			project: projectID, document: docB, seg: segB2, requestID: rid(r)})

		r = pm.do("DELETE", "/api/auth/token", nil).expect(t, 200)
		want = append(want, wantRow{action: "token.revoke", actor: "user", user: 1, target: "key k_", requestID: rid(r)})

		rows := auditAll(t, c, url.Values{"account": {account}, "limit": {"7"}})
		if len(rows) != len(want) {
			var got []string
			for _, row := range rows {
				got = append(got, row.Action+" "+row.Target+" "+row.Outcome)
			}
			t.Fatalf("%d audit rows, want %d:\n%s", len(rows), len(want), strings.Join(got, "\n"))
		}
		for i, w := range want {
			checkAuditRow(t, i, rows[i], w, account)
		}
	})
}

func checkAuditRow(t *testing.T, i int, got wire.AuditEvent, w wantRow, account string) {
	t.Helper()
	bad := func(field string, g, x any) {
		t.Fatalf("row %d (%s): %s = %v, want %v; row %+v", i, w.action, field, g, x, got)
	}
	if got.Action != w.action {
		bad("action", got.Action, w.action)
	}
	if got.Account != account {
		bad("account", got.Account, account)
	}
	if got.Actor != w.actor {
		bad("actor", got.Actor, w.actor)
	}
	if got.UserID != w.user {
		bad("userId", got.UserID, w.user)
	}
	outcome := w.outcome
	if outcome == "" {
		outcome = "ok"
	}
	if got.Outcome != outcome {
		bad("outcome", got.Outcome, outcome)
	}
	if w.target != "" && !strings.HasPrefix(got.Target, w.target) {
		bad("target", got.Target, w.target+"…")
	}
	if !strings.Contains(got.Detail, w.detail) {
		bad("detail", got.Detail, "…"+w.detail+"…")
	}
	if w.requestID != "" && got.RequestID != w.requestID {
		bad("requestId", got.RequestID, w.requestID)
	}
	if got.RequestID == "" {
		bad("requestId", `""`, "the request's id")
	}
	for _, f := range []struct {
		name      string
		got, want int64
	}{{"projectId", got.ProjectID, w.project}, {"documentId", got.DocumentID, w.document},
		{"segmentId", got.SegmentID, w.seg}, {"count", got.Count, w.count}} {
		if f.want != 0 && f.got != f.want {
			bad(f.name, f.got, f.want)
		}
	}
	if w.assetID != "" && (got.AssetID == nil || *got.AssetID != w.assetID) {
		bad("assetId", got.AssetID, w.assetID)
	}
	if _, err := time.Parse(time.RFC3339Nano, got.Time); err != nil {
		bad("time", got.Time, "RFC 3339")
	}
}

// newTenantID draws a fresh account id (newTenant also loads the catalog).
func newTenantID() string { return "t" + fmt.Sprintf("%x", randomBytes(6)) }

// Filters by account (no tenant sees another's rows), project and time, paging with
// next, and parameters that are refused with their name.
func TestAuditFilters(t *testing.T) {
	auditBackends(t, func(t *testing.T, c *cluster) {
		a, b := newTenant(t, c), newTenant(t, c)
		for _, tn := range []*tenant{a, b} {
			pm := tn.as("pm")
			pm.put("pr7214", segA1, "p.txt", "", "", []byte("p"))
			pm.put("pr7300", segC1, "o.txt", "", "", []byte("o"))
		}
		rowsA := auditAll(t, c, url.Values{"account": {a.account}})
		rowsB := auditAll(t, c, url.Values{"account": {b.account}})
		// catalog.upsert, token.issue, then (upload, attach) twice.
		if len(rowsA) != 6 || len(rowsB) != 6 {
			t.Fatalf("%d and %d rows, want 6 each", len(rowsA), len(rowsB))
		}
		idsB := map[string]bool{}
		for _, r := range rowsB {
			idsB[r.ID] = true
			if r.Account != b.account {
				t.Fatalf("account filter %s returned a row of %s", b.account, r.Account)
			}
		}
		for _, r := range rowsA {
			if r.Account != a.account || idsB[r.ID] {
				t.Fatalf("account filter %s returned a row of %s", a.account, r.Account)
			}
		}

		proj := auditAll(t, c, url.Values{"account": {a.account}, "project": {"7300"}})
		if len(proj) != 1 || proj[0].Action != "asset.attach" || proj[0].SegmentID != segC1 {
			t.Fatalf("project 7300 of %s: %+v", a.account, proj)
		}

		// since is inclusive, until exclusive: the two attaches and the upload between.
		since, until := rowsA[3].Time, rowsA[5].Time
		win := auditAll(t, c, url.Values{"account": {a.account}, "since": {since}, "until": {until}})
		if len(win) != 2 || win[0].ID != rowsA[3].ID || win[1].ID != rowsA[4].ID {
			t.Fatalf("since %s until %s: %+v", since, until, win)
		}
		if after := auditAll(t, c, url.Values{"account": {a.account}, "since": {rowsA[5].Time}}); len(after) != 1 {
			t.Fatalf("since the last row: %d rows", len(after))
		}

		// Pages of one: next is null exactly on the last page, and every row comes once.
		q := url.Values{"account": {a.account}, "limit": {"1"}}
		var pages int
		for {
			p := auditPage(t, c, q)
			pages++
			if len(p.Events) != 1 || p.Events[0].ID != rowsA[len(rowsA)-pages].ID {
				t.Fatalf("page %d: %+v", pages, p.Events)
			}
			if p.Next == nil {
				break
			}
			q.Set("after", *p.Next)
		}
		if pages != 6 {
			t.Fatalf("%d pages of one row, want 6", pages)
		}

		for _, bad := range []struct{ query, param string }{
			{"since=yesterday", "since"},
			{"until=2026-01-02", "until"},
			{"limit=0", "limit"},
			{"limit=1001", "limit"},
			{"limit=ten", "limit"},
			{"after=not-a-cursor", "after"},
			{"after=" + url.QueryEscape("bm9wZQ"), "after"},
			{"project=-3", "project"},
			{"account=" + url.QueryEscape("../x"), "account"},
		} {
			admin(t, c, "GET", "/admin/v1/audit?"+bad.query, nil).reasonNames(t, "invalid_parameter", bad.param)
		}
		do(t, c, "GET", "/admin/v1/audit", nil, nil).expectError(t, 401, "unauthorized")
		pm := a.as("pm")
		pm.do("GET", "/admin/v1/audit?account="+a.account, nil).expectError(t, 401, "unauthorized")
	})
}

// The sweeper removes rows older than --audit-retention and keeps the newer ones; 0 keeps
// them all; a negative retention is refused at start.
func TestAuditRetention(t *testing.T) {
	c := startCluster(t, backends[0], "--audit-retention", "3s", "--sweep-interval", "200ms")
	old := newTenant(t, c)
	if n := len(auditAll(t, c, url.Values{"account": {old.account}})); n != 1 {
		t.Fatalf("%d rows after the catalog upsert, want 1", n)
	}
	// Once the row is older than the retention, one sweep (driven and awaited) prunes it.
	time.Sleep(3*time.Second + 100*time.Millisecond)
	crSweep(t, c)
	if n := len(auditAll(t, c, url.Values{"account": {old.account}})); n != 0 {
		t.Fatalf("%d rows older than the retention after a sweep", n)
	}
	fresh := newTenant(t, c)
	if n := len(auditAll(t, c, url.Values{"account": {fresh.account}})); n != 1 {
		t.Fatalf("a fresh row was pruned: %d rows", n)
	}

	keep := startCluster(t, backends[0], "--audit-retention", "0", "--sweep-interval", "100ms")
	tn := newTenant(t, keep)
	crSweep(t, keep)
	if n := len(auditAll(t, keep, url.Values{"account": {tn.account}})); n != 1 {
		t.Fatalf("--audit-retention 0 pruned: %d rows", n)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binPath, "serve", "--addr", "127.0.0.1:0", "--data", t.TempDir(),
		"--audit-retention", "-1h").CombinedOutput()
	if err == nil || !strings.Contains(string(out), "--audit-retention") {
		t.Fatalf("a negative retention: err %v, output %s", err, out)
	}
}
