package transfer_test

import (
	"archive/zip"
	"bytes"
	"compress/flate"
	"context"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/refstore/refstore/transfer"
)

// bombSize is what the bombs' manifests inflate to: the 256 MiB.
const bombSize = 256 << 20

// deflated is the raw deflate stream of prefix, n copies of fill, and suffix, with its
// CRC-32 and length: compressed at the best level, a run of one byte shrinks about
// 1000 to 1.
type deflated struct {
	data []byte
	crc  uint32
	size uint64
}

func deflate(t *testing.T, prefix string, fill byte, n int, suffix string) deflated {
	t.Helper()
	var buf bytes.Buffer
	w, err := flate.NewWriter(&buf, flate.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	h := crc32.NewIEEE()
	out := io.MultiWriter(w, h)
	io.WriteString(out, prefix)
	chunk := bytes.Repeat([]byte{fill}, 1<<20)
	for left := n; left > 0; left -= len(chunk) {
		out.Write(chunk[:min(left, len(chunk))])
	}
	io.WriteString(out, suffix)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return deflated{data: buf.Bytes(), crc: h.Sum32(), size: uint64(len(prefix) + n + len(suffix))}
}

// bombZip writes a zip holding only a manifest made of d, whose central directory
// declares size bytes once inflated (d.size: the truth).
func bombZip(t *testing.T, d deflated, size uint64) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "bomb.zip")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	w, err := zw.CreateRaw(&zip.FileHeader{Name: transfer.ManifestName, Method: zip.Deflate, CRC32: d.crc,
		CompressedSize64: uint64(len(d.data)), UncompressedSize64: size})
	if err != nil {
		t.Fatal(err)
	}
	w.Write(d.data)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return name
}

// allocated runs fn and returns the bytes the heap allocated meanwhile: everything the
// import held, even for an instant, is counted, so this bounds its peak.
func allocated(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

// TestImportZipBomb is the case: a zip of about 256 KB whose manifest inflates
// to 256 MiB took refstore import to 1.1-1.4 GiB of memory, and a valid one (whitespace
// inside) was imported. Each bomb is refused, naming the manifest, and the import
// allocates a few MiB at most while refusing it.
func TestImportZipBomb(t *testing.T) {
	head := `{"format":"refstore-export","version":1,"exported":"2026-01-01T00:00:00Z",`
	spaces := deflate(t, head+`"accounts":[`, ' ', bombSize, `]}`)
	long := deflate(t, head+`"account":"`, 'a', bombSize, `","accounts":[]}`)
	for _, tc := range []struct {
		name  string
		zip   string
		parts []string
	}{
		// Valid JSON: only its inflation ratio gives it away.
		{"whitespace", bombZip(t, spaces, spaces.size), []string{transfer.ManifestName, "zip bomb"}},
		{"one long string", bombZip(t, long, long.size), []string{transfer.ManifestName, "zip bomb"}},
		// The central directory says 1000 bytes: the stream is cut there.
		{"declared size a lie", bombZip(t, spaces, 1000), []string{transfer.ManifestName, "1000 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if fi, err := os.Stat(tc.zip); err != nil || fi.Size() > 300<<10 {
				t.Fatalf("the bomb is %d bytes (%v), want about 256 KB", fi.Size(), err)
			}
			dst := embedded(t)
			var err error
			alloc := allocated(func() { _, err = importFrom(t, dst, tc.zip, transfer.ImportOptions{}) })
			t.Logf("allocated %.1f MiB while refusing it", float64(alloc)/(1<<20))
			wantError(t, err, tc.parts...)
			if alloc > 16<<20 {
				t.Errorf("the import allocated %.1f MiB for a %d KB zip", float64(alloc)/(1<<20), 256)
			}
			noAccounts(t, dst)
		})
	}
}

