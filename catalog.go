package refstore

import (
	"fmt"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rights a grant gives on a project or a job.
type Rights uint8

const (
	RightRead   Rights = 1 << iota // list and download
	RightUpload                    // attach (and overwrite)
	RightDelete                    // delete one or all
)

var rightNames = []struct {
	r    Rights
	name string
}{{RightRead, "read"}, {RightUpload, "upload"}, {RightDelete, "delete"}}

// Has reports whether all of want are granted.
func (r Rights) Has(want Rights) bool { return r&want == want }

// Names lists the rights by name, in a fixed order.
func (r Rights) Names() []string {
	names := []string{}
	for _, n := range rightNames {
		if r.Has(n.r) {
			names = append(names, n.name)
		}
	}
	return names
}

func (r Rights) String() string { return strings.Join(r.Names(), ",") }

// ParseRights parses right names ("read", "upload", "delete").
func ParseRights(names []string) (Rights, error) {
	var r Rights
	for _, name := range names {
		i := slices.IndexFunc(rightNames, func(n struct {
			r    Rights
			name string
		}) bool {
			return n.name == name
		})
		if i < 0 {
			return 0, fmt.Errorf("unknown right %q (use read, upload, delete)", name)
		}
		r |= rightNames[i].r
	}
	return r, nil
}

// Principal is the authenticated caller of an /api call.
type Principal struct {
	Account     string
	UserID      int64
	SessionHash string
	// KeyHash is the hash of the API key the session was opened with: rate limits and
	// the cap on concurrent uploads count per key.
	KeyHash string
	// View is the view of the metadata the caller's request reads through (see MetaView),
	// taken when the request began, before its session was checked. Nil for callers made
	// without one (tools, tests): their reads take a view of their own.
	View MetaView
}

// Access is what a caller may do within a resolved scope.
type Access struct {
	ProjectID int64
	Rights    Rights
	// Documents limits a job or Flex scope to these documents; nil means the whole project.
	Documents []int64
}

// Covers reports whether a document lies inside the scope.
func (a *Access) Covers(documentID int64) bool {
	return a.Documents == nil || slices.Contains(a.Documents, documentID)
}

// SegmentRef places a segment in its document and project.
type SegmentRef struct {
	ID         int64
	DocumentID int64
	ProjectID  int64
}

// Catalog is the admin API's upsert payload: accounts, users, projects, documents, segments,
// jobs and grants, normally exported from the translation management system.
type Catalog struct {
	Accounts []CatalogAccount `json:"accounts"`
}

type CatalogAccount struct {
	ID   string `json:"id"`
	Name string `json:"name,omitempty"`
	// QuotaBytes caps the bytes the account stores (its distinct contents, live uploads
	// included); 0 means unlimited. Absent in an upsert: the stored value is kept.
	QuotaBytes *int64 `json:"quotaBytes,omitempty"`
	// RateLimit is the number of requests each API key of the account may make per
	// rate-limit window (an hour by default); 0 means the server's default (--rate-limit),
	// -1 no limit. Absent in an upsert: the stored value is kept.
	RateLimit *int64           `json:"rateLimit,omitempty"`
	Users     []CatalogUser    `json:"users,omitempty"`
	Projects  []CatalogProject `json:"projects,omitempty"`
	Jobs      []CatalogJob     `json:"jobs,omitempty"`
	Grants    []CatalogGrant   `json:"grants,omitempty"`
}

type CatalogUser struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"`
	// Email is the user's e-mail address, shown to connectors as the person's email
	// (POST /api/persons/list). Empty in an upsert: the stored value is kept.
	Email string `json:"email,omitempty"`
	// APIKey, when set, adds this key to the user (idempotently). It is never returned.
	APIKey string `json:"apiKey,omitempty"`
}

type CatalogProject struct {
	ID        int64             `json:"id"`
	Name      string            `json:"name,omitempty"`
	Documents []CatalogDocument `json:"documents,omitempty"`
}

// CatalogDocument is a document of a project and its segments. Name and the locales are
// what Wordbee connectors show of a document (GET /api/apps/wbflex/documents/{id}); all
// are optional, and kept when absent from an upsert (TargetLocales: when null).
type CatalogDocument struct {
	ID   int64  `json:"id"`
	Name string `json:"name,omitempty"` // as Wordbee shows it: folders joined with '\'
	// SourceLocale and TargetLocales are BCP 47 tags, stored in canonical form.
	SourceLocale  string   `json:"sourceLocale,omitempty"`
	TargetLocales []string `json:"targetLocales,omitempty"`
	Segments      []int64  `json:"segments,omitempty"`
}

// CatalogJob is a job of a project and the documents it covers. Codyt says which id space
// ID belongs to (see JobKind): a Codyt job, or a standard one.
type CatalogJob struct {
	ID          int64   `json:"id"`
	Codyt       bool    `json:"codyt"`
	ProjectID   int64   `json:"projectId"`
	DocumentIDs []int64 `json:"documentIds,omitempty"`
}

// CatalogGrant gives a user rights on a project (ProjectID) or on a job (JobID, with Codyt
// naming its kind: see JobKind).
type CatalogGrant struct {
	UserID    int64    `json:"userId"`
	ProjectID int64    `json:"projectId,omitempty"`
	JobID     int64    `json:"jobId,omitempty"`
	Codyt     bool     `json:"codyt,omitempty"`
	Rights    []string `json:"rights"`
}

// MinAPIKeyLength is the fewest characters an API key set in a catalog may have. Keys are
// stored as plain SHA-256 hashes and looked up by hash, so their strength is all in their
// length and randomness: 16 random characters carry about 96 bits (base64) or 64 bits
// (hex), out of reach of guessing online and of a dictionary run against a stolen
// database. The keys refstore issues itself (rsk_ and 43 base64url characters: 256 bits)
// are 47 characters; one-character keys, which catalogs could set before, are refused.
const MinAPIKeyLength = 16

var accountIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$`)

// ValidAccountID reports whether s can be an account id: 1 to 64 ASCII letters, digits,
// '_' or '-', starting with a letter or digit. Account ids become folder names.
func ValidAccountID(s string) bool { return accountIDPattern.MatchString(s) }

// Limits of the catalog's free texts.
const (
	maxCatalogName   = 1024 // a document's name, folders included
	maxCatalogEmail  = 254  // RFC 5321's longest path
	maxTargetLocales = 500
)

// Validate checks what can be checked inside the payload itself; references to entries
// stored by earlier upserts are checked by the store. It puts the documents' locales in
// canonical form (en-us → en-US), as assets' locales are.
func (c *Catalog) Validate() error {
	bad := func(format string, args ...any) error {
		return &Error{Code: CodeInvalidBody, Message: "Invalid catalog: " + fmt.Sprintf(format, args...)}
	}
	seen := map[string]bool{}
	for _, a := range c.Accounts {
		if !ValidAccountID(a.ID) {
			return bad("account id %q must be 1-64 letters, digits, '_' or '-'", truncate(a.ID, 70))
		}
		if seen[a.ID] {
			return bad("account %q appears twice", a.ID)
		}
		seen[a.ID] = true
		if a.QuotaBytes != nil && *a.QuotaBytes < 0 {
			return bad("account %s: quotaBytes must be 0 (unlimited) or a positive number of bytes", a.ID)
		}
		if a.RateLimit != nil && *a.RateLimit < -1 {
			return bad("account %s: rateLimit must be a positive number of requests, 0 (the server's default) or -1 (none)", a.ID)
		}
		for _, u := range a.Users {
			if u.ID <= 0 {
				return bad("account %s: user id %d must be positive", a.ID, u.ID)
			}
			if err := checkCatalogText(u.Email, maxCatalogEmail); err != nil {
				return bad("account %s: user %d: email %v", a.ID, u.ID, err)
			}
			if n := utf8.RuneCountInString(u.APIKey); u.APIKey != "" && n < MinAPIKeyLength {
				return bad("account %s: user %d: apiKey has %d characters; API keys need at least %d (use long random keys, "+
					"or let refstore issue them: POST /admin/v1/accounts/{account}/users/{userId}/keys)", a.ID, u.ID, n, MinAPIKeyLength)
			}
		}
		for _, p := range a.Projects {
			if p.ID <= 0 {
				return bad("account %s: project id %d must be positive", a.ID, p.ID)
			}
			for k := range p.Documents {
				d := &p.Documents[k]
				if d.ID <= 0 {
					return bad("account %s: document id %d must be positive", a.ID, d.ID)
				}
				if err := checkCatalogText(d.Name, maxCatalogName); err != nil {
					return bad("account %s: document %d: name %v", a.ID, d.ID, err)
				}
				if err := canonicalDocumentLocales(d); err != nil {
					return bad("account %s: document %d: %v", a.ID, d.ID, err)
				}
				for _, s := range d.Segments {
					if s <= 0 {
						return bad("account %s: segment id %d must be positive", a.ID, s)
					}
				}
			}
		}
		for _, j := range a.Jobs {
			if j.ID <= 0 || j.ProjectID <= 0 {
				return bad("account %s: job %d needs a positive id and projectId", a.ID, j.ID)
			}
		}
		for _, g := range a.Grants {
			if g.UserID <= 0 {
				return bad("account %s: grant needs a positive userId", a.ID)
			}
			if (g.ProjectID > 0) == (g.JobID > 0) {
				return bad("account %s: grant for user %d needs exactly one of projectId and jobId", a.ID, g.UserID)
			}
			if g.ProjectID < 0 || g.JobID < 0 {
				return bad("account %s: grant for user %d has a negative id", a.ID, g.UserID)
			}
			if _, err := ParseRights(g.Rights); err != nil {
				return bad("account %s: grant for user %d: %v", a.ID, g.UserID, err)
			}
		}
	}
	return nil
}

// checkCatalogText refuses what a connector could not show: invalid UTF-8, control
// characters, and more than max bytes.
func checkCatalogText(s string, max int) error {
	switch {
	case len(s) > max:
		return fmt.Errorf("is longer than %d bytes", max)
	case !utf8.ValidString(s):
		return fmt.Errorf("is not valid UTF-8")
	case strings.ContainsFunc(s, unicode.IsControl):
		return fmt.Errorf("holds a control character")
	}
	return nil
}

// canonicalDocumentLocales checks a document's locales and puts them in canonical form;
// repeated target locales are kept once.
func canonicalDocumentLocales(d *CatalogDocument) error {
	src, err := ParseLocale(d.SourceLocale)
	if err != nil {
		return fmt.Errorf("sourceLocale %q is not a valid BCP 47 language tag", truncate(d.SourceLocale, 40))
	}
	d.SourceLocale = src
	if len(d.TargetLocales) > maxTargetLocales {
		return fmt.Errorf("more than %d targetLocales", maxTargetLocales)
	}
	if d.TargetLocales == nil {
		return nil
	}
	out := make([]string, 0, len(d.TargetLocales))
	for _, l := range d.TargetLocales {
		c, err := ParseLocale(l)
		if err != nil || c == "" {
			return fmt.Errorf("targetLocales: %q is not a valid BCP 47 language tag", truncate(l, 40))
		}
		if !slices.Contains(out, c) {
			out = append(out, c)
		}
	}
	d.TargetLocales = out
	return nil
}
