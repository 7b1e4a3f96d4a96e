package sqlstore

import (
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/testenv"
)

// The audit log on both engines: rows commit with their mutation or not at all.
func TestAuditSQLite(t *testing.T) {
	testAudit(t, func(t *testing.T) *Store { return openSQLiteFile(t, filepath.Join(t.TempDir(), "meta.db")) })
}

func TestAuditPostgreSQL(t *testing.T) {
	testAudit(t, func(t *testing.T) *Store { return openPostgresDB(t, testenv.Postgres(t)) })
}

func testAudit(t *testing.T, open func(t *testing.T) *Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *Store)
	}{
		{"RolledBackMutationLeavesNoRow", testAuditRollback},
		{"FailedRowRollsBackMutation", testAuditRowFailure},
		{"GroupCommit", testAuditGroupCommit},
		{"Mutations", testAuditMutations},
		{"Import", testAuditImport},
		{"NoEventNoRow", testAuditNoEvent},
		{"FilterPageAndPrune", testAuditFilterPage},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

func auditEv(action refstore.AuditAction, requestID string) *refstore.AuditEvent {
	return &refstore.AuditEvent{Actor: refstore.ActorAdmin, Action: action, RequestID: requestID}
}

func auditRows(t *testing.T, s *Store, f refstore.AuditFilter) []refstore.AuditEvent {
	t.Helper()
	if f.Limit == 0 {
		f.Limit = 1000
	}
	evs, err := s.AuditLog(t.Context(), f)
	if err != nil {
		t.Fatalf("AuditLog(%+v): %v", f, err)
	}
	return evs
}

// A catalog upsert whose second account fails rolls back the first account's row with
// everything else, although that row was written before the failure.
func testAuditRollback(t *testing.T, s *Store) {
	good := refstore.CatalogAccount{ID: "good", Users: []refstore.CatalogUser{{ID: 1}}}
	bad := refstore.CatalogAccount{ID: "bad", Jobs: []refstore.CatalogJob{{ID: 1, ProjectID: 99}}} // unknown project
	err := s.UpsertCatalog(t.Context(), &refstore.Catalog{Accounts: []refstore.CatalogAccount{good, bad}}, nil,
		auditEv(refstore.AuditCatalogUpsert, "r1"))
	wantCode(t, err, refstore.CodeInvalidBody)
	if rows := auditRows(t, s, refstore.AuditFilter{}); len(rows) != 0 {
		t.Fatalf("a rolled-back upsert left audit rows: %+v", rows)
	}
	if ids, _ := s.Accounts(t.Context()); len(ids) != 0 {
		t.Fatalf("a rolled-back upsert left accounts %v", ids)
	}
	// Mutations refused inside their transaction leave no row either.
	loadCatalog(t, s)
	before := len(auditRows(t, s, refstore.AuditFilter{}))
	u := upload(t, s, "acme", 1, "x")
	mustAttach(t, s, u, 1001, addr("", "a", "f.txt"))
	u2 := upload(t, s, "acme", 1, "y")
	_, _, err = s.Attach(t.Context(), refstore.AttachParams{Account: "acme", UserID: 1,
		UploadHash: u2.TokenHash, Segment: segment(t, s, "acme", 1001), Address: addr("", "a/f.txt", "g"), Now: t0, NewID: 77,
		Audit: auditEv(refstore.AuditAttach, "r2")})
	wantCode(t, err, refstore.CodeConflict)
	_, err = s.RemoveEntry(t.Context(), refstore.Entry{Kind: refstore.EntryProject, Account: "acme", ID: 999},
		auditEv(refstore.AuditEntryRemove, "r3"))
	wantCode(t, err, refstore.CodeNotFound)
	err = s.RevokeAPIKey(t.Context(), "acme", 1, "k_nope", auditEv(refstore.AuditKeyRevoke, "r4"))
	wantCode(t, err, refstore.CodeNotFound)
	if rows := auditRows(t, s, refstore.AuditFilter{}); len(rows) != before {
		t.Fatalf("refused mutations left %d audit rows", len(rows)-before)
	}
}

// A row that cannot be written fails its mutation: nothing commits without its row.
func testAuditRowFailure(t *testing.T, s *Store) {
	loadCatalog(t, s)
	taken := &refstore.AuditEvent{ID: 4242, Account: "acme", Action: refstore.AuditUpload}
	if err := s.RecordAudit(t.Context(), taken); err != nil {
		t.Fatal(err)
	}
	u := upload(t, s, "acme", 1, "z")
	_, _, err := s.Attach(t.Context(), refstore.AttachParams{Account: "acme", UserID: 1, UploadHash: u.TokenHash,
		Segment: segment(t, s, "acme", 1001), Address: addr("", "", "dup.txt"), Now: t0, NewID: 88,
		Audit: &refstore.AuditEvent{ID: 4242, Account: "acme", Action: refstore.AuditAttach}})
	if err == nil {
		t.Fatal("Attach committed although its audit row could not be written")
	}
	if as := listAssets(t, s, "acme", 1001); len(as) != 0 {
		t.Fatalf("the attach without its row left assets %v", paths(as))
	}
}

// Concurrent writers share transactions on SQLite (group commit): each caller's row
// commits with its own work, and a failing caller takes only its own row with it.
func testAuditGroupCommit(t *testing.T, s *Store) {
	const n = 40
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Go(func() {
			a := refstore.CatalogAccount{ID: fmt.Sprintf("g%02d", i), Users: []refstore.CatalogUser{{ID: 1}}}
			if i%2 == 1 {
				a.Grants = []refstore.CatalogGrant{{UserID: 9, ProjectID: 1, Rights: []string{"read"}}} // unknown user
			}
			errs[i] = s.UpsertCatalog(t.Context(), &refstore.Catalog{Accounts: []refstore.CatalogAccount{a}}, nil,
				auditEv(refstore.AuditCatalogUpsert, fmt.Sprintf("req-%d", i)))
		})
	}
	wg.Wait()
	rows := auditRows(t, s, refstore.AuditFilter{})
	got := map[string]string{}
	for _, r := range rows {
		got[r.Account] = r.RequestID
	}
	for i := range n {
		account := fmt.Sprintf("g%02d", i)
		if i%2 == 1 {
			wantCode(t, errs[i], refstore.CodeInvalidBody)
			if _, ok := got[account]; ok {
				t.Errorf("the failed upsert of %s left an audit row", account)
			}
			continue
		}
		if errs[i] != nil {
			t.Fatalf("upsert %d: %v", i, errs[i])
		}
		if got[account] != fmt.Sprintf("req-%d", i) {
			t.Errorf("account %s: audit row with request id %q", account, got[account])
		}
	}
	if len(rows) != n/2 {
		t.Fatalf("%d audit rows, want %d", len(rows), n/2)
	}
}

