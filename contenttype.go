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
