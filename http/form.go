package http

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/textproto"
	"strings"
)

// formReader reads a multipart/form-data body (RFC 7578) as a stream. It exists because
// mime/multipart hands out at most 4 KiB per read, scanning each piece for the boundary:
// a part's bytes here come out in pieces as large as the buffer under it (1 MiB), found
// with one bytes.Index per piece, which makes large uploads several times faster.
//
// A body is accepted only when it ends with its closing delimiter: a body cut off
// anywhere — inside a part, inside the headers of the next one, inside the delimiter — is
// an error, so that a broken upload keeps nothing.
type formReader struct {
	br    *bufio.Reader
	dash  []byte // "--" + boundary
	delim []byte // "\r\n--" + boundary
	done  bool   // the closing delimiter was read
}

// Limits on what surrounds a file: parts are small form fields at most.
const (
	maxPartHeaderBytes = 16 << 10
	maxPreambleBytes   = 64 << 10
	maxFieldBytes      = 64 << 10
)

var (
	errTruncated    = errors.New("the multipart body ended before its closing delimiter")
	errPartHeader   = errors.New("a part's headers are malformed or too long")
	errPreamble     = errors.New("the multipart body does not start with its boundary")
	errFieldTooLong = errors.New("a form field is longer than 64 KiB")
)

func newFormReader(br *bufio.Reader, boundary string) *formReader {
	return &formReader{br: br, dash: []byte("--" + boundary), delim: []byte("\r\n--" + boundary)}
}

// first skips the preamble and reads the first delimiter line. It returns false when the
// body holds no part at all (its first delimiter is the closing one).
func (f *formReader) first() (bool, error) {
	read := 0
	for {
		line, err := f.br.ReadSlice('\n')
		read += len(line)
		if err == bufio.ErrBufferFull || read > maxPreambleBytes {
			return false, errPreamble
		}
		if err != nil && (err != io.EOF || len(line) == 0) {
			return false, errTruncated
		}
		if rest, ok := bytes.CutPrefix(line, f.dash); ok {
			if bytes.HasPrefix(rest, []byte("--")) {
				f.done = true
				return false, nil
			}
			if isLineEnd(rest) {
				if err == io.EOF {
					return false, errTruncated
				}
				return true, nil
			}
		}
		if err == io.EOF {
			return false, errTruncated
		}
	}
}

// isLineEnd reports whether rest is only transport padding and a line end.
func isLineEnd(rest []byte) bool {
	rest = bytes.TrimRight(rest, " \t")
	return bytes.Equal(rest, []byte("\r\n")) || bytes.Equal(rest, []byte("\n"))
}

// header reads the headers of the part whose delimiter line was just read.
func (f *formReader) header() (textproto.MIMEHeader, error) {
	h := textproto.MIMEHeader{}
	read := 0
	var last string
	for {
		line, err := f.br.ReadSlice('\n')
		read += len(line)
		if err == bufio.ErrBufferFull || read > maxPartHeaderBytes {
			return nil, errPartHeader
		}
		if err != nil {
			return nil, errTruncated
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 0 {
			return h, nil
		}
		if line[0] == ' ' || line[0] == '\t' { // an obsolete folded line continues the last header
			if last == "" {
				return nil, errPartHeader
			}
			v := h[last]
			v[len(v)-1] += " " + strings.TrimSpace(string(line))
			continue
		}
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(k) == 0 {
			return nil, errPartHeader
		}
		last = textproto.CanonicalMIMEHeaderKey(string(bytes.TrimSpace(k)))
		h.Add(last, string(bytes.TrimSpace(v)))
	}
}

// body returns the current part's body; it ends at the part's delimiter.
func (f *formReader) body() *partReader { return &partReader{f: f} }

// afterPart reads what follows a part's delimiter: the closing "--" (the body is then
// complete) or the line end before the next part's headers (more is true).
func (f *formReader) afterPart() (more bool, err error) {
	b, err := f.br.Peek(2)
	if err != nil {
		return false, errTruncated
	}
	if b[0] == '-' && b[1] == '-' {
		f.br.Discard(2)
		f.done = true
		return false, nil
	}
	line, err := f.br.ReadSlice('\n')
	if err != nil || !isLineEnd(line) {
		if err == nil || err == bufio.ErrBufferFull {
			return false, errPartHeader
		}
		return false, errTruncated
	}
	return true, nil
}

// finish reads the parts after the file (form fields, kept to 64 KiB each and dropped)
// up to the closing delimiter.
func (f *formReader) finish() error {
	for !f.done {
		more, err := f.afterPart()
		if err != nil || !more {
			return err
		}
		if _, err := f.header(); err != nil {
			return err
		}
		n, err := io.Copy(io.Discard, io.LimitReader(f.body(), maxFieldBytes+1))
		if err != nil {
			return err
		}
		if n > maxFieldBytes {
			return errFieldTooLong
		}
	}
	return nil
}

// partReader reads one part's body up to its delimiter.
type partReader struct {
	f   *formReader
	eof bool
}

func (p *partReader) Read(b []byte) (int, error) {
	if p.eof {
		return 0, io.EOF
	}
	br, delim := p.f.br, p.f.delim
	for {
		// Enough must be buffered to tell a delimiter from data: the delimiter and the
		// two bytes after it.
		need := len(delim) + 2
		atEOF := false
		if br.Buffered() < need {
			if _, err := br.Peek(need); err != nil {
				if err != io.EOF {
					return 0, err
				}
				atEOF = true
			}
		}
		buf, _ := br.Peek(br.Buffered())
		// Scan only what this read can hand out (and a delimiter's length more).
		buf = buf[:min(len(buf), len(b)+need)]
		from := 0
		for {
			i := bytes.Index(buf[from:], delim)
			if i < 0 {
				break
			}
			i += from
			after := buf[i+len(delim):]
			if len(after) < 2 && !atEOF && i > 0 {
				// Cannot tell yet: hand out what comes before, decide on the next read.
				n := copy(b, buf[:i])
				br.Discard(n)
				return n, nil
			}
			if len(after) >= 2 && (after[0] == '-' && after[1] == '-' || after[0] == '\r' || after[0] == '\n' ||
				after[0] == ' ' || after[0] == '\t') || len(after) < 2 && atEOF {
				if i > 0 {
					n := copy(b, buf[:i])
					br.Discard(n)
					return n, nil
				}
				br.Discard(len(delim))
				p.eof = true
				return 0, io.EOF
			}
			from = i + 1 // the boundary's bytes inside data, not a delimiter
		}
		// No delimiter: hand out all but a tail that could be the start of one.
		safe := len(buf) - (len(delim) - 1)
		if safe > 0 {
			n := copy(b, buf[:safe])
			br.Discard(n)
			return n, nil
		}
		if atEOF {
			return 0, errTruncated
		}
		if len(buf) == br.Size() {
			return 0, errPartHeader // cannot happen with a buffer larger than a delimiter
		}
		// Too little buffered to decide: wait for more.
		if _, err := br.Peek(len(buf) + 1); err != nil && err != io.EOF {
			return 0, err
		}
	}
}
