package refstore

import (
	"slices"
	"strings"
	"testing"
)

func TestPersonOf(t *testing.T) {
	for _, tc := range []struct{ name, first, last string }{
		{"Jane Doe", "Jane", "Doe"},
		{"Jean-Luc de la Tour", "Jean-Luc", "de la Tour"},
		{"  pm  ", "pm", ""},
		{"", "", ""},
		{"Anna\tMaria  Schmidt", "Anna", "Maria  Schmidt"},
	} {
		p := PersonOf(CatalogUser{ID: 3, Name: tc.name, Email: "e@x"})
		if p.FirstName != tc.first || p.LastName != tc.last || p.ID != 3 || p.Email != "e@x" {
			t.Errorf("PersonOf(%q) = %+v, want %q / %q", tc.name, p, tc.first, tc.last)
		}
	}
}

type nameIs string

func (n nameIs) Match(r Row) bool {
	v, _ := r.Column("firstname")
	return strings.HasPrefix(v, string(n))
}

func TestPage(t *testing.T) {
	var rows []Person
	for i := range 7 {
		rows = append(rows, Person{ID: int64(i + 1), FirstName: string(rune('a' + i%2))})
	}
	ids := func(ps []Person) []int64 {
		out := []int64{}
		for _, p := range ps {
			out = append(out, p.ID)
		}
		return out
	}
	for _, tc := range []struct {
		req   ListRequest
		total int
		want  []int64
	}{
		{ListRequest{Take: 3}, 7, []int64{1, 2, 3}},
		{ListRequest{Skip: 5, Take: 3}, 7, []int64{6, 7}},
		{ListRequest{Skip: 9, Take: 3}, 7, []int64{}},
		{ListRequest{Filter: nameIs("b"), Take: 2}, 3, []int64{2, 4}},
		{ListRequest{Filter: nameIs("b"), Skip: 2, Take: 20}, 3, []int64{6}},
		{ListRequest{Filter: nameIs("z"), Take: 20}, 0, []int64{}},
	} {
		total, page := Page(rows, tc.req)
		if total != tc.total || !slices.Equal(ids(page), tc.want) {
			t.Errorf("Page(%+v) = %d, %v; want %d, %v", tc.req, total, ids(page), tc.total, tc.want)
		}
	}
}

func TestCatalogDocumentFields(t *testing.T) {
	c := &Catalog{Accounts: []CatalogAccount{{ID: "acme", Projects: []CatalogProject{{ID: 1, Documents: []CatalogDocument{
		{ID: 2, Name: `a\b.wbflex`, SourceLocale: "en-us", TargetLocales: []string{"DE-de", "fr", "de-DE"}}}}}}}}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	d := c.Accounts[0].Projects[0].Documents[0]
	if d.SourceLocale != "en-US" || !slices.Equal(d.TargetLocales, []string{"de-DE", "fr"}) {
		t.Fatalf("locales not canonical: %+v", d)
	}
	for _, bad := range []CatalogDocument{
		{ID: 2, SourceLocale: "not a tag"},
		{ID: 2, TargetLocales: []string{"en", ""}},
		{ID: 2, Name: "a\nb"},
		{ID: 2, Name: strings.Repeat("x", 1025)},
		{ID: 2, Name: "\xff"},
	} {
		c := &Catalog{Accounts: []CatalogAccount{{ID: "acme", Projects: []CatalogProject{{ID: 1, Documents: []CatalogDocument{bad}}}}}}
		if err := c.Validate(); ErrorCode(err) != CodeInvalidBody || !strings.Contains(err.Error(), "document 2") {
			t.Errorf("Validate(%+v) = %v, want invalid_body naming document 2", bad, err)
		}
	}
	c = &Catalog{Accounts: []CatalogAccount{{ID: "acme", Users: []CatalogUser{{ID: 1, Email: "a\x00@b"}}}}}
	if err := c.Validate(); ErrorCode(err) != CodeInvalidBody || !strings.Contains(err.Error(), "email") {
		t.Errorf("Validate(email with NUL) = %v", err)
	}
}
