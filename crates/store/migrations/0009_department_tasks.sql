-- fangpin 0009: 任务清单 pushed to line departments (DOMAIN §7.3, D15), and the department of each
-- 行业部门 account.

CREATE TABLE user_departments (
    user_id BIGINT PRIMARY KEY REFERENCES users (id),
    department SMALLINT NOT NULL
);

CREATE TABLE department_tasks (
    id {{ID}},
    household_id BIGINT NOT NULL REFERENCES households (id),
    department SMALLINT NOT NULL,
    -- the measure category expected
    category SMALLINT NOT NULL,
    reason TEXT NOT NULL,
    -- 1 sent, 2 accepted, 3 completed, 4 sent back
    state SMALLINT NOT NULL,
    due_on {{DATE}} NOT NULL,
    answer TEXT NOT NULL DEFAULT '',
    completed_on {{DATE}},
    measure_id BIGINT REFERENCES measures (id),
    created_by TEXT NOT NULL,
    created_at {{TS}} NOT NULL,
    updated_by TEXT,
    updated_at {{TS}} NOT NULL,
    version BIGINT NOT NULL DEFAULT 1
);
-- one open task per household, department and measure
CREATE UNIQUE INDEX department_tasks_open ON department_tasks (household_id, department, category) WHERE state IN (1, 2);
CREATE INDEX department_tasks_queue ON department_tasks (department, state, due_on);
CREATE INDEX department_tasks_household ON department_tasks (household_id, id);
