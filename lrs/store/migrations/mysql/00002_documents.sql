-- +goose Up
-- Documents of the State, Activity Profile and Agent Profile resources.
-- scope_hash is the first 16 bytes of SHA-256 of (kind, activityId, agent
-- key): the set a multiple-document GET lists and a State DELETE without
-- stateId clears. registration is the lowercase UUID, '' when none (State
-- only). doc_hash hashes the stateId / profileId. The full texts are kept
-- beside the hashes. body is the document byte for byte; etag is the
-- lowercase SHA-1 hex of body.
CREATE TABLE documents (
    store_id     BIGINT        NOT NULL,
    scope_hash   BINARY(16)    NOT NULL,
    registration VARCHAR(36)   CHARACTER SET ascii COLLATE ascii_bin NOT NULL DEFAULT '',
    doc_hash     BINARY(16)    NOT NULL,
    kind         TINYINT       NOT NULL,
    activity_id  MEDIUMTEXT    NOT NULL,
    agent_key    MEDIUMTEXT    NOT NULL,
    doc_id       MEDIUMTEXT    NOT NULL,
    content_type VARCHAR(255)  NOT NULL,
    etag         CHAR(40)      CHARACTER SET ascii COLLATE ascii_bin NOT NULL,
    updated_us   BIGINT        NOT NULL,
    body         LONGBLOB      NOT NULL,
    PRIMARY KEY (store_id, scope_hash, registration, doc_hash),
    KEY documents_updated (store_id, scope_hash, updated_us)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Canonical Activity objects, merged from the statements that use them.
-- id_hash is the first 16 bytes of SHA-256 of the Activity id.
CREATE TABLE activities (
    store_id    BIGINT     NOT NULL,
    id_hash     BINARY(16) NOT NULL,
    activity_id MEDIUMTEXT NOT NULL,
    body        LONGBLOB   NOT NULL,
    updated_us  BIGINT     NOT NULL,
    PRIMARY KEY (store_id, id_hash)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- +goose Down
DROP TABLE activities;
DROP TABLE documents;
