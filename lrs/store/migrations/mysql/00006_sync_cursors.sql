-- +goose Up
-- Where each adapter source (a Moodle site) has read up to, written in the
-- same transaction as the statements that reading produced.
CREATE TABLE sync_cursors (
    source     VARCHAR(128) NOT NULL PRIMARY KEY,
    position   BIGINT       NOT NULL,
    status     MEDIUMTEXT   NOT NULL,
    updated_us BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE sync_cursors;
