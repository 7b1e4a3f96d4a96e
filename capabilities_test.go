package refstore

import (
	"context"
	"io"
	"strings"
	"testing"
	"time"
)

// plainBlobs is a blob store with no optional ability; listingBlobs adds two.
type plainBlobs struct{ BlobStore }

type listingBlobs struct{ plainBlobs }

func (listingBlobs) List(context.Context, func(BlobInfo) error) error          { return nil }
func (listingBlobs) StaleUploads(context.Context, time.Time) (int, error)      { return 0, nil }
func (listingBlobs) AbortStaleUploads(context.Context, time.Time) (int, error) { return 0, nil }

func TestBlobCapabilities(t *testing.T) {
	if c := BlobCapabilitiesOf(plainBlobs{}); c != (BlobCapabilities{}) {
		t.Fatalf("a plain store has %+v", c)
	}
	c := BlobCapabilitiesOf(listingBlobs{})
	if c.Lister == nil || c.StaleLister == nil || c.StaleAborter == nil || c.Mirror != nil {
		t.Fatalf("capabilities %+v", c)
	}
	if s := c.String(); !strings.Contains(s, "list=yes") || !strings.Contains(s, "mirror=no") ||
		!strings.Contains(s, "stale-uploads=yes") {
		t.Fatalf("String() = %q", s)
	}
}

type remoteReader struct{ io.ReadSeekCloser }

func (remoteReader) Prefetch(int64, int64) error { return nil }

func TestContentOf(t *testing.T) {
	c := ContentOf(remoteReader{})
	if c.Prefetcher == nil || c.Presigner != nil || c.Bytes != nil {
		t.Fatalf("content %+v", c)
	}
	m := MemoryContent([]byte("abc"))
	b, err := io.ReadAll(m)
	if err != nil || string(b) != "abc" || string(m.Bytes) != "abc" || m.Close() != nil {
		t.Fatalf("memory content: %q, %v", b, err)
	}
}
