-- +goose Up
-- What `bridge forward status` and GET /api/v1/forwarding/targets show per
-- target, read without scanning the outbox: a target's retrying deliveries
-- (pending, attempts > 0) are one range of this index, and its oldest
-- pending delivery the first entry of two.
CREATE INDEX deliveries_attempts ON deliveries (target, state, attempts, created_us);

-- Each target's circuit breaker as the serving bridges last recorded it,
-- and the error of its most recent failed delivery attempt, for the CLI
-- (another process) to read. One row per target, written on breaker
-- transitions and failed batches only.
CREATE TABLE forward_targets (
    target        VARCHAR(128)  NOT NULL PRIMARY KEY,
    breaker       VARCHAR(16)   NOT NULL DEFAULT '',
    breaker_us    BIGINT        NOT NULL DEFAULT 0,
    breaker_cause VARCHAR(1000) NOT NULL DEFAULT '',
    last_status   INT           NOT NULL DEFAULT 0,
    last_error    VARCHAR(1000) NOT NULL DEFAULT '',
    last_error_us BIGINT        NOT NULL DEFAULT 0
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE forward_targets;
DROP INDEX deliveries_attempts ON deliveries;
