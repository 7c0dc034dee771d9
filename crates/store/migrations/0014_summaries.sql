-- fangpin 0014: the narrative of a 工作总结 (issue 7) per campaign (0: none) and region; its
-- figures are computed from the data for the date asked, never stored.

CREATE TABLE summary_notes (
    campaign_id BIGINT NOT NULL,
    region_code BIGINT NOT NULL REFERENCES regions (code),
    work_done TEXT NOT NULL DEFAULT '',
    problems TEXT NOT NULL DEFAULT '',
    next_steps TEXT NOT NULL DEFAULT '',
    updated_by TEXT NOT NULL,
    updated_at {{TS}} NOT NULL,
    version BIGINT NOT NULL DEFAULT 1,
    PRIMARY KEY (campaign_id, region_code)
);
