package transfer_test

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/service"
	"github.com/refstore/refstore/transfer"
)

// TestRoundTrip moves everything from the embedded default to PostgreSQL + S3 through an
// export directory, and back to a new embedded default through a zip: every asset keeps
// its id, address, bytes, content type and dates, the catalog and the API keys come along
// (the users' keys log in after each move), and each export is the SPEC's layout exactly.
func TestRoundTrip(t *testing.T) {
	src := embedded(t)
	l := load(t, src)
	want := src.state(t)
	if want.count() != 8 {
		t.Fatalf("the fixture holds %d assets, want 8", want.count())
	}

	// Exported while src holds its data directory, as a running server does.
	dir, stats := exportDir(t, src.readOnly(t), transfer.ExportOptions{})
	if stats.Accounts != 2 || stats.Assets != 8 || stats.Skipped != 0 {
		t.Fatalf("export stats %+v", stats)
	}
	sameTree(t, treeOf(t, dir), expectedTree(want))
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 || entries[0].Name() != "accounts" || entries[1].Name() != transfer.ManifestName {
		t.Fatalf("the export's root holds %v, want accounts/ and the manifest", entries)
	}
	m := readManifest(t, dir)
	if m.Format != "refstore-export" || m.Version != 1 || time.Since(m.Exported) > time.Minute || len(m.Accounts) != 2 {
		t.Fatalf("manifest head %+v", m)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, transfer.ManifestName))
	for who, secret := range l.secrets {
		if bytes.Contains(raw, []byte(secret)) {
			t.Fatalf("the manifest holds the API key of %s", who)
		}
	}
	// The same bytes within an account are one file with several names.
	shot := filepath.Join(dir, "accounts/acme/projects/10/assets/100/1/1001/shot.png")
	shotEN := filepath.Join(dir, "accounts/acme/projects/10/assets/100/1/1001/en/shot.png")
	a, _ := os.Stat(shot)
	b, _ := os.Stat(shotEN)
	if !os.SameFile(a, b) {
		t.Error("two assets with the same bytes are two copies in the export directory")
	}

	// Into PostgreSQL + S3.
	cl := cluster(t)
	istats := mustImport(t, cl, dir, transfer.ImportOptions{})
	if istats.Accounts != 2 || istats.Assets != 8 || istats.Stored != 7 || istats.Replaced != 0 {
		t.Fatalf("import stats %+v: want 8 assets, 7 distinct contents stored", istats)
	}
	sameState(t, cl.state(t), want)
	logins(t, cl, l)
	if n := blobCount(t, cl.blobs); n != 7 {
		t.Fatalf("%d objects in the bucket, want 7 (one per distinct content per account)", n)
	}

	// Back to a new embedded default, through a zip written from PostgreSQL + S3.
	zipFile := filepath.Join(t.TempDir(), "export.zip")
	if _, err := transfer.ExportZipFile(t.Context(), cl.readOnly(t), transfer.ExportOptions{}, zipFile); err != nil {
		t.Fatal(err)
	}
	zr, err := zip.OpenReader(zipFile)
	if err != nil {
		t.Fatal(err)
	}
	tree := map[string][]byte{}
	for i, f := range zr.File {
		if i == len(zr.File)-1 {
			if f.Name != transfer.ManifestName {
				t.Fatalf("the zip's last entry is %s, want the manifest", f.Name)
			}
			continue
		}
		if f.Method != zip.Store {
			t.Errorf("%s is compressed (method %d): media goes in stored", f.Name, f.Method)
		}
		r, _ := f.Open()
		tree[f.Name], err = io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
	}
	zr.Close()
	sameTree(t, tree, expectedTree(want))

	back := embedded(t)
	mustImport(t, back, zipFile, transfer.ImportOptions{})
	sameState(t, back.state(t), want)
	logins(t, back, l)
	// The data directory's reference material is the SPEC's tree, linked to the blobs.
	sameTree(t, treeOf(t, back.dir), expectedTree(want))

	// Importing again changes nothing and stores nothing.
	blobs := blobCount(t, back.blobs)
	again := mustImport(t, back, zipFile, transfer.ImportOptions{})
	if again.Assets != 8 || again.Stored != 0 || again.Unchanged != 8 || again.Replaced != 0 {
		t.Fatalf("import again: %+v, want 8 unchanged assets and nothing stored", again)
	}
	sameState(t, back.state(t), want)
	sameTree(t, treeOf(t, back.dir), expectedTree(want))
	if n := blobCount(t, back.blobs); n != blobs {
		t.Fatalf("import again: %d blobs, was %d", n, blobs)
	}
	mustImport(t, cl, dir, transfer.ImportOptions{})
	sameState(t, cl.state(t), want)
	if n := blobCount(t, cl.blobs); n != 7 {
		t.Fatalf("import again into S3: %d objects, want 7", n)
	}
}

