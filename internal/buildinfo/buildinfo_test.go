package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func infoFrom(version string, settings ...string) Info {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/refstore/refstore", Version: version}}
	for i := 0; i+1 < len(settings); i += 2 {
		bi.Settings = append(bi.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
	}
	info := Info{Version: "devel"}
	fromBuildInfo(&info, bi)
	return info
}

// TestVersionFromBuildInfo: a release says its tag; a build in a checkout says its commit
// and whether the tree was modified; a build with neither says devel.
func TestVersionFromBuildInfo(t *testing.T) {
	rel := infoFrom("v1.2.3")
	if rel.Version != "v1.2.3" || rel.Revision != "" || rel.Short() != "v1.2.3" {
		t.Errorf("release: %+v", rel)
	}
	dev := infoFrom("(devel)", "vcs.revision", "0123456789abcdef0123", "vcs.time", "2026-12-03T10:00:00Z", "vcs.modified", "true")
	if dev.Version != "devel" || dev.Revision != "0123456789abcdef0123" || !dev.Modified || dev.CommitTime != "2026-12-03T10:00:00Z" {
		t.Errorf("checkout: %+v", dev)
	}
	if got := dev.Short(); got != "devel (0123456789ab, modified)" {
		t.Errorf("Short %q", got)
	}
	pseudo := infoFrom("v0.0.0-20261203100000-0123456789ab", "vcs.revision", "0123456789abcdef", "vcs.modified", "true")
	if pseudo.Version != "v0.0.0-20261203100000-0123456789ab+dirty" {
		t.Errorf("pseudo-version of a modified tree: %q", pseudo.Version)
	}
	if v := infoFrom("v0.0.0-20261203100000-0123456789ab+dirty", "vcs.modified", "true").Version; strings.Count(v, "dirty") != 1 {
		t.Errorf("dirty twice: %q", v)
	}
	if v := infoFrom("").Version; v != "devel" {
		t.Errorf("no version: %q", v)
	}
}

// TestVersionLdflags: -X values win over the build information.
func TestVersionLdflags(t *testing.T) {
	defer func(v, r, b string) { version, revision, buildTime = v, r, b }(version, revision, buildTime)
	version, revision, buildTime = "v9.9.9", "feedface", "2026-12-03T11:00:00Z"
	i := Read()
	if i.Version != "v9.9.9" || i.Revision != "feedface" || i.BuildTime != "2026-12-03T11:00:00Z" {
		t.Fatalf("%+v", i)
	}
	if i.GoVersion != runtime.Version() || i.OS != runtime.GOOS || i.Arch != runtime.GOARCH {
		t.Fatalf("toolchain: %+v", i)
	}
}

// TestVersionMetric: refstore_build_info is 1, labelled with the build.
func TestVersionMetric(t *testing.T) {
	i := Info{Version: "v1.2.3", Revision: "abc", GoVersion: "go1.26.8"}
	reg := prometheus.NewRegistry()
	reg.MustRegister(i.Collector())
	want := `# HELP refstore_build_info The running build: always 1, with its version, VCS revision and Go version as labels.
# TYPE refstore_build_info gauge
refstore_build_info{goversion="go1.26.8",revision="abc",version="v1.2.3"} 1
`
	if err := testutil.GatherAndCompare(reg, strings.NewReader(want), "refstore_build_info"); err != nil {
		t.Fatal(err)
	}
}
