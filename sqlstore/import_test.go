package sqlstore

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/testenv"
)

// The methods export and import use; they run in the engine-neutral suite (testStore).

func testAccountAPIKeys(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	if keys, err := s.AccountAPIKeys(ctx, "acme"); err != nil || keys == nil || len(keys) != 0 {
		t.Fatalf("AccountAPIKeys without keys = %#v, %v; want an empty list", keys, err)
	}
	want := []refstore.APIKey{
		{ID: "k_a", Hash: "hash-a", Account: "acme", UserID: 1, Created: t0.Truncate(time.Millisecond)},
		{ID: "k_b", Hash: "hash-b", Account: "acme", UserID: 1, Created: t0.Add(time.Second).Truncate(time.Millisecond)},
		{ID: "k_c", Hash: "hash-c", Account: "acme", UserID: 3, Created: t0.Truncate(time.Millisecond)},
	}
	for _, k := range []refstore.APIKey{want[2], want[1], want[0],
		{ID: "k_o", Hash: "hash-o", Account: "other", UserID: 1, Created: t0}} {
		if err := s.AddAPIKey(ctx, k, nil); err != nil {
			t.Fatal(err)
		}
	}
	keys, err := s.AccountAPIKeys(ctx, "acme")
	if err != nil || !reflect.DeepEqual(keys, want) {
		t.Fatalf("AccountAPIKeys(acme) =\n %+v, %v\nwant\n %+v", keys, err, want)
	}
	// Restored elsewhere from these values, a key logs its user in.
	other := openLike(t, s)
	loadCatalog(t, other)
	for _, k := range keys {
		if err := other.AddAPIKey(ctx, k, nil); err != nil {
			t.Fatal(err)
		}
		if err := other.AddAPIKey(ctx, k, nil); err != nil {
			t.Fatalf("restoring a key twice: %v", err)
		}
	}
	if user, err := other.UserByKey(ctx, "acme", "hash-c"); err != nil || user != 3 {
		t.Fatalf("UserByKey after restoring = %d, %v", user, err)
	}
	if got, _ := other.AccountAPIKeys(ctx, "acme"); !reflect.DeepEqual(got, want) {
		t.Fatalf("restored keys = %+v", got)
	}
}

// openLike opens a second, empty store of the same engine as s.
func openLike(t *testing.T, s *Store) *Store {
	t.Helper()
	if s.write != s.read {
		return openSQLiteFile(t, filepath.Join(t.TempDir(), "meta.db"))
	}
	return openPostgresDB(t, testenv.Postgres(t))
}

func testContentBlob(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	u := upload(t, s, "acme", 1, "bytes")
	key, size, ok, err := s.ContentBlob(ctx, refstore.ContentID{Account: "acme", SHA256: sha("bytes")})
	if err != nil || !ok || key != u.BlobKey || size != u.Size {
		t.Fatalf("ContentBlob = %q, %d, %v, %v; want %q, %d", key, size, ok, err, u.BlobKey, u.Size)
	}
	for _, c := range []refstore.ContentID{{Account: "other", SHA256: sha("bytes")}, {Account: "acme", SHA256: sha("nope")}} {
		if _, _, ok, err := s.ContentBlob(ctx, c); ok || err != nil {
			t.Fatalf("ContentBlob(%v) = %v, %v; want not found", c, ok, err)
		}
	}
}

// imported is an asset as an export describes it.
func imported(id int64, seg int64, a refstore.Address, content string) *refstore.Asset {
	doc, project := int64(100), int64(10)
	switch seg {
	case 1101:
		doc = 101
	case 2001:
		doc, project = 200, 20
	}
	return &refstore.Asset{ID: id, Account: "acme", ProjectID: project, DocumentID: doc, SegmentID: seg, Address: a,
		Size: int64(len(content)), SHA256: sha(content), ContentType: "image/png",
		Created: refstore.TicksOf(t0) - 12345, Modified: refstore.TicksOf(t0) + 6789, BlobKey: hex32()}
}

