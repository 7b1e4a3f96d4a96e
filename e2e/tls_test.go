package e2e

import (
	"bufio"
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// testCert is a self-signed certificate for 127.0.0.1 and localhost, written as PEM files.
type testCert struct {
	certFile, keyFile string
	serial            *big.Int
	pool              *x509.CertPool
}

// newTestCert makes a fresh self-signed ECDSA certificate and writes it (and its key)
// into dir under the given file names.
func newTestCert(t testing.TB, dir, certName, keyName string) testCert {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: "refstore e2e"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:              []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	c := testCert{certFile: filepath.Join(dir, certName), keyFile: filepath.Join(dir, keyName), serial: serial,
		pool: x509.NewCertPool()}
	// Written to a temporary name and renamed, as a certificate manager would.
	for _, f := range []struct {
		path string
		typ  string
		der  []byte
	}{{c.certFile, "CERTIFICATE", der}, {c.keyFile, "EC PRIVATE KEY", keyDER}} {
		tmp := f.path + ".tmp"
		if err := os.WriteFile(tmp, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, f.path); err != nil {
			t.Fatal(err)
		}
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	c.pool.AddCert(parsed)
	return c
}

// tlsNode is a refstore server on HTTPS, with a client for each protocol.
type tlsNode struct {
	*node
	addr    string // host:port
	base    string // https://127.0.0.1:port
	cert    testCert
	h2, h11 *http.Client
}

func startTLSNode(t *testing.T, extraArgs ...string) *tlsNode {
	t.Helper()
	dir := t.TempDir()
	cert := newTestCert(t, dir, "cert.pem", "key.pem")
	n := startNode(t, nodeOptions{Args: append([]string{"--tls-cert", cert.certFile, "--tls-key", cert.keyFile}, extraArgs...)})
	addr := strings.TrimPrefix(n.url, "http://")
	tn := &tlsNode{node: n, addr: addr, base: "https://" + addr, cert: cert}
	tn.h2 = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: cert.pool}, ForceAttemptHTTP2: true}}
	// A non-nil, empty TLSNextProto turns HTTP/2 off on the client.
	tn.h11 = &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: cert.pool},
		TLSNextProto:    map[string]func(string, *tls.Conn) http.RoundTripper{}}}
	t.Cleanup(func() {
		tn.h2.CloseIdleConnections()
		tn.h11.CloseIdleConnections()
	})
	return tn
}

// do sends a request over client and reads the whole response.
func (tn *tlsNode) do(t testing.TB, client *http.Client, method, path string, h http.Header, body []byte) *response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, tn.base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: reading the body: %v", method, path, err)
	}
	return &response{Response: resp, body: b}
}

func wantProto(t testing.TB, r *response, proto string) {
	t.Helper()
	if r.Proto != proto {
		t.Fatalf("%s %s answered over %s, want %s", r.Request.Method, r.Request.URL, r.Proto, proto)
	}
}

