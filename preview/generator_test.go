package preview

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/refstore/refstore"
)

// labelled gives the same bytes another identity: the generator keys on the SHA-256 the
// caller declares, so n labels are n distinct previews to make.
func labelled(src Source, i int) Source {
	src.SHA256 = fmt.Sprintf("%064x", i+1)
	return src
}

// 200 requests for 200 different videos never run more than Workers ffmpeg at once, and
// each runs exactly one. (-short makes it 40 requests: each ffmpeg start costs about
// 0.4 s of CPU on this 2-core machine.)
func TestPoolBoundsToolProcesses(t *testing.T) {
	n := 200
	if testing.Short() {
		n = 40
	}
	sb := sandboxed(t)
	clip := ffmpegMake(t, "tiny.mp4", "-f", "lavfi", "-i", "testsrc=s=64x48:r=10:d=1", "-pix_fmt", "yuv420p")
	src := fileSource(t, clip, "video/mp4")
	g := NewGenerator(Config{Workers: 2, Sandbox: sb})
	before := sb.Stats()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			_, err := g.Generate(context.Background(), labelled(src, i), Request{Width: 160, Time: 0})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	after := sb.Stats()
	if started := after.Started - before.Started; started != int64(n) {
		t.Errorf("%d ffmpeg processes for %d previews", started, n)
	}
	// The sandbox is shared with other tests of the package only sequentially, so its
	// peak is this test's.
	if after.MaxRunning > 2 || g.Stats().MaxRunning > 2 {
		t.Errorf("at most %d processes and %d generations at once, pool of 2", after.MaxRunning, g.Stats().MaxRunning)
	}
	if s := g.Stats(); s.Generated != int64(n) || s.Joined != 0 || s.Running != 0 {
		t.Errorf("stats %+v", s)
	}
}

// 200 concurrent requests for one preview run one generation, and all get its bytes.
func TestSingleFlightPerKey(t *testing.T) {
	sb := sandboxed(t)
	clip := ffmpegMake(t, "tiny.mp4", "-f", "lavfi", "-i", "testsrc=s=64x48:r=10:d=1", "-pix_fmt", "yuv420p")
	src := fileSource(t, clip, "video/mp4")
	g := NewGenerator(Config{Workers: 4, Sandbox: sb})
	before := sb.Stats().Started
	var wg sync.WaitGroup
	results := make([]*Preview, 200)
	start := make(chan struct{})
	for i := range 200 {
		wg.Go(func() {
			<-start
			p, err := g.Generate(context.Background(), src, Request{Width: 200, Time: 0}) // snaps to 320
			if err != nil {
				t.Error(err)
			}
			results[i] = p
		})
	}
	close(start)
	wg.Wait()
	if n := sb.Stats().Started - before; n != 1 {
		t.Errorf("%d ffmpeg runs for one key", n)
	}
	if s := g.Stats(); s.Generated != 1 || s.Joined != 199 {
		t.Errorf("stats %+v", s)
	}
	for _, p := range results {
		if p == nil || !bytes.Equal(p.Data, results[0].Data) {
			t.Fatal("callers got different previews")
		}
	}
	// Done flights are forgotten: the next request generates again (storing is the caller's).
	if _, err := g.Generate(context.Background(), src, Request{Width: 320, Time: 0}); err != nil || g.Stats().Generated != 2 {
		t.Errorf("after the flight: %v, %+v", err, g.Stats())
	}
}

// A generation goes on while any caller waits for it, and is cancelled when the last
// one leaves.
func TestFlightCancelledWhenLastWaiterLeaves(t *testing.T) {
	g := NewGenerator(Config{Workers: 1})
	k := Key{SHA256: strings.Repeat("a", 64), Kind: KindImage, Width: 320}
	started := make(chan struct{})
	cancelled := make(chan struct{})
	work := func(ctx context.Context) (*Preview, error) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return nil, ctx.Err()
	}
	ctxA, cancelA := context.WithCancel(context.Background())
	ctxB, cancelB := context.WithCancel(context.Background())
	errA, errB := make(chan error, 1), make(chan error, 1)
	go func() { _, err := g.join(ctxA, k, work); errA <- err }()
	<-started
	go func() {
		_, err := g.join(ctxB, k, func(context.Context) (*Preview, error) { panic("second generation") })
		errB <- err
	}()
	for g.Stats().Joined == 0 {
		time.Sleep(time.Millisecond)
	}
	cancelA()
	if err := <-errA; !errors.Is(err, context.Canceled) {
		t.Errorf("A: %v", err)
	}
	select {
	case <-cancelled:
		t.Fatal("the generation was cancelled while B still waited")
	case <-time.After(100 * time.Millisecond):
	}
	cancelB()
	<-errB
	select {
	case <-cancelled:
	case <-time.After(2 * time.Second):
		t.Fatal("the generation went on after every caller left")
	}
	// A new caller starts a new generation.
	p, err := g.join(context.Background(), k, func(context.Context) (*Preview, error) { return &Preview{Width: 7}, nil })
	if err != nil || p.Width != 7 {
		t.Errorf("fresh flight: %v %v", p, err)
	}
}

