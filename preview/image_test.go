package preview

import (
	"bytes"
	"context"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"golang.org/x/image/bmp"
	"golang.org/x/image/tiff"

	"github.com/refstore/refstore"
)

func imageGen() *Generator { return NewGenerator(Config{}) }

// checkQuadrants checks the four corners of a quadrants picture in m.
func checkQuadrants(t *testing.T, m image.Image, tol int) {
	t.Helper()
	b := m.Bounds()
	w, h := b.Dx(), b.Dy()
	for _, c := range []struct {
		x, y int
		want color.NRGBA
	}{{w / 8, h / 8, red}, {w - 1 - w/8, h / 8, green}, {w / 8, h - 1 - h/8, blue}, {w - 1 - w/8, h - 1 - h/8, yellow}} {
		if got := m.At(b.Min.X+c.x, b.Min.Y+c.y); !near(got, c.want, tol) {
			t.Errorf("pixel (%d,%d) = %v, want %v", c.x, c.y, got, c.want)
		}
	}
}

func TestImageFormats(t *testing.T) {
	pic := quadrants(800, 600)
	pngBytes := encodePNG(t, pic)
	pngPath := filepath.Join(t.TempDir(), "q.png")
	os.WriteFile(pngPath, pngBytes, 0o600)
	var gifB, bmpB, tiffB bytes.Buffer
	if err := gif.Encode(&gifB, pic, nil); err != nil {
		t.Fatal(err)
	}
	if err := bmp.Encode(&bmpB, pic); err != nil {
		t.Fatal(err)
	}
	if err := tiff.Encode(&tiffB, pic, &tiff.Options{Compression: tiff.Deflate}); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, ct string
		data     []byte
	}{
		{"jpeg", "image/jpeg", encodeJPEG(t, pic, 90)},
		{"png", "image/png", pngBytes},
		{"gif", "image/gif", gifB.Bytes()},
		{"webp", "image/webp", ffmpegMake(t, "q.webp", "-i", pngPath)},
		{"bmp", "image/bmp", bmpB.Bytes()},
		{"tiff", "image/tiff", tiffB.Bytes()},
	}
	g := imageGen()
	for _, c := range cases {
		for _, src := range []Source{fileSource(t, c.data, c.ct), streamSource(c.data, c.ct)} {
			p, err := g.Generate(context.Background(), src, Request{Width: 300})
			if err != nil {
				t.Errorf("%s: %v", c.name, err)
				continue
			}
			m := decodePreview(t, p, "image/jpeg", 320, 240)
			checkQuadrants(t, m, 40)
			if p.Key != (Key{SHA256: sha(c.data), Kind: KindImage, Width: 320}) {
				t.Errorf("%s: key %+v", c.name, p.Key)
			}
		}
	}
}

// A large JPEG goes through the halving path of its own pixel type (YCbCr 4:2:0).
func TestLargeJPEG(t *testing.T) {
	data := encodeJPEG(t, quadrants(4000, 3000), 85)
	p, err := imageGen().Generate(context.Background(), fileSource(t, data, "image/jpeg"), Request{Width: 1280})
	if err != nil {
		t.Fatal(err)
	}
	checkQuadrants(t, decodePreview(t, p, "image/jpeg", 1280, 960), 30)
}

