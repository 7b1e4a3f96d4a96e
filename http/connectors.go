package http

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"strconv"

	"golang.org/x/text/language"
	"golang.org/x/text/language/display"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/wbquery"
	"github.com/refstore/refstore/wire"
)

// The routes real Wordbee connectors call before anything else, answered from the
// catalog: the C# (Blackbird) connector checks a connection with POST /api/persons/list,
// the Unreal plugin lists Flex documents right after login and links one with GET
// /api/apps/wbflex/documents/{id}. A connector that gets a 404 there cannot be set up.

// Paging of Wordbee lists (help.wordbee.com/api2/list).
const (
	defaultTake = 20
	maxTake     = 500
)

// personColumns and documentColumns are what a list's query may test.
const (
	personColumns   = "firstname, lastname and email"
	documentColumns = "name and src"
)

func isPersonColumn(name string) bool   { _, ok := refstore.Person{}.Column(name); return ok }
func isDocumentColumn(name string) bool { _, ok := refstore.DocumentInfo{}.Column(name); return ok }

// personsList answers POST /api/persons/list with the account's users.
func (s *Server) personsList(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	req, err := readListRequest(w, r, isPersonColumn, personColumns)
	if err != nil {
		return err
	}
	total, persons, err := s.svc.Persons(r.Context(), p, req)
	if err != nil {
		return err
	}
	rows := make([]wire.Person, len(persons))
	for i, ps := range persons {
		rows[i] = wire.Person{PersonID: ps.ID, FirstName: ps.FirstName, LastName: ps.LastName, Email: ps.Email}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, wire.PersonList{Total: total, Count: len(rows), Rows: rows})
	return nil
}

// flexList answers POST /api/apps/wbflex/list with the documents the caller may read.
func (s *Server) flexList(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	req, err := readListRequest(w, r, isDocumentColumn, documentColumns)
	if err != nil {
		return err
	}
	total, docs, err := s.svc.FlexDocuments(r.Context(), p, req)
	if err != nil {
		return err
	}
	rows := make([]wire.FlexDocumentRow, len(docs))
	for i, d := range docs {
		row := wire.FlexDocumentRow{ID: strconv.FormatInt(d.ID, 10), DocumentID: d.ID, Name: d.Name,
			Segments: d.Segments, ProjectID: d.ProjectID}
		if d.SourceLocale != "" {
			name := languageName(d.SourceLocale)
			row.Src, row.SrcText = &d.SourceLocale, &name
		}
		rows[i] = row
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, wire.FlexDocumentList{Total: total, Count: len(rows), Rows: rows})
	return nil
}

// flexDocument answers GET /api/apps/wbflex/documents/{id}: the document's id, name,
// project and languages ({id} a document id or c{jobId}).
func (s *Server) flexDocument(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	sc, err := parseFlexDocument(r.PathValue("id"))
	if err != nil {
		return err
	}
	d, err := s.svc.FlexDocument(r.Context(), p, sc)
	if err != nil {
		return err
	}
	out := wire.FlexDocument{ID: d.ID, ProjectID: d.ProjectID, Name: d.Name,
		Trgs: make([]wire.Language, len(d.TargetLocales)), Files: []wire.FlexFile{}}
	if d.SourceLocale != "" {
		out.Src = &wire.Language{V: d.SourceLocale, T: languageName(d.SourceLocale)}
	}
	for i, l := range d.TargetLocales {
		out.Trgs[i] = wire.Language{V: l, T: languageName(l)}
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, out)
	return nil
}

// languageName is a locale's name in English ("de-CH" → "Swiss High German"), or the tag
// itself when it has none. Wordbee names languages in the user's interface language;
// refstore has no such setting, and English is what most integrations run in.
func languageName(tag string) string {
	t, err := language.Parse(tag)
	if err != nil {
		return tag
	}
	if name := display.English.Tags().Name(t); name != "" && name != "Unknown language" {
		return name
	}
	return tag
}

// readListRequest reads the optional body of a Wordbee list call. Connectors send none at
// all (the C# connection check: no body, no Content-Type), an empty one with any label
// (the Unreal plugin: application/x-www-form-urlencoded), or a JSON object with query,
// skip and take. column says which columns the query may test.
func readListRequest(w http.ResponseWriter, r *http.Request, column func(string) bool, columns string) (refstore.ListRequest, error) {
	req := refstore.ListRequest{Take: defaultTake}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxJSONBody))
	var tooBig *http.MaxBytesError
	switch {
	case errors.As(err, &tooBig):
		return req, refstore.Errorf(refstore.CodeTooLarge, "The JSON body is larger than %d bytes.", maxJSONBody)
	case err != nil:
		if e, ok := bodyTimeout(err); ok {
			return req, e
		}
		return req, &refstore.Error{Code: refstore.CodeInvalidBody, Message: "The request body could not be read.", Err: err}
	case len(bytes.TrimSpace(body)) == 0:
		return req, nil
	}
	r.Body, r.ContentLength = io.NopCloser(bytes.NewReader(body)), int64(len(body))
	var in wire.ListRequest
	if err := decodeJSON(w, r, &in); err != nil {
		return req, err
	}
	if f := bytes.TrimSpace(in.Filter); len(f) > 0 && !bytes.Equal(f, []byte("null")) && !bytes.Equal(f, []byte("[]")) {
		return req, refstore.InvalidParam("filter", "refstore does not support structured filters; use query")
	}
	if in.Skip != nil {
		if *in.Skip < 0 {
			return req, refstore.InvalidParam("skip", "must be 0 or more, not %d", *in.Skip)
		}
		req.Skip = *in.Skip
	}
	if in.Take != nil {
		switch {
		case *in.Take < 0:
			return req, refstore.InvalidParam("take", "must be 0 (the default, %d) or more, not %d", defaultTake, *in.Take)
		case *in.Take > 0:
			req.Take = min(*in.Take, maxTake)
		}
	}
	if in.Query != nil {
		q, err := wbquery.Parse(*in.Query, column, columns)
		if err != nil {
			return req, err
		}
		if q != nil {
			req.Filter = q
		}
	}
	return req, nil
}
