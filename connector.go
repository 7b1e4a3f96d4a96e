package refstore

import (
	"strings"
	"unicode"
)

// The catalog as Wordbee connectors see it when they set up a connection: the account's
// users as persons (POST /api/persons/list) and documents (the Flex document routes). These
// are read-only views of the catalog; refstore never creates any of it from the /api routes.

// DocumentInfo is what a connector is shown of a document.
type DocumentInfo struct {
	ID            int64
	ProjectID     int64
	Name          string   // as the catalog gives it; empty when it gives none
	SourceLocale  string   // canonical BCP 47; empty when unknown
	TargetLocales []string // canonical BCP 47
}

// Column returns the value of a Wordbee list column of the document, for filters: name and
// src (the source locale).
func (d DocumentInfo) Column(name string) (string, bool) {
	switch name {
	case "name":
		return d.Name, true
	case "src":
		return d.SourceLocale, true
	}
	return "", false
}

// FlexDocument is a document as the Flex document list shows it: with its segment count.
type FlexDocument struct {
	DocumentInfo
	Segments int64
}

// Person is a catalog user as Wordbee's persons list shows it.
type Person struct {
	ID        int64
	FirstName string
	LastName  string
	Email     string
}

// PersonOf makes a person of a catalog user. The catalog holds one name per user; it is
// split at its first run of spaces into a first name and a last name ("Jean-Luc de la
// Tour" → "Jean-Luc", "de la Tour"), as most names of the languages written with spaces
// read; a single word is a first name with an empty last name.
func PersonOf(u CatalogUser) Person {
	name := strings.TrimSpace(u.Name)
	first, last := name, ""
	if i := strings.IndexFunc(name, unicode.IsSpace); i >= 0 {
		first, last = name[:i], strings.TrimSpace(name[i:])
	}
	return Person{ID: u.ID, FirstName: first, LastName: last, Email: u.Email}
}

// Column returns the value of a Wordbee list column of the person, for filters.
func (p Person) Column(name string) (string, bool) {
	switch name {
	case "firstname":
		return p.FirstName, true
	case "lastname":
		return p.LastName, true
	case "email":
		return p.Email, true
	}
	return "", false
}

// Row is an element of a Wordbee list, whose columns a filter reads.
type Row interface {
	// Column returns the text of a column by its Wordbee id (lower case), and whether the
	// row has that column.
	Column(name string) (string, bool)
}

// Filter selects rows of a Wordbee list (its query).
type Filter interface {
	Match(r Row) bool
}

// ListRequest is what a Wordbee list call asks for: the rows its filter selects (all when
// Filter is nil), from Skip on, at most Take of them.
type ListRequest struct {
	Filter Filter
	Skip   int
	Take   int
}

// Page selects the rows a list request asks for, and says how many rows the filter selects
// in all.
func Page[T Row](rows []T, req ListRequest) (total int, page []T) {
	var matched []T
	if req.Filter == nil {
		matched = rows
	} else {
		for _, r := range rows {
			if req.Filter.Match(r) {
				matched = append(matched, r)
			}
		}
	}
	start := min(max(req.Skip, 0), len(matched))
	end := min(start+max(req.Take, 0), len(matched))
	return len(matched), matched[start:end]
}
