// Package fsck checks the metadata against the stored bytes, and repairs what can be
// repaired without losing data (refstore fsck). It works on the stores directly, never
// through the service: it runs next to live servers, or alone on stopped ones.
package fsck

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"strings"
	"time"

	"github.com/refstore/refstore"
)

// Meta is what fsck needs of the metadata store: its records, and the few writes of a
// repair.
type Meta interface {
	refstore.MetaChecker
	refstore.AssetSource
	BlobKnown(ctx context.Context, ref refstore.BlobRef) (bool, error)
	DeleteExpiredUploads(ctx context.Context, now time.Time) ([]refstore.ContentID, error)
	CollectGarbage(ctx context.Context, candidates []refstore.ContentID, now time.Time, grace time.Duration) ([]refstore.BlobRef, error)
}

// Stores are what fsck compares: the metadata, the bytes, and what the blob store can do
// (resolved once by the caller, refstore.BlobCapabilitiesOf).
type Stores struct {
	Meta  Meta
	Blobs refstore.BlobStore
	Caps  refstore.BlobCapabilities
}

// Config configures Run.
type Config struct {
	// Repair fixes what can be fixed without losing data.
	Repair bool
	// Quick compares sizes only: blobs are not read and hashed.
	Quick bool
	// Exclusive says no other process uses the stores (the servers are stopped): then
	// every unnamed blob and every file of tmp/ is a leftover, and the reference-material
	// tree may be rebuilt.
	Exclusive bool
	// OrphanGrace: with other processes about, bytes no metadata names are only a problem
	// once this old (younger ones may be an upload committing); S3 multipart uploads too.
	OrphanGrace time.Duration
	// ExpiredGrace: file tokens that expired less than this ago are left to the sweeper.
	ExpiredGrace time.Duration
	// DeleteGrace is the servers' delete grace, used when repairs unreference blobs.
	DeleteGrace time.Duration
}

// Problem kinds, as fsck prints them.
const (
	MissingBlob    = "missing-blob"    // metadata names bytes that are gone
	SizeMismatch   = "size-mismatch"   // the stored bytes have another size
	HashMismatch   = "hash-mismatch"   // the stored bytes have another SHA-256
	OrphanBlob     = "orphan-blob"     // bytes no metadata names
	ExpiredUpload  = "expired-upload"  // a file token long expired, still recorded
	TmpLeftover    = "tmp-leftover"    // a file an interrupted write left in tmp/
	StaleMultipart = "stale-multipart" // S3 multipart uploads a dead node left
	TreeMissing    = "tree-missing"    // an asset has no file in the tree
	TreeNotLinked  = "tree-not-linked" // the tree's file is not a link to the asset's blob
	TreeStray      = "tree-stray"      // a file of the tree no asset accounts for
	Unclean        = "unclean-shutdown"
)

// Problem is one thing fsck found wrong.
type Problem struct {
	Kind   string
	Target string
	Detail string
	// Fixable says --repair can fix it; Repaired that it did; Why says why it did not.
	Fixable  bool
	Repaired bool
	Why      string
}

// String is the problem's line: kind, target, detail and, after a repair, the outcome.
func (p Problem) String() string {
	s := p.Kind + " " + p.Target
	if p.Detail != "" {
		s += ": " + p.Detail
	}
	switch {
	case p.Repaired:
		s += " [repaired]"
	case p.Why != "":
		s += " [NOT repaired: " + p.Why + "]"
	}
	return s
}

// Report sums up a run.
type Report struct {
	Problems []Problem
	Blobs    int
	Bytes    int64
	Hashed   bool
	Assets   int
	Uploads  int
	// What the running service cleans up by itself and is therefore not a problem.
	PendingOrphans  int // unnamed blobs younger than the orphan grace
	PendingGarbage  int // blob records nothing references, awaiting deletion
	PendingExpired  int // file tokens expired less than the expired grace ago
	PendingMultiple int // S3 multipart uploads younger than the orphan grace
	InProgress      int // files of writes in progress in tmp/
	Repair          bool
	Duration        time.Duration
}

