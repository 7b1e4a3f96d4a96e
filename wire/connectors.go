package wire

import "encoding/json"

// The shapes of the routes Wordbee connectors call to set up a connection, in Wordbee's
// documented shapes (help.wordbee.com/api2/list, /api2/apps-wbflex-documents-id) and, where
// those pages are silent, the members the connectors read (docs/api.md).

// ListRequest is the optional body of the Wordbee list calls refstore serves (POST
// /api/persons/list, POST /api/apps/wbflex/list). Query is in Wordbee's query language
// (the subset refstore understands: docs/api.md); Skip defaults to 0, Take to 20 (at most
// 500). Filter, the newer structured form, is refused: a list must not ignore a filter.
type ListRequest struct {
	Query  *string         `json:"query,omitempty"`
	Skip   *int            `json:"skip,omitempty"`
	Take   *int            `json:"take,omitempty"`
	Filter json.RawMessage `json:"filter,omitempty"`
}

// PersonList is the answer of POST /api/persons/list: Total persons match the query,
// Count of them are in Rows (this page).
type PersonList struct {
	Total int      `json:"total"`
	Count int      `json:"count"`
	Rows  []Person `json:"rows"`
}

// Person is a user of the account, as Wordbee lists persons. The catalog's one name is
// split into first and last name at its first space.
type Person struct {
	PersonID  int64  `json:"personid"`
	FirstName string `json:"firstname"`
	LastName  string `json:"lastname"`
	Email     string `json:"email"` // "" when the catalog gives none
}

// FlexDocumentList is the answer of POST /api/apps/wbflex/list.
type FlexDocumentList struct {
	Total int               `json:"total"`
	Count int               `json:"count"`
	Rows  []FlexDocumentRow `json:"rows"`
}

// FlexDocumentRow is a row of the Flex document list. Id is a string, as in Wordbee's
// list ("9371"). Members the catalog does not hold (the change date, paragraphs, the
// connector, the project reference and status, the filter) are null.
type FlexDocumentRow struct {
	ID          string  `json:"id"`
	DocumentID  int64   `json:"did"`
	JobID       *int64  `json:"jid"`
	Name        string  `json:"name"`
	Src         *string `json:"src"`  // the source locale; null when unknown
	SrcText     *string `json:"srct"` // its name in English
	DtChange    *string `json:"dtchange"`
	Paragraphs  *int64  `json:"paragraphs"`
	Segments    int64   `json:"segments"`
	ProjectID   int64   `json:"pid"`
	Connector   *string `json:"connector"`
	Preference  *string `json:"preference"`
	PStatus     *int    `json:"pstatus"`
	PStatusText *string `json:"pstatust"`
	FilterName  *string `json:"filterName"`
}

// FlexDocument is the answer of GET /api/apps/wbflex/documents/{id}. Src is null when the
// catalog gives no source locale (a JSON object otherwise: the Unreal plugin fails on
// anything else); Trgs is always an array. Files is empty: refstore keeps no files next to
// a Flex document, only segment assets.
type FlexDocument struct {
	ID         int64      `json:"id"`
	DSID       *int64     `json:"dsid"`
	ProjectID  int64      `json:"pid"`
	Name       string     `json:"name"`
	DtChange   *string    `json:"dtchange"`
	Src        *Language  `json:"src"`
	Trgs       []Language `json:"trgs"`
	FilterName *string    `json:"filterName"`
	Files      []FlexFile `json:"files"`
}

// Language is a locale (V, BCP 47) and its name (T, in English).
type Language struct {
	V string `json:"v"`
	T string `json:"t"`
}

// FlexFile is a file stored next to a Flex document.
type FlexFile struct {
	Name string `json:"name"`
	Date string `json:"date"`
	Size int64  `json:"size"`
}
