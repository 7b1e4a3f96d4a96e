package e2e

import (
	"bytes"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The files of deploy/ are tested as far as this machine allows: no container engine and
// no systemd as PID 1 run here. The unit passes systemd-analyze verify; the binary the
// Dockerfile builds runs in an empty root as the distroless image would run it; nginx
// accepts its configuration and proxies a real two-node cluster with it; the compose file
// is checked for its structure.

const deployDir = repoRoot + "/deploy"

func readDeploy(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// --- systemd -------------------------------------------------------------------------------

// verifyUnit runs systemd-analyze verify on a unit and returns the lines it printed about
// that unit; lines about other units of the host are its noise, not the unit's.
func verifyUnit(t *testing.T, path string) []string {
	t.Helper()
	if _, err := exec.LookPath("systemd-analyze"); err != nil {
		t.Fatal("systemd-analyze is not installed (Debian: systemd)")
	}
	out, _ := exec.Command("systemd-analyze", "verify", "--man=no", path).CombinedOutput()
	var about []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if strings.Contains(line, filepath.Base(path)) {
			about = append(about, line)
		} else if line != "" {
			t.Logf("systemd-analyze, about the host: %s", line)
		}
	}
	return about
}

// TestSystemdUnitVerify: systemd-analyze verify has nothing to say about the unit (its
// ExecStart pointed at the binary under test, which must exist for verify), and does say
// something about a broken copy, so that its silence means something.
func TestSystemdUnitVerify(t *testing.T) {
	unit := readDeploy(t, "refstore.service")
	dir := t.TempDir()
	path := filepath.Join(dir, "refstore.service")
	if !strings.Contains(unit, "ExecStart=/usr/local/bin/refstore serve ") {
		t.Fatal("ExecStart does not run /usr/local/bin/refstore serve")
	}
	os.WriteFile(path, []byte(strings.ReplaceAll(unit, "/usr/local/bin/refstore", binPath)), 0o644)
	if lines := verifyUnit(t, path); len(lines) > 0 {
		t.Fatalf("systemd-analyze verify:\n%s", strings.Join(lines, "\n"))
	}
	// systemd's own scoring of the sandbox, offline: 1.6 ("OK") when written; above 2 means
	// hardening was lost.
	out, err := exec.Command("systemd-analyze", "security", "--offline=true", "--no-pager", path).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for refstore\.service: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security --offline: %v\n%s", err, out)
	}
	if score, _ := strconv.ParseFloat(string(m[1]), 64); score > 2.0 {
		t.Fatalf("exposure level %s, want at most 2.0:\n%s", m[1], out)
	}
	t.Logf("systemd-analyze security: exposure level %s", m[1])
	broken := strings.Replace(strings.ReplaceAll(unit, "/usr/local/bin/refstore", binPath),
		"ProtectSystem=strict", "ProtectSystem=strickt", 1)
	os.WriteFile(path, []byte(broken), 0o644)
	if lines := verifyUnit(t, path); len(lines) == 0 {
		t.Fatal("systemd-analyze verify says nothing about ProtectSystem=strickt: the check is blind")
	}
}

// unitSettings parses a unit file into key → values (a key may repeat).
func unitSettings(unit string) map[string][]string {
	m := map[string][]string{}
	for _, line := range strings.Split(unit, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, "[") {
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = append(m[k], v)
		}
	}
	return m
}

