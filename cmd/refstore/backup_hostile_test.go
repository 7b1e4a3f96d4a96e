package main

import (
	"bytes"
	"context"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
	"github.com/refstore/refstore/service"
	"github.com/refstore/refstore/sqlstore"
)

// backupData is a data directory holding one asset, closed (as when its server is
// stopped; a backup runs next to a running server as well, reading only).
type backupData struct {
	dir  string
	blob string // the path of the asset's blob file
	data []byte // its bytes
}

func newBackupData(t *testing.T) backupData {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	meta, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { files.Close(); meta.Close() }()
	svc := service.New(meta, files, service.Config{ExclusiveMetadata: true}, slog.New(slog.DiscardHandler))
	cat := &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: "acme", Users: []refstore.CatalogUser{{ID: 1}},
		Projects: []refstore.CatalogProject{{ID: 7, Documents: []refstore.CatalogDocument{{ID: 70, Segments: []int64{700}}}}},
		Grants:   []refstore.CatalogGrant{{UserID: 1, ProjectID: 7, Rights: []string{"read", "upload", "delete"}}}}}}
	if err := svc.UpsertCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	p := refstore.Principal{Account: "acme", UserID: 1}
	data := []byte("the asset's bytes")
	_, token, err := svc.Upload(ctx, p, "a.bin", bytes.NewReader(data), 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Attach(ctx, p, refstore.Scope{Kind: refstore.ScopeProject, ID: 7}, 700, service.AttachRequest{FileToken: token}); err != nil {
		t.Fatal(err)
	}
	blobs, _ := filepath.Glob(filepath.Join(dir, "accounts", "acme", "blobs", "*", "*"))
	if len(blobs) != 1 {
		t.Fatalf("blobs: %v", blobs)
	}
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte("rsa_the-admin-token\n"), 0o600)
	return backupData{dir: dir, blob: blobs[0], data: data}
}

// backupWithin runs a backup, failing the test if it has not returned within 20 s.
func backupWithin(t *testing.T, data, dst string, copyBlobs bool, unblock func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		_, err := backup(context.Background(), storeURLs{data: data}, dst, copyBlobs)
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		if unblock != nil {
			unblock()
		}
		t.Fatal("the backup hangs")
		return nil
	}
}

