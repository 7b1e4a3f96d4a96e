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

// ParseID parses a positive decimal id (no sign, no leading zero) that fits in an int64,
// naming param in the error.
func ParseID(param, s string) (int64, error) {
	id, ok := parsePositive(s)
	if !ok {
		return 0, InvalidParam(param, "%q is not a positive decimal id", truncate(s, 40))
	}
	return id, nil
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

// Excerpt shortens user input to about n characters (as %q prints them) before it is
// echoed in an error message.
func Excerpt(s string, n int) string { return truncate(s, n) }

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
