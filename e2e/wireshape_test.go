package e2e

// Wire-shape tests: real connectors' HTTP stacks, replayed byte for byte on a raw TCP
// connection (docs/api.md, "What connectors put on the wire"), and the exact bytes they
// read back. The request bytes follow the research in the project's notes on three public
// Wordbee connectors: the C# Blackbird app (RestSharp 110 on .NET 8), the Unreal editor
// plugin (libcurl) and the WordPress plugin (PHP Requests), plus a browser's fetch with
// its CORS preflight. Each asserts what the client takes out of the response: the token
// after its own trimming, result.token, reason.

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// rawConn is one TCP connection to a node, written and read as bytes.
type rawConn struct {
	t    testing.TB
	conn net.Conn
	br   *bufio.Reader
}

func dialRaw(t testing.TB, n *node) *rawConn {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(n.url, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &rawConn{t: t, conn: conn, br: bufio.NewReader(conn)}
}

// send writes bytes as they are, CRLFs and all.
func (rc *rawConn) send(b string) {
	rc.t.Helper()
	rc.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(rc.conn, b); err != nil {
		rc.t.Fatalf("writing the request: %v", err)
	}
}

// rawResponse is a response as a client reads it off the wire.
type rawResponse struct {
	proto  string
	code   int
	header textproto.MIMEHeader
	body   []byte
}

// read reads one response (an interim 100 Continue included). A body is read by its
// Content-Length: every response these tests get must announce its length, never be
// chunked, so that a client reading exactly that many bytes gets the whole body.
func (rc *rawConn) read(method string) *rawResponse {
	rc.t.Helper()
	rc.conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	tp := textproto.NewReader(rc.br)
	line, err := tp.ReadLine()
	if err != nil {
		rc.t.Fatalf("reading the status line: %v", err)
	}
	proto, status, _ := strings.Cut(line, " ")
	codeText, _, _ := strings.Cut(status, " ")
	code, err := strconv.Atoi(codeText)
	if err != nil {
		rc.t.Fatalf("status line %q", line)
	}
	h, err := tp.ReadMIMEHeader()
	if err != nil {
		rc.t.Fatalf("reading the headers: %v", err)
	}
	r := &rawResponse{proto: proto, code: code, header: h}
	if code == 100 || code == 204 || code == 304 || method == "HEAD" {
		return r
	}
	if te := h.Get("Transfer-Encoding"); te != "" {
		rc.t.Fatalf("%d response with Transfer-Encoding %q: want a Content-Length", code, te)
	}
	n, err := strconv.Atoi(h.Get("Content-Length"))
	if err != nil {
		rc.t.Fatalf("%d response without a Content-Length (%q)", code, h.Get("Content-Length"))
	}
	r.body = make([]byte, n)
	if _, err := io.ReadFull(rc.br, r.body); err != nil {
		rc.t.Fatalf("reading a body of %d bytes: %v", n, err)
	}
	return r
}

// wantClosed checks that the server closes the connection after the response, with not
// a byte more.
func (rc *rawConn) wantClosed() {
	rc.t.Helper()
	rc.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := rc.br.ReadByte(); err != io.EOF {
		rc.t.Fatalf("after the response: byte %q, %v; want the connection closed", b, err)
	}
}

// expect checks the status and, for JSON, the byte-level rules every JSON body keeps:
// application/json; charset=utf-8, one line, ending with its last JSON character.
func (r *rawResponse) expect(t testing.TB, code int) *rawResponse {
	t.Helper()
	if r.code != code {
		t.Fatalf("status %d, want %d; body %s", r.code, code, truncate(r.body))
	}
	// A stored file (Content-Disposition) is bytes as uploaded, even a .json one.
	if strings.HasPrefix(r.header.Get("Content-Type"), "application/json") && r.header.Get("Content-Disposition") == "" {
		wantExactJSON(t, fmt.Sprintf("%d response", code), r.header.Get("Content-Type"), r.body)
	}
	return r
}

// wantExactJSON checks a JSON body as a byte-reading client sees it.
func wantExactJSON(t testing.TB, what, contentType string, body []byte) {
	t.Helper()
	if contentType != "application/json; charset=utf-8" {
		t.Fatalf("%s: Content-Type %q, want application/json; charset=utf-8", what, contentType)
	}
	if len(body) == 0 {
		t.Fatalf("%s: empty JSON body", what)
	}
	if last := body[len(body)-1]; last != '}' && last != ']' && last != '"' {
		t.Fatalf("%s: body ends with %q, not its last JSON character: %q", what, last, truncate(body))
	}
	if strings.ContainsAny(string(body), "\r\n") {
		t.Fatalf("%s: body is not one line: %q", what, truncate(body))
	}
	if !json.Valid(body) {
		t.Fatalf("%s: body is not JSON: %q", what, truncate(body))
	}
}

// reason is what the C# connector shows of an error: its reason member.
func (r *rawResponse) reason(t testing.TB) string {
	t.Helper()
	var e struct {
		Reason string `json:"reason"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Reason == "" {
		t.Fatalf("error body without a reason: %q", r.body)
	}
	return e.Reason
}

// hostPort is the node's address, for the Host header.
func hostPort(n *node) string { return strings.TrimPrefix(n.url, "http://") }

// GUIDs as Wordbee (and refstore) hand out tokens: upper case.
var upperGUID = regexp.MustCompile(`^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$`)

// csTrim is the C# connector's token handling: body.Trim('"'), every quote at either end.
func csTrim(body []byte) string { return strings.Trim(string(body), `"`) }

// ueTrimChar is the Unreal plugin's FString::TrimChar('"'): at most one quote at each end.
func ueTrimChar(body []byte) string {
	s := strings.TrimPrefix(string(body), `"`)
	return strings.TrimSuffix(s, `"`)
}

// restSharpHeaders are the headers RestSharp 110 on .NET 8 sends with every request.
const restSharpHeaders = "Accept: application/json, text/json, text/x-json, text/javascript, application/xml, text/xml\r\n" +
	"User-Agent: RestSharp/110.2.0.0\r\nAccept-Encoding: gzip, deflate, br\r\n"

// restSharpMultipart builds the body RestSharp writes for AddFile("file", stream, name) with
// AlwaysMultipartFormData: a GUID boundary (quoted in the header), one part with
// Content-Type before Content-Disposition.
func restSharpMultipart(boundary, disposition string, data []byte) string {
	return "--" + boundary + "\r\n" +
		"Content-Type: application/octet-stream\r\n" +
		"Content-Disposition: " + disposition + "\r\n" +
		"\r\n" + string(data) + "\r\n" +
		"--" + boundary + "--\r\n"
}

// The C# Blackbird connector: a compact Newtonsoft login, the connection check with no
// body at all, the user dropdown's query, uploads of every name form .NET writes (plain,
// RFC 2047, RFC 2231, and chunked), and a failed login's body used as a token.
func TestWireRestSharp(t *testing.T) {
	c := sharedCluster(t, backends[0])
	tn := newTenant(t, c)
	n := c.nodes[0]
	rc := dialRaw(t, n)
	host := "Host: " + hostPort(n) + "\r\n"

	// C1 login: Newtonsoft's compact body, application/json; charset=utf-8, no auth headers.
	login := fmt.Sprintf(`{"accountid":"%s","key":"%s"}`, tn.account, apiKey(tn.account, "pm"))
	rc.send("POST /api/auth/token HTTP/1.1\r\n" + host + restSharpHeaders +
		"Content-Type: application/json; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(login)) + "\r\n\r\n" + login)
	r := rc.read("POST").expect(t, 200)
	token := csTrim(r.body)
	if !upperGUID.MatchString(token) || string(r.body) != `"`+token+`"` {
		t.Fatalf("login body %q: Trim('\"') gives %q, not a GUID", r.body, token)
	}
	auth := "X-Auth-AccountId: " + tn.account + "\r\nX-Auth-Token: " + token + "\r\n"

	// C2 connection check: POST persons/list with no body and no Content-Type; any 2xx.
	rc.send("POST /api/persons/list HTTP/1.1\r\n" + host + auth + restSharpHeaders + "Content-Length: 0\r\n\r\n")
	r = rc.read("POST").expect(t, 200)
	var persons wire.PersonList
	json.Unmarshal(r.body, &persons)
	if persons.Total != len(fixtureUsers) || persons.Count != len(fixtureUsers) || persons.Rows[0].PersonID != 1 {
		t.Fatalf("persons/list answered %s", r.body)
	}

	// C3 the user dropdown: the query as the connector builds it, take 200; it pages until
	// it has total rows, so rows must not be empty at skip 0.
	for search, want := range map[string][]int64{"": {1, 2, 3, 4, 5, 6, 7}, "DE": {2, 3, 7}, "ZZ": {}} {
		body := fmt.Sprintf(`{"query":"{firstname}.Contains(\"%s\") OR {lastname}.Contains(\"%s\")","skip":0,"take":200}`, search, search)
		rc.send("POST /api/persons/list HTTP/1.1\r\n" + host + auth + restSharpHeaders +
			"Content-Type: application/json; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		r = rc.read("POST").expect(t, 200)
		var got wire.PersonList
		json.Unmarshal(r.body, &got)
		ids := []int64{}
		for _, p := range got.Rows {
			ids = append(ids, p.PersonID)
		}
		if got.Total != len(want) || fmt.Sprint(ids) != fmt.Sprint(want) {
			t.Fatalf("search %q: total %d, ids %v; want %v", search, got.Total, ids, want)
		}
	}

	// C4 uploads: a quoted GUID boundary, the part's Content-Type first, no filename query;
	// the connector reads result.token and result.name.
	data := pngBytes(300)
	const boundary = "3f2c1a9e-0b7d-4c55-9a61-2f0e5d7c8b11"
	for _, tc := range []struct {
		disposition, want string
		chunked           bool
	}{
		{`form-data; name="file"; filename="shot.png"`, "shot.png", false},
		{`form-data; name="file"; filename="=?utf-8?B?` + base64.StdEncoding.EncodeToString([]byte("été.png")) + `?="`, "été.png", false},
		{`form-data; name="file"; filename*=utf-8''%C3%A9t%C3%A9.png`, "été.png", false},
		{`form-data; name="file"; filename="shot.png"`, "shot.png", true},
	} {
		body := restSharpMultipart(boundary, tc.disposition, data)
		framing := "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
		if tc.chunked { // .NET streams a body it cannot seek
			framing = "Transfer-Encoding: chunked\r\n\r\n" + fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(body), body)
		}
		rc.send("POST /api/media/upload HTTP/1.1\r\n" + host + auth + restSharpHeaders +
			`Content-Type: multipart/form-data; boundary="` + boundary + "\"\r\n" + framing)
		r = rc.read("POST").expect(t, 200)
		var up wire.UploadResponse
		json.Unmarshal(r.body, &up)
		if len(up.Result.Token) != 32 || up.Result.Name != tc.want ||
			string(r.body) != `{"result":{"token":"`+up.Result.Token+`","name":"`+tc.want+`"}}` {
			t.Fatalf("%s (chunked %t): upload answered %s", tc.disposition, tc.chunked, r.body)
		}
		// C5 media/get reads the raw bytes.
		rc.send("GET /api/media/get/" + up.Result.Token + " HTTP/1.1\r\n" + host + auth + restSharpHeaders + "\r\n")
		if r = rc.read("GET").expect(t, 200); string(r.body) != string(data) {
			t.Fatalf("media/get returned %d bytes, want the %d uploaded", len(r.body), len(data))
		}
	}

	// .NET may print a GUID in lower case: the session is the same.
	rc.send("POST /api/persons/list HTTP/1.1\r\n" + host + "X-Auth-AccountId: " + tn.account + "\r\nX-Auth-Token: " +
		strings.ToLower(token) + "\r\n" + restSharpHeaders + "Content-Length: 0\r\n\r\n")
	rc.read("POST").expect(t, 200)

	// A failed login does not fail in the connector: it sends the error body back as its
	// token. The body is one line (.NET refuses a header value with CR or LF), the next
	// call is a clean 401 whose reason the connector shows, and the server neither fails
	// on that token nor writes it to its log.
	bad := fmt.Sprintf(`{"accountid":"%s","key":"wrong-key-0123456789"}`, tn.account)
	rc.send("POST /api/auth/token HTTP/1.1\r\n" + host + restSharpHeaders +
		"Content-Type: application/json; charset=utf-8\r\nContent-Length: " + strconv.Itoa(len(bad)) + "\r\n\r\n" + bad)
	r = rc.read("POST").expect(t, 401)
	if got := r.reason(t); got != "Invalid private key." {
		t.Fatalf("failed login reason %q", got)
	}
	garbage := csTrim(r.body)
	rc.send("POST /api/persons/list HTTP/1.1\r\n" + host + "X-Auth-AccountId: " + tn.account + "\r\nX-Auth-Token: " + garbage +
		"\r\n" + restSharpHeaders + "Content-Length: 0\r\n\r\n")
	r = rc.read("POST").expect(t, 401)
	if !strings.Contains(r.reason(t), "Token invalid or expired") {
		t.Fatalf("a garbage token: reason %q", r.reason(t))
	}
	if strings.Contains(n.logs(), "Invalid private key") || strings.Contains(n.logs(), garbage) {
		t.Fatal("the server logged the error body sent as a token")
	}

	// The connection stays usable after all of it (keep-alive, as .NET pools it).
	rc.send("POST /api/persons/list HTTP/1.1\r\n" + host + auth + restSharpHeaders + "Content-Length: 0\r\n\r\n")
	rc.read("POST").expect(t, 200)
}

// The Unreal plugin over libcurl: a pretty-printed login (tabs, LF on macOS and Linux
// builds, CRLF on Windows builds), Expect: 100-continue as plain libcurl sends it for
// larger bodies, the Flex list as an empty POST labelled form-urlencoded, and GETs that
// carry Content-Type: application/json and Content-Length: 0.
func TestWireLibcurl(t *testing.T) {
	c := sharedCluster(t, backends[0])
	tn := newTenant(t, c)
	pm := tn.as("pm")
	admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []map[string]any{{"id": tn.account,
		"projects": []map[string]any{{"id": projectID, "documents": []map[string]any{{"id": docA,
			"name": `games\sample.wbflex`, "sourceLocale": "en", "targetLocales": []string{"de", "fr"}}}}}}}}).expect(t, 200)
	tok := pm.upload("pull.json", []byte(`{"flex":"result"}`))
	n := c.nodes[0]
	rc := dialRaw(t, n)
	curl := "Host: " + tn.account + ".refstore.test\r\nUser-Agent: UnrealEditor/5.5.0 Mac/14.4\r\nAccept: */*\r\nPragma: no-cache\r\n"

	var token string
	for i, eol := range []string{"\n", "\r\n"} {
		body := "{" + eol + "\t\"accountid\": \"" + tn.account + "\"," + eol + "\t\"key\": \"" + apiKey(tn.account, "pm") + "\"" + eol + "}"
		rc.send("POST /api/auth/token HTTP/1.1\r\n" + curl + "Content-Type: application/json\r\nContent-Length: " +
			strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		r := rc.read("POST").expect(t, 200)
		// The plugin keeps the body with one quote trimmed at each end; empty means failure.
		token = ueTrimChar(r.body)
		if !upperGUID.MatchString(token) {
			t.Fatalf("login %d: TrimChar gives %q from %q", i, token, r.body)
		}
	}

	// Expect: 100-continue: the server asks for the body before reading it.
	body := "{\n\t\"accountid\": \"" + tn.account + "\",\n\t\"key\": \"" + apiKey(tn.account, "pm") + "\"\n}"
	rc.send("POST /api/auth/token HTTP/1.1\r\n" + curl + "Content-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\nExpect: 100-continue\r\n\r\n")
	if r := rc.read("POST"); r.code != 100 {
		t.Fatalf("Expect: 100-continue answered %d, want 100 Continue first", r.code)
	}
	rc.send(body)
	if r := rc.read("POST").expect(t, 200); !upperGUID.MatchString(ueTrimChar(r.body)) {
		t.Fatalf("login after 100 Continue: %q", r.body)
	}

	auth := "X-Auth-Token: " + token + "\r\nX-Auth-AccountId: " + tn.account + "\r\n"
	// U2 right after login: the document picker.
	rc.send("POST /api/apps/wbflex/list HTTP/1.1\r\n" + curl + "Content-Type: application/x-www-form-urlencoded\r\n" + auth +
		"Content-Length: 0\r\n\r\n")
	r := rc.read("POST").expect(t, 200)
	var list wire.FlexDocumentList
	json.Unmarshal(r.body, &list)
	if list.Total != 3 || len(list.Rows) != 3 || list.Rows[0].ID != itoa(docA) || list.Rows[0].Name != `games\sample.wbflex` ||
		list.Rows[0].Segments != 3 || list.Rows[0].ProjectID != projectID || *list.Rows[0].Src != "en" {
		t.Fatalf("wbflex/list answered %s", r.body)
	}

	// U3 "Link": the document, read as FDocumentInfo; src must be an object, trgs an array.
	rc.send("GET /api/apps/wbflex/documents/" + itoa(docA) + " HTTP/1.1\r\n" + curl + "Content-Type: application/json\r\n" + auth +
		"Content-Length: 0\r\n\r\n")
	r = rc.read("GET").expect(t, 200)
	want := `{"id":19641,"dsid":null,"pid":7214,"name":"games\\sample.wbflex","dtchange":null,"src":{"v":"en","t":"English"},` +
		`"trgs":[{"v":"de","t":"German"},{"v":"fr","t":"French"}],"filterName":null,"files":[]}`
	if string(r.body) != want {
		t.Fatalf("wbflex/documents/{id}:\n got %s\nwant %s", r.body, want)
	}

	// U4 media/get: a GET with a JSON Content-Type and no body.
	rc.send("GET /api/media/get/" + tok + " HTTP/1.1\r\n" + curl + "Content-Type: application/json\r\n" + auth + "Content-Length: 0\r\n\r\n")
	if r = rc.read("GET").expect(t, 200); string(r.body) != `{"flex":"result"}` {
		t.Fatalf("media/get: %q", r.body)
	}

	// U5 an expired or unknown token is a 401 (the plugin logs in again on it).
	rc.send("GET /api/apps/wbflex/documents/" + itoa(docA) + " HTTP/1.1\r\n" + curl + "Content-Type: application/json\r\n" +
		"X-Auth-Token: 00000000-0000-0000-0000-000000000000\r\nX-Auth-AccountId: " + tn.account + "\r\nContent-Length: 0\r\n\r\n")
	rc.read("GET").expect(t, 401)
}

// The WordPress plugin over PHP Requests: Connection: close on every request (HTTP/1.0 in
// WP_Http's own default, HTTP/1.1 as Requests sends it), json_decode of the login body, and
// media/get that must answer exactly 200.
func TestWirePHP(t *testing.T) {
	c := sharedCluster(t, backends[0])
	tn := newTenant(t, c)
	pm := tn.as("pm")
	tok := pm.upload("report.txt", []byte("text edits report"))
	n := c.nodes[0]
	wp := "Host: td.eu.wordbee-translator.com\r\nUser-Agent: WordPress/6.6; https://site.example\r\nAccept: */*\r\n" +
		"Accept-Encoding: deflate, gzip, br\r\n"
	var token string
	for _, proto := range []string{"HTTP/1.0", "HTTP/1.1"} {
		body := fmt.Sprintf(`{"accountid":"%s","key":"%s"}`, tn.account, apiKey(tn.account, "pm"))
		rc := dialRaw(t, n)
		rc.send("POST /api/auth/token " + proto + "\r\n" + wp + "Content-Type: application/json\r\nConnection: close\r\n" +
			"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body)
		r := rc.read("POST").expect(t, 200)
		rc.wantClosed()
		if err := json.Unmarshal(r.body, &token); err != nil || !upperGUID.MatchString(token) {
			t.Fatalf("%s: json_decode of %q gives %q, %v", proto, r.body, token, err)
		}

		rc = dialRaw(t, n)
		rc.send("GET /api/media/get/" + tok + " " + proto + "\r\n" + wp + "X-Auth-Token: " + token + "\r\nX-Auth-AccountId: " +
			tn.account + "\r\nConnection: close\r\n\r\n")
		r = rc.read("GET")
		rc.wantClosed()
		if r.code != 200 || string(r.body) != "text edits report" {
			t.Fatalf("%s media/get: %d %q", proto, r.code, r.body)
		}

		// An unknown token on media/get: the Wordbee 404 body, then the close.
		rc = dialRaw(t, n)
		rc.send("GET /api/media/get/" + strings.Repeat("0", 32) + " " + proto + "\r\n" + wp + "X-Auth-Token: " + token +
			"\r\nX-Auth-AccountId: " + tn.account + "\r\nConnection: close\r\n\r\n")
		r = rc.read("GET").expect(t, 404)
		rc.wantClosed()
		if !strings.Contains(r.reason(t), "file token") {
			t.Fatalf("unknown file token: reason %q", r.reason(t))
		}
	}
}

// A browser page (with --cors-origins): fetch's preflights for the login and for the
// authenticated calls, then the calls themselves, reading the token and reason as a page
// does (response.json()).
func TestWireBrowser(t *testing.T) {
	const origin = "https://editor.example.com"
	c := startCluster(t, backends[0], "--cors-origins", origin)
	tn := newTenant(t, c)
	n := c.nodes[0]
	rc := dialRaw(t, n)
	browser := "Host: " + hostPort(n) + "\r\nOrigin: " + origin + "\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0\r\n" +
		"Accept: */*\r\nSec-Fetch-Mode: cors\r\nReferer: " + origin + "/\r\n"
	preflight := func(method, path, headers string) *rawResponse {
		t.Helper()
		rc.send("OPTIONS " + path + " HTTP/1.1\r\n" + browser + "Access-Control-Request-Method: " + method + "\r\n" +
			"Access-Control-Request-Headers: " + headers + "\r\n\r\n")
		r := rc.read("OPTIONS")
		if r.code != 204 || r.header.Get("Access-Control-Allow-Origin") != origin {
			t.Fatalf("preflight of %s %s: %d %v", method, path, r.code, r.header)
		}
		allowed := strings.ToLower(r.header.Get("Access-Control-Allow-Headers"))
		for h := range strings.SplitSeq(headers, ",") {
			if !strings.Contains(allowed, h) {
				t.Fatalf("preflight of %s %s: %q not in Access-Control-Allow-Headers %q", method, path, h, allowed)
			}
		}
		if !strings.Contains(r.header.Get("Access-Control-Allow-Methods"), method) {
			t.Fatalf("preflight of %s %s: methods %q", method, path, r.header.Get("Access-Control-Allow-Methods"))
		}
		return r
	}

	preflight("POST", "/api/auth/token", "content-type")
	body := fmt.Sprintf(`{"accountid":"%s","key":"%s"}`, tn.account, apiKey(tn.account, "reader"))
	rc.send("POST /api/auth/token HTTP/1.1\r\n" + browser + "Content-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body)
	r := rc.read("POST").expect(t, 200)
	var token string
	if json.Unmarshal(r.body, &token) != nil || !upperGUID.MatchString(token) || r.header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("login from a page: %q, %v", r.body, r.header)
	}

	// Browsers list the requested headers in lower case, sorted, without spaces.
	preflight("POST", "/api/persons/list", "content-type,x-auth-accountid,x-auth-token")
	auth := "X-Auth-Token: " + token + "\r\nX-Auth-AccountId: " + tn.account + "\r\n"
	list := `{"take":2}`
	rc.send("POST /api/persons/list HTTP/1.1\r\n" + browser + auth + "Content-Type: application/json\r\nContent-Length: " +
		strconv.Itoa(len(list)) + "\r\n\r\n" + list)
	r = rc.read("POST").expect(t, 200)
	var persons wire.PersonList
	if json.Unmarshal(r.body, &persons) != nil || persons.Total != len(fixtureUsers) || persons.Count != 2 ||
		r.header.Get("Access-Control-Allow-Origin") != origin {
		t.Fatalf("persons/list from a page: %s, %v", r.body, r.header)
	}

	preflight("GET", "/api/apps/wbflex/documents/"+itoa(docB), "x-auth-accountid,x-auth-token")
	// The reader has read on the project: docB is readable; a page reads reason on errors.
	rc.send("GET /api/apps/wbflex/documents/" + itoa(docB) + " HTTP/1.1\r\n" + browser + auth + "\r\n")
	rc.read("GET").expect(t, 200)
	rc.send("GET /api/apps/wbflex/documents/" + itoa(docC) + " HTTP/1.1\r\n" + browser + auth + "\r\n")
	r = rc.read("GET").expect(t, 403)
	if r.header.Get("Access-Control-Allow-Origin") != origin || !strings.Contains(r.reason(t), "read right") {
		t.Fatalf("a 403 to a page: %s, %v", r.body, r.header)
	}
	preflight("GET", "/api/resources/assets/"+itoa(segA1), "range,x-auth-accountid,x-auth-token")
}

// Every JSON response of every /api route, success and error, and of memories.ai's
// download, is exact: application/json; charset=utf-8, a Content-Length equal to the body
// (never chunked), one line, nothing after the last JSON character. The errors are the
// route's envelope with its reason (or msg) — 412 and 416 of downloads included, which
// http.ServeContent would answer in plain text — and a 304 has no body at all.
func TestWireBytesExact(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		tn := newTenant(t, c)
		admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []map[string]any{{"id": tn.account, "rateLimit": 1000,
			"projects": []map[string]any{{"id": projectID, "documents": []map[string]any{{"id": docA, "name": "a.wbflex",
				"sourceLocale": "en", "targetLocales": []string{"de"}}}}}}}}).expect(t, 200)
		pm, reader := tn.as("pm"), tn.as("reader")
		data := pngBytes(500)
		a := pm.put("pr7214", segA1, "shot.png", "", "", data)
		tok := pm.upload("up.txt", []byte("uploaded"))
		dl := segPath(segA1, "scope", "pr7214", "filename", "shot.png")
		flexDl := flexPath(itoa(docA), itoa(segA1), "filename", "shot.png")
		byID := "/api/assets/" + a.ID + "/download"
		mem := "/serve/api/v2/" + a.ID + "/download"
		pmKey := http.Header{"Authorization": {apiKey(tn.account, "pm")}}
		withH := func(h http.Header, kv ...string) http.Header {
			out := http.Header{}
			for k, v := range h {
				out[k] = v
			}
			for i := 0; i < len(kv); i += 2 {
				out.Set(kv[i], kv[i+1])
			}
			return out
		}
		login := func(key string) io.Reader {
			return strings.NewReader(fmt.Sprintf(`{"accountid":"%s","key":"%s"}`, tn.account, key))
		}
		type call struct {
			method, path string
			h            http.Header
			body         io.Reader
			status       int
			envelope     string // "wordbee", "memories" or "" (a success)
		}
		H := pm.headers()
		calls := []call{
			{"POST", "/api/auth/token", nil, login(apiKey(tn.account, "pm")), 200, ""},
			{"POST", "/api/auth/token", nil, login("wrong-key-0123456789"), 401, "wordbee"},
			{"POST", "/api/auth/token", nil, strings.NewReader(`{"key":"x"}`), 400, "wordbee"},
			{"POST", "/api/auth/token", nil, strings.NewReader(`{`), 400, "wordbee"},
			{"POST", "/api/auth/token", http.Header{"Content-Type": {"image/png"}}, strings.NewReader(`{}`), 415, "wordbee"},
			{"GET", "/api/auth/token", nil, nil, 405, "wordbee"},
			{"DELETE", "/api/auth/token", nil, nil, 401, "wordbee"},

			{"GET", "/api/media/get/" + strings.Repeat("0", 32), H, nil, 404, "wordbee"},
			{"GET", "/api/media/get/" + tok, nil, nil, 401, "wordbee"},

			{"POST", segPath(segA2, "scope", "pr7214"), H, jsonBody(map[string]string{"filetoken": tok}), 200, ""},
			{"POST", segPath(segA2, "scope", "pr7214"), H, jsonBody(map[string]string{"filetoken": "x"}), 400, "wordbee"},
			{"POST", segPath(segA2, "scope", "pr7214"), reader.headers(), jsonBody(map[string]string{"filetoken": tok}), 403, "wordbee"},
			{"POST", segPath(segA2, "scope", "pr1"), H, jsonBody(map[string]string{"filetoken": tok}), 404, "wordbee"},
			{"GET", segPath(segA1, "scope", "pr7214", "filename", "none.png"), H, nil, 404, "wordbee"},
			{"GET", dl, withH(H, "Range", "bytes=9000-"), nil, 416, "wordbee"},
			{"GET", dl, withH(H, "Range", "bytes=9000-9100,9200-"), nil, 416, "wordbee"},
			{"GET", dl, withH(H, "If-Match", `"stale"`), nil, 412, "wordbee"},
			{"GET", dl, withH(H, "If-Unmodified-Since", "Sat, 01 Jan 2000 00:00:00 GMT"), nil, 412, "wordbee"},
			{"GET", dl, withH(H, "If-None-Match", "*"), nil, 304, ""},
			{"GET", "/api/resources/assets/27665601/list?scope=pr7214", H, nil, 200, ""},
			{"GET", "/api/resources/assets/27665601/list?scope=pr9", H, nil, 404, "wordbee"},
			{"GET", "/api/resources/assets/list?scope=pr7214&segmentIds=27665601,27665602", H, nil, 200, ""},
			{"GET", "/api/resources/assets/list?scope=pr7214&segmentIds=x", H, nil, 400, "wordbee"},
			{"DELETE", segPath(segA1, "scope", "pr7214", "filename", "shot.png"), reader.headers(), nil, 403, "wordbee"},

			{"GET", flexPath(itoa(docA), "list", "segmentIds", itoa(segA1)), H, nil, 200, ""},
			{"GET", flexPath(itoa(docA), itoa(segA1)+"/list"), H, nil, 200, ""},
			{"GET", flexDl, withH(H, "Range", "bytes=9000-"), nil, 416, "wordbee"},
			{"GET", flexPath("x", "list", "segmentIds", "1"), H, nil, 400, "wordbee"},

			{"GET", byID, withH(H, "Range", "bytes=9000-"), nil, 416, "memories"},
			{"GET", byID, withH(H, "If-Match", `"stale"`), nil, 412, "memories"},
			{"GET", "/api/assets/re_1/download", H, nil, 404, "memories"},
			{"GET", byID, nil, nil, 401, "memories"},
			{"GET", mem, withH(pmKey, "Range", "bytes=9000-"), nil, 416, "memories"},
			{"GET", mem, nil, nil, 401, "memories"},
			{"GET", "/serve/api/v2/re_1/download", pmKey, nil, 404, "memories"},
			{"POST", "/serve/api/v2/upload", pmKey, nil, 404, "memories"},

			{"GET", "/api/browse/scopes/pr7214", H, nil, 200, ""},
			{"GET", "/api/browse/scopes/pr7300", reader.headers(), nil, 403, "wordbee"},

			{"POST", "/api/persons/list", H, nil, 200, ""},
			{"POST", "/api/persons/list", H, strings.NewReader(`{"query":"{x}.Contains(\"y\")"}`), 400, "wordbee"},
			{"POST", "/api/persons/list", nil, nil, 401, "wordbee"},
			{"POST", "/api/apps/wbflex/list", H, nil, 200, ""},
			{"POST", "/api/apps/wbflex/list", H, strings.NewReader(`{"take":-1}`), 400, "wordbee"},
			{"GET", "/api/apps/wbflex/documents/" + itoa(docA), H, nil, 200, ""},
			{"GET", "/api/apps/wbflex/documents/" + itoa(docC), reader.headers(), nil, 403, "wordbee"},
			{"GET", "/api/apps/wbflex/documents/1", H, nil, 404, "wordbee"},

			{"POST", "/api/orders/list", H, nil, 404, "wordbee"},
			{"PATCH", "/api/persons/list", H, nil, 405, "wordbee"},
		}
		// A rate-limited call: another account, one request per window.
		limited := newTenant(t, c)
		admin(t, c, "PUT", "/admin/v1/catalog", map[string]any{"accounts": []map[string]any{{"id": limited.account, "rateLimit": 1}}}).expect(t, 200)
		lp := limited.as("pm")
		lp.listAssets("pr7214", segA1)
		for range 3 { // on a cluster, a node may admit one more before it hears of the others
			if r := lp.do("GET", "/api/resources/assets/27665601/list?scope=pr7214", nil); r.StatusCode == 429 {
				checkExactResponse(t, r, 429, "wordbee")
				break
			} else if r.StatusCode != 200 {
				t.Fatalf("rate-limited list: %d", r.StatusCode)
			}
		}

		for _, cl := range calls {
			h := cl.h
			if cl.body != nil && h.Get("Content-Type") == "" {
				h = withH(h, "Content-Type", "application/json")
			}
			checkExactResponse(t, do(t, c, cl.method, cl.path, h, cl.body), cl.status, cl.envelope)
		}
		// The 416 still says which bytes there are.
		r := pm.doH("GET", dl, http.Header{"Range": {"bytes=9000-"}}, nil)
		r.expectError(t, 416, "range_not_satisfiable")
		r.wantHeader(t, "Content-Range", fmt.Sprintf("bytes */%d", len(data)))
		r.wantNoHeader(t, "Content-Disposition")
		pm.doH("GET", dl, http.Header{"If-Match": {`"stale"`}}, nil).expectError(t, 412, "precondition_failed")
		// A matching If-Match serves the file.
		pm.doH("GET", dl, http.Header{"If-Match": {fmt.Sprintf(`"%d"`, netTicks(t, a.ModifiedDate))}}, nil).expect(t, 200).wantBody(t, data)
	})
}