// TestSystemdUnitHardening: the unit holds the hardening it promises, stops gracefully,
// and says which two lines the preview sandboxes will need relaxed.
func TestSystemdUnitHardening(t *testing.T) {
	unit := readDeploy(t, "refstore.service")
	set := unitSettings(unit)
	for k, want := range map[string]string{
		"DynamicUser": "yes", "StateDirectory": "refstore", "ReadWritePaths": "/var/lib/refstore",
		"ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
		"NoNewPrivileges": "yes", "CapabilityBoundingSet": "", "AmbientCapabilities": "",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX", "SystemCallFilter": "@system-service",
		"SystemCallArchitectures": "native", "MemoryDenyWriteExecute": "yes", "LockPersonality": "yes",
		"ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectKernelLogs": "yes",
		"ProtectControlGroups": "yes", "RestrictNamespaces": "yes", "RestrictSUIDSGID": "yes",
		"RestrictRealtime": "yes", "KillSignal": "SIGTERM", "Restart": "on-failure",
		"EnvironmentFile": "-/etc/refstore/refstore.env",
		"ExecStart":       "/usr/local/bin/refstore serve --config /etc/refstore/refstore.yaml",
	} {
		if got := set[k]; len(got) != 1 || got[0] != want {
			t.Errorf("%s=%q, want %q", k, got, want)
		}
	}
	stop, err := strconv.Atoi(strings.Join(set["TimeoutStopSec"], ""))
	if err != nil || stop <= 30 {
		t.Errorf("TimeoutStopSec=%v: must be above the 30 s of --shutdown-grace", set["TimeoutStopSec"])
	}
	for _, relax := range []string{
		"RestrictNamespaces=yes           ->  RestrictNamespaces=user mnt net pid ipc uts",
		"SystemCallFilter=@system-service ->  SystemCallFilter=@system-service @mount",
	} {
		if !strings.Contains(unit, relax) {
			t.Errorf("the unit does not document the relaxation %q for the preview sandboxes", relax)
		}
	}
}

// --- the container image -------------------------------------------------------------------

// dockerfileBuild is the binary's build as the Dockerfile makes it (the test checks the
// Dockerfile says so), with the -X values of a tagged build.
var dockerfileBuild = []string{"build", "-trimpath", "-buildvcs=false", "-ldflags",
	"-s -w -X github.com/refstore/refstore/internal/buildinfo.version=v0.0.0-chroot" +
		" -X github.com/refstore/refstore/internal/buildinfo.revision=0123456789abcdef" +
		" -X github.com/refstore/refstore/internal/buildinfo.buildTime=2026-12-03T10:00:00Z"}

// TestChrootDockerfileStructure: the Dockerfile builds the way the chroot test builds, and
// its final image is non-root, static, with a data volume and a health check.
func TestChrootDockerfileStructure(t *testing.T) {
	df := readDeploy(t, "Dockerfile")
	for _, want := range []string{
		"FROM golang:${GO_VERSION} AS build", "ARG GO_VERSION=1.26",
		"CGO_ENABLED=0 go build -trimpath -buildvcs=false",
		"-X github.com/refstore/refstore/internal/buildinfo.version=${VERSION}",
		"-X github.com/refstore/refstore/internal/buildinfo.revision=${REVISION}",
		"-X github.com/refstore/refstore/internal/buildinfo.buildTime=${BUILD_TIME}",
		"./cmd/refstore",
		"FROM gcr.io/distroless/static-debian12:nonroot",
		"COPY --from=build /out/refstore /refstore",
		"COPY --from=build --chown=65532:65532 /out/data /data",
		"USER 65532:65532", "VOLUME /data", "EXPOSE 8080",
		`HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 CMD ["/refstore", "healthcheck"]`,
		"REFSTORE_ADDR=0.0.0.0:8080", "REFSTORE_DATA=/data", "STOPSIGNAL SIGTERM",
		`ENTRYPOINT ["/refstore"]`, `CMD ["serve"]`,
	} {
		if !strings.Contains(df, want) {
			t.Errorf("the Dockerfile lacks %q", want)
		}
	}
	ignore := readDeploy(t, "Dockerfile.dockerignore")
	for _, want := range []string{".git", "refstore-data"} {
		if !strings.Contains(ignore, want+"\n") {
			t.Errorf("Dockerfile.dockerignore lacks %s", want)
		}
	}
}

