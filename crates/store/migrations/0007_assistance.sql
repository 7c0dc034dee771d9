-- fangpin 0007: 帮扶 (DOMAIN §7, D10): the assistance officers of monitored households, one active at
-- a time, with their history.

CREATE TABLE officer_assignments (
    id {{ID}},
    household_id BIGINT NOT NULL REFERENCES households (id),
    -- the officer's account, when they have one
    user_id BIGINT REFERENCES users (id),
    name TEXT NOT NULL,
    unit TEXT NOT NULL,
    phone TEXT,
    started_on {{DATE}} NOT NULL,
    ended_on {{DATE}},
    end_reason TEXT NOT NULL DEFAULT '',
    assigned_by TEXT NOT NULL,
    assigned_at {{TS}} NOT NULL
);
-- exactly one active officer per household
CREATE UNIQUE INDEX officer_assignments_active ON officer_assignments (household_id) WHERE ended_on IS NULL;
CREATE INDEX officer_assignments_household ON officer_assignments (household_id, id);
CREATE INDEX officer_assignments_user ON officer_assignments (user_id, ended_on);
-- the monitored households without an officer, by region (the deadline pages)
CREATE INDEX households_monitoring ON households (monitoring_status, village_code);
