-- +goose Up
-- Stores: isolated LRSs. Store 1 is the default every credential starts in.
CREATE TABLE stores (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(255) NOT NULL,
    created_us BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;
INSERT INTO stores (id, name, created_us) VALUES (1, 'default', 0);

-- xAPI credentials; secrets only as salted SHA-256.
CREATE TABLE credentials (
    cred_key    VARCHAR(64)   NOT NULL PRIMARY KEY,
    store_id    BIGINT        NOT NULL,
    name        VARCHAR(255)  NOT NULL DEFAULT '',
    scopes      VARCHAR(255)  NOT NULL,
    secret_salt VARBINARY(16) NOT NULL,
    secret_hash VARBINARY(32) NOT NULL,
    source      VARCHAR(16)   NOT NULL,
    created_us  BIGINT        NOT NULL,
    CONSTRAINT credentials_store FOREIGN KEY (store_id) REFERENCES stores (id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- Statements in insert order: pk is the keyset cursor and never reused.
-- body is the statement exactly as the LRS returns it (format=exact); kept as
-- bytes, not JSON, because MySQL's JSON type loses number precision.
CREATE TABLE statements (
    pk        BIGINT     NOT NULL AUTO_INCREMENT PRIMARY KEY,
    store_id  BIGINT     NOT NULL,
    id        BINARY(16) NOT NULL,
    stored_us BIGINT     NOT NULL,
    voided    TINYINT    NOT NULL DEFAULT 0,
    voiding   TINYINT    NOT NULL DEFAULT 0,
    ref_id    BINARY(16) NULL,
    body      LONGBLOB   NOT NULL,
    UNIQUE KEY statements_store_id (store_id, id),
    KEY statements_ref (store_id, ref_id),
    KEY statements_stored (store_id, stored_us),
    KEY statements_store_pk (store_id, voided, pk)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- What query filters match: (kind, 16-byte hash of agent IFI / IRI / UUID)
-- per statement, including what a statement inherits from the statement
-- its StatementRef targets.
CREATE TABLE statement_index (
    store_id BIGINT     NOT NULL,
    kind     TINYINT    NOT NULL,
    hash     BINARY(16) NOT NULL,
    stmt_pk  BIGINT     NOT NULL,
    PRIMARY KEY (store_id, kind, hash, stmt_pk),
    KEY statement_index_stmt (store_id, stmt_pk)
) ENGINE = InnoDB;

-- +goose Down
DROP TABLE statement_index;
DROP TABLE statements;
DROP TABLE credentials;
DROP TABLE stores;
