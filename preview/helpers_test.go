package preview

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/sandbox"
)

// The tests use real files made here (images encoded by the standard library and
// x/image, a WebP, videos by ffmpeg, PDFs written by hand) and the real pdftoppm and
// ffmpeg in the real sandbox.

var testSandbox = sync.OnceValue(func() *sandbox.Runner {
	return sandbox.Detect(context.Background(), sandbox.Options{Tools: Tools})
})

func sandboxed(t *testing.T) *sandbox.Runner {
	t.Helper()
	r := testSandbox()
	for _, tool := range Tools {
		if err := r.Available(tool); err != nil {
			t.Fatalf("%s must run in the sandbox here (scripts/media-deps.sh installs it): %v", tool, err)
		}
	}
	return r
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// fileSource stores data in a file, as the filesystem blob store does, and opens it as
// an *os.File.
func fileSource(t testing.TB, data []byte, ct string) Source {
	t.Helper()
	p := filepath.Join(t.TempDir(), "blob")
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return Source{SHA256: sha(data), ContentType: ct, Size: int64(len(data)),
		Open: func(context.Context) (io.ReadSeekCloser, error) { return os.Open(p) }}
}

// streamSource opens data as a seekable stream that is not a file, as the S3 store does.
func streamSource(data []byte, ct string) Source {
	return Source{SHA256: sha(data), ContentType: ct, Size: int64(len(data)),
		Open: func(context.Context) (io.ReadSeekCloser, error) { return nopCloser{bytes.NewReader(data)}, nil }}
}

type nopCloser struct{ *bytes.Reader }

func (nopCloser) Close() error { return nil }

func codeOf(err error) refstore.Code {
	var e *refstore.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// quadrants is a w×h picture whose four quarters are red, green, blue and yellow
// (top-left, top-right, bottom-left, bottom-right).
func quadrants(w, h int) *image.NRGBA {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			m.Set(x, y, quadColor(x < w/2, y < h/2))
		}
	}
	return m
}

var (
	red    = color.NRGBA{255, 0, 0, 255}
	green  = color.NRGBA{0, 255, 0, 255}
	blue   = color.NRGBA{0, 0, 255, 255}
	yellow = color.NRGBA{255, 255, 0, 255}
)

func quadColor(left, top bool) color.NRGBA {
	switch {
	case left && top:
		return red
	case !left && top:
		return green
	case left:
		return blue
	}
	return yellow
}

// near reports whether c is within tol of want in every channel (JPEG is lossy).
func near(c color.Color, want color.NRGBA, tol int) bool {
	n := color.NRGBAModel.Convert(c).(color.NRGBA)
	d := func(a, b uint8) bool { return max(int(a)-int(b), int(b)-int(a)) <= tol }
	return d(n.R, want.R) && d(n.G, want.G) && d(n.B, want.B) && d(n.A, want.A)
}

func encodePNG(t testing.TB, m image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, m); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t testing.TB, m image.Image, q int) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, m, &jpeg.Options{Quality: q}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// decodePreview decodes a preview's bytes and checks its declared type and size.
func decodePreview(t *testing.T, p *Preview, wantType string, w, h int) image.Image {
	t.Helper()
	m, format, err := image.Decode(bytes.NewReader(p.Data))
	if err != nil {
		t.Fatalf("preview does not decode: %v", err)
	}
	if "image/"+format != p.ContentType || p.ContentType != wantType {
		t.Errorf("content type %s, format %s, want %s", p.ContentType, format, wantType)
	}
	if b := m.Bounds(); b.Dx() != w || b.Dy() != h || p.Width != w || p.Height != h {
		t.Errorf("size %dx%d (declared %dx%d), want %dx%d", b.Dx(), b.Dy(), p.Width, p.Height, w, h)
	}
	return m
}

// ffmpegMake runs ffmpeg on the host to make a test file (never on untrusted input).
func ffmpegMake(t testing.TB, out string, args ...string) []byte {
	t.Helper()
	p := filepath.Join(t.TempDir(), out)
	cmd := exec.Command("ffmpeg", append(append([]string{"-hide_banner", "-loglevel", "error", "-y"}, args...), p)...)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg %v: %v\n%s", args, err, b)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
