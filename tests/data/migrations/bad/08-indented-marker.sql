-- migrate:up
CREATE TABLE t (id INTEGER);
  -- migrate:down
DROP TABLE t;