// An export streams into a pipe (nothing seeks it, nothing waits for the whole zip) and
// its zip reads back.
func TestExportZipStreams(t *testing.T) {
	src := embedded(t)
	load(t, src)
	want := src.state(t)
	pr, pw := io.Pipe()
	var got bytes.Buffer
	var wg sync.WaitGroup
	wg.Go(func() { io.Copy(&got, pr) })
	_, err := transfer.ExportZip(t.Context(), src.readOnly(t), transfer.ExportOptions{}, pw)
	pw.CloseWithError(err)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	zipFile := filepath.Join(t.TempDir(), "streamed.zip")
	os.WriteFile(zipFile, got.Bytes(), 0o644)
	dst := embedded(t)
	mustImport(t, dst, zipFile, transfer.ImportOptions{})
	sameState(t, dst.state(t), want)
}

// An export of one project holds that project's files, catalog, jobs, grants and the users
// (and keys) its grants name, and nothing of the rest.
func TestExportProject(t *testing.T) {
	src := embedded(t)
	l := load(t, src)
	full := src.state(t)
	dir, stats := exportDir(t, src.readOnly(t), transfer.ExportOptions{Account: "acme", Project: 10})
	if stats.Accounts != 1 || stats.Assets != 6 {
		t.Fatalf("stats %+v, want 1 account and the 6 assets of project 10", stats)
	}
	wantTree := map[string][]byte{}
	for p, b := range expectedTree(full) {
		if strings.HasPrefix(p, "accounts/acme/projects/10/") {
			wantTree[p] = b
		}
	}
	sameTree(t, treeOf(t, dir), wantTree)
	m := readManifest(t, dir)
	if m.Account != "acme" || m.Project != 10 || len(m.Accounts) != 1 {
		t.Fatalf("manifest %+v", m)
	}
	c := m.Accounts[0].Catalog
	var users []int64
	for _, u := range c.Users {
		users = append(users, u.ID)
	}
	if len(c.Projects) != 1 || c.Projects[0].ID != 10 || len(c.Jobs) != 1 || c.Jobs[0].ID != 50 ||
		len(c.Grants) != 3 || !slices.Equal(users, []int64{1, 2, 3}) {
		t.Fatalf("project catalog %s", mustJSON(c))
	}
	for _, k := range m.Accounts[0].Keys {
		if k.UserID == 5 {
			t.Fatalf("the key of user 5, who has no grant in project 10, was exported")
		}
	}

	dst := embedded(t)
	mustImport(t, dst, dir, transfer.ImportOptions{})
	got := dst.state(t)
	if ids := sortedKeys(got); !slices.Equal(ids, []string{"acme"}) {
		t.Fatalf("accounts after importing one project: %v", ids)
	}
	if len(got["acme"].Catalog.Projects) != 1 || len(got["acme"].Assets) != 6 {
		t.Fatalf("imported %s", mustJSON(got["acme"].Catalog))
	}
	for _, a := range got["acme"].Assets {
		if a.ProjectID != 10 {
			t.Fatalf("imported an asset of project %d", a.ProjectID)
		}
	}
	if _, err := dst.svc.Login(t.Context(), "acme", l.secrets["acme/jobber"]); err != nil {
		t.Fatalf("the jobber's key: %v", err)
	}
	if _, err := dst.svc.Login(t.Context(), "acme", l.secrets["acme/codyt"]); err == nil {
		t.Fatal("the key of a user outside the project came along")
	}

	// Unknown project or account; a project without its account.
	for _, opts := range []transfer.ExportOptions{{Account: "acme", Project: 99}, {Account: "nope"}, {Project: 10}} {
		if _, err := transfer.ExportDir(t.Context(), src.readOnly(t), opts, filepath.Join(t.TempDir(), "x")); err == nil {
			t.Errorf("export %+v succeeded", opts)
		}
	}
}

