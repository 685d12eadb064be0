-- migrate:up
DELETE FROM users WHERE id = 1;
-- migrate:down
-- The deleted row cannot come back.
/* nothing
   to do */
