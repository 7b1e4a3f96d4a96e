package http

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/wire"
)

// maxCatalogBody bounds a catalog upsert (large projects list many segments).
const maxCatalogBody = 256 << 20

// putCatalog answers PUT /admin/v1/catalog.
func (s *Server) putCatalog(w http.ResponseWriter, r *http.Request) error {
	var c wire.Catalog
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxCatalogBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&c); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return refstore.Errorf(refstore.CodeTooLarge, "The catalog is larger than %d bytes; send it in parts.", maxCatalogBody)
		}
		return refstore.Errorf(refstore.CodeInvalidBody, "The catalog is not valid JSON: %v.", err)
	}
	if err := s.svc.UpsertCatalog(r.Context(), &c); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.CatalogResult{Accounts: len(c.Accounts)})
	return nil
}

func (s *Server) listAccounts(w http.ResponseWriter, r *http.Request) error {
	ids, err := s.svc.Accounts(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Accounts{Accounts: ids})
	return nil
}

func (s *Server) getAccount(w http.ResponseWriter, r *http.Request) error {
	a, err := s.svc.AccountCatalog(r.Context(), r.PathValue("account"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

func (s *Server) accountUsage(w http.ResponseWriter, r *http.Request) error {
	u, err := s.svc.AccountUsage(r.Context(), r.PathValue("account"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Usage{Account: u.Account, Bytes: u.Bytes, Blobs: u.Blobs, Assets: u.Assets, QuotaBytes: u.QuotaBytes})
	return nil
}

// removeEntry answers DELETE /admin/v1/accounts/{account}[/{kind}/{id}] for the kinds
// users, projects, documents, segments and jobs (a job id is written jbs{id} or jbc{id}).
func (s *Server) removeEntry(w http.ResponseWriter, r *http.Request) error {
	e := refstore.Entry{Kind: refstore.EntryAccount, Account: r.PathValue("account")}
	if kind := r.PathValue("kind"); kind != "" {
		id := r.PathValue("id")
		var err error
		switch kind {
		case "users":
			e.Kind = refstore.EntryUser
		case "projects":
			e.Kind = refstore.EntryProject
		case "documents":
			e.Kind = refstore.EntryDocument
		case "segments":
			e.Kind = refstore.EntrySegment
		case "jobs":
			var sc refstore.Scope
			if sc, err = refstore.ParseScope(id); err != nil || !sc.IsJob() {
				return refstore.InvalidParam("id", "a job is written jbs{jobId} or jbc{jobId}")
			}
			e.Kind, e.ID, e.Job = refstore.EntryJob, sc.ID, sc.JobKind()
		default:
			return refstore.Errorf(refstore.CodeNotFound, "No catalog entries of kind %q (use users, projects, documents, segments or jobs).", kind)
		}
		if e.Kind != refstore.EntryJob {
			if e.ID, err = refstore.ParseID("id", id); err != nil {
				return err
			}
		}
	}
	if err := s.svc.RemoveEntry(r.Context(), e); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// removeGrant answers DELETE /admin/v1/accounts/{account}/users/{userId}/grants/{target},
// the target written pr{projectId}, jbs{jobId} or jbc{jobId}.
func (s *Server) removeGrant(w http.ResponseWriter, r *http.Request) error {
	user, err := refstore.ParseID("userId", r.PathValue("userId"))
	if err != nil {
		return err
	}
	sc, err := refstore.ParseScope(r.PathValue("target"))
	if err != nil {
		return refstore.InvalidParam("target", "a grant target is written pr{projectId}, jbs{jobId} or jbc{jobId}")
	}
	e := refstore.Entry{Kind: refstore.EntryProjectGrant, Account: r.PathValue("account"), ID: sc.ID, UserID: user}
	if sc.IsJob() {
		e.Kind, e.Job = refstore.EntryJobGrant, sc.JobKind()
	}
	if err := s.svc.RemoveEntry(r.Context(), e); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// sweep answers POST /admin/v1/sweep: one sweep of this node, as the periodic sweeper
// runs it, answered once it is complete. Tests and operators use it to wait for a sweep
// instead of for the clock; it runs to its end even if the caller goes away.
func (s *Server) sweep(w http.ResponseWriter, r *http.Request) error {
	rep, err := s.svc.Sweep(context.WithoutCancel(r.Context()))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Sweep{Sessions: rep.Sessions, Uploads: rep.Uploads, Blobs: rep.Blobs, AuditRows: rep.AuditRows,
		Deliveries: rep.Deliveries})
	return nil
}

func (s *Server) issueKey(w http.ResponseWriter, r *http.Request) error {
	user, err := refstore.ParseID("userId", r.PathValue("userId"))
	if err != nil {
		return err
	}
	k, secret, err := s.svc.IssueKey(r.Context(), r.PathValue("account"), user)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, wire.Key{ID: k.ID, Key: secret, Created: refstore.FormatDate(k.Created)})
	return nil
}

func (s *Server) listKeys(w http.ResponseWriter, r *http.Request) error {
	user, err := refstore.ParseID("userId", r.PathValue("userId"))
	if err != nil {
		return err
	}
	keys, err := s.svc.APIKeys(r.Context(), r.PathValue("account"), user)
	if err != nil {
		return err
	}
	out := make([]wire.Key, len(keys))
	for i, k := range keys {
		out[i] = wire.Key{ID: k.ID, Created: refstore.FormatDate(k.Created)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (s *Server) revokeKey(w http.ResponseWriter, r *http.Request) error {
	user, err := refstore.ParseID("userId", r.PathValue("userId"))
	if err != nil {
		return err
	}
	if err := s.svc.RevokeKey(r.Context(), r.PathValue("account"), user, r.PathValue("keyId")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
