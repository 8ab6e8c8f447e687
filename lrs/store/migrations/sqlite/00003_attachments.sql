-- +goose Up
-- Attachment contents, stored once per hash and store: statements that
-- share an attachment share its bytes.
CREATE TABLE attachments (
    store_id     INTEGER NOT NULL,
    sha2         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    content      BLOB    NOT NULL,
    PRIMARY KEY (store_id, sha2)
) WITHOUT ROWID;

-- +goose Down
DROP TABLE attachments;
