package s3store

// These tests run against a real S3 gateway (versitygw, started by testenv): nothing is
// faked. They are in the package so that they can count the requests the store sends.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/internal/testenv"
)

func TestParseURL(t *testing.T) {
	valid := []struct {
		raw  string
		want Config
	}{
		{"s3://bucket", Config{Bucket: "bucket", Region: "us-east-1"}},
		{"s3://bucket?endpoint=http://127.0.0.1:9000&region=eu-west-3&path-style=true",
			Config{Bucket: "bucket", Endpoint: "http://127.0.0.1:9000", Region: "eu-west-3", PathStyle: true}},
		{"s3://bucket/refs?path-style=false", Config{Bucket: "bucket", Prefix: "refs/", Region: "us-east-1"}},
		{"s3://bucket/a/b/?region=us-west-2", Config{Bucket: "bucket", Prefix: "a/b/", Region: "us-west-2"}},
		{"s3://bucket//a//?path-style=1", Config{Bucket: "bucket", Prefix: "a/", Region: "us-east-1", PathStyle: true}},
		{"s3://bucket?part-size=5242880", Config{Bucket: "bucket", Region: "us-east-1", PartSize: 5 << 20}},
		{"s3://bucket?part-size=67108864", Config{Bucket: "bucket", Region: "us-east-1", PartSize: 64 << 20}},
	}
	for _, tc := range valid {
		got, err := ParseURL(tc.raw)
		if err != nil {
			t.Errorf("ParseURL(%q): %v", tc.raw, err)
			continue
		}
		if got != tc.want {
			t.Errorf("ParseURL(%q) = %+v, want %+v", tc.raw, got, tc.want)
		}
	}

	invalid := []struct {
		raw, mention string
	}{
		{"file:/var/lib/refstore", "s3://BUCKET"},
		{"http://bucket", "s3://BUCKET"},
		{"gs://bucket", "s3://BUCKET"},
		{"s3://", "s3://BUCKET"},
		{"s3:///prefix", "s3://BUCKET"},
		{"bucket", "s3://BUCKET"},
		{"s3://bucket?endpoint=http://x&color=blue", `unknown parameter "color"`},
		{"s3://bucket?pathstyle=true", `unknown parameter "pathstyle"`},
		{"s3://bucket?path-style=maybe", "path-style"},
		{"s3://bucket?part-size=5242879", "at least 5 MiB"},
		{"s3://bucket?part-size=1MiB", "at least 5 MiB"},
		{"s3://bucket?part-size=-1", "at least 5 MiB"},
		{"s3://AKIAEXAMPLE:s3cret@bucket?region=eu-west-1", "AWS_SECRET_ACCESS_KEY"},
	}
	for _, tc := range invalid {
		_, err := ParseURL(tc.raw)
		if err == nil {
			t.Errorf("ParseURL(%q) accepted a bad URL", tc.raw)
			continue
		}
		if !strings.Contains(err.Error(), tc.mention) {
			t.Errorf("ParseURL(%q): error %q does not say %q", tc.raw, err, tc.mention)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("ParseURL(%q): error %q shows the secret", tc.raw, err)
		}
	}
}

// s3Credentials puts the gateway's credentials where the AWS SDK looks for them.
func s3Credentials(t *testing.T, gw *testenv.S3) {
	t.Helper()
	for _, kv := range gw.Env() {
		k, v, _ := strings.Cut(kv, "=")
		t.Setenv(k, v)
	}
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
}

// requestCounter counts the HTTP requests a store sends, by method.
type requestCounter struct {
	next http.RoundTripper
	mu   sync.Mutex
	n    map[string]int
	last string // the last request's method, path and Range header
}

func (c *requestCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	c.mu.Lock()
	c.n[r.Method]++
	c.last = r.Method + " " + r.URL.Path + " " + r.Header.Get("Range")
	c.mu.Unlock()
	return c.next.RoundTrip(r)
}

func (c *requestCounter) count(method string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[method]
}

func (c *requestCounter) total() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, v := range c.n {
		n += v
	}
	return n
}

