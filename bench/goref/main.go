// Command goref is the "bare Go" reference of the benchmark: the least a Go server has to
// do to serve and store files, with nothing of refstore's. GET serves a file of -dir with
// http.ServeContent over an *os.File (the sendfile path); PUT streams the raw body to a
// temporary file while hashing it with SHA-256, fsyncs it and renames it into -dir.
package main

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

var buffers = sync.Pool{New: func() any { b := make([]byte, 1<<20); return &b }}

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address")
	dir := flag.String("dir", ".", "directory of the files")
	flag.Parse()
	root, err := os.OpenRoot(*dir)
	if err != nil {
		log.Fatal(err)
	}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name := strings.TrimPrefix(r.URL.Path, "/")
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			f, err := root.Open(name)
			if err != nil {
				http.NotFound(w, r)
				return
			}
			defer f.Close()
			w.Header().Set("Content-Type", "application/octet-stream")
			http.ServeContent(w, r, "", time.Time{}, f)
		case http.MethodPut:
			sum, err := put(root, name, r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			fmt.Fprintln(w, sum)
		default:
			w.WriteHeader(http.StatusMethodNotAllowed)
		}
	})
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(ln.Addr().String())
	log.Fatal(http.Serve(ln, h))
}

func put(root *os.Root, name string, body io.Reader) (string, error) {
	var rnd [8]byte
	rand.Read(rnd[:])
	tmp := ".tmp-" + hex.EncodeToString(rnd[:])
	f, err := root.OpenFile(tmp, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return "", err
	}
	defer root.Remove(tmp)
	h := sha256.New()
	buf := buffers.Get().(*[]byte)
	_, err = io.CopyBuffer(io.MultiWriter(f, h), body, *buf)
	buffers.Put(buf)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if err := root.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		return "", err
	}
	if err := root.Rename(tmp, name); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
