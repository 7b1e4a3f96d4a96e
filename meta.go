package refstore

import "context"

// MetaStore keeps everything but the bytes: the catalog, keys and sessions, uploads, assets
// and the blob index. sqlstore implements it on SQLite and PostgreSQL with one schema.
// Methods return *Error values with domain codes for expected failures (unknown scope,
// missing asset, conflict); anything else is an internal error.
//
// Every mutation a caller may want audited takes an audit event (nil: record nothing):
// the store writes it, completed with what the mutation did, in the mutation's own
// transaction, so that a mutation never commits without its row, nor a row without its
// mutation.
type MetaStore interface {
	CatalogStore
	AuthStore
	AssetStore
	AuditStore
	LimitStore
	WebhookStore
	// Ping reports whether the store is usable, for /readyz.
	Ping(ctx context.Context) error
	Close() error
}
