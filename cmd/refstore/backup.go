package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/filestore"
	"github.com/refstore/refstore/sqlstore"
)

func backupCommand() *cobra.Command {
	var (
		stores    storeURLs
		copyBlobs bool
	)
	cmd := &cobra.Command{
		Use:   "backup DIR",
		Short: "Snapshot the embedded default (SQLite and files) into a new data directory, while the server runs",
		Long: `Writes a consistent snapshot of the embedded default into DIR, a new directory that
refstore serve --data DIR starts on: the SQLite metadata as of one instant (VACUUM INTO),
every blob that snapshot references, the reference-material tree rebuilt from them, and
admin.token. It only reads the data directory and runs while the server serves and takes
writes. Blobs are hard-linked when DIR is on the data directory's filesystem (instant,
no space; it guards against deletions and mistakes, not against losing the disk: put DIR on
another disk, or pass --copy, for that) and copied otherwise. The snapshot is built in
DIR.tmp, fsynced, and renamed to DIR at the end.`,
		Args: cobra.ExactArgs(1),
	}
	f := envFlags{fs: cmd.Flags()}
	f.storeFlags(&stores)
	cmd.Flags().BoolVar(&copyBlobs, "copy", false, "copy the blobs even when they could be hard-linked")
	cmd.RunE = func(cmd *cobra.Command, args []string) error {
		if f.err != nil {
			return f.err
		}
		ctx, stop := signalContext(cmd.Context())
		defer stop()
		start := time.Now()
		st, err := backup(ctx, stores, filepath.Clean(args[0]), copyBlobs)
		if err != nil {
			return fmt.Errorf("backup: %w", err)
		}
		fmt.Printf("backup: %s: %d asset references, %d blobs (%d bytes; %d linked, %d copied), snapshot attempts %d; took %v\n",
			args[0], st.assets, st.blobs, st.bytes, st.linked, st.blobs-st.linked, st.attempts, time.Since(start).Round(time.Millisecond))
		return nil
	}
	return cmd
}

// afterSnapshot, when set (by tests), runs between a snapshot and the copy of its blobs.
var afterSnapshot func(attempt int)

type backupStats struct {
	assets, blobs, linked, attempts int
	bytes                           int64
}

// backup writes the snapshot into dst+".tmp" and renames it to dst.
func backup(ctx context.Context, u storeURLs, dst string, copyBlobs bool) (backupStats, error) {
	var st backupStats
	meta, ok := strings.CutPrefix(u.metadataURL(), "sqlite:")
	blobs, isFile := strings.CutPrefix(u.blobsURL(), "file:")
	if !ok || !isFile {
		return st, errors.New("backup snapshots the embedded default (SQLite metadata, files); with PostgreSQL or S3 use " +
			"their own backups (pg_dump, bucket versioning) or refstore export")
	}
	if _, err := os.Lstat(dst); err == nil {
		return st, fmt.Errorf("%s exists: give a new directory", dst)
	}
	if info, err := os.Stat(meta); err == nil && !info.Mode().IsRegular() {
		// SQLite would wait on a FIFO for ever.
		return st, fmt.Errorf("metadata store sqlite:%s is not a regular file", meta)
	}
	tmp := dst + ".tmp"
	if err := os.RemoveAll(tmp); err != nil {
		return st, err
	}
	// Made here, by this process, for its user alone (a backup is a data directory): Mkdir,
	// not MkdirAll, so that a folder or link put at that name meanwhile is not taken.
	if err := os.MkdirAll(filepath.Dir(tmp), 0o700); err != nil {
		return st, err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return st, err
	}
	ok = false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	files, err := filestore.Open(blobs, filestore.Options{ReadOnly: true})
	if err != nil {
		return st, err
	}
	defer files.Close()

	// A blob the snapshot references may be deleted before it is copied (its asset was
	// overwritten or deleted meanwhile): then a newer snapshot no longer references it.
	snap := filepath.Join(tmp, "meta.db")
	var referenced map[refstore.BlobRef]bool
	for {
		st.attempts++
		os.Remove(snap)
		// VACUUM INTO fills an empty file, and would create one 0644.
		if f, err := os.OpenFile(snap, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600); err != nil {
			return st, err
		} else {
			f.Close()
		}
		if err := sqlstore.SnapshotSQLite(ctx, meta, snap); err != nil {
			return st, err
		}
		if afterSnapshot != nil {
			afterSnapshot(st.attempts)
		}
		var missing []refstore.BlobRef
		referenced, missing, err = copyReferenced(ctx, files, snap, tmp, copyBlobs, &st)
		if err != nil {
			return st, err
		}
		if len(missing) == 0 {
			break
		}
		if st.attempts == 5 {
			return st, fmt.Errorf("blob %s/%s, which the metadata references, is not in %s (five snapshots in a row): run refstore fsck",
				missing[0].Account, missing[0].Key, blobs)
		}
	}
	if err := pruneAndRebuild(ctx, tmp, snap, referenced, &st); err != nil {
		return st, err
	}
	if b, err := readAdminToken(u.data); err == nil {
		if err := os.WriteFile(filepath.Join(tmp, "admin.token"), b, 0o600); err != nil {
			return st, err
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		return st, err
	}
	if err := syncTree(tmp); err != nil {
		return st, err
	}
	if err := os.Rename(tmp, dst); err != nil {
		return st, err
	}
	ok = true
	return st, syncPath(filepath.Dir(dst))
}

// copyReferenced copies (links) every blob a snapshot references into the backup, and
// returns those referenced by assets or uploads that are gone.
func copyReferenced(ctx context.Context, files *filestore.Store, snap, tmp string, copyBlobs bool, st *backupStats) (map[refstore.BlobRef]bool, []refstore.BlobRef, error) {
	meta, err := sqlstore.OpenReadOnly(ctx, "sqlite:"+snap)
	if err != nil {
		return nil, nil, err
	}
	defer meta.Close()
	referenced := map[refstore.BlobRef]bool{}
	var missing []refstore.BlobRef
	st.assets, st.blobs, st.linked, st.bytes = 0, 0, 0, 0
	err = meta.BlobRecords(ctx, func(rec refstore.BlobRecord) error {
		ref := refstore.BlobRef{Account: rec.Account, Key: rec.Key}
		_, err := files.CopyBlob(ref, rec.Size, tmp, copyBlobs)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			if rec.Assets+rec.Uploads > 0 {
				missing = append(missing, ref)
			}
			return nil // unreferenced: the collector was deleting it
		case err != nil:
			return err
		}
		referenced[ref] = true
		st.assets += rec.Assets
		st.blobs++
		st.bytes += rec.Size
		return nil
	})
	return referenced, missing, err
}

