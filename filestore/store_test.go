package filestore_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
)

func open(t *testing.T, dir string) *filestore.Store {
	t.Helper()
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t *testing.T, s *filestore.Store, account, content string) string {
	t.Helper()
	key, n, err := s.Put(context.Background(), account, strings.NewReader(content))
	if err != nil {
		t.Fatalf("Put(%s): %v", account, err)
	}
	if n != int64(len(content)) {
		t.Fatalf("Put(%s) stored %d bytes, want %d", account, n, len(content))
	}
	return key
}

func readBlob(t *testing.T, s *filestore.Store, ref refstore.BlobRef) string {
	t.Helper()
	r, err := s.Open(context.Background(), ref, 0)
	if err != nil {
		t.Fatalf("Open(%v): %v", ref, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func blobFile(dir string, ref refstore.BlobRef) string {
	return filepath.Join(dir, "accounts", ref.Account, "blobs", ref.Key[:2], ref.Key)
}

// files lists the regular files and symlinks below dir, relative to it, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	out := []string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) && p == dir {
				return fs.SkipAll
			}
			return err
		}
		if !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, filepath.ToSlash(rel))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

var keyPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestPutOpenDelete(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)

	key := put(t, s, "acme", "hello, translator")
	if !keyPattern.MatchString(key) {
		t.Fatalf("key %q is not 32 lower-case hex characters", key)
	}
	ref := refstore.BlobRef{Account: "acme", Key: key}
	if got := readBlob(t, s, ref); got != "hello, translator" {
		t.Fatalf("read back %q", got)
	}
	// The blob lives at accounts/{a}/blobs/{k[:2]}/{k}, read-only for its life.
	if b, err := os.ReadFile(blobFile(dir, ref)); err != nil || string(b) != "hello, translator" {
		t.Fatalf("blob file: %q, %v", b, err)
	}
	// Open gives an *os.File, so that downloads can use sendfile, and it seeks.
	r, err := s.Open(ctx, ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.(*os.File); !ok {
		t.Errorf("Open returned a %T, want *os.File", r)
	}
	if _, err := r.Seek(7, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, _ := io.ReadAll(r)
	if string(rest) != "translator" {
		t.Errorf("after seeking: %q", rest)
	}

	// The same bytes again get a new key: keys are never reused.
	again := put(t, s, "acme", "hello, translator")
	if again == key {
		t.Fatal("two Puts returned the same key")
	}
	// Empty and large contents (several copy buffers).
	empty := put(t, s, "acme", "")
	if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: empty}); got != "" {
		t.Fatalf("empty blob reads %q", got)
	}
	big := strings.Repeat("0123456789abcdef", 70_000) // 1.1 MB
	bigKey := put(t, s, "other", big)
	if got := readBlob(t, s, refstore.BlobRef{Account: "other", Key: bigKey}); got != big {
		t.Fatalf("large blob reads back %d bytes, differently", len(got))
	}
	// Accounts are apart.
	if _, err := s.Open(ctx, refstore.BlobRef{Account: "other", Key: key}, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("another account's key opens: %v", err)
	}

	// Delete; a reader that opened the blob before keeps reading.
	held, err := s.Open(ctx, ref, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := s.Delete(ctx, ref); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(ctx, ref, 0); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("Open after Delete = %v, want fs.ErrNotExist", err)
	}
	if b, err := io.ReadAll(held); err != nil || string(b) != "hello, translator" {
		t.Fatalf("a reader opened before Delete reads %q, %v", b, err)
	}
	if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: again}); got != "hello, translator" {
		t.Fatalf("deleting one key touched another: %q", got)
	}
	// Deleting a missing blob is not an error.
	for _, missing := range []refstore.BlobRef{ref, {Account: "acme", Key: strings.Repeat("ab", 16)}, {Account: "nobody", Key: key}} {
		if err := s.Delete(ctx, missing); err != nil {
			t.Errorf("Delete(%v) of a missing blob = %v", missing, err)
		}
	}
	if left := files(t, filepath.Join(dir, "tmp")); len(left) != 0 {
		t.Fatalf("tmp/ holds %v", left)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
}

// failingReader yields some bytes, then an error.
type failingReader struct {
	data []byte
	err  error
}

func (r *failingReader) Read(p []byte) (int, error) {
	if len(r.data) == 0 {
		return 0, r.err
	}
	n := copy(p, r.data)
	r.data = r.data[n:]
	return n, nil
}

