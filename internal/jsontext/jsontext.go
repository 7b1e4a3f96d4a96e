// Package jsontext reads JSON strictly, for request bodies and export manifests: what
// encoding/json would quietly repair or ignore is refused, with an error that names the
// place in the document.
//
// encoding/json decodes a lone UTF-16 surrogate escape ("\ud800") into U+FFFD, so a
// check of the decoded string cannot tell it from a real U+FFFD, and a check of the raw
// bytes does not see escapes: a folder named "lone\ud800" was stored as "lone\ufffd", and
// an API key ending in \ud800 also matched \udfff. It also takes the last of duplicate
// keys (matched case-insensitively), and its Decoder leaves what follows the first value
// unread, so a second document was silently dropped. Reader validates the text as it
// streams to encoding/json, which still does the decoding:
//
//   - every string (keys too) is valid UTF-8, and every \u escape of a surrogate is one
//     half of a pair in the right order;
//   - nothing but whitespace follows the first value;
//   - no object holds a key twice, compared as encoding/json matches keys to fields
//     (case-insensitively), so no two readers can disagree on which one counts;
//   - nesting, members per object and the length of strings and numbers are bounded.
//
// Why not encoding/json/v2 or its jsontext, which check much of this: in Go 1.26 they
// exist only with GOEXPERIMENT=jsonv2 (their files carry that build tag), and their
// staging module github.com/go-json-experiment/json is the same experiment with an API
// that may change. The checks here are a small state machine over bytes, fuzzed against
// encoding/json's own validator (FuzzReader).
package jsontext

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Defaults of Options.
const (
	DefaultMaxDepth   = 64   // nested objects and arrays; refstore's documents need 8
	DefaultMaxMembers = 1000 // members of one object; refstore's objects have at most 16
)

// Options tune a Reader and Decode.
type Options struct {
	// DisallowUnknownFields refuses object keys that match no field of the target struct
	// (Decode only).
	DisallowUnknownFields bool
	// MaxDepth bounds the nesting of objects and arrays; 0 means DefaultMaxDepth.
	MaxDepth int
	// MaxMembers bounds the members of one object; 0 means DefaultMaxMembers.
	MaxMembers int
	// MaxTokenBytes bounds one string (key or value) or number, counted in bytes of JSON
	// text; 0 means no bound but the reader's.
	MaxTokenBytes int
}

// Kind classifies an Error.
type Kind uint8

const (
	KindSyntax       Kind = iota + 1 // not JSON
	KindEncoding                     // invalid UTF-8, or a lone UTF-16 surrogate escape
	KindEmpty                        // no value at all
	KindTrailing                     // something after the first value
	KindDuplicate                    // a key twice in one object
	KindLimit                        // nesting, members or length over the Options' bounds
	KindType                         // a value of the wrong JSON type for its Go field (Decode)
	KindUnknownField                 // a key that names no field (Decode with DisallowUnknownFields)
)

// Error is a refusal of the JSON text.
type Error struct {
	Kind Kind
	// Path names the value concerned as field names and array indices from the root:
	// "relativePath", "accounts[0].users[1].apiKey"; "" for the document as a whole.
	// Type errors carry encoding/json's path, without indices ("accounts.users.id").
	Path string
	// Offset counts the bytes read before the error was found. For a type error it counts
	// what encoding/json saw, which is the text without its whitespace between tokens.
	Offset int64
	// Reason says what is wrong, without the path: "holds \ud800, the first half of a
	// UTF-16 surrogate pair, without its second half".
	Reason string
}

func (e *Error) Error() string {
	s := e.Reason
	if e.Path != "" {
		s = e.Path + ": " + s
	}
	switch e.Kind {
	case KindSyntax, KindEncoding, KindTrailing:
		s += fmt.Sprintf(" (at byte %d)", e.Offset)
	}
	return s
}

