-- migrate:up
-- only a comment
/* and a block */

-- migrate:down
DROP TABLE t;