func testImportAsset(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	where := addr("fr-CA", "a/b", "shot.png")
	in := imported(7001, 1001, where, "one")
	got, prev, err := s.ImportAsset(ctx, in, nil)
	if err != nil || prev != nil {
		t.Fatalf("ImportAsset = %+v, %+v, %v", got, prev, err)
	}
	if !reflect.DeepEqual(got, in) {
		t.Fatalf("ImportAsset =\n %+v\nwant\n %+v", got, in)
	}
	// It reads back exactly, id and 100 ns dates included.
	if byID, err := s.AssetByID(ctx, "acme", 7001); err != nil || !reflect.DeepEqual(byID, in) {
		t.Fatalf("AssetByID = %+v, %v", byID, err)
	}
	// Again: the same row, nothing new.
	again, prev, err := s.ImportAsset(ctx, in, nil)
	if err != nil || !reflect.DeepEqual(again, in) || prev == nil || !reflect.DeepEqual(prev, in) {
		t.Fatalf("importing again = %+v, previous %+v, %v", again, prev, err)
	}
	if as := listAssets(t, s, "acme", 1001); len(as) != 1 {
		t.Fatalf("importing twice made %v", paths(as))
	}

	// The same bytes for another asset: the account's blob is used, and the caller's key
	// is not recorded.
	dup := imported(7002, 1002, addr("", "", "copy.png"), "one")
	got, _, err = s.ImportAsset(ctx, dup, nil)
	if err != nil || got.BlobKey != in.BlobKey {
		t.Fatalf("importing known bytes = %+v, %v; want blob %s", got, err, in.BlobKey)
	}
	if known, _ := s.BlobKnown(ctx, refstore.BlobRef{Account: "acme", Key: dup.BlobKey}); known {
		t.Fatal("the duplicate's own blob key was recorded")
	}
	// Without a key the bytes must be there already.
	noKey := imported(7003, 1002, addr("", "", "third.png"), "one")
	noKey.BlobKey = ""
	if got, _, err = s.ImportAsset(ctx, noKey, nil); err != nil || got.BlobKey != in.BlobKey {
		t.Fatalf("importing without a key = %+v, %v", got, err)
	}
	missing := imported(7004, 1002, addr("", "", "fourth.png"), "never stored")
	missing.BlobKey = ""
	_, _, err = s.ImportAsset(ctx, missing, nil)
	wantCode(t, err, refstore.CodeNotFound)

	// The same id again with new bytes, type and dates: replaced in place.
	v2 := imported(7001, 1001, where, "two!")
	v2.ContentType, v2.Created, v2.Modified = "image/jpeg", in.Created-1, in.Modified+1
	got, prev, err = s.ImportAsset(ctx, v2, nil)
	if err != nil || prev == nil || prev.SHA256 != in.SHA256 || got.SHA256 != v2.SHA256 {
		t.Fatalf("importing a new version = %+v, previous %+v, %v", got, prev, err)
	}
	if byID, _ := s.AssetByID(ctx, "acme", 7001); !reflect.DeepEqual(byID, v2) {
		t.Fatalf("after a new version: %+v, want %+v", byID, v2)
	}
	// Another id at the address: the asset there is replaced by the imported one.
	other := imported(7005, 1001, where, "two!")
	got, prev, err = s.ImportAsset(ctx, other, nil)
	if err != nil || prev == nil || prev.ID != 7001 || got.ID != 7005 {
		t.Fatalf("importing over another id = %+v, previous %+v, %v", got, prev, err)
	}
	if _, err := s.AssetByID(ctx, "acme", 7001); refstore.ErrorCode(err) != refstore.CodeAssetNotFound {
		t.Fatalf("the replaced asset is still there: %v", err)
	}
	if as := listAssets(t, s, "acme", 1001); len(as) != 1 || as[0].ID != 7005 {
		t.Fatalf("segment after replacing: %+v", as)
	}
	// What was replaced can be collected: nothing references "one"'s blob but 7002, 7003.
	if refs, err := s.CollectGarbage(ctx, []refstore.ContentID{{Account: "acme", SHA256: sha("one")}}, t0, 0); err != nil || len(refs) != 0 {
		t.Fatalf("CollectGarbage of a referenced blob = %v, %v", refs, err)
	}
}

