-- +goose Up
-- Each adapter source's secret key (a Moodle site's): its statement ids are
-- HMAC-SHA256(secret, site#logid#index), so no credential of the store can
-- compute the id of a row to come. Created on first use by whichever bridge
-- gets there first and shared by every bridge on this database. Rows up to
-- legacy_through (the log id a source had reached when it got its key) keep
-- the public ids they were stored under. Never shown; back it up with the
-- rest of the database: deleting a row re-keys its source.
CREATE TABLE source_keys (
    source         TEXT    PRIMARY KEY,
    secret         BLOB    NOT NULL,
    legacy_through INTEGER NOT NULL DEFAULT 0,
    created_us     INTEGER NOT NULL
);

-- +goose Down
DROP TABLE source_keys;
