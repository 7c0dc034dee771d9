-- Maintained counts for the dashboard (issue 6): every change to a household's monitoring
-- state, a screening task's status or a finding's status appends a +1/-1 row here, written by
-- the database's own triggers, so that every write path (imports, services, scripts) and every
-- fangpin process keeps them exact. Rows are only ever appended (no row lock is shared between
-- writers: a long import does not block a screener's save); `compact_tallies` folds them into
-- one row per key from time to time. A count is SUM(n) over its key.
--
--   subject 1 households:       a = monitoring_status; for monitored households also
--                               b = monitoring_category and c = the main (first) risk, else -1 and ''
--                               (monitoring_status 1 is 监测中; the dashboard breaks down only those)
--   subject 2 screening tasks:  a = campaign_id,       b = status,                          c = ''
--   subject 3 findings:         a = code,              b = status,                          c = ''
-- @postgres
-- no write between the counts taken below and the triggers that follow them
LOCK TABLE households, screening_tasks, findings IN SHARE ROW EXCLUSIVE MODE;
-- @end
CREATE TABLE tallies (
    id {{ID}},
    subject SMALLINT NOT NULL,
    village_code BIGINT NOT NULL,
    a BIGINT NOT NULL,
    b BIGINT NOT NULL,
    c TEXT NOT NULL,
    n BIGINT NOT NULL
);
-- the table's size after the last fold (any process's): what is beyond it is the backlog
CREATE TABLE tally_state (
    id SMALLINT PRIMARY KEY,
    folded_rows BIGINT NOT NULL
);
INSERT INTO tally_state (id, folded_rows) VALUES (1, 0);
-- covering: a dashboard read never visits the table
CREATE INDEX tallies_by_place ON tallies (subject, village_code, a, b, c, n);