func TestPutReaderFails(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	put(t, s, "acme", "kept") // the account's blob folder exists already
	broken := errors.New("client went away")
	for _, size := range []int{0, 10, 600 << 10} {
		key, n, err := s.Put(t.Context(), "acme", &failingReader{data: bytes.Repeat([]byte("x"), size), err: broken})
		if !errors.Is(err, broken) {
			t.Fatalf("Put with a reader failing after %d bytes = %q, %d, %v; want the reader's error", size, key, n, err)
		}
	}
	if got := files(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Fatalf("a failed Put left %v in tmp/", got)
	}
	var refs []refstore.BlobRef
	if err := s.Walk(t.Context(), func(ref refstore.BlobRef, _ time.Time) error {
		refs = append(refs, ref)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if len(refs) != 1 {
		t.Fatalf("blobs after failed Puts: %v", refs)
	}
	if got := files(t, filepath.Join(dir, "accounts")); len(got) != 1 {
		t.Fatalf("files after failed Puts: %v", got)
	}
}

func TestInvalidRefs(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	key := put(t, s, "acme", "secret")
	// A file an invalid reference could reach if it were not checked.
	if err := os.WriteFile(filepath.Join(dir, "outside"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, ref := range []refstore.BlobRef{
		{Account: "acme", Key: ""},
		{Account: "acme", Key: key[:31]},
		{Account: "acme", Key: key + "0"},
		{Account: "acme", Key: strings.ToUpper(key)},
		{Account: "acme", Key: "../../../../outside" + strings.Repeat("0", 13)},
		{Account: "acme", Key: "zz" + key[2:]},
		{Account: "acme", Key: key[:2] + "/" + key[3:]},
		{Account: "", Key: key},
		{Account: "..", Key: key},
		{Account: "acme/../acme", Key: key},
		{Account: "ac.me", Key: key},
		{Account: "-acme", Key: key},
	} {
		if r, err := s.Open(ctx, ref, 0); err == nil {
			r.Close()
			t.Errorf("Open(%q, %q) succeeded", ref.Account, ref.Key)
		}
		if err := s.Delete(ctx, ref); err == nil {
			t.Errorf("Delete(%q, %q) succeeded", ref.Account, ref.Key)
		}
	}
	if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: key}); got != "secret" {
		t.Fatalf("the blob changed: %q", got)
	}
	for _, account := range []string{"", "..", "a/b", "ac.me", strings.Repeat("a", 65)} {
		if key, _, err := s.Put(ctx, account, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded with key %s", account, key)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "outside")); err != nil {
		t.Fatal(err)
	}
}

func TestWalk(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	s := open(t, dir)
	want := []string{
		"acme/" + put(t, s, "acme", "a"),
		"acme/" + put(t, s, "acme", "b"),
		"other/" + put(t, s, "other", "c"),
	}
	slices.Sort(want)
	// Folders that are not accounts are skipped.
	if err := os.MkdirAll(filepath.Join(dir, "accounts", "not.an.account", "blobs", "ab"), 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "accounts", "not.an.account", "blobs", "ab", "ab00"), nil, 0o644)
	// An account without blobs is fine.
	os.MkdirAll(filepath.Join(dir, "accounts", "empty"), 0o755)

	var got []string
	start := time.Now().Add(-time.Hour)
	if err := s.Walk(ctx, func(ref refstore.BlobRef, mod time.Time) error {
		got = append(got, ref.Account+"/"+ref.Key)
		if mod.Before(start) {
			t.Errorf("%v: modification time %v", ref, mod)
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Fatalf("Walk = %v, want %v", got, want)
	}
	// fn's error stops the walk.
	stop := errors.New("stop")
	calls := 0
	if err := s.Walk(ctx, func(refstore.BlobRef, time.Time) error { calls++; return stop }); !errors.Is(err, stop) || calls != 1 {
		t.Fatalf("Walk with a failing fn = %v after %d calls", err, calls)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if err := s.Walk(cancelled, func(refstore.BlobRef, time.Time) error { return nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("Walk with a cancelled context = %v", err)
	}
}

func TestExclusiveOpen(t *testing.T) {
	dir := t.TempDir()
	first, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	key := put(t, first, "acme", "x")
	second, err := filestore.Open(dir, filestore.Options{})
	if err == nil {
		second.Close()
		t.Fatal("a second Open of the same data directory succeeded while the first is open")
	}
	// The failed Open did not disturb the first store.
	if got := readBlob(t, first, refstore.BlobRef{Account: "acme", Key: key}); got != "x" {
		t.Fatalf("first store reads %q", got)
	}
	if err := first.Close(); err != nil {
		t.Fatal(err)
	}
	third := open(t, dir)
	if third.Unclean() {
		t.Fatal("the directory is unclean after a failed second Open and a clean Close")
	}
	if got := readBlob(t, third, refstore.BlobRef{Account: "acme", Key: key}); got != "x" {
		t.Fatalf("after reopening: %q", got)
	}
}

func TestUnclean(t *testing.T) {
	dir := t.TempDir()
	s, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if s.Unclean() {
		t.Fatal("a new data directory is unclean")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = filestore.Open(dir, filestore.Options{}); err != nil {
		t.Fatal(err)
	}
	if s.Unclean() {
		t.Fatal("unclean after a clean Close")
	}
	filestore.SimulateCrash(s)
	if s, err = filestore.Open(dir, filestore.Options{}); err != nil {
		t.Fatalf("Open after a crash: %v", err)
	}
	if !s.Unclean() {
		t.Fatal("not unclean after a crash")
	}
	// Still unclean if it crashes again before a clean Close.
	filestore.SimulateCrash(s)
	if s, err = filestore.Open(dir, filestore.Options{}); err != nil {
		t.Fatal(err)
	}
	if !s.Unclean() {
		t.Fatal("not unclean after a second crash")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if s, err = filestore.Open(dir, filestore.Options{}); err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s.Unclean() {
		t.Fatal("unclean after recovering and closing cleanly")
	}
}

func TestOpenClearsTmp(t *testing.T) {
	dir := t.TempDir()
	s := open(t, dir)
	key := put(t, s, "acme", "kept")
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// What a crash mid-Put leaves behind.
	tmp := filepath.Join(dir, "tmp")
	os.WriteFile(filepath.Join(tmp, strings.Repeat("1", 32)), []byte("half a file"), 0o644)
	os.MkdirAll(filepath.Join(tmp, "sub", "deeper"), 0o755)
	os.WriteFile(filepath.Join(tmp, "sub", "deeper", "f"), []byte("x"), 0o644)
	s = open(t, dir)
	entries, err := os.ReadDir(tmp)
	if err != nil {
		t.Fatalf("tmp/ after Open: %v", err)
	}
	if len(entries) != 0 {
		t.Fatalf("tmp/ after Open holds %d entries", len(entries))
	}
	if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: key}); got != "kept" {
		t.Fatalf("a blob was lost clearing tmp/: %q", got)
	}
}

func TestOpenCreatesDirectory(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b", "data")
	s := open(t, dir)
	for _, sub := range []string{"tmp", "accounts"} {
		if info, err := os.Stat(filepath.Join(dir, sub)); err != nil || !info.IsDir() {
			t.Fatalf("%s: %v", sub, err)
		}
	}
	if err := s.Ping(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A data directory that is a file cannot be opened.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if s, err := filestore.Open(file, filestore.Options{}); err == nil {
		s.Close()
		t.Fatal("Open of a regular file succeeded")
	}
}

// Shared mode: several processes use one directory, each with a tmp/ folder of its own; a
// process that holds it alone excludes them and is excluded by them; the folder of a
// process that died is removed by the next one, which reports the directory unclean.
func TestShared(t *testing.T) {
	dir := t.TempDir()
	shared := filestore.Options{Shared: true}
	a, err := filestore.Open(dir, shared)
	if err != nil {
		t.Fatal(err)
	}
	b, err := filestore.Open(dir, shared)
	if err != nil {
		t.Fatalf("a second shared Open: %v", err)
	}
	if a.Unclean() || b.Unclean() {
		t.Fatal("a fresh shared directory is unclean")
	}
	if _, err := filestore.Open(dir, filestore.Options{}); err == nil {
		t.Fatal("an exclusive Open succeeded while shared ones hold the directory")
	}
	// Both write; their blobs are visible to each other.
	ref := refstore.BlobRef{Account: "acme", Key: put(t, a, "acme", "from a")}
	if got := readBlob(t, b, ref); got != "from a" {
		t.Fatalf("b reads %q", got)
	}
	// Each process has its folder; both hold a file in progress when a dies.
	folders := tmpFolders(t, dir)
	if len(folders) != 2 {
		t.Fatalf("tmp/ holds folders %v, want one per process", folders)
	}
	for _, f := range folders {
		mkfile(t, filepath.Join(dir, "tmp", f, "inprogress"), "x")
	}
	filestore.SimulateCrash(a)
	c, err := filestore.Open(dir, shared)
	if err != nil {
		t.Fatal(err)
	}
	if !c.Unclean() {
		t.Fatal("the process after a dead one does not report the directory unclean")
	}
	after := tmpFolders(t, dir)
	survivors := 0
	for _, f := range folders {
		if slices.Contains(after, f) {
			survivors++
			if _, err := os.Stat(filepath.Join(dir, "tmp", f, "inprogress")); err != nil {
				t.Fatalf("the live process lost its file in progress: %v", err)
			}
		}
	}
	if survivors != 1 || len(after) != 2 {
		t.Fatalf("tmp/ folders went from %v to %v: want the dead one gone, the live one kept, a new one", folders, after)
	}
	b.Close()
	c.Close()
	if got := files(t, filepath.Join(dir, "tmp")); len(got) != 0 {
		t.Fatalf("after every process closed, tmp/ holds %v", got)
	}
	e, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatalf("an exclusive Open after the shared ones closed: %v", err)
	}
	e.Close()
}

func tmpFolders(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}
