package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/refstore/refstore"
)

// Store is the outbox as the deliverer uses it (refstore.WebhookStore implements it).
type Store interface {
	ClaimDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]refstore.ClaimedDelivery, error)
	CompleteDelivery(ctx context.Context, d refstore.ClaimedDelivery, r refstore.DeliveryResult) error
}

// Config tunes a deliverer; zero values take the defaults.
type Config struct {
	Guard Guard
	// Workers is how many deliveries a node sends at once (default 4).
	Workers int
	// Timeout bounds one attempt, connection to last byte (default 10 s).
	Timeout time.Duration
	// Poll is how often the outbox is read when no commit announced events (default 1 s):
	// events written by other nodes, and retries falling due, are found this way.
	Poll time.Duration
	// MaxAge is how long an event is retried before its delivery is marked failed
	// (default refstore.WebhookMaxAge, a day).
	MaxAge time.Duration
	// FirstRetry is the wait after the first failure (default 5 s); each further failure
	// doubles it, up to MaxRetry (default 1 h), with ±20% jitter.
	FirstRetry, MaxRetry time.Duration
	// Now is the clock (tests).
	Now func() time.Time
}

func (c *Config) setDefaults() {
	if c.Workers <= 0 {
		c.Workers = 4
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.Poll <= 0 {
		c.Poll = time.Second
	}
	if c.MaxAge <= 0 {
		c.MaxAge = refstore.WebhookMaxAge
	}
	if c.FirstRetry <= 0 {
		c.FirstRetry = 5 * time.Second
	}
	if c.MaxRetry <= 0 {
		c.MaxRetry = time.Hour
	}
	if c.Now == nil {
		c.Now = time.Now
	}
}

// Deliverer sends due deliveries. Several nodes may run one each on a shared outbox: the
// store's claims (row locks, SKIP LOCKED on PostgreSQL) give every delivery to one node,
// and a node that dies mid-delivery loses its claim when the lease runs out, so another
// sends it again with the same webhook-id (at least once).
type Deliverer struct {
	store  Store
	cfg    Config
	log    *slog.Logger
	client *http.Client
	wake   chan struct{}
	// OnAttempt, when set, is told of every attempt (metrics: delivery lag, outcomes).
	OnAttempt func(d refstore.ClaimedDelivery, r refstore.DeliveryResult)
}

// New returns a deliverer over an outbox.
func New(store Store, cfg Config, log *slog.Logger) *Deliverer {
	cfg.setDefaults()
	return &Deliverer{store: store, cfg: cfg, log: log, client: NewClient(cfg.Guard, cfg.Timeout), wake: make(chan struct{}, 1)}
}

// NewClient returns an HTTP client for webhooks: guarded dialing, no proxy from the
// environment (the proxy would be dialled instead of the endpoint), no redirects (a
// redirect could lead anywhere, the guard notwithstanding a second hop would be a second
// decision), bounded time.
func NewClient(g Guard, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: g.control}
	return &http.Client{
		Timeout: timeout,
		Transport: &http.Transport{
			Proxy:                 nil,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   4,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Notify wakes the deliverer: a commit just wrote events.
func (d *Deliverer) Notify() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run sends due deliveries until ctx ends.
func (d *Deliverer) Run(ctx context.Context) {
	t := time.NewTicker(d.cfg.Poll)
	defer t.Stop()
	for {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.log.Warn("reading the webhook outbox failed; retrying", "err", err)
		}
		if n == d.cfg.Workers && err == nil {
			continue // more may be due
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// RunOnce claims up to Workers due deliveries, sends them in parallel and records the
// outcomes; it returns how many it claimed.
func (d *Deliverer) RunOnce(ctx context.Context) (int, error) {
	// The lease outlasts an attempt and its recording, so that a live node keeps what it
	// claimed.
	lease := 2*d.cfg.Timeout + 10*time.Second
	batch, err := d.store.ClaimDeliveries(ctx, d.cfg.Now(), d.cfg.Workers, lease)
	if err != nil || len(batch) == 0 {
		return 0, err
	}
	var wg sync.WaitGroup
	for _, c := range batch {
		wg.Go(func() {
			r := d.attempt(ctx, c)
			if ctx.Err() != nil {
				return // shutting down: the lease runs out and the delivery is sent again
			}
			// Recording must not be cut off by the caller's end: the attempt happened.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if err := d.store.CompleteDelivery(rctx, c, r); err != nil {
				d.log.Warn("recording a webhook attempt failed; it will be sent again", "delivery", c.ID, "err", err)
			}
			if d.OnAttempt != nil {
				d.OnAttempt(c, r)
			}
		})
	}
	wg.Wait()
	return len(batch), nil
}

// attempt sends one delivery and decides what comes next.
func (d *Deliverer) attempt(ctx context.Context, c refstore.ClaimedDelivery) refstore.DeliveryResult {
	now := d.cfg.Now()
	status, err := d.send(ctx, c, now)
	r := refstore.DeliveryResult{Status: status, At: d.cfg.Now()}
	if err == nil {
		r.State = refstore.DeliveryDelivered
		return r
	}
	r.Err = err.Error()
	next := r.At.Add(d.retryAfter(c.Attempts + 1))
	if next.Sub(c.Event.Time) > d.cfg.MaxAge {
		r.State = refstore.DeliveryFailed
		d.log.Warn("webhook delivery failed for good", "delivery", c.ID, "endpoint", c.EndpointID,
			"attempts", c.Attempts+1, "status", status, "err", err)
		return r
	}
	r.State, r.Next = refstore.DeliveryPending, next
	return r
}

// retryAfter is the wait after the n-th failed attempt: exponential, capped, jittered so
// that the retries of many deliveries to one recovering endpoint do not arrive at once.
func (d *Deliverer) retryAfter(failures int) time.Duration {
	wait := d.cfg.FirstRetry
	for i := 1; i < failures && wait < d.cfg.MaxRetry; i++ {
		wait *= 2
	}
	wait = min(wait, d.cfg.MaxRetry)
	return time.Duration(float64(wait) * (0.8 + 0.4*rand.Float64()))
}

// send POSTs one delivery, signed. A 2xx answer delivers it.
func (d *Deliverer) send(ctx context.Context, c refstore.ClaimedDelivery, now time.Time) (int, error) {
	body, err := json.Marshal(c.Event)
	if err != nil {
		return 0, err
	}
	sig, err := Sign(c.Secret, c.Event.ID, now, body)
	if err != nil {
		return 0, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	h := req.Header
	h.Set("Content-Type", "application/json")
	h.Set("User-Agent", "refstore-webhooks/1")
	h.Set("Webhook-Id", c.Event.ID)
	h.Set("Webhook-Timestamp", strconv.FormatInt(now.Unix(), 10))
	h.Set("Webhook-Signature", sig)
	resp, err := d.client.Do(req)
	if err != nil {
		return 0, attemptError(err)
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 != 2 {
		if resp.StatusCode/100 == 3 {
			return resp.StatusCode, fmt.Errorf("the endpoint answered %d: redirects are not followed", resp.StatusCode)
		}
		return resp.StatusCode, fmt.Errorf("the endpoint answered %d", resp.StatusCode)
	}
	return resp.StatusCode, nil
}

// attemptError shortens a transport error to what an admin can act on: without the URL
// (its query may carry a receiver's token), which url.Error would repeat.
func attemptError(err error) error {
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return errors.New("the endpoint did not answer in time")
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
