package e2e

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// mountTmpfs mounts a tmpfs of the given size on a fresh directory, unmounted when the
// test ends (after the servers it started stop). The tests that need it run as root, as
// CI does on this kind of machine: a refused mount fails them, it does not skip them.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount -t tmpfs -o size=%s on %s: %v: %s\nthis test needs root (or CAP_SYS_ADMIN) to mount a small filesystem",
			size, dir, err, bytes.TrimSpace(out))
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	return dir
}

func remount(t *testing.T, dir, opts string) {
	t.Helper()
	if out, err := exec.Command("mount", "-o", "remount,"+opts, dir).CombinedOutput(); err != nil {
		t.Fatalf("mount -o remount,%s %s: %v: %s", opts, dir, err, bytes.TrimSpace(out))
	}
}

// tmpFiles lists the files of tmp/ (lock files aside).
func tmpFiles(t *testing.T, data string) []string {
	t.Helper()
	var out []string
	for f := range treeFiles(t, filepath.Join(data, "tmp")) {
		if !strings.HasSuffix(f, ".lock") {
			out = append(out, f)
		}
	}
	return out
}

// fillUntilFull uploads and attaches files of the given size to a segment until the
// storage refuses one, and returns how many were stored and the refusal.
func fillUntilFull(t *testing.T, pm *session, seg int64, size int) (int, *response) {
	t.Helper()
	scope := fmt.Sprintf("pr%d", projectID)
	for i := range 200 {
		name := fmt.Sprintf("fill-%d.bin", i)
		r := pm.uploadResp(name, "", randomBytes(size))
		if r.StatusCode == 200 {
			tok, _ := r.uploadResult(t)
			if r = pm.attach(scope, seg, map[string]string{"filetoken": tok}); r.StatusCode == 200 {
				continue
			}
		}
		return i, r
	}
	t.Fatalf("200 uploads of %d bytes and the storage is still not full", size)
	return 0, nil
}

// TestStorageFull runs the embedded default on an 8 MiB tmpfs and fills it: uploads are
// refused with 507 and the error envelope, no partial file stays, stored assets keep
// downloading, and uploads work again once space returns (assets deleted, or the
// filesystem grown), without a restart.
func TestStorageFull(t *testing.T) {
	data := mountTmpfs(t, "8m")
	// File tokens hold their bytes until they expire: short-lived ones let deleted assets
	// give their space back within seconds.
	opts := nodeOptions{Data: data, Args: []string{"--file-token-ttl", "3s", "--sweep-interval", "200ms"}}
	n := startNode(t, opts)
	c := &cluster{backend: backends[0], nodes: []*node{n}}
	pm := newTenant(t, c).as("pm")
	scope := fmt.Sprintf("pr%d", projectID)
	kept := map[string][]byte{}
	for i := range 3 {
		name := fmt.Sprintf("kept-%d.bin", i)
		kept[name] = randomBytes(100_000)
		pm.put(scope, segA1, name, "", "", kept[name])
	}
	checkKept := func(when string) {
		t.Helper()
		for name, b := range kept {
			got := pm.do("GET", segPath(segA1, "scope", scope, "filename", name), nil)
			if got.StatusCode != 200 || !bytes.Equal(got.body, b) {
				t.Fatalf("%s: download of %s: status %d, %d bytes", when, name, got.StatusCode, len(got.body))
			}
		}
	}
	checkFull := func(when string, r *response) {
		t.Helper()
		e := r.expectError(t, 507, "storage_full")
		if left := tmpFiles(t, data); len(left) > 0 {
			t.Fatalf("%s: files left in tmp/ after the refused upload: %v", when, left)
		}
		// Online fsck: no bytes without metadata (a partial blob), no problem at all.
		f := runFsck(t, opts)
		if f.code != 0 || !strings.Contains(f.sum, " 0 young unnamed blobs") || !strings.Contains(f.sum, " 0 writes in progress") {
			t.Fatalf("%s: fsck next to the full server: status %d\n%s", when, f.code, f.out)
		}
		checkKept(when)
		t.Logf("%s: 507 %q", when, e.Reason)
	}

	stored, r := fillUntilFull(t, pm, segA2, 512<<10)
	checkFull("disk full", r)
	// Still full: refused again, the same way.
	checkFull("disk still full", pm.uploadResp("again.bin", "", randomBytes(512<<10)))

	// Space returns when assets go (and their file tokens expire): the sweeper frees it.
	pm.do("DELETE", segPath(segA2, "scope", scope), nil).expect(t, 200)
	deleted := time.Now()
	for {
		r := pm.uploadResp("after-delete.bin", "", randomBytes(512<<10))
		if r.StatusCode == 200 {
			break
		}
		r.expectError(t, 507, "storage_full")
		if time.Since(deleted) > 20*time.Second {
			t.Fatal("uploads still refused 20s after deleting the assets that filled the disk")
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("8 MiB tmpfs: %d uploads of 512 KiB stored before the first 507; uploads accepted again %v after deleting them (tokens live 3s)",
		stored, time.Since(deleted).Round(100*time.Millisecond))

	// And when the filesystem grows.
	stored, r = fillUntilFull(t, pm, segA2, 512<<10)
	checkFull("disk full again", r)
	remount(t, data, "size=16m")
	pm.put(scope, segA3, "after-grow.bin", "", "", randomBytes(512<<10))
	checkKept("after growing the filesystem")
	if f := runFsck(t, opts); f.code != 0 {
		t.Fatalf("fsck at the end: status %d\n%s", f.code, f.out)
	}
}

// TestStorageReadOnly remounts the data directory read-only under a running server (its
// metadata elsewhere: SQLite keeps its files open for writing, which a remount refuses):
// uploads are refused with 507 and the error envelope, downloads go on, and uploads work
// again once the filesystem is writable, without a restart.
func TestStorageReadOnly(t *testing.T) {
	data := mountTmpfs(t, "8m")
	meta := filepath.Join(t.TempDir(), "meta.db")
	opts := nodeOptions{Data: data, Args: []string{"--metadata", "sqlite:" + meta}}
	n := startNode(t, opts)
	c := &cluster{backend: backends[0], nodes: []*node{n}}
	pm := newTenant(t, c).as("pm")
	scope := fmt.Sprintf("pr%d", projectID)
	kept := randomBytes(200_000)
	pm.put(scope, segA1, "kept.bin", "", "", kept)

	remount(t, data, "ro")
	e := pm.uploadResp("refused.bin", "", randomBytes(100_000)).expectError(t, 507, "storage_full")
	got := pm.do("GET", segPath(segA1, "scope", scope, "filename", "kept.bin"), nil).expect(t, 200)
	if !bytes.Equal(got.body, kept) {
		t.Fatal("download from the read-only filesystem: wrong bytes")
	}
	t.Logf("read-only: upload 507 %q; downloads go on", e.Reason)

	remount(t, data, "rw")
	pm.put(scope, segA2, "after-rw.bin", "", "", randomBytes(100_000))
	if left := tmpFiles(t, data); len(left) > 0 {
		t.Fatalf("files left in tmp/: %v", left)
	}
	if f := runFsck(t, opts); f.code != 0 {
		t.Fatalf("fsck after the read-only spell: status %d\n%s", f.code, f.out)
	}
}
