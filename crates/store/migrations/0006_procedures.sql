-- fangpin 0006: 识别认定 and 风险消除 cases (DOMAIN D8, D9), their steps in order, and the files
-- attached to them as evidence.

CREATE TABLE cases (
    id {{ID}},
    -- 1 identification, 2 elimination
    procedure_kind SMALLINT NOT NULL,
    household_id BIGINT NOT NULL REFERENCES households (id),
    -- 1 open, 2 completed, 3 rejected, 4 withdrawn
    status SMALLINT NOT NULL,
    clue_source SMALLINT,
    finding_id BIGINT REFERENCES findings (id),
    -- the next step to record (NULL once closed), for the queues
    next_step SMALLINT,
    opened_on {{DATE}} NOT NULL,
    closed_on {{DATE}},
    version BIGINT NOT NULL DEFAULT 1,
    created_by TEXT NOT NULL,
    created_at {{TS}} NOT NULL,
    updated_at {{TS}} NOT NULL
);
-- at most one open case per household
CREATE UNIQUE INDEX cases_one_open ON cases (household_id) WHERE status = 1;
CREATE INDEX cases_household ON cases (household_id, id);
CREATE INDEX cases_queue ON cases (status, next_step, id);

CREATE TABLE case_steps (
    id {{ID}},
    case_id BIGINT NOT NULL REFERENCES cases (id),
    seq SMALLINT NOT NULL,
    step SMALLINT NOT NULL,
    -- 1 passed, 2 rejected, 3 notice running
    outcome SMALLINT NOT NULL,
    done_on {{DATE}} NOT NULL,
    ended_on {{DATE}},
    -- JSON array of names
    participants TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT '',
    -- JSON of the decision (category and risks, or elimination mode), '' when none
    decision TEXT NOT NULL DEFAULT '',
    actor_id BIGINT,
    actor_name TEXT NOT NULL,
    actor_role SMALLINT NOT NULL,
    recorded_at {{TS}} NOT NULL,
    UNIQUE (case_id, seq)
);

CREATE TABLE attachments (
    id {{ID}},
    case_id BIGINT NOT NULL REFERENCES cases (id),
    step_id BIGINT REFERENCES case_steps (id),
    file_name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    sha256 TEXT NOT NULL,
    body {{BLOB}} NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at {{TS}} NOT NULL
);
CREATE INDEX attachments_case ON attachments (case_id, id);