// --account limits an export and an import to one account.
func TestAccountFilter(t *testing.T) {
	src := embedded(t)
	load(t, src)
	want := src.state(t)
	dir, stats := exportDir(t, src.readOnly(t), transfer.ExportOptions{Account: "beta"})
	if stats.Accounts != 1 || stats.Assets != 1 {
		t.Fatalf("stats %+v", stats)
	}
	full, _ := exportDir(t, src.readOnly(t), transfer.ExportOptions{})
	for _, from := range []string{dir, full} {
		dst := embedded(t)
		mustImport(t, dst, from, transfer.ImportOptions{Account: "beta"})
		sameState(t, dst.state(t), state{"beta": want["beta"]})
	}
	dst := embedded(t)
	_, err := importFrom(t, dst, dir, transfer.ImportOptions{Account: "acme"})
	wantError(t, err, `no account "acme"`)
}

// A broken export fails with a message naming what is wrong. Whatever can be checked
// without reading the bytes (the manifest, paths, missing files, sizes) is checked before
// anything is written; bytes that differ from the manifest stop the import at that asset,
// which is not imported at all (no row, no blob), while the assets before it stay whole.
func TestImportRejectsBrokenExports(t *testing.T) {
	src := embedded(t)
	load(t, src)
	want := src.state(t)
	good, _ := exportDir(t, src.readOnly(t), transfer.ExportOptions{})
	notes := want.assetNamed(t, "acme", "notes.txt")
	notesFile := "accounts/acme/projects/10/assets/100/2/1002/fr-CA/a/b/notes.txt"

	t.Run("bytes changed", func(t *testing.T) {
		dir := copyDir(t, good)
		p := filepath.Join(dir, notesFile)
		b, _ := os.ReadFile(p)
		b[0] ^= 0xff
		os.WriteFile(p, b, 0o644)
		dst := embedded(t)
		_, err := importFrom(t, dst, dir, transfer.ImportOptions{})
		wantError(t, err, idString(notes.ID), notesFile, "SHA-256")
		if _, err := dst.meta.AssetByID(t.Context(), "acme", notes.ID); refstore.ErrorCode(err) != refstore.CodeAssetNotFound {
			t.Fatalf("the bad asset has a row: %v", err)
		}
		// Only the contents of the assets imported before it are stored.
		imported := dst.state(t)
		contents := map[string]bool{}
		for _, as := range imported {
			for _, a := range as.Assets {
				contents[a.Account+a.SHA256] = true
				if !bytes.Equal(as.Bytes[a.ID], want[a.Account].Bytes[a.ID]) {
					t.Fatalf("asset %d imported with other bytes", a.ID)
				}
			}
		}
		if n := blobCount(t, dst.blobs); n != len(contents) {
			t.Fatalf("%d blobs for %d imported contents: the bad file's bytes were kept", n, len(contents))
		}
		// Once the file is repaired, the import completes.
		b[0] ^= 0xff
		os.WriteFile(p, b, 0o644)
		mustImport(t, dst, dir, transfer.ImportOptions{})
		sameState(t, dst.state(t), want)

		// Bytes the target already holds are checked too.
		b[0] ^= 0xff
		os.WriteFile(p, b, 0o644)
		_, err = importFrom(t, dst, dir, transfer.ImportOptions{})
		wantError(t, err, idString(notes.ID), notesFile, "SHA-256")
		sameState(t, dst.state(t), want)
	})

	// Checked before anything is written.
	early := []struct {
		name   string
		break_ func(t *testing.T, dir string)
		parts  []string
	}{
		{"file missing", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, notesFile)) },
			[]string{idString(notes.ID), notesFile, "missing"}},
		{"file longer", func(t *testing.T, dir string) {
			f, _ := os.OpenFile(filepath.Join(dir, notesFile), os.O_APPEND|os.O_WRONLY, 0)
			f.Write([]byte("x"))
			f.Close()
		}, []string{idString(notes.ID), notesFile, "bytes"}},
		{"no manifest", func(t *testing.T, dir string) { os.Remove(filepath.Join(dir, transfer.ManifestName)) },
			[]string{"refstore-export.json"}},
		{"newer version", func(t *testing.T, dir string) {
			m := readManifest(t, dir)
			m.Version = 2
			writeManifest(t, dir, m)
		}, []string{"version 2"}},
	}
	for _, path := range []string{"../x", "/etc/passwd", "accounts/acme/projects/10/assets/100/2/1002/../../../../../../../x",
		"accounts/acme/projects/10/assets/100/2/1002/fr-CA/a/b/other.txt"} {
		early = append(early, struct {
			name   string
			break_ func(t *testing.T, dir string)
			parts  []string
		}{"file " + path, func(t *testing.T, dir string) {
			m := readManifest(t, dir)
			for i := range m.Accounts[0].Assets {
				if m.Accounts[0].Assets[i].ID == idString(notes.ID) {
					m.Accounts[0].Assets[i].File = path
				}
			}
			writeManifest(t, dir, m)
		}, []string{notes.Name, path}})
	}
	for _, bad := range []struct{ field, value, says string }{
		{"relativePath", `..\..\..\x`, "relativePath"},
		// A valid relativePath (leading separators are ignored, as in the API) that is not
		// the folder the file lies in.
		{"relativePath", "/etc", "not where the asset belongs"},
		{"name", "../x.txt", "name"}, {"name", "a/b.txt", "name"},
		{"locale", "not a locale!", "locale"}, {"sha256", "abc", "sha256"},
		{"contentType", "text/plain\r\nX-Evil: 1", "contentType"},
	} {
		early = append(early, struct {
			name   string
			break_ func(t *testing.T, dir string)
			parts  []string
		}{bad.field + " " + bad.value, func(t *testing.T, dir string) {
			m := readManifest(t, dir)
			for i := range m.Accounts[0].Assets {
				a := &m.Accounts[0].Assets[i]
				if a.ID != idString(notes.ID) {
					continue
				}
				switch bad.field {
				case "relativePath":
					a.RelativePath = bad.value
				case "name":
					a.Name = bad.value
				case "locale":
					a.Locale = &bad.value
				case "sha256":
					a.SHA256 = bad.value
				case "contentType":
					a.ContentType = bad.value
				}
			}
			writeManifest(t, dir, m)
		}, []string{idString(notes.ID), bad.says}})
	}
	for _, tc := range early {
		t.Run(tc.name, func(t *testing.T) {
			dir := copyDir(t, good)
			tc.break_(t, dir)
			dst := embedded(t)
			_, err := importFrom(t, dst, dir, transfer.ImportOptions{})
			wantError(t, err, tc.parts...)
			noAccounts(t, dst)
		})
	}

	t.Run("zip bytes changed", func(t *testing.T) {
		// A zip whose entry for notes.txt holds other bytes (with a correct CRC).
		zipFile := filepath.Join(t.TempDir(), "bad.zip")
		f, _ := os.Create(zipFile)
		zw := zip.NewWriter(f)
		filepath.WalkDir(good, func(p string, d os.DirEntry, err error) error {
			if d.IsDir() {
				return err
			}
			rel, _ := filepath.Rel(good, p)
			rel = filepath.ToSlash(rel)
			b, _ := os.ReadFile(p)
			if rel == notesFile {
				b = bytes.Repeat([]byte("x"), len(b))
			}
			w, _ := zw.Create(rel)
			w.Write(b)
			return nil
		})
		zw.Close()
		f.Close()
		dst := embedded(t)
		_, err := importFrom(t, dst, zipFile, transfer.ImportOptions{})
		wantError(t, err, idString(notes.ID), notesFile)
		if _, err := dst.meta.AssetByID(t.Context(), "acme", notes.ID); refstore.ErrorCode(err) != refstore.CodeAssetNotFound {
			t.Fatalf("the bad asset has a row: %v", err)
		}
	})

	t.Run("not an export", func(t *testing.T) {
		if _, err := transfer.OpenArchive(filepath.Join(good, notesFile)); err == nil {
			t.Fatal("a text file opened as an export")
		}
	})
}

