package filestore_test

import (
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
)

// asset builds an asset of account acme whose bytes are a new blob holding content.
func asset(t *testing.T, s *filestore.Store, project, document, segment int64, locale, folders, name, content string) refstore.Asset {
	t.Helper()
	var f []string
	if folders != "" {
		f = strings.Split(folders, "/")
	}
	return refstore.Asset{
		ID: segment*10 + int64(len(name)), Account: "acme", ProjectID: project, DocumentID: document, SegmentID: segment,
		Address: refstore.Address{Locale: locale, Folders: f, Name: name},
		Size:    int64(len(content)), BlobKey: put(t, s, "acme", content),
	}
}

// mirrorFile is where the SPEC puts an asset on disk.
func mirrorFile(dir string, a *refstore.Asset) string {
	el := append([]string{dir, "accounts", a.Account, "projects", itoa(a.ProjectID), "assets", itoa(a.DocumentID),
		itoa(a.SegmentID % 1000), itoa(a.SegmentID)}, a.Elements()...)
	return filepath.Join(el...)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// linkCount is the number of hard links of a file.
func linkCount(info os.FileInfo) uint64 { return uint64(info.Sys().(*syscall.Stat_t).Nlink) }

// wantLinked asserts that the asset's file is its blob, hard-linked.
func wantLinked(t *testing.T, dir string, a *refstore.Asset) {
	t.Helper()
	p := mirrorFile(dir, a)
	info, err := os.Lstat(p)
	if err != nil {
		t.Fatalf("asset file: %v", err)
	}
	if !info.Mode().IsRegular() {
		t.Fatalf("%s is %v, not a regular file", p, info.Mode())
	}
	blob, err := os.Stat(blobFile(dir, refstore.BlobRef{Account: a.Account, Key: a.BlobKey}))
	if err != nil {
		t.Fatal(err)
	}
	if !os.SameFile(info, blob) {
		t.Fatalf("%s is not a hard link to blob %s", p, a.BlobKey)
	}
}

func TestPlace(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	a := asset(t, s, 7214, 19641, 27665601, "en-US", "public/views", "shot.png", "png bytes")
	if err := s.Place(ctx, &a); err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(dir, "accounts/acme/projects/7214/assets/19641/601/27665601/en-US/public/views/shot.png")
	if got := mirrorFile(dir, &a); got != want {
		t.Fatalf("test helper puts the file at %s, want %s", got, want)
	}
	wantLinked(t, dir, &a)
	if b, _ := os.ReadFile(want); string(b) != "png bytes" {
		t.Fatalf("asset file holds %q", b)
	}
	// Neutral locale, segment root; a segment id below 1000 is its own bucket.
	b := asset(t, s, 7214, 19641, 42, "", "", "root.txt", "root")
	if err := s.Place(ctx, &b); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "accounts/acme/projects/7214/assets/19641/42/42/root.txt")); err != nil {
		t.Fatal(err)
	}
	wantLinked(t, dir, &b)
	// Placing again is harmless.
	if err := s.Place(ctx, &a); err != nil {
		t.Fatal(err)
	}
	wantLinked(t, dir, &a)
	if got := files(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Fatalf("tmp/ holds %v", got)
	}
	// The blob is shared, not copied: both names are one inode with two links.
	info, _ := os.Stat(want)
	if n := linkCount(info); n != 2 {
		t.Fatalf("the blob has %d links, want 2", n)
	}
}

func TestPlaceReplaces(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	v1 := asset(t, s, 1, 2, 3, "", "", "a.png", "version one")
	if err := s.Place(ctx, &v1); err != nil {
		t.Fatal(err)
	}
	reader, err := os.Open(mirrorFile(dir, &v1))
	if err != nil {
		t.Fatal(err)
	}
	defer reader.Close()
	v2 := v1
	v2.BlobKey = put(t, s, "acme", "version two")
	if err := s.Place(ctx, &v2); err != nil {
		t.Fatal(err)
	}
	wantLinked(t, dir, &v2)
	if b, _ := os.ReadFile(mirrorFile(dir, &v2)); string(b) != "version two" {
		t.Fatalf("after replacing: %q", b)
	}
	// A reader that opened the old file keeps the old bytes.
	old, err := io.ReadAll(reader)
	if err != nil || string(old) != "version one" {
		t.Fatalf("the earlier reader reads %q, %v", old, err)
	}
	// The old blob is intact.
	if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: v1.BlobKey}); got != "version one" {
		t.Fatalf("old blob reads %q", got)
	}
	if got := files(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Fatalf("tmp/ holds %v", got)
	}
}

