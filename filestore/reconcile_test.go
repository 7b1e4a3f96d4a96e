package filestore_test

import (
	"cmp"
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/refstore/refstore"
)

// assets is the metadata Reconcile reads: an in-memory refstore.AssetSource over a slice
// of assets, answering the way the metadata store does.
type assets []refstore.Asset

func (as assets) SegmentAssets(_ context.Context, account string, segmentIDs []int64) ([]refstore.Asset, error) {
	out := []refstore.Asset{}
	for _, id := range segmentIDs {
		for _, a := range as {
			if a.Account == account && a.SegmentID == id {
				out = append(out, a)
			}
		}
	}
	return out, nil
}

func (as assets) AssetSegments(_ context.Context, fn func(account string, segmentID int64) error) error {
	type seg struct {
		account string
		id      int64
	}
	var segs []seg
	for _, a := range as {
		segs = append(segs, seg{a.Account, a.SegmentID})
	}
	slices.SortFunc(segs, func(a, b seg) int { return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.id, b.id)) })
	for _, s := range slices.Compact(segs) {
		if err := fn(s.account, s.id); err != nil {
			return err
		}
	}
	return nil
}

func mkfile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReconcile(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	projects := filepath.Join(dir, "accounts", "acme", "projects")
	assetsDir := func(project, doc string) string { return filepath.Join(projects, project, "assets", doc) }

	correct := asset(t, s, 10, 100, 1001, "", "", "a.png", "a")        // in place
	copied := asset(t, s, 10, 100, 1001, "en", "img", "b.png", "b")    // a copy, not a link
	missing := asset(t, s, 10, 100, 1001, "", "", "missing.png", "m")  // not on disk
	symlinked := asset(t, s, 10, 100, 1001, "", "", "sym.png", "s")    // a symlink to its blob
	wrongBytes := asset(t, s, 10, 100, 1001, "", "", "wrong.png", "w") // another file's bytes
	big := asset(t, s, 10, 101, 27665601, "", "", "c.png", "c")        // in place, in bucket 601
	moved := asset(t, s, 10, 102, 1201, "", "", "e.png", "e")          // on disk under document 100
	absent := asset(t, s, 20, 200, 2001, "fr", "x", "d.png", "d")      // a whole project missing
	meta := assets{correct, copied, missing, symlinked, wrongBytes, big, moved, absent}

	for _, a := range []*refstore.Asset{&correct, &big} {
		if err := s.Place(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	mkfile(t, mirrorFile(dir, &copied), "b")
	mkfile(t, mirrorFile(dir, &wrongBytes), "not w")
	if err := os.Symlink(blobFile(dir, refstore.BlobRef{Account: "acme", Key: symlinked.BlobKey}), mirrorFile(dir, &symlinked)); err != nil {
		t.Fatal(err)
	}
	// Segment 1201 belongs to document 102 but its folder stands under document 100.
	stray := moved
	stray.DocumentID = 100
	if err := s.Place(ctx, &stray); err != nil {
		t.Fatal(err)
	}

	// Outside the data directory: what symlinks in the tree point at must survive.
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.txt")
	mkfile(t, secret, "do not delete")
	mkfile(t, filepath.Join(outside, "dir", "keep.txt"), "keep")

	seg1001 := filepath.Join(assetsDir("10", "100"), "1", "1001")
	junk := []string{
		filepath.Join(seg1001, "stray.txt"),                             // a file no asset accounts for
		filepath.Join(seg1001, "en", "junk"),                            // a folder of strays
		filepath.Join(seg1001, "link.png"),                              // a symlink out of the tree
		filepath.Join(projects, "notanumber"),                           // junk at the project level
		filepath.Join(projects, "10", "readme.txt"),                     // junk inside a project
		filepath.Join(assetsDir("10", "abc")),                           // junk at the document level
		filepath.Join(assetsDir("10", "100"), "007"),                    // a non-canonical bucket
		filepath.Join(assetsDir("10", "100"), "5"),                      // a symlinked bucket
		filepath.Join(assetsDir("10", "100"), "1", "1002"),              // a segment in the wrong bucket
		filepath.Join(assetsDir("10", "100"), "1", "notes.txt"),         // a file at the segment level
		filepath.Join(assetsDir("10", "101"), "555", "9555", "old.png"), // a segment without assets
	}
	mkfile(t, junk[0], "stray")
	mkfile(t, filepath.Join(junk[1], "x", "y.txt"), "junk")
	if err := os.Symlink(secret, junk[2]); err != nil {
		t.Fatal(err)
	}
	mkfile(t, filepath.Join(junk[3], "f"), "x")
	mkfile(t, junk[4], "x")
	mkfile(t, filepath.Join(junk[5], "1", "1", "f"), "x")
	mkfile(t, filepath.Join(junk[6], "7", "f"), "x")
	if err := os.Symlink(filepath.Join(outside, "dir"), junk[7]); err != nil {
		t.Fatal(err)
	}
	mkfile(t, filepath.Join(junk[8], "f.png"), "x")
	mkfile(t, junk[9], "x")
	mkfile(t, junk[10], "x")

	rep, err := s.Reconcile(ctx, meta)
	if err != nil {
		t.Fatalf("Reconcile: %v", err)
	}
	// Placed: copied, wrongBytes, symlinked (replaced), missing, moved, absent.
	// Removed: the 11 junk entries, symlinked's symlink, and segment 1201's file under
	// document 100.
	if want := (refstore.ReconcileReport{Placed: 6, Removed: 13}); rep != want {
		t.Errorf("report = %+v, want %+v", rep, want)
	}

	// The tree is exactly the assets, each a hard link to its blob.
	var want []string
	for i := range meta {
		wantLinked(t, dir, &meta[i])
		rel, _ := filepath.Rel(projects, mirrorFile(dir, &meta[i]))
		want = append(want, filepath.ToSlash(rel))
	}
	slices.Sort(want)
	if got := files(t, projects); !slices.Equal(got, want) {
		t.Fatalf("tree after Reconcile:\n %q\nwant\n %q", got, want)
	}
	for _, p := range junk {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s survived: %v", strings.TrimPrefix(p, projects), err)
		}
	}
	// The emptied folders of the moved segment went.
	if _, err := os.Lstat(filepath.Join(assetsDir("10", "100"), "201")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("bucket 201 of document 100 survived: %v", err)
	}
	// Nothing outside the tree was touched, and no blob either.
	if b, err := os.ReadFile(secret); err != nil || string(b) != "do not delete" {
		t.Fatalf("the symlink's target: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(outside, "dir", "keep.txt")); err != nil || string(b) != "keep" {
		t.Fatalf("the symlinked folder's content: %q, %v", b, err)
	}
	for _, a := range meta {
		if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: a.BlobKey}); got != a.Name[:1] {
			t.Fatalf("blob of %s reads %q", a.Name, got)
		}
	}

	// A second run finds nothing to do.
	rep, err = s.Reconcile(ctx, meta)
	if err != nil || rep != (refstore.ReconcileReport{}) {
		t.Fatalf("second Reconcile = %+v, %v", rep, err)
	}
	if got := files(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Fatalf("tmp/ holds %v", got)
	}
}

