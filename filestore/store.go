// Package filestore keeps blobs on the local filesystem, below one data directory that is
// only ever reached through an os.Root, so no input can name a file outside it.
//
// The data directory holds:
//
//	tmp/                                   files being written; emptied at start-up
//	                                       (in shared mode, one folder per process)
//	accounts/{account}/blobs/{k[:2]}/{k}   one immutable file per distinct content
//	accounts/{account}/projects/{p}/assets/{documentId}/{segmentId%1000}/{segmentId}/
//	                   [{locale}/][{relativePath}/]{name}
//	                                       the reference material, as hard links to blobs
//
// Everything is created for the server's user alone (folders 0700, files 0600, whatever
// the umask): the tree is served by refstore, never read by another local user, and it
// holds every tenant's files. A directory of an older refstore (0755, 0644) is tightened
// the first time it is opened, once: see Tightened.
//
// Blobs are written to tmp/, fsynced and renamed into place (and their directory
// fsynced) before the metadata that names them commits. The reference-material tree is
// a view of the metadata: it is updated after every commit and repaired by Reconcile.
package filestore

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/refstore/refstore"
)

// Store is the filesystem blob store.
type Store struct {
	dir      string
	root     *os.Root
	lock     *os.File
	shared   bool
	readOnly bool
	tmp      string   // this process's folder for files being written
	tmpLock  *os.File // shared mode: held while tmp is in use
	unclean  bool
	// tmpRemoved lists the leftovers of dead processes that Open removed from tmp/.
	tmpRemoved []string
	// tightened counts the entries Open made private; tightenErr is the first it could not.
	tightened  int
	tightenErr error
	locks      stripedLocks
}

// Options configure Open.
type Options struct {
	// Shared lets several processes use the directory at once: nodes that share a disk and
	// a PostgreSQL metadata store. Each keeps its files in progress in a folder of its own
	// under tmp/, and a process that finds the folder of a dead one removes it.
	Shared bool
	// ReadOnly opens the directory for reading only, next to a process that may hold it
	// (a running server): no lock is taken, nothing is created, cleaned up or marked, and
	// every write fails. Blobs are immutable once named, so reading them while a server
	// writes is safe; one may vanish when the server deletes it (fs.ErrNotExist).
	ReadOnly bool
}

// ErrInUse is what Open returns (wrapped) when another process holds the directory.
var ErrInUse = errors.New("data directory in use")

// errReadOnly is what every write of a read-only store returns.
var errReadOnly = errors.New("the data directory is open read-only")

// inUseError keeps Open's message and matches ErrInUse.
type inUseError struct{ msg string }

func (e *inUseError) Error() string        { return e.msg }
func (e *inUseError) Is(target error) bool { return target == ErrInUse }

var (
	_ refstore.BlobStore = (*Store)(nil)
	_ refstore.Mirror    = (*Store)(nil)
)

const (
	tmpDir      = "tmp"
	accountsDir = "accounts"
	markerFile  = ".unclean"
	lockFile    = ".lock"
	// privateFile marks a directory whose modes are private: created by this version, or
	// tightened once.
	privateFile = ".private"
)

// The modes of everything the store creates: its user's alone.
const (
	dirMode  = 0o700
	fileMode = 0o600
)

