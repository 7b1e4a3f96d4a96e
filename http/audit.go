package http

import (
	"encoding/base64"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/wire"
)

// Pages of the audit log.
const (
	defaultAuditLimit = 100
	maxAuditLimit     = 1000
)

// auditLog answers GET /admin/v1/audit?account=&project=&since=&until=&limit=&after=.
func (s *Server) auditLog(w http.ResponseWriter, r *http.Request) error {
	f, err := parseAuditFilter(r)
	if err != nil {
		return err
	}
	limit := f.Limit
	f.Limit++ // one more tells whether a next page exists
	events, err := s.svc.AuditLog(r.Context(), f)
	if err != nil {
		return err
	}
	page := wire.AuditPage{Events: make([]wire.AuditEvent, 0, min(len(events), limit))}
	if len(events) > limit {
		events = events[:limit]
		last := events[limit-1]
		next := encodeAuditCursor(refstore.AuditPosition{Time: last.Time, ID: last.ID})
		page.Next = &next
	}
	for _, ev := range events {
		out := wire.AuditEvent{ID: strconv.FormatInt(ev.ID, 10), Time: ev.Time.UTC().Format(time.RFC3339Nano),
			Account: ev.Account, Actor: ev.Actor, UserID: ev.UserID, Action: string(ev.Action), ProjectID: ev.ProjectID,
			DocumentID: ev.DocumentID, SegmentID: ev.SegmentID, Target: ev.Target, Detail: ev.Detail, Count: ev.Count,
			RequestID: ev.RequestID, Outcome: ev.Outcome}
		if ev.AssetID != 0 {
			id := refstore.AssetIDString(ev.AssetID)
			out.AssetID = &id
		}
		page.Events = append(page.Events, out)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

func parseAuditFilter(r *http.Request) (refstore.AuditFilter, error) {
	q := r.URL.Query()
	f := refstore.AuditFilter{Limit: defaultAuditLimit}
	if v := q.Get("account"); v != "" {
		if !refstore.ValidAccountID(v) {
			return f, refstore.InvalidParam("account", "not an account id")
		}
		f.Account = v
	}
	if v := q.Get("project"); v != "" {
		id, err := refstore.ParseID("project", v)
		if err != nil {
			return f, err
		}
		f.ProjectID = id
	}
	var err error
	if f.Since, err = parseAuditTime(q, "since"); err != nil {
		return f, err
	}
	if f.Until, err = parseAuditTime(q, "until"); err != nil {
		return f, err
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditLimit {
			return f, refstore.InvalidParam("limit", "must be a number from 1 to %d", maxAuditLimit)
		}
		f.Limit = n
	}
	if v := q.Get("after"); v != "" {
		pos, ok := decodeAuditCursor(v)
		if !ok {
			return f, refstore.InvalidParam("after", "not a cursor returned as next by this route")
		}
		f.After = &pos
	}
	return f, nil
}

func parseAuditTime(q map[string][]string, param string) (time.Time, error) {
	v := ""
	if vs := q[param]; len(vs) > 0 {
		v = vs[0]
	}
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return t, refstore.InvalidParam(param, "must be an RFC 3339 time such as 2026-01-02T15:04:05Z")
	}
	return t, nil
}

// The cursor is opaque to clients: the position of the page's last row, base64url-encoded.
func encodeAuditCursor(p refstore.AuditPosition) string {
	raw := strconv.FormatInt(p.Time.UnixNano(), 10) + "." + strconv.FormatInt(p.ID, 10)
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

func decodeAuditCursor(s string) (refstore.AuditPosition, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return refstore.AuditPosition{}, false
	}
	at, id, ok := strings.Cut(string(raw), ".")
	if !ok {
		return refstore.AuditPosition{}, false
	}
	ns, err1 := strconv.ParseInt(at, 10, 64)
	n, err2 := strconv.ParseInt(id, 10, 64)
	if err1 != nil || err2 != nil || n <= 0 {
		return refstore.AuditPosition{}, false
	}
	return refstore.AuditPosition{Time: time.Unix(0, ns), ID: n}, true
}
