-- migrate:up
ALTER TABLE users ADD COLUMN age INTEGER;
