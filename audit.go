package refstore

import (
	"context"
	"fmt"
	"time"
)

// AuditAction names what an audit row records.
type AuditAction string

const (
	AuditTokenIssue    AuditAction = "token.issue"      // login: a session was opened with an API key
	AuditTokenRevoke   AuditAction = "token.revoke"     // logout: a session was ended
	AuditUpload        AuditAction = "media.upload"     // a file was uploaded (a file token issued)
	AuditAttach        AuditAction = "asset.attach"     // a file token was attached at a new address
	AuditOverwrite     AuditAction = "asset.overwrite"  // … at an address that held an asset
	AuditDelete        AuditAction = "asset.delete"     // one asset deleted (count 0 or 1)
	AuditDeleteAll     AuditAction = "asset.delete_all" // every asset of a segment deleted (count)
	AuditImport        AuditAction = "asset.import"     // an asset loaded by `refstore import`
	AuditCatalogUpsert AuditAction = "catalog.upsert"   // one account of a catalog upsert (or import)
	AuditEntryRemove   AuditAction = "catalog.remove"   // a catalog entry removed with everything below it
	AuditGrantRevoke   AuditAction = "grant.revoke"     // a user's grant on a project or job removed
	AuditKeyIssue      AuditAction = "key.issue"        // an API key added to a user
	AuditKeyRevoke     AuditAction = "key.revoke"       // an API key removed (its sessions end)
)

// Actors of audit rows.
const (
	ActorUser  = "user"  // an API caller, authenticated with a token
	ActorAdmin = "admin" // the admin API, or the refstore command on the operator's behalf
)

// AuditOutcomeOK is the outcome of a mutation that was applied. A refused one records the
// error code that refused it (forbidden, scope_not_found, conflict, storage_full, …).
const AuditOutcomeOK = "ok"

// AuditEvent is one row of the audit log. It never holds a secret: no token, key or file
// token, only the public id of a key ("k_…") and the names and ids of what changed.
type AuditEvent struct {
	ID         int64 // chosen by the store
	Time       time.Time
	Account    string
	Actor      string // ActorUser or ActorAdmin
	UserID     int64  // the calling user; 0 for the admin
	Action     AuditAction
	ProjectID  int64 // 0 when the action concerns no one project
	DocumentID int64
	SegmentID  int64
	AssetID    int64
	// Target names what the action applied to, readably: an asset's path below its
	// segment ("en/public/images/shot.png"), an uploaded name, a catalog entry
	// ("project 7214", "user 3 key k_…", "user 3 grant jbs9927"), a key id.
	Target string
	// Detail adds facts: sizes and content types, the scope of a call, counts of a
	// catalog upsert.
	Detail string
	// Scope is the scope the call named (pr7214, jbs9927, jbc9927, or a Flex document id),
	// for the webhook events of the mutation; Detail repeats it for the log.
	Scope     string
	Count     int64 // assets deleted by asset.delete and asset.delete_all
	RequestID string
	Outcome   string // AuditOutcomeOK or the refusing error code
}

// ContentDetail describes bytes in an audit row's Detail, as key=value pairs like the
// rest of it: size=1234 type="image/png" sha256=….
func ContentDetail(size int64, contentType, sha256 string) string {
	return fmt.Sprintf("size=%d type=%q sha256=%s", size, contentType, sha256)
}

type requestIDKey struct{}

// WithRequestID attaches the request id of an HTTP request, for audit rows.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id WithRequestID attached, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// AuditFilter selects audit rows, newest first.
type AuditFilter struct {
	Account   string // "" for every account
	ProjectID int64  // 0 for every project
	Since     time.Time
	Until     time.Time // exclusive; zero for no bound
	Limit     int
	// After continues a listing: only rows older than this position (from a previous
	// page's last row) are returned.
	After *AuditPosition
}

// AuditPosition is the place of a row in the log's order (time, then id, descending).
type AuditPosition struct {
	Time time.Time
	ID   int64
}

// AuditStore keeps the audit log.
type AuditStore interface {
	// RecordAudit stores one row on its own, for a mutation that was refused.
	RecordAudit(ctx context.Context, ev *AuditEvent) error
	// AuditLog lists rows, newest first.
	AuditLog(ctx context.Context, f AuditFilter) ([]AuditEvent, error)
	// PruneAudit removes the rows older than before and says how many went.
	PruneAudit(ctx context.Context, before time.Time) (int64, error)
}
