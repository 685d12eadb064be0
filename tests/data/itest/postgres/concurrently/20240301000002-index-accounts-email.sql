-- migrate:up transaction:false
-- PostgreSQL refuses CREATE INDEX CONCURRENTLY inside a transaction block (SQLSTATE 25001).
CREATE INDEX CONCURRENTLY accounts_email ON accounts (email);

-- migrate:down transaction:false
DROP INDEX CONCURRENTLY accounts_email;
