-- The flags every tenant starts with.

-- migrate:up
INSERT INTO feature_flags (id, flag, enabled, description) VALUES
    (1, 'invoices.pdf_export', 1, 'export invoices as PDF'),
    (2, 'invoices.reminders', 0, 'e-mail reminders for overdue invoices'),
    (3, 'audit_log.ui', 0, 'show the audit log to organization admins');

-- migrate:down
DELETE FROM feature_flags
 WHERE flag IN ('invoices.pdf_export', 'invoices.reminders', 'audit_log.ui');
