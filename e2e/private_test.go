package e2e

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// umask022 makes the test process's umask, which the servers it starts inherit, the
// usual 022 (under which refstore used to make 0755 folders and 0644 files).
func umask022(t *testing.T) {
	old := syscall.Umask(0o022)
	t.Cleanup(func() { syscall.Umask(old) })
}

// readableByOthers walks dir and lists the folders and regular files whose mode lets the
// group or others in.
func readableByOthers(t *testing.T, dir string) (open []string, walked int) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if (d.IsDir() || d.Type().IsRegular()) && info.Mode().Perm()&0o077 != 0 {
			open = append(open, info.Mode().String()+" "+p)
		}
		walked++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return open, walked
}

// TestDataDirectoryPrivate runs a server under umask 022, uploads and attaches, and walks
// the data directory while the server holds it: the folders, the blobs, the tree, meta.db
// and SQLite's -wal and -shm files, the lock files and admin.token are its user's alone.
func TestDataDirectoryPrivate(t *testing.T) {
	umask022(t)
	data := filepath.Join(t.TempDir(), "data")
	c := &cluster{backend: backend{name: "embedded", nodes: 1}, nodes: []*node{startNode(t, nodeOptions{Data: data})}}
	tn := newTenant(t, c)
	pm := tn.as("pm")
	pm.put("pr7214", segA1, "shot.png", "en", `public\images`, pngBytes(1000))
	pm.put("pr7214", segA2, "notes.txt", "", "", []byte("notes"))
	for _, f := range []string{"meta.db", "meta.db-wal", "meta.db-shm"} {
		if _, err := os.Stat(filepath.Join(data, f)); err != nil {
			t.Fatalf("%s: %v (the walk is meant to see it)", f, err)
		}
	}
	open, walked := readableByOthers(t, data)
	if len(open) > 0 {
		t.Fatalf("readable by other users while the server runs:\n%s", strings.Join(open, "\n"))
	}
	t.Logf("walked %d entries of the running server's data directory: all private", walked)
	c.nodes[0].stop()

	// admin.token, generated when REFSTORE_ADMIN_TOKEN is not set, with its folder.
	dir := filepath.Join(t.TempDir(), "tokens", "data")
	n := startNode(t, nodeOptions{Data: dir, Env: []string{"REFSTORE_ADMIN_TOKEN="}})
	n.stop()
	if info, err := os.Stat(filepath.Join(dir, "admin.token")); err != nil || info.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v, %v", info, err)
	}
	if open, _ := readableByOthers(t, filepath.Dir(dir)); len(open) > 0 {
		t.Fatalf("readable by other users:\n%s", strings.Join(open, "\n"))
	}
}

// TestOlderDataDirectoryTightened: a data directory an older refstore wrote (0755
// folders, 0644 files) is made private when a server starts on it, once, and the server
// logs it.
func TestOlderDataDirectoryTightened(t *testing.T) {
	umask022(t)
	data := filepath.Join(t.TempDir(), "data")
	c := &cluster{backend: backend{name: "embedded", nodes: 1}, nodes: []*node{startNode(t, nodeOptions{Data: data})}}
	tn := newTenant(t, c)
	tn.as("pm").put("pr7214", segA1, "shot.png", "", "", pngBytes(1000))
	c.nodes[0].stop()
	// What an older version leaves: no marker, the modes its umask gave.
	os.Remove(filepath.Join(data, ".private"))
	filepath.WalkDir(data, func(p string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir():
			return os.Chmod(p, 0o755)
		case d.Type().IsRegular():
			return os.Chmod(p, 0o644)
		}
		return nil
	})
	if open, _ := readableByOthers(t, data); len(open) < 10 {
		t.Fatalf("the older directory has %d open entries", len(open))
	}

	n := c.nodes[0].restart(t)
	const said = "made the data directory private"
	if !strings.Contains(n.logs(), said) || !strings.Contains(n.logs(), "entries_changed") {
		t.Fatalf("the server did not log the tightening:\n%s", n.logs())
	}
	if open, _ := readableByOthers(t, data); len(open) > 0 {
		t.Fatalf("still readable by other users:\n%s", strings.Join(open, "\n"))
	}
	c.nodes[0] = n
	tn.as("pm").do("GET", segPath(segA1, "scope", "pr7214", "filename", "shot.png"), nil).expect(t, 200)
	n.stop()

	// Once: the next start finds the marker and walks nothing.
	again := n.restart(t)
	again.stop()
	if strings.Contains(again.logs(), said) {
		t.Fatalf("the second start tightened again:\n%s", again.logs())
	}
}
