package refstore

import (
	"bytes"
	"io"
	"strings"
)

// The optional abilities of the stores are found once, when the stores are wired
// (BlobCapabilitiesOf, MetaCapabilitiesOf, ContentOf), and logged at start: no caller asks
// a store what it can do by itself.

// BlobCapabilities are the optional abilities of a blob store; a nil field is one it
// lacks.
type BlobCapabilities struct {
	Mirror        Mirror             // keeps the browsable tree of reference material
	MirrorChecker MirrorChecker      // reports how that tree differs from the metadata
	Restorer      BlobRestorer       // brings lost bytes back from the tree's copy
	Lister        BlobLister         // lists its blobs with their sizes
	Leftovers     LeftoverInspector  // stages writes in files of its own
	Unclean       UncleanReporter    // knows whether the last process stopped cleanly
	StaleLister   StaleUploadLister  // keeps unfinished uploads (S3 multipart uploads)…
	StaleAborter  StaleUploadAborter // … and can abort them
}

// BlobCapabilitiesOf finds what b can do besides BlobStore.
func BlobCapabilitiesOf(b BlobStore) BlobCapabilities {
	var c BlobCapabilities
	c.Mirror, _ = b.(Mirror)
	c.MirrorChecker, _ = b.(MirrorChecker)
	c.Restorer, _ = b.(BlobRestorer)
	c.Lister, _ = b.(BlobLister)
	c.Leftovers, _ = b.(LeftoverInspector)
	c.Unclean, _ = b.(UncleanReporter)
	c.StaleLister, _ = b.(StaleUploadLister)
	c.StaleAborter, _ = b.(StaleUploadAborter)
	return c
}

// String lists the abilities for the start-up log: "mirror=yes list=yes …".
func (c BlobCapabilities) String() string {
	return yesNo("mirror", c.Mirror != nil, "mirror-check", c.MirrorChecker != nil, "restore", c.Restorer != nil,
		"list", c.Lister != nil, "leftovers", c.Leftovers != nil, "unclean-marker", c.Unclean != nil,
		"stale-uploads", c.StaleLister != nil && c.StaleAborter != nil)
}

// MetaCapabilities are the optional abilities of a metadata store; a nil field is one it
// lacks.
type MetaCapabilities struct {
	Views    MetaViews       // hands out request views (a cache): otherwise StoreViews
	Notifier CatalogNotifier // tells of catalog changes
	Feed     ChangeFeed      // announces every change to the nodes sharing the store (FeedSource)
	Checker  MetaChecker     // lists what fsck compares with the bytes
	Events   EventNotifier   // tells when a commit wrote webhook deliveries
}

// MetaCapabilitiesOf finds what m can do besides MetaStore.
func MetaCapabilitiesOf(m MetaStore) MetaCapabilities {
	var c MetaCapabilities
	c.Views, _ = m.(MetaViews)
	c.Notifier, _ = m.(CatalogNotifier)
	if f, ok := m.(FeedSource); ok {
		c.Feed = f.Feed()
	}
	c.Checker, _ = m.(MetaChecker)
	c.Events, _ = m.(EventNotifier)
	return c
}

// String lists the abilities for the start-up log.
func (c MetaCapabilities) String() string {
	return yesNo("change-feed", c.Feed != nil, "check", c.Checker != nil, "event-notify", c.Events != nil)
}

func yesNo(kv ...any) string {
	var b strings.Builder
	for i := 0; i+1 < len(kv); i += 2 {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(kv[i].(string))
		if kv[i+1].(bool) {
			b.WriteString("=yes")
		} else {
			b.WriteString("=no")
		}
	}
	return b.String()
}

// Content is an opened blob with what a download may do with it besides reading it.
type Content struct {
	io.ReadSeekCloser
	// Bytes is the whole content when it is held in memory, nil otherwise.
	Bytes []byte
	// Prefetcher is set for contents fetched over the network.
	Prefetcher RangePrefetcher
	// Presigner is set for contents the client can fetch from the store itself.
	Presigner Presigner
}

// ContentOf finds what an opened blob can do (what BlobStore.Open returned).
func ContentOf(r io.ReadSeekCloser) Content {
	c := Content{ReadSeekCloser: r}
	c.Prefetcher, _ = r.(RangePrefetcher)
	c.Presigner, _ = r.(Presigner)
	return c
}

// MemoryContent is content held in memory.
func MemoryContent(data []byte) Content {
	r := &memoryReader{}
	r.Reset(data)
	return Content{ReadSeekCloser: r, Bytes: data}
}

type memoryReader struct{ bytes.Reader }

func (*memoryReader) Close() error { return nil }
