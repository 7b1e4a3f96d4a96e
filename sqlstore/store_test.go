package sqlstore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore"
)

// TestSQLite runs the engine-neutral suite on a fresh SQLite file per subtest.
func TestSQLite(t *testing.T) {
	testStore(t, func(t *testing.T) *Store {
		return openSQLiteFile(t, filepath.Join(t.TempDir(), "meta.db"))
	})
}

func openSQLiteFile(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(context.Background(), "sqlite:"+path)
	if err != nil {
		t.Fatalf("Open(sqlite:%s): %v", path, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestSQLiteReopen opens the same file twice: the second Open finds the schema migrated
// and must neither fail nor lose data.
func TestSQLiteReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "meta.db")
	s, err := Open(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	loadCatalog(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openSQLiteFile(t, path)
	if err := s.Ping(t.Context()); err != nil {
		t.Fatalf("Ping after reopening: %v", err)
	}
	got, err := s.AccountCatalog(t.Context(), "acme")
	if err != nil {
		t.Fatalf("AccountCatalog after reopening: %v", err)
	}
	if want := expectedAcme(); !reflect.DeepEqual(got, want) {
		t.Fatalf("catalog after reopening:\n got %+v\nwant %+v", got, want)
	}
	// And a third time while the second is still open (read-only use by a tool).
	third := openSQLiteFile(t, path)
	if ids, err := third.Accounts(t.Context()); err != nil || !slices.Equal(ids, []string{"acme", "other"}) {
		t.Fatalf("Accounts from a second handle: %v, %v", ids, err)
	}
}

func TestOpenURL(t *testing.T) {
	for _, u := range []string{"", "sqlite:", "nope", "mysql:x", "postgres-ish"} {
		if s, err := Open(t.Context(), u); err == nil {
			s.Close()
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

// testStore is the behaviour every engine must show. It only uses the store's methods, so
// that the same suite runs on SQLite and PostgreSQL.
func testStore(t *testing.T, open func(t *testing.T) *Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s *Store)
	}{
		{"Ping", testPing},
		{"CatalogRoundTrip", testCatalogRoundTrip},
		{"CatalogIdempotent", testCatalogIdempotent},
		{"CatalogKeepsNames", testCatalogKeepsNames},
		{"CatalogJobDocumentsReplaced", testCatalogJobDocumentsReplaced},
		{"CatalogBadReferences", testCatalogBadReferences},
		{"CatalogMoves", testCatalogMoves},
		{"RemoveEntry", testRemoveEntry},
		{"RemoveEntryNotFound", testRemoveEntryNotFound},
		{"RemoveAccount", testRemoveAccount},
		{"APIKeys", testAPIKeys},
		{"Sessions", testSessions},
		{"Access", testAccess},
		{"Segments", testSegments},
		{"Uploads", testUploads},
		{"Attach", testAttach},
		{"AttachErrors", testAttachErrors},
		{"SegmentAssetsOrder", testSegmentAssetsOrder},
		{"DeleteAssets", testDeleteAssets},
		{"CollectGarbage", testCollectGarbage},
		{"CollectGarbageGrace", testCollectGarbageGrace},
		{"UnreferencingWritesMark", testUnreferencingWritesMark},
		{"ConcurrentWrites", testConcurrentWrites},
		{"DeleteExpiredUploads", testDeleteExpiredUploads},
		{"AssetSegments", testAssetSegments},
		{"AccountAPIKeys", testAccountAPIKeys},
		{"ContentBlob", testContentBlob},
		{"ImportAsset", testImportAsset},
		{"ImportAssetErrors", testImportAssetErrors},
		{"AccountCatalogConsistent", testAccountCatalogConsistent},
		{"CatalogConnectorFields", testCatalogConnectorFields},
		{"ConnectorReads", testConnectorReads},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

// --- fixture ---------------------------------------------------------------------------

// t0 is the suite's clock; stored times keep milliseconds, asset dates 100 ns ticks.
var t0 = time.Date(2025, 7, 27, 15, 58, 33, 899998300, time.UTC)

// The fixture: account acme with two projects, jobs of both kinds (standard 50 and Codyt 50
// share an id), and account other that reuses acme's ids, to prove nothing crosses accounts.
//
//	project 10: document 100 (segments 1001, 1002), 101 (1101), 102 (1201)
//	project 20: document 200 (segment 2001)
//	jobs:  standard 50 → [100]; Codyt 50 → [101]; standard 51 → [100 101]; Codyt 60 (project 20) → []
//	users: 1 pm, 2 translator, 3 reviewer, 4 nobody
//	grants: 1 on project 10 read+upload+delete; 2 on standard job 50 read, Codyt job 50 upload;
//	        3 on project 10 read, standard job 51 upload+delete
func fixture() *refstore.Catalog {
	return &refstore.Catalog{Accounts: []refstore.CatalogAccount{
		{
			ID: "acme", Name: "Acme",
			Users: []refstore.CatalogUser{{ID: 1, Name: "pm"}, {ID: 2, Name: "translator"}, {ID: 3, Name: "reviewer"}, {ID: 4}},
			Projects: []refstore.CatalogProject{
				{ID: 10, Name: "Web", Documents: []refstore.CatalogDocument{
					{ID: 100, Segments: []int64{1001, 1002}},
					{ID: 101, Segments: []int64{1101}},
					{ID: 102, Segments: []int64{1201}},
				}},
				{ID: 20, Name: "Other", Documents: []refstore.CatalogDocument{{ID: 200, Segments: []int64{2001}}}},
			},
			Jobs: []refstore.CatalogJob{
				{ID: 50, ProjectID: 10, DocumentIDs: []int64{100}},
				{ID: 51, ProjectID: 10, DocumentIDs: []int64{100, 101}},
				{ID: 50, Codyt: true, ProjectID: 10, DocumentIDs: []int64{101}},
				{ID: 60, Codyt: true, ProjectID: 20},
			},
			Grants: []refstore.CatalogGrant{
				{UserID: 1, ProjectID: 10, Rights: []string{"read", "upload", "delete"}},
				{UserID: 3, ProjectID: 10, Rights: []string{"read"}},
				{UserID: 2, JobID: 50, Rights: []string{"read"}},
				{UserID: 2, JobID: 50, Codyt: true, Rights: []string{"upload"}},
				{UserID: 3, JobID: 51, Rights: []string{"upload", "delete"}},
			},
		},
		{
			ID: "other", Name: "Other Inc",
			Users:    []refstore.CatalogUser{{ID: 1, Name: "pm"}},
			Projects: []refstore.CatalogProject{{ID: 10, Documents: []refstore.CatalogDocument{{ID: 100, Segments: []int64{1001}}}}},
			Jobs:     []refstore.CatalogJob{{ID: 50, ProjectID: 10, DocumentIDs: []int64{100}}},
			Grants:   []refstore.CatalogGrant{{UserID: 1, ProjectID: 10, Rights: []string{"read"}}},
		},
	}}
}

// expectedAcme is acme as AccountCatalog returns it: ordered by id, jobs standard first,
// project grants before job grants.
func expectedAcme() *refstore.CatalogAccount {
	a := fixture().Accounts[0]
	a.Jobs = []refstore.CatalogJob{
		{ID: 50, ProjectID: 10, DocumentIDs: []int64{100}},
		{ID: 51, ProjectID: 10, DocumentIDs: []int64{100, 101}},
		{ID: 50, Codyt: true, ProjectID: 10, DocumentIDs: []int64{101}},
		{ID: 60, Codyt: true, ProjectID: 20},
	}
	a.Grants = []refstore.CatalogGrant{
		{UserID: 1, ProjectID: 10, Rights: []string{"read", "upload", "delete"}},
		{UserID: 3, ProjectID: 10, Rights: []string{"read"}},
		{UserID: 2, JobID: 50, Rights: []string{"read"}},
		{UserID: 2, JobID: 50, Codyt: true, Rights: []string{"upload"}},
		{UserID: 3, JobID: 51, Rights: []string{"upload", "delete"}},
	}
	return &a
}

func loadCatalog(t *testing.T, s *Store) {
	t.Helper()
	c := fixture()
	if err := c.Validate(); err != nil {
		t.Fatalf("the fixture is invalid: %v", err)
	}
	if err := s.UpsertCatalog(t.Context(), c, nil, nil); err != nil {
		t.Fatalf("UpsertCatalog(fixture): %v", err)
	}
}

func upsert(t *testing.T, s *Store, a refstore.CatalogAccount) error {
	t.Helper()
	return s.UpsertCatalog(t.Context(), &refstore.Catalog{Accounts: []refstore.CatalogAccount{a}}, nil, nil)
}

func wantCode(t *testing.T, err error, code refstore.Code) {
	t.Helper()
	if got := refstore.ErrorCode(err); got != code {
		t.Fatalf("error %v has code %q, want %q", err, got, code)
	}
}

var counter atomic.Int64

// hex32 returns a fresh 32-character hex string, like token hashes and blob keys.
func hex32() string { return fmt.Sprintf("%032x", counter.Add(1)) }

// sha returns a 64-character hex content id for a short label.
func sha(label string) string { return fmt.Sprintf("%064x", []byte(label))[:64] }

type uploadOpt func(*refstore.Upload)

// upload records an upload of the content label by a user and returns it (with the blob
// key the store settled on).
func upload(t *testing.T, s *Store, account string, user int64, content string, opts ...uploadOpt) *refstore.Upload {
	t.Helper()
	u := &refstore.Upload{
		TokenHash: hex32(), Account: account, UserID: user, Name: "shot.png", Size: int64(len(content)),
		SHA256: sha(content), ContentType: "image/png", Created: t0, Expires: t0.Add(24 * time.Hour), BlobKey: hex32(),
	}
	for _, o := range opts {
		o(u)
	}
	key, err := s.CreateUpload(t.Context(), u, nil)
	if err != nil {
		t.Fatalf("CreateUpload: %v", err)
	}
	u.BlobKey = key
	return u
}

func expires(at time.Time) uploadOpt { return func(u *refstore.Upload) { u.Expires = at } }

func addr(locale, folders, name string) refstore.Address {
	var f []string
	if folders != "" {
		f = strings.Split(folders, "/")
	}
	return refstore.Address{Locale: locale, Folders: f, Name: name}
}

func segment(t *testing.T, s *Store, account string, id int64) refstore.SegmentRef {
	t.Helper()
	ref, err := s.Segment(t.Context(), account, id)
	if err != nil {
		t.Fatalf("Segment(%s, %d): %v", account, id, err)
	}
	return ref
}

var nextAssetID atomic.Int64

func attachAt(t *testing.T, s *Store, u *refstore.Upload, seg int64, a refstore.Address, now time.Time) (*refstore.Asset, *refstore.Asset, error) {
	t.Helper()
	return s.Attach(t.Context(), refstore.AttachParams{
		Account: u.Account, UserID: u.UserID, UploadHash: u.TokenHash, Segment: segment(t, s, u.Account, seg),
		Address: a, Now: now, NewID: 1000 + nextAssetID.Add(1),
	})
}

func mustAttach(t *testing.T, s *Store, u *refstore.Upload, seg int64, a refstore.Address) *refstore.Asset {
	t.Helper()
	asset, _, err := attachAt(t, s, u, seg, a, t0)
	if err != nil {
		t.Fatalf("Attach %v to %d: %v", a.Elements(), seg, err)
	}
	return asset
}

func listAssets(t *testing.T, s *Store, account string, ids ...int64) []refstore.Asset {
	t.Helper()
	as, err := s.SegmentAssets(t.Context(), account, ids)
	if err != nil {
		t.Fatalf("SegmentAssets(%s, %v): %v", account, ids, err)
	}
	return as
}

// paths renders assets as "segment:locale/folders/name" for compact comparisons.
func paths(as []refstore.Asset) []string {
	out := []string{}
	for _, a := range as {
		out = append(out, fmt.Sprintf("%d:%s", a.SegmentID, strings.Join(a.Elements(), "/")))
	}
	return out
}

func blobKeys(refs []refstore.BlobRef) []string {
	out := []string{}
	for _, r := range refs {
		out = append(out, r.Account+"/"+r.Key)
	}
	slices.Sort(out)
	return out
}

// --- catalog ---------------------------------------------------------------------------

func testPing(t *testing.T, s *Store) {
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	ids, err := s.Accounts(t.Context())
	if err != nil || ids == nil || len(ids) != 0 {
		t.Fatalf("Accounts of an empty store = %#v, %v; want an empty list", ids, err)
	}
	_, err = s.AccountCatalog(t.Context(), "acme")
	wantCode(t, err, refstore.CodeNotFound)
}

func testCatalogRoundTrip(t *testing.T, s *Store) {
	loadCatalog(t, s)
	got, err := s.AccountCatalog(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if want := expectedAcme(); !reflect.DeepEqual(got, want) {
		t.Fatalf("AccountCatalog(acme):\n got %+v\nwant %+v", got, want)
	}
	other, err := s.AccountCatalog(t.Context(), "other")
	if err != nil {
		t.Fatal(err)
	}
	if want := fixture().Accounts[1]; !reflect.DeepEqual(*other, want) {
		t.Fatalf("AccountCatalog(other):\n got %+v\nwant %+v", other, want)
	}
	ids, err := s.Accounts(t.Context())
	if err != nil || !slices.Equal(ids, []string{"acme", "other"}) {
		t.Fatalf("Accounts = %v, %v", ids, err)
	}
	// API keys given with a catalog are stored but never returned by AccountCatalog.
	c := &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: "acme", Users: []refstore.CatalogUser{{ID: 1, APIKey: "secret"}}}}}
	key := refstore.APIKey{ID: "k1", Hash: "hash-of-secret", Account: "acme", UserID: 1, Created: t0}
	if err := s.UpsertCatalog(t.Context(), c, []refstore.APIKey{key}, nil); err != nil {
		t.Fatal(err)
	}
	if user, err := s.UserByKey(t.Context(), "acme", "hash-of-secret"); err != nil || user != 1 {
		t.Fatalf("UserByKey after a catalog with a key = %d, %v", user, err)
	}
	got, _ = s.AccountCatalog(t.Context(), "acme")
	if got.Users[0].APIKey != "" {
		t.Fatal("AccountCatalog returns an API key")
	}
}

func testCatalogIdempotent(t *testing.T, s *Store) {
	loadCatalog(t, s)
	first, err := s.AccountCatalog(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	u := upload(t, s, "acme", 1, "bytes")
	asset := mustAttach(t, s, u, 1001, addr("", "", "a.png"))
	for range 2 {
		loadCatalog(t, s)
	}
	again, err := s.AccountCatalog(t.Context(), "acme")
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(first, again) {
		t.Fatalf("catalog changed by the same upsert:\n got %+v\nwant %+v", again, first)
	}
	// Upserting again keeps the assets.
	if got, err := s.AssetByID(t.Context(), "acme", asset.ID); err != nil || got.Modified != asset.Modified {
		t.Fatalf("asset after re-upserting the catalog: %+v, %v", got, err)
	}
	// A partial catalog adds without removing anything.
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme", Projects: []refstore.CatalogProject{{ID: 30}}}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.AccountCatalog(t.Context(), "acme")
	if len(got.Projects) != 3 || got.Projects[2].ID != 30 || len(got.Users) != 4 || len(got.Grants) != 5 {
		t.Fatalf("partial upsert: %+v", got)
	}
}

func testCatalogKeepsNames(t *testing.T, s *Store) {
	loadCatalog(t, s)
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme",
		Users:    []refstore.CatalogUser{{ID: 1}},
		Projects: []refstore.CatalogProject{{ID: 10}}}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.AccountCatalog(t.Context(), "acme")
	if got.Name != "Acme" || got.Users[0].Name != "pm" || got.Projects[0].Name != "Web" {
		t.Fatalf("names lost when omitted: account %q, user %q, project %q", got.Name, got.Users[0].Name, got.Projects[0].Name)
	}
	// Documents named without segments keep theirs.
	if got.Projects[0].Documents[0].ID != 100 || !slices.Equal(got.Projects[0].Documents[0].Segments, []int64{1001, 1002}) {
		t.Fatalf("document 100 = %+v", got.Projects[0].Documents[0])
	}
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme", Name: "Acme Corp",
		Users:    []refstore.CatalogUser{{ID: 1, Name: "lead"}},
		Projects: []refstore.CatalogProject{{ID: 10, Name: "Website"}}}); err != nil {
		t.Fatal(err)
	}
	got, _ = s.AccountCatalog(t.Context(), "acme")
	if got.Name != "Acme Corp" || got.Users[0].Name != "lead" || got.Projects[0].Name != "Website" {
		t.Fatalf("names not updated: account %q, user %q, project %q", got.Name, got.Users[0].Name, got.Projects[0].Name)
	}
}

func testCatalogJobDocumentsReplaced(t *testing.T, s *Store) {
	loadCatalog(t, s)
	p := refstore.Principal{Account: "acme", UserID: 3}
	job51 := refstore.Scope{Kind: refstore.ScopeStandardJob, ID: 51}
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme",
		Jobs: []refstore.CatalogJob{{ID: 51, ProjectID: 10, DocumentIDs: []int64{102}}}}); err != nil {
		t.Fatal(err)
	}
	acc, err := s.Access(t.Context(), p, job51)
	if err != nil || !slices.Equal(acc.Documents, []int64{102}) {
		t.Fatalf("job 51 documents after replacing = %v, %v; want [102]", acc.Documents, err)
	}
	// The Codyt job with the same id as standard job 50 is untouched by changes to it.
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme",
		Jobs: []refstore.CatalogJob{{ID: 50, ProjectID: 10}}}); err != nil {
		t.Fatal(err)
	}
	got, _ := s.AccountCatalog(t.Context(), "acme")
	for _, j := range got.Jobs {
		var want []int64
		switch {
		case j.ID == 50 && !j.Codyt:
			want = nil
		case j.ID == 50 && j.Codyt:
			want = []int64{101}
		case j.ID == 51:
			want = []int64{102}
		}
		if j.ID != 60 && !slices.Equal(j.DocumentIDs, want) {
			t.Errorf("job %d (codyt %t) documents = %v, want %v", j.ID, j.Codyt, j.DocumentIDs, want)
		}
	}
	acc, err = s.Access(t.Context(), refstore.Principal{Account: "acme", UserID: 2}, refstore.Scope{Kind: refstore.ScopeStandardJob, ID: 50})
	if err != nil || acc.Documents == nil || len(acc.Documents) != 0 {
		t.Fatalf("a job without documents gives Documents %#v, %v; want an empty non-nil list", acc.Documents, err)
	}
}

