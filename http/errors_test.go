package http

import (
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"regexp"
	"strconv"
	"testing"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/service"
)

// declaredCodes reads the error codes declared in the Go files given: every constant of
// type Code (the domain's, in package refstore) or refstore.Code (this package's), by value.
func declaredCodes(t *testing.T, files ...string) map[refstore.Code]string {
	t.Helper()
	codes := map[refstore.Code]string{}
	fset := token.NewFileSet()
	for _, file := range files {
		f, err := parser.ParseFile(fset, file, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			spec, ok := n.(*ast.ValueSpec)
			if !ok || spec.Type == nil || len(spec.Values) != len(spec.Names) {
				return true
			}
			switch ty := spec.Type.(type) {
			case *ast.Ident:
				if ty.Name != "Code" {
					return true
				}
			case *ast.SelectorExpr:
				if ty.Sel.Name != "Code" {
					return true
				}
			default:
				return true
			}
			for i, name := range spec.Names {
				lit, ok := spec.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					t.Fatalf("%s: the code %s is not a string literal", file, name.Name)
				}
				v, _ := strconv.Unquote(lit.Value)
				codes[refstore.Code(v)] = name.Name
			}
			return true
		})
	}
	return codes
}

// documentedStatuses reads the table of error codes of docs/api.md: code → status.
func documentedStatuses(t *testing.T) map[refstore.Code]int {
	t.Helper()
	doc, err := os.ReadFile("../docs/api.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| ([0-9]{3}) \\|").FindAllSubmatch(doc, -1)
	out := map[refstore.Code]int{}
	for _, r := range rows {
		status, _ := strconv.Atoi(string(r[2]))
		out[refstore.Code(r[1])] = status
	}
	return out
}

// Every error code, the domain's and the HTTP layer's, maps to one status, the one
// docs/api.md gives it, and the documentation lists no other code: a code added without
// its status (which would answer 500) or its documentation fails here.
func TestEveryCodeHasItsStatus(t *testing.T) {
	declared := declaredCodes(t, "../error.go", "errors.go")
	if len(declared) < 15 {
		t.Fatalf("found only %d error codes: %v", len(declared), declared)
	}
	documented := documentedStatuses(t)
	for code, name := range declared {
		status, ok := statusOf[code]
		if !ok {
			t.Errorf("%s (%q) has no HTTP status in statusOf", name, code)
			continue
		}
		if got := StatusOf(&refstore.Error{Code: code}); got != status {
			t.Errorf("StatusOf(%s) = %d, want %d", name, got, status)
		}
		if doc, ok := documented[code]; !ok {
			t.Errorf("%s (%q) is not in the table of docs/api.md", name, code)
		} else if doc != status {
			t.Errorf("%s (%q): docs/api.md says %d, the server answers %d", name, code, doc, status)
		}
	}
	for code := range statusOf {
		if _, ok := declared[code]; !ok {
			t.Errorf("statusOf maps %q, which no constant declares", code)
		}
	}
	for code := range documented {
		if _, ok := declared[code]; !ok {
			t.Errorf("docs/api.md lists %q, which no constant declares", code)
		}
	}
	// Anything that is not an *Error is internal.
	if got := StatusOf(errors.New("boom")); got != 500 {
		t.Errorf("StatusOf(a plain error) = %d, want 500", got)
	}
}

// The service is what the handlers call.
var _ Service = (*service.Service)(nil)