// Each mutation completes its row with what only the store knows.
func testAuditMutations(t *testing.T, s *Store) {
	ctx := t.Context()
	key := refstore.APIKey{ID: "k_1", Hash: hex32(), Account: "acme", UserID: 1, Created: t0}
	if err := s.UpsertCatalog(ctx, fixture(), []refstore.APIKey{key}, auditEv(refstore.AuditCatalogUpsert, "cat")); err != nil {
		t.Fatal(err)
	}
	rows := auditRows(t, s, refstore.AuditFilter{})
	if len(rows) != 2 {
		t.Fatalf("catalog upsert of 2 accounts: %d rows", len(rows))
	}
	for _, r := range rows {
		if r.Action != refstore.AuditCatalogUpsert || r.RequestID != "cat" || r.Outcome != refstore.AuditOutcomeOK {
			t.Fatalf("catalog row %+v", r)
		}
		want := "users=1 projects=1 documents=1 segments=1 jobs=1 grants=1 keys=0"
		if r.Account == "acme" {
			want = "users=4 projects=2 documents=4 segments=5 jobs=4 grants=5 keys=1"
		}
		if r.Detail != want || r.Target != "account "+r.Account {
			t.Fatalf("catalog row of %s: target %q detail %q, want %q", r.Account, r.Target, r.Detail, want)
		}
	}

	user := func(action refstore.AuditAction) *refstore.AuditEvent {
		return &refstore.AuditEvent{Account: "acme", Actor: refstore.ActorUser, UserID: 1, Action: action, RequestID: string(action)}
	}
	sess := refstore.Session{Hash: hex32(), Account: "acme", UserID: 1, KeyHash: key.Hash, Created: t0, LastUsed: t0}
	if err := s.CreateSession(ctx, sess, user(refstore.AuditTokenIssue)); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, sess.Hash, user(refstore.AuditTokenRevoke)); err != nil {
		t.Fatal(err)
	}
	// Ending a session that is already gone changes nothing and records nothing.
	if err := s.DeleteSession(ctx, sess.Hash, user(refstore.AuditTokenRevoke)); err != nil {
		t.Fatal(err)
	}
	u := &refstore.Upload{TokenHash: hex32(), Account: "acme", UserID: 1, Name: "a.txt", Size: 1, SHA256: sha("a"),
		ContentType: "text/plain", Created: t0, Expires: t0.Add(time.Hour), BlobKey: hex32()}
	if _, err := s.CreateUpload(ctx, u, user(refstore.AuditUpload)); err != nil {
		t.Fatal(err)
	}
	attach := func(hash string) *refstore.Asset {
		a, _, err := s.Attach(ctx, refstore.AttachParams{Account: "acme", UserID: 1, UploadHash: hash,
			Segment: segment(t, s, "acme", 1001), Address: addr("en", "", "a.txt"), Now: t0, NewID: 5001,
			Audit: user(refstore.AuditAttach)})
		if err != nil {
			t.Fatal(err)
		}
		return a
	}
	a := attach(u.TokenHash)
	attach(u.TokenHash) // the same address again: an overwrite
	if _, err := s.DeleteAssets(ctx, "acme", 1001, &a.Address, user(refstore.AuditDelete)); err != nil {
		t.Fatal(err)
	}
	attach(u.TokenHash)
	if _, err := s.DeleteAssets(ctx, "acme", 1001, nil, user(refstore.AuditDeleteAll)); err != nil {
		t.Fatal(err)
	}

	rows = auditRows(t, s, refstore.AuditFilter{Account: "acme"})
	var got []string
	for i := len(rows) - 1; i >= 0; i-- { // oldest first
		r := rows[i]
		got = append(got, fmt.Sprintf("%s target=%q asset=%d count=%d", r.Action, r.Target, r.AssetID, r.Count))
	}
	want := []string{
		`catalog.upsert target="account acme" asset=0 count=0`,
		`token.issue target="key k_1" asset=0 count=0`,
		`token.revoke target="key k_1" asset=0 count=0`,
		`media.upload target="" asset=0 count=0`,
		`asset.attach target="" asset=5001 count=0`,
		`asset.overwrite target="" asset=5001 count=0`,
		`asset.delete target="" asset=5001 count=1`,
		`asset.attach target="" asset=5001 count=0`,
		`asset.delete_all target="" asset=0 count=1`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if d := rows[3].Detail; !strings.HasPrefix(d, `size=1 type="text/plain" sha256=`) {
		t.Fatalf("overwrite detail %q", d)
	}
}

