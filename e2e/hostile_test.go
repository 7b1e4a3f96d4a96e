package e2e

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"mime"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/refstore/refstore/wire"
)

// TestHostileInput sends a catalogue of malicious requests, byte for byte over raw TCP (so
// that no client library cleans them up first), to an embedded server holding two tenants.
// Each row states its expected status, the error code and named parameter where the SPEC
// defines the envelope, and — for every row — the data directory's files and both tenants'
// asset lists are compared before and after: nothing may be written. The few rows a server
// must accept (a literal "%2e%2e%2f" is a legal file name) say where their write may land.
func TestHostileInput(t *testing.T) {
	c := startCluster(t, backends[0], "--max-upload-size", "1048576", "--access-log", "--log-level", "debug")
	e := newHxEnv(t, c)
	rows := hxRows(e)
	if len(rows) < 100 {
		t.Fatalf("the catalogue has %d rows, want at least 100", len(rows))
	}
	counts, groups, failed := map[string]int{}, map[string]int{}, 0
	var order []string
	for _, row := range rows {
		ok := t.Run(row.name, func(t *testing.T) { e.run(t, row) })
		counts[strconv.Itoa(row.status)]++
		if groups[row.group] == 0 {
			order = append(order, row.group)
		}
		groups[row.group]++
		if !ok {
			failed++
		}
	}
	// Secrets never reach the log, even with every request logged at debug level: the
	// admin token, session tokens, file tokens and API keys the catalogue sent.
	logs := c.nodes[0].logs()
	leaked := 0
	for what, secret := range map[string]string{"the admin token": adminToken, "A's session token": e.pmA.token,
		"B's session token": e.pmB.token, "A's file token": e.tokA, "B's file token": e.tokB,
		"A's API key": apiKey(e.a.account, "pm"), "B's API key": apiKey(e.b.account, "pm")} {
		if strings.Contains(logs, secret) {
			t.Errorf("the server log holds %s", what)
			leaked++
		}
	}
	lines := []string{fmt.Sprintf("%d malicious requests, %d failed; by expected status: %s", len(rows), failed, figCounts(counts)),
		fmt.Sprintf("server log: %d bytes at debug level with the access log; secrets found in it: %d of 7", len(logs), leaked)}
	for _, g := range order {
		lines = append(lines, fmt.Sprintf("  %-40s %3d", g, groups[g]))
	}
	figReport(t, "hostile input catalogue", lines)
}

// hxRow is one malicious request and what must come of it.
type hxRow struct {
	group  string // for the figures
	name   string
	method string
	target string   // the raw request-target, sent as is
	line   string   // a whole raw request line, instead of method and target
	auth   string   // "A" (tenant A's pm, the default), "none", "bad", "B" (B's pm), "BonA" (B's token, A's account id)
	hdr    []string // raw header lines, sent as is
	ct     string   // Content-Type
	body   string
	// length overrides the Content-Length header: "-" sends none, any other value is sent as is.
	length string
	// halfClose closes the sending side after the body, so that a declared length that is
	// longer than the body ends early.
	halfClose bool
	status    int
	code      string // the error code of the envelope; "" when the server is not expected to send one (Go's own 4xx)
	param     string // the parameter the reason must name
	check     func(t *testing.T, r *hxResp)
	// confined allows an accepted write, and only below this prefix of the data directory
	// (then undone through the API by the row's undo).
	confined string
	undo     func(t *testing.T)
}

type hxResp struct {
	status int
	header http.Header
	body   []byte
}

type hxEnv struct {
	t       *testing.T
	c       *cluster
	addr    string
	data    string
	a, b    *tenant
	pmA     *session
	pmB     *session
	tokA    string // a file token of A's pm
	tokB    string // a file token of B's pm
	htmlTok string // A's pm's upload of an HTML page
	assets  map[string]wire.Asset
}

func newHxEnv(t *testing.T, c *cluster) *hxEnv {
	e := &hxEnv{t: t, c: c, addr: strings.TrimPrefix(c.nodes[0].url, "http://"), data: c.nodes[0].opts.Data,
		assets: map[string]wire.Asset{}}
	e.a, e.b = newTenant(t, c), newTenant(t, c)
	e.pmA, e.pmB = e.a.as("pm"), e.b.as("pm")
	e.tokA = e.pmA.upload("spare.bin", []byte("spare bytes of tenant A"))
	e.tokB = e.pmB.upload("other.bin", []byte("bytes of tenant B"))
	html := "<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
	svg := `<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>`
	e.htmlTok = e.pmA.upload("page.html", []byte(html))
	for name, data := range map[string]string{
		"keep.png":        string(pngBytes(300)),
		"page.html":       html,
		"evil.svg":        svg,
		"fake.jpg":        html, // HTML bytes under an image name: the sniffed type wins
		"naïve «x» ü.txt": "unicode name",
	} {
		e.assets[name] = e.pmA.put("pr7214", segA1, name, "", "", []byte(data))
	}
	e.pmB.put("pr7214", segA1, "secret.txt", "", "", []byte("tenant B's secret"))
	return e
}

