-- An append-only record of who did what; actor and organization are kept as plain ids so
-- deleting a user never deletes their history.

-- migrate:up
CREATE TABLE audit_log (
    id INTEGER NOT NULL PRIMARY KEY,
    org_id INTEGER,
    actor_id INTEGER,
    action VARCHAR(64) NOT NULL,
    detail TEXT,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE INDEX audit_log_org_id_created_at ON audit_log (org_id, created_at);

-- migrate:down
DROP TABLE audit_log;
