-- Each monitored household's first-measures clock kept on the household (issue 6), so that the
-- dashboard counts overdue first measures from the households still waiting (a partial index)
-- instead of looking up every monitored household's measures and officers on each request. Kept by
-- triggers on measures, officer_assignments and the household's own 纳入监测 date, in the same
-- transaction as the write. The 时限 list still reads measures and officers directly: a test holds
-- the two equal.
--   has_measure       a measure not cancelled (status 4) planned on or after monitored_since
--   first_officer_on  the first officer's start on or after monitored_since; else monitored_since
--                     when an officer kept from an earlier period is active; else NULL
-- @postgres
-- no measure or officer written between the backfill below and the triggers that follow it
LOCK TABLE measures, officer_assignments IN SHARE ROW EXCLUSIVE MODE;
-- @end
ALTER TABLE households ADD COLUMN has_measure BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE households ADD COLUMN first_officer_on {{DATE}};

UPDATE households SET has_measure = EXISTS (SELECT 1 FROM measures m WHERE m.household_id = households.id AND m.status <> 4 AND m.planned_on >= households.monitored_since),
        first_officer_on = COALESCE((SELECT MIN(o2.started_on) FROM officer_assignments o2
                     WHERE o2.household_id = households.id AND o2.started_on >= households.monitored_since),
                    CASE WHEN EXISTS (SELECT 1 FROM officer_assignments o WHERE o.household_id = households.id AND o.ended_on IS NULL)
                         THEN households.monitored_since END)
    WHERE monitored_since IS NOT NULL;