func testCatalogBadReferences(t *testing.T, s *Store) {
	loadCatalog(t, s)
	tests := []struct {
		name string
		a    refstore.CatalogAccount
	}{
		{"grant for unknown user", refstore.CatalogAccount{ID: "acme",
			Grants: []refstore.CatalogGrant{{UserID: 99, ProjectID: 10, Rights: []string{"read"}}}}},
		{"grant on unknown project", refstore.CatalogAccount{ID: "acme",
			Grants: []refstore.CatalogGrant{{UserID: 1, ProjectID: 99, Rights: []string{"read"}}}}},
		{"grant on unknown job", refstore.CatalogAccount{ID: "acme",
			Grants: []refstore.CatalogGrant{{UserID: 1, JobID: 99, Rights: []string{"read"}}}}},
		{"grant on a standard job given as Codyt", refstore.CatalogAccount{ID: "acme",
			Grants: []refstore.CatalogGrant{{UserID: 1, JobID: 51, Codyt: true, Rights: []string{"read"}}}}},
		{"grant on a project of another account", refstore.CatalogAccount{ID: "other",
			Grants: []refstore.CatalogGrant{{UserID: 1, ProjectID: 20, Rights: []string{"read"}}}}},
		{"grant with an unknown right", refstore.CatalogAccount{ID: "acme",
			Grants: []refstore.CatalogGrant{{UserID: 1, ProjectID: 10, Rights: []string{"own"}}}}},
		{"job of unknown project", refstore.CatalogAccount{ID: "acme",
			Jobs: []refstore.CatalogJob{{ID: 70, ProjectID: 99}}}},
		{"job naming an unknown document", refstore.CatalogAccount{ID: "acme",
			Jobs: []refstore.CatalogJob{{ID: 70, ProjectID: 10, DocumentIDs: []int64{999}}}}},
		{"job naming a document of another project", refstore.CatalogAccount{ID: "acme",
			Jobs: []refstore.CatalogJob{{ID: 70, ProjectID: 10, DocumentIDs: []int64{200}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// The payload also adds a project and a user: a failed upsert keeps none of it.
			a := tc.a
			a.Projects = append([]refstore.CatalogProject{{ID: 77}}, a.Projects...)
			a.Users = append([]refstore.CatalogUser{{ID: 77}}, a.Users...)
			err := upsert(t, s, a)
			wantCode(t, err, refstore.CodeInvalidBody)
			got, err := s.AccountCatalog(t.Context(), a.ID)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range got.Projects {
				if p.ID == 77 {
					t.Fatal("the failed upsert left project 77 behind")
				}
			}
			for _, u := range got.Users {
				if u.ID == 77 {
					t.Fatal("the failed upsert left user 77 behind")
				}
			}
		})
	}
	// A failed upsert of a new account leaves no account.
	err := upsert(t, s, refstore.CatalogAccount{ID: "newco",
		Grants: []refstore.CatalogGrant{{UserID: 1, ProjectID: 1, Rights: []string{"read"}}}})
	wantCode(t, err, refstore.CodeInvalidBody)
	if _, err := s.AccountCatalog(t.Context(), "newco"); refstore.ErrorCode(err) != refstore.CodeNotFound {
		t.Fatalf("account of a failed upsert: %v", err)
	}
}

func testCatalogMoves(t *testing.T, s *Store) {
	loadCatalog(t, s)
	u := upload(t, s, "acme", 1, "moving")
	mustAttach(t, s, u, 1001, addr("", "", "a.png")) // document 100, project 10

	// Document 100 holds an asset: it cannot move to project 20.
	err := upsert(t, s, refstore.CatalogAccount{ID: "acme", Projects: []refstore.CatalogProject{
		{ID: 20, Documents: []refstore.CatalogDocument{{ID: 100}}}}})
	wantCode(t, err, refstore.CodeConflict)
	if ref := segment(t, s, "acme", 1001); ref.ProjectID != 10 {
		t.Fatalf("document 100 moved to project %d", ref.ProjectID)
	}
	// Segment 1001 holds an asset: it cannot move to document 101.
	err = upsert(t, s, refstore.CatalogAccount{ID: "acme", Projects: []refstore.CatalogProject{
		{ID: 10, Documents: []refstore.CatalogDocument{{ID: 101, Segments: []int64{1001}}}}}})
	wantCode(t, err, refstore.CodeConflict)
	if ref := segment(t, s, "acme", 1001); ref.DocumentID != 100 {
		t.Fatalf("segment 1001 moved to document %d", ref.DocumentID)
	}

	// Empty ones move. Segment 1002 (empty) moves to document 101.
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme", Projects: []refstore.CatalogProject{
		{ID: 10, Documents: []refstore.CatalogDocument{{ID: 101, Segments: []int64{1002}}}}}}); err != nil {
		t.Fatalf("moving an empty segment: %v", err)
	}
	if ref := segment(t, s, "acme", 1002); ref.DocumentID != 101 || ref.ProjectID != 10 {
		t.Fatalf("segment 1002 = %+v, want document 101", ref)
	}
	// Document 102 (empty) moves to project 20; the jobs of project 10 no longer cover it.
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme", Jobs: []refstore.CatalogJob{
		{ID: 51, ProjectID: 10, DocumentIDs: []int64{100, 101, 102}}}}); err != nil {
		t.Fatal(err)
	}
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme", Projects: []refstore.CatalogProject{
		{ID: 20, Documents: []refstore.CatalogDocument{{ID: 102}}}}}); err != nil {
		t.Fatalf("moving an empty document: %v", err)
	}
	if ref := segment(t, s, "acme", 1201); ref.DocumentID != 102 || ref.ProjectID != 20 {
		t.Fatalf("segment 1201 = %+v, want document 102 of project 20", ref)
	}
	acc, err := s.Access(t.Context(), refstore.Principal{Account: "acme", UserID: 3}, refstore.Scope{Kind: refstore.ScopeStandardJob, ID: 51})
	if err != nil || !slices.Equal(acc.Documents, []int64{100, 101}) {
		t.Fatalf("job 51 after document 102 moved: %v, %v", acc.Documents, err)
	}
	acc, err = s.Access(t.Context(), refstore.Principal{Account: "acme", UserID: 1}, refstore.Scope{Kind: refstore.ScopeDocument, ID: 102})
	if err != nil || acc.ProjectID != 20 || acc.Rights != 0 {
		t.Fatalf("document 102 after moving: %+v, %v; want project 20 and no rights", acc, err)
	}
	// Once emptied, document 100 can move too.
	if _, err := s.DeleteAssets(t.Context(), "acme", 1001, nil, nil); err != nil {
		t.Fatal(err)
	}
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme", Projects: []refstore.CatalogProject{
		{ID: 20, Documents: []refstore.CatalogDocument{{ID: 100}}}}}); err != nil {
		t.Fatalf("moving an emptied document: %v", err)
	}
	if ref := segment(t, s, "acme", 1001); ref.ProjectID != 20 {
		t.Fatalf("segment 1001 = %+v, want project 20", ref)
	}
}

