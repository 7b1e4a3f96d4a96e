package e2e

import (
	"go/ast"
	"go/parser"
	"go/token"
	"slices"
	"strconv"
	"testing"
)

// mxPatterns are the router patterns (http/server.go) each row kind of the rights matrix
// exercises. HEAD is served by the GET patterns.
var mxPatterns = map[mxKind][]string{
	mxAttach:              {"POST /api/resources/assets/{segmentid}", "POST /api/apps/wbflex/documents/{id}/assets/{segmentid}"},
	mxGet:                 {"GET /api/resources/assets/{segmentid}", "GET /api/apps/wbflex/documents/{id}/assets/{segmentid}"},
	mxHead:                {"GET /api/resources/assets/{segmentid}", "GET /api/apps/wbflex/documents/{id}/assets/{segmentid}"},
	mxDeleteOne:           {"DELETE /api/resources/assets/{segmentid}", "DELETE /api/apps/wbflex/documents/{id}/assets/{segmentid}"},
	mxDeleteAll:           {"DELETE /api/resources/assets/{segmentid}", "DELETE /api/apps/wbflex/documents/{id}/assets/{segmentid}"},
	mxListOne:             {"GET /api/resources/assets/{segmentid}/list", "GET /api/apps/wbflex/documents/{id}/assets/{segmentid}/list"},
	mxListMany:            {"GET /api/resources/assets/list", "GET /api/apps/wbflex/documents/{id}/assets/list"},
	mxAssetID:             {"GET /api/assets/{assetId}/download"},
	mxMediaUpload:         {"POST /api/media/upload"},
	mxMediaGet:            {"GET /api/media/get/{token}"},
	mxLogout:              {"DELETE /api/auth/token"},
	mxLogoutAlias:         {"PUT /api/auth/token/invalidate"},
	mxAdminCatalog:        {"PUT /admin/v1/catalog"},
	mxAdminAccounts:       {"GET /admin/v1/accounts"},
	mxAdminAccount:        {"GET /admin/v1/accounts/{account}"},
	mxAdminDeleteAccount:  {"DELETE /admin/v1/accounts/{account}"},
	mxAdminDeleteEntry:    {"DELETE /admin/v1/accounts/{account}/{kind}/{id}"},
	mxAdminDeleteGrant:    {"DELETE /admin/v1/accounts/{account}/users/{userId}/grants/{target}"},
	mxAdminIssueKey:       {"POST /admin/v1/accounts/{account}/users/{userId}/keys"},
	mxAdminListKeys:       {"GET /admin/v1/accounts/{account}/users/{userId}/keys"},
	mxAdminRevokeKey:      {"DELETE /admin/v1/accounts/{account}/users/{userId}/keys/{keyId}"},
	mxAdminUsage:          {"GET /admin/v1/accounts/{account}/usage"},
	mxAdminAudit:          {"GET /admin/v1/audit"},
	mxAdminSweep:          {"POST /admin/v1/sweep"},
	mxAdminCreateWebhook:  {"POST /admin/v1/accounts/{account}/webhooks"},
	mxAdminListWebhooks:   {"GET /admin/v1/accounts/{account}/webhooks"},
	mxAdminDeleteWebhook:  {"DELETE /admin/v1/accounts/{account}/webhooks/{id}"},
	mxAdminListDeliveries: {"GET /admin/v1/accounts/{account}/webhooks/deliveries"},
	mxAdminReplayDelivery: {"POST /admin/v1/accounts/{account}/webhooks/deliveries/{id}/replay"},
	mxHealthz:             {"GET /healthz"},
	mxReadyz:              {"GET /readyz"},
	mxMetrics:             {"GET /metrics"},
	mxScopeRights:         {"GET /api/browse/scopes/{scope}"},
	mxPersons:             {"POST /api/persons/list"},
	mxFlexList:            {"POST /api/apps/wbflex/list"},
	mxFlexDocument:        {"GET /api/apps/wbflex/documents/{id}"},
	mxMemories:            {"GET /serve/api/v2/{asset_id}/download"},
}

