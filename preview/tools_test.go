package preview

import (
	"bytes"
	"context"
	"fmt"
	"image/color"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/sandbox"
)

// pdfPage is one page: its size in points and its content stream.
type pdfPage struct {
	w, h    int
	content string
}

// makePDF writes a minimal valid PDF (catalog, page tree, pages, cross-reference table).
func makePDF(pages ...pdfPage) []byte {
	objs := []string{"<< /Type /Catalog /Pages 2 0 R >>"}
	var kids []string
	for i := range pages {
		kids = append(kids, fmt.Sprintf("%d 0 R", 3+2*i))
	}
	objs = append(objs, fmt.Sprintf("<< /Type /Pages /Kids [%s] /Count %d >>", strings.Join(kids, " "), len(pages)))
	for i, p := range pages {
		objs = append(objs,
			fmt.Sprintf("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Contents %d 0 R >>", p.w, p.h, 4+2*i),
			fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", len(p.content), p.content))
	}
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n")
	offs := make([]int, len(objs))
	for i, o := range objs {
		offs[i] = b.Len()
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", i+1, o)
	}
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(objs)+1)
	for _, o := range offs {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(objs)+1, xref)
	return b.Bytes()
}

// twoPagePDF: page 1 is landscape, red left half and blue right half; page 2 portrait, green.
var twoPagePDF = makePDF(
	pdfPage{200, 100, "1 0 0 rg 0 0 100 100 re f 0 0 1 rg 100 0 100 100 re f"},
	pdfPage{100, 200, "0 1 0 rg 0 0 100 200 re f"},
)

func toolGen(t *testing.T, cfg Config) *Generator {
	cfg.Sandbox = sandboxed(t)
	return NewGenerator(cfg)
}

func TestPDFPages(t *testing.T) {
	g := toolGen(t, Config{})
	for _, src := range []Source{fileSource(t, twoPagePDF, "application/pdf"), streamSource(twoPagePDF, "application/pdf")} {
		p, err := g.Generate(context.Background(), src, Request{Width: 320})
		if err != nil {
			t.Fatal(err)
		}
		m := decodePreview(t, p, "image/jpeg", 320, 160)
		if !near(m.At(40, 80), red, 20) || !near(m.At(280, 80), blue, 20) {
			t.Errorf("page 1: %v %v", m.At(40, 80), m.At(280, 80))
		}
		if p.Key.Page != 1 || p.Key.Kind != KindPDF {
			t.Errorf("key %+v", p.Key)
		}
		p, err = g.Generate(context.Background(), src, Request{Width: 160, Page: 2})
		if err != nil {
			t.Fatal(err)
		}
		m = decodePreview(t, p, "image/jpeg", 160, 320)
		if !near(m.At(80, 160), green, 20) {
			t.Errorf("page 2: %v", m.At(80, 160))
		}
	}
	_, err := g.Generate(context.Background(), fileSource(t, twoPagePDF, "application/pdf"), Request{Page: 3})
	if codeOf(err) != refstore.CodeOutOfRange || !strings.Contains(err.Error(), "no page 3: it has 2 pages") {
		t.Errorf("page 3: %v", err)
	}
}

func TestPDFCorrupt(t *testing.T) {
	g := toolGen(t, Config{})
	for name, data := range map[string][]byte{
		"garbage":   []byte(strings.Repeat("not a pdf ", 100)),
		"truncated": twoPagePDF[:100],
	} {
		_, err := g.Generate(context.Background(), fileSource(t, data, "application/pdf"), Request{})
		if codeOf(err) != refstore.CodeMediaUnreadable {
			t.Errorf("%s: %v, want %s", name, err, refstore.CodeMediaUnreadable)
		}
	}
}

