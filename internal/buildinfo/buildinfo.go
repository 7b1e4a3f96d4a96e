// Package buildinfo says which build of refstore is running: the version, the commit it
// was built from, and the Go toolchain. `refstore version` prints it and the
// refstore_build_info metric carries it, so that an operator can tell which nodes of a
// cluster run which build.
//
// The facts come from the build information Go embeds in every binary (the module version
// for `go install …@v1.2.3`, the VCS revision for a build in a git checkout). Builds
// without either (a container build from a tree without .git) set them with
//
//	-ldflags "-X github.com/refstore/refstore/internal/buildinfo.version=v1.2.3
//	          -X github.com/refstore/refstore/internal/buildinfo.revision=abc123…
//	          -X github.com/refstore/refstore/internal/buildinfo.buildTime=2026-12-03T10:00:00Z"
package buildinfo

import (
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Set with -ldflags -X; they win over what the build information holds.
var (
	version   string
	revision  string
	buildTime string
)

// Info describes one build.
type Info struct {
	// Version is a released version (v1.2.3), the module's pseudo-version of a build in a
	// checkout, or "devel" when nothing says more.
	Version string `json:"version"`
	// Revision is the VCS commit, "" when unknown.
	Revision string `json:"revision"`
	// Modified says the working tree had changes not committed.
	Modified bool `json:"modified"`
	// CommitTime is the commit's date (RFC 3339), "" when unknown.
	CommitTime string `json:"commitTime,omitempty"`
	// BuildTime is when the binary was built, when the build said so (-ldflags).
	BuildTime string `json:"buildTime,omitempty"`
	GoVersion string `json:"goVersion"`
	OS        string `json:"os"`
	Arch      string `json:"arch"`
}

// Read returns the running binary's build information.
func Read() Info {
	info := Info{Version: "devel", GoVersion: runtime.Version(), OS: runtime.GOOS, Arch: runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		fromBuildInfo(&info, bi)
	}
	if version != "" {
		info.Version = version
	}
	if revision != "" {
		info.Revision = revision
	}
	info.BuildTime = buildTime
	return info
}

func fromBuildInfo(info *Info, bi *debug.BuildInfo) {
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		info.Version = v
	}
	if bi.GoVersion != "" {
		info.GoVersion = bi.GoVersion
	}
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Revision = s.Value
		case "vcs.time":
			info.CommitTime = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	// A pseudo-version of a dirty tree already says "+dirty"; a released one cannot be
	// modified, so only "devel" needs the flag spelled out.
	if info.Modified && info.Version != "devel" && !strings.Contains(info.Version, "dirty") {
		info.Version += "+dirty"
	}
}

// Short is the version with the commit, as one line of a log or of `refstore version`:
// "v1.2.3", or "devel (abc123def456, modified)".
func (i Info) Short() string {
	if i.Revision == "" {
		return i.Version
	}
	rev := i.Revision
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if i.Modified {
		rev += ", modified"
	}
	return i.Version + " (" + rev + ")"
}

// Collector is the refstore_build_info gauge: always 1, its labels saying the build.
// Register it with the registry that serves /metrics.
func (i Info) Collector() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "refstore_build_info",
		Help: "The running build: always 1, with its version, VCS revision and Go version as labels.",
		ConstLabels: prometheus.Labels{
			"version":   i.Version,
			"revision":  i.Revision,
			"goversion": i.GoVersion,
		},
	}, func() float64 { return 1 })
}
