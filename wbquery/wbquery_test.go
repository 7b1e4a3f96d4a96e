package wbquery

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/refstore/refstore"
)

func personColumn(name string) bool { _, ok := refstore.Person{}.Column(name); return ok }

const personColumns = "firstname, lastname and email"

func parse(t *testing.T, q string) *Expr {
	t.Helper()
	e, err := Parse(q, personColumn, personColumns)
	if err != nil {
		t.Fatalf("Parse(%q): %v", q, err)
	}
	return e
}

var people = []refstore.Person{
	{ID: 1, FirstName: "Anna", LastName: "Schmidt", Email: "anna@acme.example"},
	{ID: 2, FirstName: "Jean", LastName: "Dupont", Email: "jd@acme.example"},
	{ID: 3, FirstName: "Ola", LastName: "Nordmann", Email: ""},
}

func matching(e *Expr) []int64 {
	out := []int64{}
	for _, p := range people {
		if e == nil || e.Match(p) {
			out = append(out, p.ID)
		}
	}
	return out
}

func TestQueries(t *testing.T) {
	for _, tc := range []struct {
		q    string
		want []int64
	}{
		// What the C# connector sends, with and without search text.
		{`{firstname}.Contains("an") OR {lastname}.Contains("an")`, []int64{1, 2, 3}},
		{`{firstname}.Contains("") OR {lastname}.Contains("")`, []int64{1, 2, 3}},
		{`{firstname}.Contains("AN") OR {lastname}.Contains("AN")`, []int64{1, 2, 3}},
		{`{firstname}.Contains("ann")`, []int64{1}},
		{`{lastname}.Contains("mann")`, []int64{3}},
		{`{email}.Contains("@acme")`, []int64{1, 2}},
		{`{firstname}.Contains("a") AND {email}.Contains("acme")`, []int64{1, 2}},
		{`{firstname}.Contains("o") OR {firstname}.Contains("j") AND {lastname}.Contains("x")`, []int64{3}},
		{`({firstname}.Contains("o") OR {firstname}.Contains("j")) AND {lastname}.Contains("dup")`, []int64{2}},
		{`  { FirstName }.Contains( "jean" )  or {LASTNAME}.Contains("nord")`, []int64{2, 3}},
		{`{firstname}.Contains("a") && {lastname}.Contains("t") || {email}.Contains("jd")`, []int64{1, 2}},
		{`{firstname}.Contains("Sa\"y") OR {lastname}.Contains("a\\b")`, []int64{}},
		{``, []int64{1, 2, 3}},
		{`   `, []int64{1, 2, 3}},
	} {
		if got := matching(parse(t, tc.q)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: matched %v, want %v", tc.q, got, tc.want)
		}
	}
}

// Anything beyond the subset is a 400 naming the query and saying what is understood.
func TestQueriesRefused(t *testing.T) {
	for _, q := range []string{
		`{jobid} > 1000`,
		`{firstname} = "Anna"`,
		`{firstname}.StartsWith("A")`,
		`{personid}.Contains("1")`,
		`{dtstart} > DateTime(2018, 10, 10)`,
		`{firstname}.Contains('a')`,
		`{firstname}.Contains("a"`,
		`{firstname}.Contains("a) OR {lastname}.Contains("b")`,
		`{firstname.Contains("a")`,
		`({firstname}.Contains("a")`,
		`{firstname}.Contains("a") OR`,
		`{firstname}.Contains("a") XOR {lastname}.Contains("b")`,
		`{firstname}.Contains("a") ORDER`,
		`NOT {firstname}.Contains("a")`,
		strings.Repeat("(", 40) + `{firstname}.Contains("a")` + strings.Repeat(")", 40),
		`{firstname}.Contains("` + strings.Repeat("x", MaxLength) + `")`,
		"{firstname}.Contains(\"\xff\")",
	} {
		_, err := Parse(q, personColumn, personColumns)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", refstore.Excerpt(q, 60))
			continue
		}
		var e *refstore.Error
		if !errors.As(err, &e) || e.Code != refstore.CodeInvalidParameter || e.Param != "query" ||
			!strings.Contains(e.Message, "refstore understands {column}.Contains(\"text\") on the columns firstname, lastname and email") {
			t.Errorf("Parse(%q) = %v", refstore.Excerpt(q, 60), err)
		}
	}
}

// Any text either parses or is a 400 naming the query: never a panic, never another error.
func FuzzParse(f *testing.F) {
	f.Add(`{firstname}.Contains("an") OR {lastname}.Contains("an")`)
	f.Add(`(({email}.Contains("\"")) AND {firstname}.Contains("\\"))`)
	f.Add(`{`)
	f.Add(`{firstname}.Contains("`)
	f.Fuzz(func(t *testing.T, q string) {
		e, err := Parse(q, personColumn, personColumns)
		if err != nil {
			var re *refstore.Error
			if !errors.As(err, &re) || re.Code != refstore.CodeInvalidParameter || re.Param != "query" {
				t.Fatalf("Parse(%q) = %v", q, err)
			}
			return
		}
		matching(e)
	})
}
