-- When a user last signed in; NULL until the first sign-in after this migration.

-- migrate:up
ALTER TABLE users ADD COLUMN last_login_at TIMESTAMP NULL;

-- migrate:down
ALTER TABLE users DROP COLUMN last_login_at;
