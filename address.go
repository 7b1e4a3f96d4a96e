package refstore

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"unicode/utf8"

	"golang.org/x/text/language"
)

// Limits of the path rules (SPEC §5).
const (
	MaxNameBytes = 255  // one file or folder name
	MaxPathBytes = 1024 // the folders of relativePath, joined
)

// Address locates an asset inside its segment: the SPEC's
// [{locale}/][{relativePath}/]{name} below assets/{documentId}/{segmentId%1000}/{segmentId}/.
type Address struct {
	Locale  string   // canonical BCP 47 tag; "" when the asset is language-neutral
	Folders []string // the relativePath's folders, already validated; nil at the segment root
	Name    string   // the file name, matched exactly (case-sensitive)
}

// RelativePath is the Wordbee rendering of the folders: joined with a backslash, "" at the
// segment root.
func (a Address) RelativePath() string { return strings.Join(a.Folders, `\`) }

// FolderPath joins the folders with "/", as URLs and storage keys want them.
func (a Address) FolderPath() string { return strings.Join(a.Folders, "/") }

// Elements are the path elements of the asset below its segment folder, locale first.
func (a Address) Elements() []string {
	el := make([]string, 0, len(a.Folders)+2)
	if a.Locale != "" {
		el = append(el, a.Locale)
	}
	el = append(el, a.Folders...)
	return append(el, a.Name)
}

// Equal reports whether two addresses name the same asset.
func (a Address) Equal(b Address) bool {
	return a.Locale == b.Locale && a.Name == b.Name && a.FolderPath() == b.FolderPath()
}

// ParseAddress builds an address from the locale, relativePath and filename parameters of a
// call. Folders may come in relativePath or inside filename; when relativePath is given it
// wins and only the last element of filename is the name.
func ParseAddress(locale, relativePath, filename string) (Address, error) {
	loc, err := ParseLocale(locale)
	if err != nil {
		return Address{}, err
	}
	folders, name, err := SplitName("filename", filename)
	if err != nil {
		return Address{}, err
	}
	a := Address{Locale: loc, Name: name, Folders: folders}
	if relativePath != "" {
		if a.Folders, err = SplitFolders("relativePath", relativePath); err != nil {
			return Address{}, err
		}
	}
	if len(a.Folders) == 0 {
		a.Folders = nil
	}
	return a, nil
}

// SplitName splits a file name that may carry folders (docs/pdfs/x.txt) into its
// validated folders and its base name.
func SplitName(param, s string) (folders []string, name string, err error) {
	if s == "" {
		return nil, "", InvalidParam(param, "required")
	}
	el, err := SplitPath(param, s)
	if err != nil {
		return nil, "", err
	}
	if len(el) == 0 {
		return nil, "", InvalidParam(param, "holds no file name")
	}
	folders = el[:len(el)-1]
	if err := checkFolderLength(param, folders); err != nil {
		return nil, "", err
	}
	if len(folders) == 0 {
		folders = nil
	}
	return folders, el[len(el)-1], nil
}

// SplitFolders validates a relativePath value and returns its folders.
func SplitFolders(param, s string) ([]string, error) {
	el, err := SplitPath(param, s)
	if err != nil {
		return nil, err
	}
	if err := checkFolderLength(param, el); err != nil {
		return nil, err
	}
	return el, nil
}

func checkFolderLength(param string, folders []string) error {
	n := 0
	for i, f := range folders {
		n += len(f)
		if i > 0 {
			n++
		}
	}
	if n > MaxPathBytes {
		return InvalidParam(param, "the folder path is longer than %d bytes", MaxPathBytes)
	}
	return nil
}

// SplitPath splits a client path on "/" and "\" into validated elements. Leading, trailing
// and doubled separators are ignored, so "/public/images" is two folders under the segment,
// never a path on the host. Rejected, with a 400 naming param: invalid UTF-8, "." and ".."
// elements, drive (C:) and UNC (\\server) forms, control characters, any of <>:"|?*,
// elements ending in a dot or a space, elements over 255 bytes, and names Windows
// reserves for devices (see windowsDevice).
func SplitPath(param, s string) ([]string, error) {
	if !utf8.ValidString(s) {
		return nil, InvalidParam(param, "is not valid UTF-8")
	}
	if len(s) >= 2 && isSep(s[0]) && isSep(s[1]) {
		return nil, InvalidParam(param, "UNC paths (\\\\server\\share) are not allowed")
	}
	if len(s) >= 2 && s[1] == ':' && isASCIILetter(s[0]) {
		return nil, InvalidParam(param, "drive paths (C:) are not allowed")
	}
	var el []string
	for e := range strings.FieldsFuncSeq(s, func(r rune) bool { return r == '/' || r == '\\' }) {
		if err := checkElement(param, e); err != nil {
			return nil, err
		}
		el = append(el, e)
	}
	return el, nil
}

func checkElement(param, e string) error {
	switch {
	case e == "." || e == "..":
		return InvalidParam(param, "'.' and '..' are not allowed in paths")
	case len(e) > MaxNameBytes:
		return InvalidParam(param, "a name is longer than %d bytes", MaxNameBytes)
	case strings.HasSuffix(e, ".") || strings.HasSuffix(e, " "):
		return InvalidParam(param, "a name may not end in a dot or a space")
	case windowsDevice(e):
		return reservedName(param, e)
	}
	for _, r := range e {
		switch {
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f):
			return InvalidParam(param, "control characters are not allowed")
		case strings.ContainsRune(`<>:"|?*`, r):
			return InvalidParam(param, "the characters <>:\"|?* are not allowed")
		case (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069):
			// Bidirectional overrides make "gpj.exe" display as "exe.jpg".
			return InvalidParam(param, "bidirectional control characters are not allowed")
		}
	}
	return nil
}