// TestImportManifestBounds: under a raised limit the same bombs still cannot take memory:
// the manifest streams, a string is bounded, and a manifest larger than the limit is
// refused from its declared size, before it is read.
func TestImportManifestBounds(t *testing.T) {
	head := `{"format":"refstore-export","version":1,"exported":"2026-01-01T00:00:00Z",`
	t.Run("long string, no ratio", func(t *testing.T) {
		// Stored, not deflated: 8 MiB of one string, which no manifest field needs.
		body := head + `"account":"` + strings.Repeat("a", 8<<20) + `","accounts":[]}`
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, transfer.ManifestName), []byte(body), 0o600)
		dst := embedded(t)
		var err error
		alloc := allocated(func() { _, err = importFrom(t, dst, dir, transfer.ImportOptions{}) })
		wantError(t, err, transfer.ManifestName, "account", "longer than")
		if alloc > 16<<20 {
			t.Errorf("allocated %.1f MiB", float64(alloc)/(1<<20))
		}
	})
	t.Run("over the size limit", func(t *testing.T) {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, transfer.ManifestName), []byte(head+`"accounts":[]}`+strings.Repeat(" ", 2000)), 0o600)
		dst := embedded(t)
		_, err := importFrom(t, dst, dir, transfer.ImportOptions{MaxManifestBytes: 1000})
		wantError(t, err, transfer.ManifestName, "1000 bytes")
	})
	t.Run("whitespace streams", func(t *testing.T) {
		// Not a bomb (stored), 64 MiB of whitespace: read in a bounded buffer.
		dir := t.TempDir()
		f, _ := os.Create(filepath.Join(dir, transfer.ManifestName))
		f.WriteString(head + `"accounts":[`)
		chunk := bytes.Repeat([]byte(" "), 1<<20)
		for range 64 {
			f.Write(chunk)
		}
		f.WriteString(`]}`)
		f.Close()
		dst := embedded(t)
		var err error
		alloc := allocated(func() { _, err = importFrom(t, dst, dir, transfer.ImportOptions{}) })
		if err != nil {
			t.Fatal(err)
		}
		if alloc > 16<<20 {
			t.Errorf("allocated %.1f MiB to read 64 MiB of whitespace", float64(alloc)/(1<<20))
		}
	})
}

// zipEntry is one entry of a zip a test builds.
type zipEntry struct {
	name string
	data []byte
	mode os.FileMode // 0: a plain file
}

