package refstore

import "context"

// CatalogStore holds accounts, users, projects, documents, segments, jobs and grants.
type CatalogStore interface {
	// UpsertCatalog adds or updates every entry of c in one transaction, and adds keys;
	// audit, when not nil, is recorded for each account of c (see AuditStore).
	UpsertCatalog(ctx context.Context, c *Catalog, keys []APIKey, audit *AuditEvent) error
	// AccountCatalog returns one account's catalog (without keys).
	AccountCatalog(ctx context.Context, account string) (*CatalogAccount, error)
	// Accounts lists the account ids.
	Accounts(ctx context.Context) ([]string, error)
	// RemoveEntry removes one catalog entry and everything below it (assets included).
	// Removing an account also removes its blob records, and returns them so that their
	// bytes can be deleted.
	RemoveEntry(ctx context.Context, e Entry, audit *AuditEvent) ([]BlobRef, error)

	// Access resolves a scope for a caller: the project, the caller's rights in it and the
	// documents the scope is limited to. CodeScopeNotFound when the scope does not exist.
	Access(ctx context.Context, p Principal, s Scope) (Access, error)
	// Segment places one segment; CodeSegmentNotFound when it is not in the account.
	Segment(ctx context.Context, account string, id int64) (SegmentRef, error)
	// Segments places several segments; unknown ids are left out.
	Segments(ctx context.Context, account string, ids []int64) ([]SegmentRef, error)
	// DocumentRights returns the caller's rights on a document: its project grant
	// together with the grants of every job that covers the document.
	DocumentRights(ctx context.Context, p Principal, documentID int64) (Rights, error)

	// Users lists an account's users (id, name, e-mail), by id.
	Users(ctx context.Context, account string) ([]CatalogUser, error)
	// Document describes one document; CodeScopeNotFound when it is not in the account.
	Document(ctx context.Context, account string, id int64) (DocumentInfo, error)
	// ReadableDocuments lists, by id, the documents the caller may read: those of the
	// projects its project grants give read on, and those covered by the jobs its job
	// grants give read on.
	ReadableDocuments(ctx context.Context, p Principal) ([]DocumentInfo, error)
	// SegmentCounts counts the segments of documents; unknown documents are left out.
	SegmentCounts(ctx context.Context, account string, documentIDs []int64) (map[int64]int64, error)
}

// EntryKind names what Entry removes.
type EntryKind uint8

const (
	EntryAccount EntryKind = iota + 1
	EntryUser
	EntryProject
	EntryDocument
	EntrySegment
	EntryJob
	EntryProjectGrant
	EntryJobGrant
)

// Entry names one catalog entry to remove.
type Entry struct {
	Kind    EntryKind
	Account string
	ID      int64   // the user, project, document, segment or job; the project or job of a grant
	Job     JobKind // for jobs and job grants (the zero value is a standard job)
	UserID  int64   // for grants
}
