-- The epochs of the change stripes (see refstore.ChangeFeed): a transaction that changes
-- what nodes cache increments its stripe's epoch, so that a node knows whether it has
-- heard of every change. Only a shared store (PostgreSQL) uses them; the rows are cheap.

-- +goose Up
CREATE TABLE change_epochs (
    stripe INTEGER PRIMARY KEY,
    epoch  BIGINT  NOT NULL
);
WITH RECURSIVE s(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM s WHERE i < 63)
INSERT INTO change_epochs (stripe, epoch) SELECT i, 0 FROM s;

-- +goose Down
DROP TABLE change_epochs;