func fifoWriter(p string) func() {
	return func() {
		if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
}

// TestBackupHostileDataDir plants in the data directory what someone with write access
// to it (or a broken disk) could: symbolic links out of it, FIFOs, huge sparse files. The
// backup reads nothing outside the data directory, writes nothing outside its own, never
// waits forever, and says what it refused.
func TestBackupHostileDataDir(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret")
	os.WriteFile(secret, []byte("a file outside the data directory"), 0o600)
	cases := []struct {
		name    string
		plant   func(t *testing.T, d backupData) (unblock func())
		copies  []bool // the modes to run: linked (false), copied (true)
		refused []string
	}{
		{"blob a symlink out", func(t *testing.T, d backupData) func() {
			outside := filepath.Join(t.TempDir(), "blob")
			os.WriteFile(outside, d.data, 0o600)
			os.Remove(d.blob)
			os.Symlink(outside, d.blob)
			return nil
		}, []bool{false, true}, []string{filepath.Base(d0blob)}},
		{"blob folder a symlink out", func(t *testing.T, d backupData) func() {
			// The same bytes in a folder outside, where a path-based link would find them.
			outside := t.TempDir()
			os.WriteFile(filepath.Join(outside, filepath.Base(d.blob)), d.data, 0o600)
			os.RemoveAll(filepath.Dir(d.blob))
			os.Symlink(outside, filepath.Dir(d.blob))
			return nil
		}, []bool{false, true}, []string{filepath.Base(d0blob)}},
		{"blob a FIFO", func(t *testing.T, d backupData) func() {
			os.Remove(d.blob)
			syscall.Mkfifo(d.blob, 0o600)
			return fifoWriter(d.blob)
		}, []bool{false, true}, []string{filepath.Base(d0blob), "FIFO"}},
		{"blob a huge sparse file", func(t *testing.T, d backupData) func() {
			if err := os.Truncate(d.blob, 64<<30); err != nil {
				t.Fatal(err)
			}
			return nil
		}, []bool{false, true}, []string{filepath.Base(d0blob), "68719476736 bytes", "17"}},
		{"admin.token a symlink out", func(t *testing.T, d backupData) func() {
			p := filepath.Join(d.dir, "admin.token")
			os.Remove(p)
			os.Symlink(secret, p)
			return nil
		}, []bool{false}, []string{"admin.token", "symbolic link"}},
		{"admin.token a FIFO", func(t *testing.T, d backupData) func() {
			p := filepath.Join(d.dir, "admin.token")
			os.Remove(p)
			syscall.Mkfifo(p, 0o600)
			return fifoWriter(p)
		}, []bool{false}, []string{"admin.token", "FIFO"}},
	}
	for _, tc := range cases {
		for _, copyBlobs := range tc.copies {
			t.Run(tc.name+map[bool]string{false: "/linked", true: "/copied"}[copyBlobs], func(t *testing.T) {
				d := newBackupData(t)
				unblock := tc.plant(t, d)
				dst := filepath.Join(t.TempDir(), "backup")
				err := backupWithin(t, d.dir, dst, copyBlobs, unblock)
				if err == nil {
					t.Fatalf("the backup took it: %s", treeListing(t, dst))
				}
				for _, want := range tc.refused {
					want = strings.ReplaceAll(want, filepath.Base(d0blob), filepath.Base(d.blob))
					if !strings.Contains(err.Error(), want) {
						t.Fatalf("error %q does not say %q", err, want)
					}
				}
				t.Logf("refused, as expected: %v", err)
				if _, err := os.Lstat(dst); err == nil {
					t.Fatalf("%s was written", dst)
				}
				if _, err := os.Lstat(dst + ".tmp"); err == nil {
					t.Fatalf("%s.tmp is left", dst)
				}
			})
		}
	}

	t.Run("names with control characters are ignored", func(t *testing.T) {
		d := newBackupData(t)
		odd := filepath.Join(filepath.Dir(d.blob), "x\x1b[31mred\nline")
		os.WriteFile(odd, []byte("not a blob"), 0o600)
		os.WriteFile(filepath.Join(d.dir, "accounts", "acme", "\x07bell"), []byte("x"), 0o600)
		dst := filepath.Join(t.TempDir(), "backup")
		if err := backupWithin(t, d.dir, dst, true, nil); err != nil {
			t.Fatal(err)
		}
		filepath.WalkDir(dst, func(p string, _ fs.DirEntry, err error) error {
			if strings.ContainsAny(p, "\x1b\x07\n") {
				t.Errorf("copied %q", p)
			}
			return err
		})
	})
}

// d0blob stands for the planted blob's name in the expected messages (each case has its
// own data directory, and its own blob key).
const d0blob = "BLOBKEY"

func treeListing(t *testing.T, dir string) string {
	var b strings.Builder
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil {
			info, _ := d.Info()
			b.WriteString("\n" + info.Mode().String() + " " + p)
		}
		return nil
	})
	return b.String()
}

// TestBackupIsPrivate: a backup is a data directory, private as one (meta.db included,
// which SQLite's VACUUM INTO would create 0644).
func TestBackupIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	d := newBackupData(t)
	for _, copyBlobs := range []bool{false, true} {
		dst := filepath.Join(t.TempDir(), "backup")
		if err := backupWithin(t, d.dir, dst, copyBlobs, nil); err != nil {
			t.Fatal(err)
		}
		n := 0
		filepath.WalkDir(dst, func(p string, de fs.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			info, _ := de.Info()
			if info.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s is %v", p, info.Mode())
			}
			n++
			return nil
		})
		if n < 8 {
			t.Fatalf("walked %d entries", n)
		}
	}
}
