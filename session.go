package refstore

import (
	"context"
	"time"
)

// APIKey is a user's API key, kept only as its hash.
type APIKey struct {
	ID      string // short public id, used to list and revoke
	Hash    string
	Account string
	UserID  int64
	Created time.Time
}

// Session is a token obtained with an API key, kept only as its hash.
type Session struct {
	Hash     string
	Account  string
	UserID   int64
	KeyHash  string
	Created  time.Time
	LastUsed time.Time
}

// AuthStore holds API keys and sessions.
type AuthStore interface {
	// UserByKey finds the user owning an API key of the account.
	UserByKey(ctx context.Context, account, keyHash string) (int64, error)
	// KeyOwner finds the account and user owning an API key, by its hash alone (keys are
	// unique across accounts); CodeUnauthorized when no account has it.
	KeyOwner(ctx context.Context, keyHash string) (account string, userID int64, err error)
	// AddAPIKey stores k as given (its ID, Hash and Created), so that a key's hash moved
	// from another store keeps the key working. Adding a key the user already has is a
	// no-op; a key of another user is CodeConflict.
	AddAPIKey(ctx context.Context, k APIKey, audit *AuditEvent) error
	// APIKeys lists a user's keys (ids and creation times, without hashes).
	APIKeys(ctx context.Context, account string, userID int64) ([]APIKey, error)
	// AccountAPIKeys lists every key of an account with its hash, sorted by user and id,
	// for export.
	AccountAPIKeys(ctx context.Context, account string) ([]APIKey, error)
	// RevokeAPIKey removes a key and ends every session opened with it.
	RevokeAPIKey(ctx context.Context, account string, userID int64, id string, audit *AuditEvent) error

	CreateSession(ctx context.Context, s Session, audit *AuditEvent) error
	// Session finds a session by token hash; CodeUnauthorized when there is none.
	Session(ctx context.Context, hash string) (Session, error)
	// TouchSession records a use of a session at at (last uses never move back);
	// CodeUnauthorized when the session no longer exists (swept, logged out, revoked).
	TouchSession(ctx context.Context, hash string, at time.Time) error
	DeleteSession(ctx context.Context, hash string, audit *AuditEvent) error
	DeleteSessionsIdleSince(ctx context.Context, before time.Time) (int64, error)
}
