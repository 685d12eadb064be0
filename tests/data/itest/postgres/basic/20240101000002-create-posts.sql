-- migrate:up
CREATE TABLE posts (id serial PRIMARY KEY, user_id integer NOT NULL REFERENCES users (id),
                    title text NOT NULL);
CREATE INDEX posts_user_id ON posts (user_id);

-- migrate:down
DROP TABLE posts;