// checkExactResponse checks one response of TestWireBytesExact.
func checkExactResponse(t testing.TB, r *response, status int, envelope string) {
	t.Helper()
	what := r.Request.Method + " " + r.Request.URL.Path
	if r.StatusCode != status {
		t.Fatalf("%s: status %d, want %d; body %s", what, r.StatusCode, status, truncate(r.body))
	}
	if status == 304 {
		if len(r.body) != 0 || r.Header.Get("Content-Type") != "" {
			t.Fatalf("%s: 304 with a body of %d bytes, Content-Type %q", what, len(r.body), r.Header.Get("Content-Type"))
		}
		return
	}
	if len(r.TransferEncoding) != 0 || r.Header.Get("Content-Length") != strconv.Itoa(len(r.body)) {
		t.Fatalf("%s: Transfer-Encoding %v, Content-Length %q for a body of %d bytes", what, r.TransferEncoding,
			r.Header.Get("Content-Length"), len(r.body))
	}
	wantExactJSON(t, what, r.Header.Get("Content-Type"), r.body)
	var m map[string]json.RawMessage
	json.Unmarshal(r.body, &m)
	switch envelope {
	case "wordbee":
		var reason string
		if json.Unmarshal(m["reason"], &reason); reason == "" {
			t.Fatalf("%s: error without a reason: %s", what, r.body)
		}
	case "memories":
		wantKeys(t, what, m, "code", "msg", "data", "success", "failed")
	}
}
