-- +goose Up
-- Stores: isolated LRSs. Store 1 is the default every credential starts in.
CREATE TABLE stores (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_us INTEGER NOT NULL
);
INSERT INTO stores (id, name, created_us) VALUES (1, 'default', 0);

-- xAPI credentials; secrets only as salted SHA-256.
CREATE TABLE credentials (
    cred_key    TEXT    PRIMARY KEY,
    store_id    INTEGER NOT NULL REFERENCES stores (id),
    name        TEXT    NOT NULL DEFAULT '',
    scopes      TEXT    NOT NULL,
    secret_salt BLOB    NOT NULL,
    secret_hash BLOB    NOT NULL,
    source      TEXT    NOT NULL,
    created_us  INTEGER NOT NULL
);

-- Statements in insert order: pk is the keyset cursor and never reused.
-- body is the statement exactly as the LRS returns it (format=exact).
CREATE TABLE statements (
    pk        INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id  INTEGER NOT NULL,
    id        BLOB    NOT NULL,
    stored_us INTEGER NOT NULL,
    voided    INTEGER NOT NULL DEFAULT 0,
    voiding   INTEGER NOT NULL DEFAULT 0,
    ref_id    BLOB,
    body      BLOB    NOT NULL
);
CREATE UNIQUE INDEX statements_store_id ON statements (store_id, id);
CREATE INDEX statements_ref ON statements (store_id, ref_id);
CREATE INDEX statements_stored ON statements (store_id, stored_us);

-- What query filters match: (kind, 16-byte hash of agent IFI / IRI / UUID)
-- per statement, including what a statement inherits from the statement
-- its StatementRef targets.
CREATE TABLE statement_index (
    store_id INTEGER NOT NULL,
    kind     INTEGER NOT NULL,
    hash     BLOB    NOT NULL,
    stmt_pk  INTEGER NOT NULL,
    PRIMARY KEY (store_id, kind, hash, stmt_pk)
) WITHOUT ROWID;
CREATE INDEX statement_index_stmt ON statement_index (store_id, stmt_pk);

-- +goose Down
DROP TABLE statement_index;
DROP TABLE statements;
DROP TABLE credentials;
DROP TABLE stores;