// Any transparent pixel makes the preview a PNG, and transparency survives scaling
// without the colour of invisible pixels bleeding into the visible ones.
func TestTransparencyGivesPNG(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 640, 400))
	for y := range 400 {
		for x := range 640 {
			if x < 320 {
				m.SetNRGBA(x, y, color.NRGBA{255, 0, 0, 0}) // invisible red
			} else {
				m.SetNRGBA(x, y, color.NRGBA{0, 0, 255, 255})
			}
		}
	}
	for _, ct := range []string{"image/png", "image/webp"} {
		data := encodePNG(t, m)
		if ct == "image/webp" {
			p := filepath.Join(t.TempDir(), "a.png")
			os.WriteFile(p, data, 0o600)
			data = ffmpegMake(t, "a.webp", "-i", p, "-c:v", "libwebp", "-pix_fmt", "yuva420p")
		}
		p, err := imageGen().Generate(context.Background(), fileSource(t, data, ct), Request{Width: 160})
		if err != nil {
			t.Fatal(err)
		}
		out := decodePreview(t, p, "image/png", 160, 100)
		if a := color.NRGBAModel.Convert(out.At(10, 50)).(color.NRGBA).A; a != 0 {
			t.Errorf("%s: transparent side has alpha %d", ct, a)
		}
		if !near(out.At(150, 50), color.NRGBA{0, 0, 255, 255}, 20) {
			t.Errorf("%s: opaque side %v", ct, out.At(150, 50))
		}
		for x := 78; x < 84; x++ {
			c := color.NRGBAModel.Convert(out.At(x, 50)).(color.NRGBA)
			if c.A > 20 && c.R > 30 {
				t.Errorf("%s: red bleeds into the edge at x=%d: %v", ct, x, c)
			}
		}
	}
	// The same picture fully opaque is a JPEG.
	opaque := quadrants(640, 400)
	p, err := imageGen().Generate(context.Background(), fileSource(t, encodePNG(t, opaque), "image/png"), Request{Width: 160})
	if err != nil {
		t.Fatal(err)
	}
	decodePreview(t, p, "image/jpeg", 160, 100)
}

// ffmpeg's default WebP encoder writes an animation (one cropped frame) for this
// picture; x/image decodes still WebP only, and says so.
func TestAnimatedWebPUnsupported(t *testing.T) {
	m := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := range 64 {
		for x := 32; x < 64; x++ {
			m.SetNRGBA(x, y, blue)
		}
	}
	p := filepath.Join(t.TempDir(), "a.png")
	os.WriteFile(p, encodePNG(t, m), 0o600)
	data := ffmpegMake(t, "anim.webp", "-i", p, "-c:v", "libwebp_anim", "-pix_fmt", "yuva420p")
	_, err := imageGen().Generate(context.Background(), fileSource(t, data, "image/webp"), Request{})
	if codeOf(err) != refstore.CodeUnsupportedMedia || !strings.Contains(err.Error(), "Animated WebP") {
		t.Errorf("%v", err)
	}
}

func TestNeverUpscale(t *testing.T) {
	p, err := imageGen().Generate(context.Background(), fileSource(t, encodePNG(t, quadrants(100, 50)), "image/png"), Request{Width: 1280})
	if err != nil {
		t.Fatal(err)
	}
	checkQuadrants(t, decodePreview(t, p, "image/jpeg", 100, 50), 30)
	if p.Key.Width != 1280 {
		t.Errorf("key width %d: the key keeps the snapped width", p.Key.Width)
	}
}

// A very tall picture is fitted to MaxAspect × width, not width alone.
func TestTallImageFitsAspectBound(t *testing.T) {
	p, err := imageGen().Generate(context.Background(), fileSource(t, encodePNG(t, quadrants(200, 4000)), "image/png"), Request{Width: 160})
	if err != nil {
		t.Fatal(err)
	}
	checkQuadrants(t, decodePreview(t, p, "image/jpeg", 32, 640), 40)
}

func TestGIFFirstFrame(t *testing.T) {
	var frames []*image.Paletted
	for _, c := range []color.Color{red, green, blue} {
		f := image.NewPaletted(image.Rect(0, 0, 120, 90), color.Palette{c, color.Black})
		frames = append(frames, f)
	}
	var b bytes.Buffer
	if err := gif.EncodeAll(&b, &gif.GIF{Image: frames, Delay: []int{10, 10, 10}}); err != nil {
		t.Fatal(err)
	}
	p, err := imageGen().Generate(context.Background(), fileSource(t, b.Bytes(), "image/gif"), Request{Width: 160})
	if err != nil {
		t.Fatal(err)
	}
	m := decodePreview(t, p, "image/jpeg", 120, 90)
	if !near(m.At(60, 45), red, 10) {
		t.Errorf("colour %v, want the first frame's red", m.At(60, 45))
	}
	// A transparent GIF is a PNG preview.
	tr := image.NewPaletted(image.Rect(0, 0, 120, 90), color.Palette{color.Transparent, red})
	for x := range 60 {
		for y := range 90 {
			tr.SetColorIndex(x, y, 1)
		}
	}
	b.Reset()
	gif.Encode(&b, tr, nil)
	p, err = imageGen().Generate(context.Background(), fileSource(t, b.Bytes(), "image/gif"), Request{Width: 160})
	if err != nil {
		t.Fatal(err)
	}
	m = decodePreview(t, p, "image/png", 120, 90)
	if _, _, _, a := m.At(100, 45).RGBA(); a != 0 {
		t.Errorf("transparent half has alpha %d", a)
	}
}

