package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// wrkReport is a Lua script that makes wrk print its summary as one JSON line.
const wrkReport = `
done = function(summary, latency, requests)
  io.write(string.format('{"requests":%d,"errors":%d,"bytes":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d}\n',
    summary.requests,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout,
    summary.bytes, summary.duration, latency:percentile(50), latency:percentile(99)))
end
`

// runWrk drives a GET with wrk, the C load generator: on two shared cores a lighter client
// leaves more room to the servers, which is what small-file request rates need.
func runWrk(work, url string, header http.Header, conc int, dur time.Duration) (result, error) {
	script := filepath.Join(work, "wrk-report.lua")
	if err := os.WriteFile(script, []byte(wrkReport), 0o644); err != nil {
		return result{}, err
	}
	threads := min(2, conc)
	secs := max(1, int(dur.Round(time.Second)/time.Second)) // wrk takes whole seconds
	args := []string{"-t" + strconv.Itoa(threads), "-c" + strconv.Itoa(conc), "-d" + strconv.Itoa(secs) + "s", "--timeout", "60s",
		"-s", script}
	for k, vs := range header {
		for _, v := range vs {
			args = append(args, "-H", k+": "+v)
		}
	}
	args = append(args, url)
	out, err := exec.Command("wrk", args...).Output()
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, out)
	}
	var line string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "{") {
			line = l
		}
	}
	var rep struct {
		Requests, Errors, Bytes  int64
		DurationUS, P50US, P99US int64
	}
	dec := json.NewDecoder(strings.NewReader(line))
	if err := dec.Decode(&struct {
		Requests   *int64 `json:"requests"`
		Errors     *int64 `json:"errors"`
		Bytes      *int64 `json:"bytes"`
		DurationUS *int64 `json:"duration_us"`
		P50US      *int64 `json:"p50_us"`
		P99US      *int64 `json:"p99_us"`
	}{&rep.Requests, &rep.Errors, &rep.Bytes, &rep.DurationUS, &rep.P50US, &rep.P99US}); err != nil {
		return result{}, fmt.Errorf("wrk output %q: %v", out, err)
	}
	d := time.Duration(rep.DurationUS) * time.Microsecond
	r := result{Requests: rep.Requests - rep.Errors, Errors: rep.Errors, Bytes: rep.Bytes, Duration: d,
		P50: time.Duration(rep.P50US) * time.Microsecond, P99: time.Duration(rep.P99US) * time.Microsecond}
	r.ReqPerSec = float64(r.Requests) / d.Seconds()
	r.MBPerSec = float64(rep.Bytes) / 1e6 / d.Seconds()
	if rep.Errors > 0 {
		r.FirstErr = fmt.Sprintf("%d non-2xx or socket errors", rep.Errors)
	}
	return r, nil
}
