package refstore

import (
	"context"
	"io"
	"time"
)

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
	// Ping reports whether the store is usable, for /readyz.
	Ping(ctx context.Context) error
	Close() error
}

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

// APIKey is a user's API key, kept only as its hash.
type APIKey struct {
	ID      string // short public id, used to list and revoke
	Hash    string
	Account string
	UserID  int64
	Created time.Time
}

// Session is a token obtained with an API key, kept only as its hash.
type Session struct {
	Hash     string
	Account  string
	UserID   int64
	KeyHash  string
	Created  time.Time
	LastUsed time.Time
}

// AuthStore holds API keys and sessions.
type AuthStore interface {
	// UserByKey finds the user owning an API key of the account.
	UserByKey(ctx context.Context, account, keyHash string) (int64, error)
	// AddAPIKey stores k as given (its ID, Hash and Created), so that a key's hash moved
	// from another store keeps the key working. Adding a key the user already has is a
	// no-op; a key of another user is CodeConflict.
	AddAPIKey(ctx context.Context, k APIKey, audit *AuditEvent) error
	// APIKeys lists a user's keys (ids and creation times, without hashes).
	APIKeys(ctx context.Context, account string, userID int64) ([]APIKey, error)
	// AccountAPIKeys lists every key of an account with its hash, sorted by user and id,
	// for export.
	AccountAPIKeys(ctx context.Context, account string) ([]APIKey, error)
	// RevokeAPIKey removes a key and ends every session opened with it.
	RevokeAPIKey(ctx context.Context, account string, userID int64, id string, audit *AuditEvent) error

	CreateSession(ctx context.Context, s Session, audit *AuditEvent) error
	// Session finds a session by token hash; CodeUnauthorized when there is none.
	Session(ctx context.Context, hash string) (Session, error)
	// TouchSession records a use of a session at at (last uses never move back);
	// CodeUnauthorized when the session no longer exists (swept, logged out, revoked).
	TouchSession(ctx context.Context, hash string, at time.Time) error
	DeleteSession(ctx context.Context, hash string, audit *AuditEvent) error
	DeleteSessionsIdleSince(ctx context.Context, before time.Time) (int64, error)
}

// AttachParams is one attach: a file token's bytes placed at an address of a segment.
type AttachParams struct {
	Account    string
	UserID     int64
	UploadHash string
	Segment    SegmentRef
	Address    Address
	Now        time.Time
	// NewID is the id the asset gets if the address is new.
	NewID int64
	// Audit, when not nil, is recorded with the attach (see AuditStore).
	Audit *AuditEvent
}

// BlobRef names stored bytes.
type BlobRef struct {
	Account string
	Key     string
}

// ContentID names one distinct content of an account.
type ContentID struct {
	Account string
	SHA256  string
}

// AssetStore holds uploads, assets and the index of blobs they reference.
type AssetStore interface {
	// CreateUpload records an upload and its blob. When the account already holds a blob
	// with the same SHA-256 the upload uses it, and the returned key differs from
	// u.BlobKey: the caller then deletes its own copy.
	CreateUpload(ctx context.Context, u *Upload, audit *AuditEvent) (blobKey string, err error)
	// Upload returns a live upload of the user; CodeFileTokenInvalid otherwise.
	Upload(ctx context.Context, account string, userID int64, hash string, now time.Time) (*Upload, error)
	// DeleteExpiredUploads removes uploads that expired at or before now and returns the
	// contents they referenced, as candidates for CollectGarbage.
	DeleteExpiredUploads(ctx context.Context, now time.Time) ([]ContentID, error)

	// Attach places an upload at an address in one transaction: the upload must still be
	// live, the address must not clash with the segment's layout (CodeConflict), and an
	// existing asset at the address is overwritten (returned as previous).
	Attach(ctx context.Context, p AttachParams) (asset, previous *Asset, err error)
	Asset(ctx context.Context, account string, segmentID int64, a Address) (*Asset, error)
	AssetByID(ctx context.Context, account string, id int64) (*Asset, error)
	// SegmentAssets lists the assets of segments, sorted by segment (in the given order),
	// locale (neutral first), relative path and name.
	SegmentAssets(ctx context.Context, account string, segmentIDs []int64) ([]Asset, error)
	// DeleteAssets deletes one asset, or all of a segment when a is nil, and returns them.
	DeleteAssets(ctx context.Context, account string, segmentID int64, a *Address, audit *AuditEvent) ([]Asset, error)
	// AssetSegments calls fn for every segment that holds assets.
	AssetSegments(ctx context.Context, fn func(account string, segmentID int64) error) error

	// ContentBlob finds the blob holding one content of an account: its key and size, and
	// false when the account holds no such bytes.
	ContentBlob(ctx context.Context, c ContentID) (key string, size int64, ok bool, err error)
	// ImportAsset places an asset loaded from an export, with its own id, address, content
	// type and dates, in one transaction: it records the blob a.BlobKey names (when the
	// account already holds the same bytes, that blob is used and the caller deletes its
	// copy; an empty a.BlobKey means the bytes must already be there, CodeNotFound
	// otherwise), checks that the segment lies in a.DocumentID of a.ProjectID and that the
	// address fits its layout (CodeConflict, as Attach), and inserts the asset. An asset
	// at the same address is replaced, and returned as previous; an asset with the same id
	// at another address is CodeConflict. The returned asset names the blob it uses.
	ImportAsset(ctx context.Context, a *Asset, audit *AuditEvent) (asset, previous *Asset, err error)

	// CollectGarbage marks the candidate blobs that no asset or upload references any
	// more as garbage at now (nil candidates: every blob, a full scan), then removes the
	// records of all blobs marked at least grace ago and returns their keys, for the blob
	// store to delete. A grace period lets readers that found a blob just before it lost
	// its last reference finish reading; a new upload of the same bytes revives a blob.
	//
	// Every method that removes a reference to a blob (DeleteExpiredUploads, Attach over
	// other bytes, DeleteAssets, ImportAsset's replacement, RemoveEntry) marks the blobs
	// it left unreferenced in its own transaction: a blob never stays unreferenced and
	// unmarked, whatever happens to the process after the commit, so a purge (empty
	// candidates) removes every unreferenced blob once its grace has passed. Candidates
	// and the full scan are for blobs that earlier versions left unmarked.
	CollectGarbage(ctx context.Context, candidates []ContentID, now time.Time, grace time.Duration) ([]BlobRef, error)
	// BlobKnown reports whether a blob is recorded, for sweeping leftovers.
	BlobKnown(ctx context.Context, ref BlobRef) (bool, error)
}