// TestChrootScratchImage runs the binary as the container image would: built as the
// Dockerfile builds it (static, CGO-free), in a root that holds nothing but the binary, the
// CA certificates, a passwd and group file with the non-root user and its empty data
// directory, as that user. It serves, takes a catalog, an upload and a download, answers
// its own healthcheck and says its version from inside.
func TestChrootScratchImage(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("chroot needs root (CI runs as root)")
	}
	const uid, gid = 65532, 65532
	root := t.TempDir()
	os.Chmod(root, 0o755)
	bin := filepath.Join(root, "refstore")
	build := exec.Command("go", append(dockerfileBuild, "-o", bin, "./cmd/refstore")...)
	build.Dir = repoRoot
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	assertStatic(t, bin)
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatalf("the host's CA certificates: %v", err)
	}
	for name, data := range map[string]string{
		"etc/ssl/certs/ca-certificates.crt": string(certs),
		"etc/passwd":                        "root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n",
		"etc/group":                         "root:x:0:\nnonroot:x:65532:\n",
	} {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	data := filepath.Join(root, "data")
	os.Mkdir(data, 0o700)
	if err := os.Chown(data, uid, gid); err != nil {
		t.Fatal(err)
	}
	want := "data etc etc/group etc/passwd etc/ssl etc/ssl/certs etc/ssl/certs/ca-certificates.crt refstore"
	if entries := strings.Join(listTree(t, root), " "); entries != want {
		t.Fatalf("the root holds %s, want only %s", entries, want)
	}

	addr := freeAddr(t)
	inRoot := func(args ...string) *exec.Cmd {
		cmd := exec.Command("chroot", append([]string{fmt.Sprintf("--userspec=%d:%d", uid, gid), root}, args...)...)
		// The image's environment, and nothing of the host's.
		cmd.Env = []string{"REFSTORE_ADDR=" + addr, "REFSTORE_DATA=/data"}
		return cmd
	}
	var srv logProcess
	if err := srv.start(inRoot("/refstore", "serve", "--log-format", "json"), func(line string) bool {
		return strings.Contains(line, `"msg":"listening"`)
	}); err != nil {
		t.Fatal(err)
	}
	defer srv.stop()
	base := "http://" + addr
	doURL(t, "GET", base+"/healthz", nil, nil).expect(t, 200)
	doURL(t, "GET", base+"/readyz", nil, nil).expect(t, 200)

	// The server generated its admin token in the data directory, as the non-root user.
	token, err := os.ReadFile(filepath.Join(data, "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(filepath.Join(data, "admin.token")); err != nil || !ownedBy(fi, uid) || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token: %v %v", fi.Mode(), err)
	}
	catalog, _ := os.ReadFile(filepath.Join(repoRoot, "testdata", "samples", "catalog.json"))
	doURL(t, "PUT", base+"/admin/v1/catalog", http.Header{"Authorization": {"Bearer " + strings.TrimSpace(string(token))}},
		bytes.NewReader(catalog)).expect(t, 200)
	login := doURL(t, "POST", base+"/api/auth/token", nil, strings.NewReader(`{"accountid":"acme","key":"my-secret-api-key"}`)).expect(t, 200)
	var session string
	login.json(t, &session)
	h := http.Header{"X-Auth-Token": {session}, "X-Auth-AccountId": {"acme"}}
	shot, _ := os.ReadFile(filepath.Join(repoRoot, "testdata", "samples", "screenshot.png"))
	body, ctype := multipartBody(t, "screenshot.png", shot)
	uh := h.Clone()
	uh.Set("Content-Type", ctype)
	up := doURL(t, "POST", base+"/api/media/upload", uh, body).expect(t, 200)
	var res struct{ Result struct{ Token string } }
	up.json(t, &res)
	doURL(t, "POST", base+"/api/resources/assets/27665601?scope=pr7214", h,
		strings.NewReader(`{"filetoken":"`+res.Result.Token+`","locale":"en"}`)).expect(t, 200)
	got := doURL(t, "GET", base+"/api/resources/assets/27665601?scope=pr7214&locale=en&filename=screenshot.png", h, nil).expect(t, 200)
	if !bytes.Equal(got.body, shot) || got.Header.Get("Content-Type") != "image/png" {
		t.Fatalf("downloaded %d bytes of %s, want the %d of the PNG", len(got.body), got.Header.Get("Content-Type"), len(shot))
	}
	tree := filepath.Join(data, "accounts/acme/projects/7214/assets/19641/601/27665601/en/screenshot.png")
	if fi, err := os.Stat(tree); err != nil || !ownedBy(fi, uid) {
		t.Fatalf("the reference-material tree in the data directory: %v", err)
	}

	// The image's HEALTHCHECK: the binary's own command, from REFSTORE_ADDR.
	if out, err := inRoot("/refstore", "healthcheck").CombinedOutput(); err != nil {
		t.Fatalf("healthcheck in the root: %v\n%s", err, out)
	}
	out, err := inRoot("/refstore", "version", "--json").Output()
	if err != nil {
		t.Fatalf("version in the root: %v", err)
	}
	var v struct{ Version, Revision, BuildTime string }
	if json.Unmarshal(out, &v) != nil || v.Version != "v0.0.0-chroot" || v.Revision != "0123456789abcdef" ||
		v.BuildTime != "2026-12-03T10:00:00Z" {
		t.Fatalf("version from the -X flags of the Dockerfile's build: %s", out)
	}
	srv.stop()
	if !strings.Contains(srv.logs(), `"msg":"stopped"`) {
		t.Fatalf("no clean stop on SIGTERM:\n%s", srv.logs())
	}
	if strings.Contains(srv.logs(), `"level":"ERROR"`) {
		t.Fatalf("errors in the log:\n%s", srv.logs())
	}
}

