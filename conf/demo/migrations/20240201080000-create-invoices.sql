-- Invoices per organization, amounts in cents.
-- The (org_id, created_at) index lives with its table: DROP INDEX needs "ON invoices" on
-- MariaDB and rejects it on PostgreSQL, so a separate index migration could not have one
-- down section for all three dialects. Dropping the table drops the index.

-- migrate:up
CREATE TABLE invoices (
    id INTEGER NOT NULL PRIMARY KEY,
    org_id INTEGER NOT NULL,
    number VARCHAR(32) NOT NULL,
    amount_cents INTEGER NOT NULL,
    currency VARCHAR(3) NOT NULL DEFAULT 'EUR',
    status VARCHAR(20) NOT NULL DEFAULT 'draft',
    created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
    FOREIGN KEY (org_id) REFERENCES organizations (id)
);
CREATE UNIQUE INDEX invoices_org_id_number_uq ON invoices (org_id, number);
CREATE INDEX invoices_org_id_created_at ON invoices (org_id, created_at);

-- migrate:down
DROP TABLE invoices;
