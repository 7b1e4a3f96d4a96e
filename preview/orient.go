package preview

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"image"
	"io"
)

// EXIF orientation is read by the few functions below rather than by a library: only one
// tag of IFD0 is needed, and the Go EXIF readers are either unmaintained since 2019-2020
// (rwcarlsen/goexif) or large general-purpose parsers with their own dependency trees
// (dsoprea/go-exif). Every read is bounds-checked, and FuzzOrientation feeds them
// arbitrary bytes.

const (
	tagOrientation = 0x0112
	maxIFDEntries  = 1000    // IFD0 of real files has a few dozen
	maxJPEGHeader  = 1 << 20 // stop looking for APP1 after this many bytes of segments
)

// jpegOrientation returns the EXIF orientation (1–8) of a JPEG read from r, or 1 when it
// has none or it cannot be read: a picture shown as stored is the safe default.
func jpegOrientation(r *bufio.Reader) int {
	var hdr [2]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || hdr != [2]byte{0xff, 0xd8} {
		return 1
	}
	scanned := 0
	for scanned < maxJPEGHeader {
		b, err := r.ReadByte()
		if err != nil {
			return 1
		}
		if b != 0xff {
			return 1 // garbage between segments
		}
		m, err := r.ReadByte()
		for err == nil && m == 0xff && scanned < maxJPEGHeader { // fill bytes
			scanned++
			m, err = r.ReadByte()
		}
		if err != nil {
			return 1
		}
		switch {
		case m == 0xda || m == 0xd9: // start of scan, end of image: no EXIF before the data
			return 1
		case m == 0x01 || (m >= 0xd0 && m <= 0xd7): // no length
			continue
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return 1
		}
		n := int(binary.BigEndian.Uint16(hdr[:])) - 2
		if n < 0 {
			return 1
		}
		scanned += n + 4
		if m != 0xe1 || n < 14 {
			if _, err := r.Discard(n); err != nil {
				return 1
			}
			continue
		}
		seg := make([]byte, n)
		if _, err := io.ReadFull(r, seg); err != nil {
			return 1
		}
		if payload, ok := bytes.CutPrefix(seg, []byte("Exif\x00\x00")); ok {
			return tiffOrientation(bytes.NewReader(payload))
		}
		// Another APP1 (XMP): the EXIF one may follow.
	}
	return 1
}

// tiffOrientation reads the orientation tag of IFD0 of a TIFF structure (a TIFF file, or
// the payload of a JPEG's EXIF segment); 1 when absent or unreadable.
func tiffOrientation(r io.ReaderAt) int {
	var hdr [8]byte
	if _, err := r.ReadAt(hdr[:], 0); err != nil {
		return 1
	}
	var bo binary.ByteOrder
	switch string(hdr[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 1
	}
	ifd := int64(bo.Uint32(hdr[4:]))
	var cnt [2]byte
	if _, err := r.ReadAt(cnt[:], ifd); err != nil {
		return 1
	}
	n := min(int(bo.Uint16(cnt[:])), maxIFDEntries)
	entries := make([]byte, 12*n)
	if _, err := r.ReadAt(entries, ifd+2); err != nil {
		return 1
	}
	for i := range n {
		e := entries[12*i : 12*i+12]
		if bo.Uint16(e) != tagOrientation || bo.Uint32(e[4:]) != 1 {
			continue
		}
		var v int
		switch bo.Uint16(e[2:]) {
		case 3: // SHORT, left-justified in the value field
			v = int(bo.Uint16(e[8:]))
		case 4: // LONG, written by a few tools
			v = int(bo.Uint32(e[8:]))
		}
		if v >= 1 && v <= 8 {
			return v
		}
		return 1
	}
	return 1
}

// orientImage turns a picture stored with EXIF orientation o upright. For each
// orientation the stored picture's first row and first column are, on display
// (EXIF 2.3, tag 0x0112): 1 top/left, 2 top/right, 3 bottom/right, 4 bottom/left,
// 5 left/top, 6 right/top, 7 right/bottom, 8 left/bottom. 5–8 swap width and height.
func orientImage(m *image.RGBA, o int) *image.RGBA {
	if o < 2 || o > 8 {
		return m
	}
	sw, sh := m.Rect.Dx(), m.Rect.Dy()
	dw, dh := sw, sh
	if o >= 5 {
		dw, dh = sh, sw
	}
	d := image.NewRGBA(image.Rect(0, 0, dw, dh))
	for y := range dh {
		for x := range dw {
			var sx, sy int
			switch o {
			case 2:
				sx, sy = sw-1-x, y
			case 3:
				sx, sy = sw-1-x, sh-1-y
			case 4:
				sx, sy = x, sh-1-y
			case 5:
				sx, sy = y, x
			case 6:
				sx, sy = y, sh-1-x
			case 7:
				sx, sy = sw-1-y, sh-1-x
			case 8:
				sx, sy = sw-1-y, x
			}
			so := m.PixOffset(m.Rect.Min.X+sx, m.Rect.Min.Y+sy)
			copy(d.Pix[y*d.Stride+4*x:y*d.Stride+4*x+4], m.Pix[so:so+4])
		}
	}
	return d
}
