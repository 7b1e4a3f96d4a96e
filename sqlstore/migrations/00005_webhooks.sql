-- Webhooks: the endpoints of each account, and the outbox of deliveries.
--
-- A mutation that changes assets (attach, overwrite, delete) or completes an upload writes
-- one delivery per endpoint that wants the event, in its own transaction: an event is never
-- lost and never sent for a change that did not commit. Deliverers on any node claim due
-- deliveries with a lease (lease, lease_until), send them, and record the attempt. Times are
-- Unix milliseconds.

-- +goose Up
CREATE TABLE webhook_endpoints (
    account_id  TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id          TEXT   NOT NULL,
    url         TEXT   NOT NULL,
    secret      TEXT   NOT NULL,
    events      TEXT   NOT NULL, -- comma-separated event types; '' for every event
    description TEXT   NOT NULL,
    created     BIGINT NOT NULL,
    PRIMARY KEY (account_id, id)
);

CREATE TABLE webhook_deliveries (
    id           TEXT    NOT NULL PRIMARY KEY,
    account_id   TEXT    NOT NULL,
    endpoint_id  TEXT    NOT NULL,
    event_id     TEXT    NOT NULL,
    event_type   TEXT    NOT NULL,
    event_time   BIGINT  NOT NULL,
    payload      TEXT    NOT NULL, -- the event as JSON, exactly as it is sent
    state        TEXT    NOT NULL, -- pending, delivered, failed
    attempts     INTEGER NOT NULL,
    next_attempt BIGINT  NOT NULL,
    lease        TEXT    NOT NULL,
    lease_until  BIGINT  NOT NULL,
    last_status  INTEGER NOT NULL,
    last_error   TEXT    NOT NULL,
    created      BIGINT  NOT NULL,
    delivered_at BIGINT  NOT NULL,
    FOREIGN KEY (account_id, endpoint_id) REFERENCES webhook_endpoints (account_id, id) ON DELETE CASCADE
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt);
CREATE INDEX webhook_deliveries_account ON webhook_deliveries (account_id, created);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (account_id, endpoint_id, created);

-- +goose Down
DROP TABLE webhook_deliveries;
DROP TABLE webhook_endpoints;
