package service

import (
	"context"
	"errors"
	"io"
	"io/fs"

	"github.com/refstore/refstore"
)

// authorize resolves a scope, checks the caller's right in it and places the segment in
// it. The order decides what a caller can learn: an unknown scope is a 404, a known scope
// without the right a 403 whatever the segment, and only then an unknown segment or one
// outside the scope a 404.
func (s *Service) authorize(ctx context.Context, p refstore.Principal, sc refstore.Scope, need refstore.Rights, segmentIDs ...int64) (refstore.Access, []refstore.SegmentRef, error) {
	view := s.view(ctx, p)
	acc, err := view.Access(ctx, p, sc)
	if err != nil {
		return acc, nil, err
	}
	if !acc.Rights.Has(need) {
		return acc, nil, refstore.Errorf(refstore.CodeForbidden, "You do not have the %s right on %s.", need, scopeName(sc))
	}
	refs, err := view.Segments(ctx, p.Account, segmentIDs)
	if err != nil {
		return acc, nil, err
	}
	if len(segmentIDs) == 1 {
		if len(refs) != 1 || refs[0].ProjectID != acc.ProjectID || !acc.Covers(refs[0].DocumentID) {
			return acc, nil, refstore.Errorf(refstore.CodeSegmentNotFound, "Segment %d does not exist in %s.", segmentIDs[0], scopeName(sc))
		}
		return acc, refs, nil
	}
	byID := make(map[int64]refstore.SegmentRef, len(refs))
	for _, r := range refs {
		byID[r.ID] = r
	}
	ordered := make([]refstore.SegmentRef, len(segmentIDs))
	for i, id := range segmentIDs {
		r, ok := byID[id]
		if !ok || r.ProjectID != acc.ProjectID || !acc.Covers(r.DocumentID) {
			return acc, nil, refstore.Errorf(refstore.CodeSegmentNotFound, "Segment %d does not exist in %s.", id, scopeName(sc))
		}
		ordered[i] = r
	}
	return acc, ordered, nil
}

func scopeName(sc refstore.Scope) string {
	switch sc.Kind {
	case refstore.ScopeProject:
		return "project " + sc.String()[2:]
	case refstore.ScopeStandardJob:
		return "standard job " + sc.String()[3:]
	case refstore.ScopeCodytJob:
		return "Codyt job " + sc.String()[3:]
	default:
		return "document " + sc.String()
	}
}

// AttachRequest is what an attach asks for (refstore.AttachRequest).
type AttachRequest = refstore.AttachRequest

// Attach places an uploaded file at an address of a segment, overwriting what is there.
func (s *Service) Attach(ctx context.Context, p refstore.Principal, sc refstore.Scope, segmentID int64, req AttachRequest) (*refstore.Asset, error) {
	if req.FileToken == "" {
		return nil, refstore.InvalidParam("filetoken", "required")
	}
	if !refstore.ValidHexID(req.FileToken) {
		return nil, refstore.InvalidParam("filetoken", "must be the 32 lower-case hex characters returned by media upload")
	}
	locale, err := refstore.ParseLocale(req.Locale)
	if err != nil {
		return nil, err
	}
	var folders []string
	if req.RelativePath != "" {
		if folders, err = refstore.SplitFolders("relativePath", req.RelativePath); err != nil {
			return nil, err
		}
	}
	ev := userEvent(ctx, p, refstore.AuditAttach)
	ev.SegmentID, ev.Detail, ev.Scope = segmentID, "scope="+sc.String(), sc.String()
	acc, segs, err := s.authorize(ctx, p, sc, refstore.RightUpload, segmentID)
	ev.ProjectID = acc.ProjectID
	if err != nil {
		return nil, s.refused(ctx, ev, err)
	}
	ev.DocumentID = segs[0].DocumentID
	hash := hashSecret(req.FileToken)
	u, err := s.meta.Upload(ctx, p.Account, p.UserID, hash, s.now())
	if err != nil {
		return nil, s.refused(ctx, ev, err)
	}
	addr := refstore.Address{Locale: locale, Folders: folders, Name: u.Name}
	if req.RelativePath == "" {
		addr.Folders = u.Folders
	}
	ev.Target = addressTarget(addr)
	unlock := s.lockSegment(segs[0].ID)
	asset, previous, err := s.meta.Attach(ctx, refstore.AttachParams{Account: p.Account,
		UserID: p.UserID, UploadHash: hash, Segment: segs[0], Address: addr, Now: s.now(), NewID: newAssetID(), Audit: ev})
	if err != nil {
		unlock()
		return nil, s.refused(ctx, ev, err)
	}
	s.place(ctx, asset)
	unlock()
	if previous != nil && previous.SHA256 != asset.SHA256 {
		s.collect(ctx)
	}
	return asset, nil
}

// place updates the reference-material tree after a commit. A failure leaves the tree
// behind the metadata, which stays the truth; fsck and the next reconcile repair it.
func (s *Service) place(ctx context.Context, a *refstore.Asset) {
	if s.mirror == nil {
		return
	}
	if err := s.mirror.Place(ctx, a); err != nil {
		s.log.Error("updating the reference-material tree failed", "account", a.Account, "asset", a.ID, "err", err)
	}
}

