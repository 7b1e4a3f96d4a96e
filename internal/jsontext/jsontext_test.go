package jsontext

import (
	"errors"
	"io"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/refstore/refstore"
)

// attachBody has the shape of the attach call's body.
type attachBody struct {
	FileToken    string `json:"filetoken"`
	Locale       string `json:"locale"`
	RelativePath string `json:"relativePath"`
}

// readers gives the same text whole and one byte per Read, so that every state of the
// scanner is also crossed between two reads.
func readers(s string) map[string]func() io.Reader {
	return map[string]func() io.Reader{
		"whole":    func() io.Reader { return strings.NewReader(s) },
		"one byte": func() io.Reader { return iotest.OneByteReader(strings.NewReader(s)) },
		"half":     func() io.Reader { return iotest.HalfReader(strings.NewReader(s)) },
	}
}

// wantError asserts a refusal of the given kind at path, whose message holds the words.
func wantError(t *testing.T, err error, kind Kind, path string, words ...string) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("err = %v (%T), want a *jsontext.Error", err, err)
	}
	if e.Kind != kind || e.Path != path {
		t.Fatalf("err = %q: kind %d path %q, want kind %d path %q", e, e.Kind, e.Path, kind, path)
	}
	for _, w := range words {
		if !strings.Contains(e.Error(), w) {
			t.Errorf("message %q does not say %q", e, w)
		}
	}
}

// TestLoneSurrogates is the case: escapes of half a surrogate pair decode to
// U+FFFD in encoding/json, where no check of the decoded string can see them.
func TestLoneSurrogates(t *testing.T) {
	tests := []struct {
		name, body, path string
		words            []string
	}{
		{"high alone", `{"relativePath":"lone\ud800surrogate"}`, "relativePath", []string{`\ud800`, "first half"}},
		{"high at the end", `{"relativePath":"x\uDBFF"}`, "relativePath", []string{`\udbff`, "without its second half"}},
		{"low alone", `{"relativePath":"\udfff"}`, "relativePath", []string{`\udfff`, "second half", "without its first half"}},
		{"reversed pair", `{"locale":"\udc00\ud800"}`, "locale", []string{`\udc00`}},
		{"high then a plain escape", `{"filetoken":"\ud800\u0041"}`, "filetoken", []string{`\ud800`}},
		{"high then another high", `{"filetoken":"\ud800\ud800"}`, "filetoken", []string{`\ud800`}},
		{"high then a newline escape", `{"filetoken":"\ud800\n"}`, "filetoken", []string{`\ud800`}},
		{"high then a backslash escape", `{"filetoken":"\ud800\\udc00"}`, "filetoken", nil},
		{"in a key", `{"file\ud800":"x"}`, "", []string{"an object key", `\ud800`}},
		{"in a later key", `{"filetoken":"t","x\udc00y":1}`, "", []string{"an object key"}},
	}
	for _, tc := range tests {
		for how, r := range readers(tc.body) {
			t.Run(tc.name+"/"+how, func(t *testing.T) {
				var v attachBody
				wantError(t, Decode(r(), &v, Options{}), KindEncoding, tc.path, tc.words...)
			})
		}
	}
}

// TestCatalogPath names the place of a fault deep in a catalog, indices included.
func TestCatalogPath(t *testing.T) {
	body := `{"accounts":[{"id":"acme","users":[{"id":1,"apiKey":"0123456789abcdef"},` +
		`{"id":2,"apiKey":"0123456789abcde\ud800"}]}]}`
	for how, r := range readers(body) {
		t.Run(how, func(t *testing.T) {
			var c refstore.Catalog
			wantError(t, Decode(r(), &c, Options{DisallowUnknownFields: true}), KindEncoding, "accounts[0].users[1].apiKey")
		})
	}
	// The same key with \udfff, or with a literal U+FFFD, would have matched it; valid
	// forms of U+FFFD are still accepted as what they are.
	for _, body := range []string{`{"key":"abc\ufffd"}`, "{\"key\":\"abc\uFFFD\"}", `{"key":"abc\uFFFD"}`} {
		var v struct{ Key string }
		if err := Decode(strings.NewReader(body), &v, Options{}); err != nil || v.Key != "abc\uFFFD" {
			t.Errorf("%s: %q, %v", body, v.Key, err)
		}
	}
}