// Open opens (creating it if needed) a data directory. Without Options.Shared the process
// holds it alone: files left in tmp/ by an earlier process are removed, and Unclean
// reports whether that process ended without closing the store, in which case the caller
// should reconcile. With Options.ReadOnly the directory must exist, and is only read.
func Open(dir string, opts Options) (*Store, error) {
	if opts.ReadOnly {
		root, err := os.OpenRoot(dir)
		if err != nil {
			return nil, fmt.Errorf("data directory: %w", err)
		}
		return &Store{dir: dir, root: root, readOnly: true}, nil
	}
	_, statErr := os.Stat(dir)
	fresh := errors.Is(statErr, fs.ErrNotExist)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	s := &Store{dir: dir, root: root, shared: opts.Shared, tmp: tmpDir}
	// Lock files are opened read-only (flock needs no more), so that an idle server holds
	// no file of the directory open for writing and its filesystem can be remounted ro.
	if s.lock, err = root.OpenFile(lockFile, os.O_CREATE|os.O_RDONLY, fileMode); err != nil {
		root.Close()
		return nil, fmt.Errorf("data directory: %w", err)
	}
	how := syscall.LOCK_EX
	if opts.Shared {
		how = syscall.LOCK_SH
	}
	if err := syscall.Flock(int(s.lock.Fd()), how|syscall.LOCK_NB); err != nil {
		s.lock.Close()
		root.Close()
		if opts.Shared {
			return nil, &inUseError{fmt.Sprintf("data directory %s is in use by a refstore process that holds it alone", dir)}
		}
		return nil, &inUseError{fmt.Sprintf("data directory %s is in use by another refstore process", dir)}
	}
	if err := s.prepare(); err != nil {
		s.Close()
		return nil, err
	}
	if err := s.makePrivate(fresh); err != nil {
		s.Close()
		return nil, fmt.Errorf("data directory: %w", err)
	}
	return s, nil
}

// makePrivate tightens, once, the modes of a directory an older refstore made: its
// folders were 0755 and its files 0644 under the usual umask, readable by every local
// user. The walk takes a while on a large tree, once; entries it cannot change (owned by
// another user) are reported by Tightened, and the next Open tries again.
func (s *Store) makePrivate(fresh bool) error {
	if _, err := s.root.Stat(privateFile); err == nil {
		return nil
	}
	if !fresh {
		s.tightened, s.tightenErr = tightenModes(s.root)
		if s.tightenErr != nil {
			return nil
		}
	}
	return writeFileSync(s.root, privateFile, nil)
}

// Tightened reports what Open did to an older directory's modes: how many folders and
// files it made private, and an error naming those it could not change (nil when none).
// Both are zero when the directory was private already, or new.
func (s *Store) Tightened() (int, error) { return s.tightened, s.tightenErr }

// tightenModes takes the group's and others' bits off every folder and regular file
// below root, root included. Symbolic links are neither followed nor changed.
func tightenModes(root *os.Root) (changed int, err error) {
	var failed []string
	var first error
	fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		var info fs.FileInfo
		if err == nil {
			info, err = d.Info()
		}
		if err == nil && info.Mode().Perm()&0o077 != 0 {
			if err = root.Chmod(p, info.Mode().Perm()&^0o077); err == nil {
				changed++
			}
		}
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			failed = append(failed, p)
			first = cmp.Or(first, err)
		}
		return nil
	})
	if len(failed) > 0 {
		return changed, fmt.Errorf("%d entries of the data directory keep modes other users can read, %s first (%w): "+
			"give them to the server's user, and start it again", len(failed), failed[0], first)
	}
	return changed, nil
}

func (s *Store) prepare() error {
	if !s.shared {
		if _, err := s.root.Stat(markerFile); err == nil {
			s.unclean = true
		}
		s.tmpRemoved = listFiles(s.root, tmpDir)
		if err := s.root.RemoveAll(tmpDir); err != nil {
			return fmt.Errorf("clearing tmp/: %w", err)
		}
		for _, d := range []string{tmpDir, accountsDir} {
			if err := s.root.MkdirAll(d, dirMode); err != nil {
				return err
			}
		}
		return writeFileSync(s.root, markerFile, nil)
	}
	for _, d := range []string{tmpDir, accountsDir} {
		if err := s.root.MkdirAll(d, dirMode); err != nil {
			return err
		}
	}
	// Folders of processes that died: their lock is free.
	entries, err := readDir(s.root, tmpDir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), ".lock")
		if !ok {
			continue
		}
		f, err := s.root.Open(path.Join(tmpDir, e.Name()))
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) == nil {
			s.unclean = true
			s.tmpRemoved = append(s.tmpRemoved, listFiles(s.root, path.Join(tmpDir, name))...)
			s.root.RemoveAll(path.Join(tmpDir, name))
			s.root.Remove(path.Join(tmpDir, e.Name()))
		}
		f.Close()
	}
	id := newKey()
	lock, err := s.root.OpenFile(path.Join(tmpDir, id+".lock"), os.O_CREATE|os.O_EXCL|os.O_RDONLY, fileMode)
	if err != nil {
		return err
	}
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		lock.Close()
		return err
	}
	s.tmpLock, s.tmp = lock, path.Join(tmpDir, id)
	return s.root.Mkdir(s.tmp, dirMode)
}

