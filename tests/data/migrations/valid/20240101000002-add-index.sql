-- migrate:up transaction:false
CREATE INDEX users_email ON users (email);
-- migrate:down   transaction:true
DROP INDEX users_email;