// A PDF page of absurd proportions: 1 × 14 400 points (the largest a PDF allows) becomes
// a preview no taller than MaxAspect × width, or is refused, never rendered unbounded.
func TestPDFExtremePage(t *testing.T) {
	g := toolGen(t, Config{})
	data := makePDF(pdfPage{1, 14400, "0 0 1 rg 0 0 1 14400 re f"})
	p, err := g.Generate(context.Background(), fileSource(t, data, "application/pdf"), Request{Width: 1280})
	if err != nil {
		if c := codeOf(err); c != refstore.CodeMediaUnreadable && c != refstore.CodeImageTooLarge {
			t.Fatalf("%v", err)
		}
		return
	}
	if p.Height > MaxAspect*1280 || p.Width > 1280 {
		t.Errorf("preview %dx%d", p.Width, p.Height)
	}
}

// colourClip is a 640×360 video, red for its first second and blue for the next one.
func colourClip(t *testing.T) []byte {
	return ffmpegMake(t, "clip.mp4", "-f", "lavfi", "-i", "color=c=red:s=640x360:r=25:d=1",
		"-f", "lavfi", "-i", "color=c=blue:s=640x360:r=25:d=1",
		"-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", "-pix_fmt", "yuv420p", "-c:v", "libx264", "-g", "10")
}

