-- migrate:up
CREATE TABLE hidden (id INTEGER);