// An imported asset's row names it, and the asset it replaced at its address.
func testAuditImport(t *testing.T, s *Store) {
	loadCatalog(t, s)
	ctx, ev := t.Context(), &refstore.AuditEvent{Account: "acme", Action: refstore.AuditImport}
	first := imported(7001, 1001, addr("", "", "a.png"), "one")
	if _, _, err := s.ImportAsset(ctx, first, ev); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.ImportAsset(ctx, imported(7002, 1001, addr("", "", "a.png"), "two"), ev); err != nil {
		t.Fatal(err)
	}
	rows := auditRows(t, s, refstore.AuditFilter{Account: "acme"}) // loadCatalog carried no event
	if len(rows) != 2 {
		t.Fatalf("%d rows, want 2", len(rows))
	}
	second, firstRow := rows[0], rows[1]
	if firstRow.AssetID != 7001 || second.AssetID != 7002 || firstRow.Action != refstore.AuditImport {
		t.Fatalf("rows %+v", rows)
	}
	if strings.Contains(firstRow.Detail, "replaced=") || !strings.HasSuffix(second.Detail, " replaced=re_7001") {
		t.Fatalf("details %q and %q", firstRow.Detail, second.Detail)
	}
}

// The sweeper's and recovery's mutations carry no event: they record nothing.
func testAuditNoEvent(t *testing.T, s *Store) {
	loadCatalog(t, s)
	u := upload(t, s, "acme", 1, "x", expires(t0.Add(time.Minute)))
	mustAttach(t, s, u, 1001, addr("", "", "x.txt"))
	if _, err := s.DeleteAssets(t.Context(), "acme", 1001, nil, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteExpiredUploads(t.Context(), t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CollectGarbage(t.Context(), nil, t0.Add(time.Hour), 0); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteSessionsIdleSince(t.Context(), t0); err != nil {
		t.Fatal(err)
	}
	if rows := auditRows(t, s, refstore.AuditFilter{}); len(rows) != 0 {
		t.Fatalf("mutations without an event recorded %+v", rows)
	}
}

// Filters by account, project and time, pages that continue exactly, and pruning.
func testAuditFilterPage(t *testing.T, s *Store) {
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 30 {
		ev := &refstore.AuditEvent{Time: base.Add(time.Duration(i/2) * time.Second), // pairs share a time
			Account: []string{"a", "b"}[i%2], ProjectID: int64(1 + i%3), Action: refstore.AuditUpload, Target: fmt.Sprint(i)}
		if err := s.RecordAudit(t.Context(), ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(auditRows(t, s, refstore.AuditFilter{Account: "a"})); n != 15 {
		t.Fatalf("account a: %d rows", n)
	}
	for _, r := range auditRows(t, s, refstore.AuditFilter{Account: "b", ProjectID: 2}) {
		if r.Account != "b" || r.ProjectID != 2 {
			t.Fatalf("filter b/2 returned %+v", r)
		}
	}
	if n := len(auditRows(t, s, refstore.AuditFilter{Since: base.Add(5 * time.Second), Until: base.Add(10 * time.Second)})); n != 10 {
		t.Fatalf("5s..10s: %d rows, want 10", n)
	}
	// Pages of 4 (cutting through rows of equal time) visit every row once, newest first.
	seen := map[string]bool{}
	var after *refstore.AuditPosition
	var last time.Time
	for page := 0; ; page++ {
		rows := auditRows(t, s, refstore.AuditFilter{Limit: 4, After: after})
		if len(rows) == 0 {
			break
		}
		for _, r := range rows {
			if seen[r.Target] {
				t.Fatalf("row %s listed twice", r.Target)
			}
			if !last.IsZero() && r.Time.After(last) {
				t.Fatalf("row %s out of order", r.Target)
			}
			seen[r.Target], last = true, r.Time
		}
		end := rows[len(rows)-1]
		after = &refstore.AuditPosition{Time: end.Time, ID: end.ID}
	}
	if len(seen) != 30 {
		t.Fatalf("paging saw %d rows, want 30", len(seen))
	}
	n, err := s.PruneAudit(t.Context(), base.Add(10*time.Second))
	if err != nil || n != 20 {
		t.Fatalf("PruneAudit = %d, %v; want 20", n, err)
	}
	if n := len(auditRows(t, s, refstore.AuditFilter{})); n != 10 {
		t.Fatalf("%d rows after pruning, want 10", n)
	}
}
