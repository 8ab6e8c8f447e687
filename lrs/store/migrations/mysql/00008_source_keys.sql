-- +goose Up
-- Each adapter source's secret key (a Moodle site's): its statement ids are
-- HMAC-SHA256(secret, site#logid#index), so no credential of the store can
-- compute the id of a row to come. Created on first use by whichever bridge
-- gets there first and shared by every bridge on this database. Rows up to
-- legacy_through (the log id a source had reached when it got its key) keep
-- the public ids they were stored under. Never shown; back it up with the
-- rest of the database: deleting a row re-keys its source.
CREATE TABLE source_keys (
    source         VARCHAR(128)  NOT NULL PRIMARY KEY,
    secret         VARBINARY(64) NOT NULL,
    legacy_through BIGINT        NOT NULL DEFAULT 0,
    created_us     BIGINT        NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE source_keys;