// Unrepaired counts the problems still there after the run.
func (r *Report) Unrepaired() int {
	n := 0
	for _, p := range r.Problems {
		if !p.Repaired {
			n++
		}
	}
	return n
}

// Summary is fsck's last line.
func (r *Report) Summary() string {
	var b strings.Builder
	how := "sizes checked"
	if r.Hashed {
		how = "SHA-256 checked"
	}
	fmt.Fprintf(&b, "fsck: %d blobs (%d bytes, %s), %d asset references, %d upload references; ", r.Blobs, r.Bytes, how,
		r.Assets, r.Uploads)
	switch {
	case len(r.Problems) == 0:
		b.WriteString("clean")
	case r.Repair:
		fmt.Fprintf(&b, "%d problems: %d repaired, %d NOT repaired", len(r.Problems), len(r.Problems)-r.Unrepaired(), r.Unrepaired())
	default:
		fmt.Fprintf(&b, "%d problems (%d fixable by --repair)", len(r.Problems), r.fixable())
	}
	fmt.Fprintf(&b, "; left to the sweepers: %d young unnamed blobs, %d unreferenced blobs, %d just-expired file tokens, %d young multipart uploads, %d writes in progress; took %v",
		r.PendingOrphans, r.PendingGarbage, r.PendingExpired, r.PendingMultiple, r.InProgress, r.Duration.Round(time.Millisecond))
	return b.String()
}

func (r *Report) fixable() int {
	n := 0
	for _, p := range r.Problems {
		if p.Fixable {
			n++
		}
	}
	return n
}

// Run checks the metadata against the stored bytes: every recorded blob is there with its
// size and SHA-256, no bytes lack metadata, no expired staging is left, and the
// reference-material tree matches the metadata. With cfg.Repair it fixes what can be fixed
// without losing data: it never removes metadata that names lost or damaged bytes.
//
// It reads the blob records before listing the bytes, and checks each difference again,
// so that changes made meanwhile by running servers are not taken for problems.
func Run(ctx context.Context, st Stores, cfg Config) (*Report, error) {
	start := time.Now()
	f := &fsck{ctx: ctx, meta: st.Meta, blobs: st.Blobs, caps: st.Caps, cfg: cfg, now: start,
		r: &Report{Hashed: !cfg.Quick, Repair: cfg.Repair}}
	steps := []func() error{f.unclean, f.leftovers, f.records, f.expired, f.multipart, f.mirror, f.garbage}
	for _, step := range steps {
		if err := step(); err != nil {
			return f.r, err
		}
	}
	f.r.Duration = time.Since(start)
	return f.r, nil
}

type fsck struct {
	ctx   context.Context
	meta  Meta
	blobs refstore.BlobStore
	caps  refstore.BlobCapabilities
	cfg   Config
	now   time.Time
	r     *Report
	// unreferenced says blob records nothing references were seen.
	unreferenced bool
}

func (f *fsck) add(p Problem) *Problem {
	if f.cfg.Repair && !p.Repaired && p.Why == "" {
		p.Why = "cannot be fixed"
	}
	f.r.Problems = append(f.r.Problems, p)
	return &f.r.Problems[len(f.r.Problems)-1]
}

func (f *fsck) unclean() error {
	if u := f.caps.Unclean; u == nil || !u.UncleanMarker() || !f.cfg.Exclusive {
		return nil
	}
	// Repaired by the steps below, and the marker goes when the store closes.
	f.add(Problem{Kind: Unclean, Target: "data directory",
		Detail: "the last server did not shut down cleanly (the next start recovers)", Fixable: true, Repaired: f.cfg.Repair})
	return nil
}

