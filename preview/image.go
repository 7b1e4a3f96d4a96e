package preview

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"
	"golang.org/x/image/webp"

	"github.com/refstore/refstore"
)

// decoders are the formats decoded in process, by the name image.DecodeConfig reports.
// TIFF is decoded from the unbuffered reader: it needs io.ReaderAt to avoid reading the
// whole file into memory, which an *os.File provides.
var decoders = map[string]struct {
	config func(io.Reader) (image.Config, error)
	decode func(io.Reader) (image.Image, error)
	raw    bool
}{
	"jpeg": {jpeg.DecodeConfig, jpeg.Decode, false},
	"png":  {png.DecodeConfig, png.Decode, false},
	"gif":  {gif.DecodeConfig, gif.Decode, false}, // the first frame only
	"webp": {webp.DecodeConfig, webp.Decode, false},
	"bmp":  {bmp.DecodeConfig, bmp.Decode, false},
	"tiff": {tiff.DecodeConfig, tiff.Decode, true},
}

// MaxAspect bounds how tall a preview is: at most MaxAspect times its width. A long
// screenshot becomes a narrower preview instead of a strip of tens of thousands of rows.
const MaxAspect = 4

// imageLimits are the decoding limits of Config.
type imageLimits struct {
	maxPixels      int64
	maxDecodeBytes int64
	quality        int
}

// sniffFormat names the format of the bytes from their signature, without decoding.
func sniffFormat(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("\xff\xd8\xff")):
		return "jpeg"
	case bytes.HasPrefix(head, []byte("\x89PNG\r\n\x1a\n")):
		return "png"
	case bytes.HasPrefix(head, []byte("GIF87a")), bytes.HasPrefix(head, []byte("GIF89a")):
		return "gif"
	case len(head) >= 12 && bytes.HasPrefix(head, []byte("RIFF")) && string(head[8:12]) == "WEBP":
		return "webp"
	case bytes.HasPrefix(head, []byte("BM")):
		return "bmp"
	case bytes.HasPrefix(head, []byte("II*\x00")), bytes.HasPrefix(head, []byte("MM\x00*")):
		return "tiff"
	}
	return ""
}

// animatedWebP reports the animation flag of a WebP's extended header (VP8X).
func animatedWebP(head []byte) bool {
	return len(head) >= 21 && string(head[:4]) == "RIFF" && string(head[8:16]) == "WEBPVP8X" && head[20]&0x02 != 0
}

// imagePreview makes the preview of an image read from r: it checks the declared size
// before decoding anything, decodes, scales to width (never up), applies the EXIF
// orientation, and encodes.
func imagePreview(r io.ReadSeeker, width int, lim imageLimits) (*Preview, error) {
	br := bufio.NewReaderSize(r, 64<<10)
	head, _ := br.Peek(32)
	format := sniffFormat(head)
	if format == "" {
		return nil, refstore.Errorf(refstore.CodeMediaUnreadable, "The file is not a JPEG, PNG, GIF, WebP, BMP or TIFF image.")
	}
	if animatedWebP(head) {
		return nil, refstore.Errorf(refstore.CodeUnsupportedMedia, "Animated WebP images have no preview: x/image decodes still WebP only.")
	}
	dec := decoders[format]
	var cfgSrc io.Reader = br
	if dec.raw {
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, refstore.Internal(err)
		}
		cfgSrc = r
	}
	cfg, err := dec.config(cfgSrc)
	if err != nil {
		return nil, unreadable(format, err)
	}
	if err := checkSize(cfg, format, lim); err != nil {
		return nil, err
	}
	orient := 1
	switch format {
	case "jpeg":
		if _, err := r.Seek(0, io.SeekStart); err != nil {
			return nil, refstore.Internal(err)
		}
		orient = jpegOrientation(bufio.NewReaderSize(r, 16<<10))
	case "tiff":
		orient = tiffOrientation(readerAt(r))
	}
	if _, err := r.Seek(0, io.SeekStart); err != nil {
		return nil, refstore.Internal(err)
	}
	var src io.Reader = bufio.NewReaderSize(r, 64<<10)
	if dec.raw {
		src = r
	}
	img, err := dec.decode(src)
	if err != nil {
		return nil, unreadable(format, err)
	}
	return encodePreview(img, orient, width, lim.quality)
}

