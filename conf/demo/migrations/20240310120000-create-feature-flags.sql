-- Per-tenant feature switches; enabled is 0 or 1 because BOOLEAN is not portable.

-- migrate:up
CREATE TABLE feature_flags (
    id INTEGER NOT NULL PRIMARY KEY,
    flag VARCHAR(64) NOT NULL,
    enabled INTEGER NOT NULL DEFAULT 0,
    description VARCHAR(255),
    updated_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX feature_flags_flag_uq ON feature_flags (flag);

-- migrate:down
DROP TABLE feature_flags;