// An asset of the export that would need a folder where the target holds a file (or the
// reverse) fails the import before anything is written.
func TestImportLayoutClashWithTarget(t *testing.T) {
	src := embedded(t)
	load(t, src)
	dir, _ := exportDir(t, src.readOnly(t), transfer.ExportOptions{})
	dst := embedded(t)
	if err := dst.svc.UpsertCatalog(t.Context(), &refstore.Catalog{Accounts: []refstore.CatalogAccount{fixtureCatalog().Accounts[0]}}); err != nil {
		t.Fatal(err)
	}
	// The folder "en" at the segment's root, where the export has the locale en.
	clash := put(t, dst, "acme", 10, 1001, "", "en", "shot.png", []byte("mine"))
	before := dst.state(t)
	_, err := importFrom(t, dst, dir, transfer.ImportOptions{})
	wantError(t, err, "en/shot.png", "clashes")
	sameState(t, dst.state(t), before)
	if a, err := dst.meta.AssetByID(t.Context(), "acme", clash.ID); err != nil || a.SHA256 != shaHex([]byte("mine")) {
		t.Fatalf("the target's asset: %+v, %v", a, err)
	}
}

// An import replaces what is at an address and keeps everything else of the target.
func TestImportOverwrites(t *testing.T) {
	src := embedded(t)
	load(t, src)
	want := src.state(t)
	dir, _ := exportDir(t, src.readOnly(t), transfer.ExportOptions{Account: "beta"})
	dst := embedded(t)
	if err := dst.svc.UpsertCatalog(t.Context(), &refstore.Catalog{Accounts: []refstore.CatalogAccount{fixtureCatalog().Accounts[1]}}); err != nil {
		t.Fatal(err)
	}
	mine := put(t, dst, "beta", 10, 1001, "", "", "shot.png", []byte("the target's own version"))
	kept := put(t, dst, "beta", 10, 1001, "", "", "kept.txt", []byte("not in the export"))
	expireUploads(t, dst)
	stats := mustImport(t, dst, dir, transfer.ImportOptions{})
	if stats.Replaced != 1 {
		t.Fatalf("stats %+v, want 1 replaced", stats)
	}
	got := dst.state(t)["beta"]
	exported := want["beta"].Assets[0]
	if len(got.Assets) != 2 || got.Assets[0].Name != "kept.txt" || got.Assets[0].ID != kept.ID ||
		!jsonEqual(got.Assets[1], exported) || !bytes.Equal(got.Bytes[exported.ID], want["beta"].Bytes[exported.ID]) {
		t.Fatalf("after the import: %s", mustJSON(got.Assets))
	}
	if _, err := dst.meta.AssetByID(t.Context(), "beta", mine.ID); refstore.ErrorCode(err) != refstore.CodeAssetNotFound {
		t.Fatalf("the replaced asset is still there: %v", err)
	}
	// The replaced bytes were collected: one blob per remaining content.
	if n := blobCount(t, dst.blobs); n != 2 {
		t.Fatalf("%d blobs, want 2", n)
	}
	sameTree(t, treeOf(t, dst.dir), expectedTree(dst.state(t)))
}

