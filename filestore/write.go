package filestore

import (
	"io"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Pieces of an upload in flight between the goroutine that reads it and the one that
// writes it: small enough that sixteen concurrent uploads hold a few MiB.
const (
	chunkSize   = 256 << 10
	chunksAhead = 4
	// writebackEvery is how much is written before the kernel is asked to start writing it
	// to the disk, so that the fsync at the end has little left to wait for.
	writebackEvery = 8 << 20
)

var chunks = sync.Pool{New: func() any { b := make([]byte, chunkSize); return &b }}

type chunk struct {
	buf *[]byte
	n   int
	err error
}

// writeAll copies r to f. A goroutine reads ahead while this one writes, so that what
// produces the bytes (the network, the hash on the way) and the disk work at the same
// time; every writebackEvery bytes the kernel is told to start writing back. It returns
// only once the reading goroutine has stopped, so r is never read after it returns.
func writeAll(f *os.File, r io.Reader) (int64, error) {
	ahead := make(chan chunk, chunksAhead)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(ahead)
		for {
			b := chunks.Get().(*[]byte)
			n, err := io.ReadFull(r, *b)
			if err == io.ErrUnexpectedEOF {
				err = io.EOF
			}
			select {
			case ahead <- chunk{b, n, err}:
			case <-stop:
				chunks.Put(b)
				return
			}
			if err != nil {
				return
			}
		}
	})
	finish := func() {
		close(stop)
		for c := range ahead {
			chunks.Put(c.buf)
		}
		wg.Wait()
	}
	var written, started int64
	fd := int(f.Fd())
	for c := range ahead {
		if c.n > 0 {
			if _, err := f.Write((*c.buf)[:c.n]); err != nil {
				chunks.Put(c.buf)
				finish()
				return written, err
			}
			written += int64(c.n)
			if written-started >= writebackEvery {
				// Only a hint: an error here changes nothing about durability (fsync decides).
				unix.SyncFileRange(fd, started, written-started, unix.SYNC_FILE_RANGE_WRITE)
				started = written
			}
		}
		chunks.Put(c.buf)
		if c.err == io.EOF {
			finish()
			return written, nil
		}
		if c.err != nil {
			finish()
			return written, c.err
		}
	}
	finish()
	return written, io.ErrUnexpectedEOF
}