// assertStatic fails unless the ELF file has no interpreter and no dynamic section: it
// runs without a libc, as in a scratch image.
func assertStatic(t *testing.T, path string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Fatalf("%s is linked dynamically (%v): the image has no libc", path, p.Type)
		}
	}
}

func ownedBy(fi os.FileInfo, uid int) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == uid
}

// listTree lists every file and folder under root, relative to it.
func listTree(t *testing.T, root string) []string {
	t.Helper()
	var out []string
	filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if p != root {
			rel, _ := filepath.Rel(root, p)
			out = append(out, rel)
		}
		return err
	})
	return out
}

// freeAddr is a loopback address with a port free a moment ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// --- nginx ---------------------------------------------------------------------------------

// nginxConf is deploy/nginx.conf with its two upstream nodes and its port pointed at
// addresses of this machine; everything else is as shipped.
func nginxConf(t *testing.T, listen string, nodes ...string) string {
	t.Helper()
	conf := readDeploy(t, "nginx.conf")
	for i, n := range nodes {
		old := fmt.Sprintf("server node%d:8080 ", i+1)
		if !strings.Contains(conf, old) {
			t.Fatalf("nginx.conf has no upstream %q", old)
		}
		conf = strings.Replace(conf, old, "server "+n+" ", 1)
	}
	if !strings.Contains(conf, "listen 8080;") {
		t.Fatal("nginx.conf does not listen on 8080")
	}
	return strings.Replace(conf, "listen 8080;", "listen "+listen+";", 1)
}

func nginxPrefix(t *testing.T, conf string) (prefix, path string) {
	t.Helper()
	if _, err := exec.LookPath("nginx"); err != nil {
		t.Fatal("nginx is not installed (Debian: nginx-light)")
	}
	prefix = t.TempDir()
	path = filepath.Join(prefix, "nginx.conf")
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return prefix, path
}

// TestNginxConfigValid: nginx -t accepts deploy/nginx.conf, and refuses a broken copy.
func TestNginxConfigValid(t *testing.T) {
	conf := nginxConf(t, "127.0.0.1:8080", "127.0.0.1:8081", "127.0.0.1:8082")
	prefix, path := nginxPrefix(t, conf)
	if out, err := exec.Command("nginx", "-t", "-p", prefix, "-c", path, "-g", "pid "+prefix+"/nginx.pid;").CombinedOutput(); err != nil {
		t.Fatalf("nginx -t: %v\n%s", err, out)
	}
	for want, why := range map[string]string{
		"client_max_body_size 5g;":                            "uploads up to --max-upload-size",
		"proxy_request_buffering off;":                        "uploads streamed to the node",
		"proxy_buffering off;":                                "downloads streamed",
		"proxy_set_header X-Request-Id $refstore_request_id;": "the request id passed through",
		`""      $request_id;`:                                "nginx's id when the client sends none",
		"proxy_http_version 1.1;":                             "keepalive to the nodes",
		"proxy_next_upstream error timeout;":                  "no retry of a streamed upload",
		"$uri":                                                "no query string in the access log",
	} {
		if !strings.Contains(conf, want) {
			t.Errorf("nginx.conf lacks %q (%s)", want, why)
		}
	}
	broken := strings.Replace(conf, "proxy_buffering off;", "proxy_buffering of;", 1)
	prefix, path = nginxPrefix(t, broken)
	if err := exec.Command("nginx", "-t", "-p", prefix, "-c", path, "-g", "pid "+prefix+"/nginx.pid;").Run(); err == nil {
		t.Fatal("nginx -t accepts proxy_buffering of: the check is blind")
	}
}

