package preview

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"image"
	"testing"
)

// storedFor returns how a camera stores the upright picture u under EXIF orientation o,
// written from the specification's table of what the stored first row and first column
// are on display (not from orientImage, which the test checks).
func storedFor(u *image.NRGBA, o int) *image.NRGBA {
	uw, uh := u.Rect.Dx(), u.Rect.Dy()
	sw, sh := uw, uh
	if o >= 5 {
		sw, sh = uh, uw
	}
	s := image.NewNRGBA(image.Rect(0, 0, sw, sh))
	for sy := range sh {
		for sx := range sw {
			var x, y int
			switch o {
			case 1: // row 0 top, column 0 left
				x, y = sx, sy
			case 2: // top, right
				x, y = uw-1-sx, sy
			case 3: // bottom, right
				x, y = uw-1-sx, uh-1-sy
			case 4: // bottom, left
				x, y = sx, uh-1-sy
			case 5: // row 0 left, column 0 top
				x, y = sy, sx
			case 6: // right, top
				x, y = uw-1-sy, sx
			case 7: // right, bottom
				x, y = uw-1-sy, uh-1-sx
			case 8: // left, bottom
				x, y = sy, uh-1-sx
			}
			s.SetNRGBA(sx, sy, u.NRGBAAt(x, y))
		}
	}
	return s
}

// exifTIFF is a TIFF structure with one IFD0 entry, the orientation.
func exifTIFF(o int, bo binary.ByteOrder) []byte {
	var b bytes.Buffer
	if bo == binary.BigEndian {
		b.WriteString("MM\x00*")
	} else {
		b.WriteString("II*\x00")
	}
	binary.Write(&b, bo, uint32(8))
	binary.Write(&b, bo, uint16(2))
	// An unrelated tag first (ImageDescription, ASCII, 4 bytes inline), then Orientation.
	binary.Write(&b, bo, []uint16{0x010e, 2})
	binary.Write(&b, bo, uint32(4))
	b.WriteString("abc\x00")
	binary.Write(&b, bo, []uint16{tagOrientation, 3})
	binary.Write(&b, bo, uint32(1))
	binary.Write(&b, bo, []uint16{uint16(o), 0})
	binary.Write(&b, bo, uint32(0))
	return b.Bytes()
}

