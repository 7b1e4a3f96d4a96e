package refstore

import "context"

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

// MirrorProblem is one difference between the reference-material tree and the metadata.
type MirrorProblem struct {
	Kind MirrorProblemKind
	// Path is the entry's path in the tree, relative to the data directory.
	Path string
	// Asset is the asset the entry belongs to (nil for a stray entry).
	Asset *Asset
}

// MirrorProblemKind says what is wrong with an entry of the tree.
type MirrorProblemKind uint8

const (
	// MirrorMissing: an asset has no file at its path.
	MirrorMissing MirrorProblemKind = iota + 1
	// MirrorNotLinked: the file at an asset's path is not a hard link to its blob (a copy,
	// other bytes, a symbolic link, a folder).
	MirrorNotLinked
	// MirrorStray: a file or folder that no asset accounts for.
	MirrorStray
)

// MirrorChecker is implemented by mirrors that can report how the tree differs from the
// metadata without changing anything (Reconcile's dry run). Assets whose blob is missing
// are not reported: there is nothing to link, and fsck reports the loss itself.
type MirrorChecker interface {
	CheckMirror(ctx context.Context, src AssetSource, fn func(MirrorProblem) error) error
}
