package e2e

import (
	"bytes"
	"cmp"
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/refstore/refstore/wire"
)

// TestRightsMatrix sends every route — /api in every scope form, the admin API, health and
// metrics — as every kind of caller, and checks each status against an expectation derived
// from a small rule table: the right each route needs (mxRoutes) and SPEC §2's order of
// checks (authentication 401, unknown scope 404, missing right 403, segment outside the
// scope 404), evaluated on a model of the catalog the tenants were loaded with. It also
// checks that a refused write changed nothing, and compares the whole matrix, as a Markdown
// table, with docs/authz-matrix.md (go test ./e2e -run TestRightsMatrix -update rewrites it).
func TestRightsMatrix(t *testing.T) {
	forEachBackend(t, func(t *testing.T, c *cluster) {
		mx := newRightsMatrix(t, c)
		mx.run()
	})
}

var updateGolden = flag.Bool("update", false, "rewrite docs/authz-matrix.md from TestRightsMatrix")

// mxGolden is the published matrix, relative to this package.
const mxGolden = "../docs/authz-matrix.md"

// Segments and the document the matrix adds to the fixture: docD is a second document of
// the Codyt project, outside codytJob, so that job scopes of both kinds have a segment of
// their own project outside their documents.
const (
	mxDocD  = 19701
	mxSegD1 = 27671001
)

// mxExtension extends the fixture catalog of tenant A: docD, and read / upload / delete
// users with the same project grants on the Codyt project as on project 7214.
func mxExtension(account string) map[string]any {
	return map[string]any{"accounts": []map[string]any{{
		"id": account,
		"projects": []map[string]any{{"id": otherProject, "documents": []map[string]any{
			{"id": mxDocD, "segments": []int64{mxSegD1}},
		}}},
		"grants": []map[string]any{
			{"userId": 2, "projectId": otherProject, "rights": []string{"read"}},
			{"userId": 3, "projectId": otherProject, "rights": []string{"read", "upload"}},
			{"userId": 7, "projectId": otherProject, "rights": []string{"read", "delete"}},
		},
	}}}
}

// ---- the model of a catalog -------------------------------------------------------

type mxRight uint8

const (
	mxRead mxRight = 1 << iota
	mxUpload
	mxDelete
)

func (r mxRight) has(want mxRight) bool { return r&want == want }

type mxJobKey struct {
	codyt bool
	id    int64
}

type mxJob struct {
	project int64
	docs    []int64
}

// mxModel is what the test knows of one tenant's catalog, read from the very JSON the
// tenant was loaded with.
type mxModel struct {
	projects      map[int64]bool
	docProject    map[int64]int64
	segDoc        map[int64]int64
	jobs          map[mxJobKey]mxJob
	projectGrants map[int64]map[int64]mxRight // user → project → rights
	jobGrants     map[int64]map[mxJobKey]mxRight
}

func newMxModel(t testing.TB, catalogs ...map[string]any) *mxModel {
	t.Helper()
	m := &mxModel{projects: map[int64]bool{}, docProject: map[int64]int64{}, segDoc: map[int64]int64{},
		jobs: map[mxJobKey]mxJob{}, projectGrants: map[int64]map[int64]mxRight{}, jobGrants: map[int64]map[mxJobKey]mxRight{}}
	for _, cat := range catalogs {
		raw, err := json.Marshal(cat)
		if err != nil {
			t.Fatal(err)
		}
		var parsed struct {
			Accounts []struct {
				Projects []struct {
					ID        int64 `json:"id"`
					Documents []struct {
						ID       int64   `json:"id"`
						Segments []int64 `json:"segments"`
					} `json:"documents"`
				} `json:"projects"`
				Jobs []struct {
					ID          int64   `json:"id"`
					Codyt       bool    `json:"codyt"`
					ProjectID   int64   `json:"projectId"`
					DocumentIDs []int64 `json:"documentIds"`
				} `json:"jobs"`
				Grants []struct {
					UserID    int64    `json:"userId"`
					ProjectID int64    `json:"projectId"`
					JobID     int64    `json:"jobId"`
					Codyt     bool     `json:"codyt"`
					Rights    []string `json:"rights"`
				} `json:"grants"`
			} `json:"accounts"`
		}
		if err := json.Unmarshal(raw, &parsed); err != nil {
			t.Fatal(err)
		}
		for _, a := range parsed.Accounts {
			for _, p := range a.Projects {
				m.projects[p.ID] = true
				for _, d := range p.Documents {
					m.docProject[d.ID] = p.ID
					for _, s := range d.Segments {
						m.segDoc[s] = d.ID
					}
				}
			}
			for _, j := range a.Jobs {
				m.jobs[mxJobKey{j.Codyt, j.ID}] = mxJob{project: j.ProjectID, docs: j.DocumentIDs}
			}
			for _, g := range a.Grants {
				var r mxRight
				for _, name := range g.Rights {
					r |= map[string]mxRight{"read": mxRead, "upload": mxUpload, "delete": mxDelete}[name]
				}
				if g.ProjectID > 0 {
					if m.projectGrants[g.UserID] == nil {
						m.projectGrants[g.UserID] = map[int64]mxRight{}
					}
					m.projectGrants[g.UserID][g.ProjectID] = r // an upsert replaces the rights
				} else {
					if m.jobGrants[g.UserID] == nil {
						m.jobGrants[g.UserID] = map[mxJobKey]mxRight{}
					}
					m.jobGrants[g.UserID][mxJobKey{g.Codyt, g.JobID}] = r
				}
			}
		}
	}
	return m
}

// docRights are a user's rights on a document: the project grant together with the
// grants of every job covering the document (Flex routes, download by asset id).
func (m *mxModel) docRights(user, doc int64) mxRight {
	r := m.projectGrants[user][m.docProject[doc]]
	for k, j := range m.jobs {
		if slices.Contains(j.docs, doc) {
			r |= m.jobGrants[user][k]
		}
	}
	return r
}

// documents lists the documents of the catalog, by id.
func (m *mxModel) documents() []int64 {
	return slices.Sorted(maps.Keys(m.docProject))
}

