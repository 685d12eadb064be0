-- No markers at all.
CREATE TABLE t (id INTEGER);
