package refstore

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
)

func validCatalog() Catalog {
	return Catalog{Accounts: []CatalogAccount{{
		ID:       "acme",
		Name:     "Acme",
		Users:    []CatalogUser{{ID: 1, Name: "pm"}, {ID: 2}},
		Projects: []CatalogProject{{ID: 7214, Documents: []CatalogDocument{{ID: 19641, Segments: []int64{27665601}}}}},
		Jobs:     []CatalogJob{{ID: 9927, ProjectID: 7214, DocumentIDs: []int64{19641}}},
		Grants: []CatalogGrant{
			{UserID: 1, ProjectID: 7214, Rights: []string{"read", "upload", "delete"}},
			{UserID: 2, JobID: 9927, Rights: []string{"read"}},
			{UserID: 2, JobID: 9927, Codyt: true, Rights: []string{}},
		},
	}}}
}

func TestCatalogValidate(t *testing.T) {
	c := validCatalog()
	if err := c.Validate(); err != nil {
		t.Fatalf("valid catalog: %v", err)
	}
	if err := (&Catalog{}).Validate(); err != nil {
		t.Fatalf("empty catalog: %v", err)
	}
	tests := []struct {
		name   string
		change func(c *Catalog)
	}{
		{"empty account id", func(c *Catalog) { c.Accounts[0].ID = "" }},
		{"account id with slash", func(c *Catalog) { c.Accounts[0].ID = "ac/me" }},
		{"account id dot dot", func(c *Catalog) { c.Accounts[0].ID = ".." }},
		{"account id with dot", func(c *Catalog) { c.Accounts[0].ID = "ac.me" }},
		{"account id with space", func(c *Catalog) { c.Accounts[0].ID = "ac me" }},
		{"account id leading dash", func(c *Catalog) { c.Accounts[0].ID = "-acme" }},
		{"account id leading underscore", func(c *Catalog) { c.Accounts[0].ID = "_acme" }},
		{"account id non-ASCII", func(c *Catalog) { c.Accounts[0].ID = "acmé" }},
		{"account id too long", func(c *Catalog) { c.Accounts[0].ID = strings.Repeat("a", 65) }},
		{"account twice", func(c *Catalog) { c.Accounts = append(c.Accounts, CatalogAccount{ID: "acme"}) }},
		{"user id zero", func(c *Catalog) { c.Accounts[0].Users[0].ID = 0 }},
		{"user id negative", func(c *Catalog) { c.Accounts[0].Users[0].ID = -1 }},
		{"project id zero", func(c *Catalog) { c.Accounts[0].Projects[0].ID = 0 }},
		{"document id negative", func(c *Catalog) { c.Accounts[0].Projects[0].Documents[0].ID = -5 }},
		{"segment id zero", func(c *Catalog) { c.Accounts[0].Projects[0].Documents[0].Segments = []int64{1, 0} }},
		{"job id zero", func(c *Catalog) { c.Accounts[0].Jobs[0].ID = 0 }},
		{"job without project", func(c *Catalog) { c.Accounts[0].Jobs[0].ProjectID = 0 }},
		{"grant without user", func(c *Catalog) { c.Accounts[0].Grants[0].UserID = 0 }},
		{"grant with project and job", func(c *Catalog) { c.Accounts[0].Grants[0].JobID = 9927 }},
		{"grant with neither", func(c *Catalog) { c.Accounts[0].Grants[1].JobID = 0 }},
		{"grant with negative project", func(c *Catalog) {
			c.Accounts[0].Grants[0] = CatalogGrant{UserID: 1, ProjectID: -1, JobID: 9927, Rights: []string{"read"}}
		}},
		{"grant with negative job", func(c *Catalog) {
			c.Accounts[0].Grants[0] = CatalogGrant{UserID: 1, ProjectID: 7214, JobID: -1, Rights: []string{"read"}}
		}},
		{"unknown right", func(c *Catalog) { c.Accounts[0].Grants[0].Rights = []string{"read", "write"} }},
		{"right in upper case", func(c *Catalog) { c.Accounts[0].Grants[0].Rights = []string{"Read"} }},
		{"empty right", func(c *Catalog) { c.Accounts[0].Grants[0].Rights = []string{""} }},
		{"one-character API key", func(c *Catalog) { c.Accounts[0].Users[1].APIKey = "x" }},
		{"API key one short of the minimum", func(c *Catalog) { c.Accounts[0].Users[1].APIKey = strings.Repeat("k", MinAPIKeyLength-1) }},
		{"API key of 15 characters in 30 bytes", func(c *Catalog) { c.Accounts[0].Users[1].APIKey = strings.Repeat("é", 15) }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := validCatalog()
			tc.change(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate accepted it")
			}
			if code := ErrorCode(err); code != CodeInvalidBody {
				t.Fatalf("code %s, want %s (%v)", code, CodeInvalidBody, err)
			}
		})
	}
}

