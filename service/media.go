package service

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"io/fs"
	"strings"

	"github.com/refstore/refstore"
)

// Upload streams an uploaded file into the blob store while hashing it, and returns the
// upload with its new file token. name may carry folders (docs/pdfs/x.txt): they become the
// asset's relativePath when an attach gives none. Nothing is kept when the body is larger
// than maxSize (when positive) or the server's hard limit.
func (s *Service) Upload(ctx context.Context, p refstore.Principal, name string, body io.Reader, maxSize int64) (*refstore.Upload, string, error) {
	if name == "" {
		return nil, "", refstore.InvalidParam("filename", "required: give the filename parameter or a file name in the multipart part")
	}
	folders, base, err := refstore.SplitName("filename", name)
	if err != nil {
		return nil, "", err
	}
	end, err := s.limits.BeginUpload(p)
	if err != nil {
		return nil, "", err
	}
	defer end()
	limit := s.cfg.MaxUploadSize
	if maxSize > 0 && maxSize < limit {
		limit = maxSize
	}
	ev := userEvent(ctx, p, refstore.AuditUpload)
	ev.Target = strings.Join(append(folders, base), "/")
	in := &uploadReader{r: body, left: limit, limit: limit, hash: sha256.New()}
	key, size, err := s.blobs.Put(ctx, p.Account, in)
	if err != nil {
		return nil, "", s.refused(ctx, ev, err)
	}
	now := s.now()
	token := refstore.NewHexID()
	u := &refstore.Upload{
		TokenHash: hashSecret(token), Account: p.Account, UserID: p.UserID, Folders: folders, Name: base,
		Size: size, SHA256: hex.EncodeToString(in.hash.Sum(nil)), ContentType: refstore.DetectContentType(base, in.head),
		Created: now, Expires: now.Add(s.cfg.FileTokenTTL), BlobKey: key,
	}
	ev.Detail = refstore.ContentDetail(u.Size, u.ContentType, u.SHA256)
	// The quota is checked once the bytes are known, so that bytes the account already
	// holds pass; the staged copy goes when they are refused.
	quota, unlock, err := s.limits.LockQuota(ctx, p.Account)
	if err == nil && quota > 0 {
		err = s.limits.CheckQuota(ctx, p.Account, u.SHA256, size)
	}
	if err != nil {
		unlock()
		s.deleteBlob(ctx, refstore.BlobRef{Account: p.Account, Key: key})
		return nil, "", s.refused(ctx, ev, err)
	}
	canonical, err := s.meta.CreateUpload(ctx, u, ev)
	unlock()
	if err != nil {
		s.deleteBlob(ctx, refstore.BlobRef{Account: p.Account, Key: key})
		return nil, "", s.refused(ctx, ev, err)
	}
	if canonical != key {
		// The account already holds these bytes: keep one copy.
		s.deleteBlob(ctx, refstore.BlobRef{Account: p.Account, Key: key})
		u.BlobKey = canonical
	}
	return u, token, nil
}

// uploadReader counts, limits and hashes an upload on its way to the blob store, and keeps
// its first bytes for content detection.
type uploadReader struct {
	r     io.Reader
	left  int64 // bytes still allowed
	limit int64
	hash  hash.Hash
	head  []byte
}

func (u *uploadReader) Read(p []byte) (int, error) {
	// Read one byte past the limit so that a body of exactly the limit passes.
	if int64(len(p)) > u.left+1 {
		p = p[:u.left+1]
	}
	n, err := u.r.Read(p)
	if int64(n) > u.left {
		return 0, refstore.Errorf(refstore.CodeTooLarge, "The file is larger than the limit of %d bytes.", u.limit)
	}
	u.left -= int64(n)
	u.hash.Write(p[:n])
	if len(u.head) < refstore.SniffLen {
		u.head = append(u.head, p[:min(n, refstore.SniffLen-len(u.head))]...)
	}
	return n, err
}

// OpenUpload returns an upload's bytes to the user who uploaded them.
func (s *Service) OpenUpload(ctx context.Context, p refstore.Principal, token string) (*refstore.Upload, refstore.Content, error) {
	if !refstore.ValidHexID(token) {
		return nil, refstore.Content{}, refstore.Errorf(refstore.CodeFileTokenInvalid, "The file token does not exist or has expired.")
	}
	u, err := s.meta.Upload(ctx, p.Account, p.UserID, hashSecret(token), s.now())
	if err != nil {
		return nil, refstore.Content{}, err
	}
	f, err := s.blobs.Open(ctx, refstore.BlobRef{Account: u.Account, Key: u.BlobKey}, u.Size)
	if err != nil {
		return nil, refstore.Content{}, s.blobError(err)
	}
	return u, refstore.ContentOf(f), nil
}

// blobError reports bytes missing behind live metadata, which only a damaged store shows.
func (s *Service) blobError(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return refstore.Internal(errors.New("blob missing behind live metadata"))
	}
	return err
}

func (s *Service) deleteBlob(ctx context.Context, ref refstore.BlobRef) {
	if err := s.blobs.Delete(ctx, ref); err != nil {
		s.log.Warn("deleting a blob failed; the sweeper will retry", "account", ref.Account, "key", ref.Key, "err", err)
	}
}
