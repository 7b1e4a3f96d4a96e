-- Blobs that lost their last reference are marked first and removed a grace period later,
-- so that a reader that found the blob just before can finish (S3 downloads are ranged
-- GETs spread over time). A new upload of the same bytes revives a marked blob.

-- +goose Up
ALTER TABLE blobs ADD COLUMN garbage_since BIGINT;
CREATE INDEX blobs_garbage ON blobs (garbage_since);

-- +goose Down
DROP INDEX blobs_garbage;
ALTER TABLE blobs DROP COLUMN garbage_since;
