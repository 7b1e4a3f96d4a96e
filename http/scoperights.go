package http

import (
	"net/http"

	"github.com/refstore/refstore"
)

// scopeRightsJSON is the answer of GET /api/browse/scopes/{scope}: one element of the
// list GET /api/browse/scopes is to return.
type scopeRightsJSON struct {
	Scope     string   `json:"scope"`
	ProjectID int64    `json:"projectId"`
	Rights    []string `json:"rights"`
}

// scopeRights answers GET /api/browse/scopes/{scope} with the caller's rights on a
// project or job scope (pr7214, jbs9927, jbc500).
func (s *Server) scopeRights(w http.ResponseWriter, r *http.Request, p refstore.Principal) error {
	sc, err := refstore.ParseScope(r.PathValue("scope"))
	if err != nil {
		return err
	}
	acc, err := s.svc.ScopeRights(r.Context(), p, sc)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, scopeRightsJSON{Scope: sc.String(), ProjectID: acc.ProjectID, Rights: acc.Rights.Names()})
	return nil
}
