package refstore

import (
	"context"
	"io"
	"time"
)

// BlobRef names stored bytes.
type BlobRef struct {
	Account string
	Key     string
}

// BlobStore keeps bytes. Keys are chosen by the store and never reused, so that a key
// names one immutable content for its whole life: hex ids (NewHexID), which the stores
// check (ValidHexID) before they build a path or an object name from one.
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
