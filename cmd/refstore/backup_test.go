package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
	"github.com/refstore/refstore/service"
	"github.com/refstore/refstore/sqlstore"
)

// TestBackupRetriesWhenABlobGoes overwrites an asset between the backup's snapshot and
// the copy of its blobs: the server deletes the old bytes at once, so the snapshot
// references a blob that is gone. The backup takes a new snapshot and holds the new bytes,
// consistent with its metadata.
func TestBackupRetriesWhenABlobGoes(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	meta, err := sqlstore.Open(ctx, "sqlite:"+filepath.Join(data, "meta.db"))
	if err != nil {
		t.Fatal(err)
	}
	files, err := filestore.Open(data, filestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { files.Close(); meta.Close() }()
	svc := service.New(meta, files, service.Config{ExclusiveMetadata: true}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	cat := &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: "acme", Users: []refstore.CatalogUser{{ID: 1}},
		Projects: []refstore.CatalogProject{{ID: 7, Documents: []refstore.CatalogDocument{{ID: 70, Segments: []int64{700}}}}},
		Grants:   []refstore.CatalogGrant{{UserID: 1, ProjectID: 7, Rights: []string{"read", "upload", "delete"}}}}}}
	if err := svc.UpsertCatalog(ctx, cat); err != nil {
		t.Fatal(err)
	}
	p := refstore.Principal{Account: "acme", UserID: 1}
	put := func(b []byte) {
		t.Helper()
		_, token, err := svc.Upload(ctx, p, "a.bin", bytes.NewReader(b), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := svc.Attach(ctx, p, refstore.Scope{Kind: refstore.ScopeProject, ID: 7}, 700, service.AttachRequest{FileToken: token}); err != nil {
			t.Fatal(err)
		}
	}
	put([]byte("the first bytes"))
	// Forget the upload, so that the asset alone holds the first bytes.
	if _, err := meta.DeleteExpiredUploads(ctx, time.Now().Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	afterSnapshot = func(attempt int) {
		if attempt == 1 {
			put([]byte("the second bytes"))
		}
	}
	defer func() { afterSnapshot = nil }()
	out := filepath.Join(t.TempDir(), "backup")
	st, err := backup(ctx, storeURLs{data: data}, out, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.attempts != 2 {
		t.Fatalf("snapshot attempts: %d, want 2 (the first one's blob was deleted before its copy)", st.attempts)
	}
	got, err := os.ReadFile(filepath.Join(out, "accounts", "acme", "projects", "7", "assets", "70", "700", "700", "a.bin"))
	if err != nil || string(got) != "the second bytes" {
		t.Fatalf("the backup's tree holds %q (%v), want the second bytes", got, err)
	}
	blobs, _ := filepath.Glob(filepath.Join(out, "accounts", "acme", "blobs", "*", "*"))
	if len(blobs) != 1 || st.blobs != 1 {
		t.Fatalf("blob files in the backup: %v (stats %d), want the second bytes' only", blobs, st.blobs)
	}
	if _, err := os.Stat(out + ".tmp"); !os.IsNotExist(err) {
		t.Fatalf("%s.tmp is left: %v", out, err)
	}
}
