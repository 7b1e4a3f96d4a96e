package filestore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"

	"github.com/refstore/refstore"
)

var _ refstore.LeftoverInspector = (*Store)(nil)

// Idle reports whether no other process uses the directory. A store opened alone (not
// shared, not read-only) holds it itself; a read-only store tests the lock every server
// holds, exclusively on the embedded default and shared in a cluster.
func (s *Store) Idle() bool {
	switch {
	case s.readOnly:
		f, err := s.root.Open(lockFile)
		if err != nil {
			return true // no server ever opened the directory
		}
		defer f.Close()
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
			return false
		}
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		return true
	case s.shared:
		return false
	}
	return true
}

// UncleanMarker reports whether the marker of a process that did not shut down cleanly is
// there (a read-only store only looks; an exclusive one reports what Open found).
func (s *Store) UncleanMarker() bool {
	if s.readOnly {
		_, err := s.root.Stat(markerFile)
		return err == nil
	}
	return s.unclean
}

// Leftovers reports the files of interrupted writes under tmp/: those Open removed, those
// of dead processes still there, and the files of live processes (writes in progress).
// A read-only store changes nothing; it takes the files of a directory no process holds
// for leftovers.
func (s *Store) Leftovers(ctx context.Context) (refstore.Leftovers, error) {
	l := refstore.Leftovers{Removed: s.tmpRemoved}
	entries, err := readDir(s.root, tmpDir)
	if err != nil {
		return l, err
	}
	idle := s.readOnly && s.Idle()
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return l, err
		}
		name := path.Join(tmpDir, e.Name())
		switch {
		case strings.HasSuffix(e.Name(), ".lock"):
			continue
		case !e.IsDir():
			// The embedded default's files in progress: a live server's unless nobody holds
			// the directory.
			if idle {
				l.Found = append(l.Found, name)
			} else {
				l.InProgress++
			}
		case name == s.tmp:
			l.InProgress += countFiles(s.root, name)
		default:
			// A shared-mode process folder: dead when its lock is free.
			dead := idle || folderLockFree(s.root, name+".lock")
			fs.WalkDir(s.root.FS(), name, func(p string, d fs.DirEntry, err error) error {
				if err == nil && d.Type().IsRegular() {
					if dead {
						l.Found = append(l.Found, p)
					} else {
						l.InProgress++
					}
				}
				return nil
			})
		}
	}
	return l, nil
}

// folderLockFree reports whether no process holds a shared-mode folder's lock file (a
// missing lock file is free: its process is gone).
func folderLockFree(root *os.Root, lock string) bool {
	f, err := root.Open(lock)
	if err != nil {
		return true
	}
	defer f.Close()
	if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil {
		return false
	}
	syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return true
}

// RestoreBlob brings back a lost blob from the reference-material tree: the asset's file
// there is a hard link to the same bytes, and survives the blob file's removal. It is
// used only when the file holds exactly the asset's size and SHA-256; ok is false when it
// does not (or is not there).
func (s *Store) RestoreBlob(_ context.Context, a *refstore.Asset) (ok bool, err error) {
	if s.readOnly {
		return false, errReadOnly
	}
	src, err := mirrorPath(a)
	if err != nil {
		return false, err
	}
	dst, err := blobPath(refstore.BlobRef{Account: a.Account, Key: a.BlobKey})
	if err != nil {
		return false, err
	}
	f, err := s.root.Open(src)
	if err != nil {
		return false, nil
	}
	info, err := f.Stat()
	if err != nil || !info.Mode().IsRegular() || info.Size() != a.Size {
		f.Close()
		return false, nil
	}
	sum, err := hashFile(f)
	f.Close()
	if err != nil || sum != a.SHA256 {
		return false, nil
	}
	// Linked under tmp/ then renamed, so the blob appears whole or not at all.
	tmp := path.Join(s.tmp, newKey())
	if err := s.root.Link(src, tmp); err != nil {
		return false, storageError(err)
	}
	defer s.root.Remove(tmp)
	dir := path.Dir(dst)
	if err := s.mkdirAllSync(dir); err != nil {
		return false, storageError(err)
	}
	if err := s.root.Rename(tmp, dst); err != nil {
		return false, storageError(err)
	}
	return true, syncDir(s.root, dir)
}

func hashFile(r io.Reader) (string, error) {
	h := sha256.New()
	if _, err := io.Copy(h, r); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
