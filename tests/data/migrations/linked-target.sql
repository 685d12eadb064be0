-- migrate:up
CREATE TABLE linked (id INTEGER);
-- migrate:down
DROP TABLE linked;
