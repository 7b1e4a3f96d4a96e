package refstore

import (
	"errors"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// wantInvalid asserts that err is a CodeInvalidParameter naming param.
func wantInvalid(t *testing.T, err error, param string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v, want an *Error with code %s", err, CodeInvalidParameter)
	}
	if e.Code != CodeInvalidParameter {
		t.Fatalf("code = %s, want %s (err %v)", e.Code, CodeInvalidParameter, err)
	}
	if e.Param != param {
		t.Fatalf("param = %q, want %q (err %v)", e.Param, param, err)
	}
	if !strings.Contains(e.Message, "'"+param+"'") {
		t.Errorf("message %q does not name the parameter %q", e.Message, param)
	}
}

func TestSplitPath(t *testing.T) {
	long := strings.Repeat("a", MaxNameBytes)
	tests := []struct {
		in   string
		want []string // nil with ok=true means no elements
		ok   bool
	}{
		{"", nil, true},
		{"/", nil, true},
		{`\`, nil, true},
		{"a", []string{"a"}, true},
		{"public/images", []string{"public", "images"}, true},
		{`public\images`, []string{"public", "images"}, true},
		{"/public/images", []string{"public", "images"}, true},
		{`\public\images\`, []string{"public", "images"}, true},
		{"public//images", []string{"public", "images"}, true},
		{`public\\images`, []string{"public", "images"}, true},
		{`a/\b`, []string{"a", "b"}, true},
		{"public/images/", []string{"public", "images"}, true},
		{"a/b/c/d.png", []string{"a", "b", "c", "d.png"}, true},
		{".hidden", []string{".hidden"}, true},
		{"a.b.c", []string{"a.b.c"}, true},
		{"a..b", []string{"a..b"}, true},
		{"...x", []string{"...x"}, true},
		{" lead", []string{" lead"}, true},
		{"日本語/ファイル.png", []string{"日本語", "ファイル.png"}, true},
		{"emoji 😀.png", []string{"emoji 😀.png"}, true},
		{"a\u200db", []string{"a\u200db"}, true}, // zero-width joiner is not a control
		{long, []string{long}, true},
		{"x/" + long, []string{"x", long}, true},

		{".", nil, false},
		{"..", nil, false},
		{"a/./b", nil, false},
		{"a/../b", nil, false},
		{"../etc/passwd", nil, false},
		{`..\..\windows`, nil, false},
		{"a/..", nil, false},
		{"/..", nil, false},
		{`\\server\share`, nil, false},
		{`\\server`, nil, false},
		{"//server/share", nil, false},
		{`/\server`, nil, false},
		{"C:", nil, false},
		{`C:\Windows`, nil, false},
		{"c:/windows", nil, false},
		{"z:x", nil, false},
		{"a/C:/b", nil, false},
		{"a\x00b", nil, false},
		{"a\nb", nil, false},
		{"a\tb", nil, false},
		{"a\rb", nil, false},
		{"a\x1fb", nil, false},
		{"a\x7fb", nil, false},
		{"a\u0085b", nil, false}, // C1 control (NEL)
		{"a<b", nil, false},
		{"a>b", nil, false},
		{"a:b", nil, false},
		{`a"b`, nil, false},
		{"a|b", nil, false},
		{"a?b", nil, false},
		{"a*b", nil, false},
		{"name.", nil, false},
		{"name ", nil, false},
		{"folder./x", nil, false},
		{"folder /x", nil, false},
		{"...", nil, false},
		{" ", nil, false},
		{long + "a", nil, false},
		{"x/" + long + "a/y", nil, false},
		{"a\xffb", nil, false},
		{"\xc3", nil, false},
		{"\xed\xa0\x80", nil, false}, // a UTF-16 surrogate encoded in UTF-8
		{"gpj\u202eexe.png", nil, false},
		{"a\u202ab", nil, false},
		{"a\u202db", nil, false},
		{"a\u2066b", nil, false},
		{"a\u2069b", nil, false},
		// Names Windows reserves for devices, which an export unpacked there could not hold.
		{"CON", nil, false},
		{"con", nil, false},
		{"nul.txt", nil, false},
		{"NUL.tar.gz", nil, false},
		{"COM1.png", nil, false},
		{"lpt9", nil, false},
		{"aux/x.png", nil, false},
		{"a/Prn/b", nil, false},
		{"COM\u00b9.png", nil, false}, // superscript one
		{"lpt\u00b3", nil, false},     // superscript three
		{"com0", nil, false},
		{"con .txt", nil, false}, // Windows ignores the spaces before the extension
		{"CONIN$", nil, false},
		{"conout$.log", nil, false},
		{"CONX", []string{"CONX"}, true},
		{"console.png", []string{"console.png"}, true},
		{"com10", []string{"com10"}, true},
		{"lpt", []string{"lpt"}, true},
		{"xcon", []string{"xcon"}, true},
		{".con", []string{".con"}, true},
		{"com\u00b4", []string{"com\u00b4"}, true}, // an acute accent, not a superscript digit
		{"nul_", []string{"nul_"}, true},
	}
	for _, tc := range tests {
		got, err := SplitPath("p", tc.in)
		if !tc.ok {
			if err == nil {
				t.Errorf("SplitPath(%q) = %q, want an error", tc.in, got)
				continue
			}
			wantInvalid(t, err, "p")
			continue
		}
		if err != nil {
			t.Errorf("SplitPath(%q): %v", tc.in, err)
			continue
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("SplitPath(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestSplitName(t *testing.T) {
	tests := []struct {
		in      string
		folders []string
		name    string
		ok      bool
	}{
		{"shot.png", nil, "shot.png", true},
		{"sub/shot.png", []string{"sub"}, "shot.png", true},
		{`docs\pdfs\x.txt`, []string{"docs", "pdfs"}, "x.txt", true},
		{"/docs/pdfs/x.txt", []string{"docs", "pdfs"}, "x.txt", true},
		{"docs/x.txt/", []string{"docs"}, "x.txt", true}, // a trailing separator is ignored
		{"", nil, "", false},
		{"/", nil, "", false},
		{`\\`, nil, "", false},
		{"///", nil, "", false},
		{"../x.png", nil, "", false},
		{"x.png.", nil, "", false},
		{strings.Repeat("n", 256), nil, "", false},
	}
	for _, tc := range tests {
		folders, name, err := SplitName("filename", tc.in)
		if !tc.ok {
			if err == nil {
				t.Errorf("SplitName(%q) = %q, %q, want an error", tc.in, folders, name)
				continue
			}
			wantInvalid(t, err, "filename")
			continue
		}
		if err != nil {
			t.Errorf("SplitName(%q): %v", tc.in, err)
			continue
		}
		if !slices.Equal(folders, tc.folders) || name != tc.name {
			t.Errorf("SplitName(%q) = %q, %q, want %q, %q", tc.in, folders, name, tc.folders, tc.name)
		}
		if len(tc.folders) == 0 && folders != nil {
			t.Errorf("SplitName(%q) folders = %#v, want nil", tc.in, folders)
		}
	}
}

// folderPath builds a relative path of folders joined with "/" whose joined length (what
// MaxPathBytes limits) is exactly n bytes.
func folderPath(n int) string {
	var parts []string
	for n > 0 {
		k := min(n, 100)
		if len(parts) > 0 {
			// The separator counts too.
			k = min(n-1, 100)
			if k <= 0 {
				// Lengthen the previous part instead of adding an empty one.
				parts[len(parts)-1] += strings.Repeat("b", n)
				break
			}
			n--
		}
		parts = append(parts, strings.Repeat("a", k))
		n -= k
	}
	return strings.Join(parts, "/")
}

func TestSplitFoldersLength(t *testing.T) {
	for _, n := range []int{1, 100, 101, 102, 1023, 1024} {
		p := folderPath(n)
		if len(p) != n {
			t.Fatalf("folderPath(%d) has %d bytes", n, len(p))
		}
		el, err := SplitFolders("relativePath", p)
		if err != nil {
			t.Errorf("SplitFolders(%d bytes): %v", n, err)
			continue
		}
		if strings.Join(el, "/") != p {
			t.Errorf("SplitFolders(%d bytes) = %q", n, el)
		}
	}
	for _, n := range []int{1025, 1100, 4000} {
		_, err := SplitFolders("relativePath", folderPath(n))
		wantInvalid(t, err, "relativePath")
	}
	// The limit is on the folders once normalised: doubled separators do not count.
	p := strings.ReplaceAll(folderPath(1024), "/", "//")
	if _, err := SplitFolders("relativePath", "/"+p+"/"); err != nil {
		t.Errorf("1024 bytes of folders written with doubled separators: %v", err)
	}
	// The folders inside a filename obey the same limit.
	if _, _, err := SplitName("filename", folderPath(1024)+"/x.png"); err != nil {
		t.Errorf("SplitName with 1024 bytes of folders: %v", err)
	}
	_, _, err := SplitName("filename", folderPath(1025)+"/x.png")
	wantInvalid(t, err, "filename")
	// SplitFolders reports its own parameter name for element errors too.
	_, err = SplitFolders("relativePath", "a/../b")
	wantInvalid(t, err, "relativePath")
}

func TestParseAddress(t *testing.T) {
	tests := []struct {
		name                       string
		locale, relative, filename string
		want                       Address
	}{
		{"plain", "", "", "shot.png", Address{Name: "shot.png"}},
		{"locale", "en", "", "shot.png", Address{Locale: "en", Name: "shot.png"}},
		{"locale canonical", "en-us", "", "shot.png", Address{Locale: "en-US", Name: "shot.png"}},
		{"locale canonical upper", "EN-GB", "", "a", Address{Locale: "en-GB", Name: "a"}},
		{"locale script", "zh-hant-tw", "", "a", Address{Locale: "zh-Hant-TW", Name: "a"}},
		{"relativePath", "", "public/images", "shot.png",
			Address{Folders: []string{"public", "images"}, Name: "shot.png"}},
		{"relativePath backslash", "", `public\images`, "shot.png",
			Address{Folders: []string{"public", "images"}, Name: "shot.png"}},
		{"relativePath leading slash", "", "/public/images", "shot.png",
			Address{Folders: []string{"public", "images"}, Name: "shot.png"}},
		{"relativePath doubled and trailing", "", `public\\images\`, "shot.png",
			Address{Folders: []string{"public", "images"}, Name: "shot.png"}},
		{"folders in filename", "", "", "sub/dir/shot.png",
			Address{Folders: []string{"sub", "dir"}, Name: "shot.png"}},
		{"folders in filename with backslash", "", "", `sub\shot.png`,
			Address{Folders: []string{"sub"}, Name: "shot.png"}},
		{"relativePath wins over filename folders", "fr", "public", "sub/dir/shot.png",
			Address{Locale: "fr", Folders: []string{"public"}, Name: "shot.png"}},
		{"relativePath of separators only means root", "", "/", "sub/shot.png",
			Address{Name: "shot.png"}},
		{"case kept", "", "Public", "Shot.PNG", Address{Folders: []string{"Public"}, Name: "Shot.PNG"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseAddress(tc.locale, tc.relative, tc.filename)
			if err != nil {
				t.Fatalf("ParseAddress(%q, %q, %q): %v", tc.locale, tc.relative, tc.filename, err)
			}
			if got.Locale != tc.want.Locale || got.Name != tc.want.Name || !slices.Equal(got.Folders, tc.want.Folders) {
				t.Fatalf("ParseAddress(%q, %q, %q) = %#v, want %#v", tc.locale, tc.relative, tc.filename, got, tc.want)
			}
			if len(tc.want.Folders) == 0 && got.Folders != nil {
				t.Errorf("Folders = %#v, want nil at the segment root", got.Folders)
			}
		})
	}
}

func TestParseAddressErrors(t *testing.T) {
	tests := []struct {
		locale, relative, filename string
		param                      string
	}{
		{"", "", "", "filename"},
		{"", "", "/", "filename"},
		{"", "", "../x.png", "filename"},
		{"", "", `C:\x.png`, "filename"},
		{"", "", `\\srv\x.png`, "filename"},
		{"", "", "x?.png", "filename"},
		{"", "", "x.png ", "filename"},
		{"", "..", "x.png", "relativePath"},
		{"", "a/../../b", "x.png", "relativePath"},
		{"", "C:", "x.png", "relativePath"},
		{"", `\\server\share`, "x.png", "relativePath"},
		{"", "a\x00", "x.png", "relativePath"},
		{"", "a<b", "x.png", "relativePath"},
		{"", "dir.", "x.png", "relativePath"},
		{"", folderPath(1025), "x.png", "relativePath"},
		{"", "\xff", "x.png", "relativePath"},
		{"", "a\u202eb", "x.png", "relativePath"},
		{"english", "", "x.png", "locale"},
		{"en-", "", "x.png", "locale"},
		{"-en", "", "x.png", "locale"},
		{"e", "", "x.png", "locale"},
		{"en US", "", "x.png", "locale"},
		{"../en", "", "x.png", "locale"},
		{"en/US", "", "x.png", "locale"},
		{strings.Repeat("a", 65), "", "x.png", "locale"},
		{"", "", "CON.png", "filename"},
		{"", "", "docs/nul/x.png", "filename"},
		{"", "LPT1", "x.png", "relativePath"},
		{"", "a/aux.d", "x.png", "relativePath"},
		// Con, Nul, Aux and Prn are languages (ISO 639-3), and a locale is a folder.
		{"con", "", "x.png", "locale"},
		{"NUL", "", "x.png", "locale"},
		{"aux", "", "x.png", "locale"},
		{"prn", "", "x.png", "locale"},
	}
	for _, tc := range tests {
		a, err := ParseAddress(tc.locale, tc.relative, tc.filename)
		if err == nil {
			t.Errorf("ParseAddress(%q, %q, %q) = %#v, want an error", tc.locale, tc.relative, tc.filename, a)
			continue
		}
		wantInvalid(t, err, tc.param)
	}
}

func TestParseLocale(t *testing.T) {
	ok := map[string]string{
		"":           "",
		"en":         "en",
		"EN":         "en",
		"en-us":      "en-US",
		"en-US":      "en-US",
		"fr-ca":      "fr-CA",
		"de-ch":      "de-CH",
		"zh-hans":    "zh-Hans",
		"sr-latn-rs": "sr-Latn-RS",
		"es-419":     "es-419",
		"pt-BR":      "pt-BR",
	}
	for in, want := range ok {
		got, err := ParseLocale(in)
		if err != nil {
			t.Errorf("ParseLocale(%q): %v", in, err)
			continue
		}
		if got != want {
			t.Errorf("ParseLocale(%q) = %q, want %q", in, got, want)
		}
		// Canonical forms are fixed points.
		if again, err := ParseLocale(got); err != nil || again != got {
			t.Errorf("ParseLocale(%q) = %q, %v; want it unchanged", got, again, err)
		}
	}
	for _, in := range []string{"x", "english", "en--US", "en-", "123", "en-US-", " en", "en\x00", "é"} {
		if got, err := ParseLocale(in); err == nil {
			t.Errorf("ParseLocale(%q) = %q, want an error", in, got)
		} else {
			wantInvalid(t, err, "locale")
		}
	}
}

func TestAddressRendering(t *testing.T) {
	a := Address{Locale: "en", Folders: []string{"public", "views"}, Name: "a.png"}
	if got := a.RelativePath(); got != `public\views` {
		t.Errorf("RelativePath = %q", got)
	}
	if got := a.FolderPath(); got != "public/views" {
		t.Errorf("FolderPath = %q", got)
	}
	if got := a.FolderPathName(); got != "public/views/a.png" {
		t.Errorf("FolderPathName = %q", got)
	}
	if got := a.Elements(); !slices.Equal(got, []string{"en", "public", "views", "a.png"}) {
		t.Errorf("Elements = %q", got)
	}
	root := Address{Name: "a.png"}
	if root.RelativePath() != "" || root.FolderPath() != "" || root.FolderPathName() != "a.png" {
		t.Errorf("root address renders as %q %q %q", root.RelativePath(), root.FolderPath(), root.FolderPathName())
	}
	if got := root.Elements(); !slices.Equal(got, []string{"a.png"}) {
		t.Errorf("Elements = %q", got)
	}
	u := Upload{Folders: []string{"docs", "pdfs"}, Name: "x.txt"}
	if got := u.DisplayName(); got != "docs/pdfs/x.txt" {
		t.Errorf("DisplayName = %q", got)
	}
}

func TestAddressEqual(t *testing.T) {
	a := Address{Locale: "en", Folders: []string{"a", "b"}, Name: "x"}
	tests := []struct {
		b    Address
		want bool
	}{
		{Address{Locale: "en", Folders: []string{"a", "b"}, Name: "x"}, true},
		{Address{Locale: "", Folders: []string{"a", "b"}, Name: "x"}, false},
		{Address{Locale: "en", Folders: []string{"a"}, Name: "x"}, false},
		{Address{Locale: "en", Folders: []string{"a", "b"}, Name: "X"}, false},
		{Address{Locale: "en", Folders: []string{"a/b"}, Name: "x"}, true}, // same folder path
	}
	for _, tc := range tests {
		if got := a.Equal(tc.b); got != tc.want {
			t.Errorf("%#v.Equal(%#v) = %t, want %t", a, tc.b, got, tc.want)
		}
	}
	if !(Address{Name: "x"}).Equal(Address{Folders: []string{}, Name: "x"}) {
		t.Error("nil and empty folders differ")
	}
}

func TestLayoutConflict(t *testing.T) {
	addr := func(locale, folders, name string) Address {
		var f []string
		if folders != "" {
			f = strings.Split(folders, "/")
		}
		return Address{Locale: locale, Folders: f, Name: name}
	}
	tests := []struct {
		name     string
		existing []Address
		next     Address
		conflict bool
		with     Address
	}{
		{"empty segment", nil, addr("", "", "a.png"), false, Address{}},
		{"equal address is an overwrite", []Address{addr("en", "x", "a.png")}, addr("en", "x", "a.png"), false, Address{}},
		{"siblings", []Address{addr("", "", "a.png")}, addr("", "", "b.png"), false, Address{}},
		{"same name other locale", []Address{addr("en", "", "a.png")}, addr("fr", "", "a.png"), false, Address{}},
		{"same name neutral and locale", []Address{addr("", "", "a.png")}, addr("en", "", "a.png"), false, Address{}},
		{"same folder", []Address{addr("", "img", "a.png")}, addr("", "img", "b.png"), false, Address{}},
		{"locale en vs folder en", []Address{addr("en", "", "a.png")}, addr("", "en", "a.png"), true, addr("en", "", "a.png")},
		{"folder en vs locale en", []Address{addr("", "en", "a.png")}, addr("en", "", "a.png"), true, addr("", "en", "a.png")},
		{"locale + folder vs folders", []Address{addr("en", "img", "a.png")}, addr("", "en/img", "a.png"), true, addr("en", "img", "a.png")},
		{"file where a folder is needed", []Address{addr("", "", "img")}, addr("", "img", "a.png"), true, addr("", "", "img")},
		{"folder where a file is needed", []Address{addr("", "img", "a.png")}, addr("", "", "img"), true, addr("", "img", "a.png")},
		{"deep file vs folder", []Address{addr("", "a/b", "c")}, addr("", "a/b/c", "d"), true, addr("", "a/b", "c")},
		{"deep folder vs file", []Address{addr("", "a/b/c", "d")}, addr("", "a", "b"), true, addr("", "a/b/c", "d")},
		{"file named like a locale", []Address{addr("", "", "en")}, addr("en", "", "a.png"), true, addr("", "", "en")},
		{"prefix of a name is no clash", []Address{addr("", "", "img")}, addr("", "img2", "a.png"), false, Address{}},
		{"one clash among many", []Address{addr("", "", "a"), addr("", "b", "c"), addr("fr", "", "x")},
			addr("", "b/c", "d"), true, addr("", "b", "c")},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			with, conflict := LayoutConflict(tc.existing, tc.next)
			if conflict != tc.conflict {
				t.Fatalf("LayoutConflict = %t, want %t", conflict, tc.conflict)
			}
			if conflict && !with.Equal(tc.with) {
				t.Errorf("conflicts with %#v, want %#v", with, tc.with)
			}
		})
	}
}

// TestReservedNameMessage checks that a Windows device name is refused with a message that
// says why, naming the parameter.
func TestReservedNameMessage(t *testing.T) {
	_, err := ParseAddress("", "", "images/COM1.png")
	wantInvalid(t, err, "filename")
	var e *Error
	errors.As(err, &e)
	if !strings.Contains(e.Message, "COM1.png") || !strings.Contains(e.Message, "Windows") {
		t.Errorf("message %q does not name the element and say it is reserved on Windows", e.Message)
	}
}

// TestParseAddressStaysInside checks, for a few hostile inputs that are accepted, that the
// result cannot leave the segment folder.
func TestParseAddressStaysInside(t *testing.T) {
	for _, in := range [][3]string{
		{"", "/etc", "passwd"},
		{"", `\windows\system32`, "x.dll"},
		{"", "", "/etc/passwd"},
		{"", "", `\\?` + "x"}, // rejected below if at all; must not panic
		{"en", "//", "a"},
	} {
		a, err := ParseAddress(in[0], in[1], in[2])
		if err != nil {
			continue
		}
		checkInside(t, a)
	}
}

// reservedOnWindows is the test's own statement of the names Windows reserves: the part
// before the first dot, without trailing spaces, compared case-insensitively.
func reservedOnWindows(e string) bool {
	base, _, _ := strings.Cut(e, ".")
	// ASCII only: Windows compares device names byte by byte, so "conın$" with a dotless ı
	// is an ordinary name.
	base = strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' {
			return r - 'a' + 'A'
		}
		return r
	}, strings.TrimRight(base, " "))
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	for _, p := range []string{"COM", "LPT"} {
		for _, d := range []string{"0", "1", "2", "3", "4", "5", "6", "7", "8", "9", "\u00b9", "\u00b2", "\u00b3"} {
			if base == p+d {
				return true
			}
		}
	}
	return false
}

// checkInside asserts the fuzz property: the address's elements joined below "seg" stay
// strictly inside it.
func checkInside(t *testing.T, a Address) {
	t.Helper()
	el := a.Elements()
	if a.Name == "" {
		t.Fatalf("%#v: empty name", a)
	}
	if len(a.Name) > MaxNameBytes {
		t.Fatalf("%#v: name of %d bytes", a, len(a.Name))
	}
	if len(a.FolderPath()) > MaxPathBytes {
		t.Fatalf("%#v: folder path of %d bytes", a, len(a.FolderPath()))
	}
	if a.Folders != nil && len(a.Folders) == 0 {
		t.Fatalf("%#v: empty non-nil folders", a)
	}
	for _, e := range el {
		if e == "" || e == "." || e == ".." || strings.ContainsAny(e, "/\\\x00") || len(e) > MaxNameBytes {
			t.Fatalf("%#v: bad element %q", a, e)
		}
		if !filepath.IsLocal(e) {
			t.Fatalf("%#v: element %q is not local", a, e)
		}
		if reservedOnWindows(e) {
			t.Fatalf("%#v: element %q is a Windows device name", a, e)
		}
	}
	rel := filepath.Join(el...)
	if !filepath.IsLocal(rel) {
		t.Fatalf("%#v: %q is not local", a, rel)
	}
	if got := path.Join(append([]string{"seg"}, el...)...); !strings.HasPrefix(got, "seg/") ||
		got != "seg/"+strings.Join(el, "/") {
		t.Fatalf("%#v: path.Join gives %q", a, got)
	}
	if got := filepath.Join(append([]string{"seg"}, el...)...); !strings.HasPrefix(got, "seg"+string(filepath.Separator)) ||
		got != filepath.Join("seg", rel) {
		t.Fatalf("%#v: filepath.Join gives %q", a, got)
	}
	if got, err := filepath.Rel("seg", filepath.Join("seg", rel)); err != nil || got != rel {
		t.Fatalf("%#v: Rel = %q, %v", a, got, err)
	}
}

func FuzzParseAddress(f *testing.F) {
	for _, s := range [][3]string{
		{"", "", "shot.png"},
		{"en-us", "public/images", "sub/shot.png"},
		{"", "..", "x"},
		{"", "", "../../etc/passwd"},
		{"", `\\server\share`, "x"},
		{"", "C:", "x"},
		{"", "", "nul.txt"},
		{"", "docs/COM\u00b9", "x.png"},
		{"con", "", "x"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	f.Fuzz(func(t *testing.T, locale, relativePath, filename string) {
		a, err := ParseAddress(locale, relativePath, filename)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeInvalidParameter || e.Param == "" {
				t.Fatalf("ParseAddress(%q, %q, %q): error %v is not an invalid-parameter error", locale, relativePath, filename, err)
			}
			return
		}
		checkInside(t, a)
		if a.Locale != "" {
			if again, err := ParseLocale(a.Locale); err != nil || again != a.Locale {
				t.Fatalf("locale %q of %q is not canonical: %q, %v", a.Locale, locale, again, err)
			}
		}
		// What comes back parses to itself: the address is a fixed point of the normaliser.
		b, err := ParseAddress(a.Locale, a.RelativePath(), a.Name)
		if err != nil {
			t.Fatalf("re-parsing %#v: %v", a, err)
		}
		if !a.Equal(b) {
			t.Fatalf("re-parsing %#v gives %#v", a, b)
		}
	})
}
