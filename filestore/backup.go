package filestore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"syscall"

	"golang.org/x/sys/unix"

	"github.com/refstore/refstore"
)

// CopyBlob puts a blob into another data directory at the same place: as a hard link
// when both are on one filesystem and copy is false (blobs are never changed in place, so
// sharing the file is safe), as an fsynced copy otherwise. fs.ErrNotExist when the blob
// is gone. The caller fsyncs the folders it returns.
//
// The data directory is reached only through its root, and only what refstore writes
// there is taken: a regular file of size bytes (the metadata's). A symbolic link (even
// its folder's: the root refuses a way out), a FIFO, a device, or a file of another size
// (a huge sparse one) is refused with an error naming the blob, so nothing outside the
// data directory is linked or read and nothing blocks or reads for ever.
func (s *Store) CopyBlob(ref refstore.BlobRef, size int64, dstDir string, copy bool) (dir string, err error) {
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
	folder, err := s.root.Open(path.Dir(p))
	if errors.Is(err, fs.ErrNotExist) {
		return "", err
	} else if err != nil {
		return "", fmt.Errorf("blob %s/%s: %w", ref.Account, ref.Key, err)
	}
	defer folder.Close()
	fd, name := int(folder.Fd()), path.Base(p)
	var st unix.Stat_t
	if err := unix.Fstatat(fd, name, &st, unix.AT_SYMLINK_NOFOLLOW); err != nil {
		return "", &os.PathError{Op: "lstat", Path: p, Err: err}
	}
	if err := checkBlobFile(ref, &st, size); err != nil {
		return "", err
	}
	if !copy {
		// linkat without AT_SYMLINK_FOLLOW links the name as it is: what was checked, unless
		// it was replaced meanwhile, which the check of the new name catches.
		err := unix.Linkat(fd, name, unix.AT_FDCWD, dst, 0)
		if err == nil {
			if err := sameInode(dst, &st); err != nil {
				os.Remove(dst)
				return "", fmt.Errorf("blob %s/%s: %w", ref.Account, ref.Key, err)
			}
			return dir, nil
		}
		if !errors.Is(err, syscall.EXDEV) && !errors.Is(err, syscall.EMLINK) && !errors.Is(err, syscall.EPERM) {
			return "", &os.LinkError{Op: "link", Old: p, New: dst, Err: err}
		}
	}
	return dir, copyBlobFile(ref, fd, name, &st, size, dst)
}

// copyBlobFile copies exactly size bytes of the checked file name of folder fd to dst,
// through dst.part.
func copyBlobFile(ref refstore.BlobRef, fd int, name string, st *unix.Stat_t, size int64, dst string) error {
	// Not following a link, and not waiting for a FIFO's writer should one have taken
	// the file's place since it was checked.
	infd, err := unix.Openat(fd, name, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: name, Err: err}
	}
	in := os.NewFile(uintptr(infd), name)
	defer in.Close()
	var now unix.Stat_t
	if err := unix.Fstat(infd, &now); err != nil {
		return err
	}
	if now.Dev != st.Dev || now.Ino != st.Ino {
		return fmt.Errorf("blob %s/%s changed while it was opened", ref.Account, ref.Key)
	}
	part := dst + ".part"
	out, err := os.OpenFile(part, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, fileMode)
	if err != nil {
		return err
	}
	// One byte more than the size, to notice a file that grew.
	n, err := io.Copy(out, io.LimitReader(in, size+1))
	if err == nil && n != size {
		err = fmt.Errorf("blob %s/%s: %d bytes read, the metadata says %d: run refstore fsck", ref.Account, ref.Key, n, size)
	}
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
	}
	return err
}

// checkBlobFile refuses what refstore never writes as a blob.
func checkBlobFile(ref refstore.BlobRef, st *unix.Stat_t, size int64) error {
	if kind := st.Mode & unix.S_IFMT; kind != unix.S_IFREG {
		return fmt.Errorf("blob %s/%s is %s, not a regular file: refstore writes none there (someone or something "+
			"else did); the backup reads nothing but regular files of the data directory", ref.Account, ref.Key, kindName(kind))
	}
	if st.Size != size {
		return fmt.Errorf("blob %s/%s holds %d bytes, the metadata says %d: run refstore fsck", ref.Account, ref.Key, st.Size, size)
	}
	return nil
}

func sameInode(p string, st *unix.Stat_t) error {
	var now unix.Stat_t
	if err := unix.Lstat(p, &now); err != nil {
		return err
	}
	if now.Dev != st.Dev || now.Ino != st.Ino {
		return errors.New("it changed while it was linked")
	}
	return nil
}

func kindName(kind uint32) string {
	switch kind {
	case unix.S_IFLNK:
		return "a symbolic link"
	case unix.S_IFIFO:
		return "a named pipe (FIFO)"
	case unix.S_IFDIR:
		return "a directory"
	case unix.S_IFCHR, unix.S_IFBLK:
		return "a device"
	case unix.S_IFSOCK:
		return "a socket"
	}
	return "not a regular file"
}
