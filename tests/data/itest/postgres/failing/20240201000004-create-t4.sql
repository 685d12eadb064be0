-- migrate:up
CREATE TABLE t4 (id integer);

-- migrate:down
DROP TABLE t4;
