package http

import (
	"net/http"
	"strconv"
	"time"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/wire"
)

// The admin API of webhooks: an account's endpoints, and the deliveries of its events
// (docs/webhooks.md).

// createWebhook answers POST /admin/v1/accounts/{account}/webhooks with the new endpoint
// and its signing secret, shown this once.
func (s *Server) createWebhook(w http.ResponseWriter, r *http.Request) error {
	var req wire.WebhookRequest
	if err := decodeJSON(w, r, &req); err != nil {
		return err
	}
	e, err := s.svc.CreateWebhook(r.Context(), r.PathValue("account"), req.URL, req.Events, req.Description)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store") // it carries the secret
	writeJSON(w, http.StatusCreated, webhookJSON(e))
	return nil
}

func webhookJSON(e refstore.WebhookEndpoint) wire.Webhook {
	events := make([]string, len(e.Events))
	for i, t := range e.Events {
		events[i] = string(t)
	}
	return wire.Webhook{ID: e.ID, URL: e.URL, Events: events, Description: e.Description,
		Created: refstore.FormatDate(e.Created), Secret: e.Secret}
}

// listWebhooks answers GET /admin/v1/accounts/{account}/webhooks, without secrets.
func (s *Server) listWebhooks(w http.ResponseWriter, r *http.Request) error {
	list, err := s.svc.Webhooks(r.Context(), r.PathValue("account"))
	if err != nil {
		return err
	}
	out := wire.Webhooks{Webhooks: make([]wire.Webhook, len(list))}
	for i, e := range list {
		e.Secret = ""
		out.Webhooks[i] = webhookJSON(e)
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// deleteWebhook answers DELETE /admin/v1/accounts/{account}/webhooks/{id}.
func (s *Server) deleteWebhook(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.DeleteWebhook(r.Context(), r.PathValue("account"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// listDeliveries answers GET /admin/v1/accounts/{account}/webhooks/deliveries
// [?endpoint=we_…][&state=pending|delivered|failed][&limit=N], newest first.
func (s *Server) listDeliveries(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	f := refstore.DeliveryFilter{Account: r.PathValue("account"), EndpointID: q.Get("endpoint"),
		State: refstore.DeliveryState(q.Get("state")), Limit: 100}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return refstore.InvalidParam("limit", "give a number from 1 to 1000")
		}
		f.Limit = n
	}
	list, err := s.svc.Deliveries(r.Context(), f)
	if err != nil {
		return err
	}
	out := wire.Deliveries{Deliveries: make([]wire.Delivery, len(list))}
	for i, d := range list {
		out.Deliveries[i] = wire.Delivery{ID: d.ID, EndpointID: d.EndpointID, Event: d.Event, State: string(d.State),
			Attempts: d.Attempts, NextAttempt: optionalDate(d.NextAttempt), LastStatus: d.LastStatus,
			LastError: d.LastError, Created: refstore.FormatDate(d.Created), DeliveredAt: optionalDate(d.DeliveredAt)}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// replayDelivery answers POST …/webhooks/deliveries/{id}/replay: the delivery is sent again
// with the same event and webhook-id.
func (s *Server) replayDelivery(w http.ResponseWriter, r *http.Request) error {
	if err := s.svc.ReplayDelivery(r.Context(), r.PathValue("account"), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusAccepted)
	return nil
}

// optionalDate renders a time, or null when it is not set.
func optionalDate(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	d := refstore.FormatDate(t)
	return &d
}
