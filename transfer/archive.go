package transfer

import (
	"archive/zip"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// An export is created for its owner only, as the data directory is: it holds every
// account's files and the API keys' hashes, and is often written where other users can
// look (a home folder, /tmp, a shared disk). Handing it over is a deliberate step (chmod,
// copy, upload); a zip streamed to stdout gets whatever the shell's redirection makes.
// A directory given to ExportDir that exists already keeps its mode.
const (
	exportDirMode  = 0o700
	exportFileMode = 0o600
)

// sink is where an export goes.
type sink interface {
	// create starts the file at name ("/"-separated, relative to the export's root).
	create(name string, modified time.Time) (io.WriteCloser, error)
	// link makes name hold the bytes of the earlier file first without copying them, and
	// reports whether it could.
	link(first, name string) bool
	// finish writes the manifest, after every file, and completes the export.
	finish(manifest []byte) error
	// abort removes what a failed export wrote, where it can.
	abort()
}

// ExportDir writes an export into dir, which must be missing or empty. The files are
// written and fsynced first, the manifest last (to a temporary name, renamed into place
// once every file and folder is durable): a directory holding a manifest holds every
// file it names, whatever instant a crash stopped the export at. Files with the same
// bytes within an account are hard links to one another where the filesystem allows.
func ExportDir(ctx context.Context, src Source, opts ExportOptions, dir string) (ExportStats, error) {
	s, err := newDirSink(dir)
	if err != nil {
		return ExportStats{}, err
	}
	defer s.root.Close()
	return export(ctx, src, opts, s)
}

// ExportZip streams an export to w as a zip: the assets' files stored uncompressed (media
// is compressed already), the manifest last. Nothing is buffered beyond a file's copy
// buffer, so w may be a pipe; on failure w holds an incomplete zip.
func ExportZip(ctx context.Context, src Source, opts ExportOptions, w io.Writer) (ExportStats, error) {
	return export(ctx, src, opts, &zipSink{zw: zip.NewWriter(w)})
}

// ExportZipFile writes an export as a zip file at name: to a temporary file next to it,
// renamed into place once complete and durable.
func ExportZipFile(ctx context.Context, src Source, opts ExportOptions, name string) (ExportStats, error) {
	tmp := filepath.Join(filepath.Dir(name), "."+filepath.Base(name)+"."+randomSuffix()+".tmp")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, exportFileMode)
	if err != nil {
		return ExportStats{}, err
	}
	done := false
	defer func() {
		if !done {
			f.Close()
			os.Remove(tmp)
		}
	}()
	stats, err := ExportZip(ctx, src, opts, f)
	if err != nil {
		return stats, err
	}
	if err := f.Sync(); err != nil {
		return stats, err
	}
	if err := f.Close(); err != nil {
		return stats, err
	}
	if err := os.Rename(tmp, name); err != nil {
		return stats, err
	}
	done = true
	return stats, syncDir(filepath.Dir(name))
}

func randomSuffix() string {
	var b [6]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// dirSink writes an export below one directory, reached only through an os.Root.
type dirSink struct {
	root *os.Root
	dirs map[string]bool // folders that received entries, to fsync before the manifest
}

const manifestTmp = "." + ManifestName + ".tmp"

func newDirSink(dir string) (*dirSink, error) {
	if err := os.MkdirAll(dir, exportDirMode); err != nil {
		return nil, err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	if len(entries) > 0 {
		return nil, fmt.Errorf("%s is not empty: export into a new or empty directory", dir)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, err
	}
	return &dirSink{root: root, dirs: map[string]bool{".": true}}, nil
}

func (s *dirSink) mkdirs(name string) error {
	dir := path.Dir(name)
	if s.dirs[dir] {
		return nil
	}
	if err := s.root.MkdirAll(dir, exportDirMode); err != nil {
		return err
	}
	// Every folder from the root down to dir may be new: each gets fsynced.
	for d := dir; !s.dirs[d]; d = path.Dir(d) {
		s.dirs[d] = true
	}
	return nil
}

func (s *dirSink) create(name string, _ time.Time) (io.WriteCloser, error) {
	if err := s.mkdirs(name); err != nil {
		return nil, err
	}
	f, err := s.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, exportFileMode)
	if err != nil {
		return nil, err
	}
	return syncCloser{f}, nil
}

// syncCloser fsyncs a file as it closes it.
type syncCloser struct{ *os.File }

func (f syncCloser) Close() error {
	err := f.Sync()
	return errors.Join(err, f.File.Close())
}

func (s *dirSink) link(first, name string) bool {
	if s.mkdirs(name) != nil {
		return false
	}
	return s.root.Link(first, name) == nil
}

func (s *dirSink) finish(manifest []byte) error {
	// Deepest folders first, so that each parent is synced after its new children.
	dirs := make([]string, 0, len(s.dirs))
	for d := range s.dirs {
		dirs = append(dirs, d)
	}
	slices.SortFunc(dirs, func(a, b string) int { return strings.Count(b, "/") - strings.Count(a, "/") })
	for _, d := range dirs {
		if d == "." {
			continue
		}
		if err := syncRootDir(s.root, d); err != nil {
			return err
		}
	}
	f, err := s.root.OpenFile(manifestTmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, exportFileMode)
	if err != nil {
		return err
	}
	if _, err := f.Write(manifest); err != nil {
		f.Close()
		return err
	}
	if err := (syncCloser{f}).Close(); err != nil {
		return err
	}
	if err := s.root.Rename(manifestTmp, ManifestName); err != nil {
		return err
	}
	return syncRootDir(s.root, ".")
}

func syncRootDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// abort removes what the export wrote: the directory was empty when it began.
func (s *dirSink) abort() {
	s.root.Remove(manifestTmp)
	s.root.RemoveAll("accounts")
}

// zipSink streams an export as a zip.
type zipSink struct {
	zw *zip.Writer
}

func (s *zipSink) create(name string, modified time.Time) (io.WriteCloser, error) {
	w, err := s.zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Store, Modified: modified.UTC()})
	if err != nil {
		return nil, err
	}
	return nopCloser{w}, nil
}

