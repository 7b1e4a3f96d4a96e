package refstore

import (
	"context"
	"time"
)

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
