-- Each department alert and department task keeps its household's village, as findings, visits
-- and screening tasks do (issue 6): their lists, counts and the dashboard's figures are scoped by
-- the row's own village instead of walking every household of the scope to probe for rows (an
-- alerts page of a county cost about 0.2 s). Kept by every insert, and by the household's move in
-- the same transaction as the move.
ALTER TABLE department_alerts ADD COLUMN village_code BIGINT NOT NULL DEFAULT 0;
UPDATE department_alerts SET village_code = (SELECT h.village_code FROM households h WHERE h.id = department_alerts.household_id);
CREATE INDEX department_alerts_village ON department_alerts (village_code, id);

ALTER TABLE department_tasks ADD COLUMN village_code BIGINT NOT NULL DEFAULT 0;
UPDATE department_tasks SET village_code = (SELECT h.village_code FROM households h WHERE h.id = department_tasks.household_id);
CREATE INDEX department_tasks_village ON department_tasks (village_code, id);