// mxUncovered are the routes the matrix leaves out on purpose, and why.
var mxUncovered = map[string]string{
	"POST /api/auth/token": "login takes an API key in its body, not a token: every caller may try it (auth_test.go)",
	"/":                    "the catch-all that answers 404 or 405 to everything else (errors_test.go)",
	"GET /{$}":             "the web UI's page: public, static, no tenant data (ui_test.go)",
	"GET /ui/":             "the web UI's files: public, static, no tenant data (ui_test.go)",
	"/serve/api/v2/":       "the catch-all of memories.ai's paths: 404 or 405 in its envelope (connectors_test.go)",
	"/serve/api/v2":        "the same, for the prefix without its slash (connectors_test.go)",
}

// TestRightsMatrixCoversEveryRoute reads the routes refstore registers (http/server.go) and
// fails for any the rights matrix does not send, so that a new route cannot be added
// without its row in docs/authz-matrix.md.
func TestRightsMatrixCoversEveryRoute(t *testing.T) {
	registered := serverPatterns(t, "../http/server.go")
	if len(registered) < 20 {
		t.Fatalf("found only %d route patterns in http/server.go: %v", len(registered), registered)
	}
	covered := map[string]bool{}
	for _, rt := range mxRoutes {
		ps, ok := mxPatterns[rt.kind]
		if !ok {
			t.Errorf("matrix route %q has no entry in mxPatterns", rt.label)
		}
		for _, p := range ps {
			covered[p] = true
		}
	}
	for _, p := range registered {
		if !covered[p] && mxUncovered[p] == "" {
			t.Errorf("route %q is not in the rights matrix: add a row to mxRoutes (e2e/rights_test.go) and its "+
				"pattern to mxPatterns, then go test ./e2e -run TestRightsMatrix -update", p)
		}
	}
	for p := range covered {
		if !slices.Contains(registered, p) {
			t.Errorf("mxPatterns names %q, which http/server.go does not register", p)
		}
	}
}

// serverPatterns returns the patterns of the routes function: the first argument of every
// call to api, admin, mux.Handle and mux.HandleFunc, evaluated where it concatenates string
// literals and local variables holding them.
func serverPatterns(t *testing.T, file string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, d := range f.Decls {
		fn, ok := d.(*ast.FuncDecl)
		if !ok || fn.Name.Name != "routes" {
			continue
		}
		vars := map[string]string{}
		params := map[string]bool{} // parameters of the helper closures (api, admin)
		var eval func(e ast.Expr) (string, bool)
		eval = func(e ast.Expr) (string, bool) {
			switch e := e.(type) {
			case *ast.BasicLit:
				if e.Kind == token.STRING {
					s, err := strconv.Unquote(e.Value)
					return s, err == nil
				}
			case *ast.Ident:
				s, ok := vars[e.Name]
				return s, ok
			case *ast.BinaryExpr:
				if e.Op == token.ADD {
					a, ok1 := eval(e.X)
					b, ok2 := eval(e.Y)
					return a + b, ok1 && ok2
				}
			}
			return "", false
		}
		ast.Inspect(fn.Body, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncLit:
				for _, f := range n.Type.Params.List {
					for _, id := range f.Names {
						params[id.Name] = true
					}
				}
			case *ast.AssignStmt:
				if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
					if id, ok := n.Lhs[0].(*ast.Ident); ok {
						if s, ok := eval(n.Rhs[0]); ok {
							vars[id.Name] = s
						}
					}
				}
			case *ast.CallExpr:
				name := ""
				switch f := n.Fun.(type) {
				case *ast.Ident:
					name = f.Name
				case *ast.SelectorExpr:
					name = f.Sel.Name
				}
				if (name == "api" || name == "admin" || name == "Handle" || name == "HandleFunc") && len(n.Args) == 2 {
					if s, ok := eval(n.Args[0]); ok {
						out = append(out, s)
					} else if id, ok := n.Args[0].(*ast.Ident); ok && params[id.Name] {
						// the helper's own mux.Handle(pattern, …): its callers are counted
					} else {
						t.Errorf("http/server.go: cannot evaluate the pattern of a %s call", name)
					}
				}
			}
			return true
		})
	}
	return out
}
