package http

import (
	"net/http"
	"strings"

	"github.com/refstore/refstore"
)

// memories.ai clients download an asset by id with the account's API key in a plain
// `Authorization: <key>` header (no session, no "Bearer"), at
// GET /serve/api/v2/{asset_id}/download, and read errors in the envelope
// {code, msg, data, success, failed}. refstore serves that route as download by asset id,
// with the key's user as the caller.

// memoriesDownloadHandler answers GET and HEAD /serve/api/v2/{assetId}/download.
func (s *Server) memoriesDownloadHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := s.authenticateKey(r)
		if err != nil {
			s.writeAssetIDError(w, r, err)
			return
		}
		s.serveAssetByID(w, r, p, "asset_id")
	})
}

// authenticateKey authenticates by the API key of the Authorization header and counts the
// call against the key's rate limit. memories.ai documents the key alone; a "Bearer "
// before it, which generic HTTP tooling adds, is accepted too: the value is first taken
// whole (a catalog may set any key of 16 characters or more), then without the prefix.
func (s *Server) authenticateKey(r *http.Request) (refstore.Principal, error) {
	v := strings.TrimSpace(firstHeader(r, "Authorization"))
	p, err := s.svc.AuthenticateKey(r.Context(), v)
	if refstore.ErrorCode(err) == refstore.CodeUnauthorized && len(v) > len("Bearer ") && strings.EqualFold(v[:len("Bearer ")], "Bearer ") {
		p, err = s.svc.AuthenticateKey(r.Context(), strings.TrimSpace(v[len("Bearer "):]))
	}
	if err == nil {
		err = s.svc.Admit(r.Context(), p)
	}
	return p, err
}

// noMemoriesRoute answers the memories.ai paths refstore does not serve (upload,
// metadata, delete…) in their envelope.
func (s *Server) noMemoriesRoute(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := noRoute(w, mux, r)
		if refstore.ErrorCode(err) == refstore.CodeNotFound {
			err = refstore.Errorf(refstore.CodeNotFound,
				"The route %s %s is not supported by refstore (of the memories.ai API it serves GET /serve/api/v2/{asset_id}/download).",
				r.Method, refstore.Excerpt(r.URL.Path, 200))
		}
		s.writeAssetIDError(w, r, err)
	})
}
