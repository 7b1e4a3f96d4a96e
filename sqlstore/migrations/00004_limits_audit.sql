-- Limits and the audit log.
--
-- accounts.quota_bytes caps what an account stores (0: unlimited); accounts.rate_limit is
-- its requests per API key and rate-limit window (0: the server's default, -1: none).
-- Usage is summed from the blobs rows (indexed by account) when it is asked for.

-- +goose Up
ALTER TABLE accounts ADD COLUMN quota_bytes BIGINT NOT NULL DEFAULT 0;
ALTER TABLE accounts ADD COLUMN rate_limit BIGINT NOT NULL DEFAULT 0;

-- Requests counted per API key (its hash) and window, shared by the nodes of a cluster:
-- each node adds what it counted every second or every few requests.
CREATE TABLE rate_counters (
    key_hash     TEXT   NOT NULL,
    window_start BIGINT NOT NULL,
    requests     BIGINT NOT NULL,
    PRIMARY KEY (key_hash, window_start)
);
CREATE INDEX rate_counters_window ON rate_counters (window_start);

-- One row per mutation (or refused mutation). No foreign keys: rows outlive what they
-- name. at is in Unix nanoseconds; ids are random.
CREATE TABLE audit_log (
    id          BIGINT NOT NULL PRIMARY KEY,
    at          BIGINT NOT NULL,
    account_id  TEXT   NOT NULL,
    actor       TEXT   NOT NULL,
    user_id     BIGINT NOT NULL,
    action      TEXT   NOT NULL,
    project_id  BIGINT NOT NULL,
    document_id BIGINT NOT NULL,
    segment_id  BIGINT NOT NULL,
    asset_id    BIGINT NOT NULL,
    target      TEXT   NOT NULL,
    detail      TEXT   NOT NULL,
    item_count  BIGINT NOT NULL,
    request_id  TEXT   NOT NULL,
    outcome     TEXT   NOT NULL
);
CREATE INDEX audit_log_at ON audit_log (at, id);
CREATE INDEX audit_log_account ON audit_log (account_id, at, id);
CREATE INDEX audit_log_project ON audit_log (account_id, project_id, at, id);

-- +goose Down
DROP TABLE audit_log;
DROP TABLE rate_counters;
ALTER TABLE accounts DROP COLUMN rate_limit;
ALTER TABLE accounts DROP COLUMN quota_bytes;
