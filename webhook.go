package refstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Webhooks tell an account's own systems what changed, as it changes: every mutation of
// the segment assets writes its events into an outbox in the mutation's own transaction,
// so that an event is never lost (a commit without its event) nor invented (an event
// without its commit); deliverers on any node send them later, retrying for a day.

// EventType names what an event reports.
type EventType string

const (
	EventAssetAttached   EventType = "asset.attached"   // a file token was attached at a new address
	EventAssetReplaced   EventType = "asset.replaced"   // … at an address that held an asset (new bytes, new v)
	EventAssetDeleted    EventType = "asset.deleted"    // one asset deleted (a delete-all sends one per asset)
	EventUploadCompleted EventType = "upload.completed" // a media upload (or a resumable one) completed
)

// EventTypes lists every event type, in a fixed order.
var EventTypes = []EventType{EventAssetAttached, EventAssetReplaced, EventAssetDeleted, EventUploadCompleted}

// ParseEventTypes checks an endpoint's event filter. An empty filter means every event.
func ParseEventTypes(names []string) ([]EventType, error) {
	var out []EventType
	for _, n := range names {
		t := EventType(n)
		if !slices.Contains(EventTypes, t) {
			return nil, InvalidParam("events", "unknown event %q (use %s)", truncate(n, 40), eventTypeList())
		}
		if !slices.Contains(out, t) {
			out = append(out, t)
		}
	}
	return out, nil
}

func eventTypeList() string {
	names := make([]string, len(EventTypes))
	for i, t := range EventTypes {
		names[i] = string(t)
	}
	return strings.Join(names, ", ")
}

// WebhookEndpoint is where an account's events are sent.
type WebhookEndpoint struct {
	ID      string // "we_" + random, public
	Account string
	URL     string
	// Secret signs every delivery (Standard Webhooks: "whsec_" + base64 of the key). It is
	// shown once, when the endpoint is created, and kept to sign: a receiver verifies it.
	Secret string
	// Events filters what is sent; empty: every event.
	Events      []EventType
	Description string
	Created     time.Time
}

// Wants reports whether the endpoint subscribes to an event type.
func (e *WebhookEndpoint) Wants(t EventType) bool {
	return len(e.Events) == 0 || slices.Contains(e.Events, t)
}

// MaxWebhookURLBytes bounds an endpoint URL.
const MaxWebhookURLBytes = 2048

// ValidateWebhookURL checks the shape of an endpoint URL: absolute http or https, a host,
// no credentials in it (they would be logged and shown), no fragment. Whether the host may
// be reached (internal networks) is checked by the deliverer's guard, at creation and at
// every connection.
func ValidateWebhookURL(raw string) (*url.URL, error) {
	if raw == "" {
		return nil, InvalidParam("url", "required")
	}
	if len(raw) > MaxWebhookURLBytes {
		return nil, InvalidParam("url", "is longer than %d bytes", MaxWebhookURLBytes)
	}
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return nil, InvalidParam("url", "%q is not a URL", truncate(raw, 60))
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, InvalidParam("url", "must start with https:// (or http://)")
	case u.Host == "" || u.Hostname() == "":
		return nil, InvalidParam("url", "needs a host")
	case u.User != nil:
		return nil, InvalidParam("url", "must not carry a user name or password")
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return nil, InvalidParam("url", "must not carry a fragment (#…)")
	}
	return u, nil
}

// Event is one change, as sent to the endpoints that want it. Its ID is the
// webhook-id of every delivery of it, retries included, so that receivers can drop
// duplicates: delivery is at least once.
type Event struct {
	ID   string    `json:"id"` // "msg_" + random
	Type EventType `json:"type"`
	Time time.Time `json:"timestamp"`
	Data EventData `json:"data"`
}