// openStore opens a store on the gateway's bucket (under its own prefix) whose requests
// are counted.
func openStore(t *testing.T, gw *testenv.S3, partSize int64) (*Store, *requestCounter) {
	t.Helper()
	s3Credentials(t, gw)
	cfg, err := ParseURL(gw.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Prefix = fmt.Sprintf("t%d/", time.Now().UnixNano())
	cfg.PartSize = partSize
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := Open(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	counter := &requestCounter{next: http.DefaultTransport, n: map[string]int{}}
	s.client = s3.New(s.client.Options(), func(o *s3.Options) {
		o.HTTPClient = &http.Client{Transport: counter}
		// Fail fast when the tests stop the gateway.
		o.RetryMaxAttempts = 2
	})
	s.presign = s3.NewPresignClient(s.client)
	return s, counter
}

func randomData(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

func readBlob(t *testing.T, s *Store, ref refstore.BlobRef, size int64) []byte {
	t.Helper()
	r, err := s.Open(context.Background(), ref, size)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("reading %s: %v", ref.Key, err)
	}
	return b
}

// multipartUploads lists the unfinished multipart uploads of the bucket.
func multipartUploads(t *testing.T, gw *testenv.S3) []string {
	t.Helper()
	out, err := gw.Client().ListMultipartUploads(context.Background(), &s3.ListMultipartUploadsInput{Bucket: &gw.Bucket})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, u := range out.Uploads {
		keys = append(keys, aws.ToString(u.Key))
	}
	return keys
}

func TestOpenErrors(t *testing.T) {
	gw := testenv.StartS3(t)
	s3Credentials(t, gw)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Nothing listens on port 1.
	_, err := Open(ctx, Config{Bucket: "refstore", Endpoint: "http://127.0.0.1:1", Region: "us-east-1", PathStyle: true})
	if err == nil {
		t.Fatal("Open succeeded on an unreachable endpoint")
	}
	if !strings.Contains(err.Error(), "s3://refstore") || !strings.Contains(err.Error(), "unavailable") {
		t.Errorf("unreachable endpoint: error %q should name the bucket and say the store is unavailable", err)
	}

	cfg, err := ParseURL(gw.URL())
	if err != nil {
		t.Fatal(err)
	}
	cfg.Bucket = "no-such-bucket"
	_, err = Open(ctx, cfg)
	if err == nil {
		t.Fatal("Open succeeded on a missing bucket")
	}
	if !strings.Contains(err.Error(), "s3://no-such-bucket") || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing bucket: error %q should name the bucket and say it does not exist", err)
	}
	if code := refstore.ErrorCode(err); code != refstore.CodeUnavailable {
		t.Errorf("missing bucket: code %q, want %q", code, refstore.CodeUnavailable)
	}

	// Wrong credentials are not "unreachable": they say so.
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-the-secret")
	cfg.Bucket = gw.Bucket
	_, err = Open(ctx, cfg)
	if err == nil {
		t.Fatal("Open succeeded with a wrong secret key")
	}
	if strings.Contains(err.Error(), "not-the-secret") || strings.Contains(err.Error(), gw.SecretKey) {
		t.Errorf("the error shows a secret: %q", err)
	}
}

func TestPutAndRead(t *testing.T) {
	gw := testenv.StartS3(t)
	s, counter := openStore(t, gw, 5<<20)
	ctx := context.Background()

	small := randomData(100_000)
	before := counter.count("POST")
	key, size, err := s.Put(ctx, "acme", bytes.NewReader(small))
	if err != nil {
		t.Fatal(err)
	}
	if size != int64(len(small)) || !validKey(key) {
		t.Fatalf("Put: key %q size %d", key, size)
	}
	if n := counter.count("POST"); n != before {
		t.Errorf("a small blob took %d POST requests (multipart); want one PutObject", n-before)
	}
	if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: key}, size); !bytes.Equal(got, small) {
		t.Fatalf("small blob: read %d bytes that differ from the %d written", len(got), len(small))
	}

	// An empty blob is a blob too.
	emptyKey, emptySize, err := s.Put(ctx, "acme", bytes.NewReader(nil))
	if err != nil || emptySize != 0 {
		t.Fatalf("empty Put: size %d, %v", emptySize, err)
	}
	if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: emptyKey}, 0); len(got) != 0 {
		t.Fatalf("empty blob read %d bytes", len(got))
	}

	// Larger than a part (and not a multiple of it): a multipart upload of three parts.
	large := randomData(12<<20 + 12345)
	beforePut := counter.count("PUT")
	key2, size2, err := s.Put(ctx, "acme", io.MultiReader(bytes.NewReader(large[:1000]), bytes.NewReader(large[1000:])))
	if err != nil {
		t.Fatal(err)
	}
	if size2 != int64(len(large)) {
		t.Fatalf("large Put: size %d, want %d", size2, len(large))
	}
	if n := counter.count("PUT") - beforePut; n != 3 {
		t.Errorf("a 12 MiB blob with 5 MiB parts took %d PUT requests, want 3 UploadPart", n)
	}
	ref2 := refstore.BlobRef{Account: "acme", Key: key2}
	if got := readBlob(t, s, ref2, size2); sha256.Sum256(got) != sha256.Sum256(large) {
		t.Fatalf("large blob: read %d bytes that differ from the %d written", len(got), len(large))
	}
	if up := multipartUploads(t, gw); len(up) != 0 {
		t.Errorf("unfinished multipart uploads after a good Put: %v", up)
	}

	t.Run("reader", func(t *testing.T) {
		r, err := s.Open(ctx, ref2, size2)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()

		// The size is known without asking the store.
		n0 := counter.total()
		end, err := r.Seek(0, io.SeekEnd)
		if err != nil || end != size2 {
			t.Fatalf("Seek(0, SeekEnd) = %d, %v; want %d", end, err, size2)
		}
		if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
			t.Fatalf("Read at the end: %d, %v; want 0, EOF", n, err)
		}
		if counter.total() != n0 {
			t.Errorf("Seek to the end and a read there sent %d requests", counter.total()-n0)
		}

		readAt := func(off int64, n int) []byte {
			t.Helper()
			if _, err := r.Seek(off, io.SeekStart); err != nil {
				t.Fatal(err)
			}
			buf := make([]byte, n)
			if _, err := io.ReadFull(r, buf); err != nil {
				t.Fatalf("reading %d bytes at %d: %v", n, off, err)
			}
			return buf
		}
		for _, off := range []int64{0, 1, 4096, 7 << 20, size2 - 100} {
			if got := readAt(off, 100); !bytes.Equal(got, large[off:off+100]) {
				t.Fatalf("100 bytes at %d differ", off)
			}
		}
		// Across the boundary between the first and second parts.
		boundary := int64(5 << 20)
		if got := readAt(boundary-1000, 3000); !bytes.Equal(got, large[boundary-1000:boundary+2000]) {
			t.Fatal("bytes across the part boundary differ")
		}
		// SeekCurrent and a read to the end.
		if _, err := r.Seek(-50, io.SeekCurrent); err != nil {
			t.Fatal(err)
		}
		rest, err := io.ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		if from := boundary + 2000 - 50; !bytes.Equal(rest, large[from:]) {
			t.Fatalf("the rest from %d: %d bytes that differ", from, len(rest))
		}
		if _, err := r.Seek(-1, io.SeekStart); err == nil {
			t.Error("Seek to a negative position succeeded")
		}

		// Prefetch announces a range: one GET of exactly it, then reads from its start.
		p, ok := r.(refstore.RangePrefetcher)
		if !ok {
			t.Fatal("the S3 reader does not implement RangePrefetcher")
		}
		start, stop := int64(3<<20), int64(6<<20+17) // inclusive, across a part boundary
		gets := counter.count("GET")
		if err := p.Prefetch(start, stop); err != nil {
			t.Fatal(err)
		}
		if counter.count("GET") != gets+1 {
			t.Fatalf("Prefetch sent %d GETs, want 1", counter.count("GET")-gets)
		}
		if want := fmt.Sprintf("bytes=%d-%d", start, stop); !strings.HasSuffix(counter.last, want) {
			t.Errorf("Prefetch's request %q does not ask for %s", counter.last, want)
		}
		if _, err := r.Seek(start, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		got := make([]byte, stop-start+1)
		if _, err := io.ReadFull(r, got); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, large[start:stop+1]) {
			t.Fatal("the prefetched range holds other bytes")
		}
		if counter.count("GET") != gets+1 {
			t.Errorf("reading the prefetched range sent %d more GETs", counter.count("GET")-gets-1)
		}
		// Past the prefetched range, reading goes on with a new GET.
		tail := make([]byte, 1000)
		if _, err := io.ReadFull(r, tail); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(tail, large[stop+1:stop+1001]) {
			t.Fatal("bytes after the prefetched range differ")
		}
		// A range past the end is nothing to prefetch.
		if err := p.Prefetch(size2, size2+10); err != nil {
			t.Errorf("Prefetch past the end: %v", err)
		}
	})

	t.Run("missing", func(t *testing.T) {
		missing := refstore.BlobRef{Account: "acme", Key: newKey()}
		r, err := s.Open(ctx, missing, 10)
		if err != nil {
			t.Fatalf("Open is lazy, but failed: %v", err)
		}
		defer r.Close()
		if _, err := r.Read(make([]byte, 10)); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("reading a missing blob: %v, want fs.ErrNotExist", err)
		}
		r2, _ := s.Open(ctx, missing, 10)
		defer r2.Close()
		if err := r2.(refstore.RangePrefetcher).Prefetch(0, 9); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("prefetching a missing blob: %v, want fs.ErrNotExist", err)
		}
		if _, err := s.Open(ctx, refstore.BlobRef{Account: "acme", Key: "../../etc/passwd"}, 10); err == nil {
			t.Error("Open accepted a key that is not one of the store's")
		}
		if _, err := s.Open(ctx, refstore.BlobRef{Account: "a/b", Key: newKey()}, 10); err == nil {
			t.Error("Open accepted an invalid account")
		}
	})
}

