-- migrate:up
CREATE TABLE t2 (id integer);

-- migrate:down
DROP TABLE t2;