func testImportAssetErrors(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	if _, _, err := s.ImportAsset(ctx, imported(8001, 1001, addr("en", "", "a.png"), "x"), nil); err != nil {
		t.Fatal(err)
	}
	check := func(what string, a *refstore.Asset, code refstore.Code) {
		t.Helper()
		_, _, err := s.ImportAsset(ctx, a, nil)
		if refstore.ErrorCode(err) != code {
			t.Errorf("%s: %v, want %s", what, err, code)
		}
		if _, err := s.AssetByID(ctx, "acme", a.ID); a.ID != 8001 && refstore.ErrorCode(err) != refstore.CodeAssetNotFound {
			t.Errorf("%s: the asset was stored (%v)", what, err)
		}
		if known, _ := s.BlobKnown(ctx, refstore.BlobRef{Account: "acme", Key: a.BlobKey}); known {
			t.Errorf("%s: the blob was recorded", what)
		}
	}
	check("a folder where a locale is", imported(8002, 1001, addr("", "en", "a.png"), "y"), refstore.CodeConflict)
	check("a file where a folder is", imported(8003, 1001, addr("", "", "en"), "y"), refstore.CodeConflict)
	check("an id at another address", imported(8001, 1002, addr("", "", "b.png"), "y"), refstore.CodeConflict)
	wrongDoc := imported(8004, 1001, addr("", "", "c.png"), "y")
	wrongDoc.DocumentID = 101
	check("a segment of another document", wrongDoc, refstore.CodeSegmentNotFound)
	wrongProject := imported(8005, 1001, addr("", "", "c.png"), "y")
	wrongProject.ProjectID = 20
	check("a document of another project", wrongProject, refstore.CodeConflict)
	check("an unknown segment", imported(8006, 9999, addr("", "", "c.png"), "y"), refstore.CodeSegmentNotFound)
	otherSize := imported(8007, 1002, addr("", "", "c.png"), "x")
	otherSize.Size = 99
	check("known bytes of another size", otherSize, refstore.CodeConflict)
	if as := listAssets(t, s, "acme", 1001, 1002); !slices.Equal(paths(as), []string{"1001:en/a.png"}) {
		t.Fatalf("failed imports changed the segments: %v", paths(as))
	}
}

// TestSQLiteReadOnly opens a database that a writer holds open: the reader sees each of
// its commits, writes nothing, and refuses every write.
func TestSQLiteReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "meta.db")
	w := openSQLiteFile(t, path)
	loadCatalog(t, w)
	r, err := OpenReadOnly(t.Context(), "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if ids, err := r.Accounts(t.Context()); err != nil || !slices.Equal(ids, []string{"acme", "other"}) {
		t.Fatalf("Accounts = %v, %v", ids, err)
	}
	if err := upsert(t, w, refstore.CatalogAccount{ID: "third"}); err != nil {
		t.Fatal(err)
	}
	if ids, _ := r.Accounts(t.Context()); len(ids) != 3 {
		t.Fatalf("the reader does not see the writer's commit: %v", ids)
	}
	if err := upsert(t, r, refstore.CatalogAccount{ID: "fourth"}); err == nil {
		t.Fatal("a write through the read-only store succeeded")
	}
	if err := r.AddAPIKey(t.Context(), refstore.APIKey{ID: "k", Hash: "h", Account: "acme", UserID: 1, Created: t0}, nil); err == nil {
		t.Fatal("AddAPIKey through the read-only store succeeded")
	}
	if ids, _ := w.Accounts(t.Context()); len(ids) != 3 {
		t.Fatalf("accounts after refused writes: %v", ids)
	}
	// With the writer closed, the reader still works.
	w.Close()
	if err := r.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}

	// A missing file is an error, not a new database.
	missing := filepath.Join(dir, "nope.db")
	if s, err := OpenReadOnly(t.Context(), "sqlite:"+missing); err == nil {
		s.Close()
		t.Fatal("OpenReadOnly of a missing file succeeded")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("OpenReadOnly created the missing file")
	}
	// A file without the schema is refused with a message that says so.
	empty := filepath.Join(dir, "empty.db")
	os.WriteFile(empty, nil, 0o644)
	if s, err := OpenReadOnly(t.Context(), "sqlite:"+empty); err == nil || !strings.Contains(err.Error(), "schema") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("OpenReadOnly of an empty file = %v, want an error about the schema", err)
	}
}