func TestValidPairsAndEscapes(t *testing.T) {
	body := `{"relativePath":"a\ud83d\ude00b\u00e9\"\\\/\b\f\n\r\t","locale":"日本","filetoken":"\uD834\uDD1E"}`
	for how, r := range readers(body) {
		t.Run(how, func(t *testing.T) {
			var v attachBody
			if err := Decode(r(), &v, Options{}); err != nil {
				t.Fatal(err)
			}
			if v.RelativePath != "a😀bé\"\\/\b\f\n\r\t" || v.Locale != "日本" || v.FileToken != "𝄞" {
				t.Fatalf("decoded %+v", v)
			}
		})
	}
}

func TestInvalidUTF8(t *testing.T) {
	for name, body := range map[string]string{
		"stray continuation": "{\"relativePath\":\"a\x80\"}",
		"0xff":               "{\"relativePath\":\"\xff\xfe\"}",
		"overlong slash":     "{\"relativePath\":\"\xc0\xaf\"}",
		"encoded surrogate":  "{\"relativePath\":\"\xed\xa0\x80\"}",
		"past U+10FFFF":      "{\"relativePath\":\"\xf4\x90\x80\x80\"}",
		"cut sequence":       "{\"relativePath\":\"\xe6\x97\"}",
	} {
		for how, r := range readers(body) {
			t.Run(name+"/"+how, func(t *testing.T) {
				var v attachBody
				wantError(t, Decode(r(), &v, Options{}), KindEncoding, "relativePath", "UTF-8")
			})
		}
	}
	var v attachBody
	wantError(t, Decode(strings.NewReader("{\"x\xff\":1}"), &v, Options{}), KindEncoding, "", "an object key")
	wantError(t, Decode(strings.NewReader("\xef\xbb\xbf{}"), &v, Options{}), KindSyntax, "") // a byte-order mark is not JSON
}

// TestTrailingData: a second document (or anything) after the first value is refused,
// wherever it starts; whitespace is not.
func TestTrailingData(t *testing.T) {
	for _, body := range []string{`{"accounts":[]}{"accounts":[{"id":"x"}]}`, `{"accounts":[]} {"accounts":[]}`,
		"{\"accounts\":[]}\n\nx", `{"accounts":[]}]`, `{"accounts":[]}null`, `{}` + strings.Repeat(" ", 5000) + `{}`} {
		for how, r := range readers(body) {
			t.Run(how, func(t *testing.T) {
				var c refstore.Catalog
				wantError(t, Decode(r(), &c, Options{DisallowUnknownFields: true}), KindTrailing, "", "one value")
			})
		}
	}
	for _, body := range []string{`{"accounts":[]}`, "{\"accounts\":[]}\n", " \t\r\n{\"accounts\":[]} \t\r\n"} {
		var c refstore.Catalog
		if err := Decode(strings.NewReader(body), &c, Options{}); err != nil {
			t.Errorf("%q: %v", body, err)
		}
	}
	// A top-level number ends where the text does, or at what follows.
	var n int
	if err := Decode(strings.NewReader("42"), &n, Options{}); err != nil || n != 42 {
		t.Errorf("42: %d, %v", n, err)
	}
	wantError(t, Decode(strings.NewReader("42x"), &n, Options{}), KindTrailing, "")
	wantError(t, Decode(strings.NewReader("42 43"), &n, Options{}), KindTrailing, "")
}

func TestEmpty(t *testing.T) {
	for _, body := range []string{"", " ", "\n\t\r "} {
		var v attachBody
		wantError(t, Decode(strings.NewReader(body), &v, Options{}), KindEmpty, "")
	}
}

