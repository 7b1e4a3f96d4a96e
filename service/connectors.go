package service

import (
	"context"

	"github.com/refstore/refstore"
)

// The operations behind the routes Wordbee connectors call to set up a connection —
// persons (the C# connector's connection check), the Flex document list and one Flex
// document (the Unreal plugin's) — and the API-key authentication of memories.ai clients.
// They read the catalog; none changes anything.

// Persons lists the users of the caller's account as Wordbee persons, filtered and paged.
// Any authenticated user may list them, as any Wordbee user can pick a person in the UI.
func (s *Service) Persons(ctx context.Context, p refstore.Principal, req refstore.ListRequest) (int, []refstore.Person, error) {
	users, err := s.meta.Users(ctx, p.Account)
	if err != nil {
		return 0, nil, err
	}
	persons := make([]refstore.Person, len(users))
	for i, u := range users {
		persons[i] = refstore.PersonOf(u)
	}
	total, page := refstore.Page(persons, req)
	return total, page, nil
}

// FlexDocuments lists the documents the caller may read (through a project grant or a job
// covering them), by id, filtered and paged, with the segment counts of the page.
func (s *Service) FlexDocuments(ctx context.Context, p refstore.Principal, req refstore.ListRequest) (int, []refstore.FlexDocument, error) {
	docs, err := s.meta.ReadableDocuments(ctx, p)
	if err != nil {
		return 0, nil, err
	}
	total, page := refstore.Page(docs, req)
	ids := make([]int64, len(page))
	for i, d := range page {
		ids[i] = d.ID
	}
	counts, err := s.meta.SegmentCounts(ctx, p.Account, ids)
	if err != nil {
		return 0, nil, err
	}
	out := make([]refstore.FlexDocument, len(page))
	for i, d := range page {
		out[i] = refstore.FlexDocument{DocumentInfo: d, Segments: counts[d.ID]}
	}
	return total, out, nil
}

// FlexDocument describes the document a Flex id names: a document, or the document of a
// Codyt job (c{jobId}; the first by id when the job covers several). Rights are checked as
// on the Flex asset routes: an unknown document or job is a 404, one the caller may not
// read a 403.
func (s *Service) FlexDocument(ctx context.Context, p refstore.Principal, sc refstore.Scope) (refstore.DocumentInfo, error) {
	acc, err := s.view(ctx, p).Access(ctx, p, sc)
	if err != nil {
		return refstore.DocumentInfo{}, err
	}
	if !acc.Rights.Has(refstore.RightRead) {
		return refstore.DocumentInfo{}, refstore.Errorf(refstore.CodeForbidden, "You do not have the read right on %s.", scopeName(sc))
	}
	id := sc.ID
	if sc.Kind != refstore.ScopeDocument {
		if len(acc.Documents) == 0 {
			return refstore.DocumentInfo{}, refstore.Errorf(refstore.CodeScopeNotFound, "The %s covers no document.", scopeName(sc))
		}
		id = acc.Documents[0]
	}
	return s.meta.Document(ctx, p.Account, id)
}

// AuthenticateKey authenticates a call by an API key itself (memories.ai clients send
// `Authorization: <key>` on every call instead of a session): the caller is the key's user,
// with the same rights as its sessions and counted against the same rate limit (the key's).
// API keys are unique across accounts, so the key alone names the account.
func (s *Service) AuthenticateKey(ctx context.Context, key string) (refstore.Principal, error) {
	if key == "" {
		return refstore.Principal{}, errUnauthorized("Not authenticated: the Authorization header must carry an API key.")
	}
	view := s.views.View(ctx)
	hash := hashSecret(key)
	account, user, err := s.meta.KeyOwner(ctx, hash)
	if err != nil {
		return refstore.Principal{}, err
	}
	return refstore.Principal{Account: account, UserID: user, KeyHash: hash, View: view}, nil
}