// withEXIF inserts, after the SOI of a JPEG, an APP0 (JFIF), an XMP APP1 and the EXIF
// APP1 with orientation o, as cameras and editors lay them out.
func withEXIF(jpg []byte, o int, bo binary.ByteOrder) []byte {
	seg := func(marker byte, payload []byte) []byte {
		s := []byte{0xff, marker, 0, 0}
		binary.BigEndian.PutUint16(s[2:], uint16(len(payload)+2))
		return append(s, payload...)
	}
	var b bytes.Buffer
	b.Write(jpg[:2])
	b.Write(seg(0xe0, []byte("JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")))
	b.Write(seg(0xe1, []byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>")))
	b.Write(seg(0xe1, append([]byte("Exif\x00\x00"), exifTIFF(o, bo)...)))
	b.Write(jpg[2:])
	return b.Bytes()
}

// rgbTIFF is an uncompressed RGB TIFF of m with an orientation tag (x/image/tiff's
// encoder writes none).
func rgbTIFF(m *image.NRGBA, o int) []byte {
	w, h := m.Rect.Dx(), m.Rect.Dy()
	bo := binary.LittleEndian
	type entry struct {
		tag, typ uint16
		val      uint32
	}
	const nEntries = 10
	bpsOff := uint32(8 + 2 + 12*nEntries + 4)
	dataOff := bpsOff + 6
	entries := []entry{
		{256, 4, uint32(w)}, {257, 4, uint32(h)}, {258, 3, bpsOff}, {259, 3, 1}, {262, 3, 2},
		{273, 4, dataOff}, {274, 3, uint32(o)}, {277, 3, 3}, {278, 4, uint32(h)}, {279, 4, uint32(w * h * 3)},
	}
	var b bytes.Buffer
	b.WriteString("II*\x00")
	binary.Write(&b, bo, uint32(8))
	binary.Write(&b, bo, uint16(nEntries))
	for _, e := range entries {
		count := uint32(1)
		if e.tag == 258 {
			count = 3
		}
		binary.Write(&b, bo, []uint16{e.tag, e.typ})
		binary.Write(&b, bo, count)
		if e.typ == 3 && e.tag != 258 {
			binary.Write(&b, bo, []uint16{uint16(e.val), 0})
		} else {
			binary.Write(&b, bo, e.val)
		}
	}
	binary.Write(&b, bo, uint32(0))
	binary.Write(&b, bo, []uint16{8, 8, 8})
	for y := range h {
		for x := range w {
			c := m.NRGBAAt(x, y)
			b.Write([]byte{c.R, c.G, c.B})
		}
	}
	return b.Bytes()
}

func TestEXIFOrientationJPEG(t *testing.T) {
	upright := quadrants(96, 48)
	for o := 1; o <= 8; o++ {
		for _, bo := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			data := withEXIF(encodeJPEG(t, storedFor(upright, o), 95), o, bo)
			if got := jpegOrientation(bufio.NewReader(bytes.NewReader(data))); got != o {
				t.Fatalf("orientation %d (%v) read as %d", o, bo, got)
			}
			p, err := imageGen().Generate(context.Background(), fileSource(t, data, "image/jpeg"), Request{Width: 160})
			if err != nil {
				t.Fatal(err)
			}
			checkQuadrants(t, decodePreview(t, p, "image/jpeg", 96, 48), 40)
		}
	}
}

// Orientation with scaling: a portrait-stored photo of a landscape scene.
func TestEXIFOrientationScaled(t *testing.T) {
	upright := quadrants(960, 480)
	for _, o := range []int{3, 6, 8} {
		data := withEXIF(encodeJPEG(t, storedFor(upright, o), 90), o, binary.BigEndian)
		p, err := imageGen().Generate(context.Background(), fileSource(t, data, "image/jpeg"), Request{Width: 320})
		if err != nil {
			t.Fatal(err)
		}
		checkQuadrants(t, decodePreview(t, p, "image/jpeg", 320, 160), 30)
	}
}

func TestEXIFOrientationTIFF(t *testing.T) {
	upright := quadrants(96, 48)
	for o := 1; o <= 8; o++ {
		data := rgbTIFF(storedFor(upright, o), o)
		for _, src := range []Source{fileSource(t, data, "image/tiff"), streamSource(data, "image/tiff")} {
			p, err := imageGen().Generate(context.Background(), src, Request{Width: 160})
			if err != nil {
				t.Fatalf("orientation %d: %v", o, err)
			}
			checkQuadrants(t, decodePreview(t, p, "image/jpeg", 96, 48), 2)
		}
	}
}

func TestOrientationAbsentOrBroken(t *testing.T) {
	plain := encodeJPEG(t, quadrants(16, 16), 90)
	for name, data := range map[string][]byte{
		"no exif":         plain,
		"orientation 0":   withEXIF(plain, 0, binary.BigEndian),
		"orientation 9":   withEXIF(plain, 9, binary.BigEndian),
		"truncated":       withEXIF(plain, 6, binary.BigEndian)[:60],
		"not a jpeg":      []byte("GIF89a"),
		"bad ifd offset":  append([]byte("\xff\xd8\xff\xe1\x00\x10Exif\x00\x00MM\x00*"), 0x7f, 0xff, 0xff, 0xff),
		"empty":           nil,
		"segment len < 2": []byte("\xff\xd8\xff\xe1\x00\x01"),
	} {
		if got := jpegOrientation(bufio.NewReader(bytes.NewReader(data))); got != 1 {
			t.Errorf("%s: %d, want 1", name, got)
		}
	}
}

func FuzzOrientation(f *testing.F) {
	jpg := []byte("\xff\xd8\xff\xdb\x00\x04\x00\x00\xff\xd9")
	for o := 1; o <= 8; o++ {
		f.Add(withEXIF(jpg, o, binary.BigEndian))
		f.Add(exifTIFF(o, binary.LittleEndian))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(bufio.NewReader(bytes.NewReader(data))); o < 1 || o > 8 {
			t.Fatalf("jpeg orientation %d", o)
		}
		if o := tiffOrientation(bytes.NewReader(data)); o < 1 || o > 8 {
			t.Fatalf("tiff orientation %d", o)
		}
	})
}

// FuzzImagePreview feeds arbitrary bytes to the whole in-process pipeline: refused or
// previewed, never a panic, never more than the width.
func FuzzImagePreview(f *testing.F) {
	q := quadrants(40, 30)
	f.Add(encodePNG(f, q))
	f.Add(withEXIF(encodeJPEG(f, q, 80), 6, binary.BigEndian))
	f.Add(rgbTIFF(q, 8))
	f.Add(pngHeader(100000, 100000))
	lim := imageLimits{maxPixels: 1 << 20, maxDecodeBytes: 16 << 20, quality: 80}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := imagePreview(bytes.NewReader(data), 32, lim)
		if err != nil {
			if codeOf(err) == "" {
				t.Fatalf("error without a domain code: %v", err)
			}
			return
		}
		if p.Width < 1 || p.Width > 32 || p.Height < 1 || p.Height > MaxAspect*32 {
			t.Fatalf("preview %dx%d", p.Width, p.Height)
		}
	})
}