// BlobStore keeps bytes. Keys are chosen by the store and never reused, so that a key
// names one immutable content for its whole life.
type BlobStore interface {
	// Put stores everything r yields as a new durable blob of the account and returns its
	// key and size. When r fails, Put fails with r's error and keeps nothing.
	Put(ctx context.Context, account string, r io.Reader) (key string, size int64, err error)
	// Open opens a blob of the given size for reading. The filesystem store returns an
	// *os.File so that downloads take the kernel's sendfile path; a remote store may open
	// lazily (see RangePrefetcher). fs.ErrNotExist when it is gone.
	Open(ctx context.Context, ref BlobRef, size int64) (io.ReadSeekCloser, error)
	// Delete removes a blob; a missing blob is not an error.
	Delete(ctx context.Context, ref BlobRef) error
	// Walk calls fn for every stored blob with its modification time.
	Walk(ctx context.Context, fn func(ref BlobRef, mod time.Time) error) error
	Ping(ctx context.Context) error
}

// RangePrefetcher is implemented by blob contents that fetch bytes over the network. The
// HTTP layer announces the byte range it is about to send (end inclusive), so that one
// ranged request fetches exactly it and a failure is reported before the response starts.
type RangePrefetcher interface {
	Prefetch(start, end int64) error
}

// Presigner is implemented by blob contents that can be fetched by the client directly,
// with a short-lived URL that serves them with the given headers.
type Presigner interface {
	PresignGet(contentType, disposition string, ttl time.Duration) (string, error)
}

// StaleUploadAborter is implemented by blob stores that keep unfinished uploads (S3
// multipart uploads) which a crash can leave behind.
type StaleUploadAborter interface {
	AbortStaleUploads(ctx context.Context, before time.Time) (int, error)
}

// Mirror is implemented by blob stores that also keep the SPEC's browsable tree of
// reference material (one folder per project). The tree is a view derived from the
// metadata and the blobs: it is updated after each commit and repaired by Reconcile after
// a crash.
type Mirror interface {
	Place(ctx context.Context, a *Asset) error
	Remove(ctx context.Context, a *Asset) error
	// RemoveFolder removes an account's reference material, a project's, a document's
	// assets or a segment's, whichever is the most specific non-zero field of f.
	RemoveFolder(ctx context.Context, f Folder) error
	// Reconcile makes the tree match the metadata exactly.
	Reconcile(ctx context.Context, src AssetSource) (ReconcileReport, error)
}

// Folder names a folder of the mirror tree.
type Folder struct {
	Account    string
	ProjectID  int64
	DocumentID int64
	SegmentID  int64
}

// AssetSource is what Reconcile reads from the metadata.
type AssetSource interface {
	SegmentAssets(ctx context.Context, account string, segmentIDs []int64) ([]Asset, error)
	AssetSegments(ctx context.Context, fn func(account string, segmentID int64) error) error
}

// ReconcileReport counts what Reconcile changed.
type ReconcileReport struct {
	Placed  int // links created or replaced
	Removed int // files that no asset accounts for
	Missing int // assets whose blob is gone: nothing to link (fsck reports them)
}
