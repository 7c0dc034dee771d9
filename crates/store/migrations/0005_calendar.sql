-- fangpin 0005: the work calendar (DOMAIN D10, D11), loaded from the shipped data on first use and
-- edited by administrators: the years it covers, and its non-ordinary days.

CREATE TABLE calendar_years (
    id SMALLINT PRIMARY KEY,
    year_from INTEGER NOT NULL,
    year_to INTEGER NOT NULL,
    updated_by TEXT NOT NULL,
    updated_at {{TS}} NOT NULL
);

CREATE TABLE calendar_days (
    day {{DATE}} NOT NULL,
    -- 0 = national; otherwise the entry applies to the region's subtree
    region_code BIGINT NOT NULL,
    -- 1 holiday (放假), 2 workday (调休上班)
    kind SMALLINT NOT NULL,
    name TEXT NOT NULL,
    source TEXT NOT NULL,
    PRIMARY KEY (day, region_code)
);