func TestDeleteAndWalk(t *testing.T) {
	gw := testenv.StartS3(t)
	s, _ := openStore(t, gw, 5<<20)
	ctx := context.Background()

	want := map[refstore.BlobRef]bool{}
	for _, account := range []string{"acme", "acme", "globex", "initech"} {
		key, _, err := s.Put(ctx, account, bytes.NewReader(randomData(1000)))
		if err != nil {
			t.Fatal(err)
		}
		want[refstore.BlobRef{Account: account, Key: key}] = true
	}
	// Objects beside the blobs (another prefix, odd names below accounts/) are not blobs.
	other := gw.Client()
	for _, k := range []string{"elsewhere/x", s.cfg.Prefix + "accounts/acme/notes.txt", s.cfg.Prefix + "accounts/acme/blobs/zz/not-a-key"} {
		if _, err := other.PutObject(ctx, &s3.PutObjectInput{Bucket: &gw.Bucket, Key: aws.String(k), Body: strings.NewReader("x")}); err != nil {
			t.Fatal(err)
		}
	}

	walk := func() map[refstore.BlobRef]bool {
		t.Helper()
		got := map[refstore.BlobRef]bool{}
		err := s.Walk(ctx, func(ref refstore.BlobRef, mod time.Time) error {
			if got[ref] {
				t.Errorf("Walk reported %v twice", ref)
			}
			if time.Since(mod) > time.Hour || time.Until(mod) > time.Minute {
				t.Errorf("Walk: %v modified at %v", ref, mod)
			}
			got[ref] = true
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	same := func(a, b map[refstore.BlobRef]bool) bool {
		if len(a) != len(b) {
			return false
		}
		for k := range a {
			if !b[k] {
				return false
			}
		}
		return true
	}
	if got := walk(); !same(got, want) {
		t.Fatalf("Walk listed %v, want %v", got, want)
	}

	var gone refstore.BlobRef
	for ref := range want {
		gone = ref
		break
	}
	if err := s.Delete(ctx, gone); err != nil {
		t.Fatal(err)
	}
	delete(want, gone)
	if got := walk(); !same(got, want) {
		t.Fatalf("after Delete, Walk listed %v, want %v", got, want)
	}
	r, _ := s.Open(ctx, gone, 1000)
	if _, err := r.Read(make([]byte, 1)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("reading a deleted blob: %v, want fs.ErrNotExist", err)
	}
	r.Close()
	// Deleting what is not there is not an error.
	if err := s.Delete(ctx, gone); err != nil {
		t.Errorf("deleting a deleted blob: %v", err)
	}
	if err := s.Delete(ctx, refstore.BlobRef{Account: "nobody", Key: newKey()}); err != nil {
		t.Errorf("deleting a blob that never was: %v", err)
	}

	// Walk stops at the first error of fn.
	stop := errors.New("stop")
	calls := 0
	if err := s.Walk(ctx, func(refstore.BlobRef, time.Time) error { calls++; return stop }); err != stop || calls != 1 {
		t.Errorf("Walk with a failing fn: %v after %d calls", err, calls)
	}
}

// failingReader yields n random bytes, then fails.
type failingReader struct {
	left int
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.left == 0 {
		return 0, f.err
	}
	n := min(len(p), f.left)
	rand.Read(p[:n])
	f.left -= n
	return n, nil
}

func TestPutFailingReader(t *testing.T) {
	gw := testenv.StartS3(t)
	s, _ := openStore(t, gw, 5<<20)
	ctx := context.Background()
	broken := errors.New("client went away")

	// Within the first part (no upload started), and after two parts were uploaded.
	for _, n := range []int{1000, 11 << 20} {
		_, _, err := s.Put(ctx, "acme", &failingReader{left: n, err: broken})
		if !errors.Is(err, broken) {
			t.Fatalf("Put of a reader failing after %d bytes: %v, want the reader's error", n, err)
		}
		if keys := gw.Keys(t); len(keys) != 0 {
			t.Fatalf("after a failed Put of %d bytes, the bucket holds %v", n, keys)
		}
		if up := multipartUploads(t, gw); len(up) != 0 {
			t.Fatalf("after a failed Put of %d bytes, unfinished multipart uploads: %v", n, up)
		}
	}
	// A cancelled context fails the upload too, and keeps nothing.
	cctx, cancel := context.WithCancel(ctx)
	r := &failingReader{left: 20 << 20}
	pr, pw := io.Pipe()
	go func() {
		buf := make([]byte, 1<<20)
		for sent := 0; ; sent += len(buf) {
			if sent == 8<<20 {
				cancel()
			}
			r.Read(buf)
			if _, err := pw.Write(buf); err != nil {
				return
			}
		}
	}()
	if _, _, err := s.Put(cctx, "acme", pr); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	pr.CloseWithError(broken)
	if keys := gw.Keys(t); len(keys) != 0 {
		t.Fatalf("after a cancelled Put, the bucket holds %v", keys)
	}
	if up := multipartUploads(t, gw); len(up) != 0 {
		t.Fatalf("after a cancelled Put, unfinished multipart uploads: %v", up)
	}
}

func TestAbortStaleUploads(t *testing.T) {
	gw := testenv.StartS3(t)
	s, _ := openStore(t, gw, 5<<20)
	ctx := context.Background()
	client := gw.Client()
	start := func() string {
		key := s.cfg.Prefix + "accounts/acme/blobs/ab/" + newKey()
		if _, err := client.CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &gw.Bucket, Key: &key}); err != nil {
			t.Fatal(err)
		}
		return key
	}
	old := start()
	// S3 dates have a resolution of one second.
	time.Sleep(1500 * time.Millisecond)
	cutoff := time.Now()
	time.Sleep(1500 * time.Millisecond)
	recent := start()

	n, err := s.AbortStaleUploads(ctx, cutoff)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Errorf("AbortStaleUploads aborted %d uploads, want 1", n)
	}
	if up := multipartUploads(t, gw); len(up) != 1 || up[0] != recent {
		t.Fatalf("uploads left: %v, want only the recent %s (not the old %s)", up, recent, old)
	}
	// Again: nothing more is old enough.
	if n, err := s.AbortStaleUploads(ctx, cutoff); err != nil || n != 0 {
		t.Errorf("second AbortStaleUploads: %d, %v", n, err)
	}
	if n, err := s.AbortStaleUploads(ctx, time.Now().Add(time.Minute)); err != nil || n != 1 {
		t.Errorf("AbortStaleUploads of everything: %d, %v", n, err)
	}
	if up := multipartUploads(t, gw); len(up) != 0 {
		t.Fatalf("uploads left: %v", up)
	}
}