// TestTLS serves the API over HTTPS: HTTP/2 by ALPN, HTTP/1.1 for clients without it,
// download URLs in https, ranges over HTTP/2, TLS 1.2 as the minimum, and a clean refusal
// of plain HTTP on the TLS port.
func TestTLS(t *testing.T) {
	tn := startTLSNode(t)
	account := "tls" + rbSHA256(randomBytes(8))[:8]
	cat, _ := json.Marshal(fixtureCatalog(account))
	adminH := http.Header{"Authorization": {"Bearer " + adminToken}, "Content-Type": {"application/json"}}
	r := tn.do(t, tn.h2, "PUT", "/admin/v1/catalog", adminH, cat).expect(t, 200)
	wantProto(t, r, "HTTP/2.0")

	login, _ := json.Marshal(map[string]string{"accountid": account, "key": apiKey(account, "pm")})
	r = tn.do(t, tn.h2, "POST", "/api/auth/token", http.Header{"Content-Type": {"application/json"}}, login).expect(t, 200)
	var token string
	r.json(t, &token)
	auth := http.Header{"X-Auth-Token": {token}, "X-Auth-AccountId": {account}}

	// Upload and attach over HTTP/2: one small file (served from the blob cache) and one
	// larger than the cache's per-blob limit (served from the file).
	files := map[string][]byte{"small.bin": randomBytes(5000), "large.bin": randomBytes(3<<20 + 17)}
	urls := map[string]string{}
	for name, data := range files {
		body, ct := multipartBody(t, name, data)
		raw, _ := io.ReadAll(body)
		h := auth.Clone()
		h.Set("Content-Type", ct)
		r = tn.do(t, tn.h2, "POST", "/api/media/upload", h, raw).expect(t, 200)
		wantProto(t, r, "HTTP/2.0")
		var up struct{ Result struct{ Token string } }
		r.json(t, &up)
		attach, _ := json.Marshal(map[string]string{"filetoken": up.Result.Token, "locale": "en"})
		h = auth.Clone()
		h.Set("Content-Type", "application/json")
		r = tn.do(t, tn.h2, "POST", fmt.Sprintf("/api/resources/assets/%d?scope=pr%d", segA1, projectID), h, attach).expect(t, 200)
		var a wire.Asset
		r.json(t, &a)
		if !strings.HasPrefix(a.DownloadURL, tn.base+"/api/resources/assets/") {
			t.Fatalf("downloadUrl %q does not start with %s", a.DownloadURL, tn.base)
		}
		urls[name] = a.DownloadURL
	}

	for name, data := range files {
		path := strings.TrimPrefix(urls[name], tn.base)
		for _, c := range []struct {
			client *http.Client
			proto  string
		}{{tn.h2, "HTTP/2.0"}, {tn.h11, "HTTP/1.1"}} {
			t.Run(name+" "+c.proto, func(t *testing.T) {
				defer func() {
					if t.Failed() {
						t.Log(tn.logs())
					}
				}()
				r := tn.do(t, c.client, "GET", path, auth, nil).expect(t, 200)
				wantProto(t, r, c.proto)
				r.wantBody(t, data)
				r.wantHeader(t, "Content-Length", fmt.Sprint(len(data)))

				h := auth.Clone()
				h.Set("Range", "bytes=1000-1999")
				r = tn.do(t, c.client, "GET", path, h, nil).expect(t, 206)
				wantProto(t, r, c.proto)
				r.wantBody(t, data[1000:2000])
				r.wantHeader(t, "Content-Range", fmt.Sprintf("bytes 1000-1999/%d", len(data)))

				h.Set("Range", fmt.Sprintf("bytes=-100,%d-%d", 10, 19))
				r = tn.do(t, c.client, "GET", path, h, nil).expect(t, 206)
				if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "multipart/byteranges") {
					t.Fatalf("multi-range answer has Content-Type %q", ct)
				}
				if !bytes.Contains(r.body, data[10:20]) || !bytes.Contains(r.body, data[len(data)-100:]) {
					t.Fatal("the multi-range body lacks one of the ranges")
				}

				h.Set("Range", fmt.Sprintf("bytes=%d-", len(data)+5))
				tn.do(t, c.client, "GET", path, h, nil).expect(t, 416)

				r = tn.do(t, c.client, "HEAD", path, auth, nil).expect(t, 200)
				if len(r.body) != 0 {
					t.Fatalf("HEAD sent %d bytes", len(r.body))
				}
			})
		}
	}

	t.Run("many streams on one connection", func(t *testing.T) {
		path := strings.TrimPrefix(urls["large.bin"], tn.base)
		errs := make(chan error, 8)
		for i := range 8 {
			go func() {
				req, _ := http.NewRequest("GET", tn.base+path, nil)
				req.Header = auth.Clone()
				req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", i*100000, i*100000+99999))
				resp, err := tn.h2.Do(req)
				if err != nil {
					errs <- err
					return
				}
				defer resp.Body.Close()
				b, err := io.ReadAll(resp.Body)
				switch {
				case err != nil:
					errs <- err
				case resp.StatusCode != 206 || resp.Proto != "HTTP/2.0":
					errs <- fmt.Errorf("status %d over %s", resp.StatusCode, resp.Proto)
				case !bytes.Equal(b, files["large.bin"][i*100000:i*100000+100000]):
					errs <- fmt.Errorf("range %d: wrong bytes", i)
				default:
					errs <- nil
				}
			}()
		}
		for range 8 {
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
		}
	})

	t.Run("plain HTTP to the TLS port", func(t *testing.T) {
		// Go's server answers a plain request on a TLS port with a 400 and closes.
		conn, err := net.DialTimeout("tcp", tn.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		conn.SetDeadline(time.Now().Add(10 * time.Second))
		fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: %s\r\n\r\n", tn.addr)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatalf("no HTTP answer to plain HTTP on the TLS port: %v", err)
		}
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 400 || !strings.Contains(string(body), "HTTPS") {
			t.Fatalf("plain HTTP on the TLS port: %d %q", resp.StatusCode, body)
		}
		// The server goes on serving TLS.
		tn.do(t, tn.h2, "GET", "/healthz", nil, nil).expect(t, 200)
	})

	t.Run("TLS 1.1 is refused", func(t *testing.T) {
		c, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tn.addr,
			&tls.Config{RootCAs: tn.cert.pool, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11})
		if err == nil {
			c.Close()
			t.Fatal("a TLS 1.1 handshake succeeded")
		}
		c, err = tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", tn.addr,
			&tls.Config{RootCAs: tn.cert.pool, MaxVersion: tls.VersionTLS12, NextProtos: []string{"h2", "http/1.1"}})
		if err != nil {
			t.Fatalf("TLS 1.2: %v", err)
		}
		defer c.Close()
		if st := c.ConnectionState(); st.Version != tls.VersionTLS12 || st.NegotiatedProtocol != "h2" {
			t.Fatalf("TLS 1.2 handshake: version %x, ALPN %q", st.Version, st.NegotiatedProtocol)
		}
	})

	t.Run("oversized headers over HTTP/2", func(t *testing.T) {
		h := auth.Clone()
		h.Set("X-Junk", strings.Repeat("a", 100<<10))
		req, _ := http.NewRequest("GET", tn.base+"/healthz", nil)
		req.Header = h
		resp, err := tn.h2.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != 431 {
				t.Fatalf("100 KiB of headers over HTTP/2: %d, want 431 or a refused request", resp.StatusCode)
			}
		}
		tn.do(t, tn.h2, "GET", "/healthz", nil, nil).expect(t, 200)
	})
}

