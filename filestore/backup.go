package filestore

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"github.com/refstore/refstore"
)

// CopyBlob puts a blob into another data directory at the same place: as a hard link
// when both are on one filesystem and copy is false (blobs are never changed in place, so
// sharing the file is safe), as an fsynced copy otherwise. fs.ErrNotExist when the blob
// is gone. The caller fsyncs the folders it returns.
func (s *Store) CopyBlob(ref refstore.BlobRef, dstDir string, copy bool) (dir string, err error) {
	p, err := blobPath(ref)
	if err != nil {
		return "", err
	}
	dst := filepath.Join(dstDir, filepath.FromSlash(p))
	dir = filepath.Dir(dst)
	if err := os.MkdirAll(dir, dirMode); err != nil {
		return "", err
	}
	if _, err := os.Lstat(dst); err == nil {
		return dir, nil // copied before
	}
	if !copy {
		err := os.Link(filepath.Join(s.dir, filepath.FromSlash(p)), dst)
		if err == nil || errors.Is(err, fs.ErrNotExist) {
			return dir, err
		}
		if !errors.Is(err, syscall.EXDEV) && !errors.Is(err, syscall.EMLINK) && !errors.Is(err, syscall.EPERM) {
			return "", err
		}
	}
	in, err := s.root.Open(p)
	if err != nil {
		return "", err
	}
	defer in.Close()
	part := dst + ".part"
	out, err := os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, fileMode)
	if err != nil {
		return "", err
	}
	_, err = io.Copy(out, in)
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(part, dst)
	}
	if err != nil {
		os.Remove(part)
		return "", err
	}
	return dir, nil
}
