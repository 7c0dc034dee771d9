-- fangpin 0003: 集中排查 campaigns and their screening tasks (DOMAIN D12, D13).

CREATE TABLE campaigns (
    id {{ID}},
    name TEXT NOT NULL,
    region_code BIGINT NOT NULL,
    -- the region's subtree as a code range, for joins with households and tasks
    region_lo BIGINT NOT NULL,
    region_hi BIGINT NOT NULL,
    policy_year INTEGER NOT NULL,
    -- JSON list of {phase, starts_on, ends_on, due_on}
    phases TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_at {{TS}} NOT NULL,
    closed_at {{TS}}
);

-- one task per household per campaign; a household removed from the registry keeps its task
CREATE TABLE screening_tasks (
    id {{ID}},
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    household_id BIGINT NOT NULL REFERENCES households (id),
    village_code BIGINT NOT NULL,
    group_no INTEGER NOT NULL,
    household_no TEXT NOT NULL,
    -- 3, 4, 5: 附件3/4/5
    form SMALLINT NOT NULL,
    screener_id BIGINT REFERENCES users (id),
    -- 1 pending, 2 remote only, 3 visited in person, 4 not reached
    status SMALLINT NOT NULL,
    last_visit_on {{DATE}},
    created_at {{TS}} NOT NULL,
    UNIQUE (campaign_id, household_id)
);
CREATE INDEX tasks_by_place ON screening_tasks (campaign_id, village_code, group_no, household_no);
CREATE INDEX tasks_by_screener ON screening_tasks (screener_id, campaign_id);
