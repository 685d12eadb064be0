-- migrate:up
CREATE TABLE inner_t (id INTEGER);
