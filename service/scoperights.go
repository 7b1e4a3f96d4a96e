package service

import (
	"context"

	"github.com/refstore/refstore"
)

// ScopeRights returns the caller's access to a scope: its project and the rights the
// caller's grants give there. Clients such as the web UI ask for it to offer only the
// actions the caller may take, instead of probing with writes that would be refused (and
// audited). It needs the read right, like listing the scope: an unknown scope is a 404 and
// a scope the caller may not read a 403, so it tells nothing a list call would not.
func (s *Service) ScopeRights(ctx context.Context, p refstore.Principal, sc refstore.Scope) (refstore.Access, error) {
	acc, err := s.view(ctx, p).Access(ctx, p, sc)
	if err != nil {
		return acc, err
	}
	if !acc.Rights.Has(refstore.RightRead) {
		return refstore.Access{}, refstore.Errorf(refstore.CodeForbidden, "You do not have the read right on %s.", scopeName(sc))
	}
	return acc, nil
}
