package refstore

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// ScopeKind says what a scope names.
type ScopeKind uint8

const (
	ScopeProject     ScopeKind = iota + 1 // pr{id}
	ScopeStandardJob                      // jbs{id}
	ScopeCodytJob                         // jbc{id}, or c{id} on the Flex routes
	ScopeDocument                         // a Flex document id
)

// Scope limits the data a call may reach and decides which grants count.
type Scope struct {
	Kind ScopeKind
	ID   int64
}

// IsJob reports whether the scope is a standard or Codyt job.
func (s Scope) IsJob() bool { return s.Kind == ScopeStandardJob || s.Kind == ScopeCodytJob }

// String renders the scope in its query-string form (pr7214, jbs9927, jbc9927) or, for a
// Flex document, its decimal id.
func (s Scope) String() string {
	id := strconv.FormatInt(s.ID, 10)
	switch s.Kind {
	case ScopeProject:
		return "pr" + id
	case ScopeStandardJob:
		return "jbs" + id
	case ScopeCodytJob:
		return "jbc" + id
	default:
		return id
	}
}

// ParseScope parses the scope query parameter: pr{projectId}, jbs{jobId} or jbc{jobId},
// lower case, with a positive decimal id. Anything else is a 400 naming "scope".
func ParseScope(s string) (Scope, error) {
	if s == "" {
		return Scope{}, InvalidParam("scope", "required; use pr{projectId}, jbs{jobId} or jbc{jobId}")
	}
	var kind ScopeKind
	var rest string
	switch {
	case strings.HasPrefix(s, "pr"):
		kind, rest = ScopeProject, s[2:]
	case strings.HasPrefix(s, "jbs"):
		kind, rest = ScopeStandardJob, s[3:]
	case strings.HasPrefix(s, "jbc"):
		kind, rest = ScopeCodytJob, s[3:]
	default:
		return Scope{}, InvalidParam("scope", "%q is not pr{projectId}, jbs{jobId} or jbc{jobId}", truncate(s, 40))
	}
	id, ok := parsePositive(rest)
	if !ok {
		return Scope{}, InvalidParam("scope", "%q must end in a positive decimal id", truncate(s, 40))
	}
	return Scope{Kind: kind, ID: id}, nil
}

// ParseFlexDocument parses the {id} of a Flex route: a document id, or c{jobId} for a
// Codyt job.
func ParseFlexDocument(s string) (Scope, error) {
	if rest, ok := strings.CutPrefix(s, "c"); ok {
		id, ok := parsePositive(rest)
		if !ok {
			return Scope{}, InvalidParam("id", "%q must be a document id or c{jobId}", truncate(s, 40))
		}
		return Scope{Kind: ScopeCodytJob, ID: id}, nil
	}
	id, ok := parsePositive(s)
	if !ok {
		return Scope{}, InvalidParam("id", "%q must be a document id or c{jobId}", truncate(s, 40))
	}
	return Scope{Kind: ScopeDocument, ID: id}, nil
}

// ParseID parses a positive decimal id (no sign, no leading zero) that fits in an int64,
// naming param in the error.
func ParseID(param, s string) (int64, error) {
	id, ok := parsePositive(s)
	if !ok {
		return 0, InvalidParam(param, "%q is not a positive decimal id", truncate(s, 40))
	}
	return id, nil
}

// MaxListSegments is the most distinct segment ids one list-many call may name.
const MaxListSegments = 1000

// ParseSegmentIDs parses the segmentIds of a list-many call: comma-separated ids, possibly
// spread over repeated parameters. Duplicates are dropped, order is kept.
func ParseSegmentIDs(values []string) ([]int64, error) {
	var ids []int64
	seen := make(map[int64]struct{})
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			id, ok := parsePositive(part)
			if !ok {
				return nil, InvalidParam("segmentIds", "%q is not a positive decimal id", truncate(part, 40))
			}
			if _, dup := seen[id]; dup {
				continue
			}
			if len(seen) == MaxListSegments {
				return nil, InvalidParam("segmentIds", "at most %d distinct ids per call", MaxListSegments)
			}
			seen[id] = struct{}{}
			ids = append(ids, id)
		}
	}
	if len(ids) == 0 {
		return nil, InvalidParam("segmentIds", "required: one or more comma-separated segment ids")
	}
	return ids, nil
}

func parsePositive(s string) (int64, bool) {
	if s == "" || len(s) > 19 || s[0] < '1' || s[0] > '9' {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	return id, err == nil
}

// truncate shortens user input before it is echoed in an error message.
func truncate(s string, n int) string {
	// Count what %q prints, not bytes: an invalid or control byte prints as four.
	width := 0
	for i, r := range s {
		w := len(strconv.QuoteRune(r)) - 2
		if r == utf8.RuneError {
			w = 4
		}
		if width+w > n {
			return s[:i] + "…"
		}
		width += w
	}
	return s
}