func TestVideoPosterFrames(t *testing.T) {
	g := toolGen(t, Config{})
	clip := colourClip(t)
	for _, src := range []Source{fileSource(t, clip, "video/mp4"), streamSource(clip, "video/mp4")} {
		// The default poster is taken at PosterTime, 1 s: blue.
		p, err := g.Generate(context.Background(), src, Request{Width: 320, Time: DefaultTime})
		if err != nil {
			t.Fatal(err)
		}
		m := decodePreview(t, p, "image/jpeg", 320, 180)
		if !near(m.At(160, 90), blue, 30) {
			t.Errorf("default poster: %v, want blue", m.At(160, 90))
		}
		p, err = g.Generate(context.Background(), src, Request{Width: 320, Time: 300 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		if m := decodePreview(t, p, "image/jpeg", 320, 180); !near(m.At(160, 90), red, 30) {
			t.Errorf("t=0.3: %v, want red", m.At(160, 90))
		}
		if p.Key.TimeMS != 300 {
			t.Errorf("key %+v", p.Key)
		}
	}
	_, err := g.Generate(context.Background(), fileSource(t, clip, "video/mp4"), Request{Time: 5 * time.Second})
	if codeOf(err) != refstore.CodeOutOfRange || !strings.Contains(err.Error(), "no frame at 5 seconds") {
		t.Errorf("t=5: %v", err)
	}
}

// A clip shorter than PosterTime gets its first frame as the default poster.
func TestVideoShortClipDefaultPoster(t *testing.T) {
	g := toolGen(t, Config{})
	short := ffmpegMake(t, "short.mp4", "-f", "lavfi", "-i", "color=c=green:s=320x240:r=10:d=0.4", "-pix_fmt", "yuv420p")
	p, err := g.Generate(context.Background(), fileSource(t, short, "video/mp4"), Request{Width: 640, Time: DefaultTime})
	if err != nil {
		t.Fatal(err)
	}
	// ffmpeg's "green" is #008000.
	if m := decodePreview(t, p, "image/jpeg", 320, 240); !near(m.At(160, 120), color.NRGBA{0, 128, 0, 255}, 30) {
		t.Errorf("colour %v", m.At(160, 120))
	}
}

// Non-square pixels: a 320×240 frame with a 2:1 sample aspect ratio is 640×240 on
// screen, and its preview keeps that shape.
func TestVideoSampleAspectRatio(t *testing.T) {
	g := toolGen(t, Config{})
	clip := ffmpegMake(t, "sar.mp4", "-f", "lavfi", "-i", "testsrc=s=320x240:r=10:d=1", "-vf", "setsar=2", "-pix_fmt", "yuv420p")
	p, err := g.Generate(context.Background(), fileSource(t, clip, "video/mp4"), Request{Width: 1280, Time: 0})
	if err != nil {
		t.Fatal(err)
	}
	decodePreview(t, p, "image/jpeg", 640, 240)
}

func TestVideoUnreadable(t *testing.T) {
	g := toolGen(t, Config{})
	audio := ffmpegMake(t, "audio.m4a", "-f", "lavfi", "-i", "sine=d=1")
	for name, data := range map[string][]byte{
		"audio only": audio,
		"garbage":    bytes.Repeat([]byte{0, 1, 2, 3}, 1000),
	} {
		_, err := g.Generate(context.Background(), fileSource(t, data, "video/mp4"), Request{Time: DefaultTime})
		if codeOf(err) != refstore.CodeMediaUnreadable {
			t.Errorf("%s: %v, want %s", name, err, refstore.CodeMediaUnreadable)
		}
	}
}

// Tool limits are configuration, and a tool over them is a 422, not a hang or a 500.
func TestToolLimitsAreEnforced(t *testing.T) {
	clip := colourClip(t)
	g := toolGen(t, Config{VideoLimits: sandbox.Limits{Timeout: 20 * time.Millisecond}})
	start := time.Now()
	_, err := g.Generate(context.Background(), fileSource(t, clip, "video/mp4"), Request{})
	if codeOf(err) != refstore.CodeMediaUnreadable || !strings.Contains(err.Error(), "time limit") {
		t.Errorf("timeout: %v", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("took %s", d)
	}
	// An 8000×8000 RGB frame (a PNG, which ffmpeg reads as a one-frame video) needs about
	// 500 MB of address space with ffmpeg's libraries: refused under 450 MB, made under
	// the default 1 GiB.
	big := fileSource(t, ffmpegMake(t, "big.png", "-f", "lavfi", "-i", "color=c=red:s=8000x8000", "-frames:v", "1"), "video/mp4")
	g = toolGen(t, Config{VideoLimits: sandbox.Limits{Memory: 450 << 20}})
	if _, err = g.Generate(context.Background(), big, Request{Time: 0}); codeOf(err) != refstore.CodeMediaUnreadable {
		t.Errorf("memory: %v", err)
	}
	g = toolGen(t, Config{})
	if _, err = g.Generate(context.Background(), big, Request{Time: 0}); err != nil {
		t.Errorf("memory, default limit: %v", err)
	}
	g = toolGen(t, Config{PDFLimits: sandbox.Limits{Stdout: 1000}})
	_, err = g.Generate(context.Background(), fileSource(t, twoPagePDF, "application/pdf"), Request{Width: 1280})
	if codeOf(err) != refstore.CodeMediaUnreadable || !strings.Contains(err.Error(), "size limit") {
		t.Errorf("output cap: %v", err)
	}
}

// Without the tools' sandbox, PDF and video previews answer 501 at once and images still work.
func TestToolKindsUnavailableWithoutSandbox(t *testing.T) {
	noBwrap := sandbox.Detect(context.Background(), sandbox.Options{Tools: Tools, Bwrap: "/nonexistent/bwrap"})
	for _, g := range []*Generator{NewGenerator(Config{}), NewGenerator(Config{Sandbox: noBwrap})} {
		for _, c := range []struct {
			data []byte
			ct   string
		}{{twoPagePDF, "application/pdf"}, {[]byte("x"), "video/mp4"}} {
			start := time.Now()
			_, err := g.Generate(context.Background(), fileSource(t, c.data, c.ct), Request{})
			if codeOf(err) != refstore.CodeNoPreviewTool {
				t.Errorf("%s: %v, want %s", c.ct, err, refstore.CodeNoPreviewTool)
			}
			if time.Since(start) > time.Second {
				t.Errorf("%s: took %s", c.ct, time.Since(start))
			}
		}
		if err := g.Available(KindImage); err != nil {
			t.Errorf("images: %v", err)
		}
		if _, err := g.Generate(context.Background(), fileSource(t, encodePNG(t, quadrants(10, 10)), "image/png"), Request{}); err != nil {
			t.Errorf("image: %v", err)
		}
	}
}

// A remote source's private copy is gone when the preview is made (it is unlinked from
// the start).
func TestRemoteSourceLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	g := toolGen(t, Config{TempDir: dir})
	if _, err := g.Generate(context.Background(), streamSource(twoPagePDF, "application/pdf"), Request{}); err != nil {
		t.Fatal(err)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left in the temp dir: %v", ents)
	}
}