// Decode reads one JSON value from r into v (as encoding/json does) and then the rest of
// r, which may hold only whitespace. Refusals of the text are *Error; an error of r
// itself (a body over its size limit, a read timeout) is returned as r returned it.
func Decode(r io.Reader, v any, opts Options) error {
	vr := NewReader(r, opts)
	dec := json.NewDecoder(vr)
	if opts.DisallowUnknownFields {
		dec.DisallowUnknownFields()
	}
	if err := dec.Decode(v); err != nil {
		return vr.Explain(err)
	}
	return vr.Finish()
}

// Reader passes JSON text through, checking it on the way: a Read that meets a fault
// returns the bytes before it and the *Error, and so does every Read after. Whitespace
// between tokens is left out, so that a decoder above never buffers it. It is meant
// to sit under a json.Decoder (which buffers ahead of the value it decodes, so a fault
// in what follows may be found before the decoder returns: see Explain and Finish).
type Reader struct {
	src     io.Reader
	scanner scanner
	err     error // the first *Error
}

// NewReader returns a Reader of r.
func NewReader(r io.Reader, opts Options) *Reader {
	if opts.MaxDepth <= 0 {
		opts.MaxDepth = DefaultMaxDepth
	}
	if opts.MaxMembers <= 0 {
		opts.MaxMembers = DefaultMaxMembers
	}
	return &Reader{src: r, scanner: scanner{opts: opts}}
}

func (r *Reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	for {
		n, err := r.src.Read(p)
		kept, serr := r.scanner.scan(p[:n])
		if serr != nil {
			r.err = serr
			return kept, serr
		}
		if err == io.EOF {
			if ferr := r.scanner.finish(); ferr != nil {
				r.err = ferr
				return kept, ferr
			}
		}
		// A read of whitespace alone leaves nothing: read on, rather than return 0, nil.
		if kept > 0 || err != nil || n == 0 {
			return kept, err
		}
	}
}

// Err returns the fault found so far, if any.
func (r *Reader) Err() error { return r.err }

// Path names the place the text has reached, as Error.Path does.
func (r *Reader) Path() string { return r.scanner.path() }

// Explain turns an error of a json.Decoder reading from r into the error to report: the
// fault of the text when there is one (the decoder may have stopped on its consequence),
// an *Error for type and unknown-field errors, and any other error (of the underlying
// reader) unchanged.
func (r *Reader) Explain(err error) error {
	if r.err != nil {
		return r.err
	}
	var typeErr *json.UnmarshalTypeError
	var syntaxErr *json.SyntaxError
	switch {
	case errors.As(err, &typeErr):
		return &Error{Kind: KindType, Path: typeErr.Field, Offset: typeErr.Offset,
			Reason: fmt.Sprintf("must be %s, not %s", jsonType(typeErr.Type), describeValue(typeErr.Value))}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		// encoding/json reports it with fmt.Errorf, and without the path.
		return &Error{Kind: KindUnknownField, Reason: strings.TrimPrefix(err.Error(), "json: ")}
	case errors.As(err, &syntaxErr):
		// The scanner refuses whatever encoding/json refuses, before it does; kept so
		// that a disagreement still reads as a refusal of the text.
		return &Error{Kind: KindSyntax, Offset: syntaxErr.Offset, Reason: strings.TrimPrefix(syntaxErr.Error(), "json: ")}
	}
	return err
}

// Finish reads r to its end, which may hold only whitespace after the value, and
// returns the first fault.
func (r *Reader) Finish() error {
	var buf [512]byte
	for r.err == nil {
		_, err := r.Read(buf[:])
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return r.err
}

// jsonType names the JSON a Go type wants.
func jsonType(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "true or false"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return fmt.Sprintf("an integer of at most %d bits", t.Bits())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return fmt.Sprintf("a non-negative integer of at most %d bits", t.Bits())
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array"
	case reflect.Struct, reflect.Map:
		return "an object"
	}
	return "a " + t.String()
}

// describeValue words encoding/json's description of the value it could not store
// ("number 1e400", "string", "array").
func describeValue(v string) string {
	switch v {
	case "array", "object":
		return "an " + v
	case "bool":
		return "true or false"
	}
	if n, ok := strings.CutPrefix(v, "number "); ok {
		return "the number " + n
	}
	return "a " + v
}

// The scanner's states: where in the grammar the next byte falls.
type state uint8