// TestPostgreSQLReadOnly: sessions of a read-only store refuse writes in the server.
func TestPostgreSQLReadOnly(t *testing.T) {
	url := testenv.Postgres(t)
	if r, err := OpenReadOnly(t.Context(), url); err == nil {
		r.Close()
		t.Fatal("OpenReadOnly of a database without the schema succeeded")
	}
	w := openPostgresDB(t, url)
	loadCatalog(t, w)
	r, err := OpenReadOnly(t.Context(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got, err := r.AccountCatalog(t.Context(), "acme"); err != nil || !reflect.DeepEqual(got, expectedAcme()) {
		t.Fatalf("AccountCatalog = %+v, %v", got, err)
	}
	err = upsert(t, r, refstore.CatalogAccount{ID: "third"})
	if err == nil || !strings.Contains(err.Error(), "read-only") {
		t.Fatalf("a write through the read-only store = %v, want a read-only error", err)
	}
	if ids, _ := w.Accounts(t.Context()); len(ids) != 2 {
		t.Fatalf("accounts after a refused write: %v", ids)
	}
}

// testAccountCatalogConsistent reads an account's catalog while projects, documents and
// segments are being added: every read must be one consistent picture (an export copies
// it), never a document under another project or a segment under another document.
func testAccountCatalogConsistent(t *testing.T, s *Store) {
	ctx := t.Context()
	if err := upsert(t, s, refstore.CatalogAccount{ID: "acme", Projects: []refstore.CatalogProject{{ID: 1}}}); err != nil {
		t.Fatal(err)
	}
	// Project p holds document p+10000, which holds segment p+1010000.
	done := make(chan error, 1)
	go func() {
		defer close(done)
		for p := int64(2); p < 200; p++ {
			err := s.UpsertCatalog(ctx, &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: "acme",
				Projects: []refstore.CatalogProject{{ID: p, Documents: []refstore.CatalogDocument{{ID: p + 10000,
					Segments: []int64{p + 1010000}}}}},
				Jobs: []refstore.CatalogJob{{ID: p, ProjectID: p, DocumentIDs: []int64{p + 10000}}}}}}, nil, nil)
			if err != nil {
				done <- err
				return
			}
		}
	}()
	for reads := 0; ; reads++ {
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			if reads == 0 {
				t.Fatal("no read ran alongside the writes")
			}
			return
		default:
		}
		c, err := func() (c *refstore.CatalogAccount, err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("AccountCatalog panicked: %v", r)
				}
			}()
			return s.AccountCatalog(ctx, "acme")
		}()
		if err != nil {
			t.Fatal(err)
		}
		projects := map[int64]bool{}
		for _, p := range c.Projects {
			projects[p.ID] = true
			for _, d := range p.Documents {
				if d.ID != p.ID+10000 || !slices.Equal(d.Segments, []int64{p.ID + 1010000}) {
					t.Fatalf("read %d: project %d holds document %d with segments %v", reads, p.ID, d.ID, d.Segments)
				}
			}
			if p.ID > 1 && len(p.Documents) != 1 {
				t.Fatalf("read %d: project %d holds %d documents, want 1", reads, p.ID, len(p.Documents))
			}
		}
		for _, j := range c.Jobs {
			if !projects[j.ProjectID] || !slices.Equal(j.DocumentIDs, []int64{j.ID + 10000}) {
				t.Fatalf("read %d: job %+v", reads, j)
			}
		}
	}
}
