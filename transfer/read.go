package transfer

import (
	"archive/zip"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/refstore/refstore/internal/jsontext"
)

// Bounds on what an import reads from an export, which may come from anyone: a zip of a
// few hundred KB can inflate to gigabytes, and the manifest was read whole before.
const (
	// DefaultMaxManifestBytes bounds the manifest: an asset takes about 600 bytes of it,
	// so 1 GiB holds some 1.5 million assets (ImportOptions.MaxManifestBytes raises it).
	DefaultMaxManifestBytes = 1 << 30
	// MaxManifestRatio bounds how far a zipped manifest may inflate: refstore's manifests
	// deflate about 10 to 1 (measured: 8.6 for 50,000 assets, 10.7 for a catalog of a
	// million segments); 1000 to 1 is a run of one byte, a zip bomb. Manifests under
	// ratioFloor are not judged.
	MaxManifestRatio = 100
	ratioFloor       = 1 << 20
	// maxManifestToken bounds one string or number of the manifest: names are at most
	// 255 bytes and paths 1024; catalog names have no set length, 1 MiB is plenty.
	maxManifestToken = 1 << 20
)

// manifestReader streams the manifest through the strict JSON checks into its values,
// one asset at a time, so that memory follows what the manifest holds, not its size.
type manifestReader struct {
	src *errReader
	vr  *jsontext.Reader
	dec *json.Decoder
	// maxAssets bounds the assets of a zip's manifest by the files the zip holds (every
	// asset needs its own); -1 for a directory.
	maxAssets int
	assets    int
}

func decodeManifest(r io.Reader, maxAssets int) (*Manifest, error) {
	src := &errReader{r: r}
	vr := jsontext.NewReader(src, jsontext.Options{MaxTokenBytes: maxManifestToken})
	mr := &manifestReader{src: src, vr: vr, dec: json.NewDecoder(vr), maxAssets: maxAssets}
	mr.dec.DisallowUnknownFields()
	m, err := mr.manifest()
	if err == nil {
		err = vr.Finish()
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", ManifestName, err)
	}
	return m, nil
}