// Shared reports whether other processes may use the directory at the same time.
func (s *Store) Shared() bool { return s.shared }

// Unclean reports whether a process that used the directory before did not shut down
// cleanly.
func (s *Store) Unclean() bool { return s.unclean }

// Close marks a clean shutdown and releases the directory.
func (s *Store) Close() error {
	if s.readOnly {
		return s.root.Close()
	}
	var err error
	if s.shared {
		if s.tmpLock != nil {
			err = s.root.RemoveAll(s.tmp)
			s.root.Remove(s.tmp + ".lock")
			s.tmpLock.Close()
		}
	} else {
		err = s.root.Remove(markerFile)
		if err == nil {
			err = syncDir(s.root, ".")
		}
		if errors.Is(err, fs.ErrNotExist) {
			err = nil
		}
	}
	s.lock.Close()
	return errors.Join(err, s.root.Close())
}

// Ping checks that the data directory is still reachable.
func (s *Store) Ping(context.Context) error {
	if s.readOnly {
		_, err := s.root.Stat(".")
		return err
	}
	_, err := s.root.Stat(s.tmp)
	return err
}

// Blob keys (and the names of staged files) are the domain's hex ids.
var newKey, validKey = refstore.NewHexID, refstore.ValidHexID

func blobDir(account, key string) string {
	return path.Join(accountsDir, account, "blobs", key[:2])
}

func blobPath(ref refstore.BlobRef) (string, error) {
	if !refstore.ValidAccountID(ref.Account) || !validKey(ref.Key) {
		return "", fmt.Errorf("invalid blob reference %q/%q", ref.Account, ref.Key)
	}
	return path.Join(blobDir(ref.Account, ref.Key), ref.Key), nil
}

// Put writes r to a temporary file, fsyncs it, and renames it to a fresh key.
func (s *Store) Put(ctx context.Context, account string, r io.Reader) (string, int64, error) {
	if s.readOnly {
		return "", 0, errReadOnly
	}
	if !refstore.ValidAccountID(account) {
		return "", 0, fmt.Errorf("invalid account id %q", account)
	}
	tmp := path.Join(s.tmp, newKey())
	f, err := s.root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fileMode)
	if err != nil {
		return "", 0, storageError(err)
	}
	committed := false
	defer func() {
		if !committed {
			f.Close()
			s.root.Remove(tmp)
		}
	}()
	n, err := writeAll(f, r)
	if err != nil {
		return "", 0, storageError(err)
	}
	if err := f.Sync(); err != nil {
		return "", 0, storageError(err)
	}
	if err := f.Close(); err != nil {
		return "", 0, storageError(err)
	}
	key := newKey()
	dir := blobDir(account, key)
	if err := s.mkdirAllSync(dir); err != nil {
		return "", 0, storageError(err)
	}
	if err := s.root.Rename(tmp, path.Join(dir, key)); err != nil {
		return "", 0, storageError(err)
	}
	committed = true
	if err := syncDir(s.root, dir); err != nil {
		return "", 0, storageError(err)
	}
	return key, n, nil
}

