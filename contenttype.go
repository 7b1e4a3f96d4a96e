package refstore

import (
	"path"
	"strings"

	"github.com/gabriel-vasile/mimetype"
)

// SniffLen is how many leading bytes content detection looks at.
const SniffLen = 3072

// extensionTypes maps file extensions to media types. It is fixed here rather than read from
// the host's mime.types so that every machine answers the same.
var extensionTypes = map[string]string{
	".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".jpe": "image/jpeg", ".png": "image/png",
	".gif": "image/gif", ".webp": "image/webp", ".bmp": "image/bmp", ".tif": "image/tiff",
	".tiff": "image/tiff", ".ico": "image/x-icon", ".avif": "image/avif", ".heic": "image/heic",
	".heif": "image/heif", ".svg": "image/svg+xml", ".svgz": "image/svg+xml",
	".mp4": "video/mp4", ".m4v": "video/x-m4v", ".mov": "video/quicktime", ".webm": "video/webm",
	".mkv": "video/x-matroska", ".avi": "video/x-msvideo", ".wmv": "video/x-ms-wmv",
	".flv": "video/x-flv", ".mpeg": "video/mpeg", ".mpg": "video/mpeg", ".ogv": "video/ogg",
	".3gp": "video/3gpp",
	".mp3": "audio/mpeg", ".wav": "audio/wav", ".ogg": "audio/ogg", ".oga": "audio/ogg",
	".m4a": "audio/x-m4a", ".aac": "audio/aac", ".flac": "audio/flac", ".opus": "audio/ogg",
	".pdf": "application/pdf",
	".txt": "text/plain", ".text": "text/plain", ".log": "text/plain", ".md": "text/markdown",
	".csv": "text/csv", ".tsv": "text/tab-separated-values", ".srt": "application/x-subrip",
	".vtt": "text/vtt", ".json": "application/json", ".xml": "text/xml",
	".xlf": "application/x-xliff+xml", ".xliff": "application/x-xliff+xml", ".tmx": "text/xml",
	".html": "text/html", ".htm": "text/html", ".xhtml": "application/xhtml+xml",
	".js": "text/javascript", ".mjs": "text/javascript", ".css": "text/css",
	".doc": "application/msword", ".xls": "application/vnd.ms-excel",
	".ppt":  "application/vnd.ms-powerpoint",
	".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
	".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
	".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
	".odt":  "application/vnd.oasis.opendocument.text",
	".ods":  "application/vnd.oasis.opendocument.spreadsheet",
	".odp":  "application/vnd.oasis.opendocument.presentation",
	".rtf":  "text/rtf", ".zip": "application/zip", ".gz": "application/gzip",
	".7z": "application/x-7z-compressed", ".rar": "application/x-rar-compressed",
	".tar": "application/x-tar", ".psd": "image/vnd.adobe.photoshop",
	".ai": "application/pdf", ".eps": "application/postscript", ".ttf": "font/ttf",
	".otf": "font/otf", ".woff": "font/woff", ".woff2": "font/woff2",
}

// DetectContentType decides an asset's media type from the extension of its name, checked
// against its leading bytes. When they disagree the sniffed type wins, so an HTML page named
// x.jpg is text/html (and therefore never served inline). When the sniffed type is only a
// more general form of the extension's (a zip container for .docx, plain text for .csv,
// unknown bytes for .mp4) the extension's more precise type is kept.
func DetectContentType(name string, head []byte) string {
	sniffed := mimetype.Detect(head)
	ext, known := extensionTypes[strings.ToLower(path.Ext(name))]
	if !known {
		return sniffed.String()
	}
	if sniffed.Is(ext) {
		return sniffed.String()
	}
	if node := mimetype.Lookup(ext); node != nil {
		for p := node.Parent(); p != nil; p = p.Parent() {
			if sniffed.Is(p.String()) {
				return ext
			}
		}
	}
	switch base := mediaType(sniffed.String()); {
	case base == "application/octet-stream":
		return ext
	case base == "text/plain" && strings.HasPrefix(ext, "text/"):
		return ext
	}
	return sniffed.String()
}

func mediaType(ct string) string {
	base, _, _ := strings.Cut(ct, ";")
	return strings.TrimSpace(strings.ToLower(base))
}

// IsInline reports whether a type may be displayed by the browser: images other than SVG,
// audio, video, PDF and plain text. Everything else is sent as an attachment.
func IsInline(contentType string) bool {
	t := mediaType(contentType)
	switch {
	case t == "image/svg+xml":
		return false
	case strings.HasPrefix(t, "image/"), strings.HasPrefix(t, "audio/"), strings.HasPrefix(t, "video/"):
		return true
	}
	return t == "application/pdf" || t == "text/plain"
}

// ContentDisposition renders the header for a file name: filename="…" with an ASCII
// fallback, plus filename*=UTF-8”… whenever the name is not plain ASCII.
func ContentDisposition(disposition, name string) string {
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
