-- header comment

CREATE TABLE t (id INTEGER);
-- migrate:up
SELECT 1;
