-- fangpin 0011: department feeds (部门筛查预警, DOMAIN §9, D15–D17): each imported file, the alerts
-- it raised for villages to verify, the rows behind each alert (its history), the rows that matched
-- no one (kept for review), 不宜纳入 facts on members (D16), and the column mapping each
-- department's files use.

CREATE TABLE feed_batches (
    id {{ID}},
    kind SMALLINT NOT NULL,
    department SMALLINT NOT NULL,
    file_name TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    -- the importer's region: the file was matched within it
    region_code BIGINT NOT NULL,
    rows_read BIGINT NOT NULL,
    rows_matched BIGINT NOT NULL,
    rows_unmatched BIGINT NOT NULL,
    rows_quiet BIGINT NOT NULL,
    alerts_raised BIGINT NOT NULL,
    alerts_updated BIGINT NOT NULL,
    facts_added BIGINT NOT NULL,
    imported_by TEXT NOT NULL,
    imported_at {{TS}} NOT NULL
);
-- the same file twice in one region is one import (0: the command line, every region); another
-- town may import the same county-wide file for its own households
CREATE UNIQUE INDEX feed_batches_file ON feed_batches (kind, sha256, region_code);

CREATE TABLE department_alerts (
    id {{ID}},
    household_id BIGINT NOT NULL REFERENCES households (id),
    -- the member named by the latest row
    member_id BIGINT NOT NULL,
    member_name TEXT NOT NULL,
    kind SMALLINT NOT NULL,
    department SMALLINT NOT NULL,
    indicator TEXT NOT NULL,
    -- 分 (money) where the feed has an amount
    value BIGINT,
    threshold BIGINT,
    period TEXT NOT NULL,
    item TEXT NOT NULL DEFAULT '',
    -- 1 open, 2 concluded
    status SMALLINT NOT NULL,
    raised_on {{DATE}} NOT NULL,
    due_on {{DATE}} NOT NULL,
    conclusion SMALLINT,
    verify_mode SMALLINT,
    verified_on {{DATE}},
    verified_by TEXT NOT NULL DEFAULT '',
    note TEXT NOT NULL DEFAULT '',
    case_id BIGINT REFERENCES cases (id),
    batch_id BIGINT NOT NULL REFERENCES feed_batches (id),
    version BIGINT NOT NULL DEFAULT 1,
    updated_at {{TS}} NOT NULL
);
-- one open alert per household, feed and period (newer rows update it)
CREATE UNIQUE INDEX department_alerts_open ON department_alerts (household_id, kind, period) WHERE status = 1;
CREATE INDEX department_alerts_queue ON department_alerts (status, due_on, id);
CREATE INDEX department_alerts_household ON department_alerts (household_id, id);

CREATE TABLE alert_rows (
    id {{ID}},
    alert_id BIGINT NOT NULL REFERENCES department_alerts (id),
    batch_id BIGINT NOT NULL REFERENCES feed_batches (id),
    line BIGINT NOT NULL,
    member_id BIGINT NOT NULL,
    value BIGINT,
    item TEXT NOT NULL DEFAULT '',
    -- JSON of the row's cells as the department sent them
    evidence TEXT NOT NULL
);
CREATE INDEX alert_rows_alert ON alert_rows (alert_id, id);
CREATE INDEX alert_rows_member ON alert_rows (member_id);
CREATE INDEX department_alerts_key ON department_alerts (household_id, kind, period);

CREATE TABLE feed_unmatched (
    id {{ID}},
    batch_id BIGINT NOT NULL REFERENCES feed_batches (id),
    line BIGINT NOT NULL,
    name TEXT NOT NULL,
    id_text TEXT NOT NULL,
    birth {{DATE}},
    village TEXT NOT NULL,
    reason TEXT NOT NULL,
    evidence TEXT NOT NULL,
    -- what the row reported, to raise its alert once a reviewer names the person
    amount BIGINT,
    item TEXT NOT NULL DEFAULT '',
    period TEXT NOT NULL DEFAULT '',
    -- 1 waiting for review, 2 the same person as member_id, 3 nobody in the registry
    status SMALLINT NOT NULL DEFAULT 1,
    member_id BIGINT,
    decided_by TEXT,
    decided_at {{TS}}
);
CREATE INDEX feed_unmatched_batch ON feed_unmatched (batch_id, id);
CREATE INDEX feed_unmatched_review ON feed_unmatched (status, id);

-- a reviewer's "same person / not the same person" for an ID as a department wrote it and a name,
-- remembered for the next files (never decided by the machine)
CREATE TABLE identity_decisions (
    id_text TEXT NOT NULL,
    name TEXT NOT NULL,
    member_id BIGINT NOT NULL,
    same BOOLEAN NOT NULL,
    decided_by TEXT NOT NULL,
    decided_at {{TS}} NOT NULL,
    PRIMARY KEY (id_text, name, member_id)
);

CREATE TABLE exclusion_facts (
    id {{ID}},
    household_id BIGINT NOT NULL REFERENCES households (id),
    member_id BIGINT NOT NULL,
    kind SMALLINT NOT NULL,
    detail TEXT NOT NULL,
    batch_id BIGINT NOT NULL REFERENCES feed_batches (id),
    line BIGINT NOT NULL,
    recorded_at {{TS}} NOT NULL
);
CREATE UNIQUE INDEX exclusion_facts_one ON exclusion_facts (member_id, kind, detail);
CREATE INDEX exclusion_facts_household ON exclusion_facts (household_id);

CREATE TABLE feed_mappings (
    department SMALLINT NOT NULL,
    kind SMALLINT NOT NULL,
    -- JSON [[field, header], …]
    mapping TEXT NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at {{TS}} NOT NULL,
    PRIMARY KEY (department, kind)
);