// run sends one row and checks its outcome and that nothing was written.
func (e *hxEnv) run(t *testing.T, row hxRow) {
	before := e.snapshot(t)
	r, err := e.send(row)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	if r.status != row.status {
		t.Errorf("status %d, want %d; body %s", r.status, row.status, truncate(r.body))
	}
	if row.code != "" {
		var env struct {
			Code   string `json:"code"`
			Reason string `json:"reason"`
			Msg    string `json:"msg"`
		}
		if err := json.Unmarshal(r.body, &env); err != nil {
			t.Errorf("the body is not the JSON error envelope: %s", truncate(r.body))
		} else {
			if env.Code != row.code {
				t.Errorf("code %q, want %q (%s)", env.Code, row.code, env.Reason+env.Msg)
			}
			if row.param != "" && !strings.Contains(env.Reason+env.Msg, "'"+row.param+"'") {
				t.Errorf("the reason %q does not name the parameter %q", env.Reason+env.Msg, row.param)
			}
		}
	}
	if r.header.Get("X-Request-Id") == "" && row.code != "" {
		t.Error("no X-Request-Id")
	}
	// Nothing the client sent may come back as a header of its own.
	for k := range r.header {
		if strings.EqualFold(k, "Set-Cookie") || strings.EqualFold(k, "X-Injected") {
			t.Errorf("the response carries an injected header %s", k)
		}
	}
	if row.check != nil && r.status == row.status {
		row.check(t, r)
	}
	after := e.snapshot(t)
	if row.confined != "" && r.status < 300 {
		for _, f := range after.newFiles(before) {
			if !strings.HasPrefix(f, row.confined) {
				t.Errorf("an accepted write landed outside %s: %s", row.confined, f)
			}
		}
		if row.undo != nil {
			row.undo(t)
		}
		return
	}
	if d := before.diff(after); d != "" {
		t.Errorf("the request changed stored data: %s", d)
	}
}