const (
	stValue        state = iota // a value must come
	stValueOrClose              // after '[': a value or ']'
	stKeyOrClose                // after '{': a key or '}'
	stKey                       // after ',' in an object: a key
	stColon                     // after a key
	stAfter                     // after a value in an object or array: ',' or its end
	stEnd                       // after the top-level value: whitespace only
	stString                    // in a string
	stEscape                    // after a backslash in a string
	stHex                       // in the four digits of a \u escape
	stLowBackslash              // after \ud800-\udbff: its second half must follow, '\' …
	stLowU                      // … then 'u'
	stUTF8                      // in a multi-byte UTF-8 sequence
	stLiteral                   // in true, false or null
	stNeg                       // after '-'
	stZero                      // after a leading '0'
	stInt                       // in the integer digits
	stDot                       // after '.'
	stFrac                      // in the fraction digits
	stExpMark                   // after 'e'
	stExpSign                   // after 'e+' or 'e-'
	stExp                       // in the exponent digits
)

// frame is one open object or array.
type frame struct {
	object bool
	n      int    // an array's elements before the current one; an object's members
	key    string // an object's current member, once its key is read
	hasKey bool
	seen   map[string]struct{} // an object's keys, folded
}

type scanner struct {
	opts    Options
	st      state
	off     int64 // bytes scanned
	stack   []frame
	started bool // a value has begun

	inKey  bool
	key    []byte // the key being read, decoded
	tokLen int    // bytes of the current string or number
	hex    rune   // the \u escape's value so far
	hexN   int
	escOff int64             // where the current escape began
	high   rune              // the first half of a surrogate pair, waiting for its second
	highAt int64             // … and where it began
	u8     [utf8.UTFMax]byte // a UTF-8 sequence split between two reads
	u8n    int
	u8need int
	u8lo   byte // the range of its next byte
	u8hi   byte
	lit    string // the rest of the literal expected
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// scan checks p, which follows what was scanned before, and moves what it keeps of it to
// its front: all but the whitespace outside strings, which JSON ignores and json.Decoder
// would otherwise buffer whole while it looks for the next token (a body padded with
// gigabytes of spaces took that much memory). It returns the length kept and, on a
// fault, the *Error (what is kept then ends before the fault).
func (s *scanner) scan(p []byte) (int, error) {
	w := 0
	for i := 0; i < len(p); {
		n := 0
		var err error
		switch s.st {
		case stString:
			n, err = s.stringRun(p[i:])
		case stInt, stFrac, stExp:
			n, err = s.digitRun(p[i:])
		case stValue, stValueOrClose, stKeyOrClose, stKey, stColon, stAfter, stEnd:
			// Whitespace between tokens changes no state: skipped in one go.
			j := i
			for j < len(p) && isSpace(p[j]) {
				j++
			}
			s.off += int64(j - i)
			if i = j; i == len(p) {
				return w, nil
			}
		}
		if err != nil {
			return w, err
		}
		if n == 0 {
			c := p[i]
			drop := isSpace(c) && s.outsideString()
			if err := s.step(c); err != nil {
				return w, err
			}
			if n = 1; drop {
				i++
				s.off++
				continue
			}
		}
		w += copy(p[w:], p[i:i+n])
		i += n
		s.off += int64(n)
	}
	return w, nil
}

// outsideString reports whether the scanner is between tokens or in a number or a
// literal, where whitespace is not part of the value.
func (s *scanner) outsideString() bool {
	switch s.st {
	case stString, stEscape, stHex, stLowBackslash, stLowU, stUTF8:
		return false
	}
	return true
}

// digitRun is the fast path through a number's digits (0: leave the byte to step).
func (s *scanner) digitRun(p []byte) (int, error) {
	n := 0
	for n < len(p) && p[n] >= '0' && p[n] <= '9' {
		n++
	}
	if lim := s.opts.MaxTokenBytes; lim > 0 {
		n = min(n, max(lim-s.tokLen, 0))
	}
	s.tokLen += n
	return n, nil
}

// stringRun is the fast path through a string: it takes a run of plain ASCII, or one
// whole UTF-8 sequence, and returns how many bytes it took (0: leave the byte to step).
func (s *scanner) stringRun(p []byte) (int, error) {
	n := s.plainRun(p)
	if lim := s.opts.MaxTokenBytes; lim > 0 {
		n = min(n, max(lim-s.tokLen, 0)) // the byte over the limit is step's, to report
	}
	if n > 0 {
		s.tokLen += n
	} else if p[0] >= utf8.RuneSelf && utf8.FullRune(p) {
		r, size := utf8.DecodeRune(p)
		if r == utf8.RuneError && size == 1 {
			return 0, s.fail(KindEncoding, "holds bytes that are not valid UTF-8")
		}
		if err := s.grow(size); err != nil {
			return 0, err
		}
		n = size
	}
	if s.inKey {
		s.key = append(s.key, p[:n]...)
	}
	return n, nil
}

// plainRun counts the leading bytes of p that a string holds as they are: printable
// ASCII other than the quote and the backslash.
func (s *scanner) plainRun(p []byte) int {
	n := 0
	for n < len(p) {
		c := p[n]
		if c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' {
			break
		}
		n++
	}
	return n
}