func TestPlaceOverStaleEntries(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	// A file stands where the new asset needs a folder (a neutral asset "en" was deleted
	// from the metadata but not from the tree).
	stale := asset(t, s, 1, 2, 3, "", "", "en", "stale")
	if err := s.Place(ctx, &stale); err != nil {
		t.Fatal(err)
	}
	a := asset(t, s, 1, 2, 3, "en", "", "a.png", "new")
	if err := s.Place(ctx, &a); err != nil {
		t.Fatalf("Place over a stale file: %v", err)
	}
	wantLinked(t, dir, &a)
	// A file stands higher up: the neutral asset "fr" blocks fr/img/.
	staleHigher := asset(t, s, 1, 2, 3, "", "", "fr", "stale")
	if err := s.Place(ctx, &staleHigher); err != nil {
		t.Fatal(err)
	}
	c := asset(t, s, 1, 2, 3, "fr", "img/x", "c.png", "deep")
	if err := s.Place(ctx, &c); err != nil {
		t.Fatalf("Place below a stale file: %v", err)
	}
	wantLinked(t, dir, &c)
	// A folder stands where the new asset is a file.
	b := asset(t, s, 1, 2, 3, "", "", "en", "file again")
	if err := s.Place(ctx, &b); err != nil {
		t.Fatalf("Place over a stale folder: %v", err)
	}
	wantLinked(t, dir, &b)
	// Neither touched a blob.
	for _, x := range []refstore.Asset{stale, a} {
		if _, err := os.Stat(blobFile(dir, refstore.BlobRef{Account: "acme", Key: x.BlobKey})); err != nil {
			t.Fatal(err)
		}
	}
}

func TestPlaceInvalid(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	good := asset(t, s, 1, 2, 3, "", "", "a.png", "x")
	for name, change := range map[string]func(a *refstore.Asset){
		"bad account":  func(a *refstore.Asset) { a.Account = ".." },
		"bad blob key": func(a *refstore.Asset) { a.BlobKey = "../../../../../etc/passwd" },
		"missing blob": func(a *refstore.Asset) { a.BlobKey = strings.Repeat("0", 32) },
	} {
		a := good
		change(&a)
		if err := s.Place(ctx, &a); err == nil {
			t.Errorf("Place with a %s succeeded", name)
		}
	}
	if got := files(t, filepath.Join(dir, "accounts", "acme", "projects")); len(got) != 0 {
		t.Fatalf("failed Places left %v", got)
	}
	if got := files(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Fatalf("tmp/ holds %v", got)
	}
}

func TestRemove(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	deep := asset(t, s, 1, 2, 1003, "fr", "x/y/z", "deep.png", "d")
	root := asset(t, s, 1, 2, 1003, "", "", "root.png", "r")
	for _, a := range []*refstore.Asset{&deep, &root} {
		if err := s.Place(ctx, a); err != nil {
			t.Fatal(err)
		}
	}
	docDir := filepath.Join(dir, "accounts/acme/projects/1/assets/2")
	segDir := filepath.Join(docDir, "3", "1003")
	if err := s.Remove(ctx, &deep); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(segDir, "fr")); !os.IsNotExist(err) {
		t.Fatalf("the emptied folders of the removed asset remain: %v", err)
	}
	if got := files(t, segDir); !slices.Equal(got, []string{"root.png"}) {
		t.Fatalf("segment folder holds %v", got)
	}
	// The blob stays: only the link goes.
	if _, err := os.Stat(blobFile(dir, refstore.BlobRef{Account: "acme", Key: deep.BlobKey})); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(ctx, &root); err != nil {
		t.Fatal(err)
	}
	// The segment and bucket folders go; the document's stays.
	for _, gone := range []string{segDir, filepath.Dir(segDir)} {
		if _, err := os.Stat(gone); !os.IsNotExist(err) {
			t.Fatalf("%s remains: %v", gone, err)
		}
	}
	if info, err := os.Stat(docDir); err != nil || !info.IsDir() {
		t.Fatalf("the document folder went: %v", err)
	}
	// Removing what is not there is fine.
	if err := s.Remove(ctx, &root); err != nil {
		t.Fatalf("removing a missing file: %v", err)
	}
	never := asset(t, s, 9, 9, 9, "", "", "never.png", "n")
	if err := s.Remove(ctx, &never); err != nil {
		t.Fatalf("removing from a folder that never existed: %v", err)
	}
	bad := root
	bad.Account = "../x"
	if err := s.Remove(ctx, &bad); err == nil {
		t.Fatal("Remove with an invalid account succeeded")
	}
}

