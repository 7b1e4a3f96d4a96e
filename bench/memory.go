package main

import (
	"fmt"
	"net/http"
)

func init() {
	workloads = append(workloads, workload{name: "memory", quick: true, run: memory})
}

// memory measures the servers' peak resident memory with many transfers at once: 64
// parallel downloads of the 100 MiB file, and 16 parallel large uploads.
func memory(e *env) error {
	upSize := int64(1 << 30)
	if e.cfg.quick {
		upSize = 64 << 20
	}
	for rep := 1; rep <= e.cfg.repeats; rep++ {
		for _, t := range e.servers {
			if t.proc == nil || t.name == "versitygw-direct" {
				continue
			}
			file := "f100m"
			if t.files != nil {
				file = t.files[file]
			}
			idle := rssOf(t.proc.pids())
			u := watch(t.proc.pids)
			header := http.Header{}
			for k, v := range t.head {
				header[k] = v
			}
			r := runLoad(request{method: "GET", url: t.url(file), header: header}, 64, 0, 64)
			peak, _ := u.done()
			e.recordMemory("memory: 64 parallel 100MiB downloads", t.name, rep, r, idle, peak, 64)
		}
		for _, t := range e.uploads {
			settle()
			req, err := e.uploadRequest(t, "mem", upSize)
			if err != nil {
				return err
			}
			idle := rssOf(t.proc.pids())
			u := watch(t.proc.pids)
			r := runLoad(req, 16, 0, 16)
			peak, _ := u.done()
			e.recordMemory(fmt.Sprintf("memory: 16 parallel %s uploads", sizeLabel(upSize)), t.name, rep, r, idle, peak, 16)
			e.cleanUploads()
		}
	}
	e.extraGoals = append(e.extraGoals,
		goal{what: "peak RSS, 64 parallel 100 MiB downloads (MB)", workload: "memory: 64 parallel 100MiB downloads", cs: "peak RSS", server: "refstore", max: 100},
		goal{what: "RSS per concurrent download (KB)", workload: "memory: 64 parallel 100MiB downloads", cs: "RSS per transfer", server: "refstore", max: 64},
		goal{what: fmt.Sprintf("peak RSS, 16 parallel %s uploads (MB)", sizeLabel(upSize)), workload: fmt.Sprintf("memory: 16 parallel %s uploads", sizeLabel(upSize)), cs: "peak RSS", server: "refstore", max: 150},
		goal{what: "RSS per concurrent upload (KB)", workload: fmt.Sprintf("memory: 16 parallel %s uploads", sizeLabel(upSize)), cs: "RSS per transfer", server: "refstore", max: 64})
	return nil
}

func rssOf(pids []int) int64 {
	var sum int64
	for _, pid := range pids {
		sum += statusKB(pid, "VmRSS:") << 10
	}
	return sum
}

// recordMemory records a run's peak RSS and what each concurrent transfer added.
func (e *env) recordMemory(workload, server string, rep int, r result, idle, peak int64, transfers int) {
	if r.Errors > 0 {
		fmt.Printf("  %s %s: %d errors: %s\n", workload, server, r.Errors, r.FirstErr)
	}
	e.record(cell{Workload: workload, Case: "peak RSS", Server: server, Repeat: rep, result: r,
		Value: float64(peak) / 1e6, Unit: "MB", PeakRSS: peak})
	e.record(cell{Workload: workload, Case: "RSS per transfer", Server: server, Repeat: rep, result: r,
		Value: float64(max(peak-idle, 0)) / float64(transfers) / 1e3, Unit: "KB", PeakRSS: peak})
}