func (f *fsck) leftovers() error {
	li := f.caps.Leftovers
	if li == nil {
		return nil
	}
	l, err := li.Leftovers(f.ctx)
	if err != nil {
		return fmt.Errorf("listing tmp/: %w", err)
	}
	for _, p := range l.Removed {
		f.add(Problem{Kind: TmpLeftover, Target: p, Detail: "a file of an interrupted write", Fixable: true, Repaired: true})
	}
	for _, p := range l.Found {
		f.add(Problem{Kind: TmpLeftover, Target: p, Detail: "a file of an interrupted write", Fixable: true,
			Why: "still in use by a process; stop it and run fsck --repair again"})
	}
	f.r.InProgress += l.InProgress
	return nil
}

func (f *fsck) records() error {
	lister := f.caps.Lister
	if lister == nil {
		return errors.New("the blob store cannot list its blobs")
	}
	// Records first, then the bytes: a blob is written before its record, so a record
	// whose bytes are not listed lost them (or was deleted meanwhile, checked again below).
	var recs []refstore.BlobRecord
	if err := f.meta.BlobRecords(f.ctx, func(r refstore.BlobRecord) error { recs = append(recs, r); return nil }); err != nil {
		return fmt.Errorf("reading the blob records: %w", err)
	}
	listed := map[refstore.BlobRef]refstore.BlobInfo{}
	if err := lister.List(f.ctx, func(b refstore.BlobInfo) error { listed[b.Ref] = b; return nil }); err != nil {
		return fmt.Errorf("listing the blobs: %w", err)
	}
	for _, rec := range recs {
		ref := refstore.BlobRef{Account: rec.Account, Key: rec.Key}
		info, there := listed[ref]
		delete(listed, ref)
		if err := f.record(rec, info, there); err != nil {
			return err
		}
	}
	for _, b := range listed {
		if err := f.orphan(b); err != nil {
			return err
		}
	}
	return nil
}

func (f *fsck) record(rec refstore.BlobRecord, info refstore.BlobInfo, there bool) error {
	ref := refstore.BlobRef{Account: rec.Account, Key: rec.Key}
	target := rec.Account + "/" + rec.Key
	if rec.Assets == 0 && rec.Uploads == 0 {
		// Nothing needs these bytes: the collector deletes them (missing ones too).
		f.r.PendingGarbage++
		f.unreferenced = true
		return nil
	}
	if !there {
		if known, err := f.meta.BlobKnown(f.ctx, ref); err != nil || !known {
			return err // deleted since the records were read
		}
		p := f.add(Problem{Kind: MissingBlob, Target: target, Detail: fmt.Sprintf("%d bytes, sha256 %s; %s",
			rec.Size, rec.SHA256, f.holders(rec))})
		if f.cfg.Repair {
			f.restore(p, rec)
		}
		return nil
	}
	f.r.Blobs++
	f.r.Bytes += info.Size
	f.r.Assets += rec.Assets
	f.r.Uploads += rec.Uploads
	if info.Size != rec.Size {
		p := f.add(Problem{Kind: SizeMismatch, Target: target, Detail: fmt.Sprintf("%d bytes stored, %d recorded; %s",
			info.Size, rec.Size, f.holders(rec))})
		if f.cfg.Repair {
			f.restore(p, rec)
		}
		return nil
	}
	if f.cfg.Quick {
		return nil
	}
	sum, err := f.hash(ref, rec.Size)
	if errors.Is(err, fs.ErrNotExist) {
		return nil // deleted meanwhile
	} else if err != nil {
		return fmt.Errorf("reading blob %s: %w", target, err)
	}
	if sum != rec.SHA256 {
		p := f.add(Problem{Kind: HashMismatch, Target: target, Detail: fmt.Sprintf("stored bytes hash to %s, recorded %s; %s",
			sum, rec.SHA256, f.holders(rec))})
		if f.cfg.Repair {
			f.restore(p, rec)
		}
	}
	return nil
}