// access resolves a scope as SPEC §1 describes it: whether it exists, its project, the
// documents it is limited to (nil: the whole project) and the caller's rights in it.
func (m *mxModel) access(user int64, s *mxScope) (ok bool, project int64, docs []int64, r mxRight) {
	switch s.kind {
	case mxProjectScope:
		return m.projects[s.id], s.id, nil, m.projectGrants[user][s.id]
	case mxJobScope:
		k := mxJobKey{s.codyt, s.id}
		j, ok := m.jobs[k]
		if !ok {
			return false, 0, nil, 0
		}
		return true, j.project, j.docs, m.projectGrants[user][j.project] | m.jobGrants[user][k]
	default: // a Flex document
		p, ok := m.docProject[s.id]
		if !ok {
			return false, 0, nil, 0
		}
		return true, p, []int64{s.id}, m.docRights(user, s.id)
	}
}

func (m *mxModel) inScope(project int64, docs []int64, seg int64) bool {
	doc, ok := m.segDoc[seg]
	return ok && m.docProject[doc] == project && (docs == nil || slices.Contains(docs, doc))
}

// ---- rows: routes × scopes ----------------------------------------------------------

type mxScopeKind int

const (
	mxProjectScope mxScopeKind = iota
	mxJobScope
	mxDocScope
)

// mxScope is one way of naming the data a route reaches, with the two segments the
// matrix targets: in lies inside the scope's job documents, out in the same project but
// outside them. jobUser is the user whose job grant covers in.
type mxScope struct {
	label   string
	kind    mxScopeKind
	id      int64
	codyt   bool
	flex    bool
	in, out int64
	jobUser string
}

func (s *mxScope) param() string {
	switch {
	case s.kind == mxProjectScope:
		return "pr" + strconv.FormatInt(s.id, 10)
	case s.codyt:
		return "jbc" + strconv.FormatInt(s.id, 10)
	default:
		return "jbs" + strconv.FormatInt(s.id, 10)
	}
}

func (s *mxScope) flexID() string {
	if s.kind == mxJobScope {
		return "c" + strconv.FormatInt(s.id, 10)
	}
	return strconv.FormatInt(s.id, 10)
}

var mxScopes = []*mxScope{
	{label: "pr7214", kind: mxProjectScope, id: projectID, in: segA1, out: segB1, jobUser: "jobber"},
	{label: "jbs9927", kind: mxJobScope, id: stdJob, in: segA1, out: segB1, jobUser: "jobber"},
	{label: "jbc500", kind: mxJobScope, id: codytJob, codyt: true, in: segC1, out: mxSegD1, jobUser: "codyt"},
	{label: "Flex 19700", kind: mxDocScope, id: docC, flex: true, in: segC1, out: mxSegD1, jobUser: "codyt"},
	{label: "Flex c500", kind: mxJobScope, id: codytJob, codyt: true, flex: true, in: segC1, out: mxSegD1, jobUser: "codyt"},
	// Scopes that do not exist: an unknown project, a Codyt job's id used as a standard
	// job's (separate id spaces), an unknown Flex document.
	{label: "pr99999 (unknown)", kind: mxProjectScope, id: 99999, in: segA1, out: segB1, jobUser: "jobber"},
	{label: "jbs500 (Codyt id)", kind: mxJobScope, id: codytJob, in: segC1, out: mxSegD1, jobUser: "codyt"},
	{label: "Flex 99999 (unknown)", kind: mxDocScope, id: 99999, flex: true, in: segC1, out: mxSegD1, jobUser: "codyt"},
}

// mxNoScope stands for the routes without a scope: download by id reaches the probe of
// in or out, and the job user is the standard job's.
var mxNoScope = &mxScope{label: "", in: segA1, out: segB1, jobUser: "jobber"}

type mxKind int

const (
	mxAttach mxKind = iota
	mxGet
	mxHead
	mxDeleteOne
	mxDeleteAll
	mxListOne
	mxListMany
	mxAssetID
	mxMediaUpload
	mxMediaGet
	mxLogout
	mxLogoutAlias
	mxAdminCatalog
	mxAdminAccounts
	mxAdminAccount
	mxAdminDeleteAccount
	mxAdminDeleteEntry
	mxAdminDeleteGrant
	mxAdminIssueKey
	mxAdminListKeys
	mxAdminRevokeKey
	mxAdminUsage
	mxAdminAudit
	mxAdminSweep
	mxAdminCreateWebhook
	mxAdminListWebhooks
	mxAdminDeleteWebhook
	mxAdminListDeliveries
	mxAdminReplayDelivery
	mxHealthz
	mxReadyz
	mxMetrics
	mxScopeRights
	mxPersons
	mxFlexList
	mxFlexDocument
	mxMemories
)

// mxNeed is the rule table: the right each route needs. Media upload needs none (rights
// are checked at attach), media get is the uploader's alone, and logout needs not even a
// live token (it is idempotent).
// The admin API needs the admin bearer token (and nothing else opens it); health and
// metrics are public.
const (
	mxNeedAuthenticated mxRight = 0
	mxNeedOwner         mxRight = 1 << 7
	mxNeedNothing       mxRight = 1 << 6
	mxNeedAdmin         mxRight = 1 << 5
	mxNeedPublic        mxRight = 1 << 4
)