type nopCloser struct{ io.Writer }

func (nopCloser) Close() error { return nil }

func (s *zipSink) link(string, string) bool { return false }

func (s *zipSink) finish(manifest []byte) error {
	w, err := s.zw.CreateHeader(&zip.FileHeader{Name: ManifestName, Method: zip.Deflate, Modified: time.Now().UTC()})
	if err != nil {
		return err
	}
	if _, err := w.Write(manifest); err != nil {
		return err
	}
	return s.zw.Close()
}

func (s *zipSink) abort() {}

// MaxZipEntries bounds the entries of a zip an import opens: one per asset and the
// manifest. Reading a zip's central directory takes a few hundred bytes of memory per
// entry before anything can be checked, and that much is bounded by the zip's size only;
// an export of more assets is imported from a directory.
const MaxZipEntries = 1 << 22

// maxZipEntries is MaxZipEntries, lowered by tests.
var maxZipEntries = MaxZipEntries

// Archive is an export opened for import: a directory, or a zip file. Nothing of it is
// extracted: an import opens only the manifest and the files the manifest names, each
// at the one path its asset's address gives (FilePath), so no entry name can place a
// file anywhere (zip slip), and only regular files are read: a symbolic link, a FIFO or
// a device in a directory export, and an entry that is not a plain file in a zip, are
// refused.
type Archive struct {
	name  string
	root  *os.Root // a directory
	zr    *zip.ReadCloser
	files map[string]*zip.File
	twice map[string]bool // names a zip holds more than once
}

// OpenArchive opens the export at name: a directory, or a zip file (a zip is read from its
// end, so a streamed export must first be saved to a file).
func OpenArchive(name string) (*Archive, error) {
	info, err := os.Stat(name)
	if err != nil {
		return nil, err
	}
	a := &Archive{name: name}
	switch {
	case info.IsDir():
		if a.root, err = os.OpenRoot(name); err != nil {
			return nil, err
		}
		return a, nil
	case !info.Mode().IsRegular():
		return nil, fmt.Errorf("%s is neither a directory nor a zip file: it is %s", name, modeName(info.Mode()))
	}
	if a.zr, err = zip.OpenReader(name); err != nil {
		return nil, fmt.Errorf("%s is neither a directory nor a zip file: %w", name, err)
	}
	if n := len(a.zr.File); n > maxZipEntries {
		a.zr.Close()
		return nil, fmt.Errorf("%s holds %d entries, more than the %d an import reads from a zip: "+
			"export to a directory (refstore export --out) and import that", name, n, maxZipEntries)
	}
	a.files, a.twice = map[string]*zip.File{}, map[string]bool{}
	for _, f := range a.zr.File {
		if _, ok := a.files[f.Name]; ok {
			a.twice[f.Name] = true
		}
		a.files[f.Name] = f
	}
	return a, nil
}

// Close releases the archive.
func (a *Archive) Close() error {
	if a.root != nil {
		return a.root.Close()
	}
	return a.zr.Close()
}

