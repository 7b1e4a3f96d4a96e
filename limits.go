package refstore

import (
	"context"
	"time"
)

// Usage is what an account stores: its distinct contents (the same bytes are stored once
// however often they are attached), live uploads included, and its quota.
type Usage struct {
	Account string
	Bytes   int64 // sum of the sizes of the account's blobs
	Blobs   int64 // number of distinct contents
	Assets  int64 // number of assets (attachments)
	// QuotaBytes is the account's quota; 0 means unlimited.
	QuotaBytes int64
}

// LimitStore keeps what limits share across nodes: accounts' storage usage and quotas,
// rate limits, and the request counters of rate limiting.
type LimitStore interface {
	// AccountUsage returns an account's usage; CodeNotFound for an unknown account.
	AccountUsage(ctx context.Context, account string) (Usage, error)
	// AccountLimits returns the accounts whose catalog sets a rate limit or a quota.
	AccountLimits(ctx context.Context) (map[string]AccountLimit, error)
	// AddRequests adds counts of requests (by API key hash) to the counters of the window
	// that starts at window, and returns the counters' new totals.
	AddRequests(ctx context.Context, window time.Time, counts map[string]int64) (map[string]int64, error)
	// PruneRequests removes the counters of windows that started before before.
	PruneRequests(ctx context.Context, before time.Time) error
}

// AccountLimit is what an account's catalog entry sets.
type AccountLimit struct {
	// RateLimit is requests per API key and window: 0 the server's default, -1 none.
	RateLimit int64
	// QuotaBytes caps the bytes stored; 0 means unlimited.
	QuotaBytes int64
}

// ThrottledError refuses a request that came too often or too many at once (429). It
// tells the client when to come back.
type ThrottledError struct {
	Err   *Error
	After time.Duration
}

// Throttled returns a ThrottledError with a formatted message.
func Throttled(after time.Duration, format string, args ...any) *ThrottledError {
	return &ThrottledError{Err: Errorf(CodeRateLimited, format, args...), After: after}
}

func (e *ThrottledError) Error() string { return e.Err.Error() }
func (e *ThrottledError) Unwrap() error { return e.Err }

// RetryAfter is the wait, in whole seconds and at least one.
func (e *ThrottledError) RetryAfter() time.Duration {
	return max(time.Second, (e.After+time.Second-1)/time.Second*time.Second)
}
