package filestore

import (
	"context"
	"errors"
	"io/fs"
	"maps"
	"os"
	"path"
	"slices"
	"strconv"
	"syscall"

	"github.com/refstore/refstore"
)

// Reconcile makes the reference-material tree match the metadata exactly: every asset's
// file is a link to its blob, and nothing else is left in the tree. It runs after an
// unclean shutdown, before the service accepts requests, and from fsck.
func (s *Store) Reconcile(ctx context.Context, src refstore.AssetSource) (refstore.ReconcileReport, error) {
	if s.readOnly {
		return refstore.ReconcileReport{}, errReadOnly
	}
	r := reconciler{s: s, src: src, done: map[segKey]bool{}}
	err := r.run(ctx)
	return r.report, err
}

var _ refstore.MirrorChecker = (*Store)(nil)

// CheckMirror is Reconcile's dry run: it calls fn for every entry Reconcile would place,
// replace or remove, and changes nothing. It works on a read-only store too; next to a
// process that writes the tree, it reports the changes in progress as well.
func (s *Store) CheckMirror(ctx context.Context, src refstore.AssetSource, fn func(refstore.MirrorProblem) error) error {
	r := reconciler{s: s, src: src, done: map[segKey]bool{}, dryRun: true, problem: fn}
	return r.run(ctx)
}

func (r *reconciler) run(ctx context.Context) error {
	src := r.src
	accounts, err := readDir(r.s.root, accountsDir)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if !a.IsDir() || !refstore.ValidAccountID(a.Name()) {
			continue
		}
		if err := r.account(ctx, a.Name()); err != nil {
			return err
		}
	}
	// Segments whose folder was missing, or stood under another project or document.
	err = src.AssetSegments(ctx, func(account string, segment int64) error {
		if r.done[segKey{account, segment}] {
			return nil
		}
		assets, err := src.SegmentAssets(ctx, account, []int64{segment})
		if err != nil {
			return err
		}
		for i := range assets {
			if err := r.place(&assets[i], 0); err != nil {
				return err
			}
		}
		return nil
	})
	return err
}

type segKey struct {
	account string
	segment int64
}

type reconciler struct {
	s      *Store
	src    refstore.AssetSource
	done   map[segKey]bool
	report refstore.ReconcileReport
	// dryRun reports to problem what would change, and changes nothing.
	dryRun  bool
	problem func(refstore.MirrorProblem) error
}

func (r *reconciler) remove(p string) error {
	r.report.Removed++
	if r.dryRun {
		return r.problem(refstore.MirrorProblem{Kind: refstore.MirrorStray, Path: p})
	}
	return r.s.root.RemoveAll(p)
}

// prune removes a folder when it is empty (not in a dry run: an empty folder is harmless).
func (r *reconciler) prune(dir string) {
	if !r.dryRun {
		r.s.root.Remove(dir) // only succeeds when empty
	}
}

// place links an asset's blob at its path. kind says what is wrong with the path when the
// caller knows it (0: find out).
func (r *reconciler) place(a *refstore.Asset, kind refstore.MirrorProblemKind) error {
	target, err := mirrorPath(a)
	if err != nil {
		return err
	}
	blob, err := blobPath(refstore.BlobRef{Account: a.Account, Key: a.BlobKey})
	if err != nil {
		return err
	}
	if r.dryRun {
		b, err := r.s.root.Stat(blob)
		if errors.Is(err, fs.ErrNotExist) {
			r.report.Missing++
			return nil
		} else if err != nil {
			return err
		}
		if kind == 0 {
			info, err := r.s.root.Lstat(target)
			switch {
			case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
				kind = refstore.MirrorMissing
			case err != nil:
				return err
			case os.SameFile(b, info):
				return nil
			default:
				kind = refstore.MirrorNotLinked
			}
		}
		r.report.Placed++
		return r.problem(refstore.MirrorProblem{Kind: kind, Path: target, Asset: a})
	}
	err = r.s.place(blob, target)
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := r.s.root.Stat(blob); errors.Is(serr, fs.ErrNotExist) {
			// Bytes lost behind live metadata: nothing can be linked. Reconcile goes on
			// with the other assets; fsck reports the loss.
			r.report.Missing++
			return nil
		}
	}
	if err == nil {
		r.report.Placed++
	}
	return err
}

