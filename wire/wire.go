// Package wire holds the JSON shapes of refstore's HTTP API: the bodies the server sends
// and the ones it accepts. The HTTP layer encodes and decodes them, and the Go client
// (client/) and the end-to-end tests use the same types, so that server and clients cannot
// drift apart. It depends on no other package of refstore but the domain (for the error
// codes and the catalog), and holds no behaviour: how values are filled is the server's.
package wire

import "github.com/refstore/refstore"

// Asset is the asset JSON of the project and job routes (attach, list).
type Asset struct {
	ProjectID    int64   `json:"projectId"`
	DocumentID   int64   `json:"documentId"`
	SegmentID    int64   `json:"segmentId"`
	Locale       *string `json:"locale"` // null for a language-neutral asset
	RelativePath string  `json:"relativePath"`
	Name         string  `json:"name"`
	Size         int64   `json:"size"`
	ContentType  string  `json:"contentType"`
	CreatedDate  string  `json:"createdDate"`  // .NET round-trip format, UTC, 7 fractional digits
	ModifiedDate string  `json:"modifiedDate"` // the same; its ticks are the download URL's v
	DownloadURL  string  `json:"downloadUrl"`
	ID           string  `json:"id"` // re_{digits}
}

// FlexAsset is the asset JSON of the Flex routes: documentId is a string, and name and size
// have other names.
type FlexAsset struct {
	ProjectID       int64   `json:"projectId"`
	DocumentID      string  `json:"documentId"`
	SegmentID       int64   `json:"segmentId"`
	Locale          *string `json:"locale"`
	RelativePath    string  `json:"relativePath"`
	FileName        string  `json:"fileName"`
	FileSizeInBytes int64   `json:"fileSizeInBytes"`
	ContentType     string  `json:"contentType"`
	CreatedDate     string  `json:"createdDate"`
	ModifiedDate    string  `json:"modifiedDate"`
	DownloadURL     string  `json:"downloadUrl"`
	ID              string  `json:"id"`
}

// LoginRequest is the body of POST /api/auth/token; the answer is the token as a JSON
// string.
type LoginRequest struct {
	AccountID string `json:"accountid"`
	Key       string `json:"key"`
}

// AttachRequest is the body of an attach (POST …/assets/{segmentid}).
type AttachRequest struct {
	FileToken    string `json:"filetoken"`
	Locale       string `json:"locale"`
	RelativePath string `json:"relativePath"`
}

// UploadResponse is the answer of POST /api/media/upload.
type UploadResponse struct {
	Result UploadResult `json:"result"`
}

// UploadResult is the uploaded file's token and name (folders included).
type UploadResult struct {
	Token string `json:"token"`
	Name  string `json:"name"`
}

// Error is Wordbee's error envelope, the body of every failed /api call but download by
// id and throttling (and of the admin API's).
type Error struct {
	Error  ErrorDetail   `json:"error"`
	Reason string        `json:"reason"`
	Code   refstore.Code `json:"code"`
}

// ErrorDetail is the inner object of Error. Title repeats Reason; Details carries the
// request id of a 5xx.
type ErrorDetail struct {
	Operation *string  `json:"operation"`
	Date      string   `json:"date"`
	Title     string   `json:"title"`
	Details   *string  `json:"details"`
	ErrorURL  *string  `json:"errorurl"`
	Messages  []string `json:"messages"`
}

// ThrottlingError is the different body Wordbee sends with 429.
type ThrottlingError struct {
	Error  ThrottlingDetail `json:"error"`
	Reason string           `json:"reason"`
	Code   refstore.Code    `json:"code"`
}

// ThrottlingDetail is the inner object of ThrottlingError.
type ThrottlingDetail struct {
	Type    string `json:"type"`
	Message string `json:"message"`
}

// AssetIDError is the envelope of GET /api/assets/{assetId}/download (SPEC §6).
type AssetIDError struct {
	Code    refstore.Code `json:"code"`
	Msg     string        `json:"msg"`
	Data    any           `json:"data"`
	Success bool          `json:"success"`
	Failed  bool          `json:"failed"`
}

// Catalog is the body of PUT /admin/v1/catalog, and CatalogAccount that of GET
// /admin/v1/accounts/{account} (the domain's catalog is its own wire shape).
type (
	Catalog        = refstore.Catalog
	CatalogAccount = refstore.CatalogAccount
)

