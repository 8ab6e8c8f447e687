-- +goose Up
-- The forwarding outbox: one row per (statement, target) the rules chose,
-- written in the statement's own transaction. Delivered rows are deleted;
-- dead ones (state 1) stay until replayed or discarded.
CREATE TABLE deliveries (
    id             BIGINT        NOT NULL AUTO_INCREMENT PRIMARY KEY,
    store_id       BIGINT        NOT NULL,
    stmt_pk        BIGINT        NOT NULL,
    target         VARCHAR(128)  NOT NULL,
    rule           VARCHAR(128)  NOT NULL,
    personal_key   VARCHAR(512)  NOT NULL DEFAULT '',
    state          TINYINT       NOT NULL DEFAULT 0,
    attempts       INT           NOT NULL DEFAULT 0,
    next_at_us     BIGINT        NOT NULL,
    lease_until_us BIGINT        NOT NULL DEFAULT 0,
    created_us     BIGINT        NOT NULL,
    last_status    INT           NOT NULL DEFAULT 0,
    last_error     VARCHAR(1000) NOT NULL DEFAULT '',
    KEY deliveries_due (target, state, next_at_us, id),
    UNIQUE KEY deliveries_unique (store_id, stmt_pk, target, personal_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Learners' personal LRSs, for the "personal" target. Credentials are
-- encrypted (AES-GCM) with the bridge's forwarding key.
CREATE TABLE personal_lrs (
    store_id    BIGINT        NOT NULL,
    agent_key   VARCHAR(512)  NOT NULL,
    agent       TEXT          NOT NULL,
    endpoint    VARCHAR(1024) NOT NULL,
    version     VARCHAR(8)    NOT NULL,
    credentials BLOB          NOT NULL,
    created_us  BIGINT        NOT NULL,
    PRIMARY KEY (store_id, agent_key)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE personal_lrs;
DROP TABLE deliveries;
