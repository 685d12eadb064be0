-- migrate:up
CREATE TABLE t (id INTEGER);
-- migrate:donw
DROP TABLE t;
