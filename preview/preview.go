// Package preview makes small images of stored assets: a scaled copy of an image, the
// rendered page of a PDF, a poster frame of a video. Images are decoded in process with
// the standard library and golang.org/x/image; PDF pages and video frames come from
// poppler's pdftoppm and ffmpeg, run through internal/sandbox.
//
// A Generator bounds the work: a pool of Workers slots (one decode or one tool process
// each), and a single flight per Key, so that a page of 200 thumbnails starts at most
// Workers generations and 200 requests for one preview start one. Previews are small
// (at most 1280 pixels wide) and returned as bytes; storing and serving them is the
// caller's business, keyed by Key.
package preview

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/refstore/refstore"
)

// Kind is what a preview is made from, decided by the asset's content type.
type Kind string

const (
	KindImage Kind = "image"
	KindPDF   Kind = "pdf"
	KindVideo Kind = "video"
)

// imageTypes are the image content types decoded in process. Others (SVG, HEIC, AVIF,
// ICO, PSD…) have no decoder here and are unsupported.
var imageTypes = map[string]bool{
	"image/jpeg": true, "image/pjpeg": true, "image/png": true, "image/gif": true, "image/webp": true,
	"image/bmp": true, "image/x-bmp": true, "image/x-ms-bmp": true, "image/tiff": true,
}

// KindOf decides the kind from an asset's content type (parameters ignored):
// CodeUnsupportedMedia for a type no preview is made of.
func KindOf(contentType string) (Kind, error) {
	ct, _, _ := strings.Cut(contentType, ";")
	ct = strings.ToLower(strings.TrimSpace(ct))
	switch {
	case imageTypes[ct]:
		return KindImage, nil
	case ct == "application/pdf":
		return KindPDF, nil
	case strings.HasPrefix(ct, "video/"):
		return KindVideo, nil
	}
	return "", refstore.Errorf(refstore.CodeUnsupportedMedia,
		"No preview is made of %q: only JPEG, PNG, GIF, WebP, BMP and TIFF images, PDF and video.", ct)
}

// Widths are the preview widths. Every requested width snaps to one of them, so that
// thumbnails of one asset are made, stored and cached a few times, not once per pixel.
var Widths = []int{160, 320, 640, 1280}

// DefaultWidth is the width when the request names none.
const DefaultWidth = 320

// SnapWidth maps a requested width to a preview width: the smallest of Widths at least
// as wide as asked (the client scales down, never up), and the largest for anything
// wider. A width of 0 or less means DefaultWidth. The snapped width is a bound, not a
// promise: an image narrower than it is never upscaled (see Preview.Width).
func SnapWidth(w int) int {
	if w <= 0 {
		return DefaultWidth
	}
	for _, s := range Widths {
		if w <= s {
			return s
		}
	}
	return Widths[len(Widths)-1]
}

// ParseWidth reads the width= query parameter ("" is the default) and snaps it.
func ParseWidth(s string) (int, error) {
	if s == "" {
		return DefaultWidth, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, refstore.InvalidParam("width", "a whole number of pixels of 1 or more is expected, not %q", s)
	}
	return SnapWidth(n), nil
}

// MaxPage bounds page= before a tool sees it.
const MaxPage = 100_000

