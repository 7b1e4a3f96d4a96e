package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
	"github.com/refstore/refstore/s3store"
	"github.com/refstore/refstore/sqlstore"
)

// storeURLs name the two backends: --metadata and --blobs, defaulting to the embedded
// default inside the data directory.
type storeURLs struct {
	data     string
	metadata string // sqlite:PATH or postgres://…
	blobs    string // file:PATH or s3://BUCKET?…
}

// storeFlags registers --data, --metadata and --blobs, which every command that opens the
// stores takes.
func (e *envFlags) storeFlags(u *storeURLs) {
	e.String(&u.data, "data", "./refstore-data", "data directory")
	e.String(&u.metadata, "metadata", "", "metadata store: sqlite:PATH or postgres://… (default sqlite:{data}/meta.db)")
	e.String(&u.blobs, "blobs", "", "blob store: file:PATH or s3://BUCKET?endpoint=…&region=…&path-style=true (default file:{data})")
}

func (u storeURLs) metadataURL() string {
	if u.metadata == "" {
		return "sqlite:" + filepath.Join(u.data, "meta.db")
	}
	return u.metadata
}

func (u storeURLs) blobsURL() string {
	if u.blobs == "" {
		return "file:" + u.data
	}
	return u.blobs
}

// embedded reports whether the metadata lives in SQLite: then one process owns the data.
func (u storeURLs) embedded() bool { return strings.HasPrefix(u.metadataURL(), "sqlite:") }

// stores are the opened backends.
type stores struct {
	meta  *sqlstore.Store
	blobs refstore.BlobStore
	files *filestore.Store // when the blobs are on the filesystem
	s3    bool
	once  sync.Once
}

// Close closes both backends; later calls do nothing.
func (s *stores) Close() (err error) {
	s.once.Do(func() { err = s.close() })
	return err
}

func (s *stores) close() error {
	var err error
	if s.files != nil {
		err = s.files.Close()
	}
	if s.meta != nil {
		err = errors.Join(err, s.meta.Close())
	}
	return err
}

// openStores opens both backends. A wrong or unreachable URL stops here, with a message
// that names it.
func openStores(ctx context.Context, u storeURLs) (*stores, error) {
	return openStoresMode(ctx, u, storeMode{})
}

// openStoresReadOnly opens both backends for reading only, next to the servers that may
// be running on them: a data directory is neither locked nor changed, SQLite is opened
// read-only and PostgreSQL sessions are read-only.
func openStoresReadOnly(ctx context.Context, u storeURLs) (*stores, error) {
	return openStoresMode(ctx, u, storeMode{readOnly: true})
}

// storeMode says how openStoresMode opens a data directory: read-only, or alone even when
// the metadata is shared (fsck --repair on a stopped cluster).
type storeMode struct {
	readOnly  bool
	exclusive bool
}

func openStoresMode(ctx context.Context, u storeURLs, mode storeMode) (*stores, error) {
	readOnly := mode.readOnly
	st := &stores{}
	blobs := u.blobsURL()
	switch {
	case strings.HasPrefix(blobs, "file:"):
		dir := strings.TrimPrefix(blobs, "file:")
		if dir == "" {
			return nil, errors.New("--blobs file: needs a directory")
		}
		// With a shared metadata store, several nodes may share the directory.
		f, err := filestore.Open(dir, filestore.Options{Shared: !u.embedded() && !mode.exclusive, ReadOnly: readOnly})
		if err != nil {
			return nil, err
		}
		st.files, st.blobs = f, f
	case strings.HasPrefix(blobs, "s3:"):
		cfg, err := s3store.ParseURL(blobs)
		if err != nil {
			return nil, err
		}
		s, err := s3store.Open(ctx, cfg)
		if err != nil {
			return nil, err
		}
		st.blobs, st.s3 = s, true
	default:
		return nil, fmt.Errorf("--blobs %q: want file:PATH or s3://BUCKET?endpoint=…", redactURL(blobs))
	}
	open := sqlstore.Open
	if readOnly {
		open = sqlstore.OpenReadOnly
	}
	meta, err := open(ctx, u.metadataURL())
	if err != nil {
		st.Close()
		return nil, err
	}
	st.meta = meta
	return st, nil
}