func TestPresignGet(t *testing.T) {
	gw := testenv.StartS3(t)
	s, _ := openStore(t, gw, 5<<20)
	ctx := context.Background()
	data := randomData(300_000)
	key, size, err := s.Put(ctx, "acme", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.Open(ctx, refstore.BlobRef{Account: "acme", Key: key}, size)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	p, ok := r.(refstore.Presigner)
	if !ok {
		t.Fatal("the S3 reader does not implement Presigner")
	}
	// A header as the HTTP layer writes it for a non-ASCII name.
	disposition := `attachment; filename="R_sum_ 2025.pdf"; filename*=UTF-8''R%C3%A9sum%C3%A9%202025.pdf`
	u, err := p.PresignGet("application/pdf", disposition, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(u, gw.Endpoint+"/") {
		t.Fatalf("presigned URL %q is not on the store's endpoint", u)
	}
	if strings.Contains(u, gw.SecretKey) {
		t.Fatal("the presigned URL carries the secret key")
	}
	// Plain net/http, no credentials.
	resp, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("presigned GET: status %d: %s", resp.StatusCode, body)
	}
	if !bytes.Equal(body, data) {
		t.Fatalf("presigned GET: %d bytes that differ from the %d stored", len(body), len(data))
	}
	if ct := resp.Header.Get("Content-Type"); ct != "application/pdf" {
		t.Errorf("Content-Type %q, want application/pdf", ct)
	}
	if cd := resp.Header.Get("Content-Disposition"); cd != disposition {
		t.Errorf("Content-Disposition %q, want %q", cd, disposition)
	}
	// A tampered URL is refused.
	bad := strings.Replace(u, "response-content-type=application%2Fpdf", "response-content-type=text%2Fhtml", 1)
	if bad == u {
		t.Fatalf("the presigned URL %q does not carry the content type", u)
	}
	if resp, err := http.Get(bad); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("a tampered presigned URL answered %d, want 403", resp.StatusCode)
		}
	}
}

