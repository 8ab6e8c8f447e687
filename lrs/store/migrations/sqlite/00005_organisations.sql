-- +goose Up
-- Organisations own stores; every store is an isolated LRS.
CREATE TABLE organisations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_us INTEGER NOT NULL
);
INSERT INTO organisations (id, name, created_us) VALUES (1, 'default', 0);
ALTER TABLE stores ADD COLUMN org_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE stores ADD COLUMN retention_us INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX stores_org_name ON stores (org_id, name);

-- Personas: a person groups the agents (IFIs) of one human in a store.
CREATE TABLE persons (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id   INTEGER NOT NULL,
    name       TEXT    NOT NULL DEFAULT '',
    created_us INTEGER NOT NULL
);
CREATE INDEX persons_store ON persons (store_id, id);
CREATE TABLE person_agents (
    store_id  INTEGER NOT NULL,
    agent_key TEXT    NOT NULL,
    person_id INTEGER NOT NULL,
    agent     TEXT    NOT NULL,
    PRIMARY KEY (store_id, agent_key)
);
CREATE INDEX person_agents_person ON person_agents (person_id);

-- Erasures, recorded without the erased data.
CREATE TABLE erasures (
    id                  INTEGER PRIMARY KEY AUTOINCREMENT,
    store_id            INTEGER NOT NULL,
    person_id           INTEGER NOT NULL,
    agents              INTEGER NOT NULL,
    statements_deleted  INTEGER NOT NULL,
    statements_redacted INTEGER NOT NULL,
    documents_deleted   INTEGER NOT NULL,
    requested_by        TEXT    NOT NULL,
    created_us          INTEGER NOT NULL
);

-- +goose Down
DROP TABLE erasures;
DROP TABLE person_agents;
DROP TABLE persons;
DROP INDEX stores_org_name;
ALTER TABLE stores DROP COLUMN retention_us;
ALTER TABLE stores DROP COLUMN org_id;
DROP TABLE organisations;
