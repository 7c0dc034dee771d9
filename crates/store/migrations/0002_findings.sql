-- fangpin 0002: screening findings (DOMAIN D14) and the runs that produced them.

CREATE TABLE screening_runs (
    id {{ID}},
    region_code BIGINT,
    as_of {{DATE}} NOT NULL,
    households INTEGER NOT NULL,
    findings INTEGER NOT NULL,
    opened INTEGER NOT NULL,
    resolved INTEGER NOT NULL,
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    at {{TS}} NOT NULL
);

CREATE TABLE findings (
    id {{ID}},
    household_id BIGINT NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    -- copied from the household: the queue is read by region
    village_code BIGINT NOT NULL,
    -- code/sub-code/rule/member: the same finding in a later screening
    fingerprint TEXT NOT NULL,
    code SMALLINT NOT NULL,
    sub_code TEXT NOT NULL,
    suggested_category SMALLINT,
    rule_id TEXT NOT NULL,
    rule_version INTEGER NOT NULL,
    -- JSON: the parameter versions and the inputs the rule read
    params TEXT NOT NULL,
    inputs TEXT NOT NULL,
    member_id BIGINT,
    explanation TEXT NOT NULL,
    -- 1 open, 2 turned into a clue, 3 dismissed, 4 resolved
    status SMALLINT NOT NULL,
    status_note TEXT NOT NULL DEFAULT '',
    status_by TEXT,
    status_at {{TS}},
    first_seen {{TS}} NOT NULL,
    last_seen {{TS}} NOT NULL,
    -- the screening date of the last evaluation, and its run
    as_of {{DATE}} NOT NULL,
    run_id BIGINT,
    UNIQUE (household_id, fingerprint)
);
CREATE INDEX findings_queue ON findings (village_code, status, code, id);