// grow counts n more bytes of the current string or number against MaxTokenBytes.
func (s *scanner) grow(n int) error {
	s.tokLen += n
	if s.opts.MaxTokenBytes > 0 && s.tokLen > s.opts.MaxTokenBytes {
		what := "is longer than %d bytes" // "an object key" comes first for keys: see fail
		if s.st >= stNeg {
			what = "is a number longer than %d bytes"
		}
		return s.fail(KindLimit, fmt.Sprintf(what, s.opts.MaxTokenBytes))
	}
	return nil
}

// step moves the scanner over one byte.
func (s *scanner) step(c byte) error {
	for {
		switch s.st {
		case stValue, stValueOrClose:
			if isSpace(c) {
				return nil
			}
			if s.st == stValueOrClose && c == ']' {
				return s.close()
			}
			return s.beginValue(c)
		case stKeyOrClose, stKey:
			switch {
			case isSpace(c):
				return nil
			case c == '"':
				s.beginString(true)
				return nil
			case c == '}' && s.st == stKeyOrClose:
				return s.close()
			}
			return s.fail(KindSyntax, fmt.Sprintf("expected a key (a string in double quotes), found %s", quoteByte(c)))
		case stColon:
			switch {
			case isSpace(c):
				return nil
			case c == ':':
				s.st = stValue
				return nil
			}
			return s.fail(KindSyntax, fmt.Sprintf("expected ':' after the key, found %s", quoteByte(c)))
		case stAfter:
			return s.afterValue(c)
		case stEnd:
			if isSpace(c) {
				return nil
			}
			return s.fail(KindTrailing, fmt.Sprintf("%s follows the JSON value: a body holds one value only", quoteByte(c)))
		case stString:
			return s.stringByte(c)
		case stEscape:
			return s.escape(c)
		case stHex:
			return s.hexDigit(c)
		case stLowBackslash, stLowU:
			want := byte('\\')
			if s.st == stLowU {
				want = 'u'
			}
			if c != want {
				return s.loneHigh()
			}
			if s.st == stLowBackslash {
				s.st = stLowU
			} else {
				s.st, s.hex, s.hexN = stHex, 0, 0
			}
			return nil
		case stUTF8:
			return s.utf8Byte(c)
		case stLiteral:
			if c != s.lit[0] {
				return s.fail(KindSyntax, fmt.Sprintf("found %s in a literal: the only words JSON knows are true, false and null", quoteByte(c)))
			}
			if s.lit = s.lit[1:]; s.lit == "" {
				s.endValue()
			}
			return nil
		default:
			again, err := s.number(c)
			if err != nil || !again {
				return err
			}
			// The byte ended the number: it belongs to what follows.
		}
	}
}

