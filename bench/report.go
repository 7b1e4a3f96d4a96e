package main

import (
	"fmt"
	"slices"
	"strings"
)

// stat is the median and range of one cell over its repeats.
type stat struct{ med, lo, hi float64 }

func statOf(vs []float64) stat {
	slices.Sort(vs)
	n := len(vs)
	med := vs[n/2]
	if n%2 == 0 {
		med = (vs[n/2-1] + vs[n/2]) / 2
	}
	return stat{med, vs[0], vs[n-1]}
}

// reference is the peer every workload's ratios are taken to.
func reference(workload string) string {
	switch {
	case strings.HasPrefix(workload, "download"), strings.HasPrefix(workload, "range"):
		return "nginx"
	case strings.HasPrefix(workload, "upload"):
		return "go"
	}
	return ""
}

// lowerIsBetter is true for latency and memory figures.
func lowerIsBetter(unit string) bool { return unit == "ms" || unit == "MB" || unit == "KB" }

func (e *env) values(workload, cs, server string) []float64 {
	var vs []float64
	for _, c := range e.results {
		if c.Workload == workload && c.Case == cs && c.Server == server {
			vs = append(vs, c.Value)
		}
	}
	return vs
}

func (e *env) median(workload, cs, server string) (float64, bool) {
	vs := e.values(workload, cs, server)
	if len(vs) == 0 {
		return 0, false
	}
	return statOf(vs).med, true
}

// report prints one table per workload: medians with [min–max] and ratios to the
// workload's reference, then the targets of the performance issue with their ratios.
func (e *env) report() {
	var workloads []string
	for _, c := range e.results {
		if !slices.Contains(workloads, c.Workload) {
			workloads = append(workloads, c.Workload)
		}
	}
	fmt.Println()
	for _, w := range workloads {
		var cases, servers []string
		unit := ""
		for _, c := range e.results {
			if c.Workload != w {
				continue
			}
			unit = c.Unit
			if !slices.Contains(cases, c.Case) {
				cases = append(cases, c.Case)
			}
			if !slices.Contains(servers, c.Server) {
				servers = append(servers, c.Server)
			}
		}
		ref := reference(w)
		title := fmt.Sprintf("%s — %s, median [min–max] of %d", w, unit, e.cfg.repeats)
		if ref != "" && slices.Contains(servers, ref) {
			title += ", ratio to " + ref
		}
		fmt.Println("### " + title)
		fmt.Println()
		fmt.Println("| case | " + strings.Join(servers, " | ") + " |")
		fmt.Println("|---" + strings.Repeat("|---", len(servers)) + "|")
		for _, cs := range cases {
			row := []string{cs}
			refMed, hasRef := e.median(w, cs, ref)
			for _, s := range servers {
				vs := e.values(w, cs, s)
				if len(vs) == 0 {
					row = append(row, "—")
					continue
				}
				st := statOf(vs)
				cellText := fmt.Sprintf("%s [%s–%s]", num(st.med), num(st.lo), num(st.hi))
				if hasRef && s != ref && refMed > 0 {
					r := st.med / refMed
					if lowerIsBetter(unit) {
						r = refMed / st.med
					}
					cellText += fmt.Sprintf(" **%.2f×**", r)
				}
				row = append(row, cellText)
			}
			fmt.Println("| " + strings.Join(row, " | ") + " |")
		}
		fmt.Println()
	}
	e.reportTargets()
}

