-- migrate:up
CREATE TABLE comments (id serial PRIMARY KEY, post_id integer NOT NULL REFERENCES posts (id),
                       body text NOT NULL);

-- migrate:down
DROP TABLE comments;
