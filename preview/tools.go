package preview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image/png"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/sandbox"
)

// Tools are the external programs previews use; give them to sandbox.Detect.
var Tools = []string{"pdftoppm", "ffmpeg"}

// toolOf is the program each tool-based kind needs.
var toolOf = map[Kind]string{KindPDF: "pdftoppm", KindVideo: "ffmpeg"}

// DefaultPDFLimits bound one pdftoppm run: a page of a normal document renders in well
// under a second in a few tens of megabytes.
func DefaultPDFLimits() sandbox.Limits {
	return sandbox.Limits{Timeout: 20 * time.Second, CPU: 20 * time.Second, Memory: 512 << 20, Stdout: 32 << 20}
}

// DefaultVideoLimits bound one ffmpeg run. ffmpeg maps about 400 MB of shared libraries
// before it reads a byte, so its address-space limit must be well above that; decoding
// one 4K frame on one thread needs about 100 MB more.
func DefaultVideoLimits() sandbox.Limits {
	return sandbox.Limits{Timeout: 20 * time.Second, CPU: 20 * time.Second, Memory: 1 << 30, Stdout: 32 << 20}
}

var wrongPage = regexp.MustCompile(`Wrong page range given: the first page \((\d+)\) can not be after the last page \((\d+)\)`)

// pdfPreview renders one page of the PDF in f at the key's width with pdftoppm.
func (g *Generator) pdfPreview(ctx context.Context, f *os.File, k Key) (*Preview, error) {
	page := strconv.Itoa(k.Page)
	res, err := g.cfg.Sandbox.Run(ctx, sandbox.Cmd{
		Tool: "pdftoppm",
		// -singlefile without an output root writes the PNG to standard output, whose size
		// the sandbox bounds as a whole.
		Args:   []string{"-f", page, "-l", page, "-singlefile", "-png", "-scale-to-x", strconv.Itoa(k.Width), "-scale-to-y", "-1", "/in/input.pdf"},
		Inputs: []sandbox.Input{{File: f, Name: "input.pdf"}},
		Limits: g.cfg.PDFLimits,
	})
	if err != nil {
		var ee *sandbox.ExitError
		if errors.As(err, &ee) {
			if m := wrongPage.FindStringSubmatch(ee.Stderr); m != nil {
				return nil, &refstore.Error{Code: refstore.CodeOutOfRange, Param: "page", Err: err,
					Message: fmt.Sprintf("The PDF has no page %s: it has %s.", m[1], pages(m[2]))}
			}
		}
		return nil, toolError("pdftoppm", "PDF", err)
	}
	return g.fromToolPNG(res.Stdout, k.Width, "pdftoppm")
}

func pages(n string) string {
	if n == "1" {
		return "1 page"
	}
	return n + " pages"
}

// videoPreview takes the frame at the key's time (the default poster time when none),
// scaled to the key's width at most, with ffmpeg.
func (g *Generator) videoPreview(ctx context.Context, f *os.File, k Key) (*Preview, error) {
	at := time.Duration(k.TimeMS) * time.Millisecond
	if k.TimeMS < 0 {
		at = PosterTime
	}
	frame, err := g.videoFrame(ctx, f, at, k.Width)
	if err == nil && len(frame) == 0 && k.TimeMS < 0 {
		// A clip shorter than the poster time: its first frame.
		frame, err = g.videoFrame(ctx, f, 0, k.Width)
	}
	if err != nil {
		return nil, toolError("ffmpeg", "video", err)
	}
	if len(frame) == 0 {
		if k.TimeMS <= 0 {
			return nil, refstore.Errorf(refstore.CodeMediaUnreadable, "The video has no frame to show.")
		}
		return nil, &refstore.Error{Code: refstore.CodeOutOfRange, Param: "t",
			Message: fmt.Sprintf("The video has no frame at %s seconds: it is shorter.", strconv.FormatFloat(at.Seconds(), 'f', -1, 64))}
	}
	return g.fromToolPNG(frame, k.Width, "ffmpeg")
}

