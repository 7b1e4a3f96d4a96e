package refstore

import (
	"context"
	"time"
)

// The interfaces below are what `refstore fsck` needs on top of the store interfaces: ways
// to list everything a store holds, so that metadata and bytes can be compared. Both blob
// stores and the SQL metadata store implement them.

// BlobRecord is the metadata's record of one stored content of an account, with the number
// of assets and uploads (live or expired) that reference it.
type BlobRecord struct {
	Account string
	SHA256  string
	Key     string
	Size    int64
	Created time.Time
	// GarbageSince is when the blob was found unreferenced (zero when it was not): it is
	// deleted a grace period later.
	GarbageSince time.Time
	Assets       int
	Uploads      int
}

// MetaChecker is implemented by metadata stores that can be checked against the stored
// bytes.
type MetaChecker interface {
	// BlobRecords calls fn for every blob record, sorted by account and key.
	BlobRecords(ctx context.Context, fn func(BlobRecord) error) error
	// ContentAssets returns the assets that hold one content of an account.
	ContentAssets(ctx context.Context, c ContentID) ([]Asset, error)
	// ExpiredUploads calls fn for every upload that expired at or before now.
	ExpiredUploads(ctx context.Context, now time.Time, fn func(Upload) error) error
}

// BlobInfo describes one stored blob.
type BlobInfo struct {
	Ref  BlobRef
	Size int64
	// Mod is when the blob was written, or a little later, never earlier.
	Mod time.Time
}

// BlobLister is implemented by blob stores that list their blobs with their sizes.
type BlobLister interface {
	List(ctx context.Context, fn func(BlobInfo) error) error
}

// StaleUploadLister is implemented by blob stores that keep unfinished uploads (S3
// multipart uploads): it counts those started before the given time without aborting
// them.
type StaleUploadLister interface {
	StaleUploads(ctx context.Context, before time.Time) (int, error)
}

// Leftovers are the files an interrupted write left in a blob store's staging area.
type Leftovers struct {
	// Removed lists the leftovers of dead processes that opening the store removed.
	Removed []string
	// Found lists the leftovers of dead processes still there (relative paths).
	Found []string
	// InProgress counts the files of live processes: writes in progress.
	InProgress int
}

// LeftoverInspector is implemented by blob stores that stage writes in files of their own.
type LeftoverInspector interface {
	Leftovers(ctx context.Context) (Leftovers, error)
}

// BlobRestorer is implemented by blob stores that may hold a second copy of an asset's
// bytes (the filesystem store's tree): RestoreBlob brings the blob a.BlobKey names back
// from it, and reports whether it could.
type BlobRestorer interface {
	RestoreBlob(ctx context.Context, a *Asset) (bool, error)
}

// UncleanReporter is implemented by blob stores that know whether the last process that
// used them stopped without shutting down cleanly.
type UncleanReporter interface {
	UncleanMarker() bool
}