// pngHeader is a PNG signature and IHDR declaring w×h RGBA pixels, and nothing else.
func pngHeader(w, h uint32) []byte {
	ihdr := make([]byte, 13)
	binary.BigEndian.PutUint32(ihdr, w)
	binary.BigEndian.PutUint32(ihdr[4:], h)
	ihdr[8], ihdr[9] = 8, 6
	var b bytes.Buffer
	b.WriteString("\x89PNG\r\n\x1a\n")
	binary.Write(&b, binary.BigEndian, uint32(13))
	chunk := append([]byte("IHDR"), ihdr...)
	b.Write(chunk)
	binary.Write(&b, binary.BigEndian, crc32.ChecksumIEEE(chunk))
	return b.Bytes()
}

// Decompression bombs are refused from their header: nothing is allocated for pixels.
func TestBombsRefusedBeforeDecoding(t *testing.T) {
	tiny := encodeJPEG(t, quadrants(8, 8), 90)
	jpegBomb := bytes.Clone(tiny)
	i := bytes.Index(jpegBomb, []byte{0xff, 0xc0})
	binary.BigEndian.PutUint16(jpegBomb[i+5:], 65000) // height
	binary.BigEndian.PutUint16(jpegBomb[i+7:], 65000) // width
	for name, data := range map[string][]byte{"png 100000x100000": pngHeader(100000, 100000), "jpeg 65000x65000": jpegBomb} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		start := time.Now()
		_, err := imageGen().Generate(context.Background(), fileSource(t, data, "image/png"), Request{Width: 320})
		runtime.ReadMemStats(&after)
		if codeOf(err) != refstore.CodeImageTooLarge {
			t.Errorf("%s: %v, want %s", name, err, refstore.CodeImageTooLarge)
			continue
		}
		if !strings.Contains(err.Error(), "megapixels") {
			t.Errorf("%s: message %q", name, err)
		}
		if d := time.Since(start); d > time.Second {
			t.Errorf("%s: took %s", name, d)
		}
		if a := after.TotalAlloc - before.TotalAlloc; a > 8<<20 {
			t.Errorf("%s: allocated %d bytes to refuse it", name, a)
		}
	}
}

// The decode budget counts bytes per pixel: a 16-bit PNG costs three times an 8-bit one.
func TestDecodeBudgetByPixelType(t *testing.T) {
	g := NewGenerator(Config{MaxDecodeBytes: 1 << 20})
	m8 := quadrants(400, 400) // 160 000 px × 4 B
	if _, err := g.Generate(context.Background(), fileSource(t, encodePNG(t, m8), "image/png"), Request{}); err != nil {
		t.Errorf("8-bit: %v", err)
	}
	m16 := image.NewNRGBA64(m8.Bounds()) // 160 000 px × (8 + 4) B
	for y := range 400 {
		for x := range 400 {
			m16.Set(x, y, m8.At(x, y))
		}
	}
	_, err := g.Generate(context.Background(), fileSource(t, encodePNG(t, m16), "image/png"), Request{})
	if codeOf(err) != refstore.CodeImageTooLarge || !strings.Contains(err.Error(), "MB to decode") {
		t.Errorf("16-bit: %v", err)
	}
}

