package service

import (
	"context"
	"testing"
	"time"

	"github.com/refstore/refstore"
)

// authFixture is a service on the embedded default with one account, one user and its
// key, a clock the test moves, and a token of that user.
func authFixture(t *testing.T, cfg Config) (s *Service, now *time.Time, token string) {
	t.Helper()
	s, now, _, token = authFixtureOn(t, cfg)
	return s, now, token
}

// authFixtureOn is authFixture that also returns the stores under the service's cache.
func authFixtureOn(t *testing.T, cfg Config) (s *Service, now *time.Time, st sweepStores, token string) {
	t.Helper()
	s, now, st = testServiceOn(t, openSweepStores(t), cfg)
	c := &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: "acme",
		Users:    []refstore.CatalogUser{{ID: 1, Name: "pm", APIKey: "acme-key-0123456789abcdef"}},
		Projects: []refstore.CatalogProject{{ID: 7, Documents: []refstore.CatalogDocument{{ID: 70, Segments: []int64{700}}}}}}}}
	if err := s.UpsertCatalog(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	token, err := s.Login(t.Context(), "acme", "acme-key-0123456789abcdef")
	if err != nil {
		t.Fatal(err)
	}
	return s, now, st, token
}

func wantAuth(t *testing.T, s *Service, token string, want refstore.Code, when string) {
	t.Helper()
	_, err := s.Authenticate(context.Background(), token, "acme")
	if got := refstore.ErrorCode(err); got != want {
		t.Fatalf("%s: Authenticate: %v (code %q), want code %q", when, err, got, want)
	}
}

// The store learns of a session's use at most every touch interval, so its record lags
// the real last use by up to that much: the sweeper must leave that margin, or it ends
// sessions in use. Here a session used 29 minutes 32 seconds ago (its record says 30
// minutes 1 second) is swept, lives on in the cache only, and a catalog change then ends it.
func TestSweepLeavesSessionsInUse(t *testing.T) {
	s, now, token := authFixture(t, Config{TokenTTL: 30 * time.Minute})
	t0 := *now
	wantAuth(t, s, token, "", "at login")
	*now = t0.Add(29 * time.Second) // within the touch interval (30 s): not written to the store
	wantAuth(t, s, token, "", "29 s later")
	*now = t0.Add(30*time.Minute + time.Second)
	if _, err := s.Sweep(t.Context()); err != nil {
		t.Fatal(err)
	}
	wantAuth(t, s, token, "", "29 min 32 s after its last use")
	// A catalog change empties the cache: the session must still be in the store.
	if err := s.UpsertCatalog(t.Context(), &refstore.Catalog{Accounts: []refstore.CatalogAccount{{ID: "acme", Name: "Acme"}}}); err != nil {
		t.Fatal(err)
	}
	wantAuth(t, s, token, "", "after a catalog change")
}

// A touch that finds no session means the session is gone (swept, logged out or revoked
// elsewhere): the request is refused, and so are the next ones, instead of the cache
// keeping a session the store no longer has.
func TestTouchOfGoneSessionRefuses(t *testing.T) {
	s, now, st, token := authFixtureOn(t, Config{TokenTTL: 30 * time.Minute})
	wantAuth(t, s, token, "", "at login")
	// The session goes behind the cache's back, as another node's logout would.
	if err := st.meta.DeleteSession(t.Context(), hashSecret(token), nil); err != nil {
		t.Fatal(err)
	}
	*now = now.Add(time.Minute) // past the touch interval: this use is written to the store
	wantAuth(t, s, token, refstore.CodeUnauthorized, "once the store has no session")
	wantAuth(t, s, token, refstore.CodeUnauthorized, "the request after")
}
