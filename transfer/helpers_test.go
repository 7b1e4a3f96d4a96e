package transfer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
	"github.com/refstore/refstore/internal/testenv"
	"github.com/refstore/refstore/s3store"
	"github.com/refstore/refstore/service"
	"github.com/refstore/refstore/sqlstore"
	"github.com/refstore/refstore/transfer"
)

var quiet = slog.New(slog.DiscardHandler)

// stores are real backends with a service over them, as a server runs them.
type stores struct {
	name  string
	dir   string // the data directory (embedded) or ""
	meta  *sqlstore.Store
	blobs refstore.BlobStore
	svc   *service.Service
	// readOnly opens the stores a second time, read-only, as `refstore export` does
	// next to a running server.
	readOnly func(t *testing.T) transfer.Source
}

// embedded opens the embedded default (SQLite and files) in a fresh data directory, holding
// it alone as a server does.
func embedded(t *testing.T) *stores {
	t.Helper()
	dir := t.TempDir()
	files, err := filestore.Open(dir, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	meta, err := sqlstore.Open(context.Background(), "sqlite:"+filepath.Join(dir, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close(); files.Close() })
	s := &stores{name: "embedded", dir: dir, meta: meta, blobs: files, svc: service.New(meta, files, service.Config{}, quiet)}
	s.readOnly = func(t *testing.T) transfer.Source {
		t.Helper()
		files, err := filestore.Open(dir, filestore.Options{ReadOnly: true})
		if err != nil {
			t.Fatal(err)
		}
		meta, err := sqlstore.OpenReadOnly(context.Background(), "sqlite:"+filepath.Join(dir, "meta.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { meta.Close(); files.Close() })
		return transfer.Source{Meta: meta, Blobs: files}
	}
	return s
}

// cluster opens a fresh PostgreSQL database and a fresh versitygw bucket.
func cluster(t *testing.T) *stores {
	t.Helper()
	url := testenv.Postgres(t)
	gw := testenv.StartS3(t)
	for _, kv := range gw.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	cfg, err := s3store.ParseURL(gw.URL())
	if err != nil {
		t.Fatal(err)
	}
	blobs, err := s3store.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	meta, err := sqlstore.Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { meta.Close() })
	s := &stores{name: "postgres-s3", meta: meta, blobs: blobs, svc: service.New(meta, blobs, service.Config{}, quiet)}
	s.readOnly = func(t *testing.T) transfer.Source {
		t.Helper()
		meta, err := sqlstore.OpenReadOnly(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { meta.Close() })
		return transfer.Source{Meta: meta, Blobs: blobs}
	}
	return s
}

func (s *stores) target() transfer.Target { return transfer.Target{Service: s.svc, Meta: s.meta} }

// The fixture. Account acme:
//
//	project 10: document 100 (segments 1001, 1002), document 101 (segment 1101)
//	project 20: document 200 (segments 2001, 2002)
//	jobs: standard 50 of project 10 → [100]; Codyt 60 of project 20 → [200]
//	users: 1 pm (project grants on 10 and 20), 2 reader (read on 10), 3 jobber (job 50),
//	       4 idle (no grant), 5 codyt (job 60)
//
// Account beta reuses acme's ids: project 10, document 100, segment 1001, user 1.
func fixtureCatalog() *refstore.Catalog {
	all := []string{"read", "upload", "delete"}
	return &refstore.Catalog{Accounts: []refstore.CatalogAccount{
		{
			ID: "acme", Name: "Acme",
			Users: []refstore.CatalogUser{{ID: 1, Name: "pm", APIKey: "key-acme-pm-0123456789"}, {ID: 2, Name: "reader", APIKey: "key-acme-reader-0123456789"},
				{ID: 3, Name: "jobber"}, {ID: 4, Name: "idle"}, {ID: 5, Name: "codyt", APIKey: "key-acme-codyt-0123456789"}},
			Projects: []refstore.CatalogProject{
				{ID: 10, Name: "Web", Documents: []refstore.CatalogDocument{{ID: 100, Segments: []int64{1001, 1002}},
					{ID: 101, Segments: []int64{1101}}}},
				{ID: 20, Name: "App", Documents: []refstore.CatalogDocument{{ID: 200, Segments: []int64{2001, 2002}}}},
			},
			Jobs: []refstore.CatalogJob{{ID: 50, ProjectID: 10, DocumentIDs: []int64{100}},
				{ID: 60, Codyt: true, ProjectID: 20, DocumentIDs: []int64{200}}},
			Grants: []refstore.CatalogGrant{
				{UserID: 1, ProjectID: 10, Rights: all}, {UserID: 1, ProjectID: 20, Rights: all},
				{UserID: 2, ProjectID: 10, Rights: []string{"read"}},
				{UserID: 3, JobID: 50, Rights: all}, {UserID: 5, JobID: 60, Codyt: true, Rights: all},
			},
		},
		{
			ID: "beta", Name: "Beta",
			Users:    []refstore.CatalogUser{{ID: 1, Name: "pm", APIKey: "key-beta-pm-0123456789"}},
			Projects: []refstore.CatalogProject{{ID: 10, Documents: []refstore.CatalogDocument{{ID: 100, Segments: []int64{1001}}}}},
			Grants:   []refstore.CatalogGrant{{UserID: 1, ProjectID: 10, Rights: all}},
		},
	}}
}

func random(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func png(n int) []byte { return append([]byte("\x89PNG\r\n\x1a\n"), random(n)...) }

// loaded is what load put into a store: the API key secrets by account and user name.
type loaded struct {
	secrets map[string]string // "account/user" → secret
}

// load fills a store through the service, as clients of the API would: the catalog, an
// issued key, and assets with locales, folders, shared bytes, an overwrite, an empty file,
// a file of several S3 parts and a non-ASCII name.
func load(t *testing.T, s *stores) loaded {
	t.Helper()
	ctx := t.Context()
	if err := s.svc.UpsertCatalog(ctx, fixtureCatalog()); err != nil {
		t.Fatal(err)
	}
	l := loaded{secrets: map[string]string{"acme/pm": "key-acme-pm-0123456789", "acme/reader": "key-acme-reader-0123456789",
		"acme/codyt": "key-acme-codyt-0123456789", "beta/pm": "key-beta-pm-0123456789"}}
	_, secret, err := s.svc.IssueKey(ctx, "acme", 3)
	if err != nil {
		t.Fatal(err)
	}
	l.secrets["acme/jobber"] = secret
	shot := png(5000)
	put(t, s, "acme", 10, 1001, "", "", "shot.png", shot)
	put(t, s, "acme", 10, 1001, "en", "", "shot.png", shot) // the same bytes again
	put(t, s, "acme", 10, 1001, "", `public\images`, "logo.svg", []byte(`<svg xmlns="http://www.w3.org/2000/svg"/>`))
	put(t, s, "acme", 10, 1002, "fr-CA", "a/b", "notes.txt", []byte("first version"))
	time.Sleep(2 * time.Millisecond)
	put(t, s, "acme", 10, 1002, "fr-CA", "a/b", "notes.txt", []byte("second version, longer")) // an overwrite
	put(t, s, "acme", 10, 1101, "", "", "big.bin", random(9<<20+123))                          // more than one S3 part
	put(t, s, "acme", 10, 1101, "", "", "empty.txt", nil)
	put(t, s, "acme", 20, 2001, "de", "", "über ü.png", png(300))
	put(t, s, "beta", 10, 1001, "", "", "shot.png", png(700))
	return l
}

// put uploads and attaches bytes as user 1 of the account.
func put(t *testing.T, s *stores, account string, project, segment int64, locale, relativePath, name string, data []byte) *refstore.Asset {
	t.Helper()
	p := refstore.Principal{Account: account, UserID: 1}
	_, token, err := s.svc.Upload(t.Context(), p, name, bytes.NewReader(data), 0)
	if err != nil {
		t.Fatal(err)
	}
	a, err := s.svc.Attach(t.Context(), p, refstore.Scope{Kind: refstore.ScopeProject, ID: project}, segment,
		service.AttachRequest{FileToken: token, Locale: locale, RelativePath: relativePath})
	if err != nil {
		t.Fatalf("attach %s to %d: %v", name, segment, err)
	}
	return a
}

// state is everything a move must preserve, read back through the stores.
type state map[string]*accountState

type accountState struct {
	Catalog *refstore.CatalogAccount
	Keys    []refstore.APIKey
	Assets  []refstore.Asset // BlobKey cleared: keys are the store's own
	Bytes   map[int64][]byte // by asset id, as read from the blob store
}

func snapshot(t *testing.T, meta refstore.MetaStore, blobs refstore.BlobStore) state {
	t.Helper()
	ctx := t.Context()
	ids, err := meta.Accounts(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := state{}
	for _, id := range ids {
		cat, err := meta.AccountCatalog(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := meta.AccountAPIKeys(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for i := range keys {
			keys[i].Created = keys[i].Created.UTC()
		}
		as := &accountState{Catalog: cat, Keys: keys, Assets: []refstore.Asset{}, Bytes: map[int64][]byte{}}
		var segments []int64
		for _, p := range cat.Projects {
			for _, d := range p.Documents {
				segments = append(segments, d.Segments...)
			}
		}
		assets, err := meta.SegmentAssets(ctx, id, segments)
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range assets {
			r, err := blobs.Open(ctx, refstore.BlobRef{Account: a.Account, Key: a.BlobKey}, a.Size)
			if err != nil {
				t.Fatalf("asset %d: %v", a.ID, err)
			}
			b, err := io.ReadAll(r)
			r.Close()
			if err != nil {
				t.Fatalf("asset %d: %v", a.ID, err)
			}
			as.Bytes[a.ID] = b
			a.BlobKey = ""
			as.Assets = append(as.Assets, a)
		}
		st[id] = as
	}
	return st
}

func (s *stores) state(t *testing.T) state {
	t.Helper()
	return snapshot(t, s.meta, s.blobs)
}

// sameState fails the test unless got equals want in every preserved detail.
func sameState(t *testing.T, got, want state) {
	t.Helper()
	if !slices.Equal(sortedKeys(got), sortedKeys(want)) {
		t.Fatalf("accounts %v, want %v", sortedKeys(got), sortedKeys(want))
	}
	for id, w := range want {
		g := got[id]
		if !jsonEqual(g.Catalog, w.Catalog) {
			t.Errorf("account %s: catalog\n got %s\nwant %s", id, mustJSON(g.Catalog), mustJSON(w.Catalog))
		}
		if !jsonEqual(g.Keys, w.Keys) {
			t.Errorf("account %s: keys\n got %s\nwant %s", id, mustJSON(g.Keys), mustJSON(w.Keys))
		}
		if !jsonEqual(g.Assets, w.Assets) {
			t.Errorf("account %s: assets\n got %s\nwant %s", id, mustJSON(g.Assets), mustJSON(w.Assets))
		}
		for aid, b := range w.Bytes {
			if !bytes.Equal(g.Bytes[aid], b) {
				t.Errorf("account %s: asset %d holds %d other bytes, want %d", id, aid, len(g.Bytes[aid]), len(b))
			}
		}
	}
}

func sortedKeys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func jsonEqual(a, b any) bool { return mustJSON(a) == mustJSON(b) }

// count is the number of assets in a state.
func (st state) count() int {
	n := 0
	for _, a := range st {
		n += len(a.Assets)
	}
	return n
}

// expectedTree is the SPEC's layout of a state's reference material, computed here from
// the SPEC's formula: path → bytes.
func expectedTree(st state) map[string][]byte {
	tree := map[string][]byte{}
	for id, as := range st {
		for _, a := range as.Assets {
			p := fmt.Sprintf("accounts/%s/projects/%d/assets/%d/%d/%d/", id, a.ProjectID, a.DocumentID, a.SegmentID%1000, a.SegmentID)
			if a.Locale != "" {
				p += a.Locale + "/"
			}
			if a.RelativePath() != "" {
				p += strings.ReplaceAll(a.RelativePath(), `\`, "/") + "/"
			}
			tree[p+a.Name] = as.Bytes[a.ID]
		}
	}
	return tree
}

// treeOf reads the files below dir's accounts/*/projects/ folders: path → bytes.
func treeOf(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	tree := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		el := strings.Split(rel, "/")
		if len(el) < 3 || el[0] != "accounts" || el[2] != "projects" || d.IsDir() {
			return nil
		}
		b, err := os.ReadFile(p)
		tree[rel] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}

func sameTree(t *testing.T, got, want map[string][]byte) {
	t.Helper()
	var gotPaths, wantPaths []string
	for p := range got {
		gotPaths = append(gotPaths, p)
	}
	for p := range want {
		wantPaths = append(wantPaths, p)
	}
	slices.Sort(gotPaths)
	slices.Sort(wantPaths)
	if !slices.Equal(gotPaths, wantPaths) {
		t.Fatalf("tree:\n got %q\nwant %q", gotPaths, wantPaths)
	}
	for p, b := range want {
		if !bytes.Equal(got[p], b) {
			t.Errorf("%s holds %d other bytes, want %d", p, len(got[p]), len(b))
		}
	}
}

// logins fails the test unless every secret logs its user in.
func logins(t *testing.T, s *stores, l loaded) {
	t.Helper()
	for who, secret := range l.secrets {
		account, _, _ := strings.Cut(who, "/")
		if _, err := s.svc.Login(t.Context(), account, secret); err != nil {
			t.Errorf("%s: the key %s had does not log in on %s: %v", who, secret, s.name, err)
		}
	}
}

// blobCount counts the stored blobs.
func blobCount(t *testing.T, blobs refstore.BlobStore) int {
	t.Helper()
	n := 0
	if err := blobs.Walk(t.Context(), func(refstore.BlobRef, time.Time) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	return n
}

func readManifest(t *testing.T, dir string) *transfer.Manifest {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, transfer.ManifestName))
	if err != nil {
		t.Fatal(err)
	}
	var m transfer.Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return &m
}

func writeManifest(t *testing.T, dir string, m *transfer.Manifest) {
	t.Helper()
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, transfer.ManifestName), b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyDir copies an export directory (hard links become copies).
func copyDir(t *testing.T, src string) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "copy")
	if err := os.CopyFS(dst, os.DirFS(src)); err != nil {
		t.Fatal(err)
	}
	return dst
}

func importFrom(t *testing.T, to *stores, from string, opts transfer.ImportOptions) (transfer.ImportStats, error) {
	t.Helper()
	ar, err := transfer.OpenArchive(from)
	if err != nil {
		t.Fatal(err)
	}
	defer ar.Close()
	return transfer.Import(t.Context(), to.target(), ar, opts)
}

func mustImport(t *testing.T, to *stores, from string, opts transfer.ImportOptions) transfer.ImportStats {
	t.Helper()
	stats, err := importFrom(t, to, from, opts)
	if err != nil {
		t.Fatalf("import from %s into %s: %v", from, to.name, err)
	}
	return stats
}

func exportDir(t *testing.T, src transfer.Source, opts transfer.ExportOptions) (string, transfer.ExportStats) {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "export")
	stats, err := transfer.ExportDir(t.Context(), src, opts, dir)
	if err != nil {
		t.Fatalf("export: %v", err)
	}
	return dir, stats
}

// wantError fails the test unless err is an error whose text holds every part.
func wantError(t *testing.T, err error, parts ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one naming %q", parts)
	}
	for _, p := range parts {
		if !strings.Contains(err.Error(), p) {
			t.Fatalf("error %q does not name %q", err, p)
		}
	}
	t.Logf("error, as expected: %v", err)
}

func shaHex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func idString(id int64) string { return "re_" + strconv.FormatInt(id, 10) }

// assetNamed finds an asset of a state by name.
func (st state) assetNamed(t *testing.T, account, name string) refstore.Asset {
	t.Helper()
	for _, a := range st[account].Assets {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no asset %s in account %s", name, account)
	return refstore.Asset{}
}

// noAccounts fails the test unless the store holds no account (nothing was imported).
func noAccounts(t *testing.T, s *stores) {
	t.Helper()
	ids, err := s.meta.Accounts(t.Context())
	if err != nil || len(ids) != 0 {
		t.Fatalf("accounts %v, %v: want none", ids, err)
	}
	if n := blobCount(t, s.blobs); n != 0 {
		t.Fatalf("%d blobs stored, want none", n)
	}
}

// expireUploads ends every file token, so that bytes only assets reference are deleted as
// soon as the last of those assets goes.
func expireUploads(t *testing.T, s *stores) {
	t.Helper()
	if _, err := s.meta.DeleteExpiredUploads(t.Context(), time.Now().Add(100*24*time.Hour)); err != nil {
		t.Fatal(err)
	}
}