// CatalogResult is the answer of PUT /admin/v1/catalog.
type CatalogResult struct {
	Accounts int `json:"accounts"`
}

// Accounts is the answer of GET /admin/v1/accounts.
type Accounts struct {
	Accounts []string `json:"accounts"`
}

// Usage is an account's storage usage (GET /admin/v1/accounts/{account}/usage).
type Usage struct {
	Account    string `json:"account"`
	Bytes      int64  `json:"bytes"`
	Blobs      int64  `json:"blobs"`
	Assets     int64  `json:"assets"`
	QuotaBytes int64  `json:"quotaBytes"`
}

// Key is an API key as the admin API shows it; Key, the secret, only in the answer that
// issued it.
type Key struct {
	ID      string `json:"id"`
	Key     string `json:"key,omitempty"`
	Created string `json:"created"`
}

// Sweep is what POST /admin/v1/sweep removed.
type Sweep struct {
	Sessions   int64 `json:"sessions"`
	Uploads    int   `json:"uploads"`
	Blobs      int   `json:"blobs"`
	AuditRows  int64 `json:"auditRows"`
	Deliveries int64 `json:"deliveries"` // webhook deliveries past their retention
}

// WebhookRequest is the body of POST /admin/v1/accounts/{account}/webhooks.
type WebhookRequest struct {
	URL string `json:"url"`
	// Events filters what is sent (asset.attached, asset.replaced, asset.deleted,
	// upload.completed); empty or absent: every event.
	Events      []string `json:"events,omitempty"`
	Description string   `json:"description,omitempty"`
}

// Webhook is an endpoint as the admin API shows it; Secret only in the answer that
// created it.
type Webhook struct {
	ID          string   `json:"id"`
	URL         string   `json:"url"`
	Events      []string `json:"events"` // empty: every event
	Description string   `json:"description"`
	Created     string   `json:"created"`
	Secret      string   `json:"secret,omitempty"` // whsec_…, for verifying signatures
}

// Webhooks is the answer of GET /admin/v1/accounts/{account}/webhooks.
type Webhooks struct {
	Webhooks []Webhook `json:"webhooks"`
}

// Delivery is one event on its way to one endpoint (GET …/webhooks/deliveries).
type Delivery struct {
	ID          string         `json:"id"`
	EndpointID  string         `json:"endpointId"`
	Event       refstore.Event `json:"event"` // exactly the body that is sent
	State       string         `json:"state"` // pending, delivered, failed
	Attempts    int            `json:"attempts"`
	NextAttempt *string        `json:"nextAttempt"` // when a pending delivery is due
	LastStatus  int            `json:"lastStatus"`  // the endpoint's last HTTP status; 0 when none came
	LastError   string         `json:"lastError"`
	Created     string         `json:"created"`
	DeliveredAt *string        `json:"deliveredAt"`
}

// Deliveries is the answer of GET /admin/v1/accounts/{account}/webhooks/deliveries.
type Deliveries struct {
	Deliveries []Delivery `json:"deliveries"`
}

// AuditEvent is one row of GET /admin/v1/audit. Ids are JSON numbers except the row's own
// (63 random bits, more than a JavaScript number holds) and the asset's (re_…).
type AuditEvent struct {
	ID         string  `json:"id"`
	Time       string  `json:"time"` // RFC 3339, nanoseconds, UTC
	Account    string  `json:"account"`
	Actor      string  `json:"actor"`
	UserID     int64   `json:"userId"`
	Action     string  `json:"action"`
	ProjectID  int64   `json:"projectId"`
	DocumentID int64   `json:"documentId"`
	SegmentID  int64   `json:"segmentId"`
	AssetID    *string `json:"assetId"`
	Target     string  `json:"target"`
	Detail     string  `json:"detail"`
	Count      int64   `json:"count"`
	RequestID  string  `json:"requestId"`
	Outcome    string  `json:"outcome"`
}

// AuditPage is a page of the audit log, newest first.
type AuditPage struct {
	Events []AuditEvent `json:"events"`
	// Next continues the listing with ?after=; null on the last page.
	Next *string `json:"next"`
}

// Status is the body of /healthz and /readyz; Reason says why a node is not ready.
type Status struct {
	Status string `json:"status"`
	Reason string `json:"reason,omitempty"`
}
