package preview

import (
	"bytes"
	"image"
	"testing"
)

// BenchmarkImagePreview: the in-process pipeline on a 1280×800 PNG and a 6000×4000 JPEG
// (bench/preview measures the same through the Generator, with RSS).
func BenchmarkImagePreview(b *testing.B) {
	lim := imageLimits{maxPixels: 50_000_000, maxDecodeBytes: 256 << 20, quality: 82}
	for _, c := range []struct {
		name  string
		data  []byte
		width int
	}{
		{"png1280x800-to320", encodePNG(b, quadrants(1280, 800)), 320},
		{"jpeg6000x4000-to320", encodeJPEG(b, photo(6000, 4000), 90), 320},
		{"jpeg6000x4000-to1280", encodeJPEG(b, photo(6000, 4000), 90), 1280},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := imagePreview(bytes.NewReader(c.data), c.width, lim); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func photo(w, h int) *image.YCbCr {
	m := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	for i := range m.Y {
		m.Y[i] = uint8(i*7 + i/w*3)
	}
	for i := range m.Cb {
		m.Cb[i], m.Cr[i] = uint8(i), uint8(i/3)
	}
	return m
}