// Open opens a blob. The *os.File it returns lets net/http use sendfile.
func (s *Store) Open(_ context.Context, ref refstore.BlobRef, _ int64) (io.ReadSeekCloser, error) {
	p, err := blobPath(ref)
	if err != nil {
		return nil, err
	}
	f, err := s.root.Open(p)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// Delete removes a blob. Readers that opened it keep reading the bytes.
func (s *Store) Delete(_ context.Context, ref refstore.BlobRef) error {
	if s.readOnly {
		return errReadOnly
	}
	p, err := blobPath(ref)
	if err != nil {
		return err
	}
	if err := s.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

// Walk calls fn for every blob file.
func (s *Store) Walk(ctx context.Context, fn func(ref refstore.BlobRef, mod time.Time) error) error {
	return s.List(ctx, func(b refstore.BlobInfo) error { return fn(b.Ref, b.Mod) })
}

var _ refstore.BlobLister = (*Store)(nil)

// List calls fn for every blob file with its size. Entries of the blob folders that cannot
// be blobs (other names, folders, links) are skipped: nothing the store would write, and
// nothing a sweep may take for a blob.
func (s *Store) List(ctx context.Context, fn func(refstore.BlobInfo) error) error {
	accounts, err := readDir(s.root, accountsDir)
	if err != nil {
		return err
	}
	for _, a := range accounts {
		if !a.IsDir() || !refstore.ValidAccountID(a.Name()) {
			continue
		}
		base := path.Join(accountsDir, a.Name(), "blobs")
		prefixes, err := readDir(s.root, base)
		if err != nil {
			return err
		}
		for _, p := range prefixes {
			if !p.IsDir() {
				continue
			}
			files, err := readDir(s.root, path.Join(base, p.Name()))
			if err != nil {
				return err
			}
			for _, f := range files {
				if err := ctx.Err(); err != nil {
					return err
				}
				if !f.Type().IsRegular() || !validKey(f.Name()) || f.Name()[:2] != p.Name() {
					continue
				}
				info, err := f.Info()
				if err != nil {
					continue
				}
				if err := fn(refstore.BlobInfo{Ref: refstore.BlobRef{Account: a.Name(), Key: f.Name()}, Size: info.Size(),
					Mod: info.ModTime()}); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// readDir lists a directory, treating a missing one as empty.
func readDir(root *os.Root, name string) ([]fs.DirEntry, error) {
	entries, err := fs.ReadDir(root.FS(), name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return entries, err
}

// mkdirAllSync creates the missing directories of p, fsyncing the parent of each one it
// creates so that the new entries survive a power loss.
func (s *Store) mkdirAllSync(p string) error {
	if _, err := s.root.Stat(p); err == nil {
		return nil
	}
	parent := path.Dir(p)
	if parent != "." {
		if err := s.mkdirAllSync(parent); err != nil {
			return err
		}
	}
	if err := s.root.Mkdir(p, dirMode); err != nil && !errors.Is(err, fs.ErrExist) {
		return err
	}
	return syncDir(s.root, parent)
}

func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

func writeFileSync(root *os.Root, name string, data []byte) error {
	f, err := root.OpenFile(name, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, fileMode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return syncDir(root, path.Dir(name))
}

// storageError turns "disk full" and "read-only filesystem" into the domain's 507 and
// leaves other errors as they are.
func storageError(err error) error {
	if errors.Is(err, syscall.ENOSPC) || errors.Is(err, syscall.EROFS) || errors.Is(err, syscall.EDQUOT) {
		return &refstore.Error{Code: refstore.CodeStorageFull, Message: "Insufficient storage.", Err: err}
	}
	return err
}

// stripedLocks serialises mirror changes to one segment folder without a lock per segment.
type stripedLocks [64]sync.Mutex

func (l *stripedLocks) of(segment int64) *sync.Mutex { return &l[uint64(segment)%uint64(len(l))] }

// countFiles counts the regular files below dir (0 when it does not exist).
func countFiles(root *os.Root, dir string) int { return len(listFiles(root, dir)) }

// listFiles lists the regular files below dir, lock files aside.
func listFiles(root *os.Root, dir string) []string {
	var files []string
	fs.WalkDir(root.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && !strings.HasSuffix(p, ".lock") {
			files = append(files, p)
		}
		return nil
	})
	return files
}
