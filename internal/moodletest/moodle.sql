-- The Moodle tables the adapter's own tests read, with the columns they
-- use (Moodle 4.5 layout, prefix mdl_). Written for this project; Moodle's
-- full definitions are in Moodle's XMLDB files.
CREATE TABLE mdl_logstore_standard_log (
    id BIGINT NOT NULL PRIMARY KEY,
    eventname VARCHAR(255) NOT NULL DEFAULT '',
    component VARCHAR(100) NOT NULL DEFAULT '',
    action VARCHAR(100) NOT NULL DEFAULT '',
    target VARCHAR(100) NOT NULL DEFAULT '',
    objecttable VARCHAR(50),
    objectid BIGINT,
    crud VARCHAR(1) NOT NULL DEFAULT '',
    edulevel SMALLINT NOT NULL DEFAULT 0,
    contextid BIGINT NOT NULL DEFAULT 0,
    contextlevel BIGINT NOT NULL DEFAULT 0,
    contextinstanceid BIGINT NOT NULL DEFAULT 0,
    userid BIGINT NOT NULL,
    courseid BIGINT,
    relateduserid BIGINT,
    anonymous SMALLINT NOT NULL DEFAULT 0,
    other TEXT,
    timecreated BIGINT NOT NULL,
    origin VARCHAR(10),
    ip VARCHAR(45),
    realuserid BIGINT
);
CREATE TABLE mdl_user (
    id BIGINT NOT NULL PRIMARY KEY,
    username VARCHAR(100) NOT NULL DEFAULT '',
    firstname VARCHAR(100) NOT NULL DEFAULT '',
    lastname VARCHAR(100) NOT NULL DEFAULT '',
    email VARCHAR(100) NOT NULL DEFAULT '',
    deleted SMALLINT NOT NULL DEFAULT 0
);
CREATE TABLE mdl_course (
    id BIGINT NOT NULL PRIMARY KEY,
    category BIGINT NOT NULL DEFAULT 0,
    fullname VARCHAR(254) NOT NULL DEFAULT '',
    shortname VARCHAR(255) NOT NULL DEFAULT '',
    idnumber VARCHAR(100) NOT NULL DEFAULT '',
    lang VARCHAR(30) NOT NULL DEFAULT ''
);
CREATE TABLE mdl_modules (
    id BIGINT NOT NULL PRIMARY KEY,
    name VARCHAR(20) NOT NULL DEFAULT ''
);
CREATE TABLE mdl_course_modules (
    id BIGINT NOT NULL PRIMARY KEY,
    course BIGINT NOT NULL DEFAULT 0,
    module BIGINT NOT NULL DEFAULT 0,
    instance BIGINT NOT NULL DEFAULT 0,
    section BIGINT NOT NULL DEFAULT 0,
    idnumber VARCHAR(100)
);
CREATE TABLE mdl_course_sections (
    id BIGINT NOT NULL PRIMARY KEY,
    course BIGINT NOT NULL DEFAULT 0,
    section BIGINT NOT NULL DEFAULT 0,
    name VARCHAR(255)
);
CREATE TABLE mdl_page (
    id BIGINT NOT NULL PRIMARY KEY,
    course BIGINT NOT NULL DEFAULT 0,
    name VARCHAR(1333) NOT NULL DEFAULT '',
    intro TEXT
);