// --- removing entries --------------------------------------------------------------------

func testRemoveEntry(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	if err := s.AddAPIKey(ctx, refstore.APIKey{ID: "k2", Hash: "h2", Account: "acme", UserID: 2, Created: t0}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, refstore.Session{Hash: "s2", Account: "acme", UserID: 2, KeyHash: "h2", Created: t0, LastUsed: t0}, nil); err != nil {
		t.Fatal(err)
	}
	u1 := upload(t, s, "acme", 1, "p10")
	u2 := upload(t, s, "acme", 1, "p20")
	mustAttach(t, s, u1, 1001, addr("", "", "a.png"))
	mustAttach(t, s, u1, 1101, addr("", "", "a.png"))
	mustAttach(t, s, u1, 1201, addr("", "", "a.png"))
	mustAttach(t, s, u2, 2001, addr("", "", "a.png"))
	pending := upload(t, s, "acme", 2, "pending") // user 2's upload, never attached
	other := upload(t, s, "other", 1, "p10")
	mustAttach(t, s, other, 1001, addr("", "", "a.png"))

	access := func(user int64, sc refstore.Scope) (refstore.Access, error) {
		return s.Access(ctx, refstore.Principal{Account: "acme", UserID: user}, sc)
	}
	pr10 := refstore.Scope{Kind: refstore.ScopeProject, ID: 10}
	jbs50 := refstore.Scope{Kind: refstore.ScopeStandardJob, ID: 50}
	jbc50 := refstore.Scope{Kind: refstore.ScopeCodytJob, ID: 50}
	jbs51 := refstore.Scope{Kind: refstore.ScopeStandardJob, ID: 51}

	// A project grant.
	if _, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntryProjectGrant, Account: "acme", ID: 10, UserID: 3}, nil); err != nil {
		t.Fatal(err)
	}
	if acc, _ := access(3, pr10); acc.Rights != 0 {
		t.Fatalf("user 3 keeps %s on project 10", acc.Rights)
	}
	if acc, _ := access(3, jbs51); acc.Rights != refstore.RightUpload|refstore.RightDelete {
		t.Fatalf("user 3's job grant changed: %s", acc.Rights)
	}
	// A job grant: the Codyt one of job 50 only.
	if _, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntryJobGrant, Account: "acme", ID: 50, Job: refstore.CodytJob, UserID: 2}, nil); err != nil {
		t.Fatal(err)
	}
	if acc, _ := access(2, jbc50); acc.Rights != 0 {
		t.Fatalf("user 2 keeps %s on Codyt job 50", acc.Rights)
	}
	if acc, _ := access(2, jbs50); acc.Rights != refstore.RightRead {
		t.Fatalf("user 2 lost the standard job 50 grant: %s", acc.Rights)
	}
	// A job: the standard job 50 only; its grants go with it.
	if _, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntryJob, Account: "acme", ID: 50}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := access(2, jbs50); refstore.ErrorCode(err) != refstore.CodeScopeNotFound {
		t.Fatalf("standard job 50 after removal: %v", err)
	}
	if _, err := access(2, jbc50); err != nil {
		t.Fatalf("Codyt job 50 went with standard job 50: %v", err)
	}
	got, _ := s.AccountCatalog(ctx, "acme")
	for _, g := range got.Grants {
		if g.JobID == 50 {
			t.Fatalf("grant %+v survived its job", g)
		}
	}
	// A segment: its assets go.
	if _, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntrySegment, Account: "acme", ID: 1101}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Segment(ctx, "acme", 1101); refstore.ErrorCode(err) != refstore.CodeSegmentNotFound {
		t.Fatalf("segment 1101 after removal: %v", err)
	}
	if as := listAssets(t, s, "acme", 1101); len(as) != 0 {
		t.Fatalf("segment 1101's assets survived: %v", paths(as))
	}
	// A document: its segments, assets and job coverage go.
	if _, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntryDocument, Account: "acme", ID: 100}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Segment(ctx, "acme", 1001); refstore.ErrorCode(err) != refstore.CodeSegmentNotFound {
		t.Fatalf("segment 1001 after its document went: %v", err)
	}
	if acc, err := access(3, jbs51); err != nil || !slices.Equal(acc.Documents, []int64{101}) {
		t.Fatalf("job 51 after document 100 went: %v, %v", acc.Documents, err)
	}
	// A user: keys, sessions, grants and uploads go.
	if _, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntryUser, Account: "acme", ID: 2}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByKey(ctx, "acme", "h2"); refstore.ErrorCode(err) != refstore.CodeInvalidKey {
		t.Fatalf("key of a removed user: %v", err)
	}
	if _, err := s.Session(ctx, "s2"); refstore.ErrorCode(err) != refstore.CodeUnauthorized {
		t.Fatalf("session of a removed user: %v", err)
	}
	if _, err := s.Upload(ctx, "acme", 2, pending.TokenHash, t0); refstore.ErrorCode(err) != refstore.CodeFileTokenInvalid {
		t.Fatalf("upload of a removed user: %v", err)
	}
	// A project: documents, segments, assets, jobs and grants go; project 20 stays.
	if _, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntryProject, Account: "acme", ID: 10}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := access(1, pr10); refstore.ErrorCode(err) != refstore.CodeScopeNotFound {
		t.Fatalf("project 10 after removal: %v", err)
	}
	if _, err := access(3, jbs51); refstore.ErrorCode(err) != refstore.CodeScopeNotFound {
		t.Fatalf("job 51 after its project went: %v", err)
	}
	if _, err := s.Segment(ctx, "acme", 1201); refstore.ErrorCode(err) != refstore.CodeSegmentNotFound {
		t.Fatalf("segment 1201 after its project went: %v", err)
	}
	got, _ = s.AccountCatalog(ctx, "acme")
	if len(got.Projects) != 1 || got.Projects[0].ID != 20 || len(got.Grants) != 0 || len(got.Jobs) != 1 || got.Jobs[0].ID != 60 {
		t.Fatalf("after removing project 10: %+v", got)
	}
	var segs []string
	if err := s.AssetSegments(ctx, func(account string, seg int64) error {
		segs = append(segs, fmt.Sprintf("%s/%d", account, seg))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(segs, []string{"acme/2001", "other/1001"}) {
		t.Fatalf("segments with assets = %v", segs)
	}
	// The other account is untouched: same ids, its own data.
	if as := listAssets(t, s, "other", 1001); len(as) != 1 {
		t.Fatalf("other's segment 1001 holds %v", paths(as))
	}
	// What nothing references any more can now be collected: once the uploads expire, p10
	// (its assets went with their project) and pending (its user went); not p20 (an asset
	// of project 20 holds it), nor other's p10.
	if _, err := s.DeleteExpiredUploads(ctx, t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	refs, err := s.CollectGarbage(ctx, nil, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := blobKeys([]refstore.BlobRef{{Account: "acme", Key: u1.BlobKey}, {Account: "acme", Key: pending.BlobKey}}); !slices.Equal(blobKeys(refs), want) {
		t.Fatalf("CollectGarbage = %v, want %v", blobKeys(refs), want)
	}
}

func testRemoveEntryNotFound(t *testing.T, s *Store) {
	loadCatalog(t, s)
	for _, e := range []refstore.Entry{
		{Kind: refstore.EntryAccount, Account: "nope"},
		{Kind: refstore.EntryUser, Account: "acme", ID: 99},
		{Kind: refstore.EntryUser, Account: "nope", ID: 1},
		{Kind: refstore.EntryProject, Account: "acme", ID: 99},
		{Kind: refstore.EntryProject, Account: "other", ID: 20}, // acme's
		{Kind: refstore.EntryDocument, Account: "acme", ID: 99},
		{Kind: refstore.EntrySegment, Account: "acme", ID: 99},
		{Kind: refstore.EntrySegment, Account: "other", ID: 1101}, // acme's
		{Kind: refstore.EntryJob, Account: "acme", ID: 51, Job: refstore.CodytJob},
		{Kind: refstore.EntryJob, Account: "acme", ID: 60}, // Codyt only
		{Kind: refstore.EntryProjectGrant, Account: "acme", ID: 10, UserID: 2},
		{Kind: refstore.EntryProjectGrant, Account: "acme", ID: 20, UserID: 1},
		{Kind: refstore.EntryJobGrant, Account: "acme", ID: 50, UserID: 3},
		{Kind: refstore.EntryJobGrant, Account: "acme", ID: 51, Job: refstore.CodytJob, UserID: 3},
	} {
		_, err := s.RemoveEntry(t.Context(), e, nil)
		if refstore.ErrorCode(err) != refstore.CodeNotFound {
			t.Errorf("RemoveEntry(%+v) = %v, want %s", e, err, refstore.CodeNotFound)
		}
	}
	if _, err := s.RemoveEntry(t.Context(), refstore.Entry{Kind: 0, Account: "acme", ID: 10}, nil); err == nil {
		t.Error("RemoveEntry of kind 0 succeeded")
	}
	// Nothing was removed.
	got, _ := s.AccountCatalog(t.Context(), "acme")
	if want := expectedAcme(); !reflect.DeepEqual(got, want) {
		t.Fatalf("catalog changed:\n got %+v\nwant %+v", got, want)
	}
}

func testRemoveAccount(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	if err := s.AddAPIKey(ctx, refstore.APIKey{ID: "k1", Hash: "h1", Account: "acme", UserID: 1, Created: t0}, nil); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateSession(ctx, refstore.Session{Hash: "s1", Account: "acme", UserID: 1, KeyHash: "h1", Created: t0, LastUsed: t0}, nil); err != nil {
		t.Fatal(err)
	}
	u := upload(t, s, "acme", 1, "x")
	a := mustAttach(t, s, u, 1001, addr("en", "img", "a.png"))
	upload(t, s, "acme", 2, "y")
	o := upload(t, s, "other", 1, "x")
	mustAttach(t, s, o, 1001, addr("", "", "a.png"))

	removed, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntryAccount, Account: "acme"}, nil)
	if err != nil {
		t.Fatalf("removing an account with assets, uploads, keys and sessions: %v", err)
	}
	if len(removed) != 2 || removed[0].Account != "acme" || removed[1].Account != "acme" {
		t.Fatalf("removing the account returned blobs %v, want acme's two", removed)
	}
	if _, err := s.AccountCatalog(ctx, "acme"); refstore.ErrorCode(err) != refstore.CodeNotFound {
		t.Fatalf("AccountCatalog after removal: %v", err)
	}
	if ids, _ := s.Accounts(ctx); !slices.Equal(ids, []string{"other"}) {
		t.Fatalf("Accounts = %v", ids)
	}
	if _, err := s.AssetByID(ctx, "acme", a.ID); refstore.ErrorCode(err) != refstore.CodeAssetNotFound {
		t.Fatalf("asset after its account went: %v", err)
	}
	if _, err := s.Session(ctx, "s1"); refstore.ErrorCode(err) != refstore.CodeUnauthorized {
		t.Fatalf("session after its account went: %v", err)
	}
	if known, err := s.BlobKnown(ctx, refstore.BlobRef{Account: "acme", Key: u.BlobKey}); err != nil || known {
		t.Fatalf("acme's blob is still known: %t, %v", known, err)
	}
	if known, err := s.BlobKnown(ctx, refstore.BlobRef{Account: "other", Key: o.BlobKey}); err != nil || !known {
		t.Fatalf("other's blob is gone: %t, %v", known, err)
	}
	if as := listAssets(t, s, "other", 1001); len(as) != 1 {
		t.Fatalf("other's assets: %v", paths(as))
	}
	// The account can come back, empty.
	loadCatalog(t, s)
	if as := listAssets(t, s, "acme", 1001); len(as) != 0 {
		t.Fatalf("a re-created account has assets: %v", paths(as))
	}
}

// --- keys and sessions -------------------------------------------------------------------

func testAPIKeys(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	k := refstore.APIKey{ID: "k_a", Hash: "hash-a", Account: "acme", UserID: 1, Created: t0}
	for range 2 {
		if err := s.AddAPIKey(ctx, k, nil); err != nil {
			t.Fatalf("AddAPIKey: %v", err)
		}
	}
	keys, err := s.APIKeys(ctx, "acme", 1)
	if err != nil || len(keys) != 1 {
		t.Fatalf("APIKeys after adding the same key twice = %+v, %v", keys, err)
	}
	if keys[0].ID != "k_a" || keys[0].Hash != "" || !keys[0].Created.Equal(t0.Truncate(time.Millisecond)) {
		t.Fatalf("key = %+v", keys[0])
	}
	if user, err := s.UserByKey(ctx, "acme", "hash-a"); err != nil || user != 1 {
		t.Fatalf("UserByKey = %d, %v", user, err)
	}
	// The same key for another user, in this account or another, is a conflict.
	for _, other := range []refstore.APIKey{
		{ID: "k_b", Hash: "hash-a", Account: "acme", UserID: 2, Created: t0},
		{ID: "k_b", Hash: "hash-a", Account: "other", UserID: 1, Created: t0},
	} {
		wantCode(t, s.AddAPIKey(ctx, other, nil), refstore.CodeConflict)
	}
	if keys, _ := s.APIKeys(ctx, "acme", 2); len(keys) != 0 {
		t.Fatalf("user 2 got keys: %+v", keys)
	}
	// A key is only good in its own account.
	_, err = s.UserByKey(ctx, "other", "hash-a")
	wantCode(t, err, refstore.CodeInvalidKey)
	_, err = s.UserByKey(ctx, "acme", "nope")
	wantCode(t, err, refstore.CodeInvalidKey)
	// Unknown users.
	wantCode(t, s.AddAPIKey(ctx, refstore.APIKey{ID: "k_c", Hash: "hash-c", Account: "acme", UserID: 99, Created: t0}, nil), refstore.CodeNotFound)
	_, err = s.APIKeys(ctx, "acme", 99)
	wantCode(t, err, refstore.CodeNotFound)
	// A second key, listed after the first.
	k2 := refstore.APIKey{ID: "k_d", Hash: "hash-d", Account: "acme", UserID: 1, Created: t0.Add(time.Second)}
	if err := s.AddAPIKey(ctx, k2, nil); err != nil {
		t.Fatal(err)
	}
	keys, _ = s.APIKeys(ctx, "acme", 1)
	if len(keys) != 2 || keys[0].ID != "k_a" || keys[1].ID != "k_d" {
		t.Fatalf("APIKeys = %+v", keys)
	}

	// Revoking a key ends the sessions opened with it, and only those.
	for _, ss := range []refstore.Session{
		{Hash: "sa1", Account: "acme", UserID: 1, KeyHash: "hash-a", Created: t0, LastUsed: t0},
		{Hash: "sa2", Account: "acme", UserID: 1, KeyHash: "hash-a", Created: t0, LastUsed: t0},
		{Hash: "sd1", Account: "acme", UserID: 1, KeyHash: "hash-d", Created: t0, LastUsed: t0},
	} {
		if err := s.CreateSession(ctx, ss, nil); err != nil {
			t.Fatal(err)
		}
	}
	// Revoking needs the right user and account.
	wantCode(t, s.RevokeAPIKey(ctx, "acme", 2, "k_a", nil), refstore.CodeNotFound)
	wantCode(t, s.RevokeAPIKey(ctx, "other", 1, "k_a", nil), refstore.CodeNotFound)
	if err := s.RevokeAPIKey(ctx, "acme", 1, "k_a", nil); err != nil {
		t.Fatal(err)
	}
	for _, h := range []string{"sa1", "sa2"} {
		if _, err := s.Session(ctx, h); refstore.ErrorCode(err) != refstore.CodeUnauthorized {
			t.Fatalf("session %s of a revoked key: %v", h, err)
		}
	}
	if _, err := s.Session(ctx, "sd1"); err != nil {
		t.Fatalf("a session of another key ended: %v", err)
	}
	_, err = s.UserByKey(ctx, "acme", "hash-a")
	wantCode(t, err, refstore.CodeInvalidKey)
	wantCode(t, s.RevokeAPIKey(ctx, "acme", 1, "k_a", nil), refstore.CodeNotFound)
	// Once revoked, the key may be given to someone else.
	if err := s.AddAPIKey(ctx, refstore.APIKey{ID: "k_a", Hash: "hash-a", Account: "acme", UserID: 2, Created: t0}, nil); err != nil {
		t.Fatalf("re-adding a revoked key to another user: %v", err)
	}
}

func testSessions(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	if err := s.AddAPIKey(ctx, refstore.APIKey{ID: "k", Hash: "kh", Account: "acme", UserID: 2, Created: t0}, nil); err != nil {
		t.Fatal(err)
	}
	ms := func(d time.Duration) time.Time { return t0.Truncate(time.Millisecond).Add(d) }
	ss := refstore.Session{Hash: "sess", Account: "acme", UserID: 2, KeyHash: "kh", Created: ms(0), LastUsed: ms(0)}
	if err := s.CreateSession(ctx, ss, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.Session(ctx, "sess")
	if err != nil {
		t.Fatal(err)
	}
	if got.Hash != "sess" || got.Account != "acme" || got.UserID != 2 || got.KeyHash != "kh" ||
		!got.Created.Equal(ss.Created) || !got.LastUsed.Equal(ss.LastUsed) {
		t.Fatalf("Session = %+v, want %+v", got, ss)
	}
	// A session hash is unique.
	if err := s.CreateSession(ctx, ss, nil); err == nil {
		t.Fatal("the same session was created twice")
	}
	_, err = s.Session(ctx, "unknown")
	wantCode(t, err, refstore.CodeUnauthorized)

	// Touching moves last use forward, never back.
	if err := s.TouchSession(ctx, "sess", ms(10*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, "sess"); !got.LastUsed.Equal(ms(10*time.Minute)) || !got.Created.Equal(ms(0)) {
		t.Fatalf("after touch: %+v", got)
	}
	if err := s.TouchSession(ctx, "sess", ms(5*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.Session(ctx, "sess"); !got.LastUsed.Equal(ms(10 * time.Minute)) {
		t.Fatalf("touch moved last use back to %v", got.LastUsed)
	}
	// A touch that finds no session says so: the session is gone.
	wantCode(t, s.TouchSession(ctx, "unknown", ms(time.Hour)), refstore.CodeUnauthorized)

	// Idle sessions: last used strictly before the cut-off go.
	for i, h := range []string{"idle", "edge", "busy"} {
		at := ms(time.Duration(i) * time.Minute) // 0, 1, 2 minutes
		if err := s.CreateSession(ctx, refstore.Session{Hash: h, Account: "acme", UserID: 2, KeyHash: "kh", Created: at, LastUsed: at}, nil); err != nil {
			t.Fatal(err)
		}
	}
	n, err := s.DeleteSessionsIdleSince(ctx, ms(time.Minute))
	if err != nil || n != 1 {
		t.Fatalf("DeleteSessionsIdleSince = %d, %v; want 1", n, err)
	}
	for h, alive := range map[string]bool{"idle": false, "edge": true, "busy": true, "sess": true} {
		_, err := s.Session(ctx, h)
		if alive && err != nil || !alive && refstore.ErrorCode(err) != refstore.CodeUnauthorized {
			t.Errorf("session %s: %v (want alive=%t)", h, err, alive)
		}
	}
	if n, err := s.DeleteSessionsIdleSince(ctx, ms(time.Minute)); err != nil || n != 0 {
		t.Fatalf("second DeleteSessionsIdleSince = %d, %v", n, err)
	}
	// Deleting is idempotent.
	for range 2 {
		if err := s.DeleteSession(ctx, "sess", nil); err != nil {
			t.Fatal(err)
		}
	}
	_, err = s.Session(ctx, "sess")
	wantCode(t, err, refstore.CodeUnauthorized)
	wantCode(t, s.TouchSession(ctx, "sess", ms(time.Hour)), refstore.CodeUnauthorized)
	if _, err := s.Session(ctx, "busy"); err != nil {
		t.Fatalf("DeleteSession removed another session: %v", err)
	}
}

// --- scopes ----------------------------------------------------------------------------

func testAccess(t *testing.T, s *Store) {
	loadCatalog(t, s)
	const (
		r   = refstore.RightRead
		u   = refstore.RightUpload
		d   = refstore.RightDelete
		all = r | u | d
	)
	pr := func(id int64) refstore.Scope { return refstore.Scope{Kind: refstore.ScopeProject, ID: id} }
	jbs := func(id int64) refstore.Scope { return refstore.Scope{Kind: refstore.ScopeStandardJob, ID: id} }
	jbc := func(id int64) refstore.Scope { return refstore.Scope{Kind: refstore.ScopeCodytJob, ID: id} }
	doc := func(id int64) refstore.Scope { return refstore.Scope{Kind: refstore.ScopeDocument, ID: id} }
	tests := []struct {
		account string
		user    int64
		scope   refstore.Scope
		project int64
		rights  refstore.Rights
		docs    []int64 // nil: the whole project
	}{
		{"acme", 1, pr(10), 10, all, nil},
		{"acme", 3, pr(10), 10, r, nil},
		{"acme", 2, pr(10), 10, 0, nil}, // job grants do not count in a project scope
		{"acme", 4, pr(10), 10, 0, nil},
		{"acme", 99, pr(10), 10, 0, nil},
		{"acme", 1, pr(20), 20, 0, nil},
		{"acme", 2, jbs(50), 10, r, []int64{100}},
		{"acme", 2, jbc(50), 10, u, []int64{101}}, // same id, other job
		{"acme", 1, jbs(50), 10, all, []int64{100}},
		{"acme", 3, jbs(50), 10, r, []int64{100}},        // project grant only
		{"acme", 3, jbs(51), 10, all, []int64{100, 101}}, // project read OR job upload+delete
		{"acme", 2, jbs(51), 10, 0, []int64{100, 101}},
		{"acme", 4, jbc(60), 20, 0, []int64{}},
		{"acme", 2, doc(100), 10, r, []int64{100}},   // from standard job 50
		{"acme", 2, doc(101), 10, u, []int64{101}},   // from Codyt job 50
		{"acme", 2, doc(102), 10, 0, []int64{102}},   // no job covers it
		{"acme", 3, doc(101), 10, all, []int64{101}}, // project read OR job 51
		{"acme", 3, doc(100), 10, all, []int64{100}}, // job 51 covers 100 as well
		{"acme", 1, doc(200), 20, 0, []int64{200}},
		{"other", 1, pr(10), 10, r, nil}, // acme's grants do not leak
		{"other", 1, jbs(50), 10, r, []int64{100}},
		{"other", 1, doc(100), 10, r, []int64{100}},
	}
	for _, tc := range tests {
		p := refstore.Principal{Account: tc.account, UserID: tc.user}
		acc, err := s.Access(t.Context(), p, tc.scope)
		if err != nil {
			t.Errorf("Access(%s user %d, %v): %v", tc.account, tc.user, tc.scope, err)
			continue
		}
		if acc.ProjectID != tc.project || acc.Rights != tc.rights {
			t.Errorf("Access(%s user %d, %v) = project %d rights %q, want %d %q",
				tc.account, tc.user, tc.scope, acc.ProjectID, acc.Rights, tc.project, tc.rights)
		}
		if (acc.Documents == nil) != (tc.docs == nil) || !slices.Equal(acc.Documents, tc.docs) {
			t.Errorf("Access(%s user %d, %v) documents = %#v, want %#v", tc.account, tc.user, tc.scope, acc.Documents, tc.docs)
		}
		if tc.scope.Kind == refstore.ScopeDocument {
			rights, err := s.DocumentRights(t.Context(), p, tc.scope.ID)
			if err != nil || rights != tc.rights {
				t.Errorf("DocumentRights(%s user %d, %d) = %q, %v; want %q", tc.account, tc.user, tc.scope.ID, rights, err, tc.rights)
			}
		}
	}
	for _, tc := range []struct {
		account string
		scope   refstore.Scope
	}{
		{"acme", pr(99)}, {"acme", jbs(99)}, {"acme", jbc(51)}, {"acme", jbs(60)}, {"acme", doc(999)},
		{"other", pr(20)}, {"other", jbc(50)}, {"other", doc(101)}, {"nope", pr(10)},
	} {
		_, err := s.Access(t.Context(), refstore.Principal{Account: tc.account, UserID: 1}, tc.scope)
		if refstore.ErrorCode(err) != refstore.CodeScopeNotFound {
			t.Errorf("Access(%s, %v) = %v, want %s", tc.account, tc.scope, err, refstore.CodeScopeNotFound)
		}
	}
}

func testSegments(t *testing.T, s *Store) {
	loadCatalog(t, s)
	if got := segment(t, s, "acme", 1101); got != (refstore.SegmentRef{ID: 1101, DocumentID: 101, ProjectID: 10}) {
		t.Fatalf("Segment(1101) = %+v", got)
	}
	if got := segment(t, s, "other", 1001); got != (refstore.SegmentRef{ID: 1001, DocumentID: 100, ProjectID: 10}) {
		t.Fatalf("Segment(other, 1001) = %+v", got)
	}
	for _, tc := range []struct {
		account string
		id      int64
	}{{"acme", 9999}, {"other", 1101}, {"nope", 1001}} {
		_, err := s.Segment(t.Context(), tc.account, tc.id)
		if refstore.ErrorCode(err) != refstore.CodeSegmentNotFound {
			t.Errorf("Segment(%s, %d) = %v, want %s", tc.account, tc.id, err, refstore.CodeSegmentNotFound)
		}
	}
	refs, err := s.Segments(t.Context(), "acme", []int64{2001, 9999, 1001, 1201})
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(refs, func(a, b refstore.SegmentRef) int { return cmp.Compare(a.ID, b.ID) })
	want := []refstore.SegmentRef{{ID: 1001, DocumentID: 100, ProjectID: 10}, {ID: 1201, DocumentID: 102, ProjectID: 10}, {ID: 2001, DocumentID: 200, ProjectID: 20}}
	if !slices.Equal(refs, want) {
		t.Fatalf("Segments = %+v, want %+v", refs, want)
	}
	refs, err = s.Segments(t.Context(), "other", []int64{1001, 1101})
	if err != nil || !slices.Equal(refs, []refstore.SegmentRef{{ID: 1001, DocumentID: 100, ProjectID: 10}}) {
		t.Fatalf("Segments(other) = %+v, %v", refs, err)
	}
	for _, ids := range [][]int64{nil, {}} {
		refs, err = s.Segments(t.Context(), "acme", ids)
		if err != nil || len(refs) != 0 {
			t.Fatalf("Segments(%#v) = %+v, %v; want none", ids, refs, err)
		}
	}
	// Many ids in one call (the API allows 1000).
	many := make([]int64, 1000)
	for i := range many {
		many[i] = int64(5000 + i)
	}
	many[500] = 1002
	refs, err = s.Segments(t.Context(), "acme", many)
	if err != nil || len(refs) != 1 || refs[0].ID != 1002 {
		t.Fatalf("Segments(1000 ids) = %+v, %v", refs, err)
	}
}

// --- uploads and assets ------------------------------------------------------------------

func testUploads(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	first := upload(t, s, "acme", 1, "same bytes", func(u *refstore.Upload) {
		u.Folders = []string{"docs", "pdfs"}
		u.Name = "x.txt"
		u.ContentType = "text/plain"
	})
	got, err := s.Upload(ctx, "acme", 1, first.TokenHash, t0)
	if err != nil {
		t.Fatal(err)
	}
	if got.TokenHash != first.TokenHash || got.Account != "acme" || got.UserID != 1 ||
		!slices.Equal(got.Folders, []string{"docs", "pdfs"}) || got.Name != "x.txt" || got.Size != first.Size ||
		got.SHA256 != first.SHA256 || got.ContentType != "text/plain" || got.BlobKey != first.BlobKey ||
		!got.Created.Equal(t0.Truncate(time.Millisecond)) || !got.Expires.Equal(first.Expires.Truncate(time.Millisecond)) {
		t.Fatalf("Upload = %+v, want %+v", got, first)
	}
	if got.DisplayName() != "docs/pdfs/x.txt" {
		t.Fatalf("DisplayName = %q", got.DisplayName())
	}

	// The same bytes again, by another user of the account: the first blob is reused.
	mine := hex32()
	second := &refstore.Upload{TokenHash: hex32(), Account: "acme", UserID: 2, Name: "y.txt", Size: first.Size,
		SHA256: first.SHA256, ContentType: "text/plain", Created: t0, Expires: t0.Add(time.Hour), BlobKey: mine}
	key, err := s.CreateUpload(ctx, second, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != first.BlobKey {
		t.Fatalf("second upload of the same bytes got key %s, want the first one's %s", key, first.BlobKey)
	}
	if known, _ := s.BlobKnown(ctx, refstore.BlobRef{Account: "acme", Key: mine}); known {
		t.Fatal("the duplicate's own key was recorded")
	}
	if u, err := s.Upload(ctx, "acme", 2, second.TokenHash, t0); err != nil || u.BlobKey != first.BlobKey || u.Folders != nil {
		t.Fatalf("second upload = %+v, %v", u, err)
	}
	// The same bytes in another account are stored apart.
	theirs := hex32()
	key, err = s.CreateUpload(ctx, &refstore.Upload{TokenHash: hex32(), Account: "other", UserID: 1, Name: "z.txt",
		Size: first.Size, SHA256: first.SHA256, ContentType: "text/plain", Created: t0, Expires: t0.Add(time.Hour), BlobKey: theirs}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if key != theirs {
		t.Fatalf("an upload in another account was deduplicated to %s", key)
	}
	for _, ref := range []refstore.BlobRef{{Account: "acme", Key: first.BlobKey}, {Account: "other", Key: theirs}} {
		if known, err := s.BlobKnown(ctx, ref); err != nil || !known {
			t.Fatalf("BlobKnown(%v) = %t, %v", ref, known, err)
		}
	}
	for _, ref := range []refstore.BlobRef{{Account: "other", Key: first.BlobKey}, {Account: "acme", Key: theirs}, {Account: "acme", Key: hex32()}} {
		if known, err := s.BlobKnown(ctx, ref); err != nil || known {
			t.Fatalf("BlobKnown(%v) = %t, %v", ref, known, err)
		}
	}
	// A token hash names one upload.
	if _, err := s.CreateUpload(ctx, second, nil); err == nil {
		t.Fatal("an upload was recorded twice under the same token")
	}

	// Only the uploader, in its account, before expiry.
	exp := first.Expires
	for _, tc := range []struct {
		name    string
		account string
		user    int64
		hash    string
		now     time.Time
	}{
		{"expired", "acme", 1, first.TokenHash, exp.Add(time.Hour)},
		{"at expiry", "acme", 1, first.TokenHash, exp},
		{"another user", "acme", 2, first.TokenHash, t0},
		{"another account", "other", 1, first.TokenHash, t0},
		{"unknown", "acme", 1, hex32(), t0},
	} {
		_, err := s.Upload(ctx, tc.account, tc.user, tc.hash, tc.now)
		if refstore.ErrorCode(err) != refstore.CodeFileTokenInvalid {
			t.Errorf("Upload (%s) = %v, want %s", tc.name, err, refstore.CodeFileTokenInvalid)
		}
	}
	if _, err := s.Upload(ctx, "acme", 1, first.TokenHash, exp.Add(-time.Millisecond)); err != nil {
		t.Fatalf("Upload just before expiry: %v", err)
	}
}

func testAttach(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	u := upload(t, s, "acme", 1, "v1", func(u *refstore.Upload) { u.Size = 111 })
	where := addr("en-US", "public/views", "shot.png")
	asset, prev, err := attachAt(t, s, u, 1001, where, t0)
	if err != nil {
		t.Fatal(err)
	}
	if prev != nil {
		t.Fatalf("first attach returned a previous asset %+v", prev)
	}
	want := refstore.Asset{ID: asset.ID, Account: "acme", ProjectID: 10, DocumentID: 100, SegmentID: 1001, Address: where,
		Size: 111, SHA256: u.SHA256, ContentType: "image/png", Created: refstore.TicksOf(t0), Modified: refstore.TicksOf(t0),
		BlobKey: u.BlobKey}
	if !reflect.DeepEqual(*asset, want) {
		t.Fatalf("Attach =\n %+v\nwant\n %+v", *asset, want)
	}
	// It reads back the same, by address and by id, with 100 ns dates intact.
	byAddr, err := s.Asset(ctx, "acme", 1001, where)
	if err != nil || !reflect.DeepEqual(*byAddr, want) {
		t.Fatalf("Asset = %+v, %v", byAddr, err)
	}
	byID, err := s.AssetByID(ctx, "acme", asset.ID)
	if err != nil || !reflect.DeepEqual(*byID, want) {
		t.Fatalf("AssetByID = %+v, %v", byID, err)
	}
	// Addresses match exactly.
	for _, a := range []refstore.Address{addr("en", "public/views", "shot.png"), addr("en-US", "public", "shot.png"),
		addr("en-US", "public/views", "Shot.png"), addr("", "public/views", "shot.png")} {
		if _, err := s.Asset(ctx, "acme", 1001, a); refstore.ErrorCode(err) != refstore.CodeAssetNotFound {
			t.Errorf("Asset(%v) = %v, want %s", a.Elements(), err, refstore.CodeAssetNotFound)
		}
	}
	if _, err := s.Asset(ctx, "other", 1001, where); refstore.ErrorCode(err) != refstore.CodeAssetNotFound {
		t.Errorf("another account sees the asset: %v", err)
	}
	if _, err := s.AssetByID(ctx, "other", asset.ID); refstore.ErrorCode(err) != refstore.CodeAssetNotFound {
		t.Errorf("another account sees the asset by id: %v", err)
	}

	// Overwrite with other bytes: same id and creation date, later modification date.
	u2 := upload(t, s, "acme", 1, "v2", func(u *refstore.Upload) { u.Size = 222; u.ContentType = "image/jpeg" })
	later := t0.Add(time.Minute)
	over, prev, err := attachAt(t, s, u2, 1001, where, later)
	if err != nil {
		t.Fatal(err)
	}
	if prev == nil || !reflect.DeepEqual(*prev, want) {
		t.Fatalf("previous = %+v, want %+v", prev, want)
	}
	if over.ID != asset.ID || over.Created != asset.Created || over.Modified != refstore.TicksOf(later) ||
		over.Size != 222 || over.SHA256 != u2.SHA256 || over.ContentType != "image/jpeg" || over.BlobKey != u2.BlobKey {
		t.Fatalf("overwrite = %+v", over)
	}
	if got, _ := s.AssetByID(ctx, "acme", asset.ID); !reflect.DeepEqual(got, over) {
		t.Fatalf("stored after overwrite = %+v, want %+v", got, over)
	}
	// Even when the clock does not move (or goes back), the version changes.
	for _, now := range []time.Time{later, later, t0} {
		before, _ := s.AssetByID(ctx, "acme", asset.ID)
		again, prev, err := attachAt(t, s, u, 1001, where, now)
		if err != nil {
			t.Fatal(err)
		}
		if prev.Modified != before.Modified || again.Modified <= before.Modified || again.Modified != before.Modified+1 {
			t.Fatalf("overwrite at %v: modified %d, before %d", now, again.Modified, before.Modified)
		}
		if again.ID != asset.ID || again.Created != asset.Created {
			t.Fatalf("overwrite changed id or creation: %+v", again)
		}
	}
	if as := listAssets(t, s, "acme", 1001); len(as) != 1 {
		t.Fatalf("overwrites multiplied the asset: %v", paths(as))
	}
	// The upload stays usable: the same token attaches elsewhere, sharing the blob.
	copy2 := mustAttach(t, s, u, 1002, where)
	if copy2.ID == asset.ID || copy2.BlobKey != u.BlobKey {
		t.Fatalf("second attach of one upload = %+v", copy2)
	}
}

func testAttachErrors(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	u := upload(t, s, "acme", 1, "bytes", expires(t0.Add(time.Hour)))
	mustAttach(t, s, u, 1001, addr("en", "", "a.png"))
	mustAttach(t, s, u, 1001, addr("", "img", "b.png"))

	for _, a := range []refstore.Address{
		addr("", "en", "a.png"),    // folder en = locale en
		addr("", "", "img"),        // a file where a folder is
		addr("", "img/b.png", "c"), // a folder where a file is
		addr("en", "a.png", "x"),
	} {
		_, _, err := attachAt(t, s, u, 1001, a, t0)
		if refstore.ErrorCode(err) != refstore.CodeConflict {
			t.Errorf("Attach %v = %v, want %s", a.Elements(), err, refstore.CodeConflict)
		}
	}
	// Other segments have their own layout.
	mustAttach(t, s, u, 1002, addr("", "en", "a.png"))

	// Expired, another user's, another account's, unknown.
	_, _, err := attachAt(t, s, u, 1001, addr("", "", "late.png"), t0.Add(time.Hour))
	wantCode(t, err, refstore.CodeFileTokenInvalid)
	p := refstore.AttachParams{Account: "acme", UserID: 2, UploadHash: u.TokenHash, Segment: segment(t, s, "acme", 1001),
		Address: addr("", "", "c.png"), Now: t0, NewID: 99}
	_, _, err = s.Attach(ctx, p)
	wantCode(t, err, refstore.CodeFileTokenInvalid)
	p.UserID, p.UploadHash = 1, hex32()
	_, _, err = s.Attach(ctx, p)
	wantCode(t, err, refstore.CodeFileTokenInvalid)
	o := upload(t, s, "other", 1, "bytes")
	p.UploadHash = o.TokenHash
	_, _, err = s.Attach(ctx, p)
	wantCode(t, err, refstore.CodeFileTokenInvalid)
	// A segment that is not where the caller placed it.
	p.UploadHash = u.TokenHash
	p.Segment = refstore.SegmentRef{ID: 1001, DocumentID: 101, ProjectID: 10}
	_, _, err = s.Attach(ctx, p)
	wantCode(t, err, refstore.CodeSegmentNotFound)
	p.Segment = refstore.SegmentRef{ID: 9999, DocumentID: 100, ProjectID: 10}
	_, _, err = s.Attach(ctx, p)
	wantCode(t, err, refstore.CodeSegmentNotFound)

	if as := listAssets(t, s, "acme", 1001); !slices.Equal(paths(as), []string{"1001:img/b.png", "1001:en/a.png"}) {
		t.Fatalf("failed attaches changed the segment: %v", paths(as))
	}
	if _, err := s.AssetByID(ctx, "acme", 99); refstore.ErrorCode(err) != refstore.CodeAssetNotFound {
		t.Fatalf("a failed attach left asset 99: %v", err)
	}
}

func testSegmentAssetsOrder(t *testing.T, s *Store) {
	loadCatalog(t, s)
	u := upload(t, s, "acme", 1, "bytes")
	// Attached in an order unrelated to the listing's.
	for _, a := range []struct {
		seg int64
		a   refstore.Address
	}{
		{1001, addr("fr", "", "b.png")},
		{1001, addr("en", "", "z.png")},
		{1001, addr("", "a/b", "x.png")}, // relativePath a\b
		{1001, addr("", "a0", "x.png")},  // a0 sorts before a\b (but after a/b)
		{1001, addr("", "", "b.png")},
		{1001, addr("", "", "B.png")},
		{1001, addr("", "", "a.png")},
		{1001, addr("", "Z", "x.png")},
		{1001, addr("en", "", "a.png")},
		{1001, addr("en-US", "", "a.png")},
		{1002, addr("", "", "first.png")},
		{2001, addr("", "", "other.png")},
	} {
		mustAttach(t, s, u, a.seg, a.a)
	}
	want1001 := []string{
		"1001:B.png", "1001:a.png", "1001:b.png", // neutral, root, by name (bytewise)
		"1001:Z/x.png", "1001:a0/x.png", "1001:a/b/x.png", // neutral, relativePath Z < a0 < a\b
		"1001:en/a.png", "1001:en/z.png",
		"1001:en-US/a.png",
		"1001:fr/b.png",
	}
	if got := paths(listAssets(t, s, "acme", 1001)); !slices.Equal(got, want1001) {
		t.Fatalf("SegmentAssets(1001) =\n %q\nwant\n %q", got, want1001)
	}
	// Segments come in the order asked for; unknown and empty ones add nothing.
	got := paths(listAssets(t, s, "acme", 2001, 9999, 1201, 1002, 1001))
	want := append([]string{"2001:other.png", "1002:first.png"}, want1001...)
	if !slices.Equal(got, want) {
		t.Fatalf("SegmentAssets(2001, 9999, 1201, 1002, 1001) =\n %q\nwant\n %q", got, want)
	}
	for _, ids := range [][]int64{nil, {}, {1201}, {9999}} {
		as, err := s.SegmentAssets(t.Context(), "acme", ids)
		if err != nil || as == nil || len(as) != 0 {
			t.Fatalf("SegmentAssets(%v) = %#v, %v; want an empty non-nil list", ids, as, err)
		}
	}
	if as := listAssets(t, s, "other", 1001); len(as) != 0 {
		t.Fatalf("another account lists %v", paths(as))
	}
	// Every listed asset is complete.
	for _, a := range listAssets(t, s, "acme", 1001) {
		if a.Account != "acme" || a.ProjectID != 10 || a.DocumentID != 100 || a.BlobKey != u.BlobKey || a.ID == 0 || a.Created == 0 {
			t.Fatalf("listed asset %+v", a)
		}
	}
}

func testDeleteAssets(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	u := upload(t, s, "acme", 1, "bytes")
	a := mustAttach(t, s, u, 1001, addr("", "", "a.png"))
	mustAttach(t, s, u, 1001, addr("en", "", "a.png"))
	mustAttach(t, s, u, 1001, addr("fr", "x/y", "a.png"))
	mustAttach(t, s, u, 1002, addr("", "", "a.png"))

	// One asset, matched exactly.
	none, err := s.DeleteAssets(ctx, "acme", 1001, &refstore.Address{Name: "A.png"}, nil)
	if err != nil || len(none) != 0 {
		t.Fatalf("deleting a missing asset = %v, %v", paths(none), err)
	}
	one, err := s.DeleteAssets(ctx, "acme", 1001, &refstore.Address{Name: "a.png"}, nil)
	if err != nil || len(one) != 1 || one[0].ID != a.ID || one[0].BlobKey != u.BlobKey || one[0].ProjectID != 10 {
		t.Fatalf("DeleteAssets(one) = %+v, %v", one, err)
	}
	if got := paths(listAssets(t, s, "acme", 1001)); !slices.Equal(got, []string{"1001:en/a.png", "1001:fr/x/y/a.png"}) {
		t.Fatalf("after deleting one: %v", got)
	}
	// Another account's segment with the same id is not reached.
	if got, err := s.DeleteAssets(ctx, "other", 1001, nil, nil); err != nil || len(got) != 0 {
		t.Fatalf("DeleteAssets(other) = %v, %v", paths(got), err)
	}
	// All of a segment, every locale.
	all, err := s.DeleteAssets(ctx, "acme", 1001, nil, nil)
	if err != nil || !slices.Equal(paths(all), []string{"1001:en/a.png", "1001:fr/x/y/a.png"}) {
		t.Fatalf("DeleteAssets(all) = %v, %v", paths(all), err)
	}
	if got := listAssets(t, s, "acme", 1001); len(got) != 0 {
		t.Fatalf("after deleting all: %v", paths(got))
	}
	if got := listAssets(t, s, "acme", 1002); len(got) != 1 {
		t.Fatalf("segment 1002 lost its asset: %v", paths(got))
	}
	again, err := s.DeleteAssets(ctx, "acme", 1001, nil, nil)
	if err != nil || len(again) != 0 {
		t.Fatalf("deleting an empty segment = %v, %v", paths(again), err)
	}
	if _, err := s.DeleteAssets(ctx, "acme", 9999, nil, nil); err != nil {
		t.Fatalf("deleting the assets of an unknown segment: %v", err)
	}
	// A deleted address can be used again, by a new asset.
	b := mustAttach(t, s, u, 1001, addr("", "", "a.png"))
	if b.ID == a.ID {
		t.Fatal("a new asset reused a deleted one's id")
	}
}

func testCollectGarbage(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	attached := upload(t, s, "acme", 1, "attached", expires(t0.Add(time.Hour)))
	mustAttach(t, s, attached, 1001, addr("", "", "a.png"))
	pending := upload(t, s, "acme", 1, "pending", expires(t0.Add(time.Hour)))
	orphan := upload(t, s, "acme", 1, "orphan", expires(t0.Add(time.Minute)))
	deleted := upload(t, s, "acme", 1, "deleted", expires(t0.Add(time.Minute)))
	mustAttach(t, s, deleted, 1002, addr("", "", "a.png"))
	theirs := upload(t, s, "other", 1, "orphan", expires(t0.Add(time.Minute)))

	// While everything is referenced, nothing goes.
	if refs, err := s.CollectGarbage(ctx, nil, time.Now(), 0); err != nil || len(refs) != 0 {
		t.Fatalf("CollectGarbage with everything referenced = %v, %v", blobKeys(refs), err)
	}
	if _, err := s.DeleteExpiredUploads(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteAssets(ctx, "acme", 1002, nil, nil); err != nil {
		t.Fatal(err)
	}
	// The writes that left blobs unreferenced marked them, and only them.
	marked := map[string]bool{}
	if err := s.BlobRecords(ctx, func(r refstore.BlobRecord) error {
		marked[r.Account+"/"+r.Key] = !r.GarbageSince.IsZero()
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []refstore.BlobRef{{Account: "acme", Key: orphan.BlobKey}, {Account: "acme", Key: deleted.BlobKey},
		{Account: "other", Key: theirs.BlobKey}} {
		if !marked[ref.Account+"/"+ref.Key] {
			t.Errorf("blob %v lost its last reference but is not marked", ref)
		}
	}
	for _, ref := range []refstore.BlobRef{{Account: "acme", Key: attached.BlobKey}, {Account: "acme", Key: pending.BlobKey}} {
		if marked[ref.Account+"/"+ref.Key] {
			t.Errorf("referenced blob %v is marked", ref)
		}
	}
	// Blobs that earlier versions left unreferenced and unmarked: found by candidates or a
	// full scan.
	if _, err := s.write.ExecContext(ctx, `UPDATE blobs SET garbage_since = NULL`); err != nil {
		t.Fatal(err)
	}
	// Candidates: only those named, and only when unreferenced.
	refs, err := s.CollectGarbage(ctx, []refstore.ContentID{
		{Account: "acme", SHA256: attached.SHA256}, // an asset holds it
		{Account: "acme", SHA256: pending.SHA256},  // a live upload holds it
		{Account: "acme", SHA256: orphan.SHA256},   // free
		{Account: "acme", SHA256: sha("never")},    // unknown
	}, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := blobKeys([]refstore.BlobRef{{Account: "acme", Key: orphan.BlobKey}}); !slices.Equal(blobKeys(refs), want) {
		t.Fatalf("CollectGarbage(candidates) = %v, want %v", blobKeys(refs), want)
	}
	if known, _ := s.BlobKnown(ctx, refstore.BlobRef{Account: "acme", Key: orphan.BlobKey}); known {
		t.Fatal("a collected blob is still known")
	}
	// Candidates of one account do not collect another's same content.
	if known, _ := s.BlobKnown(ctx, refstore.BlobRef{Account: "other", Key: theirs.BlobKey}); !known {
		t.Fatal("collecting acme's content collected other's")
	}
	// An empty candidate list collects nothing.
	if refs, err := s.CollectGarbage(ctx, []refstore.ContentID{}, time.Now(), 0); err != nil || len(refs) != 0 {
		t.Fatalf("CollectGarbage([]) = %v, %v", blobKeys(refs), err)
	}
	// nil: everything unreferenced, in every account.
	refs, err = s.CollectGarbage(ctx, nil, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := blobKeys([]refstore.BlobRef{{Account: "acme", Key: deleted.BlobKey}, {Account: "other", Key: theirs.BlobKey}})
	if !slices.Equal(blobKeys(refs), want) {
		t.Fatalf("CollectGarbage(nil) = %v, want %v", blobKeys(refs), want)
	}
	for _, ref := range []refstore.BlobRef{{Account: "acme", Key: attached.BlobKey}, {Account: "acme", Key: pending.BlobKey}} {
		if known, _ := s.BlobKnown(ctx, ref); !known {
			t.Fatalf("referenced blob %v was collected", ref)
		}
	}
	if refs, err := s.CollectGarbage(ctx, nil, time.Now(), 0); err != nil || len(refs) != 0 {
		t.Fatalf("a second CollectGarbage = %v, %v", blobKeys(refs), err)
	}
	// What is left still works.
	if _, err := s.Upload(ctx, "acme", 1, pending.TokenHash, t0); err != nil {
		t.Fatal(err)
	}
	mustAttach(t, s, pending, 1002, addr("", "", "p.png"))
	// Uploading collected content again records it afresh.
	re := upload(t, s, "acme", 1, "orphan")
	if re.BlobKey == orphan.BlobKey {
		t.Fatal("re-uploaded content got the collected key back")
	}
}

func testDeleteExpiredUploads(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	early := upload(t, s, "acme", 1, "early", expires(t0.Add(time.Minute)))
	edge := upload(t, s, "acme", 2, "edge", expires(t0.Add(2*time.Minute)))
	late := upload(t, s, "acme", 1, "late", expires(t0.Add(time.Hour)))
	theirs := upload(t, s, "other", 1, "early", expires(t0.Add(time.Minute)))
	mustAttach(t, s, early, 1001, addr("", "", "a.png"))

	if ids, err := s.DeleteExpiredUploads(ctx, t0); err != nil || len(ids) != 0 {
		t.Fatalf("DeleteExpiredUploads(t0) = %v, %v", ids, err)
	}
	// Expired at or before now.
	ids, err := s.DeleteExpiredUploads(ctx, t0.Add(2*time.Minute))
	if err != nil {
		t.Fatal(err)
	}
	slices.SortFunc(ids, func(a, b refstore.ContentID) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.SHA256, b.SHA256))
	})
	want := []refstore.ContentID{{Account: "acme", SHA256: early.SHA256}, {Account: "acme", SHA256: edge.SHA256}, {Account: "other", SHA256: theirs.SHA256}}
	slices.SortFunc(want, func(a, b refstore.ContentID) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.SHA256, b.SHA256))
	})
	if !slices.Equal(ids, want) {
		t.Fatalf("DeleteExpiredUploads = %v, want %v", ids, want)
	}
	if _, err := s.Upload(ctx, "acme", 1, late.TokenHash, t0); err != nil {
		t.Fatalf("a live upload was removed: %v", err)
	}
	if _, err := s.Upload(ctx, "acme", 1, early.TokenHash, t0); refstore.ErrorCode(err) != refstore.CodeFileTokenInvalid {
		t.Fatalf("an expired upload survived: %v", err)
	}
	// The asset attached from an expired upload stays, and so does its blob.
	if as := listAssets(t, s, "acme", 1001); len(as) != 1 {
		t.Fatalf("assets after the uploads expired: %v", paths(as))
	}
	refs, err := s.CollectGarbage(ctx, ids, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if want := blobKeys([]refstore.BlobRef{{Account: "acme", Key: edge.BlobKey}, {Account: "other", Key: theirs.BlobKey}}); !slices.Equal(blobKeys(refs), want) {
		t.Fatalf("CollectGarbage(expired) = %v, want %v", blobKeys(refs), want)
	}
	if ids, err := s.DeleteExpiredUploads(ctx, t0.Add(2*time.Minute)); err != nil || len(ids) != 0 {
		t.Fatalf("a second DeleteExpiredUploads = %v, %v", ids, err)
	}
}

func testAssetSegments(t *testing.T, s *Store) {
	loadCatalog(t, s)
	list := func() []string {
		var out []string
		if err := s.AssetSegments(t.Context(), func(account string, seg int64) error {
			out = append(out, fmt.Sprintf("%s/%d", account, seg))
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := list(); len(got) != 0 {
		t.Fatalf("AssetSegments of an empty store = %v", got)
	}
	u := upload(t, s, "acme", 1, "bytes")
	for _, seg := range []int64{2001, 1001, 1001, 1101} {
		mustAttach(t, s, u, seg, addr("", "", fmt.Sprintf("%d-%d.png", seg, nextAssetID.Load())))
	}
	o := upload(t, s, "other", 1, "bytes")
	mustAttach(t, s, o, 1001, addr("", "", "a.png"))
	// Each segment once.
	got := list()
	slices.Sort(got)
	if want := []string{"acme/1001", "acme/1101", "acme/2001", "other/1001"}; !slices.Equal(got, want) {
		t.Fatalf("AssetSegments = %v, want %v", got, want)
	}
	// An error from fn stops the walk and comes back.
	stop := errors.New("stop")
	calls := 0
	err := s.AssetSegments(t.Context(), func(string, int64) error { calls++; return stop })
	if !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("AssetSegments with a failing fn = %v after %d calls", err, calls)
	}
}

// With a grace period a blob that lost its last reference is only marked; it goes once
// it has been garbage for the whole period, and a new upload of its bytes revives it.
func testCollectGarbageGrace(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	const grace = 10 * time.Minute
	u := upload(t, s, "acme", 1, "bytes", expires(t0.Add(time.Minute)))
	if _, err := s.DeleteExpiredUploads(ctx, t0.Add(2*time.Minute)); err != nil {
		t.Fatal(err)
	}
	ref := refstore.BlobRef{Account: "acme", Key: u.BlobKey}
	collect := func(at time.Duration, candidates []refstore.ContentID) []string {
		t.Helper()
		refs, err := s.CollectGarbage(ctx, candidates, t0.Add(at), grace)
		if err != nil {
			t.Fatal(err)
		}
		return blobKeys(refs)
	}
	if got := collect(3*time.Minute, []refstore.ContentID{{Account: "acme", SHA256: u.SHA256}}); len(got) != 0 {
		t.Fatalf("a blob just marked was removed: %v", got)
	}
	if got := collect(8*time.Minute, nil); len(got) != 0 {
		t.Fatalf("a blob marked 5 minutes ago was removed: %v", got)
	}
	if known, _ := s.BlobKnown(ctx, ref); !known {
		t.Fatal("a marked blob is no longer known")
	}
	// The same bytes uploaded again: the marked blob is reused and revived.
	again := upload(t, s, "acme", 1, "bytes", expires(t0.Add(20*time.Minute)))
	if again.BlobKey != u.BlobKey {
		t.Fatalf("the second upload got blob %s, want the marked %s", again.BlobKey, u.BlobKey)
	}
	if got := collect(14*time.Minute, nil); len(got) != 0 {
		t.Fatalf("a revived blob was removed: %v", got)
	}
	if _, err := s.DeleteExpiredUploads(ctx, t0.Add(21*time.Minute)); err != nil {
		t.Fatal(err)
	}
	if got := collect(22*time.Minute, nil); len(got) != 0 {
		t.Fatalf("the blob was removed when marked again: %v", got)
	}
	if got, want := collect(32*time.Minute, nil), blobKeys([]refstore.BlobRef{ref}); !slices.Equal(got, want) {
		t.Fatalf("after the grace period CollectGarbage = %v, want %v", got, want)
	}
	if known, _ := s.BlobKnown(ctx, ref); known {
		t.Fatal("the removed blob is still known")
	}
}

// Many writers at once (on SQLite they share transactions): every write that succeeds is
// there, every write that fails left nothing, and concurrent uploads of the same bytes
// share one blob.
func testConcurrentWrites(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	shared := upload(t, s, "acme", 1, "shared")
	const n = 48
	var wg sync.WaitGroup
	errs := make([]error, n)
	keys := make([]string, n)
	for i := range n {
		wg.Go(func() {
			// Every writer uploads the same bytes again, attaches them, and tries one
			// attach that must fail (an unknown file token).
			u := &refstore.Upload{TokenHash: hex32(), Account: "acme", UserID: 1, Name: "x.png", Size: int64(len("shared")),
				SHA256: sha("shared"), ContentType: "image/png", Created: t0, Expires: t0.Add(24 * time.Hour), BlobKey: hex32()}
			key, err := s.CreateUpload(ctx, u, nil)
			if err != nil {
				errs[i] = err
				return
			}
			keys[i] = key
			_, _, err = s.Attach(ctx, refstore.AttachParams{Account: "acme", UserID: 1, UploadHash: u.TokenHash,
				Segment: refstore.SegmentRef{ID: 1001, DocumentID: 100, ProjectID: 10}, Address: addr("", "", fmt.Sprintf("f%d.png", i)), Now: t0, NewID: int64(5000 + i)})
			if err != nil {
				errs[i] = err
				return
			}
			_, _, err = s.Attach(ctx, refstore.AttachParams{Account: "acme", UserID: 1, UploadHash: hex32(),
				Segment: refstore.SegmentRef{ID: 1001, DocumentID: 100, ProjectID: 10}, Address: addr("", "", fmt.Sprintf("bad%d.png", i)), Now: t0, NewID: int64(6000 + i)})
			if refstore.ErrorCode(err) != refstore.CodeFileTokenInvalid {
				errs[i] = fmt.Errorf("attach with an unknown token: %v", err)
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
		if keys[i] != shared.BlobKey {
			t.Fatalf("writer %d got blob %s, want the shared %s", i, keys[i], shared.BlobKey)
		}
	}
	assets, err := s.SegmentAssets(ctx, "acme", []int64{1001})
	if err != nil {
		t.Fatal(err)
	}
	if len(assets) != n {
		t.Fatalf("%d assets after %d successful attaches", len(assets), n)
	}
	for _, a := range assets {
		if !strings.HasPrefix(a.Name, "f") || a.BlobKey != shared.BlobKey {
			t.Fatalf("unexpected asset %+v", a)
		}
	}
}

// garbageMarks returns, by content label's SHA-256, whether each of acme's blobs is marked.
func garbageMarks(t *testing.T, s *Store) map[string]bool {
	t.Helper()
	marks := map[string]bool{}
	if err := s.BlobRecords(t.Context(), func(r refstore.BlobRecord) error {
		if r.Account == "acme" {
			marks[r.SHA256] = !r.GarbageSince.IsZero()
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return marks
}

// Every write that takes a blob's last reference away marks the blob in its own
// transaction, so that no crash or stop between the commit and a collection can leave an
// unreferenced blob unmarked (only a full scan would find it): an overwrite with other
// bytes, an import that replaces an asset, the removal of a catalog entry that cascades to
// assets or uploads.
func testUnreferencingWritesMark(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	want := func(when string, marked map[string]bool) {
		t.Helper()
		got := garbageMarks(t, s)
		for label, m := range marked {
			if got[sha(label)] != m {
				t.Errorf("%s: blob of %q marked %t, want %t", when, label, got[sha(label)], m)
			}
		}
	}
	first := upload(t, s, "acme", 1, "first", expires(t0.Add(time.Minute)))
	mustAttach(t, s, first, 1001, addr("", "", "a.png"))
	upload(t, s, "acme", 1, "second", expires(t0.Add(time.Minute)))
	if _, err := s.DeleteExpiredUploads(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	want("after the uploads expired", map[string]bool{"first": false, "second": true})

	third := upload(t, s, "acme", 1, "third")
	mustAttach(t, s, third, 1001, addr("", "", "a.png")) // overwrites first
	if _, err := s.DeleteExpiredUploads(ctx, t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	want("after an overwrite", map[string]bool{"first": true, "third": false})

	if _, _, err := s.ImportAsset(ctx, imported(7001, 1001, addr("", "", "a.png"), "fourth"), nil); err != nil {
		t.Fatal(err)
	}
	want("after an import replaced the asset", map[string]bool{"third": true, "fourth": false})

	mustAttach(t, s, upload(t, s, "acme", 1, "fifth", expires(t0.Add(time.Minute))), 1002, addr("", "", "b.png"))
	if _, err := s.DeleteExpiredUploads(ctx, t0.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	want("while an asset holds it", map[string]bool{"fifth": false})
	if _, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntrySegment, Account: "acme", ID: 1002}, nil); err != nil {
		t.Fatal(err)
	}
	want("after the segment's removal", map[string]bool{"fourth": false, "fifth": true})

	upload(t, s, "acme", 3, "sixth")
	if _, err := s.RemoveEntry(ctx, refstore.Entry{Kind: refstore.EntryUser, Account: "acme", ID: 3}, nil); err != nil {
		t.Fatal(err)
	}
	want("after the uploader's removal", map[string]bool{"fourth": false, "sixth": true})

	if _, err := s.DeleteAssets(ctx, "acme", 1001, nil, nil); err != nil {
		t.Fatal(err)
	}
	want("after the last asset's deletion", map[string]bool{"fourth": true})
	// A purge takes them all once their grace has passed, without candidates.
	refs, err := s.CollectGarbage(ctx, []refstore.ContentID{}, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(refs) != 6 || len(garbageMarks(t, s)) != 0 {
		t.Fatalf("the purge removed %v; left %v", blobKeys(refs), garbageMarks(t, s))
	}
}
