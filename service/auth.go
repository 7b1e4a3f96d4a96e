package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
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
	err = s.meta.CreateSession(ctx, refstore.Session{Hash: hashSecret(token), Account: account, UserID: user,
		KeyHash: keyHash, Created: now, LastUsed: now}, ev)
	return token, err
}

// touchInterval is how stale a session's last use may get in the store before a request
// writes it again: sliding expiry is exact to within this, without a write per request.
// The store's record of a session's last use therefore lags the real one by up to this
// much, which the sweeper leaves as a margin (see Sweep).
func (s *Service) touchInterval() (d time.Duration) {
	return min(s.cfg.TokenTTL/60, 30*time.Second)
}

// Authenticate checks the X-Auth-Token and X-Auth-AccountId of a call and slides the
// session's expiry.
func (s *Service) Authenticate(ctx context.Context, token, account string) (refstore.Principal, error) {
	switch {
	case token == "":
		return refstore.Principal{}, errUnauthorized("Not authenticated: the X-Auth-Token header is missing.")
	case account == "":
		return refstore.Principal{}, errUnauthorized("Not authenticated: the X-Auth-AccountId header is missing.")
	}
	sum := sha256.Sum256([]byte(token))
	var gen uint64
	c := s.cached(ctx, refstore.CatalogStripe)
	if c != nil {
		if cs := c.session(sum); cs != nil {
			if p, err, ok := s.useCachedSession(ctx, sum, cs, account); ok {
				return p, err
			}
		}
		gen = c.catalogGen.Load()
	}
	hash := hex.EncodeToString(sum[:])
	sess, err := s.meta.Session(ctx, hash)
	if err != nil {
		return refstore.Principal{}, err
	}
	now := s.now()
	if subtle.ConstantTimeCompare([]byte(sess.Account), []byte(account)) != 1 ||
		now.Sub(sess.LastUsed) > s.cfg.TokenTTL {
		return refstore.Principal{}, errUnauthorized("Token invalid or expired.")
	}
	persisted := sess.LastUsed
	if now.Sub(sess.LastUsed) > s.touchInterval() {
		if err := s.meta.TouchSession(ctx, hash, now); refstore.ErrorCode(err) == refstore.CodeStorageFull {
			// A full or read-only disk must not stop reads: the use is recorded later.
			persisted = sess.LastUsed
		} else if err != nil {
			return refstore.Principal{}, err // CodeUnauthorized: it ended since it was read
		} else {
			persisted = now
		}
	}
	p := refstore.Principal{Account: sess.Account, UserID: sess.UserID, SessionHash: hash, KeyHash: sess.KeyHash}
	if c != nil {
		cs := &cachedSession{principal: p}
		cs.lastUsed.Store(now.UnixNano())
		cs.persisted.Store(persisted.UnixNano())
		c.putSession(sum, cs, gen)
	}
	return p, nil
}

// useCachedSession authenticates with a session held in memory: the same checks as with
// the store, and the store hears of the use at most every touchInterval. With a shared
// store, a session this node saw expire may have been kept alive through other nodes:
// ok is false, and the store decides.
func (s *Service) useCachedSession(ctx context.Context, sum [32]byte, cs *cachedSession, account string) (p refstore.Principal, err error, ok bool) {
	now := s.now()
	if subtle.ConstantTimeCompare([]byte(cs.principal.Account), []byte(account)) != 1 {
		return refstore.Principal{}, errUnauthorized("Token invalid or expired."), true
	}
	if now.UnixNano()-cs.lastUsed.Load() > int64(s.cfg.TokenTTL) {
		s.cache.dropSession(sum)
		if s.feed != nil {
			return refstore.Principal{}, nil, false
		}
		return refstore.Principal{}, errUnauthorized("Token invalid or expired."), true
	}
	if cs.touch(now, s.touchInterval()) {
		// A full or read-only disk must not stop reads (see Authenticate). A session the
		// store no longer has is gone, whatever the cache says.
		err := s.meta.TouchSession(ctx, cs.principal.SessionHash, now)
		switch refstore.ErrorCode(err) {
		case "", refstore.CodeStorageFull:
		case refstore.CodeUnauthorized:
			s.cache.dropSession(sum)
			return refstore.Principal{}, err, true
		default:
			return refstore.Principal{}, err, true
		}
	}
	return cs.principal, nil, true
}

// Logout ends a session. It is idempotent: an unknown or expired token is already ended.
func (s *Service) Logout(ctx context.Context, token, account string) error {
	if token == "" || account == "" {
		return errUnauthorized("Not authenticated: the X-Auth-Token and X-Auth-AccountId headers are required.")
	}
	hash := hashSecret(token)
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
	err = s.meta.DeleteSession(ctx, hash, ev)
	if s.cache != nil {
		s.cache.dropSession(sha256.Sum256([]byte(token)))
	}
	return err
}