-- covering (the WHERE's columns repeated: SQLite reads the table for them otherwise)
CREATE INDEX households_measure_gaps ON households (village_code, monitored_since, first_officer_on, monitoring_status, has_measure)
    WHERE monitoring_status = 1 AND has_measure = FALSE;

-- @sqlite
CREATE TRIGGER measures_gap_insert AFTER INSERT ON measures
BEGIN
    UPDATE households SET has_measure = EXISTS (SELECT 1 FROM measures m WHERE m.household_id = households.id AND m.status <> 4 AND m.planned_on >= households.monitored_since),
        first_officer_on = COALESCE((SELECT MIN(o2.started_on) FROM officer_assignments o2
                     WHERE o2.household_id = households.id AND o2.started_on >= households.monitored_since),
                    CASE WHEN EXISTS (SELECT 1 FROM officer_assignments o WHERE o.household_id = households.id AND o.ended_on IS NULL)
                         THEN households.monitored_since END)
    WHERE id = NEW.household_id;
END;
CREATE TRIGGER measures_gap_update AFTER UPDATE OF household_id, status, planned_on ON measures
WHEN OLD.household_id IS NOT NEW.household_id OR OLD.status IS NOT NEW.status OR OLD.planned_on IS NOT NEW.planned_on
BEGIN
    UPDATE households SET has_measure = EXISTS (SELECT 1 FROM measures m WHERE m.household_id = households.id AND m.status <> 4 AND m.planned_on >= households.monitored_since),
        first_officer_on = COALESCE((SELECT MIN(o2.started_on) FROM officer_assignments o2
                     WHERE o2.household_id = households.id AND o2.started_on >= households.monitored_since),
                    CASE WHEN EXISTS (SELECT 1 FROM officer_assignments o WHERE o.household_id = households.id AND o.ended_on IS NULL)
                         THEN households.monitored_since END)
    WHERE id IN (OLD.household_id, NEW.household_id);
END;
CREATE TRIGGER measures_gap_delete AFTER DELETE ON measures
BEGIN
    UPDATE households SET has_measure = EXISTS (SELECT 1 FROM measures m WHERE m.household_id = households.id AND m.status <> 4 AND m.planned_on >= households.monitored_since),
        first_officer_on = COALESCE((SELECT MIN(o2.started_on) FROM officer_assignments o2
                     WHERE o2.household_id = households.id AND o2.started_on >= households.monitored_since),
                    CASE WHEN EXISTS (SELECT 1 FROM officer_assignments o WHERE o.household_id = households.id AND o.ended_on IS NULL)
                         THEN households.monitored_since END)
    WHERE id = OLD.household_id;
END;
CREATE TRIGGER officers_gap_insert AFTER INSERT ON officer_assignments
BEGIN
    UPDATE households SET has_measure = EXISTS (SELECT 1 FROM measures m WHERE m.household_id = households.id AND m.status <> 4 AND m.planned_on >= households.monitored_since),
        first_officer_on = COALESCE((SELECT MIN(o2.started_on) FROM officer_assignments o2
                     WHERE o2.household_id = households.id AND o2.started_on >= households.monitored_since),
                    CASE WHEN EXISTS (SELECT 1 FROM officer_assignments o WHERE o.household_id = households.id AND o.ended_on IS NULL)
                         THEN households.monitored_since END)
    WHERE id = NEW.household_id;
END;
CREATE TRIGGER officers_gap_update AFTER UPDATE OF household_id, started_on, ended_on ON officer_assignments
WHEN OLD.household_id IS NOT NEW.household_id OR OLD.started_on IS NOT NEW.started_on OR OLD.ended_on IS NOT NEW.ended_on
BEGIN
    UPDATE households SET has_measure = EXISTS (SELECT 1 FROM measures m WHERE m.household_id = households.id AND m.status <> 4 AND m.planned_on >= households.monitored_since),
        first_officer_on = COALESCE((SELECT MIN(o2.started_on) FROM officer_assignments o2
                     WHERE o2.household_id = households.id AND o2.started_on >= households.monitored_since),
                    CASE WHEN EXISTS (SELECT 1 FROM officer_assignments o WHERE o.household_id = households.id AND o.ended_on IS NULL)
                         THEN households.monitored_since END)
    WHERE id IN (OLD.household_id, NEW.household_id);
END;
CREATE TRIGGER officers_gap_delete AFTER DELETE ON officer_assignments
BEGIN
    UPDATE households SET has_measure = EXISTS (SELECT 1 FROM measures m WHERE m.household_id = households.id AND m.status <> 4 AND m.planned_on >= households.monitored_since),
        first_officer_on = COALESCE((SELECT MIN(o2.started_on) FROM officer_assignments o2
                     WHERE o2.household_id = households.id AND o2.started_on >= households.monitored_since),
                    CASE WHEN EXISTS (SELECT 1 FROM officer_assignments o WHERE o.household_id = households.id AND o.ended_on IS NULL)
                         THEN households.monitored_since END)
    WHERE id = OLD.household_id;
END;
CREATE TRIGGER households_gap_update AFTER UPDATE OF monitored_since ON households
WHEN OLD.monitored_since IS NOT NEW.monitored_since
BEGIN
    UPDATE households SET has_measure = EXISTS (SELECT 1 FROM measures m WHERE m.household_id = households.id AND m.status <> 4 AND m.planned_on >= households.monitored_since),
        first_officer_on = COALESCE((SELECT MIN(o2.started_on) FROM officer_assignments o2
                     WHERE o2.household_id = households.id AND o2.started_on >= households.monitored_since),
                    CASE WHEN EXISTS (SELECT 1 FROM officer_assignments o WHERE o.household_id = households.id AND o.ended_on IS NULL)
                         THEN households.monitored_since END)
    WHERE id = NEW.id;
END;
-- @end
-- @postgres
CREATE FUNCTION household_gaps_of(hid BIGINT) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    -- the household's row first: two transactions writing its measures at once then take turns,
    -- and the statement below (a fresh snapshot in READ COMMITTED) sees what the other committed
    PERFORM 1 FROM households WHERE id = hid FOR NO KEY UPDATE;
    UPDATE households SET has_measure = EXISTS (SELECT 1 FROM measures m WHERE m.household_id = households.id AND m.status <> 4 AND m.planned_on >= households.monitored_since),
        first_officer_on = COALESCE((SELECT MIN(o2.started_on) FROM officer_assignments o2
                     WHERE o2.household_id = households.id AND o2.started_on >= households.monitored_since),
                    CASE WHEN EXISTS (SELECT 1 FROM officer_assignments o WHERE o.household_id = households.id AND o.ended_on IS NULL)
                         THEN households.monitored_since END)
    WHERE id = hid;
END;
$$;
CREATE FUNCTION household_gaps() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_TABLE_NAME = 'households' THEN
        PERFORM household_gaps_of(NEW.id);
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM household_gaps_of(OLD.household_id);
    END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.household_id IS DISTINCT FROM OLD.household_id) THEN
        PERFORM household_gaps_of(NEW.household_id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER measures_gap_rows AFTER INSERT OR DELETE ON measures
    FOR EACH ROW EXECUTE FUNCTION household_gaps();
CREATE TRIGGER measures_gap_update AFTER UPDATE OF household_id, status, planned_on ON measures
    FOR EACH ROW WHEN (OLD.household_id IS DISTINCT FROM NEW.household_id OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.planned_on IS DISTINCT FROM NEW.planned_on)
    EXECUTE FUNCTION household_gaps();
CREATE TRIGGER officers_gap_rows AFTER INSERT OR DELETE ON officer_assignments
    FOR EACH ROW EXECUTE FUNCTION household_gaps();
CREATE TRIGGER officers_gap_update AFTER UPDATE OF household_id, started_on, ended_on ON officer_assignments
    FOR EACH ROW WHEN (OLD.household_id IS DISTINCT FROM NEW.household_id OR OLD.started_on IS DISTINCT FROM NEW.started_on
        OR OLD.ended_on IS DISTINCT FROM NEW.ended_on)
    EXECUTE FUNCTION household_gaps();
CREATE TRIGGER households_gap_update AFTER UPDATE OF monitored_since ON households
    FOR EACH ROW WHEN (OLD.monitored_since IS DISTINCT FROM NEW.monitored_since)
    EXECUTE FUNCTION household_gaps();
-- @end
