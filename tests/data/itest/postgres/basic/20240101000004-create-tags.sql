-- migrate:up
CREATE TABLE tags (id serial PRIMARY KEY, label text NOT NULL UNIQUE);
INSERT INTO tags (label) VALUES ('news'), ('howto');

-- migrate:down
DROP TABLE tags;
