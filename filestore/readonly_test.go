package filestore_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
)

// A read-only store opens a directory a running process holds alone, reads its blobs,
// changes nothing and refuses every write.
func TestReadOnly(t *testing.T) {
	dir := t.TempDir()
	server := open(t, dir)
	key := put(t, server, "acme", "bytes")
	ref := refstore.BlobRef{Account: "acme", Key: key}
	before := snapshotDir(t, dir)

	ro, err := filestore.Open(dir, filestore.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("read-only Open next to the holder: %v", err)
	}
	if got := readBlob(t, ro, ref); got != "bytes" {
		t.Fatalf("read %q", got)
	}
	if err := ro.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	var walked []string
	if err := ro.Walk(t.Context(), func(r refstore.BlobRef, _ time.Time) error {
		walked = append(walked, r.Key)
		return nil
	}); err != nil || !slices.Equal(walked, []string{key}) {
		t.Fatalf("Walk = %v, %v", walked, err)
	}
	ctx := context.Background()
	asset := &refstore.Asset{Account: "acme", ProjectID: 1, DocumentID: 2, SegmentID: 3,
		Address: refstore.Address{Name: "x.png"}, BlobKey: key}
	if _, _, err := ro.Put(ctx, "acme", strings.NewReader("more")); err == nil {
		t.Error("Put succeeded")
	}
	for name, err := range map[string]error{
		"Delete":       ro.Delete(ctx, ref),
		"Place":        ro.Place(ctx, asset),
		"Remove":       ro.Remove(ctx, asset),
		"RemoveFolder": ro.RemoveFolder(ctx, refstore.Folder{Account: "acme"}),
	} {
		if err == nil {
			t.Errorf("%s succeeded", name)
		}
	}
	if _, err := ro.Reconcile(ctx, nil); err == nil {
		t.Error("Reconcile succeeded")
	}
	if err := ro.Close(); err != nil {
		t.Fatal(err)
	}
	if after := snapshotDir(t, dir); !slices.Equal(before, after) {
		t.Fatalf("the read-only store changed the directory:\nbefore %v\nafter  %v", before, after)
	}
	// The holder is undisturbed, and a clean shutdown stays clean.
	if got := readBlob(t, server, ref); got != "bytes" {
		t.Fatalf("holder reads %q", got)
	}
	if err := server.Close(); err != nil {
		t.Fatal(err)
	}
	if s := open(t, dir); s.Unclean() {
		t.Fatal("the directory is unclean after a read-only open and a clean shutdown")
	}

	// A missing directory is an error, and is not created.
	missing := filepath.Join(t.TempDir(), "nope")
	if s, err := filestore.Open(missing, filestore.Options{ReadOnly: true}); err == nil {
		s.Close()
		t.Fatal("read-only Open of a missing directory succeeded")
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("read-only Open created the directory")
	}
}

// A second exclusive Open says the directory is in use, in a way callers can test for.
func TestInUse(t *testing.T) {
	dir := t.TempDir()
	open(t, dir)
	for _, opts := range []filestore.Options{{}, {Shared: true}} {
		s, err := filestore.Open(dir, opts)
		if err == nil {
			s.Close()
			t.Fatalf("Open(%+v) of a held directory succeeded", opts)
		}
		if !errors.Is(err, filestore.ErrInUse) || !strings.Contains(err.Error(), "in use") {
			t.Fatalf("Open(%+v) = %v, want ErrInUse", opts, err)
		}
	}
}

// snapshotDir lists every entry below dir with its size and modification time.
func snapshotDir(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		out = append(out, rel+" "+info.Mode().String()+" "+info.ModTime().String()+" "+
			strings.Repeat("#", int(min(info.Size(), 64))))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