func (s *scanner) beginValue(c byte) error {
	s.started = true
	switch {
	case c == '{' || c == '[':
		if len(s.stack) >= s.opts.MaxDepth {
			return s.fail(KindLimit, fmt.Sprintf("objects and arrays are nested deeper than %d levels", s.opts.MaxDepth))
		}
		s.stack = append(s.stack, frame{object: c == '{'})
		s.st = stValueOrClose
		if c == '{' {
			s.st = stKeyOrClose
		}
	case c == '"':
		s.beginString(false)
	case c == '-':
		s.st, s.tokLen = stNeg, 1
	case c == '0':
		s.st, s.tokLen = stZero, 1
	case c >= '1' && c <= '9':
		s.st, s.tokLen = stInt, 1
	case c == 't':
		s.st, s.lit = stLiteral, "rue"
	case c == 'f':
		s.st, s.lit = stLiteral, "alse"
	case c == 'n':
		s.st, s.lit = stLiteral, "ull"
	default:
		return s.fail(KindSyntax, fmt.Sprintf("expected a value, found %s", quoteByte(c)))
	}
	return nil
}

func (s *scanner) beginString(key bool) {
	s.st, s.inKey, s.tokLen = stString, key, 0
	if key {
		s.key = s.key[:0]
		top := &s.stack[len(s.stack)-1]
		top.hasKey = false
	}
}

// endValue moves past a complete value.
func (s *scanner) endValue() {
	if len(s.stack) == 0 {
		s.st = stEnd
		return
	}
	s.st = stAfter
}

// close ends the innermost object or array.
func (s *scanner) close() error {
	s.stack = s.stack[:len(s.stack)-1]
	s.endValue()
	return nil
}

func (s *scanner) afterValue(c byte) error {
	top := &s.stack[len(s.stack)-1]
	switch {
	case isSpace(c):
		return nil
	case c == ',':
		if top.object {
			s.st, top.hasKey = stKey, false
		} else {
			top.n++
			s.st = stValue
		}
		return nil
	case c == '}' && top.object, c == ']' && !top.object:
		return s.close()
	}
	if top.object {
		return s.fail(KindSyntax, fmt.Sprintf("expected ',' or '}' after the member, found %s", quoteByte(c)))
	}
	return s.fail(KindSyntax, fmt.Sprintf("expected ',' or ']' after the element, found %s", quoteByte(c)))
}

func (s *scanner) stringByte(c byte) error {
	switch {
	case c == '"':
		return s.endString()
	case c == '\\':
		s.st, s.escOff = stEscape, s.off
	case c < 0x20:
		return s.fail(KindSyntax, fmt.Sprintf("holds the control character 0x%02x, which JSON strings must escape", c))
	case c < utf8.RuneSelf:
		s.appendKey(rune(c))
	default:
		// A sequence split between two reads: its bytes are checked one by one against
		// the ranges of RFC 3629, which leave out overlong forms, encoded surrogates and
		// values past U+10FFFF, as utf8.DecodeRune does on the fast path.
		s.u8need, s.u8lo, s.u8hi = 0, 0x80, 0xbf
		switch {
		case c >= 0xc2 && c <= 0xdf:
			s.u8need = 2
		case c == 0xe0:
			s.u8need, s.u8lo = 3, 0xa0
		case c == 0xed:
			s.u8need, s.u8hi = 3, 0x9f
		case c >= 0xe1 && c <= 0xef:
			s.u8need = 3
		case c == 0xf0:
			s.u8need, s.u8lo = 4, 0x90
		case c == 0xf4:
			s.u8need, s.u8hi = 4, 0x8f
		case c >= 0xf1 && c <= 0xf3:
			s.u8need = 4
		default:
			return s.fail(KindEncoding, "holds bytes that are not valid UTF-8")
		}
		s.u8[0], s.u8n, s.st = c, 1, stUTF8
		return nil // counted whole, once complete
	}
	return s.grow(1)
}