// entriesOf lists the files of an export directory as zip entries.
func entriesOf(t *testing.T, dir string) []zipEntry {
	t.Helper()
	var out []zipEntry
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		out = append(out, zipEntry{name: filepath.ToSlash(rel), data: b})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func writeZip(t *testing.T, entries []zipEntry) string {
	t.Helper()
	name := filepath.Join(t.TempDir(), "export.zip")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(f)
	for _, e := range entries {
		h := &zip.FileHeader{Name: e.name, Method: zip.Store}
		if e.mode != 0 {
			h.SetMode(e.mode)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(e.data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return name
}

// importWithin imports from an export, failing the test if the import has not returned
// within 20 s: a FIFO opened for reading waits for a writer forever.
func importWithin(t *testing.T, dst *stores, from string, unblock func()) error {
	t.Helper()
	done := make(chan error, 1)
	go func() {
		ar, err := transfer.OpenArchive(from)
		if err == nil {
			_, err = transfer.Import(context.Background(), dst.target(), ar, transfer.ImportOptions{})
			ar.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(20 * time.Second):
		if unblock != nil {
			unblock()
		}
		t.Fatal("the import hangs")
		return nil
	}
}

// openWriter opens a FIFO for writing, releasing a reader blocked on it.
func openWriter(p string) func() {
	return func() {
		if f, err := os.OpenFile(p, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			f.Close()
		}
	}
}

// TestImportHostileArchives: an export comes from elsewhere. The import reads only the
// regular files the manifest names, at their place, and never waits on anything.
func TestImportHostileArchives(t *testing.T) {
	src := embedded(t)
	load(t, src)
	want := src.state(t)
	good, _ := exportDir(t, src.readOnly(t), transfer.ExportOptions{})
	notes := want.assetNamed(t, "acme", "notes.txt")
	notesFile := "accounts/acme/projects/10/assets/100/2/1002/fr-CA/a/b/notes.txt"
	notesBytes, err := os.ReadFile(filepath.Join(good, notesFile))
	if err != nil {
		t.Fatal(err)
	}

	dirCases := []struct {
		name   string
		break_ func(t *testing.T, dir string) (unblock func())
		parts  []string
	}{
		{"asset file a symlink inside the export", func(t *testing.T, dir string) func() {
			// The same bytes elsewhere in the export: the link's target would pass every check.
			os.WriteFile(filepath.Join(dir, "notes.copy"), notesBytes, 0o600)
			p := filepath.Join(dir, notesFile)
			os.Remove(p)
			// Relative, so that it stays inside the export, where os.Root follows it.
			rel, _ := filepath.Rel(filepath.Dir(p), filepath.Join(dir, "notes.copy"))
			os.Symlink(rel, p)
			return nil
		}, []string{idString(notes.ID), notesFile, "symbolic link"}},
		{"asset file a symlink outside the export", func(t *testing.T, dir string) func() {
			outside := filepath.Join(t.TempDir(), "notes.txt")
			os.WriteFile(outside, notesBytes, 0o600)
			p := filepath.Join(dir, notesFile)
			os.Remove(p)
			os.Symlink(outside, p)
			return nil
		}, []string{idString(notes.ID), notesFile}},
		{"asset file a FIFO", func(t *testing.T, dir string) func() {
			p := filepath.Join(dir, notesFile)
			os.Remove(p)
			syscall.Mkfifo(p, 0o600)
			return openWriter(p)
		}, []string{idString(notes.ID), notesFile, "FIFO"}},
		{"manifest a FIFO", func(t *testing.T, dir string) func() {
			p := filepath.Join(dir, transfer.ManifestName)
			os.Remove(p)
			syscall.Mkfifo(p, 0o600)
			return openWriter(p)
		}, []string{transfer.ManifestName, "FIFO"}},
		{"manifest a symlink outside the export", func(t *testing.T, dir string) func() {
			p := filepath.Join(dir, transfer.ManifestName)
			outside := filepath.Join(t.TempDir(), transfer.ManifestName)
			b, _ := os.ReadFile(p)
			os.WriteFile(outside, b, 0o600)
			os.Remove(p)
			os.Symlink(outside, p)
			return nil
		}, []string{transfer.ManifestName}},
		{"manifest with a second document", func(t *testing.T, dir string) func() {
			p := filepath.Join(dir, transfer.ManifestName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, append(b, `{"format":"refstore-export","version":1,"accounts":[]}`...), 0o600)
			return nil
		}, []string{transfer.ManifestName, "one value"}},
		{"lone surrogate in a name", func(t *testing.T, dir string) func() {
			p := filepath.Join(dir, transfer.ManifestName)
			b, _ := os.ReadFile(p)
			os.WriteFile(p, bytes.Replace(b, []byte(`"name": "notes.txt"`), []byte(`"name": "notes\ud800.txt"`), 1), 0o600)
			return nil
		}, []string{transfer.ManifestName, "accounts[0].assets[", ".name", `\ud800`}},
	}
	for _, tc := range dirCases {
		t.Run("directory/"+tc.name, func(t *testing.T) {
			dir := copyDir(t, good)
			unblock := tc.break_(t, dir)
			dst := embedded(t)
			wantError(t, importWithin(t, dst, dir, unblock), tc.parts...)
			noAccounts(t, dst)
		})
	}

	entries := entriesOf(t, good)
	edit := func(fn func([]zipEntry) []zipEntry) []zipEntry {
		return fn(slices.Clone(entries))
	}
	zipCases := []struct {
		name    string
		entries []zipEntry
		parts   []string
	}{
		{"asset entry a symlink", edit(func(es []zipEntry) []zipEntry {
			for i := range es {
				if es[i].name == notesFile {
					// Its "bytes" are the link's target, here the asset's own bytes: only the
					// entry's mode tells.
					es[i].mode = os.ModeSymlink | 0o777
				}
			}
			return es
		}), []string{idString(notes.ID), notesFile, "symbolic link"}},
		{"asset entry twice", edit(func(es []zipEntry) []zipEntry {
			return append(es, zipEntry{name: notesFile, data: []byte("other bytes")})
		}), []string{notesFile, "more than once"}},
		{"manifest twice", edit(func(es []zipEntry) []zipEntry {
			return append(es, zipEntry{name: transfer.ManifestName, data: []byte(`{"format":"refstore-export","version":1,"accounts":[]}`)})
		}), []string{transfer.ManifestName, "more than once"}},
		{"more assets than files", edit(func(es []zipEntry) []zipEntry {
			return slices.DeleteFunc(es, func(e zipEntry) bool { return e.name != transfer.ManifestName })
		}), []string{"more assets than the zip holds files"}},
		{"entries climbing out", edit(func(es []zipEntry) []zipEntry {
			// Entries named to escape are never extracted nor opened: the import opens the
			// names its manifest gives, at the asset's place. Here the asset's own entry is
			// missing and one named to climb out holds its bytes.
			es = slices.DeleteFunc(es, func(e zipEntry) bool { return e.name == notesFile })
			return append(es, zipEntry{name: "../../../../" + notesFile, data: notesBytes},
				zipEntry{name: "/" + notesFile, data: notesBytes})
		}), []string{idString(notes.ID), notesFile, "missing"}},
	}
	for _, tc := range zipCases {
		t.Run("zip/"+tc.name, func(t *testing.T) {
			dst := embedded(t)
			wantError(t, importWithin(t, dst, writeZip(t, tc.entries), nil), tc.parts...)
			noAccounts(t, dst)
		})
	}
	t.Run("zip/good", func(t *testing.T) {
		dst := embedded(t)
		if err := importWithin(t, dst, writeZip(t, entries), nil); err != nil {
			t.Fatal(err)
		}
		sameState(t, dst.state(t), want)
	})
}

// TestExportIsPrivate: an export holds every account's files and the key hashes, so it is
// created for its owner only (0700 folders, 0600 files) even under umask 022; handing it
// over is a deliberate step (chmod, copy).
func TestExportIsPrivate(t *testing.T) {
	old := syscall.Umask(0o022)
	defer syscall.Umask(old)
	src := embedded(t)
	load(t, src)
	dir, _ := exportDir(t, src.readOnly(t), transfer.ExportOptions{})
	zipName := filepath.Join(t.TempDir(), "export.zip")
	if _, err := transfer.ExportZipFile(t.Context(), src.readOnly(t), transfer.ExportOptions{}, zipName); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, root := range []string{dir, zipName} {
		filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
			if err != nil {
				t.Fatal(err)
			}
			info, _ := d.Info()
			if info.Mode().Perm()&0o077 != 0 {
				t.Errorf("%s has mode %v", p, info.Mode())
			}
			n++
			return nil
		})
	}
	if n < 10 {
		t.Fatalf("walked %d entries", n)
	}
}

// TestManifestHead: format and version are required, and come before the accounts.
func TestManifestHead(t *testing.T) {
	for body, says := range map[string]string{
		`{"format":"refstore-export"}`: "no version",
		`{"version":1}`:                "no format",
		`{"format":"refstore-export","accounts":[],"version":1}`:                                               "before",
		`{"format":"other","version":1,"accounts":[]}`:                                                         `format "other"`,
		`{"format":"refstore-export","version":2,"accounts":[]}`:                                               "version 2",
		`{"format":"refstore-export","version":1,"extra":1}`:                                                   `unknown field "extra"`,
		`{"format":"refstore-export","version":1,"accounts":{}}`:                                               "accounts: must be an array",
		`{"format":"refstore-export","version":1,"accounts":[1]}`:                                              "accounts[0]: must be an object",
		`{"format":"refstore-export","version":"1","accounts":[]}`:                                             "version: must be an integer",
		`["format","refstore-export"]`:                                                                         "must be an object",
		`{"format":"refstore-export","version":1,"exported":"yesterday"}`:                                      `exported: parsing time "yesterday"`,
		`{"format":"refstore-export","version":1,"accounts":[{"catalog":{"id":"a","userz":[]}}]}`:              `accounts[0].catalog: unknown field "userz"`,
		`{"format":"refstore-export","version":1,"accounts":[{"catalog":{"id":"a"},"assets":[{"size":"x"}]}]}`: "accounts[0].assets[0].size: must be an integer",
	} {
		dir := t.TempDir()
		os.WriteFile(filepath.Join(dir, transfer.ManifestName), []byte(body), 0o600)
		dst := embedded(t)
		_, err := importFrom(t, dst, dir, transfer.ImportOptions{})
		wantError(t, err, transfer.ManifestName, says)
	}
}