func TestCorruptImages(t *testing.T) {
	good := encodePNG(t, quadrants(300, 200))
	for name, c := range map[string]struct {
		data []byte
		ct   string
	}{
		"truncated png":  {good[:len(good)/2], "image/png"},
		"not an image":   {[]byte(strings.Repeat("hello ", 100)), "image/png"},
		"empty":          {nil, "image/jpeg"},
		"jpeg header":    {[]byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00"), "image/jpeg"},
		"svg as picture": {[]byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), "image/png"},
	} {
		_, err := imageGen().Generate(context.Background(), fileSource(t, c.data, c.ct), Request{})
		if codeOf(err) != refstore.CodeMediaUnreadable {
			t.Errorf("%s: %v, want %s", name, err, refstore.CodeMediaUnreadable)
		}
	}
	// The bytes decide the format, not the declared type.
	if _, err := imageGen().Generate(context.Background(), fileSource(t, good, "image/jpeg"), Request{}); err != nil {
		t.Errorf("PNG declared as JPEG: %v", err)
	}
}

// scale's halving on every pixel type it has a path for, odd sizes and an offset origin.
func TestScalePixelTypes(t *testing.T) {
	const w, h = 1001, 777
	src := quadrants(w, h)
	ycc := func(r image.YCbCrSubsampleRatio) image.Image {
		m := image.NewYCbCr(image.Rect(0, 0, w, h), r)
		for y := range h {
			for x := range w {
				c := src.NRGBAAt(x, y)
				yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
				m.Y[m.YOffset(x, y)] = yy
				m.Cb[m.COffset(x, y)], m.Cr[m.COffset(x, y)] = cb, cr
			}
		}
		return m
	}
	rgba := image.NewRGBA(src.Bounds())
	pal := image.NewPaletted(src.Bounds(), palette.Plan9)
	for y := range h {
		for x := range w {
			rgba.Set(x, y, src.At(x, y))
			pal.Set(x, y, src.At(x, y))
		}
	}
	big := image.NewNRGBA(image.Rect(-50, -30, w+50, h+30)) // src inside a larger canvas
	for y := range h {
		for x := range w {
			big.SetNRGBA(x, y, src.NRGBAAt(x, y))
		}
	}
	cases := map[string]image.Image{
		"nrgba": src, "rgba": rgba, "paletted": pal, "subimage": big.SubImage(image.Rect(0, 0, w, h)),
		"ycbcr444": ycc(image.YCbCrSubsampleRatio444), "ycbcr422": ycc(image.YCbCrSubsampleRatio422),
		"ycbcr420": ycc(image.YCbCrSubsampleRatio420), "ycbcr440": ycc(image.YCbCrSubsampleRatio440),
		"ycbcr411": ycc(image.YCbCrSubsampleRatio411), "ycbcr410": ycc(image.YCbCrSubsampleRatio410),
		"ycbcr sub": ycc(image.YCbCrSubsampleRatio420).(*image.YCbCr).SubImage(image.Rect(0, 0, w, h)),
	}
	for name, m := range cases {
		out := scale(m, 100, 78)
		if out.Bounds() != image.Rect(0, 0, 100, 78) {
			t.Errorf("%s: bounds %v", name, out.Bounds())
		}
		t.Run(name, func(t *testing.T) { checkQuadrants(t, out, 12) })
	}
	gray := image.NewGray(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			if x < w/2 {
				gray.SetGray(x, y, color.Gray{200})
			}
		}
	}
	out := scale(gray, 100, 78)
	if !near(out.At(10, 40), color.NRGBA{200, 200, 200, 255}, 2) || !near(out.At(90, 40), color.NRGBA{0, 0, 0, 255}, 2) {
		t.Errorf("gray: %v %v", out.At(10, 40), out.At(90, 40))
	}
}

func TestFitSize(t *testing.T) {
	for _, c := range []struct{ w, h, max, tw, th int }{
		{1280, 800, 320, 320, 200},
		{800, 1280, 320, 320, 512},
		{100, 50, 320, 100, 50},
		{200, 4000, 160, 32, 640},
		{100000, 10, 160, 160, 1},
		{1, 1, 1280, 1, 1},
		{333, 333, 160, 160, 160},
	} {
		tw, th := fitSize(c.w, c.h, c.max)
		if tw != c.tw || th != c.th {
			t.Errorf("fitSize(%d,%d,%d) = %d,%d, want %d,%d", c.w, c.h, c.max, tw, th, c.tw, c.th)
		}
	}
}
