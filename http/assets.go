package http

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/wire"
)

// target is what the path and scope of an asset route name. The project routes give a
// scope query parameter; the Flex routes a document id (or c{jobId}) in the path.
type target struct {
	scope     refstore.Scope
	flex      bool
	flexID    string // the {id} of a Flex route, as given
	segmentID int64  // 0 on the list-many routes
}

func parseTarget(r *http.Request, scope string) (target, error) {
	var t target
	var err error
	if id := r.PathValue("id"); id != "" {
		t.flex, t.flexID = true, id
		t.scope, err = parseFlexDocument(id)
	} else {
		t.scope, err = refstore.ParseScope(scope)
	}
	if err != nil {
		return t, err
	}
	if seg := r.PathValue("segmentid"); seg != "" {
		t.segmentID, err = refstore.ParseID("segmentid", seg)
	}
	return t, err
}

// attach answers POST …/assets/{segmentid}.
func (s *Server) attach(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	t, err := parseTarget(r, r.URL.Query().Get("scope"))
	if err != nil {
		return err
	}
	var req wire.AttachRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	a, err := s.svc.Attach(r.Context(), p, t.scope, t.segmentID,
		refstore.AttachRequest{FileToken: req.FileToken, Locale: req.Locale, RelativePath: req.RelativePath})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.assetJSON(r, t, a))
	return nil
}

// delete answers DELETE …/assets/{segmentid}: one asset when filename is given, every
// asset of the segment (in all locales) when it is absent.
func (s *Server) delete(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	q := r.URL.Query()
	t, err := parseTarget(r, q.Get("scope"))
	if err != nil {
		return err
	}
	var addr *refstore.Address
	if q.Has("filename") {
		a, err := refstore.ParseAddress(q.Get("locale"), q.Get("relativePath"), q.Get("filename"))
		if err != nil {
			return err
		}
		addr = &a
	}
	n, err := s.svc.Delete(r.Context(), p, t.scope, t.segmentID, addr)
	if err != nil {
		return err
	}
	w.Header().Set("X-Deleted-Count", strconv.Itoa(n))
	w.WriteHeader(http.StatusOK)
	return nil
}

// listOne answers GET …/assets/{segmentid}/list.
func (s *Server) listOne(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	t, err := parseTarget(r, r.URL.Query().Get("scope"))
	if err != nil {
		return err
	}
	return s.list(w, r, p, t, []int64{t.segmentID})
}

// listMany answers GET …/assets/list?segmentIds=1,2,3.
func (s *Server) listMany(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	q := r.URL.Query()
	t, err := parseTarget(r, q.Get("scope"))
	if err != nil {
		return err
	}
	ids, err := parseSegmentIDs(q["segmentIds"])
	if err != nil {
		return err
	}
	return s.list(w, r, p, t, ids)
}

func (s *Server) list(w http.ResponseWriter, r *http.Request, p refstore.Principal, t target, ids []int64) error {
	assets, err := s.svc.List(r.Context(), p, t.scope, ids)
	if err != nil {
		return err
	}
	out := make([]any, len(assets))
	for i := range assets {
		out[i] = s.assetJSON(r, t, &assets[i])
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) assetJSON(r *http.Request, t target, a *refstore.Asset) any {
	var locale *string
	if a.Locale != "" {
		locale = &a.Locale
	}
	created, modified := refstore.FormatDate(a.Created.Time()), refstore.FormatDate(a.Modified.Time())
	if t.flex {
		return wire.FlexAsset{ProjectID: a.ProjectID, DocumentID: strconv.FormatInt(a.DocumentID, 10), SegmentID: a.SegmentID,
			Locale: locale, RelativePath: a.RelativePath(), FileName: a.Name, FileSizeInBytes: a.Size,
			ContentType: a.ContentType, CreatedDate: created, ModifiedDate: modified,
			DownloadURL: s.downloadURL(r, t, a), ID: refstore.AssetIDString(a.ID)}
	}
	return wire.Asset{ProjectID: a.ProjectID, DocumentID: a.DocumentID, SegmentID: a.SegmentID, Locale: locale,
		RelativePath: a.RelativePath(), Name: a.Name, Size: a.Size, ContentType: a.ContentType,
		CreatedDate: created, ModifiedDate: modified, DownloadURL: s.downloadURL(r, t, a),
		ID: refstore.AssetIDString(a.ID)}
}

// downloadURL builds the absolute URL of an asset in the order Wordbee shows it:
// locale, scope, filename, relativePath, v.
func (s *Server) downloadURL(r *http.Request, t target, a *refstore.Asset) string {
	var b strings.Builder
	b.WriteString(s.baseURL(r))
	if t.flex {
		b.WriteString("/api/apps/wbflex/documents/")
		b.WriteString(url.PathEscape(t.flexID))
		b.WriteString("/assets/")
	} else {
		b.WriteString("/api/resources/assets/")
	}
	b.WriteString(strconv.FormatInt(a.SegmentID, 10))
	sep := byte('?')
	param := func(k, v string) {
		b.WriteByte(sep)
		sep = '&'
		b.WriteString(k)
		b.WriteByte('=')
		// '/' may stand in a query (RFC 3986) and keeps relativePath readable.
		b.WriteString(strings.ReplaceAll(url.QueryEscape(v), "%2F", "/"))
	}
	if a.Locale != "" {
		param("locale", a.Locale)
	}
	if !t.flex {
		param("scope", t.scope.String())
	}
	param("filename", a.Name)
	if len(a.Folders) > 0 {
		param("relativePath", a.FolderPath())
	}
	param("v", a.Version().String())
	return b.String()
}

// baseURL is the configured public URL, or the scheme and host the request came to.
func (s *Server) baseURL(r *http.Request) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}
