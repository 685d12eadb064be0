-- Payment deadline; NULL for invoices issued before this migration.

-- migrate:up
ALTER TABLE invoices ADD COLUMN due_at TIMESTAMP NULL;

-- migrate:down
ALTER TABLE invoices DROP COLUMN due_at;
