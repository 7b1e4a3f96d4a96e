package filestore_test

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
)

// withUmask runs the test under the usual umask 022, whatever the environment's.
func withUmask(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

// openModes walks dir and returns every directory and regular file whose mode lets the
// group or others in.
func openModes(t *testing.T, dir string) []string {
	t.Helper()
	var open []string
	n := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if (d.IsDir() || d.Type().IsRegular()) && info.Mode().Perm()&0o077 != 0 {
			open = append(open, p+" "+info.Mode().String())
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 2 {
		t.Fatalf("walked %d entries of %s", n, dir)
	}
	return open
}

// TestModesArePrivate writes through every path of the store under umask 022: nothing it
// creates may be readable by another local user.
func TestModesArePrivate(t *testing.T) {
	withUmask(t)
	dir := filepath.Join(t.TempDir(), "data")
	s := open(t, dir)
	ctx := t.Context()
	key, n, err := s.Put(ctx, "acme", bytes.NewReader([]byte("some bytes")))
	if err != nil {
		t.Fatal(err)
	}
	a := &refstore.Asset{Account: "acme", ProjectID: 7, DocumentID: 70, SegmentID: 700, BlobKey: key, Size: n,
		Address: refstore.Address{Locale: "en", Folders: []string{"public", "images"}, Name: "shot.png"}}
	if err := s.Place(ctx, a); err != nil {
		t.Fatal(err)
	}
	backup := filepath.Join(t.TempDir(), "backup")
	for _, copy := range []bool{false, true} {
		if _, err := s.CopyBlob(refstore.BlobRef{Account: "acme", Key: key}, n, filepath.Join(backup, map[bool]string{false: "linked", true: "copied"}[copy]), copy); err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range []string{dir, backup} {
		if open := openModes(t, d); len(open) > 0 {
			t.Errorf("readable by others:\n%s", strings.Join(open, "\n"))
		}
	}
}

// TestOpenTightensOlderDirectories: a data directory of an older refstore (folders 0755,
// files 0644) is made private the first time it is opened, once, and the store says what
// it changed; a directory opened read-only is left alone.
func TestOpenTightensOlderDirectories(t *testing.T) {
	withUmask(t)
	dir := filepath.Join(t.TempDir(), "data")
	for _, d := range []string{"accounts/acme/blobs/ab", "accounts/acme/projects/7/assets/70/700/700", "tmp"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"accounts/acme/blobs/ab/ab000000000000000000000000000000", "meta.db", "meta.db-wal"} {
		if err := os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Link(filepath.Join(dir, "accounts/acme/blobs/ab/ab000000000000000000000000000000"),
		filepath.Join(dir, "accounts/acme/projects/7/assets/70/700/700/x.png"))
	// A symbolic link is not followed: its target outside keeps its mode.
	outside := filepath.Join(t.TempDir(), "outside")
	os.WriteFile(outside, []byte("y"), 0o644)
	os.Symlink(outside, filepath.Join(dir, "accounts", "link"))

	ro, err := filestore.Open(dir, filestore.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	ro.Close()
	if len(openModes(t, dir)) == 0 {
		t.Fatal("a read-only open changed the modes")
	}

	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	changed, err := s.Tightened()
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	if open := openModes(t, dir); len(open) > 0 {
		t.Fatalf("still readable by others:\n%s", strings.Join(open, "\n"))
	}
	// The root, 4 folders above the blob, 6 above the tree's file, tmp/, and 3 files.
	if changed < 14 {
		t.Errorf("Tightened reports %d entries changed", changed)
	}
	if info, _ := os.Stat(outside); info.Mode().Perm() != 0o644 {
		t.Errorf("the symlink's target outside was changed to %v", info.Mode())
	}

	// Once: an operator who opens a folder up again is not overruled at every start.
	os.Chmod(filepath.Join(dir, "accounts"), 0o750)
	s, err = filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Tightened(); changed != 0 || err != nil {
		t.Errorf("second open: Tightened = %d, %v; want nothing done", changed, err)
	}
	s.Close()
	if info, _ := os.Stat(filepath.Join(dir, "accounts")); info.Mode().Perm() != 0o750 {
		t.Errorf("accounts/ is %v after the second open", info.Mode())
	}

	// A new directory has nothing to tighten.
	fresh := filepath.Join(t.TempDir(), "fresh")
	s, err = filestore.Open(fresh, filestore.Options{Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	if changed, err := s.Tightened(); changed != 0 || err != nil {
		t.Errorf("new directory: Tightened = %d, %v", changed, err)
	}
	s.Close()
	if open := openModes(t, fresh); len(open) > 0 {
		t.Fatalf("readable by others:\n%s", strings.Join(open, "\n"))
	}
}
