package service

import (
	"context"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"

	"github.com/refstore/refstore"
)

func errUnauthorized(msg string) error {
	return &refstore.Error{Code: refstore.CodeUnauthorized, Message: msg}
}

// Login exchanges an account's API key for a session token, shaped like Wordbee's
// (an upper-case GUID).
func (s *Service) Login(ctx context.Context, account, key string) (string, error) {
	if account == "" || key == "" || !refstore.ValidAccountID(account) {
		return "", refstore.Errorf(refstore.CodeInvalidKey, "Invalid private key.")
	}
	keyHash := hashSecret(key)
	user, err := s.meta.UserByKey(ctx, account, keyHash)
	if err != nil {
		return "", err
	}
	b := randomBytes(16)
	token := strings.ToUpper(fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16]))
	now := s.now()
	ev := userEvent(ctx, refstore.Principal{Account: account, UserID: user}, refstore.AuditTokenIssue)
	err = s.meta.CreateSession(ctx, refstore.Session{Hash: sessionHash(token), Account: account, UserID: user,
		KeyHash: keyHash, Created: now, LastUsed: now}, ev)
	return token, err
}

// sessionHash is how a session token is stored and looked up: the hash of its upper-case
// form. Tokens are GUIDs, which .NET clients may print in either case (Guid.ToString()
// writes lower case), so any case must find the session. Login has always handed out
// upper-case tokens, so sessions opened before this rule hash the same way.
func sessionHash(token string) string {
	return hashSecret(upperASCII(token))
}

// upperASCII upper-cases ASCII letters only: other characters are never part of a token,
// and Unicode case mapping could make two different strings one.
func upperASCII(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; 'a' <= c && c <= 'z' {
			b := []byte(s)
			for j := i; j < len(b); j++ {
				if 'a' <= b[j] && b[j] <= 'z' {
					b[j] -= 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return s
}

// touchInterval is how stale a session's last use may get in the store before a request
// writes it again: sliding expiry is exact to within this, without a write per request.
// The store's record of a session's last use therefore lags the real one by up to this
// much, which the sweeper leaves as a margin (see Sweep).
func (s *Service) touchInterval() (d time.Duration) {
	return min(s.cfg.TokenTTL/60, 30*time.Second)
}

// Authenticate checks the X-Auth-Token and X-Auth-AccountId of a call and slides the
// session's expiry. It takes the request's view of the metadata first, and returns it in
// the principal (Principal.View): the request's later reads use the same view.
func (s *Service) Authenticate(ctx context.Context, token, account string) (refstore.Principal, error) {
	switch {
	case token == "":
		return refstore.Principal{}, errUnauthorized("Not authenticated: the X-Auth-Token header is missing.")
	case account == "":
		return refstore.Principal{}, errUnauthorized("Not authenticated: the X-Auth-AccountId header is missing.")
	}
	view := s.views.View(ctx)
	hash := sessionHash(token)
	sess, err := view.Session(ctx, hash)
	if err != nil {
		return refstore.Principal{}, err
	}
	if subtle.ConstantTimeCompare([]byte(sess.Account), []byte(account)) != 1 {
		return refstore.Principal{}, errUnauthorized("Token invalid or expired.")
	}
	now := s.now()
	if now.Sub(sess.LastUsed) > s.cfg.TokenTTL {
		// What the view holds may be behind the store: other nodes may have kept the
		// session alive. The store decides.
		if sess, err = s.meta.Session(ctx, hash); err != nil {
			return refstore.Principal{}, err
		}
		if now.Sub(sess.LastUsed) > s.cfg.TokenTTL {
			return refstore.Principal{}, errUnauthorized("Token invalid or expired.")
		}
	}
	switch err := view.SessionUsed(ctx, sess, now, s.touchInterval()); refstore.ErrorCode(err) {
	case "":
	case refstore.CodeStorageFull:
		// A full or read-only disk must not stop reads: the use is recorded later.
	default:
		return refstore.Principal{}, err // CodeUnauthorized: the session ended since it was read
	}
	return refstore.Principal{Account: sess.Account, UserID: sess.UserID, SessionHash: hash, KeyHash: sess.KeyHash,
		View: view}, nil
}

// Logout ends a session. It is idempotent: an unknown or expired token is already ended.
func (s *Service) Logout(ctx context.Context, token, account string) error {
	if token == "" || account == "" {
		return errUnauthorized("Not authenticated: the X-Auth-Token and X-Auth-AccountId headers are required.")
	}
	hash := sessionHash(token)
	sess, err := s.meta.Session(ctx, hash)
	if refstore.ErrorCode(err) == refstore.CodeUnauthorized {
		return nil
	} else if err != nil {
		return err
	}
	if sess.Account != account {
		return nil // not this caller's session to end
	}
	ev := userEvent(ctx, refstore.Principal{Account: sess.Account, UserID: sess.UserID}, refstore.AuditTokenRevoke)
	return s.meta.DeleteSession(ctx, hash, ev)
}
