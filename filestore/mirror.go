package filestore

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"
	"syscall"

	"github.com/refstore/refstore"
)

// segmentDir is assets/{documentId}/{segmentId%1000}/{segmentId} in the project's folder.
func segmentDir(account string, project, document, segment int64) string {
	return path.Join(projectDir(account, project), "assets", strconv.FormatInt(document, 10),
		strconv.FormatInt(segment%1000, 10), strconv.FormatInt(segment, 10))
}

func projectDir(account string, project int64) string {
	return path.Join(accountsDir, account, "projects", strconv.FormatInt(project, 10))
}

func mirrorPath(a *refstore.Asset) (string, error) {
	if !refstore.ValidAccountID(a.Account) {
		return "", fmt.Errorf("invalid account id %q", a.Account)
	}
	return path.Join(append([]string{segmentDir(a.Account, a.ProjectID, a.DocumentID, a.SegmentID)}, a.Elements()...)...), nil
}

// Place links the asset's blob at its path in the tree, atomically replacing what was
// there: the link is made under tmp/ and renamed over the target, so readers of the tree
// see the old file or the new one, never none.
func (s *Store) Place(_ context.Context, a *refstore.Asset) error {
	if s.readOnly {
		return errReadOnly
	}
	target, err := mirrorPath(a)
	if err != nil {
		return err
	}
	blob, err := blobPath(refstore.BlobRef{Account: a.Account, Key: a.BlobKey})
	if err != nil {
		return err
	}
	mu := s.locks.of(a.SegmentID)
	mu.Lock()
	defer mu.Unlock()
	return s.place(blob, target)
}

func (s *Store) place(blob, target string) error {
	tmp := path.Join(s.tmp, newKey())
	if err := s.root.Link(blob, tmp); err != nil {
		if !errors.Is(err, syscall.EMLINK) {
			return storageError(err)
		}
		// The blob has as many links as the filesystem allows: give this place a copy.
		if err := s.copyFile(blob, tmp); err != nil {
			return storageError(err)
		}
	}
	if err := s.makeParents(target); err != nil {
		s.root.Remove(tmp)
		return storageError(err)
	}
	err := s.root.Rename(tmp, target)
	if err != nil {
		if info, serr := s.root.Lstat(target); serr == nil && info.IsDir() {
			// A folder left where a file belongs (the metadata forbids both at once).
			if err = s.root.RemoveAll(target); err == nil {
				err = s.root.Rename(tmp, target)
			}
		}
	}
	if err != nil {
		s.root.Remove(tmp)
		return storageError(err)
	}
	// rename(2) does nothing, and succeeds, when tmp and target already link the same file.
	s.root.Remove(tmp)
	return nil
}

// makeParents creates the folders above target, removing a stale file that stands where
// a folder is needed.
func (s *Store) makeParents(target string) error {
	dir := path.Dir(target)
	err := s.root.MkdirAll(dir, dirMode)
	// ENOTDIR when a file stands above dir, EEXIST when it stands at dir itself.
	if err == nil || !(errors.Is(err, syscall.ENOTDIR) || errors.Is(err, fs.ErrExist)) {
		return err
	}
	for p := dir; p != "." && p != accountsDir; p = path.Dir(p) {
		if info, err := s.root.Lstat(p); err == nil && !info.IsDir() {
			if err := s.root.Remove(p); err != nil {
				return err
			}
			break
		}
	}
	return s.root.MkdirAll(dir, dirMode)
}

func (s *Store) copyFile(src, dst string) error {
	in, err := s.root.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := s.root.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, fileMode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}

// Remove unlinks the asset's file and the folders it leaves empty, up to the document's.
func (s *Store) Remove(_ context.Context, a *refstore.Asset) error {
	if s.readOnly {
		return errReadOnly
	}
	target, err := mirrorPath(a)
	if err != nil {
		return err
	}
	mu := s.locks.of(a.SegmentID)
	mu.Lock()
	defer mu.Unlock()
	if err := s.root.Remove(target); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	stop := path.Join(projectDir(a.Account, a.ProjectID), "assets", strconv.FormatInt(a.DocumentID, 10))
	s.pruneEmpty(path.Dir(target), stop)
	return nil
}

// pruneEmpty removes dir and its parents while they are empty, stopping at stop.
func (s *Store) pruneEmpty(dir, stop string) {
	for dir != stop && strings.HasPrefix(dir, stop+"/") {
		if err := s.root.Remove(dir); err != nil {
			return // not empty, or already gone
		}
		dir = path.Dir(dir)
	}
}

// RemoveFolder removes a whole account's, project's, document's or segment's folder.
func (s *Store) RemoveFolder(_ context.Context, f refstore.Folder) error {
	if s.readOnly {
		return errReadOnly
	}
	if !refstore.ValidAccountID(f.Account) {
		return fmt.Errorf("invalid account id %q", f.Account)
	}
	var dir string
	switch {
	case f.SegmentID > 0:
		dir = segmentDir(f.Account, f.ProjectID, f.DocumentID, f.SegmentID)
		mu := s.locks.of(f.SegmentID)
		mu.Lock()
		defer mu.Unlock()
	case f.DocumentID > 0:
		dir = path.Join(projectDir(f.Account, f.ProjectID), "assets", strconv.FormatInt(f.DocumentID, 10))
	case f.ProjectID > 0:
		dir = projectDir(f.Account, f.ProjectID)
	default:
		dir = path.Join(accountsDir, f.Account, "projects")
	}
	return s.root.RemoveAll(dir)
}
