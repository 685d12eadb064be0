-- Which user belongs to which organization, and with what role.

-- migrate:up
CREATE TABLE memberships (
    user_id INTEGER NOT NULL,
    org_id INTEGER NOT NULL,
    role VARCHAR(20) NOT NULL DEFAULT 'member',
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    PRIMARY KEY (user_id, org_id),
    FOREIGN KEY (user_id) REFERENCES users (id),
    FOREIGN KEY (org_id) REFERENCES organizations (id)
);
CREATE INDEX memberships_org_id ON memberships (org_id);

-- migrate:down
DROP TABLE memberships;
