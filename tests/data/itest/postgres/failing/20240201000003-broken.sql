-- migrate:up
-- The first statement succeeds; the second fails, which must roll the first back.
CREATE TABLE t3 (id integer);
INSERT INTO no_such_table (id) VALUES (1);

-- migrate:down
DROP TABLE t3;
