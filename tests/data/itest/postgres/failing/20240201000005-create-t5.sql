-- migrate:up
CREATE TABLE t5 (id integer);

-- migrate:down
DROP TABLE t5;
