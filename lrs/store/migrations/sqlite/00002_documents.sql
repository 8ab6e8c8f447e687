-- +goose Up
-- Documents of the State, Activity Profile and Agent Profile resources.
-- scope_hash is the first 16 bytes of SHA-256 of (kind, activityId, agent
-- key): the set a multiple-document GET lists and a State DELETE without
-- stateId clears. registration is the lowercase UUID, '' when none (State
-- only). doc_hash hashes the stateId / profileId. The full texts are kept
-- beside the hashes. body is the document byte for byte; etag is the
-- lowercase SHA-1 hex of body.
CREATE TABLE documents (
    store_id     INTEGER NOT NULL,
    scope_hash   BLOB    NOT NULL,
    registration TEXT    NOT NULL DEFAULT '',
    doc_hash     BLOB    NOT NULL,
    kind         INTEGER NOT NULL,
    activity_id  TEXT    NOT NULL,
    agent_key    TEXT    NOT NULL,
    doc_id       TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    etag         TEXT    NOT NULL,
    updated_us   INTEGER NOT NULL,
    body         BLOB    NOT NULL,
    PRIMARY KEY (store_id, scope_hash, registration, doc_hash)
);
CREATE INDEX documents_updated ON documents (store_id, scope_hash, updated_us);

-- Canonical Activity objects, merged from the statements that use them.
-- id_hash is the first 16 bytes of SHA-256 of the Activity id.
CREATE TABLE activities (
    store_id    INTEGER NOT NULL,
    id_hash     BLOB    NOT NULL,
    activity_id TEXT    NOT NULL,
    body        BLOB    NOT NULL,
    updated_us  INTEGER NOT NULL,
    PRIMARY KEY (store_id, id_hash)
);

-- +goose Down
DROP TABLE activities;
DROP TABLE documents;