var mxRoutes = []struct {
	kind   mxKind
	label  string
	need   mxRight
	scoped bool
	ok     int // the success status, when not 200
}{
	{mxAttach, "attach POST", mxUpload, true, 0},
	{mxGet, "download GET", mxRead, true, 0},
	{mxHead, "download HEAD", mxRead, true, 0},
	{mxDeleteOne, "delete one", mxDelete, true, 0},
	{mxDeleteAll, "delete all", mxDelete, true, 0},
	{mxListOne, "list one", mxRead, true, 0},
	{mxListMany, "list many", mxRead, true, 0},
	{mxAssetID, "GET /api/assets/{id}/download", mxRead, false, 0},
	{mxMediaUpload, "POST /api/media/upload", mxNeedAuthenticated, false, 0},
	{mxMediaGet, "GET /api/media/get/{token}", mxNeedOwner, false, 0},
	{mxLogout, "DELETE /api/auth/token", mxNeedNothing, false, 0},
	{mxLogoutAlias, "PUT /api/auth/token/invalidate", mxNeedNothing, false, 0},
	{mxAdminCatalog, "PUT /admin/v1/catalog", mxNeedAdmin, false, 0},
	{mxAdminAccounts, "GET /admin/v1/accounts", mxNeedAdmin, false, 0},
	{mxAdminAccount, "GET /admin/v1/accounts/{account}", mxNeedAdmin, false, 0},
	{mxAdminDeleteAccount, "DELETE /admin/v1/accounts/{account}", mxNeedAdmin, false, 204},
	{mxAdminUsage, "GET /admin/v1/accounts/{account}/usage", mxNeedAdmin, false, 0},
	{mxAdminAudit, "GET /admin/v1/audit", mxNeedAdmin, false, 0},
	{mxAdminSweep, "POST /admin/v1/sweep", mxNeedAdmin, false, 0},
	{mxAdminCreateWebhook, "POST …/webhooks", mxNeedAdmin, false, 201},
	{mxAdminListWebhooks, "GET …/webhooks", mxNeedAdmin, false, 0},
	{mxAdminDeleteWebhook, "DELETE …/webhooks/{id}", mxNeedAdmin, false, 204},
	{mxAdminListDeliveries, "GET …/webhooks/deliveries", mxNeedAdmin, false, 0},
	{mxAdminReplayDelivery, "POST …/webhooks/deliveries/{id}/replay", mxNeedAdmin, false, 202},
	{mxAdminDeleteEntry, "DELETE /admin/v1/accounts/{account}/{kind}/{id}", mxNeedAdmin, false, 204},
	{mxAdminDeleteGrant, "DELETE …/users/{userId}/grants/{target}", mxNeedAdmin, false, 204},
	{mxAdminIssueKey, "POST …/users/{userId}/keys", mxNeedAdmin, false, 0},
	{mxAdminListKeys, "GET …/users/{userId}/keys", mxNeedAdmin, false, 0},
	{mxAdminRevokeKey, "DELETE …/users/{userId}/keys/{keyId}", mxNeedAdmin, false, 204},
	{mxHealthz, "GET /healthz", mxNeedPublic, false, 0},
	{mxReadyz, "GET /readyz", mxNeedPublic, false, 0},
	{mxMetrics, "GET /metrics", mxNeedPublic, false, 0},
	{mxScopeRights, "scope rights GET", mxRead, true, 0},
	{mxFlexDocument, "Flex document GET", mxRead, true, 0},
	{mxPersons, "POST /api/persons/list", mxNeedAuthenticated, false, 0},
	{mxFlexList, "POST /api/apps/wbflex/list", mxNeedAuthenticated, false, 0},
	{mxMemories, "GET /serve/api/v2/{asset_id}/download", mxRead, false, 0},
}

type mxRow struct {
	kind  mxKind
	label string
	need  mxRight
	scope *mxScope
	ok    int
}

func (r mxRow) isWrite() bool {
	return r.kind == mxAttach || r.kind == mxDeleteOne || r.kind == mxDeleteAll
}

func (r mxRow) isAdmin() bool { return r.need == mxNeedAdmin }

func mxRows() []mxRow {
	var rows []mxRow
	for _, s := range mxScopes {
		for _, rt := range mxRoutes {
			// The rights route takes pr/jbs/jbc scopes only, the Flex document route Flex ids only.
			if rt.scoped && !(rt.kind == mxScopeRights && s.flex) && !(rt.kind == mxFlexDocument && !s.flex) {
				rows = append(rows, mxRow{kind: rt.kind, label: rt.label + " " + s.label, need: rt.need, scope: s, ok: cmp.Or(rt.ok, 200)})
			}
		}
	}
	for _, rt := range mxRoutes {
		if !rt.scoped {
			rows = append(rows, mxRow{kind: rt.kind, label: rt.label, need: rt.need, scope: mxNoScope, ok: cmp.Or(rt.ok, 200)})
		}
	}
	return rows
}

// ---- columns: callers ---------------------------------------------------------------

type mxAuth int

const (
	mxNoToken       mxAuth = iota // no X-Auth headers
	mxBadToken                    // a well-formed token nobody was given
	mxForeignHeader               // tenant B's session sent with tenant A's account id
	mxForeignOwn                  // tenant B's session with its own account id, on A's ids
	mxUser                        // a user of tenant A
	mxAdmin                       // the admin bearer token (Authorization: Bearer …)
)

type mxCaller struct {
	label string
	auth  mxAuth
	user  string // "" means the scope's job user
	out   bool   // target the scope's out segment
}

var mxCallers = []mxCaller{
	{label: "no token", auth: mxNoToken},
	{label: "bad token", auth: mxBadToken},
	{label: "other account's token", auth: mxForeignHeader},
	{label: "other account, own id", auth: mxForeignOwn, user: "pm"},
	{label: "no grant", auth: mxUser, user: "nogrant"},
	{label: "read-only", auth: mxUser, user: "reader"},
	{label: "uploader", auth: mxUser, user: "uploader"},
	{label: "deleter", auth: mxUser, user: "deleter"},
	{label: "job grant, seg in job", auth: mxUser},
	{label: "job grant, seg outside job", auth: mxUser, out: true},
	{label: "project grant", auth: mxUser, user: "pm"},
	{label: "project grant, seg outside job", auth: mxUser, user: "pm", out: true},
	{label: "admin token", auth: mxAdmin},
}

// ---- the run -------------------------------------------------------------------------

type mxOutcome struct {
	status int
	code   string // the error code, "" on success
}

func (o mxOutcome) String() string {
	if o.code == "" {
		return strconv.Itoa(o.status)
	}
	return fmt.Sprintf("%d %s", o.status, o.code)
}

const mxProbe = "probe.bin"

type rightsMatrix struct {
	t        *testing.T
	c        *cluster
	a, b     *tenant
	ma, mb   *mxModel
	sessA    map[string]*session // tenant A's users
	sessB    *session            // tenant B's pm
	tokens   map[string]string   // file token uploaded by each user of A
	pmBytes  []byte              // the bytes of tokens["pm"]
	probes   map[int64][]byte    // the probe's bytes on each target segment
	baseline mxSnapshot
}

