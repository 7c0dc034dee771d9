-- fangpin 0008: 帮扶措施 (DOMAIN §7.2) and the line departments' task lists (§7.3, D15).

CREATE TABLE measures (
    id {{ID}},
    household_id BIGINT NOT NULL REFERENCES households (id),
    category SMALLINT NOT NULL,
    department SMALLINT,
    content TEXT NOT NULL,
    planned_on {{DATE}} NOT NULL,
    completed_on {{DATE}},
    -- 1 planned, 2 in progress, 3 implemented, 4 cancelled
    status SMALLINT NOT NULL,
    funds_fen BIGINT,
    note TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL,
    created_at {{TS}} NOT NULL,
    updated_at {{TS}} NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX measures_household ON measures (household_id, planned_on);