func num(v float64) string {
	switch {
	case v >= 100:
		return commas(int64(v + 0.5))
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

func commas(n int64) string {
	s := fmt.Sprint(n)
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// goal is one target of the performance issue: a ratio of two medians of this run, or an
// absolute bound.
type goal struct {
	what           string
	workload, cs   string
	server, versus string  // ratio server/versus; versus "" for an absolute bound
	versusCase     string  // or the ratio of two cases of the same server
	min, max       float64 // the ratio (or value) must be ≥ min and ≤ max (0: unbounded)
}

var goals = []goal{
	{what: "50 KiB downloads, 8 conns, vs nginx", workload: "download 50KiB", cs: "c=8", server: "refstore", versus: "nginx", min: 0.7},
	{what: "50 KiB downloads, 64 conns, vs nginx", workload: "download 50KiB", cs: "c=64", server: "refstore", versus: "nginx", min: 0.7},
	{what: "2 MiB downloads, 8 conns, vs nginx", workload: "download 2MiB", cs: "c=8", server: "refstore", versus: "nginx", min: 0.95},
	{what: "100 MiB downloads, 1 conn, vs nginx", workload: "download 100MiB", cs: "c=1", server: "refstore", versus: "nginx", min: 0.95},
	{what: "100 MiB downloads, 8 conns, vs nginx", workload: "download 100MiB", cs: "c=8", server: "refstore", versus: "nginx", min: 0.95},
	{what: "1 MiB Range reads, 8 conns, vs nginx", workload: "range 1MiB of 100MiB", cs: "c=8", server: "refstore", versus: "nginx", min: 0.95},
	{what: "50 KiB downloads, 8 conns, vs MinIO", workload: "download 50KiB", cs: "c=8", server: "refstore", versus: "minio", min: 10},
	{what: "2 MiB downloads, 8 conns, vs MinIO", workload: "download 2MiB", cs: "c=8", server: "refstore", versus: "minio", min: 1},
	{what: "S3 mode 50 KiB downloads vs the S3 server direct", workload: "download 50KiB", cs: "c=8", server: "refstore-pg-s3", versus: "versitygw-direct", min: 0.9},
	{what: "S3 mode 2 MiB downloads vs the S3 server direct", workload: "download 2MiB", cs: "c=8", server: "refstore-pg-s3", versus: "versitygw-direct", min: 0.9},
	{what: "S3 mode 100 MiB downloads vs the S3 server direct", workload: "download 100MiB", cs: "c=1", server: "refstore-pg-s3", versus: "versitygw-direct", min: 0.9},
	{what: "1 GiB upload + attach vs bare Go PUT (SHA-256, fsync)", workload: "upload 1024MiB", cs: "c=1", server: "refstore", versus: "go", min: 0.9},
	{what: "1 GiB upload + attach vs MinIO PUT", workload: "upload 1024MiB", cs: "c=1", server: "refstore", versus: "minio", min: 1.3},
	{what: "256 MiB upload + attach vs bare Go PUT (quick form)", workload: "upload 256MiB", cs: "c=1", server: "refstore", versus: "go", min: 0.9},
	{what: "50 KiB upload + attach, 8 conns, vs MinIO PUT", workload: "upload 50KiB (+ attach)", cs: "c=8", server: "refstore", versus: "minio", min: 1.5},
}

func (e *env) reportTargets() {
	fmt.Println("### Targets")
	fmt.Println()
	fmt.Println("| target | measured | goal | |")
	fmt.Println("|---|---|---|---|")
	for _, g := range append(goals, e.extraGoals...) {
		a, ok := e.median(g.workload, g.cs, g.server)
		if !ok {
			continue
		}
		v := a
		if g.versus != "" || g.versusCase != "" {
			other, cs := g.versus, g.cs
			if g.versusCase != "" {
				other, cs = g.server, g.versusCase
			}
			b, ok := e.median(g.workload, cs, other)
			if !ok || b == 0 {
				continue
			}
			v = a / b
		}
		ratio := g.versus != "" || g.versusCase != ""
		met := (g.min == 0 || v >= g.min) && (g.max == 0 || v <= g.max)
		mark := "met"
		if !met {
			mark = "**not met**"
		}
		goalText := ""
		switch {
		case g.min > 0 && ratio:
			goalText = fmt.Sprintf("≥ %.2f×", g.min)
		case g.max > 0 && ratio:
			goalText = fmt.Sprintf("≤ %.2f×", g.max)
		case g.max > 0:
			goalText = fmt.Sprintf("≤ %s", num(g.max))
		default:
			goalText = fmt.Sprintf("≥ %s", num(g.min))
		}
		measured := num(v)
		if ratio {
			measured = fmt.Sprintf("%.2f×", v)
		}
		fmt.Printf("| %s | %s | %s | %s |\n", g.what, measured, goalText, mark)
	}
	fmt.Println()
}
