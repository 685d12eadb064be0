-- People who can sign in. Ids are given explicitly: auto-increment syntax differs between
-- PostgreSQL, MariaDB and SQLite, and this set runs unchanged on all three.

-- migrate:up
CREATE TABLE users (
    id INTEGER NOT NULL PRIMARY KEY,
    email VARCHAR(255) NOT NULL,
    display_name VARCHAR(100),
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX users_email_uq ON users (email);

-- migrate:down
DROP TABLE users;
