package http

import (
	"strings"
	"testing"

	"github.com/refstore/refstore"
)

// Detected types and the inline rule together: HTML and SVG, whatever their name says,
// are never displayed by the browser.
func TestDetectedTypesInline(t *testing.T) {
	const html = "<!DOCTYPE html><html><head><title>x</title></head><body><script>alert(1)</script></body></html>"
	const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1" height="1"><script>alert(1)</script></svg>`
	png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89")
	for _, tc := range []struct {
		name   string
		head   []byte
		inline bool
	}{
		{"shot.png", png, true},
		{"x.jpg", []byte(html), false},
		{"x.png", []byte(svg), false},
		{"x.txt", []byte(html), false},
		{"x.pdf", []byte(html), false},
		{"logo.svg", []byte(svg), false},
		{"doc.pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), true},
		{"readme.txt", []byte("Hello, translator.\n"), true},
		{"table.csv", []byte("a,b\n1,2\n"), false},
		{"x.unknownext", []byte{0x00, 0x01, 0x02, 0x03, 0xff, 0xfe}, false},
	} {
		got := refstore.DetectContentType(tc.name, tc.head)
		if isInline(got) != tc.inline {
			t.Errorf("isInline(%q) = %t, want %t (for %q)", got, !tc.inline, tc.inline, tc.name)
		}
	}
}

func TestIsInline(t *testing.T) {
	inline := []string{"image/png", "image/jpeg", "IMAGE/PNG", "image/webp", "audio/mpeg", "video/mp4",
		"application/pdf", "text/plain", "text/plain; charset=utf-8", " text/plain ;charset=utf-16le"}
	attachment := []string{"image/svg+xml", "Image/SVG+XML", "image/svg+xml; charset=utf-8", "text/html",
		"text/html; charset=utf-8", "application/xhtml+xml", "text/xml", "application/xml", "text/javascript",
		"text/css", "application/json", "application/octet-stream", "application/zip", "text/csv", "", "image",
		"text/plain-evil", "application/pdfx"}
	for _, ct := range inline {
		if !isInline(ct) {
			t.Errorf("isInline(%q) = false", ct)
		}
	}
	for _, ct := range attachment {
		if isInline(ct) {
			t.Errorf("isInline(%q) = true", ct)
		}
	}
}

func TestContentDisposition(t *testing.T) {
	tests := []struct {
		disposition, name, want string
	}{
		{"inline", "a.png", `inline; filename="a.png"`},
		{"attachment", "report 2025.pdf", `attachment; filename="report 2025.pdf"`},
		{"attachment", "100%.txt", `attachment; filename="100%.txt"`},
		{"attachment", `a"b\c`, `attachment; filename="a\"b\\c"`},
		{"attachment", "a\x01b", `attachment; filename="a_b"`},
		{"inline", "résumé.pdf", `inline; filename="r_sum_.pdf"; filename*=UTF-8''r%C3%A9sum%C3%A9.pdf`},
		{"attachment", "日本.png", `attachment; filename="__.png"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.png`},
		{"attachment", "😀 x.png", `attachment; filename="_ x.png"; filename*=UTF-8''%F0%9F%98%80%20x.png`},
		{"attachment", "é'(a)*;.png", `attachment; filename="_'(a)*;.png"; filename*=UTF-8''%C3%A9%27%28a%29%2A%3B.png`},
		{"attachment", "ü!#$&+-.^_`|~.txt", "attachment; filename=\"_!#$&+-.^_`|~.txt\"; filename*=UTF-8''%C3%BC!#$&+-.^_`|~.txt"},
	}
	for _, tc := range tests {
		if got := contentDisposition(tc.disposition, tc.name); got != tc.want {
			t.Errorf("contentDisposition(%q, %q)\n got %s\nwant %s", tc.disposition, tc.name, got, tc.want)
		}
	}
	// The fallback never carries a byte outside printable ASCII.
	got := contentDisposition("attachment", "Ünïcödé\u202e名前\x7f.png")
	fallback, _, _ := strings.Cut(got, "; filename*=")
	for i := 0; i < len(fallback); i++ {
		if fallback[i] < 0x20 || fallback[i] >= 0x7f {
			t.Fatalf("fallback %q has byte %#x", fallback, fallback[i])
		}
	}
	if !strings.Contains(got, "; filename*=UTF-8''") {
		t.Errorf("%q lacks filename*", got)
	}
}