// pruneAndRebuild removes the blobs of earlier snapshots that the last one does not
// reference, and builds the reference-material tree of the backup from its metadata.
func pruneAndRebuild(ctx context.Context, tmp, snap string, referenced map[refstore.BlobRef]bool, st *backupStats) error {
	meta, err := sqlstore.OpenReadOnly(ctx, "sqlite:"+snap)
	if err != nil {
		return err
	}
	defer meta.Close()
	out, err := filestore.Open(tmp, filestore.Options{})
	if err != nil {
		return err
	}
	err = out.List(ctx, func(b refstore.BlobInfo) error {
		if !referenced[b.Ref] {
			return out.Delete(ctx, b.Ref)
		}
		if linked, err := sameFileLinks(tmp, b.Ref); err == nil && linked {
			st.linked++
		}
		return nil
	})
	if err == nil {
		_, err = out.Reconcile(ctx, meta)
	}
	return errors.Join(err, out.Close())
}

// sameFileLinks reports whether a backup's blob shares its file with another name (the
// data directory's blob): it was linked, not copied.
func sameFileLinks(dir string, ref refstore.BlobRef) (bool, error) {
	info, err := os.Stat(filepath.Join(dir, "accounts", ref.Account, "blobs", ref.Key[:2], ref.Key))
	if err != nil {
		return false, err
	}
	return linkCount(info) > 1, nil
}

// readAdminToken reads {data}/admin.token, refusing anything but a small regular file of
// the data directory: a symbolic link would have the backup copy a file from anywhere
// (its target's bytes, in the backup, as admin.token), and a FIFO would block it.
func readAdminToken(data string) ([]byte, error) {
	root, err := os.OpenRoot(data)
	if err != nil {
		return nil, err
	}
	defer root.Close()
	const name = "admin.token"
	before, err := root.Lstat(name)
	if err != nil {
		return nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, fmt.Errorf("%s in the data directory is %s, not a regular file: refstore writes no such thing; "+
			"remove it and run the backup again", name, describeMode(before.Mode()))
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if now, err := f.Stat(); err != nil || !os.SameFile(before, now) {
		return nil, fmt.Errorf("%s changed while it was opened", name)
	}
	// The token is 68 bytes; a larger file is not one refstore wrote.
	b, err := io.ReadAll(io.LimitReader(f, 4<<10+1))
	if err == nil && len(b) > 4<<10 {
		err = fmt.Errorf("%s holds more than 4 KiB: not a token refstore wrote", name)
	}
	return b, err
}

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&(fs.ModeDevice|fs.ModeCharDevice) != 0:
		return "a device"
	case m&fs.ModeSocket != 0:
		return "a socket"
	}
	return "not a regular file"
}

// syncTree fsyncs every file and folder below dir.
func syncTree(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Type().IsRegular() {
			return syncPath(p)
		}
		return nil
	})
}

func syncPath(p string) error {
	f, err := os.Open(p)
	if err != nil {
		return err
	}
	defer f.Close()
	return f.Sync()
}

func linkCount(info os.FileInfo) uint64 {
	if s, ok := info.Sys().(*syscall.Stat_t); ok {
		return uint64(s.Nlink)
	}
	return 1
}