// holders names what references a content: its assets (up to five) and uploads.
func (f *fsck) holders(rec refstore.BlobRecord) string {
	assets, err := f.meta.ContentAssets(f.ctx, refstore.ContentID{Account: rec.Account, SHA256: rec.SHA256})
	if err != nil {
		return fmt.Sprintf("held by %d assets, %d uploads", rec.Assets, rec.Uploads)
	}
	var names []string
	for i, a := range assets {
		if i == 5 {
			names = append(names, fmt.Sprintf("… %d more", len(assets)-5))
			break
		}
		names = append(names, fmt.Sprintf("%s (project %d, segment %d, %q)", refstore.AssetIDString(a.ID), a.ProjectID,
			a.SegmentID, a.FolderPathName()))
	}
	s := fmt.Sprintf("held by %d assets", len(assets))
	if len(names) > 0 {
		s += " " + strings.Join(names, ", ")
	}
	return s + fmt.Sprintf(" and %d uploads", rec.Uploads)
}

// restore tries to bring lost or damaged bytes back from the reference-material tree,
// where a copy may survive; metadata is never removed.
func (f *fsck) restore(p *Problem, rec refstore.BlobRecord) {
	p.Why = "the bytes are lost: restore them from a backup, or delete or re-upload the assets named"
	r := f.caps.Restorer
	// Damaged bytes are not replaced: the tree's file is the same file when it is a link.
	if r == nil || !f.cfg.Exclusive || p.Kind != MissingBlob {
		return
	}
	assets, err := f.meta.ContentAssets(f.ctx, refstore.ContentID{Account: rec.Account, SHA256: rec.SHA256})
	if err != nil {
		return
	}
	for i := range assets {
		a := assets[i]
		a.BlobKey, a.Size = rec.Key, rec.Size
		if done, err := r.RestoreBlob(f.ctx, &a); err == nil && done {
			p.Repaired, p.Why = true, ""
			p.Detail += "; restored from the tree's copy of " + refstore.AssetIDString(a.ID)
			return
		}
	}
}