// manifest reads the top-level object. Format and version must come before the accounts
// (refstore writes them first), so that a manifest of another version is named as such
// rather than failing on a field this version does not know.
func (mr *manifestReader) manifest() (*Manifest, error) {
	m := &Manifest{}
	var format, version bool
	err := mr.object("", func(key string) error {
		switch key {
		case "format":
			if err := mr.value(key, &m.Format); err != nil {
				return err
			}
			if m.Format != Format {
				return fmt.Errorf("format %q, want %q: not a refstore export", m.Format, Format)
			}
			format = true
		case "version":
			if err := mr.value(key, &m.Version); err != nil {
				return err
			}
			if m.Version != Version {
				return fmt.Errorf("version %d, this refstore reads version %d", m.Version, Version)
			}
			version = true
		case "exported":
			return mr.value(key, &m.Exported)
		case "account":
			return mr.value(key, &m.Account)
		case "project":
			return mr.value(key, &m.Project)
		case "accounts":
			if !format || !version {
				return errors.New(`"accounts" comes before "format" and "version": not a manifest refstore wrote`)
			}
			m.Accounts = []Account{}
			return mr.array(key, func(i int) error {
				a, err := mr.account(fmt.Sprintf("accounts[%d]", i))
				m.Accounts = append(m.Accounts, a)
				return err
			})
		default:
			return fmt.Errorf("unknown field %q", key)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	switch {
	case !format:
		return nil, errors.New("no format: not a refstore export")
	case !version:
		return nil, errors.New("no version: not a manifest refstore wrote")
	}
	return m, nil
}

func (mr *manifestReader) account(at string) (Account, error) {
	var a Account
	err := mr.object(at, func(key string) error {
		switch key {
		case "catalog":
			return mr.value(at+".catalog", &a.Catalog)
		case "keys":
			return mr.value(at+".keys", &a.Keys)
		case "assets":
			a.Assets = []Asset{}
			return mr.array(at+".assets", func(i int) error {
				if mr.assets++; mr.maxAssets >= 0 && mr.assets > mr.maxAssets {
					return fmt.Errorf("%s.assets: the manifest lists more assets than the zip holds files (%d)", at, mr.maxAssets)
				}
				var asset Asset
				err := mr.value(fmt.Sprintf("%s.assets[%d]", at, i), &asset)
				a.Assets = append(a.Assets, asset)
				return err
			})
		default:
			return fmt.Errorf("%s: unknown field %q", at, key)
		}
	})
	return a, err
}

// object reads an object, handing each key to member, which reads its value.
func (mr *manifestReader) object(at string, member func(key string) error) error {
	if err := mr.delim(at, '{', "an object"); err != nil {
		return err
	}
	for mr.dec.More() {
		tok, err := mr.dec.Token()
		if err != nil {
			return mr.fail(at, err)
		}
		key, _ := tok.(string) // More and the scanner leave only keys here
		if err := member(key); err != nil {
			return err
		}
	}
	_, err := mr.dec.Token() // the closing brace
	return mr.fail(at, err)
}

// array reads an array, handing each element's index to elem, which reads it.
func (mr *manifestReader) array(at string, elem func(i int) error) error {
	if err := mr.delim(at, '[', "an array"); err != nil {
		return err
	}
	for i := 0; mr.dec.More(); i++ {
		if err := elem(i); err != nil {
			return err
		}
	}
	_, err := mr.dec.Token()
	return mr.fail(at, err)
}

func (mr *manifestReader) delim(at string, want json.Delim, what string) error {
	tok, err := mr.dec.Token()
	if err != nil {
		return mr.fail(at, err)
	}
	if d, ok := tok.(json.Delim); !ok || d != want {
		return mr.fail(at, &jsontext.Error{Kind: jsontext.KindType, Reason: "must be " + what})
	}
	return nil
}

// value decodes the next value into v.
func (mr *manifestReader) value(at string, v any) error {
	return mr.fail(at, mr.dec.Decode(v))
}

// fail names the place of an error: the fault of the text where the scanner found one
// (it names its own place), else at and the decoder's path below it.
func (mr *manifestReader) fail(at string, err error) error {
	if err == nil {
		return nil
	}
	if io.ErrUnexpectedEOF == err || err == io.EOF {
		err = &jsontext.Error{Kind: jsontext.KindSyntax, Reason: "the manifest ends in the middle of a value"}
	}
	err = mr.vr.Explain(err)
	var e *jsontext.Error
	switch {
	case mr.src.err != nil && errors.Is(err, mr.src.err), mr.vr.Err() != nil:
		// Reading stopped (it says why), or the scanner named the place itself.
		return err
	case !errors.As(err, &e):
		// A value's own check, a date that does not parse for instance.
		if at == "" {
			return err
		}
		return fmt.Errorf("%s: %w", at, err)
	}
	path := at
	if e.Path != "" {
		if path != "" {
			path += "."
		}
		path += e.Path
	}
	if path == "" {
		return err
	}
	return fmt.Errorf("%s: %s", path, e.Reason)
}

// errReader remembers the error its reader returned, to tell a failed read from a fault
// of the text.
type errReader struct {
	r   io.Reader
	err error
}

func (e *errReader) Read(p []byte) (int, error) {
	n, err := e.r.Read(p)
	if err != nil && err != io.EOF {
		e.err = err
	}
	return n, err
}

// countingReader fails once more than max bytes come through: a directory's manifest
// that grows while it is read, or a zip entry that inflates past its declared size.
type countingReader struct {
	r    io.Reader
	n    int64
	max  int64
	fail func() error
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n > c.max {
		return 0, c.fail()
	}
	// One byte past the bound is read, to tell "exactly max" from "more".
	if left := c.max + 1 - c.n; int64(len(p)) > left {
		p = p[:left]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	if c.n > c.max || errors.Is(err, zip.ErrFormat) {
		// archive/zip's reader of an entry fails with ErrFormat exactly when the entry
		// inflates to other than its declared size.
		return n, c.fail()
	}
	return n, err
}
