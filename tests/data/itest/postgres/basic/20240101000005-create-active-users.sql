-- migrate:up
CREATE VIEW active_users AS SELECT id, email FROM users WHERE name IS NOT NULL;

-- migrate:down
DROP VIEW active_users;