// videoFrame runs ffmpeg for one frame at time at, as PNG, at most width pixels wide on
// display (the sample aspect ratio applied). A time past the end yields no bytes.
func (g *Generator) videoFrame(ctx context.Context, f *os.File, at time.Duration, width int) ([]byte, error) {
	w := strconv.Itoa(width)
	dispW := "min(" + w + ",iw*sar)"
	res, err := g.cfg.Sandbox.Run(ctx, sandbox.Cmd{
		Tool: "ffmpeg",
		Args: []string{"-nostdin", "-hide_banner", "-loglevel", "error",
			// One decoding thread: a poster frame does not need more, and each thread
			// costs address space under the memory limit.
			"-threads", "1", "-filter_threads", "1",
			// Only the file itself: a playlist or concat list naming other files or URLs
			// is refused.
			"-protocol_whitelist", "file",
			// Seeking before -i jumps to the keyframe before, then decodes up to the time.
			"-ss", strconv.FormatFloat(at.Seconds(), 'f', 3, 64),
			"-i", "/in/input",
			"-map", "0:v:0", "-an", "-sn", "-dn", "-frames:v", "1",
			"-vf", "scale=w='" + dispW + "':h='max(1,ih*" + dispW + "/(iw*sar))',setsar=1",
			"-f", "image2pipe", "-c:v", "png", "pipe:1"},
		Inputs: []sandbox.Input{{File: f, Name: "input"}},
		Limits: g.cfg.VideoLimits,
	})
	if err != nil {
		return nil, err
	}
	return res.Stdout, nil
}

// fromToolPNG turns a tool's PNG into the preview: its size is checked like any image's
// (the tool read untrusted input), then it is fitted to width and encoded like an image.
func (g *Generator) fromToolPNG(b []byte, width int, tool string) (*Preview, error) {
	cfg, err := png.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, refstore.Internal(fmt.Errorf("preview: %s wrote no PNG: %w", tool, err))
	}
	if err := checkSize(cfg, "png", g.limits()); err != nil {
		return nil, err
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, refstore.Internal(fmt.Errorf("preview: decoding %s's PNG: %w", tool, err))
	}
	return encodePreview(img, 1, width, g.cfg.JPEGQuality)
}

// toolError maps a sandboxed run's failure to the domain: the tool missing is 501, the
// file defeating the tool (corrupt, too slow, too big) is 422, the caller leaving is
// its own error.
func toolError(tool, what string, err error) error {
	var ee *sandbox.ExitError
	switch {
	case errors.Is(err, sandbox.ErrUnavailable):
		return &refstore.Error{Code: refstore.CodeNoPreviewTool, Err: err,
			Message: fmt.Sprintf("Previews of %s files need %s in a sandbox, which this server does not have.", what, tool)}
	case errors.Is(err, sandbox.ErrTimeout), errors.Is(err, sandbox.ErrCPULimit):
		return &refstore.Error{Code: refstore.CodeMediaUnreadable, Err: err,
			Message: fmt.Sprintf("The %s file could not be previewed within the time limit.", what)}
	case errors.Is(err, sandbox.ErrOutputTooLarge), errors.Is(err, sandbox.ErrFileSizeLimit):
		return &refstore.Error{Code: refstore.CodeMediaUnreadable, Err: err,
			Message: fmt.Sprintf("The preview of the %s file came out over the size limit.", what)}
	case errors.As(err, &ee):
		msg := fmt.Sprintf("The %s file cannot be read (%s failed).", what, tool)
		if strings.Contains(ee.Stderr, "Cannot allocate memory") {
			msg = fmt.Sprintf("The %s file could not be previewed within the memory limit.", what)
		}
		return &refstore.Error{Code: refstore.CodeMediaUnreadable, Err: err, Message: msg}
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return err
	}
	return refstore.Internal(err)
}
