-- migrate:up
CREATE TABLE crlf (id INTEGER);
-- migrate:down
DROP TABLE crlf;
