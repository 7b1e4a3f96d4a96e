package http

import "strings"

// The rules of how a browser receives a stored file: which types it may display (inline)
// and how the file's name travels in Content-Disposition. They are the HTTP layer's: the
// domain only names the type (refstore.DetectContentType).

// isInline reports whether a type may be displayed by the browser: images other than SVG,
// audio, video, PDF and plain text. Everything else is sent as an attachment.
func isInline(contentType string) bool {
	t := mediaType(contentType)
	switch {
	case t == "image/svg+xml":
		return false
	case strings.HasPrefix(t, "image/"), strings.HasPrefix(t, "audio/"), strings.HasPrefix(t, "video/"):
		return true
	}
	return t == "application/pdf" || t == "text/plain"
}

// contentDisposition renders the header for a file name: filename="…" with an ASCII
// fallback, plus filename*=UTF-8”… whenever the name is not plain ASCII.
func contentDisposition(disposition, name string) string {
	var b strings.Builder
	b.WriteString(disposition)
	b.WriteString(`; filename="`)
	ascii := true
	for _, r := range name {
		switch {
		case r >= 0x80:
			ascii = false
			b.WriteByte('_')
		case r < 0x20 || r == 0x7f:
			b.WriteByte('_')
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	if !ascii {
		b.WriteString("; filename*=UTF-8''")
		b.WriteString(encodeRFC5987(name))
	}
	return b.String()
}

// encodeRFC5987 percent-encodes everything but RFC 5987's attr-char.
func encodeRFC5987(s string) string {
	const hex = "0123456789ABCDEF"
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
			strings.IndexByte("!#$&+-.^_`|~", c) >= 0 {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// mediaType is a Content-Type's type/subtype, lower case, without parameters.
func mediaType(ct string) string {
	base, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(strings.ToLower(base))
}