// windowsDevice reports whether Windows reserves the name e for a device: CON, PRN, AUX,
// NUL, COM0-COM9, LPT0-LPT9 (also with the superscript digits ¹²³, which Windows counts
// as digits there), CONIN$ and CONOUT$, in any case, alone or followed by an extension
// (nul.txt and NUL.tar.gz are NUL too, and so is "con .txt": the spaces before the dot
// are ignored). An export is a tree of files that is unpacked on translators' Windows
// machines, where such a file cannot be created or opens the device instead.
func windowsDevice(e string) bool {
	base, _, _ := strings.Cut(e, ".")
	base = strings.TrimRight(base, " ")
	// EqualFold is an ASCII comparison for these letters: none of them has a Unicode
	// case variant (the Kelvin sign of K, the long s of S) that Windows would not match.
	is := func(d string) bool { return strings.EqualFold(base, d) }
	switch len(base) {
	case 3:
		return slices.ContainsFunc([]string{"CON", "PRN", "AUX", "NUL"}, is)
	case 6, 7:
		return is("CONIN$") || is("CONOUT$")
	}
	if len(base) < 4 || !strings.EqualFold(base[:3], "COM") && !strings.EqualFold(base[:3], "LPT") {
		return false
	}
	switch base[3:] {
	case "0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3":
		return true
	}
	return false
}

func reservedName(param, e string) error {
	return InvalidParam(param, "%q is a device name on Windows (CON, PRN, AUX, NUL, COM0-COM9, LPT0-LPT9, "+
		"also with an extension): an export holding it could not be unpacked there", truncate(e, 40))
}

func isSep(c byte) bool         { return c == '/' || c == '\\' }
func isASCIILetter(c byte) bool { return (c|0x20) >= 'a' && (c|0x20) <= 'z' }

// ParseLocale validates a locale parameter as a BCP 47 tag and returns its canonical form
// (en-us → en-US). An empty value means language-neutral.
func ParseLocale(s string) (string, error) {
	if s == "" {
		return "", nil
	}
	if len(s) > 64 {
		return "", InvalidParam("locale", "is longer than 64 bytes")
	}
	if v, ok := knownLocales.Load(s); ok {
		return v.(string), nil
	}
	tag, err := language.Parse(s)
	if err != nil {
		return "", InvalidParam("locale", "%q is not a valid BCP 47 language tag", truncate(s, 40))
	}
	canonical := tag.String()
	if windowsDevice(canonical) {
		// Con, Nul, Aux and Prn are languages, and a locale is a folder of the tree.
		return "", reservedName("locale", canonical)
	}
	if knownLocaleCount.Add(1) <= maxKnownLocales {
		knownLocales.Store(s, canonical)
	}
	return canonical, nil
}

// knownLocales remembers the canonical form of locales already parsed: a service sees a
// few dozen, and parsing one is the costliest step of reading a download's parameters.
var (
	knownLocales     sync.Map // string → string
	knownLocaleCount atomic.Int64
)

const maxKnownLocales = 4096

// LayoutConflict reports whether adding next to a segment that holds the assets at
// existing would make the on-disk layout impossible: two addresses that map to the same
// file (locale "en" and folder "en"), or a file where another asset needs a folder.
// An address equal to an existing one is an overwrite, not a conflict.
func LayoutConflict(existing []Address, next Address) (Address, bool) {
	n := next.Elements()
	for _, e := range existing {
		if e.Equal(next) {
			continue
		}
		if isPrefix(n, e.Elements()) || isPrefix(e.Elements(), n) {
			return e, true
		}
	}
	return Address{}, false
}

// isPrefix reports whether a is a prefix of b (or equal to it).
func isPrefix(a, b []string) bool {
	if len(a) > len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