// numericDirs lists the entries of dir and removes those that are not folders with a
// positive decimal name: nothing else belongs at the id levels of the tree.
func (r *reconciler) numericDirs(dir string) ([]int64, error) {
	entries, err := readDir(r.s.root, dir)
	if err != nil {
		return nil, err
	}
	var ids []int64
	for _, e := range entries {
		id, err := strconv.ParseInt(e.Name(), 10, 64)
		if !e.IsDir() || err != nil || id < 0 || strconv.FormatInt(id, 10) != e.Name() {
			if err := r.remove(path.Join(dir, e.Name())); err != nil {
				return nil, err
			}
			continue
		}
		ids = append(ids, id)
	}
	return ids, nil
}

func (r *reconciler) account(ctx context.Context, account string) error {
	projects, err := r.numericDirs(path.Join(accountsDir, account, "projects"))
	if err != nil {
		return err
	}
	for _, p := range projects {
		pdir := projectDir(account, p)
		entries, err := readDir(r.s.root, pdir)
		if err != nil {
			return err
		}
		for _, e := range entries {
			if e.Name() != "assets" || !e.IsDir() {
				if err := r.remove(path.Join(pdir, e.Name())); err != nil {
					return err
				}
			}
		}
		docs, err := r.numericDirs(path.Join(pdir, "assets"))
		if err != nil {
			return err
		}
		for _, d := range docs {
			ddir := path.Join(pdir, "assets", strconv.FormatInt(d, 10))
			buckets, err := r.numericDirs(ddir)
			if err != nil {
				return err
			}
			for _, m := range buckets {
				mdir := path.Join(ddir, strconv.FormatInt(m, 10))
				segs, err := r.numericDirs(mdir)
				if err != nil {
					return err
				}
				for _, seg := range segs {
					if err := ctx.Err(); err != nil {
						return err
					}
					if seg%1000 != m {
						if err := r.remove(path.Join(mdir, strconv.FormatInt(seg, 10))); err != nil {
							return err
						}
						continue
					}
					if err := r.segment(ctx, account, p, d, seg); err != nil {
						return err
					}
				}
				r.prune(mdir)
			}
			r.prune(ddir)
		}
	}
	return nil
}

// segment makes one segment folder hold exactly its assets' files.
func (r *reconciler) segment(ctx context.Context, account string, project, document, segment int64) error {
	dir := segmentDir(account, project, document, segment)
	assets, err := r.src.SegmentAssets(ctx, account, []int64{segment})
	if err != nil {
		return err
	}
	expected := map[string]*refstore.Asset{}
	here := true
	for i := range assets {
		a := &assets[i]
		if a.ProjectID != project || a.DocumentID != document {
			here = false
			continue
		}
		p, err := mirrorPath(a)
		if err != nil {
			return err
		}
		expected[p] = a
	}
	found := map[string]bool{}
	if err := r.walkFiles(dir, func(p string, info os.FileInfo) error {
		a, ok := expected[p]
		if ok && !info.Mode().IsRegular() && r.dryRun {
			// A symbolic link (or a device…) where the asset's file belongs.
			found[p] = true
			return r.place(a, refstore.MirrorNotLinked)
		}
		if !ok || !info.Mode().IsRegular() {
			return r.remove(p)
		}
		found[p] = true
		blob, err := blobPath(refstore.BlobRef{Account: account, Key: a.BlobKey})
		if err != nil {
			return err
		}
		if b, err := r.s.root.Stat(blob); err == nil && os.SameFile(b, info) {
			return nil
		}
		return r.place(a, refstore.MirrorNotLinked)
	}); err != nil {
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(expected)) {
		if !found[p] {
			if err := r.place(expected[p], 0); err != nil {
				return err
			}
		}
	}
	r.prune(dir)
	if here {
		r.done[segKey{account, segment}] = true
	}
	return nil
}

// walkFiles calls fn for every non-directory below dir, children before the removal of the
// folders they leave empty.
func (r *reconciler) walkFiles(dir string, fn func(p string, info os.FileInfo) error) error {
	entries, err := readDir(r.s.root, dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := path.Join(dir, e.Name())
		if e.IsDir() {
			if err := r.walkFiles(p, fn); err != nil {
				return err
			}
			r.prune(p)
			continue
		}
		info, err := r.s.root.Lstat(p)
		if err != nil {
			continue
		}
		if err := fn(p, info); err != nil {
			return err
		}
	}
	return nil
}
