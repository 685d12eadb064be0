-- The billing plan of each organization; existing ones start on 'free'.

-- migrate:up
ALTER TABLE organizations ADD COLUMN plan VARCHAR(20) NOT NULL DEFAULT 'free';

-- migrate:down
ALTER TABLE organizations DROP COLUMN plan;