-- new inclusions and eliminations within a period are read by date (few rows, index only)
CREATE INDEX households_included ON households (monitored_since, village_code);
CREATE INDEX households_eliminated ON households (eliminated_on, village_code);
-- the monitored households alone (a few per cent): officers' and first measures' gaps per village,
-- lists filtered to 监测中. It replaces the index on (status, village), which SQLite preferred even
-- where this one answers from the index alone.
DROP INDEX households_monitoring;
-- (the status repeated as a column: SQLite reads the table for a term of the index's WHERE otherwise)
CREATE INDEX households_monitored ON households (village_code, monitored_since, officer_name, monitoring_status)
    WHERE monitoring_status = 1;

INSERT INTO tallies (subject, village_code, a, b, c, n)
    SELECT 2, village_code, campaign_id, status, '', COUNT(*)
    FROM screening_tasks GROUP BY village_code, campaign_id, status;
INSERT INTO tallies (subject, village_code, a, b, c, n)
    SELECT 3, village_code, code, status, '', COUNT(*)
    FROM findings GROUP BY village_code, code, status;

-- @sqlite
INSERT INTO tallies (subject, village_code, a, b, c, n)
    SELECT 1, village_code, monitoring_status, b, c, COUNT(*) FROM (
        SELECT village_code, monitoring_status, CASE WHEN h.monitoring_status = 1 THEN COALESCE(h.monitoring_category, -1) ELSE -1 END AS b, CASE WHEN h.monitoring_status <> 1 THEN '' WHEN instr(h.risks, ',') > 0 THEN substr(h.risks, 1, instr(h.risks, ',') - 1) ELSE h.risks END AS c FROM households h
    ) k GROUP BY village_code, monitoring_status, b, c;
CREATE TRIGGER households_tally_insert AFTER INSERT ON households
BEGIN
    INSERT INTO tallies (subject, village_code, a, b, c, n)
    VALUES (1, NEW.village_code, NEW.monitoring_status, CASE WHEN NEW.monitoring_status = 1 THEN COALESCE(NEW.monitoring_category, -1) ELSE -1 END, CASE WHEN NEW.monitoring_status <> 1 THEN '' WHEN instr(NEW.risks, ',') > 0 THEN substr(NEW.risks, 1, instr(NEW.risks, ',') - 1) ELSE NEW.risks END, 1);
END;
CREATE TRIGGER households_tally_update AFTER UPDATE OF village_code, monitoring_status, monitoring_category, risks ON households
WHEN OLD.village_code IS NOT NEW.village_code OR OLD.monitoring_status IS NOT NEW.monitoring_status
    OR OLD.monitoring_category IS NOT NEW.monitoring_category OR OLD.risks IS NOT NEW.risks
BEGIN
    INSERT INTO tallies (subject, village_code, a, b, c, n)
    VALUES (1, OLD.village_code, OLD.monitoring_status, CASE WHEN OLD.monitoring_status = 1 THEN COALESCE(OLD.monitoring_category, -1) ELSE -1 END, CASE WHEN OLD.monitoring_status <> 1 THEN '' WHEN instr(OLD.risks, ',') > 0 THEN substr(OLD.risks, 1, instr(OLD.risks, ',') - 1) ELSE OLD.risks END, -1),
           (1, NEW.village_code, NEW.monitoring_status, CASE WHEN NEW.monitoring_status = 1 THEN COALESCE(NEW.monitoring_category, -1) ELSE -1 END, CASE WHEN NEW.monitoring_status <> 1 THEN '' WHEN instr(NEW.risks, ',') > 0 THEN substr(NEW.risks, 1, instr(NEW.risks, ',') - 1) ELSE NEW.risks END, 1);
END;
CREATE TRIGGER households_tally_delete AFTER DELETE ON households
BEGIN
    INSERT INTO tallies (subject, village_code, a, b, c, n)
    VALUES (1, OLD.village_code, OLD.monitoring_status, CASE WHEN OLD.monitoring_status = 1 THEN COALESCE(OLD.monitoring_category, -1) ELSE -1 END, CASE WHEN OLD.monitoring_status <> 1 THEN '' WHEN instr(OLD.risks, ',') > 0 THEN substr(OLD.risks, 1, instr(OLD.risks, ',') - 1) ELSE OLD.risks END, -1);
END;

CREATE TRIGGER tasks_tally_insert AFTER INSERT ON screening_tasks
BEGIN
    INSERT INTO tallies (subject, village_code, a, b, c, n) VALUES (2, NEW.village_code, NEW.campaign_id, NEW.status, '', 1);
END;
CREATE TRIGGER tasks_tally_update AFTER UPDATE OF village_code, status ON screening_tasks
WHEN OLD.village_code IS NOT NEW.village_code OR OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO tallies (subject, village_code, a, b, c, n)
    VALUES (2, OLD.village_code, OLD.campaign_id, OLD.status, '', -1),
           (2, NEW.village_code, NEW.campaign_id, NEW.status, '', 1);
END;
CREATE TRIGGER tasks_tally_delete AFTER DELETE ON screening_tasks
BEGIN
    INSERT INTO tallies (subject, village_code, a, b, c, n) VALUES (2, OLD.village_code, OLD.campaign_id, OLD.status, '', -1);
END;

CREATE TRIGGER findings_tally_insert AFTER INSERT ON findings
BEGIN
    INSERT INTO tallies (subject, village_code, a, b, c, n) VALUES (3, NEW.village_code, NEW.code, NEW.status, '', 1);
END;
CREATE TRIGGER findings_tally_update AFTER UPDATE OF village_code, code, status ON findings
WHEN OLD.village_code IS NOT NEW.village_code OR OLD.code IS NOT NEW.code OR OLD.status IS NOT NEW.status
BEGIN
    INSERT INTO tallies (subject, village_code, a, b, c, n)
    VALUES (3, OLD.village_code, OLD.code, OLD.status, '', -1),
           (3, NEW.village_code, NEW.code, NEW.status, '', 1);
END;
CREATE TRIGGER findings_tally_delete AFTER DELETE ON findings
BEGIN
    INSERT INTO tallies (subject, village_code, a, b, c, n) VALUES (3, OLD.village_code, OLD.code, OLD.status, '', -1);
END;
-- @end
-- @postgres
INSERT INTO tallies (subject, village_code, a, b, c, n)
    SELECT 1, village_code, monitoring_status, b, c, COUNT(*) FROM (
        SELECT village_code, monitoring_status, CASE WHEN h.monitoring_status = 1 THEN COALESCE(h.monitoring_category, -1) ELSE -1 END AS b, CASE WHEN h.monitoring_status <> 1 THEN '' ELSE split_part(h.risks, ',', 1) END AS c FROM households h
    ) k GROUP BY village_code, monitoring_status, b, c;
CREATE FUNCTION households_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tallies (subject, village_code, a, b, c, n)
        VALUES (1, OLD.village_code, OLD.monitoring_status, CASE WHEN OLD.monitoring_status = 1 THEN COALESCE(OLD.monitoring_category, -1) ELSE -1 END, CASE WHEN OLD.monitoring_status <> 1 THEN '' ELSE split_part(OLD.risks, ',', 1) END, -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO tallies (subject, village_code, a, b, c, n)
        VALUES (1, NEW.village_code, NEW.monitoring_status, CASE WHEN NEW.monitoring_status = 1 THEN COALESCE(NEW.monitoring_category, -1) ELSE -1 END, CASE WHEN NEW.monitoring_status <> 1 THEN '' ELSE split_part(NEW.risks, ',', 1) END, 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER households_tally_rows AFTER INSERT OR DELETE ON households
    FOR EACH ROW EXECUTE FUNCTION households_tally();
CREATE TRIGGER households_tally_update AFTER UPDATE OF village_code, monitoring_status, monitoring_category, risks ON households
    FOR EACH ROW WHEN (OLD.village_code IS DISTINCT FROM NEW.village_code
        OR OLD.monitoring_status IS DISTINCT FROM NEW.monitoring_status
        OR OLD.monitoring_category IS DISTINCT FROM NEW.monitoring_category OR OLD.risks IS DISTINCT FROM NEW.risks)
    EXECUTE FUNCTION households_tally();

CREATE FUNCTION tasks_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tallies (subject, village_code, a, b, c, n) VALUES (2, OLD.village_code, OLD.campaign_id, OLD.status, '', -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO tallies (subject, village_code, a, b, c, n) VALUES (2, NEW.village_code, NEW.campaign_id, NEW.status, '', 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER tasks_tally_rows AFTER INSERT OR DELETE ON screening_tasks
    FOR EACH ROW EXECUTE FUNCTION tasks_tally();
CREATE TRIGGER tasks_tally_update AFTER UPDATE OF village_code, status ON screening_tasks
    FOR EACH ROW WHEN (OLD.village_code IS DISTINCT FROM NEW.village_code OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION tasks_tally();

CREATE FUNCTION findings_tally() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        INSERT INTO tallies (subject, village_code, a, b, c, n) VALUES (3, OLD.village_code, OLD.code, OLD.status, '', -1);
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        INSERT INTO tallies (subject, village_code, a, b, c, n) VALUES (3, NEW.village_code, NEW.code, NEW.status, '', 1);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER findings_tally_rows AFTER INSERT OR DELETE ON findings
    FOR EACH ROW EXECUTE FUNCTION findings_tally();
CREATE TRIGGER findings_tally_update AFTER UPDATE OF village_code, code, status ON findings
    FOR EACH ROW WHEN (OLD.village_code IS DISTINCT FROM NEW.village_code OR OLD.code IS DISTINCT FROM NEW.code
        OR OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION findings_tally();
-- @end