// TestGatewayDown stops the gateway: every call fails as unavailable (503), none hangs,
// and the same store works again once the gateway is back.
func TestGatewayDown(t *testing.T) {
	gw := testenv.StartS3(t)
	s, _ := openStore(t, gw, 5<<20)
	ctx := context.Background()
	data := randomData(50_000)
	key, size, err := s.Put(ctx, "acme", bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	ref := refstore.BlobRef{Account: "acme", Key: key}

	gw.Stop()
	unavailable := func(what string, err error) {
		t.Helper()
		var e *refstore.Error
		if !errors.As(err, &e) || e.Code != refstore.CodeUnavailable {
			t.Errorf("%s with the gateway down: %v (%T), want a *refstore.Error with code %q", what, err, err, refstore.CodeUnavailable)
		}
	}
	var slowest time.Duration
	timed := func(f func() error) error {
		start := time.Now()
		err := f()
		slowest = max(slowest, time.Since(start))
		return err
	}
	unavailable("Ping", timed(func() error { return s.Ping(ctx) }))
	unavailable("Put (small)", timed(func() error { _, _, err := s.Put(ctx, "acme", bytes.NewReader(data)); return err }))
	unavailable("Put (multipart)", timed(func() error {
		_, _, err := s.Put(ctx, "acme", bytes.NewReader(randomData(6<<20)))
		return err
	}))
	unavailable("Open+Read", timed(func() error {
		r, err := s.Open(ctx, ref, size)
		if err != nil {
			return err
		}
		defer r.Close()
		_, err = r.Read(make([]byte, 100))
		return err
	}))
	unavailable("Prefetch", timed(func() error {
		r, _ := s.Open(ctx, ref, size)
		defer r.Close()
		return r.(refstore.RangePrefetcher).Prefetch(0, size-1)
	}))
	unavailable("Delete", timed(func() error { return s.Delete(ctx, ref) }))
	unavailable("Walk", timed(func() error { return s.Walk(ctx, func(refstore.BlobRef, time.Time) error { return nil }) }))
	unavailable("AbortStaleUploads", timed(func() error { _, err := s.AbortStaleUploads(ctx, time.Now()); return err }))
	t.Logf("slowest failure with the gateway down: %v", slowest)

	if err := gw.Start(); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping after the gateway is back: %v", err)
	}
	if got := readBlob(t, s, ref, size); !bytes.Equal(got, data) {
		t.Fatal("the blob written before the outage reads back different")
	}
	key2, size2, err := s.Put(ctx, "acme", bytes.NewReader(data))
	if err != nil {
		t.Fatalf("Put after the gateway is back: %v", err)
	}
	if got := readBlob(t, s, refstore.BlobRef{Account: "acme", Key: key2}, size2); !bytes.Equal(got, data) {
		t.Fatal("a blob written after the outage reads back different")
	}
	// Nothing the failed calls started is left behind.
	if up := multipartUploads(t, gw); len(up) != 0 {
		t.Errorf("unfinished multipart uploads: %v", up)
	}
	var calls atomic.Int32
	if err := s.Walk(ctx, func(refstore.BlobRef, time.Time) error { calls.Add(1); return nil }); err != nil || calls.Load() != 2 {
		t.Errorf("after the outage Walk found %d blobs (%v), want the 2 written while the gateway was up", calls.Load(), err)
	}
}

