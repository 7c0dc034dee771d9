-- fangpin 0012: exceptions to 不宜纳入 (DOMAIN D16): a household with an exclusion fact passes
-- 信息比对 only once the town and then the county approve an exception with a reason (e.g. 突发严重
-- 困难户 with catastrophic medical costs). One per case.

CREATE TABLE exclusion_overrides (
    case_id BIGINT PRIMARY KEY REFERENCES cases (id),
    reason TEXT NOT NULL,
    town_by TEXT NOT NULL,
    town_at {{TS}} NOT NULL,
    county_by TEXT,
    county_at {{TS}}
);