// racingMeta runs during once, right after the first listing of assets: the export then
// reads assets that changed after it listed them.
type racingMeta struct {
	refstore.MetaStore
	once   sync.Once
	during func()
}

func (m *racingMeta) SegmentAssets(ctx context.Context, account string, ids []int64) ([]refstore.Asset, error) {
	as, err := m.MetaStore.SegmentAssets(ctx, account, ids)
	m.once.Do(m.during)
	return as, err
}

// An asset deleted between the listing and the read of its bytes is left out; one
// overwritten meanwhile is exported in its new version.
func TestExportWhileAssetsChange(t *testing.T) {
	for _, mk := range []func(*testing.T) *stores{embedded, cluster} {
		src := mk(t)
		t.Run(src.name, func(t *testing.T) {
			load(t, src)
			expireUploads(t, src)
			before := src.state(t)
			notes := before.assetNamed(t, "acme", "notes.txt")
			logo := before.assetNamed(t, "acme", "logo.svg")
			newLogo := []byte(`<svg xmlns="http://www.w3.org/2000/svg"><g/></svg>`)
			ro := src.readOnly(t)
			ro.Meta = &racingMeta{MetaStore: ro.Meta, during: func() {
				p := refstore.Principal{Account: "acme", UserID: 1}
				if _, err := src.svc.Delete(t.Context(), p, refstore.Scope{Kind: refstore.ScopeProject, ID: 10}, 1002,
					&notes.Address); err != nil {
					t.Error(err)
				}
				put(t, src, "acme", 10, 1001, "", `public\images`, "logo.svg", newLogo)
			}}
			dir, stats := exportDir(t, ro, transfer.ExportOptions{Account: "acme"})
			if stats.Skipped != 1 || stats.Assets != 6 {
				t.Fatalf("stats %+v, want 6 assets and 1 skipped", stats)
			}
			m := readManifest(t, dir)
			for _, a := range m.Accounts[0].Assets {
				switch a.ID {
				case idString(notes.ID):
					t.Fatal("the deleted asset was exported")
				case idString(logo.ID):
					if a.SHA256 != shaHex(newLogo) || a.Modified <= logo.Modified {
						t.Fatalf("the overwritten asset was exported as %+v", a)
					}
				}
			}
			after := src.state(t)
			sameTree(t, treeOf(t, dir), expectedTree(state{"acme": after["acme"]}))
		})
	}
}