// TestNginxClusterBehindProxy runs deploy/nginx.conf in front of a real two-node cluster on
// PostgreSQL and S3: uploads and downloads pass through it, requests reach both nodes, the
// client's X-Request-Id reaches refstore and comes back, and nginx's own id is used when
// the client sends none.
func TestNginxClusterBehindProxy(t *testing.T) {
	c := startCluster(t, backends[2])
	listen := freeAddr(t)
	var nodes []string
	for _, n := range c.nodes {
		nodes = append(nodes, strings.TrimPrefix(n.url, "http://"))
	}
	prefix, path := nginxPrefix(t, nginxConf(t, listen, nodes...))
	var ngx logProcess
	cmd := exec.Command("nginx", "-p", prefix, "-c", path, "-g", "daemon off; pid "+prefix+"/nginx.pid;")
	if err := ngx.start(cmd, nil); err != nil {
		t.Fatal(err)
	}
	defer ngx.stop()
	base := "http://" + listen
	waitHTTP(t, base+"/healthz")

	proxied := &cluster{backend: c.backend, nodes: []*node{{url: base}}}
	pm := newTenant(t, proxied).as("pm")
	data := randomBytes(3 << 20)
	token := pm.upload("big.bin", data)
	pm.attach("pr7214", segA1, map[string]string{"filetoken": token}).expect(t, 200)
	got := pm.do("GET", segPath(segA1, "scope", "pr7214", "filename", "big.bin"), nil).expect(t, 200)
	if !bytes.Equal(got.body, data) {
		t.Fatalf("downloaded %d bytes through nginx, uploaded %d", len(got.body), len(data))
	}
	rng := pm.doH("GET", segPath(segA1, "scope", "pr7214", "filename", "big.bin"), http.Header{"Range": {"bytes=100-199"}}, nil).expect(t, 206)
	if !bytes.Equal(rng.body, data[100:200]) {
		t.Fatal("a Range request through nginx got other bytes")
	}
	id := pm.doH("GET", "/healthz", http.Header{"X-Request-Id": {"e2e-nginx-1234"}}, nil).expect(t, 200)
	if id.Header.Get("X-Request-Id") != "e2e-nginx-1234" {
		t.Fatalf("X-Request-Id %q: the client's id did not pass through nginx", id.Header.Get("X-Request-Id"))
	}
	own := pm.do("GET", "/healthz", nil).expect(t, 200)
	if rid := own.Header.Get("X-Request-Id"); !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(rid) {
		t.Fatalf("X-Request-Id %q: want nginx's $request_id when the client sends none", rid)
	}
	// Both nodes served: the access log names the upstream of every request.
	deadline := time.Now().Add(5 * time.Second)
	for {
		log := ngx.logs()
		if strings.Contains(log, "upstream="+nodes[0]) && strings.Contains(log, "upstream="+nodes[1]) {
			if strings.Contains(log, "scope=") {
				t.Fatalf("a query string is in nginx's access log:\n%s", log)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("requests did not reach both nodes:\n%s", log)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitHTTP waits until url answers 200.
func waitHTTP(t *testing.T, url string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not answer 200: %v", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// --- compose -------------------------------------------------------------------------------

type composeService struct {
	Image       string            `yaml:"image"`
	Build       map[string]string `yaml:"build"`
	Command     []string          `yaml:"command"`
	Entrypoint  []string          `yaml:"entrypoint"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Healthcheck *struct {
		Test []string `yaml:"test"`
	} `yaml:"healthcheck"`
	Volumes         []string `yaml:"volumes"`
	Ports           []string `yaml:"ports"`
	StopGracePeriod string   `yaml:"stop_grace_period"`
}

// TestComposeStructure: no engine runs here, so the compose file is checked for what makes
// the cluster work: two nodes on PostgreSQL and the S3 server with the same admin token,
// started only once their backends are healthy, healthchecks everywhere they are waited on,
// nginx in front of both with deploy/nginx.conf, pinned images, and only settings refstore
// knows.
func TestComposeStructure(t *testing.T) {
	var f struct {
		Name     string                    `yaml:"name"`
		Services map[string]composeService `yaml:"services"`
		Volumes  map[string]any            `yaml:"volumes"`
	}
	if err := yaml.Unmarshal([]byte(readDeploy(t, "compose.yaml")), &f); err != nil {
		t.Fatalf("compose.yaml: %v", err)
	}
	for _, name := range []string{"postgres", "s3-bucket", "s3", "node1", "node2", "nginx"} {
		if _, ok := f.Services[name]; !ok {
			t.Fatalf("compose.yaml has no service %s", name)
		}
	}
	for name, s := range f.Services {
		image, tag, ok := strings.Cut(s.Image, ":")
		if !ok || tag == "" || tag == "latest" {
			t.Errorf("%s: image %q is not pinned to a version", name, s.Image)
		}
		if name == "node1" || name == "node2" {
			if image != "refstore" || s.Build["dockerfile"] != "deploy/Dockerfile" || s.Build["context"] != ".." {
				t.Errorf("%s: not built from deploy/Dockerfile: %+v %q", name, s.Build, s.Image)
			}
		}
	}
	known := refstoreEnvNames(t)
	n1, n2 := f.Services["node1"], f.Services["node2"]
	for _, n := range []composeService{n1, n2} {
		if n.Environment["REFSTORE_ADMIN_TOKEN"] != "${REFSTORE_ADMIN_TOKEN:?set REFSTORE_ADMIN_TOKEN, the same for every node}" {
			t.Errorf("a node's admin token is %q: want the shared, required ${REFSTORE_ADMIN_TOKEN:?…}", n.Environment["REFSTORE_ADMIN_TOKEN"])
		}
		for k := range n.Environment {
			if strings.HasPrefix(k, "REFSTORE_") && !known[k] {
				t.Errorf("a node sets %s, which refstore does not read", k)
			}
		}
		for _, dep := range []string{"postgres", "s3"} {
			if n.DependsOn[dep].Condition != "service_healthy" {
				t.Errorf("a node does not wait for %s to be healthy", dep)
			}
		}
		if n.Healthcheck == nil || strings.Join(n.Healthcheck.Test, " ") != "CMD /refstore healthcheck" {
			t.Errorf("a node's healthcheck is not `refstore healthcheck`: %+v", n.Healthcheck)
		}
		if d, err := time.ParseDuration(n.StopGracePeriod); err != nil || d <= 30*time.Second {
			t.Errorf("stop_grace_period %q: must be above --shutdown-grace (30s)", n.StopGracePeriod)
		}
	}
	if fmt.Sprint(n1.Environment) != fmt.Sprint(n2.Environment) {
		t.Errorf("the two nodes are configured differently:\n%v\n%v", n1.Environment, n2.Environment)
	}
	if len(n1.Volumes) != 1 || len(n2.Volumes) != 1 || n1.Volumes[0] == n2.Volumes[0] {
		t.Errorf("each node needs a /data volume of its own: %v %v", n1.Volumes, n2.Volumes)
	}

	// The nodes reach PostgreSQL and the S3 server with the credentials those are given.
	pg, s3, bucket := f.Services["postgres"], f.Services["s3"], f.Services["s3-bucket"]
	meta := n1.Environment["REFSTORE_METADATA"]
	wantMeta := fmt.Sprintf("postgres://%s:%s@postgres:5432/%s?", pg.Environment["POSTGRES_USER"], pg.Environment["POSTGRES_PASSWORD"], pg.Environment["POSTGRES_DB"])
	if !strings.HasPrefix(meta, wantMeta) {
		t.Errorf("REFSTORE_METADATA %q: want it to start with %q", meta, wantMeta)
	}
	blobs := n1.Environment["REFSTORE_BLOBS"]
	if !strings.HasPrefix(blobs, "s3://refstore?endpoint=http://s3:7070&") || !strings.Contains(s3.Command[1], "7070") {
		t.Errorf("REFSTORE_BLOBS %q does not name the S3 service's port (%v)", blobs, s3.Command)
	}
	if strings.Join(bucket.Entrypoint, " ") != "mkdir -p /data/refstore" || bucket.Volumes[0] != s3.Volumes[0] {
		t.Errorf("s3-bucket does not create the bucket refstore uses in the S3 server's volume: %v %v", bucket.Entrypoint, bucket.Volumes)
	}
	if s3.DependsOn["s3-bucket"].Condition != "service_completed_successfully" {
		t.Error("the S3 server does not wait for its bucket")
	}
	if n1.Environment["AWS_ACCESS_KEY_ID"] != s3.Environment["ROOT_ACCESS_KEY"] ||
		n1.Environment["AWS_SECRET_ACCESS_KEY"] != s3.Environment["ROOT_SECRET_KEY"] {
		t.Error("the nodes' S3 credentials are not the S3 server's")
	}
	if pg.Healthcheck == nil || pg.Healthcheck.Test[1] != "pg_isready" || s3.Healthcheck == nil ||
		!strings.Contains(strings.Join(s3.Healthcheck.Test, " "), s3.Environment["VGW_HEALTH"]) {
		t.Errorf("PostgreSQL and the S3 server need healthchecks the nodes can wait on: %+v %+v", pg.Healthcheck, s3.Healthcheck)
	}

	// nginx: in front of both nodes, with deploy/nginx.conf, once they are healthy.
	ngx := f.Services["nginx"]
	if len(ngx.Volumes) != 1 || ngx.Volumes[0] != "./nginx.conf:/etc/nginx/nginx.conf:ro" {
		t.Errorf("nginx does not mount deploy/nginx.conf: %v", ngx.Volumes)
	}
	for _, n := range []string{"node1", "node2"} {
		if ngx.DependsOn[n].Condition != "service_healthy" {
			t.Errorf("nginx does not wait for %s", n)
		}
		if !strings.Contains(readDeploy(t, "nginx.conf"), "server "+n+":8080 ") {
			t.Errorf("nginx.conf's upstream does not hold %s:8080", n)
		}
	}
	if len(ngx.Ports) != 1 || ngx.Ports[0] != "8080:8080" {
		t.Errorf("nginx ports %v", ngx.Ports)
	}
	for _, v := range []string{"postgres", "s3", "node1", "node2"} {
		if _, ok := f.Volumes[v]; !ok {
			t.Errorf("volume %s is not declared", v)
		}
	}
}

// refstoreEnvNames are the REFSTORE_* variables serve reads, from its --help, plus the
// admin token (environment only).
func refstoreEnvNames(t *testing.T) map[string]bool {
	t.Helper()
	out, err := exec.Command(binPath, "serve", "--help").Output()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{"REFSTORE_ADMIN_TOKEN": true}
	for _, m := range regexp.MustCompile(`\((REFSTORE_[A-Z_]+)\)`).FindAllStringSubmatch(string(out), -1) {
		names[m[1]] = true
	}
	if !names["REFSTORE_METADATA"] || !names["REFSTORE_CONFIG"] {
		t.Fatalf("serve --help names no REFSTORE_METADATA or REFSTORE_CONFIG:\n%s", out)
	}
	return names
}

// TestComposeEnvFileSettings: the unit's environment file names only variables refstore
// reads.
func TestComposeEnvFileSettings(t *testing.T) {
	known := refstoreEnvNames(t)
	for _, line := range strings.Split(readDeploy(t, "refstore.env"), "\n") {
		line = strings.TrimPrefix(strings.TrimSpace(line), "#")
		if k, _, ok := strings.Cut(line, "="); ok && strings.HasPrefix(k, "REFSTORE_") && !strings.Contains(k, " ") && !known[k] {
			t.Errorf("refstore.env sets %s, which refstore does not read", k)
		}
	}
}
