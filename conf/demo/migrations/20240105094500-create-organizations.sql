-- Organizations own invoices; users join them through memberships.

-- migrate:up
CREATE TABLE organizations (
    id INTEGER NOT NULL PRIMARY KEY,
    slug VARCHAR(63) NOT NULL,
    name VARCHAR(255) NOT NULL,
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX organizations_slug_uq ON organizations (slug);

-- migrate:down
DROP TABLE organizations;
