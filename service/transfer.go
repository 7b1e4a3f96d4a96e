package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"

	"github.com/refstore/refstore"
)

// ImportCatalog stores the catalog of an export together with its API keys, given by
// their hashes, in one transaction, as the admin API's catalog upsert does. Keys the
// users already have are kept as they are.
func (s *Service) ImportCatalog(ctx context.Context, c *refstore.Catalog, keys []refstore.APIKey) error {
	if err := c.Validate(); err != nil {
		return err
	}
	for _, a := range c.Accounts {
		for _, u := range a.Users {
			if u.APIKey != "" {
				keys = append(keys, s.apiKey(a.ID, u.ID, u.APIKey))
			}
		}
	}
	ev := adminEvent(ctx, "", refstore.AuditCatalogUpsert)
	ev.Detail = "source=import"
	return s.meta.UpsertCatalog(ctx, c, keys, ev)
}

// ImportedAsset says what ImportAsset did.
type ImportedAsset struct {
	Asset *refstore.Asset
	// Stored is true when the bytes were written to the blob store, false when the
	// account already held them (they were only read and checked).
	Stored bool
	// Replaced is the asset that was at the address before, if any.
	Replaced *refstore.Asset
}

// ImportAsset stores an asset of an export with its own id, address, content type and
// dates (a.BlobKey is ignored). open yields its bytes, which must be exactly a.Size long
// with SHA-256 a.SHA256: otherwise nothing is stored or registered, and the error wraps
// ErrContentMismatch and says what differs. When the account already holds these bytes they are read and checked, not
// stored again. As for an attach, the bytes are durable before the metadata naming them
// commits, the reference-material tree follows the commit, and the bytes of a replaced
// asset are deleted once nothing references them.
func (s *Service) ImportAsset(ctx context.Context, a refstore.Asset, open func() (io.ReadCloser, error)) (ImportedAsset, error) {
	content := refstore.ContentID{Account: a.Account, SHA256: a.SHA256}
	for attempt := 0; ; attempt++ {
		var res ImportedAsset
		key, size, held, err := s.meta.ContentBlob(ctx, content)
		if err != nil {
			return res, err
		}
		if held && size != a.Size {
			return res, fmt.Errorf("the account already holds bytes with SHA-256 %s, and they are %d bytes long, not %d",
				a.SHA256, size, a.Size)
		}
		held = held && attempt == 0
		a.BlobKey = ""
		if err := s.readImport(ctx, &a, open, !held); err != nil {
			return res, err
		}
		res.Stored = a.BlobKey != ""
		key = a.BlobKey
		unlock := s.lockSegment(a.SegmentID)
		ev := adminEvent(ctx, a.Account, refstore.AuditImport)
		ev.ProjectID, ev.DocumentID, ev.SegmentID, ev.Target = a.ProjectID, a.DocumentID, a.SegmentID, addressTarget(a.Address)
		asset, previous, err := s.meta.ImportAsset(ctx, &a, ev)
		if err != nil {
			unlock()
			if res.Stored {
				s.deleteBlob(ctx, refstore.BlobRef{Account: a.Account, Key: key})
			} else if refstore.ErrorCode(err) == refstore.CodeNotFound && attempt == 0 {
				continue // the account's copy was collected meanwhile: store the bytes
			}
			return res, err
		}
		s.place(ctx, asset)
		unlock()
		if res.Stored && asset.BlobKey != key {
			// Another writer stored the same bytes meanwhile: keep one copy.
			s.deleteBlob(ctx, refstore.BlobRef{Account: a.Account, Key: key})
		}
		if previous != nil && previous.SHA256 != asset.SHA256 {
			s.collect(ctx)
		}
		res.Asset, res.Replaced = asset, previous
		return res, nil
	}
}

// readImport reads the bytes open yields and checks them against a's size and SHA-256:
// into a new blob whose key it sets in a.BlobKey when store is set (the blob store keeps
// nothing when they differ), or only to check them.
func (s *Service) readImport(ctx context.Context, a *refstore.Asset, open func() (io.ReadCloser, error), store bool) error {
	body, err := open()
	if err != nil {
		return err
	}
	defer body.Close()
	v := &verifier{r: body, size: a.Size, sha256: a.SHA256, hash: sha256.New()}
	if !store {
		// The struct hides io.Discard's ReadFrom, whose small buffer would mean many reads.
		_, err := io.CopyBuffer(struct{ io.Writer }{io.Discard}, v, make([]byte, 256<<10))
		return err
	}
	key, _, err := s.blobs.Put(ctx, a.Account, v)
	if err != nil {
		return err
	}
	a.BlobKey = key
	return nil
}

// ErrContentMismatch is what ImportAsset's error wraps when the bytes are not the ones
// the asset describes.
var ErrContentMismatch = errors.New("the bytes do not match")

// verifier passes bytes through and fails the read that would make them longer than
// size, or the final one when their SHA-256 is not the expected one.
type verifier struct {
	r      io.Reader
	size   int64
	sha256 string
	n      int64
	hash   hash.Hash
}

func (v *verifier) Read(p []byte) (int, error) {
	n, err := v.r.Read(p)
	v.n += int64(n)
	if v.n > v.size {
		return 0, fmt.Errorf("%w: they are longer than %d bytes", ErrContentMismatch, v.size)
	}
	v.hash.Write(p[:n])
	if err == io.EOF {
		if v.n != v.size {
			return n, fmt.Errorf("%w: they are %d bytes long, not %d", ErrContentMismatch, v.n, v.size)
		}
		if sum := hex.EncodeToString(v.hash.Sum(nil)); sum != v.sha256 {
			return n, fmt.Errorf("%w: their SHA-256 is %s, not %s", ErrContentMismatch, sum, v.sha256)
		}
	}
	return n, err
}