// encodePreview scales img (stored orientation orient) to fit width and MaxAspect×width,
// turns it upright and encodes it: PNG when any pixel is not opaque, JPEG otherwise.
func encodePreview(img image.Image, orient, width, quality int) (*Preview, error) {
	b := img.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if sw < 1 || sh < 1 {
		return nil, refstore.Errorf(refstore.CodeMediaUnreadable, "The image is empty.")
	}
	swap := orient >= 5 && orient <= 8
	dw, dh := sw, sh // displayed size
	if swap {
		dw, dh = sh, sw
	}
	tw, th := fitSize(dw, dh, width)
	if swap {
		tw, th = th, tw // the size to scale to, in stored orientation
	}
	opaque := isOpaque(img)
	scaled := scale(img, tw, th)
	out := orientImage(scaled, orient)

	var buf bytes.Buffer
	ct := "image/jpeg"
	var err error
	if opaque {
		err = jpeg.Encode(&buf, out, &jpeg.Options{Quality: quality})
	} else {
		ct = "image/png"
		err = (&png.Encoder{CompressionLevel: png.DefaultCompression}).Encode(&buf, out)
	}
	if err != nil {
		return nil, refstore.Internal(fmt.Errorf("preview: encoding: %w", err))
	}
	ob := out.Bounds()
	return &Preview{Data: buf.Bytes(), ContentType: ct, Width: ob.Dx(), Height: ob.Dy()}, nil
}

// fitSize is the preview size of a w×h picture: width at most maxW and never more than
// w (no upscaling), height at most MaxAspect×maxW, the aspect ratio kept, at least 1×1.
func fitSize(w, h, maxW int) (int, int) {
	tw := min(w, maxW)
	th := roundDiv(int64(h)*int64(tw), int64(w))
	if maxH := MaxAspect * maxW; th > maxH && h > maxH {
		th = maxH
		tw = roundDiv(int64(w)*int64(th), int64(h))
	}
	return max(tw, 1), max(th, 1)
}

func roundDiv(a, b int64) int { return int((2*a + b) / (2 * b)) }

// checkSize refuses an image whose declared size is over the limits, before any pixel is
// decoded: a 100 000 × 100 000 PNG is a few kilobytes on disk and 40 GB in memory.
func checkSize(cfg image.Config, format string, lim imageLimits) error {
	px := int64(cfg.Width) * int64(cfg.Height)
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return refstore.Errorf(refstore.CodeMediaUnreadable, "The %s image declares an empty size (%d×%d).", format, cfg.Width, cfg.Height)
	}
	if px > lim.maxPixels {
		return refstore.Errorf(refstore.CodeImageTooLarge,
			"The image is %d×%d pixels (%.1f megapixels); previews are made of images up to %.1f megapixels.",
			cfg.Width, cfg.Height, float64(px)/1e6, float64(lim.maxPixels)/1e6)
	}
	if need := px * decodeCost(cfg.ColorModel); need > lim.maxDecodeBytes {
		return refstore.Errorf(refstore.CodeImageTooLarge,
			"The image is %d×%d pixels and would need %d MB to decode; the limit is %d MB.",
			cfg.Width, cfg.Height, need>>20, lim.maxDecodeBytes>>20)
	}
	return nil
}

// decodeCost is the bytes per pixel the decoded image takes, plus the 8-bit RGBA copy
// that scale makes of the pixel types it has no fast path for.
func decodeCost(m color.Model) int64 {
	switch m {
	case color.YCbCrModel: // JPEG: 4:2:0 needs 1.5, 4:4:4 needs 3
		return 3
	case color.GrayModel:
		return 1
	case color.RGBAModel, color.NRGBAModel:
		return 4
	case color.Gray16Model:
		return 2 + 4
	case color.CMYKModel, color.NYCbCrAModel:
		return 4 + 4
	case color.RGBA64Model, color.NRGBA64Model:
		return 8 + 4
	}
	if _, ok := m.(color.Palette); ok {
		return 1 + 4
	}
	return 8 + 4
}

// isOpaque reports whether every pixel is opaque. The standard image types answer
// without a scan where they can (YCbCr, Gray) and scan otherwise.
func isOpaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}

// unreadable reports a decoder's failure. The decoders' messages name what is wrong
// with the bytes ("png: invalid format: not enough pixel data") and nothing of the host.
func unreadable(format string, err error) error {
	if errors.Is(err, io.EOF) {
		err = io.ErrUnexpectedEOF
	}
	return &refstore.Error{Code: refstore.CodeMediaUnreadable,
		Message: fmt.Sprintf("The %s image cannot be decoded: %v.", format, err), Err: err}
}

// readerAt reads at offsets by seeking: TIFF's orientation tag lives wherever IFD0 is.
func readerAt(r io.ReadSeeker) io.ReaderAt {
	if ra, ok := r.(io.ReaderAt); ok {
		return ra
	}
	return seekReaderAt{r}
}

type seekReaderAt struct{ r io.ReadSeeker }

func (s seekReaderAt) ReadAt(p []byte, off int64) (int, error) {
	if _, err := s.r.Seek(off, io.SeekStart); err != nil {
		return 0, err
	}
	return io.ReadFull(s.r, p)
}