// TestCatalogAPIKeyLength checks the minimum length of the API keys a catalog sets, and
// that the refusal names the account and the user.
func TestCatalogAPIKeyLength(t *testing.T) {
	for _, key := range []string{strings.Repeat("k", MinAPIKeyLength), "my-secret-api-key",
		"rsk_" + strings.Repeat("A", 43), strings.Repeat("é", MinAPIKeyLength)} {
		c := validCatalog()
		c.Accounts[0].Users[0].APIKey = key
		if err := c.Validate(); err != nil {
			t.Errorf("key of %d characters: %v", len([]rune(key)), err)
		}
	}
	c := validCatalog()
	c.Accounts[0].Users[1].APIKey = "short-key"
	err := c.Validate()
	if err == nil {
		t.Fatal("a key of 9 characters was accepted")
	}
	msg := err.Error()
	for _, want := range []string{"acme", "user 2", "9 characters", fmt.Sprint(MinAPIKeyLength)} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q does not say %q", msg, want)
		}
	}
	if strings.Contains(msg, "short-key") {
		t.Errorf("message %q repeats the secret", msg)
	}
}

func TestValidAccountID(t *testing.T) {
	for _, id := range []string{"acme", "a", "A1", "1", "acme-corp", "acme_corp", "a-", strings.Repeat("z", 64)} {
		if !ValidAccountID(id) {
			t.Errorf("ValidAccountID(%q) = false", id)
		}
	}
	for _, id := range []string{"", ".", "..", "-", "_a", "a b", "a/b", `a\b`, "a.b", "a\n", "a\x00",
		strings.Repeat("z", 65), "acme\n"} {
		if ValidAccountID(id) {
			t.Errorf("ValidAccountID(%q) = true", id)
		}
	}
}

func TestRights(t *testing.T) {
	r, err := ParseRights([]string{"delete", "read", "read"})
	if err != nil {
		t.Fatal(err)
	}
	if r != RightRead|RightDelete {
		t.Errorf("rights = %b", r)
	}
	if !r.Has(RightRead) || !r.Has(RightDelete) || r.Has(RightUpload) || r.Has(RightRead|RightUpload) {
		t.Errorf("Has is wrong for %s", r)
	}
	if !slices.Equal(r.Names(), []string{"read", "delete"}) || r.String() != "read,delete" {
		t.Errorf("names %q, string %q", r.Names(), r.String())
	}
	if names := Rights(0).Names(); names == nil || len(names) != 0 {
		t.Errorf("no rights give %#v, want an empty non-nil list", names)
	}
	if r, err := ParseRights(nil); err != nil || r != 0 {
		t.Errorf("ParseRights(nil) = %v, %v", r, err)
	}
	all := RightRead | RightUpload | RightDelete
	if back, err := ParseRights(all.Names()); err != nil || back != all {
		t.Errorf("round trip: %v, %v", back, err)
	}
	if _, err := ParseRights([]string{"admin"}); err == nil {
		t.Error("unknown right accepted")
	}
}

func TestAccessCovers(t *testing.T) {
	whole := Access{ProjectID: 1}
	if !whole.Covers(5) {
		t.Error("a project scope does not cover its documents")
	}
	job := Access{ProjectID: 1, Documents: []int64{5, 6}}
	if !job.Covers(6) || job.Covers(7) {
		t.Error("a job scope covers the wrong documents")
	}
	none := Access{ProjectID: 1, Documents: []int64{}}
	if none.Covers(5) {
		t.Error("a job without documents covers one")
	}
}

func TestErrors(t *testing.T) {
	e := InvalidParam("filename", "%d is too long", 300)
	if e.Code != CodeInvalidParameter || e.Param != "filename" || e.Message != "Invalid parameter 'filename': 300 is too long" {
		t.Errorf("InvalidParam = %+v", e)
	}
	cause := errors.New("disk on fire")
	in := Internal(cause)
	if in.Code != CodeInternal || strings.Contains(in.Message, "fire") || !errors.Is(in, cause) {
		t.Errorf("Internal = %+v", in)
	}
	wrapped := fmt.Errorf("context: %w", Errorf(CodeConflict, "clash %d", 1))
	if ErrorCode(wrapped) != CodeConflict {
		t.Errorf("ErrorCode(wrapped) = %s", ErrorCode(wrapped))
	}
	if ErrorCode(nil) != "" || ErrorCode(cause) != CodeInternal {
		t.Error("ErrorCode of nil or a plain error is wrong")
	}
	if AsError(wrapped).Code != CodeConflict || AsError(cause).Code != CodeInternal || AsError(cause).Err != cause {
		t.Error("AsError is wrong")
	}
}
