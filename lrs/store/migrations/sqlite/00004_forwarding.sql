-- +goose Up
-- The forwarding outbox: one row per (statement, target) the rules chose,
-- written in the statement's own transaction. Delivered rows are deleted;
-- dead ones (state 1) stay until replayed or discarded.
CREATE TABLE deliveries (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id       INTEGER NOT NULL,
    stmt_pk        INTEGER NOT NULL,
    target         TEXT    NOT NULL,
    rule           TEXT    NOT NULL,
    personal_key   TEXT    NOT NULL DEFAULT '',
    state          INTEGER NOT NULL DEFAULT 0,
    attempts       INTEGER NOT NULL DEFAULT 0,
    next_at_us     INTEGER NOT NULL,
    lease_until_us INTEGER NOT NULL DEFAULT 0,
    created_us     INTEGER NOT NULL,
    last_status    INTEGER NOT NULL DEFAULT 0,
    last_error     TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX deliveries_due ON deliveries (target, state, next_at_us, id);
CREATE UNIQUE INDEX deliveries_unique ON deliveries (store_id, stmt_pk, target, personal_key);

-- Learners' personal LRSs, for the "personal" target. Credentials are
-- encrypted (AES-GCM) with the bridge's forwarding key.
CREATE TABLE personal_lrs (
    store_id    INTEGER NOT NULL,
    agent_key   TEXT    NOT NULL,
    agent       TEXT    NOT NULL,
    endpoint    TEXT    NOT NULL,
    version     TEXT    NOT NULL,
    credentials BLOB    NOT NULL,
    created_us  INTEGER NOT NULL,
    PRIMARY KEY (store_id, agent_key)
);

-- +goose Down
DROP TABLE personal_lrs;
DROP TABLE deliveries;
