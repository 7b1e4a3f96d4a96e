package service

import (
	"context"
	"slices"
	"strings"

	"github.com/refstore/refstore"
	"github.com/refstore/refstore/webhook"
)

// maxWebhooksPerAccount bounds the endpoints of an account: every event is written once per
// endpoint that wants it, in the mutation's own transaction.
const maxWebhooksPerAccount = 20

// CreateWebhook adds an endpoint to an account and returns it with its signing secret,
// which is shown this once. The URL must be one the deliverer may reach: an endpoint on an
// internal network is refused here (unless the operator allowed that network), so that the
// admin learns it at once rather than from failed deliveries.
func (s *Service) CreateWebhook(ctx context.Context, account, rawURL string, eventNames []string, description string) (refstore.WebhookEndpoint, error) {
	u, err := refstore.ValidateWebhookURL(rawURL)
	if err != nil {
		return refstore.WebhookEndpoint{}, err
	}
	events, err := refstore.ParseEventTypes(eventNames)
	if err != nil {
		return refstore.WebhookEndpoint{}, err
	}
	if len(description) > 256 {
		return refstore.WebhookEndpoint{}, refstore.InvalidParam("description", "is longer than 256 bytes")
	}
	if err := s.cfg.WebhookGuard.CheckURL(ctx, u, nil); err != nil {
		return refstore.WebhookEndpoint{}, refstore.InvalidParam("url", "%v", err)
	}
	if err := s.accountExists(ctx, account); err != nil {
		return refstore.WebhookEndpoint{}, err
	}
	existing, err := s.meta.Webhooks(ctx, account)
	if err != nil {
		return refstore.WebhookEndpoint{}, err
	}
	if len(existing) >= maxWebhooksPerAccount {
		return refstore.WebhookEndpoint{}, refstore.Errorf(refstore.CodeConflict,
			"Account %s already has %d webhook endpoints, the most it may have.", account, maxWebhooksPerAccount)
	}
	e := refstore.WebhookEndpoint{ID: "we_" + refstore.NewHexID()[:24], Account: account, URL: u.String(),
		Secret: webhook.NewSecret(), Events: events, Description: strings.TrimSpace(description), Created: s.now()}
	if err := s.meta.CreateWebhook(ctx, e); err != nil {
		return refstore.WebhookEndpoint{}, err
	}
	return e, nil
}

// Webhooks lists an account's endpoints, without their secrets.
func (s *Service) Webhooks(ctx context.Context, account string) ([]refstore.WebhookEndpoint, error) {
	if err := s.accountExists(ctx, account); err != nil {
		return nil, err
	}
	return s.meta.Webhooks(ctx, account)
}

// DeleteWebhook removes an endpoint and its deliveries.
func (s *Service) DeleteWebhook(ctx context.Context, account, id string) error {
	return s.meta.DeleteWebhook(ctx, account, id)
}

// Deliveries lists an account's deliveries, newest first.
func (s *Service) Deliveries(ctx context.Context, f refstore.DeliveryFilter) ([]refstore.Delivery, error) {
	switch f.State {
	case "", refstore.DeliveryPending, refstore.DeliveryDelivered, refstore.DeliveryFailed:
	default:
		return nil, refstore.InvalidParam("state", "use pending, delivered or failed")
	}
	if err := s.accountExists(ctx, f.Account); err != nil {
		return nil, err
	}
	return s.meta.Deliveries(ctx, f)
}

// ReplayDelivery sends a delivery again, with its event and webhook-id, as soon as a
// deliverer is free.
func (s *Service) ReplayDelivery(ctx context.Context, account, id string) error {
	return s.meta.ReplayDelivery(ctx, account, id, s.now())
}

// accountExists answers CodeNotFound for an unknown account.
func (s *Service) accountExists(ctx context.Context, account string) error {
	ids, err := s.meta.Accounts(ctx)
	if err != nil {
		return err
	}
	if !slices.Contains(ids, account) {
		return refstore.Errorf(refstore.CodeNotFound, "Account %s does not exist.", account)
	}
	return nil
}
