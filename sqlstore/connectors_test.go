package sqlstore

import (
	"maps"
	"reflect"
	"slices"
	"testing"

	"github.com/refstore/refstore"
)

// Documents' names and locales and users' e-mail addresses go into the catalog and come
// back; left out of a later upsert they are kept; target locales given as an empty list
// are cleared.
func testCatalogConnectorFields(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	named := refstore.CatalogAccount{ID: "acme",
		Users: []refstore.CatalogUser{{ID: 1, Email: "pm@acme.example"}},
		Projects: []refstore.CatalogProject{{ID: 10, Documents: []refstore.CatalogDocument{
			{ID: 100, Name: `games\sample.wbflex`, SourceLocale: "en", TargetLocales: []string{"de", "fr-CA"}}}}}}
	if err := upsert(t, s, named); err != nil {
		t.Fatal(err)
	}
	want := refstore.DocumentInfo{ID: 100, ProjectID: 10, Name: `games\sample.wbflex`, SourceLocale: "en", TargetLocales: []string{"de", "fr-CA"}}
	if d, err := s.Document(ctx, "acme", 100); err != nil || !reflect.DeepEqual(d, want) {
		t.Fatalf("Document(acme, 100) = %+v, %v; want %+v", d, err, want)
	}
	// An upsert that leaves them out keeps them (the fixture names neither).
	loadCatalog(t, s)
	got, err := s.AccountCatalog(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	if u := got.Users[0]; u.Name != "pm" || u.Email != "pm@acme.example" {
		t.Fatalf("user 1 after an upsert without email: %+v", u)
	}
	if d := got.Projects[0].Documents[0]; d.Name != want.Name || d.SourceLocale != "en" || !slices.Equal(d.TargetLocales, want.TargetLocales) {
		t.Fatalf("document 100 after an upsert without name or locales: %+v", d)
	}
	// Other documents read back as they were written: no locales, no name.
	if d := got.Projects[0].Documents[1]; d.Name != "" || d.SourceLocale != "" || d.TargetLocales != nil {
		t.Fatalf("document 101 gained fields: %+v", d)
	}
	named.Projects[0].Documents[0] = refstore.CatalogDocument{ID: 100, TargetLocales: []string{}}
	if err := upsert(t, s, named); err != nil {
		t.Fatal(err)
	}
	if d, _ := s.Document(ctx, "acme", 100); d.TargetLocales != nil || d.Name != want.Name {
		t.Fatalf("after clearing the target locales: %+v", d)
	}
}

// The reads of the connector routes: users, one document, the documents a caller may read,
// segment counts, and the owner of an API key — each within its account only.
func testConnectorReads(t *testing.T, s *Store) {
	ctx := t.Context()
	loadCatalog(t, s)
	users, err := s.Users(ctx, "acme")
	if err != nil {
		t.Fatal(err)
	}
	want := []refstore.CatalogUser{{ID: 1, Name: "pm"}, {ID: 2, Name: "translator"}, {ID: 3, Name: "reviewer"}, {ID: 4}}
	if !reflect.DeepEqual(users, want) {
		t.Fatalf("Users(acme) = %+v, want %+v", users, want)
	}
	if users, err := s.Users(ctx, "nosuch"); err != nil || len(users) != 0 {
		t.Fatalf("Users(nosuch) = %+v, %v", users, err)
	}

	if d, err := s.Document(ctx, "acme", 200); err != nil || d.ProjectID != 20 || d.Name != "" {
		t.Fatalf("Document(acme, 200) = %+v, %v", d, err)
	}
	_, err = s.Document(ctx, "acme", 999)
	wantCode(t, err, refstore.CodeScopeNotFound)
	_, err = s.Document(ctx, "other", 101) // acme's document, unknown in other
	wantCode(t, err, refstore.CodeScopeNotFound)

	// user 1: project 10 read; 2: standard job 50 read (100), Codyt job 50 upload only;
	// 3: project 10 read and job 51 without read; 4: nothing.
	for user, want := range map[int64][]int64{1: {100, 101, 102}, 2: {100}, 3: {100, 101, 102}, 4: {}} {
		docs, err := s.ReadableDocuments(ctx, refstore.Principal{Account: "acme", UserID: user})
		if err != nil {
			t.Fatal(err)
		}
		ids := []int64{}
		for _, d := range docs {
			ids = append(ids, d.ID)
		}
		if !slices.Equal(ids, want) {
			t.Fatalf("ReadableDocuments(acme, user %d) = %v, want %v", user, ids, want)
		}
	}
	if docs, _ := s.ReadableDocuments(ctx, refstore.Principal{Account: "other", UserID: 1}); len(docs) != 1 || docs[0].ID != 100 {
		t.Fatalf("ReadableDocuments(other, 1) = %+v", docs)
	}

	counts, err := s.SegmentCounts(ctx, "acme", []int64{100, 101, 999})
	if err != nil || !maps.Equal(counts, map[int64]int64{100: 2, 101: 1}) {
		t.Fatalf("SegmentCounts = %v, %v", counts, err)
	}
	if counts, err := s.SegmentCounts(ctx, "acme", nil); err != nil || len(counts) != 0 {
		t.Fatalf("SegmentCounts(none) = %v, %v", counts, err)
	}

	if err := s.AddAPIKey(ctx, refstore.APIKey{ID: "k_o", Hash: "hash-owner", Account: "other", UserID: 1, Created: t0}, nil); err != nil {
		t.Fatal(err)
	}
	if account, user, err := s.KeyOwner(ctx, "hash-owner"); err != nil || account != "other" || user != 1 {
		t.Fatalf("KeyOwner = %s, %d, %v", account, user, err)
	}
	_, _, err = s.KeyOwner(ctx, "hash-none")
	wantCode(t, err, refstore.CodeUnauthorized)
}
