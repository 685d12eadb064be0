-- Users of the tenant.
/* Written for every dialect. */

-- migrate:up
CREATE TABLE users (
    id INTEGER PRIMARY KEY,
    email VARCHAR(255) NOT NULL
);
INSERT INTO users (id, email) VALUES (1, 'a@x.io');

-- migrate:down
DROP TABLE users;
