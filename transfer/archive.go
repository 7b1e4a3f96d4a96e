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
	"time"
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
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
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
	if err := os.MkdirAll(dir, 0o755); err != nil {
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
	if err := s.root.MkdirAll(dir, 0o755); err != nil {
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
	f, err := s.root.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
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
	f, err := s.root.OpenFile(manifestTmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
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

// Archive is an export opened for import: a directory, or a zip file.
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
	if info.IsDir() {
		if a.root, err = os.OpenRoot(name); err != nil {
			return nil, err
		}
		return a, nil
	}
	if a.zr, err = zip.OpenReader(name); err != nil {
		return nil, fmt.Errorf("%s is neither a directory nor a zip file: %w", name, err)
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
		info, err := a.root.Stat(name)
		if err != nil {
			return 0, err
		}
		if !info.Mode().IsRegular() {
			return 0, fmt.Errorf("%s is not a regular file", name)
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
	return f, nil
}

// open opens the file at name for reading.
func (a *Archive) open(name string) (io.ReadCloser, error) {
	if a.root != nil {
		return a.root.Open(name)
	}
	f, err := a.zipFile(name)
	if err != nil {
		return nil, err
	}
	return f.Open()
}