func (f *fsck) hash(ref refstore.BlobRef, size int64) (string, error) {
	opened, err := f.blobs.Open(f.ctx, ref, size)
	if err != nil {
		return "", err
	}
	r := refstore.ContentOf(opened)
	defer r.Close()
	if p := r.Prefetcher; p != nil && size > 0 {
		if err := p.Prefetch(0, size-1); err != nil {
			return "", err
		}
	}
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func (f *fsck) orphan(b refstore.BlobInfo) error {
	if known, err := f.meta.BlobKnown(f.ctx, b.Ref); err != nil || known {
		return err // recorded since the records were read
	}
	if !f.cfg.Exclusive && !b.Mod.Before(f.now.Add(-f.cfg.OrphanGrace)) {
		f.r.PendingOrphans++
		return nil
	}
	p := f.add(Problem{Kind: OrphanBlob, Target: b.Ref.Account + "/" + b.Ref.Key,
		Detail: fmt.Sprintf("%d bytes no metadata names, written %s", b.Size, b.Mod.UTC().Format(time.RFC3339)), Fixable: true})
	if f.cfg.Repair {
		if err := f.blobs.Delete(f.ctx, b.Ref); err != nil {
			p.Why = err.Error()
		} else {
			p.Repaired, p.Why = true, ""
		}
	}
	return nil
}

func (f *fsck) expired() error {
	cutoff := f.now.Add(-f.cfg.ExpiredGrace)
	var due int
	err := f.meta.ExpiredUploads(f.ctx, f.now, func(u refstore.Upload) error {
		if u.Expires.After(cutoff) {
			f.r.PendingExpired++
			return nil
		}
		due++
		f.add(Problem{Kind: ExpiredUpload, Target: u.Account + "/" + shortHash(u.TokenHash),
			Detail: fmt.Sprintf("file token of user %d for %q (%d bytes) expired %s", u.UserID, u.DisplayName(), u.Size,
				u.Expires.UTC().Format(time.RFC3339)), Fixable: true})
		return nil
	})
	if err != nil || due == 0 || !f.cfg.Repair {
		return err
	}
	contents, err := f.meta.DeleteExpiredUploads(f.ctx, cutoff)
	why := ""
	if err == nil {
		err = f.collect(contents)
	}
	if err != nil {
		why = err.Error()
	}
	for i := range f.r.Problems {
		if p := &f.r.Problems[i]; p.Kind == ExpiredUpload {
			p.Repaired, p.Why = why == "", why
		}
	}
	return nil
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

// collect unreferences contents and deletes the bytes due (now on files; after the
// delete grace on S3, by the servers' sweeper).
func (f *fsck) collect(contents []refstore.ContentID) error {
	refs, err := f.meta.CollectGarbage(f.ctx, contents, f.now, f.cfg.DeleteGrace)
	if err != nil {
		return err
	}
	for _, ref := range refs {
		if err := f.blobs.Delete(f.ctx, ref); err != nil {
			return err
		}
	}
	return nil
}

func (f *fsck) multipart() error {
	s := f.caps.StaleLister
	if s == nil {
		return nil
	}
	before := f.now.Add(-f.cfg.OrphanGrace)
	n, err := s.StaleUploads(f.ctx, before)
	if err != nil {
		return fmt.Errorf("listing multipart uploads: %w", err)
	}
	all, err := s.StaleUploads(f.ctx, f.now.Add(time.Hour))
	if err != nil {
		return fmt.Errorf("listing multipart uploads: %w", err)
	}
	f.r.PendingMultiple += all - n
	if n == 0 {
		return nil
	}
	p := f.add(Problem{Kind: StaleMultipart, Target: "bucket",
		Detail: fmt.Sprintf("%d unfinished multipart uploads started before %s", n, before.UTC().Format(time.RFC3339)), Fixable: true})
	if a := f.caps.StaleAborter; a != nil && f.cfg.Repair {
		if _, err := a.AbortStaleUploads(f.ctx, before); err != nil {
			p.Why = err.Error()
		} else {
			p.Repaired, p.Why = true, ""
		}
	}
	return nil
}

func (f *fsck) mirror() error {
	mc := f.caps.MirrorChecker
	if mc == nil {
		return nil
	}
	first := len(f.r.Problems)
	err := mc.CheckMirror(f.ctx, f.meta, func(m refstore.MirrorProblem) error {
		p := Problem{Target: m.Path, Fixable: true}
		switch m.Kind {
		case refstore.MirrorMissing:
			p.Kind, p.Detail = TreeMissing, "no file for "+refstore.AssetIDString(m.Asset.ID)
		case refstore.MirrorNotLinked:
			p.Kind, p.Detail = TreeNotLinked, "not a link to the blob of "+refstore.AssetIDString(m.Asset.ID)
		default:
			p.Kind, p.Detail = TreeStray, "no asset accounts for it"
		}
		f.add(p)
		return nil
	})
	if err != nil {
		return fmt.Errorf("checking the reference-material tree: %w", err)
	}
	if len(f.r.Problems) == first || !f.cfg.Repair {
		return nil
	}
	why := "other processes use the data directory: stop them and run fsck --repair again"
	if m := f.caps.Mirror; m != nil && f.cfg.Exclusive {
		if _, err := m.Reconcile(f.ctx, f.meta); err != nil {
			why = err.Error()
		} else {
			why = ""
		}
	}
	for i := first; i < len(f.r.Problems); i++ {
		p := &f.r.Problems[i]
		p.Repaired, p.Why = why == "", why
	}
	return nil
}

// garbage lets the collector delete what nothing references (a repair only: the
// servers' sweepers do it too).
func (f *fsck) garbage() error {
	if !f.cfg.Repair || !f.unreferenced {
		return nil
	}
	return f.collect(nil)
}
