package service

import (
	"slices"
	"testing"

	"github.com/refstore/refstore"
)

// connectorFixture: account acme, project 7 (documents 70 "games\sample.wbflex" en → de,
// fr and 71), Codyt job 5 covering 71; users 1 "Jane Doe" (read on project 7), 2 "Ola"
// (read on Codyt job 5), 3 (no grant). Each user has a key "acme-key-<id>-0123456789".
func connectorFixture(t *testing.T) *Service {
	t.Helper()
	s, _ := testService(t, Config{})
	c := &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: "acme",
		Users: []refstore.CatalogUser{{ID: 1, Name: "Jane Doe", Email: "jane@acme.example", APIKey: "acme-key-1-0123456789"},
			{ID: 2, Name: "Ola", APIKey: "acme-key-2-0123456789"}, {ID: 3, APIKey: "acme-key-3-0123456789"}},
		Projects: []refstore.CatalogProject{{ID: 7, Documents: []refstore.CatalogDocument{
			{ID: 70, Name: `games\sample.wbflex`, SourceLocale: "en", TargetLocales: []string{"de", "fr"}, Segments: []int64{700, 701}},
			{ID: 71, Segments: []int64{710}}}}},
		Jobs: []refstore.CatalogJob{{ID: 5, Codyt: true, ProjectID: 7, DocumentIDs: []int64{71}}},
		Grants: []refstore.CatalogGrant{{UserID: 1, ProjectID: 7, Rights: []string{"read"}},
			{UserID: 2, JobID: 5, Codyt: true, Rights: []string{"read"}}}}}}
	if err := s.UpsertCatalog(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPersons(t *testing.T) {
	s := connectorFixture(t)
	p := refstore.Principal{Account: "acme", UserID: 3} // no grant: persons need none
	total, rows, err := s.Persons(t.Context(), p, refstore.ListRequest{Take: 2})
	if err != nil {
		t.Fatal(err)
	}
	want := []refstore.Person{{ID: 1, FirstName: "Jane", LastName: "Doe", Email: "jane@acme.example"}, {ID: 2, FirstName: "Ola"}}
	if total != 3 || !slices.Equal(rows, want) {
		t.Fatalf("Persons(take 2) = %d, %+v", total, rows)
	}
	total, rows, _ = s.Persons(t.Context(), p, refstore.ListRequest{Skip: 2, Take: 20})
	if total != 3 || len(rows) != 1 || rows[0].ID != 3 {
		t.Fatalf("Persons(skip 2) = %d, %+v", total, rows)
	}
}

func TestFlexDocumentRights(t *testing.T) {
	s := connectorFixture(t)
	ctx := t.Context()
	jane, ola, nobody := refstore.Principal{Account: "acme", UserID: 1}, refstore.Principal{Account: "acme", UserID: 2},
		refstore.Principal{Account: "acme", UserID: 3}
	doc70 := refstore.Scope{Kind: refstore.ScopeDocument, ID: 70}
	d, err := s.FlexDocument(ctx, jane, doc70)
	if err != nil || d.Name != `games\sample.wbflex` || d.ProjectID != 7 || d.SourceLocale != "en" || !slices.Equal(d.TargetLocales, []string{"de", "fr"}) {
		t.Fatalf("FlexDocument(jane, 70) = %+v, %v", d, err)
	}
	// Ola reads document 71 through Codyt job 5, by the document or by c5.
	for _, sc := range []refstore.Scope{{Kind: refstore.ScopeDocument, ID: 71}, {Kind: refstore.ScopeCodytJob, ID: 5}} {
		if d, err := s.FlexDocument(ctx, ola, sc); err != nil || d.ID != 71 {
			t.Fatalf("FlexDocument(ola, %v) = %+v, %v", sc, d, err)
		}
	}
	for _, tc := range []struct {
		p    refstore.Principal
		sc   refstore.Scope
		code refstore.Code
	}{
		{ola, doc70, refstore.CodeForbidden},
		{nobody, doc70, refstore.CodeForbidden},
		{jane, refstore.Scope{Kind: refstore.ScopeDocument, ID: 99}, refstore.CodeScopeNotFound},
		{jane, refstore.Scope{Kind: refstore.ScopeCodytJob, ID: 6}, refstore.CodeScopeNotFound},
		{refstore.Principal{Account: "other", UserID: 1}, doc70, refstore.CodeScopeNotFound},
	} {
		if _, err := s.FlexDocument(ctx, tc.p, tc.sc); refstore.ErrorCode(err) != tc.code {
			t.Errorf("FlexDocument(user %d, %v) = %v, want %s", tc.p.UserID, tc.sc, err, tc.code)
		}
	}
	total, docs, err := s.FlexDocuments(ctx, ola, refstore.ListRequest{Take: 20})
	if err != nil || total != 1 || len(docs) != 1 || docs[0].ID != 71 || docs[0].Segments != 1 {
		t.Fatalf("FlexDocuments(ola) = %d, %+v, %v", total, docs, err)
	}
	total, docs, _ = s.FlexDocuments(ctx, jane, refstore.ListRequest{Take: 20})
	if total != 2 || docs[0].Segments != 2 || docs[1].Segments != 1 {
		t.Fatalf("FlexDocuments(jane) = %d, %+v", total, docs)
	}
	if total, docs, _ := s.FlexDocuments(ctx, nobody, refstore.ListRequest{Take: 20}); total != 0 || len(docs) != 0 {
		t.Fatalf("FlexDocuments(nobody) = %d, %+v", total, docs)
	}
}

// An API key alone names its user and account, with the key's rate-limit identity.
func TestAuthenticateKey(t *testing.T) {
	s := connectorFixture(t)
	p, err := s.AuthenticateKey(t.Context(), "acme-key-2-0123456789")
	if err != nil || p.Account != "acme" || p.UserID != 2 || p.KeyHash != hashSecret("acme-key-2-0123456789") || p.View == nil {
		t.Fatalf("AuthenticateKey = %+v, %v", p, err)
	}
	for _, key := range []string{"", "acme-key-9-0123456789", "ACME-KEY-2-0123456789"} {
		if _, err := s.AuthenticateKey(t.Context(), key); refstore.ErrorCode(err) != refstore.CodeUnauthorized {
			t.Errorf("AuthenticateKey(%q) = %v, want unauthorized", key, err)
		}
	}
}