// stat returns the size of the regular file at name.
func (a *Archive) stat(name string) (int64, error) {
	if a.root != nil {
		info, err := a.root.Lstat(name)
		if err != nil {
			return 0, err
		}
		if !info.Mode().IsRegular() {
			return 0, fmt.Errorf("%s is %s, not a regular file", name, modeName(info.Mode()))
		}
		return info.Size(), nil
	}
	f, err := a.zipFile(name)
	if err != nil {
		return 0, err
	}
	return int64(f.UncompressedSize64), nil
}

func (a *Archive) zipFile(name string) (*zip.File, error) {
	if a.twice[name] {
		return nil, fmt.Errorf("the zip holds %s more than once", name)
	}
	f, ok := a.files[name]
	if !ok || f.FileInfo().IsDir() {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	if !f.Mode().IsRegular() {
		return nil, fmt.Errorf("the zip holds %s as %s, not a regular file", name, modeName(f.Mode()))
	}
	return f, nil
}

// open opens the file at name for reading. A zip entry's reader fails with zip.ErrFormat
// as soon as it inflates past its declared size (or ends short of it), and with
// zip.ErrChecksum on a wrong CRC-32.
func (a *Archive) open(name string) (io.ReadCloser, error) {
	if a.root != nil {
		f, _, err := openRegular(a.root, name)
		return f, err
	}
	f, err := a.zipFile(name)
	if err != nil {
		return nil, err
	}
	return f.Open()
}

// openRegular opens a regular file below root for reading, and never anything else: the
// name must not be a symbolic link (Lstat), and what was opened must be the file that was
// looked at, a regular one. The open does not block: a FIFO put in the file's place
// between the two looks is opened without waiting for a writer, and refused.
func openRegular(root *os.Root, name string) (*os.File, fs.FileInfo, error) {
	before, err := root.Lstat(name)
	if err != nil {
		return nil, nil, err
	}
	if !before.Mode().IsRegular() {
		return nil, nil, fmt.Errorf("%s is %s, not a regular file", name, modeName(before.Mode()))
	}
	f, err := root.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, nil, err
	}
	info, err := f.Stat()
	if err == nil && (!info.Mode().IsRegular() || !os.SameFile(before, info)) {
		err = fmt.Errorf("%s changed while it was opened: it is not the regular file it was", name)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, info, nil
}

// openManifest opens the manifest, bounded: refused when it declares more than limit bytes
// or, in a zip, inflates more than MaxManifestRatio to 1, and cut off (with an error)
// past its declared size.
func (a *Archive) openManifest(limit int64) (io.ReadCloser, error) {
	if a.root != nil {
		f, info, err := openRegular(a.root, ManifestName)
		if err != nil {
			return nil, err
		}
		if info.Size() > limit {
			f.Close()
			return nil, fmt.Errorf("%s holds %d bytes, more than the %d bytes an import reads (ImportOptions.MaxManifestBytes)",
				ManifestName, info.Size(), limit)
		}
		return readCloser{&countingReader{r: f, max: limit, fail: func() error {
			return fmt.Errorf("it grew past %d bytes while it was read", limit)
		}}, f}, nil
	}
	f, err := a.zipFile(ManifestName)
	if err != nil {
		return nil, err
	}
	size, packed := f.UncompressedSize64, f.CompressedSize64
	switch {
	case size > uint64(limit):
		return nil, fmt.Errorf("%s inflates to %d bytes, more than the %d bytes an import reads (ImportOptions.MaxManifestBytes)",
			ManifestName, size, limit)
	case size > ratioFloor && size/max(packed, 1) > MaxManifestRatio:
		return nil, fmt.Errorf("%s inflates from %d to %d bytes, %d to 1: manifests deflate about 10 to 1, "+
			"more than %d to 1 is refused as a zip bomb", ManifestName, packed, size, size/max(packed, 1), MaxManifestRatio)
	}
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	// archive/zip stops there too (zip.ErrFormat); this says why.
	return readCloser{&countingReader{r: r, max: int64(size), fail: func() error {
		return fmt.Errorf("it does not inflate to the %d bytes the zip declares for it", size)
	}}, r}, nil
}

// fileEntries counts the names of a zip's entries that could hold an asset's file: not
// directories, nor the manifest. Every asset needs a file of its own, so a manifest that
// lists more assets is refused before they are all decoded. -1 for a directory.
func (a *Archive) fileEntries() int {
	if a.root != nil {
		return -1
	}
	n := 0
	for name, f := range a.files {
		if !f.FileInfo().IsDir() && name != ManifestName {
			n++
		}
	}
	return n
}

type readCloser struct {
	io.Reader
	io.Closer
}

// modeName words a file's type for an error.
func modeName(m fs.FileMode) string {
	switch {
	case m&fs.ModeSymlink != 0:
		return "a symbolic link"
	case m.IsDir():
		return "a directory"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "not a regular file"
}
