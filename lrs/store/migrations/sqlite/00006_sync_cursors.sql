-- +goose Up
-- Where each adapter source (a Moodle site) has read up to, written in the
-- same transaction as the statements that reading produced.
CREATE TABLE sync_cursors (
    source     TEXT    PRIMARY KEY,
    position   INTEGER NOT NULL,
    status     TEXT    NOT NULL DEFAULT '{}',
    updated_us INTEGER NOT NULL
);

-- +goose Down
DROP TABLE sync_cursors;
