package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Flag values that print the way people write them: `serve --help` shows 5GiB, 30m and 90d
// rather than 5368709120, 30m0s and 2160h0m0s, and the same forms are accepted back from
// flags, REFSTORE_* variables and the configuration file.

// duration is a time.Duration flag that also takes whole days ("90d") and prints without
// zero units ("30m", "24h", "90d").
type duration struct {
	p *time.Duration
	// auto, when set, is what a negative value means (e.g. "0 on files, 15m on S3"):
	// the default then prints as nothing, the usage text saying it in words, and the
	// word "auto" sets it back.
	auto string
}

func newDuration(p *time.Duration, def time.Duration, auto string) *duration {
	*p = def
	return &duration{p: p, auto: auto}
}

func (d *duration) Set(s string) error {
	s = strings.TrimSpace(s)
	if d.auto != "" && s == "auto" {
		*d.p = -1
		return nil
	}
	v, err := parseDuration(s)
	if err != nil {
		return err
	}
	if v < 0 {
		return fmt.Errorf("%q is negative: give 0 or more", s)
	}
	*d.p = v
	return nil
}

func (d *duration) String() string {
	if d.p == nil {
		return ""
	}
	if *d.p < 0 && d.auto != "" {
		return ""
	}
	return formatDuration(*d.p)
}

func (d *duration) Type() string { return "duration" }

// parseDuration is time.ParseDuration, plus whole days: "90d".
func parseDuration(s string) (time.Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		days, err := strconv.ParseInt(n, 10, 64)
		if err == nil && days >= 0 && days <= 100*365 {
			return time.Duration(days) * 24 * time.Hour, nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("%q is not a duration (like 90s, 15m, 24h, 90d)", s)
	}
	return v, nil
}

// formatDuration writes d without its zero units: 30m, 1h30m, 24h; whole days from two
// weeks on as days (90d).
func formatDuration(d time.Duration) string {
	const day = 24 * time.Hour
	switch {
	case d == 0:
		return "0"
	case d >= 14*day && d%day == 0:
		return strconv.FormatInt(int64(d/day), 10) + "d"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// byteSize is a size flag that takes plain bytes or a unit: 512KiB, 100MB, 5GiB.
type byteSize int64

var sizeUnits = []struct {
	suffix string
	mult   int64
}{{"KIB", 1 << 10}, {"MIB", 1 << 20}, {"GIB", 1 << 30}, {"TIB", 1 << 40},
	{"KB", 1e3}, {"MB", 1e6}, {"GB", 1e9}, {"TB", 1e12},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1}}

func (b *byteSize) Set(s string) error {
	u := strings.ToUpper(strings.TrimSpace(s))
	mult := int64(1)
	for _, unit := range sizeUnits {
		if strings.HasSuffix(u, unit.suffix) {
			u, mult = strings.TrimSpace(strings.TrimSuffix(u, unit.suffix)), unit.mult
			break
		}
	}
	n, err := strconv.ParseInt(u, 10, 64)
	if err != nil || n <= 0 || n > (1<<62)/mult {
		return fmt.Errorf("%q is not a size (bytes, or a number with KiB, MiB, GiB, KB, MB, GB)", s)
	}
	*b = byteSize(n * mult)
	return nil
}

// String writes the size in the largest unit that divides it: 5GiB, 32MiB, 100MB, 1000.
func (b *byteSize) String() string {
	n := int64(*b)
	if n == 0 {
		return "0"
	}
	for _, u := range []struct {
		name string
		mult int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}, {"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}} {
		if n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.name
		}
	}
	return strconv.FormatInt(n, 10)
}

func (b *byteSize) Type() string { return "size" }

// listenAddr is a host:port flag checked when it is set, so that `--addr 8080` is told
// what to write instead of failing later with Go's "missing port in address".
type listenAddr struct {
	p    *string
	flag string
}

func newListenAddr(p *string, def, flag string) *listenAddr {
	*p = def
	return &listenAddr{p: p, flag: flag}
}

func (a *listenAddr) Set(s string) error {
	if err := checkListenAddr(a.flag, s); err != nil {
		return err
	}
	*a.p = s
	return nil
}

func (a *listenAddr) String() string {
	if a.p == nil {
		return ""
	}
	return *a.p
}

func (a *listenAddr) Type() string { return "host:port" }

// checkListenAddr explains what is wrong with an address to listen on; "" is accepted
// (a listener that is off).
func checkListenAddr(flag, s string) error {
	if s == "" {
		return nil
	}
	if _, err := strconv.ParseUint(s, 10, 16); err == nil {
		return fmt.Errorf("%s %s has no host: use :%s (every interface) or 127.0.0.1:%s (this machine only)", flag, s, s, s)
	}
	_, port, err := net.SplitHostPort(s)
	if err != nil {
		return fmt.Errorf("%s %q: want host:port, like 127.0.0.1:8080, :8080 or [::1]:8080", flag, s)
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		return fmt.Errorf("%s %q: the port %q is not a number from 0 to 65535", flag, s, port)
	}
	return nil
}