// Bytes in the blob store that differ from their metadata fail the export, naming the
// asset, and leave no manifest behind.
func TestExportDetectsCorruptBytes(t *testing.T) {
	src := embedded(t)
	load(t, src)
	st := src.state(t)
	notes := st.assetNamed(t, "acme", "notes.txt")
	stored, err := src.meta.AssetByID(t.Context(), "acme", notes.ID)
	if err != nil {
		t.Fatal(err)
	}
	blob := filepath.Join(src.dir, "accounts/acme/blobs", stored.BlobKey[:2], stored.BlobKey)
	f, err := os.OpenFile(blob, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), 3)
	f.Close()

	dir := filepath.Join(t.TempDir(), "export")
	_, err = transfer.ExportDir(t.Context(), src.readOnly(t), transfer.ExportOptions{}, dir)
	wantError(t, err, idString(notes.ID), "SHA-256")
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a failed export left %v", entries)
	}
	_, err = transfer.ExportZip(t.Context(), src.readOnly(t), transfer.ExportOptions{}, io.Discard)
	wantError(t, err, idString(notes.ID), "SHA-256")
	zipFile := filepath.Join(t.TempDir(), "x.zip")
	_, err = transfer.ExportZipFile(t.Context(), src.readOnly(t), transfer.ExportOptions{}, zipFile)
	wantError(t, err, idString(notes.ID))
	if entries, _ := os.ReadDir(filepath.Dir(zipFile)); len(entries) != 0 {
		t.Fatalf("a failed zip export left %v", entries)
	}
	// A directory that is not empty is refused.
	os.MkdirAll(dir, 0o755)
	os.WriteFile(filepath.Join(dir, "x"), nil, 0o644)
	_, err = transfer.ExportDir(t.Context(), src.readOnly(t), transfer.ExportOptions{}, dir)
	wantError(t, err, "not empty")
}

// An export taken while a server keeps writing is consistent: every file holds what the
// manifest says, and the export imports.
func TestExportWhileWriting(t *testing.T) {
	src := embedded(t)
	load(t, src)
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Go(func() {
		p := refstore.Principal{Account: "acme", UserID: 1}
		scope := refstore.Scope{Kind: refstore.ScopeProject, ID: 20}
		for i := 0; !stop.Load(); i++ {
			name := []string{"a.bin", "b.bin", "c.bin"}[i%3]
			_, token, err := src.svc.Upload(context.Background(), p, name, bytes.NewReader(random(50_000+i)), 0)
			if err == nil {
				_, err = src.svc.Attach(context.Background(), p, scope, 2002, service.AttachRequest{FileToken: token})
			}
			if err == nil && i%4 == 3 {
				_, err = src.svc.Delete(context.Background(), p, scope, 2002, nil)
			}
			if err != nil {
				t.Error(err)
				return
			}
		}
	})
	time.Sleep(50 * time.Millisecond)
	var dirs []string
	for range 5 {
		dir, _ := exportDir(t, src.readOnly(t), transfer.ExportOptions{})
		dirs = append(dirs, dir)
	}
	stop.Store(true)
	wg.Wait()
	for _, dir := range dirs {
		dst := embedded(t)
		mustImport(t, dst, dir, transfer.ImportOptions{})
		sameTree(t, treeOf(t, dir), expectedTree(dst.state(t)))
	}
}
