-- fangpin 0013: 督导 (issue 7): supervision groups with their members and villages, inspections
-- with the households they drew (and the seed that draws them again), and 整改 items.

CREATE TABLE supervision_groups (
    id {{ID}},
    name TEXT NOT NULL,
    region_code BIGINT NOT NULL REFERENCES regions (code),
    created_by TEXT NOT NULL,
    created_at {{TS}} NOT NULL
);

CREATE TABLE supervision_group_villages (
    group_id BIGINT NOT NULL REFERENCES supervision_groups (id),
    village_code BIGINT NOT NULL REFERENCES regions (code),
    PRIMARY KEY (group_id, village_code)
);
CREATE INDEX supervision_group_villages_village ON supervision_group_villages (village_code);

CREATE TABLE supervision_group_members (
    group_id BIGINT NOT NULL REFERENCES supervision_groups (id),
    user_id BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE inspections (
    id {{ID}},
    group_id BIGINT NOT NULL REFERENCES supervision_groups (id),
    village_code BIGINT NOT NULL REFERENCES regions (code),
    -- 1 实地督导, 2 暗访, 3 线上抽查
    kind SMALLINT NOT NULL,
    on_date {{DATE}} NOT NULL,
    checked TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    sample_seed BIGINT NOT NULL,
    created_by TEXT NOT NULL,
    created_at {{TS}} NOT NULL
);
CREATE INDEX inspections_village ON inspections (village_code, id);

CREATE TABLE inspection_samples (
    inspection_id BIGINT NOT NULL REFERENCES inspections (id),
    seq INTEGER NOT NULL,
    household_id BIGINT NOT NULL REFERENCES households (id),
    PRIMARY KEY (inspection_id, seq)
);

CREATE TABLE rectifications (
    id {{ID}},
    inspection_id BIGINT NOT NULL REFERENCES inspections (id),
    village_code BIGINT NOT NULL REFERENCES regions (code),
    household_id BIGINT REFERENCES households (id),
    problem TEXT NOT NULL,
    owner TEXT NOT NULL,
    due_on {{DATE}} NOT NULL,
    -- 1 待整改, 2 已整改
    status SMALLINT NOT NULL,
    evidence TEXT NOT NULL DEFAULT '',
    closed_on {{DATE}},
    closed_by TEXT,
    reopen_reason TEXT NOT NULL DEFAULT '',
    created_at {{TS}} NOT NULL,
    updated_at {{TS}} NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
CREATE INDEX rectifications_village ON rectifications (village_code, status, due_on);
CREATE INDEX rectifications_inspection ON rectifications (inspection_id, id);