// utf8Byte takes a continuation byte of a sequence split between two reads.
func (s *scanner) utf8Byte(c byte) error {
	lead := s.off - int64(s.u8n)
	if c < s.u8lo || c > s.u8hi {
		return s.failAt(lead, KindEncoding, "holds bytes that are not valid UTF-8")
	}
	s.u8[s.u8n] = c
	s.u8n++
	s.u8lo, s.u8hi = 0x80, 0xbf
	if s.u8n < s.u8need {
		return nil
	}
	r, _ := utf8.DecodeRune(s.u8[:s.u8n])
	s.appendKey(r)
	s.st = stString
	// Counted at the sequence's first byte, as on the fast path.
	if s.opts.MaxTokenBytes > 0 && s.tokLen+s.u8n > s.opts.MaxTokenBytes {
		return s.failAt(lead, KindLimit, fmt.Sprintf("is longer than %d bytes", s.opts.MaxTokenBytes))
	}
	s.tokLen += s.u8n
	return nil
}

func (s *scanner) endString() error {
	if !s.inKey {
		s.endValue()
		return nil
	}
	top := &s.stack[len(s.stack)-1]
	key := string(s.key)
	folded := fold(key)
	s.inKey = false
	if _, dup := top.seen[folded]; dup {
		top.key, top.hasKey = key, true
		return s.fail(KindDuplicate, "appears twice in its object (keys are matched case-insensitively)")
	}
	if top.n++; top.n > s.opts.MaxMembers {
		return s.fail(KindLimit, fmt.Sprintf("the object has more than %d members", s.opts.MaxMembers))
	}
	if top.seen == nil {
		top.seen = map[string]struct{}{}
	}
	top.seen[folded] = struct{}{}
	top.key, top.hasKey = key, true
	s.st = stColon
	return nil
}

func (s *scanner) escape(c byte) error {
	var r rune
	switch c {
	case '"', '\\', '/':
		r = rune(c)
	case 'b':
		r = '\b'
	case 'f':
		r = '\f'
	case 'n':
		r = '\n'
	case 'r':
		r = '\r'
	case 't':
		r = '\t'
	case 'u':
		s.st, s.hex, s.hexN = stHex, 0, 0
		return s.grow(1)
	default:
		return s.fail(KindSyntax, fmt.Sprintf("holds the escape \\%c, which JSON does not know", c))
	}
	s.appendKey(r)
	s.st = stString
	return s.grow(1)
}

func (s *scanner) hexDigit(c byte) error {
	var d rune
	switch {
	case c >= '0' && c <= '9':
		d = rune(c - '0')
	case c >= 'a' && c <= 'f':
		d = rune(c-'a') + 10
	case c >= 'A' && c <= 'F':
		d = rune(c-'A') + 10
	default:
		return s.fail(KindSyntax, fmt.Sprintf("holds a \\u escape without its four hex digits (found %s)", quoteByte(c)))
	}
	s.hex = s.hex<<4 | d
	if s.hexN++; s.hexN < 4 {
		return s.grow(1)
	}
	r := s.hex
	switch {
	case s.high != 0:
		if r < 0xdc00 || r > 0xdfff {
			return s.loneHigh()
		}
		s.appendKey(utf16Pair(s.high, r))
		s.high = 0
	case r >= 0xd800 && r <= 0xdbff:
		s.high, s.highAt = r, s.escOff
		s.st = stLowBackslash
		return s.grow(1)
	case r >= 0xdc00 && r <= 0xdfff:
		return s.failAt(s.escOff, KindEncoding, fmt.Sprintf("holds \\u%04x, the second half of a UTF-16 surrogate pair, without its first half", r))
	default:
		s.appendKey(r)
	}
	s.st = stString
	return s.grow(1)
}

func (s *scanner) loneHigh() error {
	return s.failAt(s.highAt, KindEncoding, fmt.Sprintf("holds \\u%04x, the first half of a UTF-16 surrogate pair, without its second half", s.high))
}

func utf16Pair(high, low rune) rune { return (high-0xd800)<<10 | (low - 0xdc00) + 0x10000 }

