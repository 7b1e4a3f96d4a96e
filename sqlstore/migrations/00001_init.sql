-- One schema for SQLite and PostgreSQL: BIGINT ids chosen by the application, TEXT hashes,
-- BIGINT times (Unix milliseconds; asset dates in .NET ticks), no sequences, no arrays.

-- +goose Up
CREATE TABLE accounts (
    id   TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT ''
);

CREATE TABLE users (
    account_id TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id         BIGINT NOT NULL,
    name       TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, id)
);

CREATE TABLE api_keys (
    hash       TEXT   PRIMARY KEY,
    id         TEXT   NOT NULL,
    account_id TEXT   NOT NULL,
    user_id    BIGINT NOT NULL,
    created    BIGINT NOT NULL,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE
);
CREATE UNIQUE INDEX api_keys_user ON api_keys (account_id, user_id, id);

CREATE TABLE sessions (
    hash       TEXT   PRIMARY KEY,
    account_id TEXT   NOT NULL,
    user_id    BIGINT NOT NULL,
    key_hash   TEXT   NOT NULL REFERENCES api_keys (hash) ON DELETE CASCADE,
    created    BIGINT NOT NULL,
    last_used  BIGINT NOT NULL
);
CREATE INDEX sessions_key ON sessions (key_hash);
CREATE INDEX sessions_last_used ON sessions (last_used);

CREATE TABLE projects (
    account_id TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    id         BIGINT NOT NULL,
    name       TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (account_id, id)
);

CREATE TABLE documents (
    account_id TEXT   NOT NULL,
    id         BIGINT NOT NULL,
    project_id BIGINT NOT NULL,
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, project_id) REFERENCES projects (account_id, id) ON DELETE CASCADE
);
CREATE INDEX documents_project ON documents (account_id, project_id);

-- rev counts the asset changes of a segment; bumping it serialises writers of one segment.
CREATE TABLE segments (
    account_id  TEXT   NOT NULL,
    id          BIGINT NOT NULL,
    document_id BIGINT NOT NULL,
    rev         BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, id),
    FOREIGN KEY (account_id, document_id) REFERENCES documents (account_id, id) ON DELETE CASCADE
);
CREATE INDEX segments_document ON segments (account_id, document_id);

CREATE TABLE jobs (
    account_id TEXT    NOT NULL,
    codyt      BOOLEAN NOT NULL,
    id         BIGINT  NOT NULL,
    project_id BIGINT  NOT NULL,
    PRIMARY KEY (account_id, codyt, id),
    FOREIGN KEY (account_id, project_id) REFERENCES projects (account_id, id) ON DELETE CASCADE
);
CREATE INDEX jobs_project ON jobs (account_id, project_id);

CREATE TABLE job_documents (
    account_id  TEXT    NOT NULL,
    codyt       BOOLEAN NOT NULL,
    job_id      BIGINT  NOT NULL,
    document_id BIGINT  NOT NULL,
    PRIMARY KEY (account_id, codyt, job_id, document_id),
    FOREIGN KEY (account_id, codyt, job_id) REFERENCES jobs (account_id, codyt, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, document_id) REFERENCES documents (account_id, id) ON DELETE CASCADE
);
CREATE INDEX job_documents_document ON job_documents (account_id, document_id);

CREATE TABLE project_grants (
    account_id TEXT    NOT NULL,
    user_id    BIGINT  NOT NULL,
    project_id BIGINT  NOT NULL,
    rights     INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id, project_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, project_id) REFERENCES projects (account_id, id) ON DELETE CASCADE
);
CREATE INDEX project_grants_project ON project_grants (account_id, project_id);

CREATE TABLE job_grants (
    account_id TEXT    NOT NULL,
    user_id    BIGINT  NOT NULL,
    codyt      BOOLEAN NOT NULL,
    job_id     BIGINT  NOT NULL,
    rights     INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id, codyt, job_id),
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, codyt, job_id) REFERENCES jobs (account_id, codyt, id) ON DELETE CASCADE
);
CREATE INDEX job_grants_job ON job_grants (account_id, codyt, job_id);

-- One row per distinct content of an account: the same bytes are stored once. Assets and
-- uploads reference it, so a blob cannot be dropped while anything still points at it.
CREATE TABLE blobs (
    account_id TEXT   NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    sha256     TEXT   NOT NULL,
    blob_key   TEXT   NOT NULL,
    size       BIGINT NOT NULL,
    created    BIGINT NOT NULL,
    PRIMARY KEY (account_id, sha256)
);
CREATE UNIQUE INDEX blobs_key ON blobs (account_id, blob_key);

CREATE TABLE uploads (
    hash         TEXT   PRIMARY KEY,
    account_id   TEXT   NOT NULL,
    user_id      BIGINT NOT NULL,
    folders      TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    created      BIGINT NOT NULL,
    expires      BIGINT NOT NULL,
    FOREIGN KEY (account_id, user_id) REFERENCES users (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, sha256) REFERENCES blobs (account_id, sha256)
);
CREATE INDEX uploads_blob ON uploads (account_id, sha256);
CREATE INDEX uploads_expires ON uploads (expires);

CREATE TABLE assets (
    account_id   TEXT   NOT NULL,
    id           BIGINT NOT NULL,
    segment_id   BIGINT NOT NULL,
    locale       TEXT   NOT NULL,
    folders      TEXT   NOT NULL,
    name         TEXT   NOT NULL,
    size         BIGINT NOT NULL,
    sha256       TEXT   NOT NULL,
    content_type TEXT   NOT NULL,
    created      BIGINT NOT NULL,
    modified     BIGINT NOT NULL,
    PRIMARY KEY (account_id, id),
    UNIQUE (account_id, segment_id, locale, folders, name),
    FOREIGN KEY (account_id, segment_id) REFERENCES segments (account_id, id) ON DELETE CASCADE,
    FOREIGN KEY (account_id, sha256) REFERENCES blobs (account_id, sha256)
);
CREATE INDEX assets_blob ON assets (account_id, sha256);

-- +goose Down
DROP TABLE assets;
DROP TABLE uploads;
DROP TABLE blobs;
DROP TABLE job_grants;
DROP TABLE project_grants;
DROP TABLE job_documents;
DROP TABLE jobs;
DROP TABLE segments;
DROP TABLE documents;
DROP TABLE projects;
DROP TABLE sessions;
DROP TABLE api_keys;
DROP TABLE users;
DROP TABLE accounts;
