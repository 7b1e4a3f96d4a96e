package refstore

import (
	"archive/zip"
	"bytes"
	"testing"
)

// pngBytes is the start of a 1x1 PNG: signature and IHDR chunk.
var pngBytes = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")

var jpegBytes = []byte("\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00")

const htmlDoc = "<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>"

const svgDoc = `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><script>alert(1)</script></svg>`

// minimalDocx builds the smallest zip that Office-aware sniffers take for a Word document.
func minimalDocx(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	for _, name := range []string{"[Content_Types].xml", "_rels/.rels", "word/document.xml"} {
		w, err := z.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><x/>`)); err != nil {
			t.Fatal(err)
		}
	}
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func plainZip(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	z := zip.NewWriter(&b)
	w, err := z.Create("notes/readme.txt")
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("hello"))
	if err := z.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDetectContentType(t *testing.T) {
	const docx = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
	tests := []struct {
		name   string
		head   []byte
		want   string // media type without parameters
		inline bool
	}{
		{"shot.png", pngBytes, "image/png", true},
		{"SHOT.PNG", pngBytes, "image/png", true},
		{"photo.jpg", jpegBytes, "image/jpeg", true},
		{"photo.jpeg", jpegBytes, "image/jpeg", true},
		// The bytes win when they disagree with the extension.
		{"x.jpg", []byte(htmlDoc), "text/html", false},
		{"x.png", []byte(svgDoc), "image/svg+xml", false},
		{"x.png", jpegBytes, "image/jpeg", true},
		{"x.txt", []byte(htmlDoc), "text/html", false},
		{"x.pdf", []byte(htmlDoc), "text/html", false},
		{"x.mp4", []byte(htmlDoc), "text/html", false},
		{"logo.svg", []byte(svgDoc), "image/svg+xml", false},
		{"doc.pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), "application/pdf", true},
		// Bytes the sniffer does not know keep the extension's type.
		{"clip.mp4", []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x00, 0x00, 0x00, 0x07, 0x08, 0xff}, "video/mp4", true},
		{"song.mp3", []byte{0x01, 0x02, 0x03, 0x04, 0x05, 0x00, 0xff}, "audio/mpeg", true},
		{"readme.txt", []byte("Hello, translator.\n"), "text/plain", true},
		{"notes.log", []byte("line 1\nline 2\n"), "text/plain", true},
		// Plain text is only a more general form of these.
		{"table.csv", []byte("a,b\n1,2\n"), "text/csv", false},
		{"readme.md", []byte("# Title\n\ntext\n"), "text/markdown", false},
		// A zip container is a more general form of an Office document.
		{"report.docx", minimalDocx(t), docx, false},
		{"archive.zip", plainZip(t), "application/zip", false},
		// No extension, or an unknown one: whatever the bytes say.
		{"noext", pngBytes, "image/png", true},
		{"x.unknownext", []byte{0x00, 0x01, 0x02, 0x03, 0xff, 0xfe}, "application/octet-stream", false},
		{"page", []byte(htmlDoc), "text/html", false},
	}
	for _, tc := range tests {
		got := DetectContentType(tc.name, tc.head)
		if mediaType(got) != tc.want {
			t.Errorf("DetectContentType(%q, %q…) = %q, want %q", tc.name, truncate(string(tc.head), 12), got, tc.want)
			continue
		}
	}
}