// ParsePage reads the page= query parameter of a PDF preview: 1-based, "" is page 1.
func ParsePage(s string) (int, error) {
	if s == "" {
		return 1, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > MaxPage {
		return 0, refstore.InvalidParam("page", "a page number from 1 to %d is expected, not %q", MaxPage, s)
	}
	return n, nil
}

// MaxTime bounds t= before a tool sees it.
const MaxTime = 24 * time.Hour

// ParseTime reads the t= query parameter of a video preview, in seconds (decimals
// allowed, millisecond precision). "" returns DefaultTime, the default poster frame.
func ParseTime(s string) (time.Duration, error) {
	if s == "" {
		return DefaultTime, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f < 0 || f > MaxTime.Seconds() {
		return 0, refstore.InvalidParam("t", "a time in seconds from 0 to %d is expected, not %q", int(MaxTime.Seconds()), s)
	}
	return time.Duration(math.Round(f*1000)) * time.Millisecond, nil
}

// DefaultTime asks for the default poster frame of a video: the frame at PosterTime, or
// the first frame of a clip shorter than that.
const DefaultTime time.Duration = -1

// PosterTime is where the default poster frame is taken: past the black or fade-in
// first frames of most clips, and cheap to reach (ffmpeg seeks to the keyframe before).
const PosterTime = time.Second

// Request is what a caller asks for.
type Request struct {
	Width int           // a preview width (SnapWidth); others are snapped
	Page  int           // PDF page, 1-based; 0 is 1
	Time  time.Duration // video time; DefaultTime for the default poster frame
}

// Key names one preview: the same key is the same bytes, whatever asset asked for it.
// Fields that do not apply to the kind are zero.
type Key struct {
	SHA256 string // of the content previewed
	Kind   Kind
	Width  int
	Page   int   // PDF only
	TimeMS int64 // video only; -1 for the default poster frame
}

// String is a stable name of the key, fit for a blob name or a log line, e.g.
// "9f86…-image-w320", "9f86…-pdf-w640-p2", "9f86…-video-w320-t1500", "9f86…-video-w320-tdefault".
func (k Key) String() string {
	s := fmt.Sprintf("%s-%s-w%d", k.SHA256, k.Kind, k.Width)
	switch k.Kind {
	case KindPDF:
		s += "-p" + strconv.Itoa(k.Page)
	case KindVideo:
		if k.TimeMS < 0 {
			s += "-tdefault"
		} else {
			s += "-t" + strconv.FormatInt(k.TimeMS, 10)
		}
	}
	return s
}

// Source is the stored content a preview is made from.
type Source struct {
	SHA256      string // hex SHA-256 of the content; part of the Key
	ContentType string // decides the Kind
	Size        int64
	// Open opens the content, as refstore.BlobStore.Open does. An *os.File (the
	// filesystem store) is read in place, and handed to tools as it is; anything else (an
	// S3 object) is read as a stream for images, and copied into a private temporary file
	// for tools, which need a seekable file.
	Open func(ctx context.Context) (io.ReadSeekCloser, error)
}

// Preview is a generated preview.
type Preview struct {
	Key         Key
	Data        []byte
	ContentType string // image/jpeg, or image/png when the source has transparency
	Width       int    // at most Key.Width, less when the source is narrower or very tall
	Height      int
}

// KeyOf returns the key of a request for a source, with the request normalised: the
// width snapped, page and time kept only for the kinds they apply to.
func KeyOf(src Source, req Request) (Key, error) {
	kind, err := KindOf(src.ContentType)
	if err != nil {
		return Key{}, err
	}
	if len(src.SHA256) != 64 || strings.Trim(strings.ToLower(src.SHA256), "0123456789abcdef") != "" {
		return Key{}, refstore.Internal(fmt.Errorf("preview: source SHA-256 %q is not 64 hex digits", src.SHA256))
	}
	k := Key{SHA256: strings.ToLower(src.SHA256), Kind: kind, Width: SnapWidth(req.Width)}
	switch kind {
	case KindPDF:
		k.Page = max(req.Page, 1)
		if k.Page > MaxPage {
			return Key{}, refstore.InvalidParam("page", "a page number from 1 to %d is expected", MaxPage)
		}
	case KindVideo:
		k.TimeMS = -1
		if req.Time >= 0 {
			if req.Time > MaxTime {
				return Key{}, refstore.InvalidParam("t", "a time in seconds from 0 to %d is expected", int(MaxTime.Seconds()))
			}
			k.TimeMS = req.Time.Milliseconds()
		}
	}
	return k, nil
}
