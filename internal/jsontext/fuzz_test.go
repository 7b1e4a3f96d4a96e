package jsontext

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"testing/iotest"
	"unicode/utf8"

	"github.com/refstore/refstore"
)

var fuzzSeeds = []string{
	`{"relativePath":"lone\ud800surrogate"}`,
	`{"accounts":[{"id":"acme","users":[{"id":1,"apiKey":"0123456789abcdef\udfff"}]}]}`,
	`{"a":"\ud83d\ude00","b":"\udc00\ud800"}`,
	`{"accounts":[]}{"accounts":[]}`,
	`{"relativePath":"ok","relativePath":"../.."}`,
	`{"a":"\ufffd` + "\uFFFD" + `"}`,
	"{\"a\":\"\xed\xa0\x80\"}",
	`[1,-0.5e+10,true,false,null,"x",{}]`,
	`  42  `,
	`{"a":[[[[[[[[[]]]]]]]]]}`,
	`{"k":1,"K":2}`,
	"",
	`{"a":1,}`,
	"\"\\u0000\\\"\"",
}

var surrogateEscape = regexp.MustCompile(`\\u[dD][89abcdefABCDEF]`)

// checkText runs the Reader over data, read in chunks of the given size (0: at once).
func checkText(data []byte, chunk int) error {
	_, err := readText(data, chunk)
	return err
}

func readText(data []byte, chunk int) ([]byte, error) {
	var r io.Reader = bytes.NewReader(data)
	if chunk > 0 {
		r = &chunkReader{data: data, n: chunk}
	}
	return io.ReadAll(NewReader(r, Options{}))
}

type chunkReader struct {
	data []byte
	n    int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := copy(p[:min(len(p), c.n)], c.data)
	c.data = c.data[n:]
	return n, nil
}

// FuzzReader compares the Reader with encoding/json's own validator: whatever it accepts
// is valid JSON without lone surrogates, invalid UTF-8, duplicate keys or a second value;
// whatever valid JSON it refuses is refused for one of those reasons. The verdict must
// not depend on how the text is split between reads.
func FuzzReader(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(1))
	}
	f.Fuzz(func(t *testing.T, data []byte, chunk uint8) {
		out, whole := readText(data, 0)
		outSplit, split := readText(data, int(chunk%9)+1)
		if !sameError(whole, split) {
			t.Fatalf("%q: whole %v, in chunks of %d %v", data, whole, chunk%9+1, split)
		}
		if whole == nil {
			// What is handed on is the text without its whitespace between tokens.
			var compact bytes.Buffer
			if err := json.Compact(&compact, data); err != nil || !bytes.Equal(out, compact.Bytes()) || !bytes.Equal(outSplit, out) {
				t.Fatalf("%q: handed on %q (in chunks %q), json.Compact gives %q (%v)", data, out, outSplit, compact.Bytes(), err)
			}
		}
		valid := json.Valid(data)
		if whole == nil {
			if !valid {
				t.Fatalf("%q accepted, but encoding/json says it is not JSON", data)
			}
			if !utf8.Valid(data) {
				t.Fatalf("%q accepted with invalid UTF-8", data)
			}
			var v any
			dec := json.NewDecoder(bytes.NewReader(data))
			dec.UseNumber() // 2e400 is JSON, and no float64
			if err := dec.Decode(&v); err != nil {
				t.Fatalf("%q accepted, but encoding/json cannot decode it: %v", data, err)
			}
			// Every U+FFFD decoded was written as one: none stands for a lone surrogate.
			written := strings.Count(string(data), "\uFFFD") + len(regexp.MustCompile(`\\u[fF][fF][fF][dD]`).FindAll(data, -1))
			if decoded := countFFFD(v); decoded > written {
				t.Fatalf("%q accepted: %d U+FFFD decoded, %d written", data, decoded, written)
			}
			return
		}
		var e *Error
		if !errors.As(whole, &e) {
			t.Fatalf("%q: %v is not a *jsontext.Error", data, whole)
		}
		if !utf8.ValidString(e.Error()) {
			t.Fatalf("%q: message %q is not valid UTF-8", data, e.Error())
		}
		if !valid {
			return
		}
		switch e.Kind {
		case KindEncoding:
			if utf8.Valid(data) && !surrogateEscape.Match(data) {
				t.Fatalf("%q: refused as %q, but it holds valid UTF-8 and no surrogate escape", data, e)
			}
		case KindDuplicate, KindLimit:
		default:
			t.Fatalf("%q is valid JSON, refused as %q (kind %d)", data, e, e.Kind)
		}
	})
}

func sameError(a, b error) bool {
	var ea, eb *Error
	if errors.As(a, &ea) != errors.As(b, &eb) {
		return false
	}
	if ea == nil {
		return (a == nil) == (b == nil)
	}
	return *ea == *eb
}

func countFFFD(v any) int {
	n := 0
	switch v := v.(type) {
	case string:
		n = strings.Count(v, "\uFFFD")
	case []any:
		for _, e := range v {
			n += countFFFD(e)
		}
	case map[string]any:
		for k, e := range v {
			n += strings.Count(k, "\uFFFD") + countFFFD(e)
		}
	}
	return n
}

// FuzzDecodeCatalog decodes into the catalog: whatever Decode accepts, encoding/json
// decodes the same way, and its strings hold no U+FFFD the text did not.
func FuzzDecodeCatalog(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s))
	}
	f.Add([]byte(`{"accounts":[{"id":"acme","name":"Acme","users":[{"id":1,"name":"pm","apiKey":"0123456789abcdef"}],` +
		`"projects":[{"id":7,"documents":[{"id":70,"segments":[700,701]}]}],"grants":[{"userId":1,"projectId":7,"rights":["read"]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var got refstore.Catalog
		err := Decode(bytes.NewReader(data), &got, Options{DisallowUnknownFields: true})
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%q: %v is not a *jsontext.Error", data, err)
			}
			return
		}
		var want refstore.Catalog
		dec := json.NewDecoder(bytes.NewReader(data))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&want); err != nil {
			t.Fatalf("%q accepted, refused by encoding/json: %v", data, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%q: decoded %+v, encoding/json %+v", data, got, want)
		}
		b, _ := json.Marshal(got)
		if !utf8.Valid(b) || bytes.Count(b, []byte("\uFFFD")) > bytes.Count(data, []byte("\uFFFD"))+
			len(regexp.MustCompile(`\\u[fF][fF][fF][dD]`).FindAll(data, -1)) {
			t.Fatalf("%q accepted as %s", data, b)
		}
	})
}

// TestChunkingSeeds runs the seeds through every chunk size, a quick form of FuzzReader's
// split check.
func TestChunkingSeeds(t *testing.T) {
	for _, s := range fuzzSeeds {
		whole := checkText([]byte(s), 0)
		for n := 1; n < 10; n++ {
			if split := checkText([]byte(s), n); !sameError(whole, split) {
				t.Errorf("%q: whole %v, chunks of %d %v", s, whole, n, split)
			}
		}
		var v any
		_ = Decode(iotest.OneByteReader(strings.NewReader(s)), &v, Options{})
	}
}
