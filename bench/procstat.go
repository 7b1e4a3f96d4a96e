package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// usage samples a set of processes during a run: peak resident memory (summed over the
// processes: nginx's master and workers) and CPU seconds.
type usage struct {
	pids  func() []int
	stop  chan struct{}
	wg    sync.WaitGroup
	peak  int64
	cpu0  float64
	start time.Time
}

func watch(pids func() []int) *usage {
	u := &usage{pids: pids, stop: make(chan struct{}), start: time.Now()}
	for _, pid := range pids() {
		// Reset the kernel's high-water mark so that VmHWM is this run's.
		os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
	}
	u.cpu0 = cpuSeconds(pids())
	u.wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			u.sample("VmRSS:")
			select {
			case <-u.stop:
				return
			case <-t.C:
			}
		}
	})
	return u
}

func (u *usage) sample(field string) {
	var sum int64
	for _, pid := range u.pids() {
		sum += statusKB(pid, field) << 10
	}
	u.peak = max(u.peak, sum)
}

// done returns the peak RSS in bytes and the CPU cores busy on average.
func (u *usage) done() (int64, float64) {
	close(u.stop)
	u.wg.Wait()
	u.sample("VmHWM:")
	cores := (cpuSeconds(u.pids()) - u.cpu0) / time.Since(u.start).Seconds()
	return u.peak, cores
}

func statusKB(pid int, field string) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// cpuSeconds sums user and system time of processes (and their reaped children).
func cpuSeconds(pids []int) float64 {
	var ticks int64
	for _, pid := range pids {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		for _, i := range []int{11, 12} { // utime, stime (fields 14, 15)
			n, _ := strconv.ParseInt(f[i], 10, 64)
			ticks += n
		}
	}
	return float64(ticks) / 100 // USER_HZ
}
