-- +goose Up
-- Organisations own stores; every store is an isolated LRS.
CREATE TABLE organisations (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    name       VARCHAR(255) NOT NULL,
    created_us BIGINT       NOT NULL,
    UNIQUE KEY organisations_name (name)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
INSERT INTO organisations (id, name, created_us) VALUES (1, 'default', 0);
ALTER TABLE stores ADD COLUMN org_id BIGINT NOT NULL DEFAULT 1, ADD COLUMN retention_us BIGINT NOT NULL DEFAULT 0,
    ADD UNIQUE KEY stores_org_name (org_id, name);

-- Personas: a person groups the agents (IFIs) of one human in a store.
CREATE TABLE persons (
    id         BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    store_id   BIGINT       NOT NULL,
    name       VARCHAR(255) NOT NULL DEFAULT '',
    created_us BIGINT       NOT NULL,
    KEY persons_store (store_id, id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;
CREATE TABLE person_agents (
    store_id  BIGINT       NOT NULL,
    agent_key VARCHAR(512) NOT NULL,
    person_id BIGINT       NOT NULL,
    agent     TEXT         NOT NULL,
    PRIMARY KEY (store_id, agent_key),
    KEY person_agents_person (person_id)
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4 COLLATE = utf8mb4_bin;

-- Erasures, recorded without the erased data.
CREATE TABLE erasures (
    id                  BIGINT       NOT NULL AUTO_INCREMENT PRIMARY KEY,
    store_id            BIGINT       NOT NULL,
    person_id           BIGINT       NOT NULL,
    agents              INT          NOT NULL,
    statements_deleted  INT          NOT NULL,
    statements_redacted INT          NOT NULL,
    documents_deleted   INT          NOT NULL,
    requested_by        VARCHAR(255) NOT NULL,
    created_us          BIGINT       NOT NULL
) ENGINE = InnoDB DEFAULT CHARSET = utf8mb4;

-- +goose Down
DROP TABLE erasures;
DROP TABLE person_agents;
DROP TABLE persons;
ALTER TABLE stores DROP INDEX stores_org_name, DROP COLUMN retention_us, DROP COLUMN org_id;
DROP TABLE organisations;