func TestReconcileEmpty(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	rep, err := s.Reconcile(ctx, assets{})
	if err != nil || rep != (refstore.ReconcileReport{}) {
		t.Fatalf("Reconcile of an empty store = %+v, %v", rep, err)
	}
	// Metadata that lost every asset empties the tree; blobs and other accounts' folders
	// are left to the garbage collector.
	a := asset(t, s, 1, 2, 3, "", "", "a.png", "a")
	if err := s.Place(ctx, &a); err != nil {
		t.Fatal(err)
	}
	rep, err = s.Reconcile(ctx, assets{})
	if err != nil || rep != (refstore.ReconcileReport{Removed: 1}) {
		t.Fatalf("Reconcile with no assets = %+v, %v", rep, err)
	}
	if got := files(t, filepath.Join(dir, "accounts", "acme", "projects")); len(got) != 0 {
		t.Fatalf("tree holds %v", got)
	}
	if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: a.BlobKey}); got != "a" {
		t.Fatalf("blob reads %q", got)
	}
}

// failingSource fails listing, as a broken metadata store would.
type failingSource struct{ err error }

func (f failingSource) SegmentAssets(context.Context, string, []int64) ([]refstore.Asset, error) {
	return nil, f.err
}

func (f failingSource) AssetSegments(context.Context, func(string, int64) error) error { return f.err }

func TestReconcileSourceFails(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	a := asset(t, s, 1, 2, 3, "", "", "a.png", "a")
	if err := s.Place(ctx, &a); err != nil {
		t.Fatal(err)
	}
	broken := errors.New("metadata store down")
	if _, err := s.Reconcile(ctx, failingSource{broken}); !errors.Is(err, broken) {
		t.Fatalf("Reconcile with a failing source = %v", err)
	}
	// Nothing was removed on the strength of a failed read.
	wantLinked(t, dir, &a)
}

// An asset whose blob is gone cannot be linked: Reconcile counts it and goes on with the
// others, so that start-up after a crash is not blocked by an earlier loss.
func TestReconcileMissingBlob(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	lost := asset(t, s, 1, 2, 3, "", "", "lost.png", "lost")
	kept := asset(t, s, 1, 2, 4, "", "", "kept.png", "kept")
	if err := s.Delete(ctx, refstore.BlobRef{Account: "acme", Key: lost.BlobKey}); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Reconcile(ctx, assets{lost, kept})
	if err != nil || rep != (refstore.ReconcileReport{Placed: 1, Missing: 1}) {
		t.Fatalf("Reconcile = %+v, %v; want 1 placed and 1 missing", rep, err)
	}
	wantLinked(t, dir, &kept)
	if _, err := os.Stat(mirrorFile(dir, &lost)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the lost asset's file: %v", err)
	}
}
