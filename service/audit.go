package service

import (
	"context"
	"strings"
	"time"

	"github.com/refstore/refstore"
)

// Every mutation passes its audit event to the metadata store as a value (the audit
// parameter of the store's mutations), and the store writes it in the mutation's own
// transaction. A mutation the service refuses is recorded on its own, with the refusing
// code as outcome.

// userEvent starts the audit row of an API caller's mutation.
func userEvent(ctx context.Context, p refstore.Principal, action refstore.AuditAction) *refstore.AuditEvent {
	return &refstore.AuditEvent{Account: p.Account, Actor: refstore.ActorUser, UserID: p.UserID, Action: action,
		RequestID: refstore.RequestIDFrom(ctx)}
}

// adminEvent starts the audit row of an operator's mutation (admin API or command).
func adminEvent(ctx context.Context, account string, action refstore.AuditAction) *refstore.AuditEvent {
	return &refstore.AuditEvent{Account: account, Actor: refstore.ActorAdmin, Action: action,
		RequestID: refstore.RequestIDFrom(ctx)}
}

// auditedRefusals are the refusals worth a row: a caller was denied, or asked for what is
// not there, clashes or does not fit. Malformed requests name no target and are left out,
// and so are states of the server (internal, unavailable, a full disk), which the log
// reports: a row per refusal on a full disk would take the space the sweeper needs to
// commit the deletions that free it. Throttled requests are left out too, or throttling
// would turn every refused request into a write.
var auditedRefusals = map[refstore.Code]bool{
	refstore.CodeForbidden:        true,
	refstore.CodeScopeNotFound:    true,
	refstore.CodeSegmentNotFound:  true,
	refstore.CodeAssetNotFound:    true,
	refstore.CodeFileTokenInvalid: true,
	refstore.CodeConflict:         true,
	refstore.CodeTooLarge:         true,
	refstore.CodeQuotaExceeded:    true,
}

// refused records a refused mutation and returns err. A failure to record it is logged,
// never returned: the caller is owed the refusal's own error.
func (s *Service) refused(ctx context.Context, ev *refstore.AuditEvent, err error) error {
	code := refstore.ErrorCode(err)
	if !auditedRefusals[code] {
		return err
	}
	row := *ev
	row.Outcome = string(code)
	if rerr := s.meta.RecordAudit(context.WithoutCancel(ctx), &row); rerr != nil {
		s.log.Warn("recording a refused mutation in the audit log failed", "action", string(row.Action),
			"request_id", row.RequestID, "err", rerr)
	}
	return err
}

// AuditLog lists audit rows, newest first.
func (s *Service) AuditLog(ctx context.Context, f refstore.AuditFilter) ([]refstore.AuditEvent, error) {
	return s.meta.AuditLog(ctx, f)
}

// PruneAudit removes the audit rows older than the retention; 0 keeps them forever.
func (s *Service) PruneAudit(ctx context.Context, retention time.Duration) (int64, error) {
	if retention <= 0 {
		return 0, nil
	}
	return s.meta.PruneAudit(ctx, s.now().Add(-retention))
}

// addressTarget names an address below its segment as the audit log shows it:
// "en/public/images/shot.png", without a locale for a neutral asset.
func addressTarget(a refstore.Address) string { return strings.Join(a.Elements(), "/") }