// TestSweepTimesNeverEarly: S3 listings give dates to the second, so a blob or an upload
// that has just started may be listed as up to a second older than it is. The times the
// sweeps compare with their grace must never make something young look old: a blob just
// written is not modified before the write started, and an upload started after the
// cut-off is not stale.
func TestSweepTimesNeverEarly(t *testing.T) {
	gw := testenv.StartS3(t)
	s, _ := openStore(t, gw, 5<<20)
	ctx := context.Background()
	for i := range 3 {
		before := time.Now()
		key, _, err := s.Put(ctx, "acme", bytes.NewReader(randomData(100)))
		if err != nil {
			t.Fatal(err)
		}
		err = s.Walk(ctx, func(ref refstore.BlobRef, mod time.Time) error {
			if ref.Key == key && mod.Before(before) {
				t.Errorf("try %d: a blob written after %v is reported modified at %v", i, before.Format(time.StampMilli), mod.Format(time.StampMilli))
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}

		cutoff := time.Now()
		k := s.cfg.Prefix + "accounts/acme/blobs/ab/" + newKey()
		if _, err := gw.Client().CreateMultipartUpload(ctx, &s3.CreateMultipartUploadInput{Bucket: &gw.Bucket, Key: &k}); err != nil {
			t.Fatal(err)
		}
		if n, err := s.AbortStaleUploads(ctx, cutoff); err != nil || n != 0 {
			t.Errorf("try %d: AbortStaleUploads(%v) aborted %d uploads started after it (%v)", i, cutoff.Format(time.StampMilli), n, err)
		}
		if up := multipartUploads(t, gw); len(up) != 1 {
			t.Fatalf("try %d: multipart uploads %v", i, up)
		}
		if _, err := s.AbortStaleUploads(ctx, time.Now().Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(100+i*300) * time.Millisecond) // other fractions of a second
	}
}