func newRightsMatrix(t *testing.T, c *cluster) *rightsMatrix {
	mx := &rightsMatrix{t: t, c: c, sessA: map[string]*session{}, tokens: map[string]string{}, probes: map[int64][]byte{}}
	mx.a = newTenant(t, c)
	rbUpsert(t, c, mxExtension(mx.a.account))
	mx.b = newTenant(t, c)
	mx.ma = newMxModel(t, fixtureCatalog(mx.a.account), mxExtension(mx.a.account))
	mx.mb = newMxModel(t, fixtureCatalog(mx.b.account))
	for _, u := range fixtureUsers {
		mx.sessA[u.name] = mx.a.as(u.name)
	}
	mx.sessB = mx.b.as("pm")
	for _, u := range fixtureUsers {
		data := randomBytes(300 + int(u.id))
		mx.tokens[u.name] = mx.sessA[u.name].upload("from-"+u.name+".bin", data)
		if u.name == "pm" {
			mx.pmBytes = data
		}
	}
	for i, seg := range mx.targets() {
		mx.probes[seg] = randomBytes(1000 + 37*i)
	}
	mx.restore(nil)
	return mx
}

// targets are the segments the matrix reaches, each holding one probe asset.
func (mx *rightsMatrix) targets() []int64 { return []int64{segA1, segB1, segC1, mxSegD1} }

func (mx *rightsMatrix) userID(name string) int64 {
	for _, u := range fixtureUsers {
		if u.name == name {
			return u.id
		}
	}
	mx.t.Fatalf("unknown user %q", name)
	return 0
}

func (mx *rightsMatrix) userOf(r mxRow, c mxCaller) string {
	if c.user != "" {
		return c.user
	}
	return r.scope.jobUser
}

func (mx *rightsMatrix) segmentOf(r mxRow, c mxCaller) int64 {
	if c.out {
		return r.scope.out
	}
	return r.scope.in
}

// segmentsOf are the segment ids a call names: list many names in and, for the out
// columns, out as well (any id outside the scope makes it a 404).
func (mx *rightsMatrix) segmentsOf(r mxRow, c mxCaller) []int64 {
	if r.kind == mxListMany && c.out {
		return []int64{r.scope.in, r.scope.out}
	}
	return []int64{mx.segmentOf(r, c)}
}

// expect derives a cell's outcome from the rules; nothing here is observed.
func (mx *rightsMatrix) expect(r mxRow, c mxCaller) mxOutcome {
	ok := mxOutcome{status: r.ok}
	unauthorized := mxOutcome{401, "unauthorized"}
	switch {
	case r.need == mxNeedPublic:
		return ok
	case r.need == mxNeedAdmin && c.auth == mxAdmin:
		return ok
	case r.need == mxNeedAdmin, c.auth == mxAdmin:
		// Only the admin token opens the admin API, and it opens nothing else.
		return unauthorized
	}
	switch c.auth {
	case mxNoToken:
		return unauthorized
	case mxBadToken, mxForeignHeader:
		if r.need == mxNeedNothing {
			return ok // ending a session that is not the caller's is a no-op, and idempotent
		}
		return unauthorized
	}
	// Authenticated. Tenant B resolves A's ids in its own catalog; the objects (assets,
	// file tokens) the calls name are A's, so B never finds them.
	m, ownsObjects := mx.ma, true
	if c.auth == mxForeignOwn {
		m, ownsObjects = mx.mb, false
	}
	userName := mx.userOf(r, c)
	user := mx.userID(userName)
	switch r.need {
	case mxNeedNothing, mxNeedAuthenticated:
		return ok
	case mxNeedOwner: // the file token was uploaded by tenant A's pm
		if ownsObjects && userName == "pm" {
			return ok
		}
		return mxOutcome{404, "file_token_invalid"}
	}
	if r.kind == mxAssetID || r.kind == mxMemories {
		if !ownsObjects {
			return mxOutcome{404, "asset_not_found"}
		}
		if !m.docRights(user, m.segDoc[mx.segmentOf(r, c)]).has(r.need) {
			return mxOutcome{403, "forbidden"}
		}
		return ok
	}
	exists, project, docs, rights := m.access(user, r.scope)
	switch {
	case !exists:
		return mxOutcome{404, "scope_not_found"}
	case !rights.has(r.need):
		return mxOutcome{403, "forbidden"}
	}
	for _, seg := range mx.segmentsOf(r, c) {
		// The rights and Flex document routes name no segment.
		if r.kind != mxScopeRights && r.kind != mxFlexDocument && !m.inScope(project, docs, seg) {
			return mxOutcome{404, "segment_not_found"}
		}
	}
	if !ownsObjects {
		switch r.kind {
		case mxAttach:
			return mxOutcome{404, "file_token_invalid"}
		case mxGet, mxHead:
			return mxOutcome{404, "asset_not_found"}
		}
	}
	return ok
}

// headers returns the credentials of a caller; logout cells get a session of their own.
func (mx *rightsMatrix) headers(r mxRow, c mxCaller, fresh bool) (h http.Header, own *session) {
	switch c.auth {
	case mxNoToken:
		return http.Header{}, nil
	case mxAdmin:
		return http.Header{"Authorization": {"Bearer " + adminToken}}, nil
	case mxBadToken:
		return http.Header{"X-Auth-Token": {"0BADC0DE-0000-4000-8000-" + strings.ToUpper(rbSHA256(randomBytes(8))[:12])},
			"X-Auth-AccountId": {mx.a.account}}, nil
	case mxForeignHeader:
		s := mx.sessB
		if fresh {
			s = mx.b.as("pm")
		}
		return http.Header{"X-Auth-Token": {s.token}, "X-Auth-AccountId": {mx.a.account}}, s
	case mxForeignOwn:
		s := mx.sessB
		if fresh {
			s = mx.b.as("pm")
		}
		return rbAuthHeaders(s), s
	}
	s := mx.sessA[mx.userOf(r, c)]
	if fresh {
		s = mx.a.as(mx.userOf(r, c))
	}
	return rbAuthHeaders(s), s
}

