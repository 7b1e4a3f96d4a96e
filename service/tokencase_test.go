package service

import (
	"strings"
	"testing"

	"github.com/refstore/refstore"
)

// Session tokens are GUIDs: the same token in lower or mixed case names the same session,
// for calls and for logout. Login hands them out in upper case, as Wordbee does.
func TestTokenAnyCase(t *testing.T) {
	s, _, token := authFixture(t, Config{})
	if token != strings.ToUpper(token) {
		t.Fatalf("login handed out %q, not upper case", token)
	}
	// Sessions opened before tokens were folded were stored under the hash of the token as
	// handed out, which was already upper case: the same hash.
	if sessionHash(token) != hashSecret(token) {
		t.Fatal("a session stored before case folding would not be found")
	}
	lower := strings.ToLower(token)
	mixed := strings.ToLower(token[:9]) + token[9:]
	for _, tok := range []string{token, lower, mixed} {
		wantAuth(t, s, tok, "", "token "+tok)
	}
	// A token in another case ends the one session.
	if err := s.Logout(t.Context(), lower, "acme"); err != nil {
		t.Fatal(err)
	}
	wantAuth(t, s, token, refstore.CodeUnauthorized, "after logging out with the lower-case token")
	// Other characters are not folded: a different string is a different token.
	if got := upperASCII("aé-ß"); got != "Aé-ß" {
		t.Fatalf("upperASCII folded non-ASCII: %q", got)
	}
}