// Callers queued for a slot leave without starting anything when they give up.
func TestQueuedGenerationAbandoned(t *testing.T) {
	g := NewGenerator(Config{Workers: 1})
	g.slots <- struct{}{} // the only slot is busy
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	src := fileSource(t, encodePNG(t, quadrants(10, 10)), "image/png")
	if _, err := g.Generate(ctx, src, Request{}); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v", err)
	}
	<-g.slots
	time.Sleep(20 * time.Millisecond)
	if s := g.Stats(); s.Generated != 0 || s.Running != 0 {
		t.Errorf("stats %+v", s)
	}
}

func TestKindOf(t *testing.T) {
	for ct, want := range map[string]Kind{
		"image/jpeg": KindImage, "image/png": KindImage, "image/gif": KindImage, "image/webp": KindImage,
		"image/bmp": KindImage, "image/tiff": KindImage, "IMAGE/JPEG; q=1": KindImage,
		"application/pdf": KindPDF, "video/mp4": KindVideo, "video/webm": KindVideo, "video/quicktime": KindVideo,
	} {
		if k, err := KindOf(ct); k != want || err != nil {
			t.Errorf("%s: %s %v", ct, k, err)
		}
	}
	for _, ct := range []string{"image/svg+xml", "image/heic", "image/avif", "audio/mpeg", "text/html", "application/octet-stream", ""} {
		if _, err := KindOf(ct); refstore.ErrorCode(err) != refstore.CodeUnsupportedMedia {
			t.Errorf("%s: %v", ct, err)
		}
	}
	_, err := NewGenerator(Config{}).Generate(context.Background(), streamSource([]byte("<svg/>"), "image/svg+xml"), Request{})
	if refstore.ErrorCode(err) != refstore.CodeUnsupportedMedia {
		t.Errorf("Generate svg: %v", err)
	}
}

func TestSnapAndParse(t *testing.T) {
	for in, want := range map[int]int{-5: 320, 0: 320, 1: 160, 160: 160, 161: 320, 320: 320, 500: 640, 640: 640, 641: 1280, 1280: 1280, 5000: 1280} {
		if got := SnapWidth(in); got != want {
			t.Errorf("SnapWidth(%d) = %d, want %d", in, got, want)
		}
	}
	for in, want := range map[string]int{"": 320, "100": 160, "1280": 1280, "99999": 1280} {
		if got, err := ParseWidth(in); got != want || err != nil {
			t.Errorf("ParseWidth(%q) = %d %v", in, got, err)
		}
	}
	for _, bad := range []string{"0", "-1", "abc", "1.5", "1e3"} {
		if _, err := ParseWidth(bad); refstore.ErrorCode(err) != refstore.CodeInvalidParameter || !strings.Contains(err.Error(), "'width'") {
			t.Errorf("ParseWidth(%q): %v", bad, err)
		}
	}
	if p, err := ParsePage(""); p != 1 || err != nil {
		t.Errorf("ParsePage empty: %d %v", p, err)
	}
	for _, bad := range []string{"0", "-2", "x", "100001"} {
		if _, err := ParsePage(bad); refstore.ErrorCode(err) != refstore.CodeInvalidParameter {
			t.Errorf("ParsePage(%q): %v", bad, err)
		}
	}
	for in, want := range map[string]time.Duration{"": DefaultTime, "0": 0, "1.5": 1500 * time.Millisecond, "12.3456": 12346 * time.Millisecond} {
		if got, err := ParseTime(in); got != want || err != nil {
			t.Errorf("ParseTime(%q) = %s %v", in, got, err)
		}
	}
	for _, bad := range []string{"-1", "NaN", "inf", "x", "86401"} {
		if _, err := ParseTime(bad); refstore.ErrorCode(err) != refstore.CodeInvalidParameter {
			t.Errorf("ParseTime(%q): %v", bad, err)
		}
	}
}

func TestKeys(t *testing.T) {
	h := strings.Repeat("ab", 32)
	for _, c := range []struct {
		ct   string
		req  Request
		want string
	}{
		{"image/png", Request{Width: 100, Page: 3, Time: 5 * time.Second}, h + "-image-w160"},
		{"application/pdf", Request{Width: 700}, h + "-pdf-w1280-p1"},
		{"application/pdf", Request{Page: 4}, h + "-pdf-w320-p4"},
		{"video/mp4", Request{Time: DefaultTime}, h + "-video-w320-tdefault"},
		{"video/mp4", Request{Time: 1500 * time.Millisecond}, h + "-video-w320-t1500"},
		{"video/mp4", Request{}, h + "-video-w320-t0"},
	} {
		k, err := KeyOf(Source{SHA256: strings.ToUpper(h), ContentType: c.ct}, c.req)
		if err != nil || k.String() != c.want {
			t.Errorf("%s %+v: %s %v, want %s", c.ct, c.req, k, err, c.want)
		}
	}
	if _, err := KeyOf(Source{SHA256: "xyz", ContentType: "image/png"}, Request{}); err == nil {
		t.Error("bad SHA-256 accepted")
	}
}