// TestTLSReloadOnSIGHUP replaces the certificate files and sends SIGHUP: new connections
// get the new certificate, and a broken replacement keeps the old one in use.
func TestTLSReloadOnSIGHUP(t *testing.T) {
	tn := startTLSNode(t)
	serial := func() *big.Int {
		t.Helper()
		c, err := tls.Dial("tcp", tn.addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0].SerialNumber
	}
	if got := serial(); got.Cmp(tn.cert.serial) != 0 {
		t.Fatalf("serves serial %v, want %v", got, tn.cert.serial)
	}
	dir := filepath.Dir(tn.cert.certFile)
	next := newTestCert(t, dir, "cert.pem", "key.pem")
	tn.cmd.Process.Signal(syscall.SIGHUP)
	deadline := time.Now().Add(10 * time.Second)
	for serial().Cmp(next.serial) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the new certificate was not served 10 s after SIGHUP")
		}
		time.Sleep(50 * time.Millisecond)
	}
	// A broken key file: the reload fails, the current certificate stays.
	if err := os.WriteFile(next.keyFile, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	tn.cmd.Process.Signal(syscall.SIGHUP)
	deadline = time.Now().Add(10 * time.Second)
	for !strings.Contains(tn.logs(), "reloading the TLS certificate failed") {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the failed reload:\n%s", tn.logs())
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := serial(); got.Cmp(next.serial) != 0 {
		t.Fatalf("after a failed reload the server serves serial %v, want %v", got, next.serial)
	}
	// The node serves requests with the new certificate (tn.h2 trusts only the first one).
	client := &http.Client{Timeout: time.Minute, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: next.pool}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	wantProto(t, tn.do(t, client, "GET", "/readyz", nil, nil).expect(t, 200), "HTTP/2.0")
}

// TestTLSFlags: a certificate without its key, or files that cannot be read, stop the
// start with a clear error.
func TestTLSFlags(t *testing.T) {
	dir := t.TempDir()
	cert := newTestCert(t, dir, "cert.pem", "key.pem")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--tls-cert", cert.certFile}, "go together"},
		{[]string{"--tls-key", cert.keyFile}, "go together"},
		{[]string{"--tls-cert", cert.certFile, "--tls-key", filepath.Join(dir, "missing.pem")}, "--tls-cert"},
		{[]string{"--tls-cert", cert.keyFile, "--tls-key", cert.certFile}, "--tls-cert"},
	} {
		_, err := launch(nodeOptions{Data: t.TempDir(), Args: tc.args})
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("serve %v: %v, want an exit that says %q", tc.args, err, tc.want)
		}
	}
	// The environment works as well as the flags.
	n := startNode(t, nodeOptions{Env: []string{"REFSTORE_TLS_CERT=" + cert.certFile, "REFSTORE_TLS_KEY=" + cert.keyFile}})
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: cert.pool}, ForceAttemptHTTP2: true}}
	defer client.CloseIdleConnections()
	resp, err := client.Get("https://" + strings.TrimPrefix(n.url, "http://") + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Proto != "HTTP/2.0" {
		t.Fatalf("REFSTORE_TLS_*: %d over %s", resp.StatusCode, resp.Proto)
	}
}