// number moves over one byte of a number; again reports that c ended it and must be
// scanned as what follows.
func (s *scanner) number(c byte) (again bool, err error) {
	digit := c >= '0' && c <= '9'
	next := s.st
	switch s.st {
	case stNeg:
		switch {
		case c == '0':
			next = stZero
		case digit:
			next = stInt
		default:
			return false, s.fail(KindSyntax, fmt.Sprintf("a '-' must be followed by digits, found %s", quoteByte(c)))
		}
	case stZero, stInt:
		switch {
		case digit && s.st == stZero:
			return false, s.fail(KindSyntax, "a number may not start with 0 followed by digits")
		case digit:
		case c == '.':
			next = stDot
		case c == 'e' || c == 'E':
			next = stExpMark
		default:
			s.endValue()
			return true, nil
		}
	case stDot:
		if !digit {
			return false, s.fail(KindSyntax, fmt.Sprintf("expected a digit after the decimal point, found %s", quoteByte(c)))
		}
		next = stFrac
	case stFrac, stExp:
		switch {
		case digit:
		case (c == 'e' || c == 'E') && s.st == stFrac:
			next = stExpMark
		default:
			s.endValue()
			return true, nil
		}
	case stExpMark:
		switch {
		case c == '+' || c == '-':
			next = stExpSign
		case digit:
			next = stExp
		default:
			return false, s.fail(KindSyntax, fmt.Sprintf("expected the exponent's digits, found %s", quoteByte(c)))
		}
	case stExpSign:
		if !digit {
			return false, s.fail(KindSyntax, fmt.Sprintf("expected the exponent's digits, found %s", quoteByte(c)))
		}
		next = stExp
	}
	s.st = next
	return false, s.grow(1)
}

// finish checks the end of the text.
func (s *scanner) finish() error {
	switch s.st {
	case stEnd:
		return nil
	case stZero, stInt, stFrac, stExp:
		if len(s.stack) == 0 {
			s.endValue()
			return nil
		}
	case stValue:
		if !s.started {
			return s.fail(KindEmpty, "there is no JSON value")
		}
	}
	return s.fail(KindSyntax, "the JSON text ends in the middle of a value")
}

// appendKey adds a decoded character to the key being read.
func (s *scanner) appendKey(r rune) {
	if s.inKey {
		s.key = utf8.AppendRune(s.key, r)
	}
}

func (s *scanner) fail(kind Kind, reason string) error { return s.failAt(s.off, kind, reason) }

// failAt reports a fault found at byte off.
func (s *scanner) failAt(off int64, kind Kind, reason string) error {
	if s.inKey {
		reason = "an object key " + reason
	}
	return &Error{Kind: kind, Path: s.path(), Offset: off, Reason: reason}
}

// path renders the open frames: .key for an object's member, [i] for an array's element.
func (s *scanner) path() string {
	var b strings.Builder
	for _, f := range s.stack {
		switch {
		case !f.object:
			b.WriteString("[" + strconv.Itoa(f.n) + "]")
		case f.hasKey:
			writeKey(&b, f.key)
		}
	}
	return b.String()
}

// writeKey writes a key as a path element: plain names after a dot, anything else quoted
// in brackets, cut to 64 bytes.
func writeKey(b *strings.Builder, key string) {
	plain := key != "" && len(key) <= 64
	for i, r := range key {
		if !(r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && (r == '-' || r >= '0' && r <= '9')) {
			plain = false
			break
		}
	}
	if plain {
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(key)
		return
	}
	if len(key) > 64 {
		cut := 64
		for cut > 0 && !utf8.RuneStart(key[cut]) {
			cut--
		}
		key = key[:cut] + "…"
	}
	b.WriteString("[" + strconv.Quote(key) + "]")
}

// fold maps a key to the representative of the keys encoding/json takes for the same
// field: each character becomes the smallest of its simple case folding orbit (k, K and
// the Kelvin sign all become K).
func fold(key string) string {
	simple := true
	for i := 0; i < len(key); i++ {
		if c := key[i]; c >= utf8.RuneSelf || c >= 'a' && c <= 'z' {
			simple = false
			break
		}
	}
	if simple {
		return key
	}
	b := make([]byte, 0, len(key))
	for _, r := range key {
		m := r
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			m = min(m, f)
		}
		b = utf8.AppendRune(b, m)
	}
	return string(b)
}

func quoteByte(c byte) string {
	if c >= 0x20 && c < 0x7f {
		return strconv.QuoteRune(rune(c))
	}
	return fmt.Sprintf("the byte 0x%02x", c)
}