// EventData is what changed. Fields that do not apply are empty (a completed upload has
// no segment yet).
type EventData struct {
	Account    string  `json:"account"`
	Scope      string  `json:"scope,omitempty"` // the scope of the call: pr7214, jbs9927, jbc9927, or a Flex document id
	ProjectID  int64   `json:"projectId,omitempty"`
	DocumentID int64   `json:"documentId,omitempty"`
	SegmentID  int64   `json:"segmentId,omitempty"`
	AssetID    string  `json:"assetId,omitempty"` // re_…
	Locale     *string `json:"locale"`            // null when language-neutral
	// Folder is the relativePath in Wordbee's form (backslashes), "" at the segment root.
	Folder string `json:"relativePath"`
	Name   string `json:"name"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	// V is the asset's version (the `v` of its download URL); empty for uploads and for
	// deletions.
	V     string     `json:"v,omitempty"`
	Actor EventActor `json:"actor"`
}

// EventActor is who made the change.
type EventActor struct {
	Type   string `json:"type"` // ActorUser or ActorAdmin
	UserID int64  `json:"userId,omitempty"`
}

// DeliveryState is where a delivery stands.
type DeliveryState string

const (
	DeliveryPending   DeliveryState = "pending"   // waiting for its next attempt
	DeliveryDelivered DeliveryState = "delivered" // the endpoint answered 2xx
	DeliveryFailed    DeliveryState = "failed"    // every attempt failed for a day; replay sends it again
)

// Delivery is one event on its way to one endpoint.
type Delivery struct {
	ID         string // "wd_" + random
	Account    string
	EndpointID string
	Event      Event
	State      DeliveryState
	Attempts   int
	// NextAttempt is when a pending delivery is due.
	NextAttempt time.Time
	// LastStatus and LastError describe the last attempt (0 and "" before the first).
	LastStatus  int
	LastError   string
	Created     time.Time
	DeliveredAt time.Time
}

// Lag is how long a delivery has waited since its event, at now.
func (d *Delivery) Lag(now time.Time) time.Duration { return now.Sub(d.Event.Time) }

// DeliveryResult is the outcome of one attempt.
type DeliveryResult struct {
	Status int    // the HTTP status, 0 when no response came
	Err    string // why the attempt failed, for the admin's list ("" on success)
	// Next is when to try again; zero means the delivery is done (delivered or failed).
	Next  time.Time
	State DeliveryState
	At    time.Time
}

// ClaimedDelivery is a delivery taken by one deliverer, with where to send it.
type ClaimedDelivery struct {
	Delivery
	URL    string
	Secret string
	// Lease is the claim's token: completing with another lease (the claim expired and
	// another node took the delivery) changes nothing.
	Lease string
}

// WebhookStore keeps endpoints and the outbox of deliveries. The events themselves are
// written by the mutations (Attach, DeleteAssets, CreateUpload …) in their own
// transactions, one delivery per endpoint that wants the event.
type WebhookStore interface {
	CreateWebhook(ctx context.Context, e WebhookEndpoint) error
	// Webhooks lists an account's endpoints (without secrets), oldest first.
	Webhooks(ctx context.Context, account string) ([]WebhookEndpoint, error)
	// DeleteWebhook removes an endpoint and its pending deliveries; CodeNotFound when
	// there is none.
	DeleteWebhook(ctx context.Context, account, id string) error

	// ClaimDeliveries takes up to limit pending deliveries due at now for lease long: a
	// claimed delivery is not handed to another caller (another node) until the lease
	// runs out, so that each is sent by one node in the normal case.
	ClaimDeliveries(ctx context.Context, now time.Time, limit int, lease time.Duration) ([]ClaimedDelivery, error)
	// CompleteDelivery records an attempt of a claimed delivery.
	CompleteDelivery(ctx context.Context, d ClaimedDelivery, r DeliveryResult) error
	// Deliveries lists an account's deliveries, newest first, optionally of one endpoint
	// or in one state.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, error)
	// ReplayDelivery makes a delivery pending again, due at now (its event and id kept);
	// CodeNotFound when the account has no such delivery.
	ReplayDelivery(ctx context.Context, account, id string, now time.Time) error
	// WebhookBacklog counts pending deliveries and the age of the oldest, for metrics.
	WebhookBacklog(ctx context.Context, now time.Time) (pending int64, oldest time.Duration, err error)
	// PruneDeliveries removes the delivered and failed deliveries created before before.
	PruneDeliveries(ctx context.Context, before time.Time) (int64, error)
}

// EventNotifier is implemented by metadata stores that can tell, as a mutation commits,
// that it wrote webhook events: the node's deliverer then sends them without waiting for
// its next poll.
type EventNotifier interface {
	OnEvents(fn func())
}

// DeliveryFilter selects deliveries.
type DeliveryFilter struct {
	Account    string
	EndpointID string        // "" for every endpoint
	State      DeliveryState // "" for every state
	Limit      int
}

// WebhookConfig is the part of the deliverer's configuration the domain names: the
// deliveries of an event are tried for MaxAge, then marked failed.
const WebhookMaxAge = 24 * time.Hour

// String names an endpoint in logs: never its secret, never the URL's query (it may carry
// a token of the receiver).
func (e *WebhookEndpoint) String() string {
	u, err := url.Parse(e.URL)
	if err != nil {
		return e.ID
	}
	return fmt.Sprintf("%s (%s://%s%s)", e.ID, u.Scheme, u.Host, u.Path)
}

// NewEventID draws an event id ("msg_" and 24 hex digits): the webhook-id of every delivery
// of the event.
func NewEventID() string {
	var b [12]byte
	rand.Read(b[:])
	return "msg_" + hex.EncodeToString(b[:])
}

// eventActor names who made a change, from the mutation's audit event.
func eventActor(by *AuditEvent) EventActor {
	if by == nil || by.Actor == "" {
		return EventActor{Type: ActorAdmin}
	}
	return EventActor{Type: by.Actor, UserID: by.UserID}
}

// AssetEvent describes a change of an asset, made by the mutation audited as by, at at.
func AssetEvent(t EventType, a *Asset, by *AuditEvent, at time.Time) Event {
	var locale *string
	if a.Locale != "" {
		l := a.Locale
		locale = &l
	}
	d := EventData{Account: a.Account, ProjectID: a.ProjectID, DocumentID: a.DocumentID, SegmentID: a.SegmentID,
		AssetID: AssetIDString(a.ID), Locale: locale, Folder: a.RelativePath(), Name: a.Name, Size: a.Size,
		SHA256: a.SHA256, V: a.Version().String(), Actor: eventActor(by)}
	if by != nil {
		d.Scope = by.Scope
	}
	return Event{ID: NewEventID(), Type: t, Time: at.UTC(), Data: d}
}

// UploadEvent describes a completed media upload (its file token is never part of it).
func UploadEvent(u *Upload, by *AuditEvent, at time.Time) Event {
	return Event{ID: NewEventID(), Type: EventUploadCompleted, Time: at.UTC(), Data: EventData{Account: u.Account,
		Folder: (&Address{Folders: u.Folders}).RelativePath(), Name: u.Name, Size: u.Size, SHA256: u.SHA256,
		Actor: eventActor(by)}}
}