func TestRemoveKeepsSiblingFolders(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	a := asset(t, s, 1, 2, 3, "", "img/a", "1.png", "1")
	b := asset(t, s, 1, 2, 3, "", "img/b", "2.png", "2")
	for _, x := range []*refstore.Asset{&a, &b} {
		if err := s.Place(ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Remove(ctx, &a); err != nil {
		t.Fatal(err)
	}
	seg := filepath.Join(dir, "accounts/acme/projects/1/assets/2/3/3")
	if got := files(t, seg); !slices.Equal(got, []string{"img/b/2.png"}) {
		t.Fatalf("segment holds %v", got)
	}
	if _, err := os.Stat(filepath.Join(seg, "img", "a")); !os.IsNotExist(err) {
		t.Fatalf("img/a remains: %v", err)
	}
}

func TestRemoveFolder(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	layout := []refstore.Asset{
		asset(t, s, 1, 10, 1001, "", "", "a", "a"),
		asset(t, s, 1, 10, 1002, "", "", "b", "b"),
		asset(t, s, 1, 11, 1101, "", "", "c", "c"),
		asset(t, s, 2, 20, 2001, "", "", "d", "d"),
	}
	place := func() {
		t.Helper()
		for i := range layout {
			if err := s.Place(ctx, &layout[i]); err != nil {
				t.Fatal(err)
			}
		}
	}
	projects := filepath.Join(dir, "accounts", "acme", "projects")
	tests := []struct {
		f    refstore.Folder
		want []string
	}{
		{refstore.Folder{Account: "acme", ProjectID: 1, DocumentID: 10, SegmentID: 1001},
			[]string{"1/assets/10/2/1002/b", "1/assets/11/101/1101/c", "2/assets/20/1/2001/d"}},
		{refstore.Folder{Account: "acme", ProjectID: 1, DocumentID: 10},
			[]string{"1/assets/11/101/1101/c", "2/assets/20/1/2001/d"}},
		{refstore.Folder{Account: "acme", ProjectID: 1},
			[]string{"2/assets/20/1/2001/d"}},
		{refstore.Folder{Account: "acme"}, []string{}},
		// Folders that do not exist.
		{refstore.Folder{Account: "acme", ProjectID: 9}, nil},
		{refstore.Folder{Account: "acme", ProjectID: 1, DocumentID: 99, SegmentID: 9999}, nil},
		{refstore.Folder{Account: "nobody"}, nil},
	}
	for _, tc := range tests {
		place()
		before := files(t, projects)
		if err := s.RemoveFolder(ctx, tc.f); err != nil {
			t.Fatalf("RemoveFolder(%+v): %v", tc.f, err)
		}
		want := tc.want
		if want == nil {
			want = before
		}
		if got := files(t, projects); !slices.Equal(got, want) {
			t.Errorf("after RemoveFolder(%+v): %v, want %v", tc.f, got, want)
		}
	}
	// The blobs are never touched.
	for _, a := range layout {
		if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: a.BlobKey}); got != a.Name {
			t.Fatalf("blob of %s reads %q", a.Name, got)
		}
	}
	if err := s.RemoveFolder(ctx, refstore.Folder{Account: "../.."}); err == nil {
		t.Fatal("RemoveFolder with an invalid account succeeded")
	}
	if _, err := os.Stat(filepath.Join(dir, "accounts")); err != nil {
		t.Fatal(err)
	}
}
