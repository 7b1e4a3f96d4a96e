package service

import (
	"context"
	"encoding/base64"
	"fmt"

	"github.com/refstore/refstore"
)

// UpsertCatalog validates and stores a catalog; API keys given in it are stored hashed.
func (s *Service) UpsertCatalog(ctx context.Context, c *refstore.Catalog) error {
	if err := c.Validate(); err != nil {
		return err
	}
	var keys []refstore.APIKey
	for _, a := range c.Accounts {
		for _, u := range a.Users {
			if u.APIKey != "" {
				keys = append(keys, s.apiKey(a.ID, u.ID, u.APIKey))
			}
		}
	}
	return s.meta.UpsertCatalog(ctx, c, keys, adminEvent(ctx, "", refstore.AuditCatalogUpsert))
}

func (s *Service) apiKey(account string, user int64, secret string) refstore.APIKey {
	h := hashSecret(secret)
	return refstore.APIKey{ID: "k_" + h[:12], Hash: h, Account: account, UserID: user, Created: s.now()}
}

// IssueKey makes a new API key for a user. The secret is returned once and kept only as a
// hash.
func (s *Service) IssueKey(ctx context.Context, account string, user int64) (refstore.APIKey, string, error) {
	secret := "rsk_" + base64.RawURLEncoding.EncodeToString(randomBytes(32))
	k := s.apiKey(account, user, secret)
	ev := adminEvent(ctx, account, refstore.AuditKeyIssue)
	ev.Target = fmt.Sprintf("user %d key %s", user, k.ID)
	if err := s.meta.AddAPIKey(ctx, k, ev); err != nil {
		return refstore.APIKey{}, "", err
	}
	return k, secret, nil
}

// APIKeys lists a user's keys without their secrets.
func (s *Service) APIKeys(ctx context.Context, account string, user int64) ([]refstore.APIKey, error) {
	return s.meta.APIKeys(ctx, account, user)
}

// RevokeKey removes a key and ends its sessions.
func (s *Service) RevokeKey(ctx context.Context, account string, user int64, id string) error {
	ev := adminEvent(ctx, account, refstore.AuditKeyRevoke)
	ev.Target = fmt.Sprintf("user %d key %s", user, id)
	return s.meta.RevokeAPIKey(ctx, account, user, id, ev)
}

// AccountCatalog returns one account's catalog.
func (s *Service) AccountCatalog(ctx context.Context, account string) (*refstore.CatalogAccount, error) {
	return s.meta.AccountCatalog(ctx, account)
}

// Accounts lists the account ids.
func (s *Service) Accounts(ctx context.Context) ([]string, error) { return s.meta.Accounts(ctx) }

// RemoveEntry removes a catalog entry with everything below it: the metadata first, then
// the files of the reference-material tree and the bytes nothing references any more.
func (s *Service) RemoveEntry(ctx context.Context, e refstore.Entry) error {
	folder := refstore.Folder{Account: e.Account}
	switch e.Kind {
	case refstore.EntryProject:
		folder.ProjectID = e.ID
	case refstore.EntryDocument:
		acc, err := s.meta.Access(ctx, refstore.Principal{Account: e.Account}, refstore.Scope{Kind: refstore.ScopeDocument, ID: e.ID})
		if err != nil {
			return notFoundAs(err, refstore.CodeScopeNotFound, "Document not found.")
		}
		folder.ProjectID, folder.DocumentID = acc.ProjectID, e.ID
	case refstore.EntrySegment:
		ref, err := s.meta.Segment(ctx, e.Account, e.ID)
		if err != nil {
			return notFoundAs(err, refstore.CodeSegmentNotFound, "Segment not found.")
		}
		folder.ProjectID, folder.DocumentID, folder.SegmentID = ref.ProjectID, ref.DocumentID, ref.ID
	}
	ev := adminEvent(ctx, e.Account, refstore.AuditEntryRemove)
	ev.ProjectID, ev.DocumentID, ev.SegmentID, ev.Target = folder.ProjectID, folder.DocumentID, folder.SegmentID, entryTarget(e)
	switch e.Kind {
	case refstore.EntryProjectGrant:
		ev.Action, ev.ProjectID = refstore.AuditGrantRevoke, e.ID
	case refstore.EntryJobGrant:
		ev.Action = refstore.AuditGrantRevoke
	}
	removed, err := s.meta.RemoveEntry(ctx, e, ev)
	if err != nil {
		return err
	}
	switch e.Kind {
	case refstore.EntryAccount, refstore.EntryProject, refstore.EntryDocument, refstore.EntrySegment:
		if s.mirror != nil {
			if err := s.mirror.RemoveFolder(ctx, folder); err != nil {
				s.log.Error("removing reference-material files failed", "account", e.Account, "err", err)
			}
		}
	}
	switch e.Kind {
	case refstore.EntryAccount:
		// The account's blob records went with it: delete their bytes.
		for _, ref := range removed {
			s.deleteBlob(ctx, ref)
		}
	case refstore.EntryProject, refstore.EntryDocument, refstore.EntrySegment, refstore.EntryUser:
		s.collect(ctx)
	}
	return nil
}

// notFoundAs turns the lookup's "no such scope or segment" into the admin API's plain not
// found; any other failure (a database down) stays what it is.
func notFoundAs(err error, code refstore.Code, msg string) error {
	if refstore.ErrorCode(err) == code {
		return refstore.Errorf(refstore.CodeNotFound, "%s", msg)
	}
	return err
}

// entryTarget names a removed catalog entry for the audit log.
func entryTarget(e refstore.Entry) string {
	job := func() string { return e.Job.Scope(e.ID).String() }
	switch e.Kind {
	case refstore.EntryAccount:
		return "account " + e.Account
	case refstore.EntryUser:
		return fmt.Sprintf("user %d", e.ID)
	case refstore.EntryProject:
		return fmt.Sprintf("project %d", e.ID)
	case refstore.EntryDocument:
		return fmt.Sprintf("document %d", e.ID)
	case refstore.EntrySegment:
		return fmt.Sprintf("segment %d", e.ID)
	case refstore.EntryJob:
		return "job " + job()
	case refstore.EntryProjectGrant:
		return fmt.Sprintf("user %d grant pr%d", e.UserID, e.ID)
	case refstore.EntryJobGrant:
		return fmt.Sprintf("user %d grant %s", e.UserID, job())
	}
	return ""
}