// send writes the row's bytes to a fresh connection and reads one response.
func (e *hxEnv) send(row hxRow) (*hxResp, error) {
	var b strings.Builder
	method := row.method
	if method == "" {
		method = "GET"
	}
	if row.line != "" {
		b.WriteString(row.line + "\r\n")
		method, _, _ = strings.Cut(row.line, " ")
	} else {
		b.WriteString(method + " " + row.target + " HTTP/1.1\r\n")
	}
	b.WriteString("Host: " + e.addr + "\r\n")
	switch row.auth {
	case "", "A":
		b.WriteString("X-Auth-Token: " + e.pmA.token + "\r\nX-Auth-AccountId: " + e.a.account + "\r\n")
	case "B":
		b.WriteString("X-Auth-Token: " + e.pmB.token + "\r\nX-Auth-AccountId: " + e.b.account + "\r\n")
	case "BonA":
		b.WriteString("X-Auth-Token: " + e.pmB.token + "\r\nX-Auth-AccountId: " + e.a.account + "\r\n")
	case "bad":
		b.WriteString("X-Auth-Token: 0BADC0DE-0000-4000-8000-000000000000\r\nX-Auth-AccountId: " + e.a.account + "\r\n")
	case "none":
	}
	if row.ct != "" {
		b.WriteString("Content-Type: " + row.ct + "\r\n")
	}
	for _, h := range row.hdr {
		b.WriteString(h + "\r\n")
	}
	switch {
	case row.length == "-":
	case row.length != "":
		b.WriteString("Content-Length: " + row.length + "\r\n")
	case row.body != "" || method == "POST" || method == "PUT":
		b.WriteString("Content-Length: " + strconv.Itoa(len(row.body)) + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	b.WriteString(row.body)

	conn, err := net.DialTimeout("tcp", e.addr, 5*time.Second)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	// Written concurrently: the server may answer (413, 431) before reading everything.
	go func() {
		io.WriteString(conn, b.String())
		if row.halfClose {
			conn.(*net.TCPConn).CloseWrite()
		}
	}()
	resp, err := http.ReadResponse(bufio.NewReader(conn), &http.Request{Method: method})
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the body: %w", err)
	}
	return &hxResp{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// hxSnapshot is what the server stores: every file below accounts/ and tmp/ of the data
// directory with its SHA-256, and both tenants' asset lists on every fixture segment.
type hxSnapshot struct {
	files map[string]string
	lists string
}

func (e *hxEnv) snapshot(t *testing.T) hxSnapshot {
	t.Helper()
	s := hxSnapshot{files: map[string]string{}}
	for _, sub := range []string{"accounts", "tmp"} {
		root := filepath.Join(e.data, sub)
		err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				if os.IsNotExist(err) {
					return nil
				}
				return err
			}
			if d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(e.data, p)
			sum := sha256.Sum256(b)
			s.files[filepath.ToSlash(rel)] = hex.EncodeToString(sum[:8])
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	var lists strings.Builder
	for _, pm := range []*session{e.pmA, e.pmB} {
		for _, q := range []string{
			fmt.Sprintf("scope=pr%d&segmentIds=%d,%d,%d,%d,%d", projectID, segA1, segA2, segA3, segB1, segB2),
			fmt.Sprintf("scope=pr%d&segmentIds=%d,%d", otherProject, segC1, segC2),
		} {
			r := pm.do("GET", "/api/resources/assets/list?"+q, nil).expect(t, 200)
			lists.Write(r.body)
			lists.WriteByte('\n')
		}
	}
	s.lists = lists.String()
	return s
}

func (s hxSnapshot) newFiles(before hxSnapshot) []string {
	var out []string
	for f := range s.files {
		if _, ok := before.files[f]; !ok {
			out = append(out, f)
		}
	}
	slices.Sort(out)
	return out
}

func (s hxSnapshot) diff(after hxSnapshot) string {
	var d []string
	for f, h := range s.files {
		if g, ok := after.files[f]; !ok {
			d = append(d, "removed "+f)
		} else if g != h {
			d = append(d, "changed "+f)
		}
	}
	for _, f := range after.newFiles(s) {
		d = append(d, "new "+f)
	}
	if s.lists != after.lists {
		d = append(d, "the asset lists changed")
	}
	slices.Sort(d)
	return strings.Join(d, "; ")
}

// ---- the catalogue ----------------------------------------------------------------------

// hxEncoding is one way of smuggling a path out of its folder, as it appears in a URL query
// (raw) and in a JSON string (json), and whether it must be refused: the encodings that do
// not decode to a separator or a dot element are plain, harmless names.
type hxEncoding struct {
	name   string
	raw    string
	json   string
	refuse bool
}

var hxEncodings = []hxEncoding{
	{"../", "..%2F..%2Fetc%2Fpasswd", `../../etc/passwd`, true},
	{"raw ../ in the query", "../../etc/passwd", `../../etc/passwd`, true},
	{"%2e%2e%2f", "%2e%2e%2f%2e%2e%2fetc%2fpasswd", `..\u002f..\u002fetc`, true},
	{"backslashes", "..%5C..%5Cwindows%5Cwin.ini", `..\\..\\windows\\win.ini`, true},
	{"mixed .%2e", ".%2e/.%2e/etc", `.\u002e/.\u002e/etc`, true},
	{"NUL byte", "x.png%00.html", `x.png\u0000.html`, true},
	{"overlong UTF-8 dots", "%C0%AE%C0%AE%C0%AFetc", "", true},
	{"invalid UTF-8", "%FF%FEx.png", "", true},
	{"drive path", "C%3A%5CWindows%5Cx.ini", `C:\\Windows\\x.ini`, true},
	{"UNC path", "%5C%5Cserver%5Cshare%5Cx", `\\\\server\\share\\x`, true},
	{"CR LF", "a%0D%0AX-Injected%3A%201", `a\r\nX-Injected: 1`, true},
	{"trailing dot", "x.png.", `x.png.`, true},
	{"double-encoded", "%252e%252e%252fetc", `%2e%2e%2fetc`, false},
	{"absolute path", "%2Fetc%2Fpasswd", `/etc/passwd`, false},
	{"Unicode dots and slash", "%E2%80%A4%E2%80%A4%E2%88%95etc", `\u2024\u2024\u2215etc`, false},
	{"fullwidth dots and slash", "%EF%BC%8E%EF%BC%8E%EF%BC%8Fetc", `\uff0e\uff0e\uff0fetc`, false},
}

func hxRows(e *hxEnv) []hxRow {
	var rows []hxRow
	group := ""
	add := func(r ...hxRow) {
		for i := range r {
			r[i].group = group
		}
		rows = append(rows, r...)
	}
	seg := fmt.Sprintf("/api/resources/assets/%d", segA1)
	segDir := fmt.Sprintf("accounts/%s/", e.a.account)
	jsonCT := "application/json"

	// Traversal in every path parameter and encoding.
	group = "traversal in filename and relativePath"
	for _, enc := range hxEncodings {
		bad := func(r hxRow, param string) hxRow {
			r.status, r.code, r.param = 400, "invalid_parameter", param
			return r
		}
		// download: filename and relativePath
		for _, param := range []string{"filename", "relativePath"} {
			q := "?scope=pr7214&filename=keep.png&" + param + "=" + enc.raw
			if param == "filename" {
				q = "?scope=pr7214&filename=" + enc.raw
			}
			r := hxRow{name: "download " + param + " " + enc.name, target: seg + q}
			if enc.refuse {
				add(bad(r, param))
			} else {
				r.status, r.code = 404, "asset_not_found"
				add(r)
			}
			// delete
			d := hxRow{name: "delete " + param + " " + enc.name, method: "DELETE", target: seg + q}
			if enc.refuse {
				add(bad(d, param))
			} else {
				d.status = 200
				d.check = hxWantHeader("X-Deleted-Count", "0")
				add(d)
			}
		}
		// attach: relativePath in the JSON body (the encodings that JSON can carry)
		if enc.json != "" {
			r := hxRow{name: "attach relativePath " + enc.name, method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
				body: `{"filetoken":"` + e.tokA + `","relativePath":"` + enc.json + `"}`}
			if enc.refuse {
				add(bad(r, "relativePath"))
			} else {
				r.status, r.confined = 200, segDir
				r.undo = e.deleteAll(segA2)
				r.target = fmt.Sprintf("/api/resources/assets/%d?scope=pr7214", segA2)
				add(r)
			}
		}
		// upload: the filename parameter
		if enc.refuse {
			u := hxRow{name: "upload filename " + enc.name, method: "POST", target: "/api/media/upload?filename=" + enc.raw}
			u.ct, u.body = hxMultipart("x.bin", "data")
			add(bad(u, "filename"))
		}
	}

	// The locale parameter.
	group = "junk in the other parameters"
	for _, v := range []string{"..%2F..%2Fetc", "en%00", "en%2F..%2F..", "%FF%FE", "en%0D%0AX-Injected:%201", strings.Repeat("a", 100)} {
		add(hxRow{name: "download locale " + v[:min(len(v), 20)], target: seg + "?scope=pr7214&filename=keep.png&locale=" + v,
			status: 400, code: "invalid_parameter", param: "locale"})
	}
	add(hxRow{name: "attach locale traversal", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body: `{"filetoken":"` + e.tokA + `","locale":"../../etc"}`, status: 400, code: "invalid_parameter", param: "locale"})
	add(hxRow{name: "delete locale traversal", method: "DELETE", target: seg + "?scope=pr7214&filename=keep.png&locale=..%5C..",
		status: 400, code: "invalid_parameter", param: "locale"})

	// Folders inside the multipart part's file name (the upload's own name).
	for _, name := range []string{"../../etc/passwd", `..\..\win.ini`, "C:/x.ini", "a/./b.png", "ok/../x.png"} {
		ct, body := hxMultipart(name, "data")
		add(hxRow{name: "upload part filename " + name, method: "POST", target: "/api/media/upload", ct: ct, body: body,
			status: 400, code: "invalid_parameter", param: "filename"})
	}
	// An RFC 2231 encoded part name carrying CR LF: header injection through the file name.
	{
		body := "--B\r\nContent-Disposition: form-data; name=\"file\"; filename*=UTF-8''x%0D%0ASet-Cookie%3A%20a%3Db.txt\r\n\r\ndata\r\n--B--\r\n"
		add(hxRow{name: "upload part filename* with CR LF", method: "POST", target: "/api/media/upload",
			ct: "multipart/form-data; boundary=B", body: body, status: 400, code: "invalid_parameter", param: "filename"})
	}

	// Scope, Flex document, segment ids, asset id, file token: traversal, signs, overflow.
	for _, s := range []string{"pr..%2F..%2F1", "pr-1", "pr0", "pr99999999999999999999", "pr%2B7214", "PR7214", "pr7214%00",
		"pr%207214", "jbs-9927", "jbc..", "pr7214,pr7300", "pr0x1C2E"} {
		add(hxRow{name: "scope " + s, target: seg + "/list?scope=" + s, status: 400, code: "invalid_parameter", param: "scope"})
	}
	add(hxRow{name: "scope repeated with another account's project", target: seg + "/list?scope=pr7214&scope=pr1",
		status: 200}) // the first value counts, as url.Values.Get reads it
	for _, id := range []string{"..%2F..%2F1", "-19641", "0", "99999999999999999999", "c-500", "c..", "19641%00"} {
		add(hxRow{name: "flex id " + id, target: fmt.Sprintf("/api/apps/wbflex/documents/%s/assets/%d/list", id, segA1),
			status: 400, code: "invalid_parameter", param: "id"})
	}
	for _, id := range []string{"-27665601", "0", "9223372036854775808", "99999999999999999999", "27665601%00", "..%2F..%2Fx",
		"0x1A6", "%2B27665601", "1e9"} {
		add(hxRow{name: "segmentid " + id, target: "/api/resources/assets/" + id + "/list?scope=pr7214",
			status: 400, code: "invalid_parameter", param: "segmentid"})
	}
	for _, ids := range []string{"-1", "27665601,-1", "9223372036854775808", "1;2", "27665601%00", "..%2F1"} {
		add(hxRow{name: "segmentIds " + ids, target: "/api/resources/assets/list?scope=pr7214&segmentIds=" + ids,
			status: 400, code: "invalid_parameter", param: "segmentIds"})
	}
	{
		ids := make([]string, 1001)
		for i := range ids {
			ids[i] = strconv.Itoa(27665601 + i)
		}
		add(hxRow{name: "segmentIds 1001 distinct", target: "/api/resources/assets/list?scope=pr7214&segmentIds=" + strings.Join(ids, ","),
			status: 400, code: "invalid_parameter", param: "segmentIds"})
		dup := strings.Repeat(strconv.Itoa(segA1)+",", 5000)
		add(hxRow{name: "segmentIds 5000 duplicates", target: "/api/resources/assets/list?scope=pr7214&segmentIds=" + dup, status: 200})
		huge := strings.Repeat("1234567890,", 200_000) // 2.2 MB in the request line
		add(hxRow{name: "segmentIds megabytes", target: "/api/resources/assets/list?scope=pr7214&segmentIds=" + huge, status: 431})
	}
	for _, id := range []string{"re_-1", "re_0", "re_99999999999999999999", "..%2F..%2Fmeta.db", "re_1%00", "RE_1"} {
		add(hxRow{name: "asset id " + id, target: "/api/assets/" + id + "/download", status: 400, code: "invalid_parameter", param: "assetId"})
	}
	for _, tok := range []string{"..%2F..%2Fmeta.db", strings.Repeat("g", 32), strings.ToUpper(e.tokA), e.tokA + "00", "%00"} {
		add(hxRow{name: "media get token " + tok[:min(len(tok), 20)], target: "/api/media/get/" + tok,
			status: 404, code: "file_token_invalid"})
	}
	for _, v := range []string{"-1", "0", "99999999999999999999", "1e6", "0x10"} {
		ct, body := hxMultipart("x.bin", "data")
		add(hxRow{name: "upload maxsize " + v, method: "POST", target: "/api/media/upload?maxsize=" + v, ct: ct, body: body,
			status: 400, code: "invalid_parameter", param: "maxsize"})
	}
	add(hxRow{name: "attach filetoken traversal", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body: `{"filetoken":"../../meta.db"}`, status: 400, code: "invalid_parameter", param: "filetoken"})

	// Oversized headers and bodies.
	group = "oversized headers and bodies"
	add(hxRow{name: "one 70 KiB header", target: seg + "/list?scope=pr7214", hdr: []string{"X-Junk: " + strings.Repeat("a", 70<<10)}, status: 431})
	{
		var many []string
		for i := range 3000 {
			many = append(many, fmt.Sprintf("X-H%d: %s", i, strings.Repeat("b", 20)))
		}
		add(hxRow{name: "3000 headers", target: seg + "/list?scope=pr7214", hdr: many, status: 431})
	}
	add(hxRow{name: "huge Cookie", target: seg + "/list?scope=pr7214", hdr: []string{"Cookie: a=" + strings.Repeat("c", 80<<10)}, status: 431})
	add(hxRow{name: "attach body 100 KiB", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body: `{"filetoken":"` + e.tokA + `","relativePath":"` + strings.Repeat("d", 100<<10) + `"}`, status: 413, code: "too_large"})
	add(hxRow{name: "login body 100 KiB", method: "POST", target: "/api/auth/token", auth: "none", ct: jsonCT,
		body: `{"accountid":"` + strings.Repeat("e", 100<<10) + `","key":"x"}`, status: 413, code: "too_large"})
	{
		ct, body := hxMultipart("big.bin", strings.Repeat("f", 1000))
		add(hxRow{name: "upload over maxsize", method: "POST", target: "/api/media/upload?maxsize=100", ct: ct, body: body,
			status: 413, code: "too_large"})
		ct, body = hxMultipart("big.bin", strings.Repeat("g", 1<<20+10))
		add(hxRow{name: "upload over the server's limit", method: "POST", target: "/api/media/upload", ct: ct, body: body,
			status: 413, code: "too_large"})
		add(hxRow{name: "upload declaring 6 GiB", method: "POST", target: "/api/media/upload", ct: ct, body: body[:1000],
			length: strconv.Itoa(6 << 30), status: 413, code: "too_large"})
	}
	// Overlapping ranges would multiply the bytes sent (RFC 9110 §14.2): they are served once.
	add(hxRow{name: "1000 overlapping ranges", target: seg + "?scope=pr7214&filename=keep.png",
		hdr: []string{"Range: bytes=" + strings.TrimSuffix(strings.Repeat("0-,", 1000), ",")}, status: 200,
		check: func(t *testing.T, r *hxResp) {
			if size := e.assets["keep.png"].Size; int64(len(r.body)) != size {
				t.Errorf("answered %d bytes for a %d-byte file", len(r.body), size)
			}
		}})
	add(hxRow{name: "filename of 300 bytes", target: seg + "?scope=pr7214&filename=" + strings.Repeat("h", 300),
		status: 400, code: "invalid_parameter", param: "filename"})
	add(hxRow{name: "relativePath of 1100 bytes", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body:   `{"filetoken":"` + e.tokA + `","relativePath":"` + strings.Repeat("abcdefghij/", 100) + `"}`,
		status: 400, code: "invalid_parameter", param: "relativePath"})

	// Invalid UTF-8 and odd JSON.
	group = "invalid UTF-8 and odd JSON"
	add(hxRow{name: "attach body invalid UTF-8 in relativePath", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body: "{\"filetoken\":\"" + e.tokA + "\",\"relativePath\":\"\xff\xfe\"}", status: 400, code: "invalid_body"})
	add(hxRow{name: "attach body invalid UTF-8 in locale", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body: "{\"filetoken\":\"" + e.tokA + "\",\"locale\":\"e\xffn\"}", status: 400, code: "invalid_body"})
	add(hxRow{name: "login invalid UTF-8", method: "POST", target: "/api/auth/token", auth: "none", ct: jsonCT,
		body: "{\"accountid\":\"\xff\",\"key\":\"\xfe\"}", status: 400, code: "invalid_body"})
	add(hxRow{name: "attach body nested 10000 deep", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body: strings.Repeat("[", 10000), status: 400, code: "invalid_body"})
	add(hxRow{name: "attach filetoken as number", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body: `{"filetoken":1e400}`, status: 400})
	add(hxRow{name: "attach duplicate keys", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body: `{"filetoken":"` + e.tokA + `","relativePath":"ok","relativePath":"../.."}`, status: 400, code: "invalid_parameter", param: "relativePath"})

	// Wrong content types.
	group = "wrong content types"
	for _, ct := range []string{"application/xml", "text/html", "multipart/form-data; boundary=x", "application/json; charset=\"", "image/png"} {
		add(hxRow{name: "attach Content-Type " + ct, method: "POST", target: seg + "?scope=pr7214", ct: ct,
			body: `{"filetoken":"` + e.tokA + `"}`, status: 415, code: "unsupported_media"})
	}
	for _, ct := range []string{"application/json", "multipart/form-data", "multipart/form-data; boundary=", "multipart/mixed; boundary=B",
		"multipart/form-data; boundary=" + strings.Repeat("x", 71), "text/plain"} {
		_, body := hxMultipart("x.bin", "data")
		add(hxRow{name: "upload Content-Type " + ct[:min(len(ct), 40)], method: "POST", target: "/api/media/upload", ct: ct, body: body,
			status: 415, code: "unsupported_media"})
	}
	add(hxRow{name: "login Content-Type application/xml", method: "POST", target: "/api/auth/token", auth: "none", ct: "application/xml",
		body: `{"accountid":"x","key":"y"}`, status: 415, code: "unsupported_media"})

	// Truncated and malformed multipart bodies.
	group = "truncated multipart"
	{
		ct, body := hxMultipart("x.bin", strings.Repeat("i", 5000))
		add(hxRow{name: "multipart cut before the closing boundary", method: "POST", target: "/api/media/upload", ct: ct,
			body: body[:len(body)-10], status: 400, code: "invalid_body"})
		add(hxRow{name: "multipart shorter than its Content-Length", method: "POST", target: "/api/media/upload", ct: ct,
			body: body[:3000], length: strconv.Itoa(len(body)), halfClose: true, status: 400, code: "invalid_body"})
		add(hxRow{name: "multipart part headers never end", method: "POST", target: "/api/media/upload", ct: "multipart/form-data; boundary=B",
			body: "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n" + strings.Repeat("X-A: b\r\n", 10), status: 400, code: "invalid_body"})
		add(hxRow{name: "multipart with no file part", method: "POST", target: "/api/media/upload", ct: "multipart/form-data; boundary=B",
			body: "--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--B--\r\n", status: 400, code: "invalid_parameter", param: "file"})
		add(hxRow{name: "multipart boundary never appears", method: "POST", target: "/api/media/upload", ct: "multipart/form-data; boundary=B",
			body: strings.Repeat("j", 4000), status: 400, code: "invalid_body"})
		add(hxRow{name: "multipart empty body", method: "POST", target: "/api/media/upload", ct: "multipart/form-data; boundary=B",
			body: "", status: 400, code: "invalid_body"})
		add(hxRow{name: "multipart chunked with a bad chunk size", method: "POST", target: "/api/media/upload", ct: ct,
			hdr: []string{"Transfer-Encoding: chunked"}, length: "-", body: "zz\r\n" + body + "\r\n0\r\n\r\n", status: 400, code: "invalid_body"})
	}

	// Other accounts' and forged tokens.
	group = "other accounts' and forged tokens"
	for _, r := range []hxRow{
		{name: "B's token with A's account id: list", target: seg + "/list?scope=pr7214"},
		{name: "B's token with A's account id: download", target: seg + "?scope=pr7214&filename=keep.png"},
		{name: "B's token with A's account id: delete all", method: "DELETE", target: seg + "?scope=pr7214"},
		{name: "B's token with A's account id: attach", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
			body: `{"filetoken":"` + e.tokB + `"}`},
		{name: "B's token with A's account id: asset id", target: "/api/assets/" + e.assets["keep.png"].ID + "/download"},
		{name: "B's token with A's account id: media get", target: "/api/media/get/" + e.tokA},
	} {
		r.auth, r.status, r.code = "BonA", 401, "unauthorized"
		add(r)
	}
	add(hxRow{name: "B on its own account: A's asset id", auth: "B", target: "/api/assets/" + e.assets["keep.png"].ID + "/download",
		status: 404, code: "asset_not_found"})
	add(hxRow{name: "B on its own account: A's file token", auth: "B", target: "/api/media/get/" + e.tokA, status: 404, code: "file_token_invalid"})
	add(hxRow{name: "B attaches A's file token", auth: "B", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body: `{"filetoken":"` + e.tokA + `"}`, status: 404, code: "file_token_invalid"})
	add(hxRow{name: "A attaches B's file token", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT,
		body: `{"filetoken":"` + e.tokB + `"}`, status: 404, code: "file_token_invalid"})
	add(hxRow{name: "A downloads B's secret by name", target: seg + "?scope=pr7214&filename=secret.txt", status: 404, code: "asset_not_found"})
	for _, r := range []hxRow{
		{name: "forged token", auth: "bad"},
		{name: "SQL in the token", auth: "none", hdr: []string{"X-Auth-Token: ' OR '1'='1", "X-Auth-AccountId: " + e.a.account}},
		{name: "traversal in the account id", auth: "none", hdr: []string{"X-Auth-Token: " + e.pmA.token, "X-Auth-AccountId: ../" + e.a.account}},
		{name: "account id with a NUL", auth: "none", hdr: []string{"X-Auth-Token: " + e.pmA.token, "X-Auth-AccountId: " + e.a.account + "\x00"}},
		{name: "token of 10 KiB", auth: "none", hdr: []string{"X-Auth-Token: " + strings.Repeat("F", 10<<10), "X-Auth-AccountId: " + e.a.account}},
		{name: "token twice", auth: "none", hdr: []string{"X-Auth-Token: " + e.pmB.token, "X-Auth-Token: " + e.pmA.token, "X-Auth-AccountId: " + e.a.account}},
		{name: "no account id", auth: "none", hdr: []string{"X-Auth-Token: " + e.pmA.token}},
		{name: "admin token as a user token", auth: "none", hdr: []string{"X-Auth-Token: " + adminToken, "X-Auth-AccountId: " + e.a.account}},
		{name: "Bearer admin token on a user route", auth: "none", hdr: []string{"Authorization: Bearer " + adminToken}},
	} {
		r.method, r.target, r.status, r.code = "DELETE", seg+"?scope=pr7214", 401, "unauthorized"
		if r.name == "account id with a NUL" {
			r.code = "" // Go's server refuses the header itself
			r.status = 400
		}
		add(r)
	}
	add(hxRow{name: "user token on the admin API", method: "PUT", target: "/admin/v1/catalog", ct: jsonCT,
		body: `{"accounts":[{"id":"` + e.a.account + `","users":[{"id":99,"name":"x","apiKey":"y"}]}]}`, status: 401, code: "unauthorized"})
	add(hxRow{name: "admin token without Bearer", method: "DELETE", target: "/admin/v1/accounts/" + e.b.account,
		hdr: []string{"Authorization: " + adminToken}, status: 401, code: "unauthorized"})
	add(hxRow{name: "admin token in lower-case bearer", method: "DELETE", target: "/admin/v1/accounts/" + e.b.account,
		hdr: []string{"Authorization: bearer " + adminToken + "x"}, status: 401, code: "unauthorized"})

	// Content that a browser would run is never served inline.
	group = "active content never inline"
	for _, name := range []string{"page.html", "evil.svg", "fake.jpg"} {
		add(hxRow{name: "download " + name + " not inline", target: seg + "?scope=pr7214&filename=" + name, status: 200, check: hxNotInline})
		add(hxRow{name: "asset id " + name + " not inline", target: "/api/assets/" + e.assets[name].ID + "/download", status: 200, check: hxNotInline})
	}
	add(hxRow{name: "flex download page.html not inline", target: fmt.Sprintf("/api/apps/wbflex/documents/%d/assets/%d?filename=page.html", docA, segA1),
		status: 200, check: hxNotInline})
	add(hxRow{name: "media get of an HTML upload not inline", target: "/api/media/get/" + e.htmlTok, status: 200, check: hxNotInline})
	add(hxRow{name: "download with a non-ASCII name", target: seg + "?scope=pr7214&filename=na%C3%AFve%20%C2%ABx%C2%BB%20%C3%BC.txt",
		status: 200, check: hxDisposition("naïve «x» ü.txt")})

	// Method confusion and malformed requests.
	group = "method confusion and malformed requests"
	add(hxRow{name: "X-HTTP-Method-Override DELETE on GET", target: seg + "?scope=pr7214&filename=keep.png",
		hdr: []string{"X-HTTP-Method-Override: DELETE", "X-Method-Override: DELETE"}, status: 200})
	add(hxRow{name: "_method=DELETE on GET", target: seg + "?scope=pr7214&filename=keep.png&_method=DELETE", status: 200})
	add(hxRow{name: "PATCH an asset", method: "PATCH", target: seg + "?scope=pr7214&filename=keep.png", status: 405, code: "method_not_allowed"})
	add(hxRow{name: "PUT an asset", method: "PUT", target: seg + "?scope=pr7214&filename=keep.png", ct: jsonCT,
		body: `{"filetoken":"` + e.tokA + `"}`, status: 405, code: "method_not_allowed"})
	add(hxRow{name: "TRACE", method: "TRACE", target: seg, status: 405, code: "method_not_allowed"})
	add(hxRow{name: "lower-case delete", method: "delete", target: seg + "?scope=pr7214", status: 405, code: "method_not_allowed"})
	add(hxRow{name: "GET the upload route", target: "/api/media/upload", status: 405, code: "method_not_allowed"})
	add(hxRow{name: "DELETE the admin catalog as a user", method: "DELETE", target: "/admin/v1/catalog", status: 405, code: "method_not_allowed"})
	// Go's router redirects to the cleaned path, where the admin API asks for its own token.
	add(hxRow{name: "path with dot-dot segments", target: "/api/resources/assets/../../../admin/v1/accounts", status: 307,
		check: hxWantHeader("Location", "/admin/v1/accounts")})
	add(hxRow{name: "path with encoded dot-dot segments", target: "/api/resources/assets/%2e%2e/%2e%2e/list?scope=pr7214",
		status: 404, code: "not_found"})
	add(hxRow{name: "absolute-form target for another host", target: "http://evil.example" + seg + "?scope=pr7214&filename=nothing.png",
		status: 404, code: "asset_not_found"})
	add(hxRow{name: "request line with a NUL", line: "GET /api/resources/assets/1\x00/list HTTP/1.1", status: 400})
	add(hxRow{name: "request line with a space in the target", line: "GET /api/resources/assets/ 1/list HTTP/1.1", status: 400})
	add(hxRow{name: "HTTP/0.9-style line", line: "GET " + seg, status: 400})
	add(hxRow{name: "bad protocol version", line: "GET " + seg + " HTTP/9.9", status: 505})
	add(hxRow{name: "header with a bare CR", target: seg + "/list?scope=pr7214", hdr: []string{"X-A: b\rX-Injected: 1"}, status: 400})
	add(hxRow{name: "header name with a space", target: seg + "/list?scope=pr7214", hdr: []string{"X Auth: b"}, status: 400})
	add(hxRow{name: "two different Content-Lengths", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT, length: "-",
		hdr: []string{"Content-Length: 5", "Content-Length: 6"}, body: "{}    ", status: 400})
	add(hxRow{name: "Content-Length and Transfer-Encoding", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT, length: "-",
		hdr: []string{"Content-Length: 4", "Transfer-Encoding: chunked"}, body: "0\r\n\r\n", status: 400})
	add(hxRow{name: "negative Content-Length", method: "POST", target: seg + "?scope=pr7214", ct: jsonCT, length: "-1", body: "{}", status: 400})
	return rows
}

// deleteAll returns an undo that removes every asset of a segment of tenant A.
func (e *hxEnv) deleteAll(seg int64) func(t *testing.T) {
	return func(t *testing.T) {
		e.pmA.do("DELETE", fmt.Sprintf("/api/resources/assets/%d?scope=pr7214", seg), nil).expect(t, 200)
	}
}

// hxMultipart is a well-formed one-file multipart body (boundary B0UND).
func hxMultipart(name, data string) (contentType, body string) {
	return "multipart/form-data; boundary=B0UND", "--B0UND\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
		strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" +
		data + "\r\n--B0UND--\r\n"
}

func hxWantHeader(name, want string) func(t *testing.T, r *hxResp) {
	return func(t *testing.T, r *hxResp) {
		if got := r.header.Get(name); got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
}

// hxNotInline checks that active content is served so that no browser runs it.
func hxNotInline(t *testing.T, r *hxResp) {
	cd := r.header.Get("Content-Disposition")
	if !strings.HasPrefix(cd, "attachment") {
		t.Errorf("Content-Disposition %q, want attachment", cd)
	}
	if v := r.header.Get("X-Content-Type-Options"); v != "nosniff" {
		t.Errorf("X-Content-Type-Options %q, want nosniff", v)
	}
	if v := r.header.Get("Content-Security-Policy"); !strings.Contains(v, "sandbox") {
		t.Errorf("Content-Security-Policy %q, want sandbox", v)
	}
	if ct := r.header.Get("Content-Type"); strings.HasPrefix(ct, "image/") && ct != "image/svg+xml" {
		t.Errorf("HTML bytes served as %q", ct)
	}
}

// hxDisposition checks that Content-Disposition parses back to exactly the stored name.
func hxDisposition(name string) func(t *testing.T, r *hxResp) {
	return func(t *testing.T, r *hxResp) {
		cd := r.header.Get("Content-Disposition")
		if strings.ContainsAny(cd, "\r\n") {
			t.Fatalf("Content-Disposition %q holds a line break", cd)
		}
		_, params, err := mime.ParseMediaType(cd)
		if err != nil {
			t.Fatalf("Content-Disposition %q: %v", cd, err)
		}
		if params["filename"] != name {
			t.Errorf("Content-Disposition %q names %q, want %q", cd, params["filename"], name)
		}
	}
}
