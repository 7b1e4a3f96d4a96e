package service

import (
	"container/list"
	"sync"

	"github.com/refstore/refstore"
)

// blobCache keeps the bytes of small blobs in memory. Blob keys name immutable content, so
// an entry can never be stale, whatever the backend and however many nodes: the screenshots
// an editor shows dozens at a time are then served without a file open or an S3 GET.
type blobCache struct {
	mu      sync.Mutex
	max     int64 // bytes held at most
	held    int64
	entries map[refstore.BlobRef]*list.Element
	lru     list.List // of *cachedBlob, most recently used first
}

type cachedBlob struct {
	ref  refstore.BlobRef
	data []byte
}

// Blobs up to this size are cached.
const maxCachedBlob = 256 << 10

func newBlobCache(max int64) *blobCache {
	return &blobCache{max: max, entries: map[refstore.BlobRef]*list.Element{}}
}

func (c *blobCache) get(ref refstore.BlobRef) []byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[ref]
	if !ok {
		return nil
	}
	c.lru.MoveToFront(e)
	return e.Value.(*cachedBlob).data
}

func (c *blobCache) put(ref refstore.BlobRef, data []byte) {
	if int64(len(data)) > c.max/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[ref]; ok {
		return
	}
	c.entries[ref] = c.lru.PushFront(&cachedBlob{ref: ref, data: data})
	c.held += int64(len(data))
	for c.held > c.max {
		last := c.lru.Back()
		b := last.Value.(*cachedBlob)
		c.lru.Remove(last)
		delete(c.entries, b.ref)
		c.held -= int64(len(b.data))
	}
}
