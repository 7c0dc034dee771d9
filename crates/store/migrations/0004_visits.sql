-- fangpin 0004: 入户核查 visits of screening tasks (DOMAIN D13, §8.3) and their review.

CREATE TABLE visits (
    id {{ID}},
    task_id BIGINT NOT NULL REFERENCES screening_tasks (id),
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    household_id BIGINT NOT NULL REFERENCES households (id),
    -- copied from the task: lists are read by region
    village_code BIGINT NOT NULL,
    household_no TEXT NOT NULL,
    form SMALLINT NOT NULL,
    -- 1 入户, 2 电话, 3 微信
    mode SMALLINT NOT NULL,
    visited_on {{DATE}} NOT NULL,
    -- JSON list of names (谁排查谁负责)
    screeners TEXT NOT NULL,
    met BOOLEAN NOT NULL,
    confirmed BOOLEAN NOT NULL,
    signed_by TEXT NOT NULL,
    why_not TEXT NOT NULL,
    -- JSON: the form's content (domain::visit::VisitContent)
    content TEXT NOT NULL,
    -- 1 submitted, 2 accepted, 3 returned
    review SMALLINT NOT NULL,
    review_note TEXT NOT NULL DEFAULT '',
    reviewed_by TEXT,
    reviewed_at {{TS}},
    recorded_by_id BIGINT,
    recorded_by TEXT NOT NULL,
    recorded_at {{TS}} NOT NULL,
    version BIGINT NOT NULL
);
CREATE INDEX visits_by_task ON visits (task_id, visited_on, id);
CREATE INDEX visits_queue ON visits (campaign_id, village_code, review, id);
CREATE INDEX visits_by_household ON visits (household_id, id);
-- the review queue of a region, newest first
CREATE INDEX visits_by_place ON visits (village_code, review, id);

-- the household's version when its task's visit was last recorded or accepted: a later version
-- means the registry changed after the visit (回头看)
ALTER TABLE screening_tasks ADD COLUMN household_version_seen BIGINT;

-- 回头看: the households to visit again, with why; regenerated on demand
CREATE TABLE lookback_items (
    id {{ID}},
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id),
    task_id BIGINT NOT NULL REFERENCES screening_tasks (id),
    village_code BIGINT NOT NULL,
    group_no INTEGER NOT NULL,
    household_no TEXT NOT NULL,
    open_findings INTEGER NOT NULL,
    remote_only BOOLEAN NOT NULL,
    not_visited BOOLEAN NOT NULL,
    changed_after_visit BOOLEAN NOT NULL,
    -- the China date of generation: a visit in person on or after it completes the item
    generated_on {{DATE}} NOT NULL,
    generated_at {{TS}} NOT NULL,
    UNIQUE (campaign_id, task_id)
);
CREATE INDEX lookback_by_place ON lookback_items (campaign_id, village_code, group_no, household_no);
