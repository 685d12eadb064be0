-- migrate:up
CREATE TABLE t1 (id integer);

-- migrate:down
DROP TABLE t1;
