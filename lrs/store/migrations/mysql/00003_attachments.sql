-- +goose Up
-- Attachment contents, stored once per hash and store: statements that
-- share an attachment share its bytes.
CREATE TABLE attachments (
    store_id     BIGINT       NOT NULL,
    sha2         CHAR(64)     CHARACTER SET ascii NOT NULL,
    content_type VARCHAR(255) NOT NULL,
    content      LONGBLOB     NOT NULL,
    PRIMARY KEY (store_id, sha2)
) ENGINE = InnoDB;

-- +goose Down
DROP TABLE attachments;