func TestSyntax(t *testing.T) {
	tests := []struct{ body, path string }{
		{`{"relativePath":"a`, "relativePath"},
		{`{"relativePath":}`, "relativePath"},
		{`{"relativePath" "a"}`, "relativePath"},
		{`{relativePath:"a"}`, ""},
		{`{"a":1,}`, ""},
		{`{"a":1 "b":2}`, "a"},
		{`{"a":[1,]}`, "a[1]"},
		{`{"a":[1 2]}`, "a[0]"},
		{`{"a":tru}`, "a"},
		{`{"a":nul}`, "a"},
		{`{"a":01}`, "a"},
		{`{"a":-}`, "a"},
		{`{"a":1.}`, "a"},
		{`{"a":1e}`, "a"},
		{`{"a":1e+}`, "a"},
		{`{"a":+1}`, "a"},
		{`{"a":"\x"}`, "a"},
		{`{"a":"\u12g4"}`, "a"},
		{"{\"a\":\"tab\there\"}", "a"},
		{`{"a":'x'}`, "a"},
		{`[`, "[0]"},
		{`{`, ""},
		{`}`, ""},
		{`{"accounts":[{"id":"x","users":[{"id":1,}]}]}`, "accounts[0].users[0]"},
	}
	for _, tc := range tests {
		for how, r := range readers(tc.body) {
			t.Run(tc.body+"/"+how, func(t *testing.T) {
				var v any
				wantError(t, Decode(r(), &v, Options{}), KindSyntax, tc.path)
			})
		}
	}
}

// TestDuplicateKeys: encoding/json takes the last of two keys that match a field, also
// when they differ in case; another reader may take the first.
func TestDuplicateKeys(t *testing.T) {
	for _, body := range []string{`{"relativePath":"ok","relativePath":"../.."}`, `{"relativePath":"ok","RELATIVEPATH":"x"}`,
		`{"relativePath":"ok","relativepath":"x"}`} {
		var v attachBody
		wantError(t, Decode(strings.NewReader(body), &v, Options{}), KindDuplicate, body[strings.LastIndex(body, `,"`)+2:strings.LastIndex(body, `":`)], "twice")
	}
	// The Kelvin sign folds to K, as encoding/json matches it.
	var v struct{ Key string }
	wantError(t, Decode(strings.NewReader("{\"key\":\"a\",\"\u212aey\":\"b\"}"), &v, Options{}), KindDuplicate, "[\"\u212aey\"]")
	// The same key in two objects is no duplicate.
	var c refstore.Catalog
	if err := Decode(strings.NewReader(`{"accounts":[{"id":"a"},{"id":"b"}]}`), &c, Options{}); err != nil {
		t.Fatal(err)
	}
}

func TestLimits(t *testing.T) {
	var v any
	wantError(t, Decode(strings.NewReader(strings.Repeat("[", 10000)), &v, Options{}), KindLimit, strings.Repeat("[0]", DefaultMaxDepth), "nested")
	if err := Decode(strings.NewReader(strings.Repeat("[", 8)+strings.Repeat("]", 8)), &v, Options{MaxDepth: 8}); err != nil {
		t.Fatal(err)
	}
	wantError(t, Decode(strings.NewReader(strings.Repeat("[", 9)+strings.Repeat("]", 9)), &v, Options{MaxDepth: 8}), KindLimit, "[0][0][0][0][0][0][0][0]")

	var b strings.Builder
	b.WriteString("{")
	for i := range DefaultMaxMembers + 1 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`"k` + strings.Repeat("x", i%7) + string(rune('a'+i%26)) + strconv.Itoa(i) + `":0`)
	}
	b.WriteString("}")
	wantError(t, Decode(strings.NewReader(b.String()), &v, Options{}), KindLimit, "", "members")

	long := `{"relativePath":"` + strings.Repeat("a", 100) + `"}`
	var a attachBody
	if err := Decode(strings.NewReader(long), &a, Options{MaxTokenBytes: 100}); err != nil {
		t.Fatal(err)
	}
	wantError(t, Decode(strings.NewReader(long), &a, Options{MaxTokenBytes: 99}), KindLimit, "relativePath", "longer than 99 bytes")
	wantError(t, Decode(strings.NewReader(`{"`+strings.Repeat("k", 100)+`":1}`), &v, Options{MaxTokenBytes: 99}), KindLimit, "", "an object key")
	wantError(t, Decode(strings.NewReader(`{"n":`+strings.Repeat("1", 100)+`}`), &v, Options{MaxTokenBytes: 99}), KindLimit, "n", "number")
}

