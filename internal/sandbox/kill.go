package sandbox

import (
	"encoding/json"
	"os"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// infoPipe learns the host pid of the sandbox's init (bwrap's --info-fd) so that a run is
// stopped by killing that init. Killing it takes down every process of its pid namespace
// (the kernel reaps them before the init itself ends), and the outer bwrap, our child,
// then reaps the init and exits: when Wait returns nothing is left, not even a zombie.
// Killing the outer bwrap instead would orphan the init to pid 1, which in containers
// often reaps nothing.
type infoPipe struct {
	r, w  *os.File
	done  chan struct{}
	run   bool // started was called
	mu    sync.Mutex
	pidfd int // -1 until known; a pidfd cannot name a recycled pid
}

func newInfoPipe() (*infoPipe, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	return &infoPipe{r: r, w: w, done: make(chan struct{}), pidfd: -1}, nil
}

// started closes our copy of the write end and reads bwrap's report in the background.
func (p *infoPipe) started() {
	p.run = true
	p.w.Close()
	go func() {
		defer close(p.done)
		var info struct {
			ChildPID int `json:"child-pid"`
		}
		// Decode returns after the first object: the tool may hold the pipe open.
		if err := json.NewDecoder(p.r).Decode(&info); err != nil || info.ChildPID <= 0 {
			return
		}
		fd, err := unix.PidfdOpen(info.ChildPID, 0)
		if err != nil {
			return // already gone
		}
		p.mu.Lock()
		p.pidfd = fd
		p.mu.Unlock()
	}()
}

// kill stops the run whose outer process is pid. Before bwrap has created the sandbox
// there is nothing to orphan, and the process group is killed instead.
func (p *infoPipe) kill(pid int) error {
	select {
	case <-p.done:
	case <-time.After(time.Second):
	}
	p.mu.Lock()
	fd := p.pidfd
	p.mu.Unlock()
	if fd >= 0 {
		if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err == nil {
			return nil
		}
	}
	return syscall.Kill(-pid, syscall.SIGKILL)
}

func (p *infoPipe) close() {
	p.r.Close() // ends the reader if bwrap never wrote
	if !p.run {
		p.w.Close()
		return
	}
	<-p.done
	p.mu.Lock()
	if p.pidfd >= 0 {
		unix.Close(p.pidfd)
		p.pidfd = -1
	}
	p.mu.Unlock()
}