// keyHeader is a caller's credential on memories.ai's route, which takes an API key in
// Authorization: the user's key; for tenant B's session sent as tenant A's, B's session
// token (not a key); for a bad token, a key nobody holds; the admin token as it is sent to
// the admin API. h holds the caller's session headers, which this route ignores.
func (mx *rightsMatrix) keyHeader(r mxRow, c mxCaller, h http.Header) http.Header {
	switch c.auth {
	case mxNoToken:
		return http.Header{}
	case mxAdmin:
		return h
	case mxBadToken:
		return http.Header{"Authorization": {"rsk_not-a-key-" + rbSHA256(randomBytes(8))}}
	case mxForeignHeader:
		return http.Header{"Authorization": {h.Get("X-Auth-Token")}}
	case mxForeignOwn:
		return http.Header{"Authorization": {apiKey(mx.b.account, "pm")}}
	}
	return http.Header{"Authorization": {apiKey(mx.a.account, mx.userOf(r, c))}}
}

func (mx *rightsMatrix) base(s *mxScope) string {
	if s.flex {
		return "/api/apps/wbflex/documents/" + s.flexID() + "/assets/"
	}
	return "/api/resources/assets/"
}

func (mx *rightsMatrix) query(s *mxScope, kv ...string) string {
	q := url.Values{}
	if !s.flex {
		q.Set("scope", s.param())
	}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// cell sends one cell's request and checks what a success must look like.
func (mx *rightsMatrix) cell(r mxRow, c mxCaller) (mxOutcome, []string) {
	t := mx.t
	t.Helper()
	var problems []string
	fail := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	logout := r.kind == mxLogout || r.kind == mxLogoutAlias
	h, own := mx.headers(r, c, logout)
	seg := mx.segmentOf(r, c)
	segPath := strconv.FormatInt(seg, 10)
	inA := c.auth == mxUser

	var resp *response
	switch r.kind {
	case mxAttach:
		token := mx.tokens["pm"]
		if inA {
			token = mx.tokens[mx.userOf(r, c)]
		}
		h.Set("Content-Type", "application/json")
		resp = do(t, mx.c, "POST", mx.base(r.scope)+segPath+mx.query(r.scope), h, jsonBody(map[string]string{"filetoken": token}))
	case mxGet, mxHead:
		method := map[mxKind]string{mxGet: "GET", mxHead: "HEAD"}[r.kind]
		resp = do(t, mx.c, method, mx.base(r.scope)+segPath+mx.query(r.scope, "filename", mxProbe), h, nil)
		if resp.StatusCode == 200 {
			want := mx.probes[seg]
			if cl := resp.Header.Get("Content-Length"); cl != strconv.Itoa(len(want)) {
				fail("Content-Length %s, want %d", cl, len(want))
			}
			if r.kind == mxGet && !bytes.Equal(resp.body, want) {
				fail("downloaded %d bytes that are not the probe's", len(resp.body))
			}
			if r.kind == mxHead && len(resp.body) != 0 {
				fail("HEAD sent a body of %d bytes", len(resp.body))
			}
		}
	case mxDeleteOne:
		resp = do(t, mx.c, "DELETE", mx.base(r.scope)+segPath+mx.query(r.scope, "filename", mxProbe), h, nil)
	case mxDeleteAll:
		resp = do(t, mx.c, "DELETE", mx.base(r.scope)+segPath+mx.query(r.scope), h, nil)
	case mxListOne, mxListMany:
		var path string
		segs := mx.segmentsOf(r, c)
		if r.kind == mxListOne {
			path = mx.base(r.scope) + segPath + "/list" + mx.query(r.scope)
		} else {
			ids := make([]string, len(segs))
			for i, s := range segs {
				ids[i] = strconv.FormatInt(s, 10)
			}
			path = mx.base(r.scope) + "list" + mx.query(r.scope, "segmentIds", strings.Join(ids, ","))
		}
		resp = do(t, mx.c, "GET", path, h, nil)
		if resp.StatusCode == 200 {
			var list []map[string]any
			if err := json.Unmarshal(resp.body, &list); err != nil {
				fail("list body %q: %v", truncate(resp.body), err)
			}
			want := 0
			if inA {
				want = len(segs) // one probe per segment
			}
			if len(list) != want {
				fail("list holds %d assets, want %d: %s", len(list), want, truncate(resp.body))
			}
			for _, a := range list {
				name := a["name"]
				if r.scope.flex {
					name = a["fileName"]
				}
				if name != mxProbe {
					fail("list holds %v", a)
				}
			}
		}
	case mxAssetID:
		id := mx.baseline.probeID(seg)
		resp = do(t, mx.c, "GET", "/api/assets/"+id+"/download", h, nil)
		if resp.StatusCode == 200 && !bytes.Equal(resp.body, mx.probes[seg]) {
			fail("downloaded %d bytes that are not the probe's", len(resp.body))
		}
	case mxMediaUpload:
		body, ct := multipartBody(t, "matrix.bin", randomBytes(100))
		h.Set("Content-Type", ct)
		resp = do(t, mx.c, "POST", "/api/media/upload", h, body)
		if resp.StatusCode == 200 {
			var out struct{ Result struct{ Token string } }
			if json.Unmarshal(resp.body, &out) != nil || len(out.Result.Token) != 32 {
				fail("upload response %s", truncate(resp.body))
			}
		}
	case mxMediaGet:
		resp = do(t, mx.c, "GET", "/api/media/get/"+mx.tokens["pm"], h, nil)
		if resp.StatusCode == 200 && !bytes.Equal(resp.body, mx.pmBytes) {
			fail("media get returned %d bytes that are not the upload's", len(resp.body))
		}
	case mxLogout:
		resp = do(t, mx.c, "DELETE", "/api/auth/token", h, nil)
	case mxLogoutAlias:
		resp = do(t, mx.c, "PUT", "/api/auth/token/invalidate", h, nil)
	case mxScopeRights:
		resp = do(t, mx.c, "GET", "/api/browse/scopes/"+r.scope.param(), h, nil)
		if resp.StatusCode == 200 {
			m := mx.ma
			if c.auth == mxForeignOwn {
				m = mx.mb
			}
			_, _, _, rights := m.access(mx.userID(mx.userOf(r, c)), r.scope)
			want := []string{}
			for _, n := range []struct {
				r    mxRight
				name string
			}{{mxRead, "read"}, {mxUpload, "upload"}, {mxDelete, "delete"}} {
				if rights.has(n.r) {
					want = append(want, n.name)
				}
			}
			var got struct{ Rights []string }
			if err := json.Unmarshal(resp.body, &got); err != nil || !slices.Equal(got.Rights, want) {
				fail("rights %s, want %v", truncate(resp.body), want)
			}
		}
	case mxPersons:
		resp = do(t, mx.c, "POST", "/api/persons/list", h, nil)
		var got wire.PersonList
		if resp.StatusCode == 200 && (json.Unmarshal(resp.body, &got) != nil || got.Total != len(fixtureUsers) || got.Count != len(fixtureUsers)) {
			fail("persons %s, want the %d users of the caller's account", truncate(resp.body), len(fixtureUsers))
		}
	case mxFlexList:
		resp = do(t, mx.c, "POST", "/api/apps/wbflex/list", h, nil)
		if resp.StatusCode == 200 {
			m := mx.ma
			if c.auth == mxForeignOwn {
				m = mx.mb
			}
			want := []string{}
			for _, doc := range m.documents() {
				if m.docRights(mx.userID(mx.userOf(r, c)), doc).has(mxRead) {
					want = append(want, strconv.FormatInt(doc, 10))
				}
			}
			var got wire.FlexDocumentList
			ids := []string{}
			json.Unmarshal(resp.body, &got)
			for _, row := range got.Rows {
				ids = append(ids, row.ID)
			}
			if !slices.Equal(ids, want) || got.Total != len(want) {
				fail("Flex list %v (total %d), want the readable documents %v", ids, got.Total, want)
			}
		}
	case mxFlexDocument:
		resp = do(t, mx.c, "GET", "/api/apps/wbflex/documents/"+r.scope.flexID(), h, nil)
		if resp.StatusCode == 200 {
			m := mx.ma
			if c.auth == mxForeignOwn {
				m = mx.mb
			}
			_, project, docs, _ := m.access(mx.userID(mx.userOf(r, c)), r.scope)
			var got wire.FlexDocument
			if json.Unmarshal(resp.body, &got) != nil || got.ID != slices.Min(docs) || got.ProjectID != project {
				fail("Flex document %s, want document %d of project %d", truncate(resp.body), slices.Min(docs), project)
			}
		}
	case mxMemories:
		id := mx.baseline.probeID(seg)
		resp = do(t, mx.c, "GET", "/serve/api/v2/"+id+"/download", mx.keyHeader(r, c, h), nil)
		if resp.StatusCode == 200 && !bytes.Equal(resp.body, mx.probes[seg]) {
			fail("downloaded %d bytes that are not the probe's", len(resp.body))
		}
	case mxHealthz, mxReadyz, mxMetrics:
		resp = do(t, mx.c, "GET", map[mxKind]string{mxHealthz: "/healthz", mxReadyz: "/readyz", mxMetrics: "/metrics"}[r.kind], h, nil)
	default:
		resp = mx.adminCell(r, c, h)
	}
	got := mxOutcome{status: resp.StatusCode}
	if resp.StatusCode >= 400 && r.kind != mxHead {
		got.code = rbErrorCode(resp.body)
	}
	if r.kind == mxDeleteOne || r.kind == mxDeleteAll {
		if resp.StatusCode == 200 {
			want := "0"
			if inA {
				want = "1"
			}
			if n := resp.Header.Get("X-Deleted-Count"); n != want {
				fail("X-Deleted-Count %q, want %s", n, want)
			}
		}
	}
	if logout && own != nil {
		// The session ends when the token is sent with its own account id, and only then.
		alive := do(t, mx.c, "GET", fmt.Sprintf("/api/resources/assets/%d/list?scope=pr%d", segA1, projectID),
			rbAuthHeaders(own), nil).StatusCode != 401
		if wantAlive := c.auth == mxForeignHeader; alive != wantAlive {
			fail("after logout the session is alive=%t, want %t", alive, wantAlive)
		}
	}
	return got, problems
}

func (mx *rightsMatrix) run() {
	t := mx.t
	rows := mxRows()
	results := make([][]string, len(rows))
	cells, mismatches, unchanged := 0, 0, 0
	for i, r := range rows {
		results[i] = make([]string, len(mxCallers))
		for j, c := range mxCallers {
			want := mx.expect(r, c)
			var before mxSnapshot
			var adminBefore string
			if r.isWrite() {
				before = mx.snapshot()
			}
			if r.isAdmin() {
				adminBefore = mx.adminSnapshot()
			}
			got, problems := mx.cell(r, c)
			cells++
			results[i][j] = strconv.Itoa(got.status)
			if got != want && !(r.kind == mxHead && got.status == want.status) {
				mismatches++
				results[i][j] = fmt.Sprintf("**%d≠%d**", got.status, want.status)
				t.Errorf("%s as %s: got %s, want %s", r.label, c.label, got, want)
			}
			for _, p := range problems {
				t.Errorf("%s as %s: %s", r.label, c.label, p)
			}
			if r.isAdmin() {
				// The admin token works on a scratch account; every call reaches tenant A's.
				if after := mx.adminSnapshot(); after != adminBefore {
					t.Errorf("%s as %s answered %d but changed tenant A's catalog or keys", r.label, c.label, got.status)
				}
				if c.auth != mxAdmin {
					unchanged++
				}
				continue
			}
			if !r.isWrite() {
				continue
			}
			after := mx.snapshot()
			if got.status == 200 && c.auth == mxUser {
				mx.checkWrite(r, c, before, after)
				mx.restore(after)
			} else {
				if diff := before.diff(after); diff != "" {
					t.Errorf("%s as %s answered %d but changed the assets: %s", r.label, c.label, got.status, diff)
					mx.restore(after)
				}
				unchanged++
			}
		}
	}
	table := mx.markdown(rows, results)
	t.Log("\n" + table)
	t.Logf("%d cells, %d mismatches; %d refused writes left the assets and catalog unchanged", cells, mismatches, unchanged)
	mx.golden(table, mismatches)
}

// golden compares the matrix with the published one, or rewrites it under -update (only a
// matrix without mismatches is published).
func (mx *rightsMatrix) golden(table string, mismatches int) {
	t := mx.t
	if *updateGolden {
		if mismatches > 0 {
			t.Fatalf("not rewriting %s: the matrix has %d mismatches", mxGolden, mismatches)
		}
		if err := os.WriteFile(mxGolden, []byte(table), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(mxGolden)
	if err != nil {
		t.Fatalf("%v (go test ./e2e -run TestRightsMatrix -update writes it)", err)
	}
	if string(want) != table {
		t.Errorf("the matrix differs from %s; if the change is intended, rerun with -update and review the diff", mxGolden)
	}
}

// adminCell sends an admin API request. With the admin token it acts on a scratch tenant
// of its own (the calls delete and replace things); every other caller aims at tenant A.
func (mx *rightsMatrix) adminCell(r mxRow, c mxCaller, h http.Header) *response {
	t := mx.t
	acct := mx.a.account
	if c.auth == mxAdmin {
		acct = newTenant(t, mx.c).account
	}
	base := "/admin/v1/accounts/" + acct
	switch r.kind {
	case mxAdminCatalog:
		h.Set("Content-Type", "application/json")
		return do(t, mx.c, "PUT", "/admin/v1/catalog", h, jsonBody(map[string]any{"accounts": []map[string]any{{
			"id": acct, "users": []map[string]any{{"id": 99, "name": "matrix", "apiKey": "matrix-key-" + acct}}}}}))
	case mxAdminAccounts:
		return do(t, mx.c, "GET", "/admin/v1/accounts", h, nil)
	case mxAdminAccount:
		return do(t, mx.c, "GET", base, h, nil)
	case mxAdminDeleteAccount:
		return do(t, mx.c, "DELETE", base, h, nil)
	case mxAdminDeleteEntry:
		return do(t, mx.c, "DELETE", base+"/users/2", h, nil)
	case mxAdminDeleteGrant:
		return do(t, mx.c, "DELETE", fmt.Sprintf("%s/users/1/grants/pr%d", base, projectID), h, nil)
	case mxAdminIssueKey:
		return do(t, mx.c, "POST", base+"/users/1/keys", h, nil)
	case mxAdminListKeys:
		return do(t, mx.c, "GET", base+"/users/1/keys", h, nil)
	case mxAdminRevokeKey:
		return do(t, mx.c, "DELETE", base+"/users/1/keys/"+mx.keyID(acct), h, nil)
	case mxAdminUsage:
		return do(t, mx.c, "GET", base+"/usage", h, nil)
	case mxAdminAudit:
		return do(t, mx.c, "GET", "/admin/v1/audit?account="+acct, h, nil)
	case mxAdminSweep:
		return do(t, mx.c, "POST", "/admin/v1/sweep", h, nil)
	case mxAdminCreateWebhook:
		h.Set("Content-Type", "application/json")
		return do(t, mx.c, "POST", base+"/webhooks", h, jsonBody(matrixWebhook))
	case mxAdminListWebhooks:
		return do(t, mx.c, "GET", base+"/webhooks", h, nil)
	case mxAdminDeleteWebhook:
		return do(t, mx.c, "DELETE", base+"/webhooks/"+mx.webhookID(c, acct), h, nil)
	case mxAdminListDeliveries:
		return do(t, mx.c, "GET", base+"/webhooks/deliveries", h, nil)
	case mxAdminReplayDelivery:
		return do(t, mx.c, "POST", base+"/webhooks/deliveries/"+mx.deliveryID(c, acct)+"/replay", h, nil)
	}
	t.Fatalf("no request for %s", r.label)
	return nil
}

// matrixWebhook is an endpoint the guard lets through without a name to resolve (a public
// address); nothing answers there, so its deliveries stay pending.
var matrixWebhook = map[string]any{"url": "https://93.184.215.14/refstore-matrix"}

// webhookID creates an endpoint on the admin's scratch account and returns its id; other
// callers get a made-up id (they are refused before it matters).
func (mx *rightsMatrix) webhookID(c mxCaller, acct string) string {
	if c.auth != mxAdmin {
		return "we_0123456789abcdef01234567"
	}
	var w wire.Webhook
	admin(mx.t, mx.c, "POST", "/admin/v1/accounts/"+acct+"/webhooks", matrixWebhook).expect(mx.t, 201).json(mx.t, &w)
	return w.ID
}

// deliveryID makes a delivery on the admin's scratch account (an endpoint, then a media
// upload of its user 1) and returns its id.
func (mx *rightsMatrix) deliveryID(c mxCaller, acct string) string {
	if c.auth != mxAdmin {
		return "wd_0123456789abcdef01234567"
	}
	mx.webhookID(c, acct)
	tn := &tenant{t: mx.t, c: mx.c, account: acct}
	tn.as("pm").upload("matrix.txt", []byte("matrix"))
	var ds wire.Deliveries
	admin(mx.t, mx.c, "GET", "/admin/v1/accounts/"+acct+"/webhooks/deliveries", nil).expect(mx.t, 200).json(mx.t, &ds)
	if len(ds.Deliveries) == 0 {
		mx.t.Fatalf("account %s: no webhook delivery after an upload", acct)
	}
	return ds.Deliveries[0].ID
}

// keyID is the id of the first API key of an account's user 1.
func (mx *rightsMatrix) keyID(acct string) string {
	var keys []wire.Key
	admin(mx.t, mx.c, "GET", "/admin/v1/accounts/"+acct+"/users/1/keys", nil).expect(mx.t, 200).json(mx.t, &keys)
	if len(keys) == 0 {
		mx.t.Fatalf("account %s: user 1 has no API key", acct)
	}
	return keys[0].ID
}

// adminSnapshot is tenant A's catalog and its users' API keys, as the admin API shows them.
func (mx *rightsMatrix) adminSnapshot() string {
	var b strings.Builder
	b.Write(admin(mx.t, mx.c, "GET", "/admin/v1/accounts/"+mx.a.account, nil).expect(mx.t, 200).body)
	for _, u := range fixtureUsers {
		b.Write(admin(mx.t, mx.c, "GET", fmt.Sprintf("/admin/v1/accounts/%s/users/%d/keys", mx.a.account, u.id), nil).expect(mx.t, 200).body)
	}
	return b.String()
}

// checkWrite checks the effect of a successful write of tenant A.
func (mx *rightsMatrix) checkWrite(r mxRow, c mxCaller, before, after mxSnapshot) {
	seg := mx.segmentOf(r, c)
	want := maps.Clone(before)
	switch r.kind {
	case mxAttach:
		name := "from-" + mx.userOf(r, c) + ".bin"
		k := mxKey(seg, nil, "", name)
		if _, ok := after[k]; !ok {
			mx.t.Errorf("%s as %s: the attached %s is not listed", r.label, c.label, name)
			return
		}
		want[k] = after[k]
	case mxDeleteOne:
		delete(want, mxKey(seg, nil, "", mxProbe))
	case mxDeleteAll:
		for k := range want {
			if strings.HasPrefix(k, strconv.FormatInt(seg, 10)+"|") {
				delete(want, k)
			}
		}
	}
	if diff := want.diff(after); diff != "" {
		mx.t.Errorf("%s as %s: unexpected effect: %s", r.label, c.label, diff)
	}
}

// mxSnapshot is tenant A's assets on the target segments: key → id, size and dates.
type mxSnapshot map[string]string

func mxKey(seg int64, locale *string, rel, name string) string {
	l := "-"
	if locale != nil {
		l = *locale
	}
	return fmt.Sprintf("%d|%s|%s|%s", seg, l, rel, name)
}

func (s mxSnapshot) probeID(seg int64) string {
	v := s[mxKey(seg, nil, "", mxProbe)]
	id, _, _ := strings.Cut(v, "|")
	return id
}

func (s mxSnapshot) diff(o mxSnapshot) string {
	var d []string
	for k, v := range s {
		if w, ok := o[k]; !ok {
			d = append(d, "gone "+k)
		} else if w != v {
			d = append(d, fmt.Sprintf("changed %s: %s → %s", k, v, w))
		}
	}
	for k := range o {
		if _, ok := s[k]; !ok {
			d = append(d, "new "+k)
		}
	}
	slices.Sort(d)
	return strings.Join(d, "; ")
}

// snapshot lists the target segments as tenant A's pm.
func (mx *rightsMatrix) snapshot() mxSnapshot {
	pm := mx.sessA["pm"]
	s := mxSnapshot{}
	for _, q := range []string{
		fmt.Sprintf("scope=pr%d&segmentIds=%d,%d", projectID, segA1, segB1),
		fmt.Sprintf("scope=pr%d&segmentIds=%d,%d", otherProject, segC1, mxSegD1),
	} {
		var list []wire.Asset
		pm.do("GET", "/api/resources/assets/list?"+q, nil).expect(mx.t, 200).json(mx.t, &list)
		for _, a := range list {
			s[mxKey(a.SegmentID, a.Locale, a.RelativePath, a.Name)] = fmt.Sprintf("%s|%d|%s|%s", a.ID, a.Size, a.CreatedDate, a.ModifiedDate)
		}
	}
	return s
}

// restore brings the target segments back to one probe each.
func (mx *rightsMatrix) restore(current mxSnapshot) {
	pm := mx.sessA["pm"]
	if current == nil {
		current = mx.snapshot()
	}
	for _, seg := range mx.targets() {
		scope := fmt.Sprintf("pr%d", mx.ma.docProject[mx.ma.segDoc[seg]])
		for k := range current {
			parts := strings.SplitN(k, "|", 4)
			if parts[0] == strconv.FormatInt(seg, 10) && parts[3] != mxProbe {
				pm.do("DELETE", fmt.Sprintf("/api/resources/assets/%d?scope=%s&filename=%s", seg, scope, url.QueryEscape(parts[3])), nil).
					expect(mx.t, 200)
			}
		}
		if _, ok := current[mxKey(seg, nil, "", mxProbe)]; !ok {
			pm.put(scope, seg, mxProbe, "", "", mx.probes[seg])
		}
	}
	mx.baseline = mx.snapshot()
	if len(mx.baseline) != len(mx.targets()) {
		mx.t.Fatalf("restoring the probes left %v", mx.baseline)
	}
}

// markdown renders the matrix as the Markdown document docs/authz-matrix.md.
func (mx *rightsMatrix) markdown(rows []mxRow, results [][]string) string {
	var b strings.Builder
	b.WriteString("<!-- Generated by TestRightsMatrix (e2e/rights_test.go); do not edit. Rewrite with\n" +
		"     go test ./e2e -run TestRightsMatrix -update -->\n")
	b.WriteString("# Authorization matrix\n\nEvery route × every caller, as sent and asserted by TestRightsMatrix on every backend " +
		"(HTTP status; **got≠want** would mark a mismatch). Columns: the caller; rows: route and scope. " +
		"See [security.md](security.md) for the threat model.\n\n")
	b.WriteString("| route | scope |")
	for _, c := range mxCallers {
		b.WriteString(" " + c.label + " |")
	}
	b.WriteString("\n|---|---|")
	for range mxCallers {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for i, r := range rows {
		route, scope := r.label, r.scope.label
		if scope != "" {
			route = strings.TrimSuffix(r.label, " "+scope)
		} else {
			scope = "–"
		}
		fmt.Fprintf(&b, "| %s | %s |", route, scope)
		for _, cell := range results[i] {
			b.WriteString(" " + cell + " |")
		}
		b.WriteString("\n")
	}
	b.WriteString(`
Callers: "other account's token" is a second tenant's session sent with the first tenant's
X-Auth-AccountId; "other account, own id" is that session with its own account id, naming the
first tenant's ids (which the second tenant's identical catalog resolves to its own, empty data:
lists are empty, deletes remove nothing, the first tenant's assets and file tokens are 404).
"job grant" is jobber (standard job 9927, docA) on project 7214 scopes and codyt (Codyt job
500, docC) on project 7300 scopes; "seg outside job" targets segB1 (docB) or segD1 (docD).
"admin token" is the admin bearer token (Authorization: Bearer …) and nothing else; on the
admin API it acts on a scratch account, while every other caller aims at the first tenant's
catalog and is checked to leave it unchanged.
Routes: project and job scopes use /api/resources/assets/{seg}?scope=…, Flex scopes
/api/apps/wbflex/documents/{id}/assets/{seg}. Download by id reaches the probe of segA1 (in)
or segB1 (out). Media get asks for a token uploaded by the first tenant's pm. The admin API
answers 204 to deletions. memories.ai's download (/serve/api/v2/…) takes an API key in
Authorization instead of a session: each user's own key; the second tenant's session token
for "other account's token", its pm's key for "other account, own id", an unknown key for
"bad token". The persons and Flex lists answer every authenticated caller (the Flex list
only the documents the caller may read, checked against the model).
`)
	return b.String()
}
