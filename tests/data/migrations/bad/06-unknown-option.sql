-- migrate:up
SELECT 1;
-- migrate:down transaction:false foo:bar
SELECT 2;
