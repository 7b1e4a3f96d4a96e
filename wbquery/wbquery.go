// Package wbquery reads the part of Wordbee's list query language that connectors send to
// the lists refstore serves: {column}.Contains("text") tests joined with AND, OR and
// parentheses, as in the C# connector's user search
//
//	{firstname}.Contains("an") OR {lastname}.Contains("an")
//
// Anything else Wordbee's language has (comparisons, dates, other methods) is refused with
// an error that says what is understood: a list must never answer a filter it did not
// apply.
package wbquery

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/refstore/refstore"
)

// Limits of a query: connectors send one short line.
const (
	MaxLength = 4096 // bytes
	maxDepth  = 32   // nested parentheses
)

// Expr is a parsed query. It implements refstore.Filter.
type Expr struct{ root node }

// Match reports whether a row passes the query.
func (e *Expr) Match(r refstore.Row) bool { return e.root.match(r) }

type node interface{ match(refstore.Row) bool }

type or []node

func (n or) match(r refstore.Row) bool {
	for _, c := range n {
		if c.match(r) {
			return true
		}
	}
	return false
}

type and []node

func (n and) match(r refstore.Row) bool {
	for _, c := range n {
		if !c.match(r) {
			return false
		}
	}
	return true
}

// contains tests a column for a text, ignoring case: Wordbee's queries run on SQL Server,
// whose default collation compares text without regard to case, and a user typing "an"
// into a search box expects "Anna".
type contains struct {
	column string
	text   string // lower case
}

func (n contains) match(r refstore.Row) bool {
	v, _ := r.Column(n.column)
	return strings.Contains(strings.ToLower(v), n.text)
}

// Parse reads a query whose columns are those of the list (column reports whether a
// lower-case column id is one). An empty query selects every row (nil). Errors are
// refstore.CodeInvalidParameter naming "query".
func Parse(q string, column func(name string) bool, columns string) (*Expr, error) {
	if strings.TrimSpace(q) == "" {
		return nil, nil
	}
	p := &parser{src: q, column: column, columns: columns}
	if len(q) > MaxLength {
		return nil, p.fail(0, "longer than %d bytes", MaxLength)
	}
	if !utf8.ValidString(q) {
		return nil, p.fail(0, "not valid UTF-8")
	}
	n, err := p.or(0)
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.pos < len(p.src) {
		return nil, p.unexpected("AND, OR or the end of the query")
	}
	return &Expr{root: n}, nil
}

type parser struct {
	src     string
	pos     int
	column  func(string) bool
	columns string // the list's columns, for messages
}

func (p *parser) or(depth int) (node, error) {
	var terms or
	for {
		n, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, n)
		if !p.keyword("OR", "||") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *parser) and(depth int) (node, error) {
	var terms and
	for {
		n, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		terms = append(terms, n)
		if !p.keyword("AND", "&&") {
			break
		}
	}
	if len(terms) == 1 {
		return terms[0], nil
	}
	return terms, nil
}

func (p *parser) unary(depth int) (node, error) {
	p.skipSpace()
	if p.peek() == '(' {
		if depth >= maxDepth {
			return nil, p.fail(p.pos, "parentheses nested deeper than %d", maxDepth)
		}
		p.pos++
		n, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		if p.skipSpace(); p.peek() != ')' {
			return nil, p.unexpected("')'")
		}
		p.pos++
		return n, nil
	}
	return p.call()
}

// call reads {column}.Contains("text").
func (p *parser) call() (node, error) {
	if p.peek() != '{' {
		return nil, p.unexpected(`{column}.Contains("text") or '('`)
	}
	start := p.pos
	end := strings.IndexByte(p.src[p.pos:], '}')
	if end < 0 {
		return nil, p.fail(start, "a '{' without its '}'")
	}
	name := strings.ToLower(strings.TrimSpace(p.src[p.pos+1 : p.pos+end]))
	if !p.column(name) {
		return nil, p.fail(start, "no column {%s} in this list", refstore.Excerpt(name, 40))
	}
	p.pos += end + 1
	if !strings.HasPrefix(p.src[p.pos:], ".Contains(") {
		return nil, p.unexpected(`.Contains("text") after {` + name + `}`)
	}
	p.pos += len(".Contains(")
	p.skipSpace()
	text, err := p.str()
	if err != nil {
		return nil, err
	}
	if p.skipSpace(); p.peek() != ')' {
		return nil, p.unexpected("')' after the text of Contains")
	}
	p.pos++
	return contains{column: name, text: strings.ToLower(text)}, nil
}

// str reads a double-quoted text; \" and \\ stand for " and \, any other backslash for
// itself.
func (p *parser) str() (string, error) {
	if p.peek() != '"' {
		return "", p.unexpected(`a text in double quotes`)
	}
	start := p.pos
	p.pos++
	var b strings.Builder
	for p.pos < len(p.src) {
		c := p.src[p.pos]
		switch {
		case c == '"':
			p.pos++
			return b.String(), nil
		case c == '\\' && p.pos+1 < len(p.src) && (p.src[p.pos+1] == '"' || p.src[p.pos+1] == '\\'):
			b.WriteByte(p.src[p.pos+1])
			p.pos += 2
		default:
			b.WriteByte(c)
			p.pos++
		}
	}
	return "", p.fail(start, "a text without its closing '\"'")
}

// keyword consumes one of the words (case-insensitive, standing alone) or symbols.
func (p *parser) keyword(word, symbol string) bool {
	p.skipSpace()
	rest := p.src[p.pos:]
	if strings.HasPrefix(rest, symbol) {
		p.pos += len(symbol)
		return true
	}
	if len(rest) >= len(word) && strings.EqualFold(rest[:len(word)], word) {
		if after, _ := utf8.DecodeRuneInString(rest[len(word):]); len(rest) == len(word) ||
			!(unicode.IsLetter(after) || unicode.IsDigit(after) || after == '_') {
			p.pos += len(word)
			return true
		}
	}
	return false
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) {
		r, n := utf8.DecodeRuneInString(p.src[p.pos:])
		if !unicode.IsSpace(r) {
			return
		}
		p.pos += n
	}
}

func (p *parser) peek() byte {
	if p.pos < len(p.src) {
		return p.src[p.pos]
	}
	return 0
}

func (p *parser) unexpected(want string) error {
	if p.pos >= len(p.src) {
		return p.fail(p.pos, "the end of the query where %s should follow", want)
	}
	return p.fail(p.pos, "%q where %s should follow", refstore.Excerpt(p.src[p.pos:], 20), want)
}

// fail names what refstore understands, so that a connector author sees at once why a
// query of the full language is refused.
func (p *parser) fail(at int, format string, args ...any) error {
	return refstore.InvalidParam("query", "%s at character %d; refstore understands {column}.Contains(\"text\") "+
		"on the columns %s, joined with AND, OR and parentheses", fmt.Sprintf(format, args...), at+1, p.columns)
}