// TestTypeErrors maps encoding/json's type errors to the field's path and the JSON type
// it wants.
func TestTypeErrors(t *testing.T) {
	var c refstore.Catalog
	err := Decode(strings.NewReader(`{"accounts":[{"id":"a","users":[{"id":"one"}]}]}`), &c, Options{})
	wantError(t, err, KindType, "accounts.users.id", "an integer of at most 64 bits", "not a string")
	var a attachBody
	wantError(t, Decode(strings.NewReader(`{"filetoken":1e400}`), &a, Options{}), KindType, "filetoken", "must be a string, not a number")
	wantError(t, Decode(strings.NewReader(`[]`), &a, Options{}), KindType, "", "must be an object, not an array")
	var n struct {
		N int64 `json:"n"`
	}
	wantError(t, Decode(strings.NewReader(`{"n":1e400}`), &n, Options{}), KindType, "n", "the number 1e400")
	wantError(t, Decode(strings.NewReader(`{"n":1.5}`), &n, Options{}), KindType, "n")
}

func TestUnknownFields(t *testing.T) {
	var c refstore.Catalog
	err := Decode(strings.NewReader(`{"accounts":[{"id":"a","userz":[]}]}`), &c, Options{DisallowUnknownFields: true})
	wantError(t, err, KindUnknownField, "", `unknown field "userz"`)
	var a attachBody
	if err := Decode(strings.NewReader(`{"filetoken":"t","extra":{"x":[1,2]}}`), &a, Options{}); err != nil || a.FileToken != "t" {
		t.Fatalf("unknown fields allowed: %+v, %v", a, err)
	}
}

// failingReader returns its data, then its error.
type failingReader struct {
	data string
	err  error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.data == "" {
		return 0, f.err
	}
	n := copy(p, f.data)
	f.data = f.data[n:]
	return n, nil
}

type tooLarge struct{}

func (tooLarge) Error() string { return "body too large" }

// TestReadErrorsPassThrough: the error of the reader below (a size limit, a timeout)
// comes back as it is, for the caller to answer 413 or 408.
func TestReadErrorsPassThrough(t *testing.T) {
	var a attachBody
	err := Decode(&failingReader{data: `{"filetoken":"abc`, err: tooLarge{}}, &a, Options{})
	var tl tooLarge
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v (%T), want the reader's", err, err)
	}
	// Also when the value is complete and the error comes while reading what follows.
	err = Decode(&failingReader{data: `{"filetoken":"abc"}  `, err: tooLarge{}}, &a, Options{})
	if !errors.As(err, &tl) {
		t.Fatalf("err = %v (%T), want the reader's", err, err)
	}
}

// TestReaderStopsAtFault: a Read never hands out the byte at fault, nor anything after.
func TestReaderStopsAtFault(t *testing.T) {
	body := `{"a":"x\udc00yz","b":1}`
	r := NewReader(strings.NewReader(body), Options{})
	got, err := io.ReadAll(r)
	wantError(t, err, KindEncoding, "a")
	if want := `{"a":"x\udc00`; string(got) != want[:len(want)-1] && string(got) != want {
		t.Fatalf("handed out %q", got)
	}
	if n, err2 := r.Read(make([]byte, 10)); n != 0 || err2 != err {
		t.Fatalf("Read after the fault: %d, %v", n, err2)
	}
	if r.Err() != err {
		t.Fatalf("Err() = %v", r.Err())
	}
}

// TestWhitespaceNotBuffered: whitespace between tokens is not handed to the decoder,
// which would hold it whole while it looks for the next token.
func TestWhitespaceNotBuffered(t *testing.T) {
	pad := strings.Repeat(" \n\t\r", 1<<20) // 4 MiB
	body := "{" + pad + `"relativePath"` + pad + ":" + pad + `"a b"` + pad + "," + `"locale":"en"` + pad + "}" + pad
	var v attachBody
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err := Decode(strings.NewReader(body), &v, Options{})
	runtime.ReadMemStats(&after)
	if err != nil || v.RelativePath != "a b" || v.Locale != "en" {
		t.Fatalf("%+v, %v", v, err)
	}
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
		t.Fatalf("decoding 20 MiB of padding allocated %d bytes", alloc)
	}
}
