package http

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"mime/multipart"
	"strings"
	"testing"
)

// readForm parses body the way the upload route does: the first file part's bytes, with
// the rest of the body checked.
func readForm(body []byte, boundary string, bufSize int) ([]byte, error) {
	form := newFormReader(bufio.NewReaderSize(bytes.NewReader(body), bufSize), boundary)
	more, err := form.first()
	for ; err == nil && more; more, err = form.afterPart() {
		h, err := form.header()
		if err != nil {
			return nil, err
		}
		if _, isFile := partFileName(h); !isFile {
			if _, err := io.Copy(io.Discard, form.body()); err != nil {
				return nil, err
			}
			continue
		}
		return io.ReadAll(&fileReader{part: form.body(), form: form})
	}
	if err == nil {
		err = errors.New("no file part")
	}
	return nil, err
}

// formBody builds a multipart body with mime/multipart: a field, the file, a field.
func formBody(t testing.TB, file []byte) ([]byte, string) {
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("before", "a field")
	fw, err := w.CreateFormFile("file", "docs/shot.png")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(file)
	w.WriteField("after", "another")
	w.Close()
	return buf.Bytes(), w.Boundary()
}

func checkForm(t *testing.T, file []byte, bufSize int) {
	body, boundary := formBody(t, file)
	got, err := readForm(body, boundary, bufSize)
	if err != nil || !bytes.Equal(got, file) {
		t.Fatalf("the whole body: %d bytes, %v; want the %d file bytes", len(got), err, len(file))
	}
	closing := []byte("\r\n--" + boundary + "--")
	end := bytes.Index(body, closing) + len(closing)
	for cut := 0; cut < len(body); cut++ {
		got, err := readForm(body[:cut], boundary, bufSize)
		if cut >= end {
			if err != nil || !bytes.Equal(got, file) {
				t.Fatalf("cut at %d, after the closing delimiter: %v", cut, err)
			}
		} else if err == nil {
			t.Fatalf("cut at %d of %d (closing delimiter ends at %d) was accepted", cut, len(body), end)
		}
	}
}

func TestFormReader(t *testing.T) {
	boundaryLike := []byte("\r\n--not-the-boundary\r\n--\r\n")
	for _, tc := range []struct {
		name string
		file []byte
	}{
		{"empty", nil},
		{"small", []byte("hello")},
		{"boundary-like bytes", bytes.Repeat(boundaryLike, 40)},
		{"CR LF dashes", bytes.Repeat([]byte("\r\n-"), 300)},
		{"larger than the buffer", bytes.Repeat([]byte("0123456789abcdef\r\n--"), 700)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, size := range []int{128, 4096} {
				checkForm(t, tc.file, size)
			}
		})
	}
}

// The boundary's own bytes may stand in data when what follows them is no delimiter end.
func TestFormReaderBoundaryInData(t *testing.T) {
	const boundary = "B"
	file := "x\r\n--Bx\r\n--By--\r\n--B"
	body := "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n\r\n" + file + "z\r\n--B--\r\n"
	got, err := readForm([]byte(body), boundary, 64)
	if err != nil || string(got) != file+"z" {
		t.Fatalf("got %q, %v", got, err)
	}
}

func TestFormReaderMalformed(t *testing.T) {
	for _, body := range []string{
		"no boundary at all",
		"--B\r\nContent-Disposition form-data\r\n\r\nx\r\n--B--\r\n", // header without a colon
		"--B\r\n" + strings.Repeat("X-Long: "+strings.Repeat("a", 1000)+"\r\n", 20) + "\r\nx\r\n--B--\r\n",
		"--B--\r\n", // no part
		"--B\r\nContent-Disposition: form-data; name=\"note\"\r\n\r\nhello\r\n--B--\r\n", // no file
	} {
		if _, err := readForm([]byte(body), "B", 4096); err == nil {
			t.Errorf("accepted %q", body)
		}
	}
}

func FuzzFormReader(f *testing.F) {
	f.Add([]byte("hello"), uint16(100))
	f.Add([]byte("\r\n--x\r\n--"), uint16(7))
	f.Fuzz(func(t *testing.T, file []byte, cut uint16) {
		body, boundary := formBody(t, file)
		got, err := readForm(body, boundary, 128)
		if err != nil || !bytes.Equal(got, file) {
			t.Fatalf("whole body: %q, %v; want %q", got, err, file)
		}
		closing := []byte("\r\n--" + boundary + "--")
		end := bytes.Index(body, closing) + len(closing)
		n := int(cut) % (len(body) + 1)
		if _, err := readForm(body[:n], boundary, 128); (err == nil) != (n >= end) {
			t.Fatalf("cut at %d of %d (closing ends at %d): err %v", n, len(body), end, err)
		}
	})
}
