-- migrate:up
CREATE TABLE accounts (id serial PRIMARY KEY, email varchar(255) NOT NULL);

-- migrate:down
DROP TABLE accounts;