// collect deletes the bytes that lost their last reference at least the delete grace ago,
// and says how many went. The write that unreferenced them marked them in its own
// transaction (see refstore.AssetStore.CollectGarbage), so what a failure here leaves is
// found by the sweeper's next pass.
func (s *Service) collect(ctx context.Context) int {
	refs, err := s.meta.CollectGarbage(ctx, []refstore.ContentID{}, s.now(), s.cfg.DeleteGrace)
	if err != nil {
		s.log.Warn("collecting unreferenced blobs failed; the sweeper will retry", "err", err)
		return 0
	}
	for _, ref := range refs {
		s.deleteBlob(ctx, ref)
	}
	return len(refs)
}

// OpenAsset finds an asset by address and opens its bytes.
func (s *Service) OpenAsset(ctx context.Context, p refstore.Principal, sc refstore.Scope, segmentID int64, addr refstore.Address) (*refstore.Asset, refstore.Content, error) {
	if _, _, err := s.authorize(ctx, p, sc, refstore.RightRead, segmentID); err != nil {
		return nil, refstore.Content{}, err
	}
	view := s.view(ctx, p)
	return s.open(ctx, func() (*refstore.Asset, error) { return view.Asset(ctx, p.Account, segmentID, addr) })
}

// OpenAssetByID finds an asset by id and opens its bytes. The caller needs read on the
// asset's project or on a job that covers its document.
func (s *Service) OpenAssetByID(ctx context.Context, p refstore.Principal, id int64) (*refstore.Asset, refstore.Content, error) {
	return s.open(ctx, func() (*refstore.Asset, error) {
		a, err := s.meta.AssetByID(ctx, p.Account, id)
		if err != nil {
			return nil, err
		}
		rights, err := s.meta.DocumentRights(ctx, p, a.DocumentID)
		if err != nil {
			return nil, err
		}
		if !rights.Has(refstore.RightRead) {
			return nil, refstore.Errorf(refstore.CodeForbidden, "You do not have the read right on this asset.")
		}
		return a, nil
	})
}

// open opens the bytes of the asset find returns. An overwrite or delete that commits
// between the lookup and the open may already have removed the old bytes; the lookup is
// then repeated, so the caller gets one complete version, old or new, never a mix. Small
// blobs come from memory when the blob cache holds them.
func (s *Service) open(ctx context.Context, find func() (*refstore.Asset, error)) (*refstore.Asset, refstore.Content, error) {
	for attempt := 0; ; attempt++ {
		a, err := find()
		if err != nil {
			return nil, refstore.Content{}, err
		}
		ref := refstore.BlobRef{Account: a.Account, Key: a.BlobKey}
		if s.small != nil && a.Size <= maxCachedBlob {
			if data := s.small.get(ref); data != nil {
				return a, refstore.MemoryContent(data), nil
			}
		}
		f, err := s.blobs.Open(ctx, ref, a.Size)
		if err == nil {
			if s.small == nil || a.Size > maxCachedBlob {
				return a, refstore.ContentOf(f), nil
			}
			data := make([]byte, a.Size)
			_, err = io.ReadFull(f, data)
			f.Close()
			if err == nil {
				s.small.put(ref, data)
				return a, refstore.MemoryContent(data), nil
			}
		}
		if !errors.Is(err, fs.ErrNotExist) || attempt == 2 {
			return nil, refstore.Content{}, s.blobError(err)
		}
	}
}

// List returns the assets of segments of a scope, in the API's order. Every segment must
// lie in the scope.
func (s *Service) List(ctx context.Context, p refstore.Principal, sc refstore.Scope, segmentIDs []int64) ([]refstore.Asset, error) {
	if _, _, err := s.authorize(ctx, p, sc, refstore.RightRead, segmentIDs...); err != nil {
		return nil, err
	}
	return s.view(ctx, p).SegmentAssets(ctx, p.Account, segmentIDs)
}

// Delete deletes one asset of a segment, or every asset of it when addr is nil, and
// returns how many went. Deleting nothing is not an error.
func (s *Service) Delete(ctx context.Context, p refstore.Principal, sc refstore.Scope, segmentID int64, addr *refstore.Address) (int, error) {
	ev := userEvent(ctx, p, refstore.AuditDeleteAll)
	ev.SegmentID, ev.Detail, ev.Scope = segmentID, "scope="+sc.String(), sc.String()
	if addr != nil {
		ev.Action, ev.Target = refstore.AuditDelete, addressTarget(*addr)
	}
	acc, segs, err := s.authorize(ctx, p, sc, refstore.RightDelete, segmentID)
	ev.ProjectID = acc.ProjectID
	if err != nil {
		return 0, s.refused(ctx, ev, err)
	}
	ev.DocumentID = segs[0].DocumentID
	unlock := s.lockSegment(segmentID)
	deleted, err := s.meta.DeleteAssets(ctx, p.Account, segmentID, addr, ev)
	if err != nil {
		unlock()
		return 0, err
	}
	for i := range deleted {
		if s.mirror != nil {
			if err := s.mirror.Remove(ctx, &deleted[i]); err != nil {
				s.log.Error("updating the reference-material tree failed", "account", p.Account, "asset", deleted[i].ID, "err", err)
			}
		}
	}
	unlock()
	if len(deleted) > 0 {
		s.collect(ctx)
	}
	return len(deleted), nil
}
