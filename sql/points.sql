-- Evaluation points (SPEC §5) of one pass: the (organization, date) pairs whose levels
-- are computed, each with the catalog version in force at its date (SPEC §4).
-- eval_dates holds the pass's dates with their versions; an organization is evaluated
-- on the first of them and then only on a date that a change point of its own, or of
-- every organization, reaches (changes.sql): on the others its results are those of
-- its latest evaluated date, but for the days counted to a date (point_until).
-- The variable every_point evaluates every organization on every date instead (the
-- tests compare the two).
-- Each member at a point adds its purchased_on, evaluated with the version in force
-- then (SPEC §5.7).

CREATE OR REPLACE TEMP TABLE eval_steps AS
SELECT d, version, lag(d) OVER (ORDER BY d) AS prev_d FROM eval_dates;

-- A point is a state point, or a key-people point (changes.sql), when a change point
-- of that kind reaches it, and on the first date and the dates every organization
-- changes.
CREATE OR REPLACE TEMP TABLE eval_points AS
SELECT org_no, d, bool_or(state) AS state, bool_or(kp) AS kp FROM (
    SELECT o.org_no, s.d, true AS state, true AS kp FROM orgs o CROSS JOIN eval_steps s
    WHERE s.prev_d IS NULL OR getvariable('every_point')
       OR EXISTS (SELECT 1 FROM global_change_points g WHERE s.prev_d < g.t AND g.t <= s.d)
    UNION ALL
    SELECT c.org_no, s.d, c.state, c.kp FROM change_points c JOIN eval_steps s ON s.prev_d < c.t AND c.t <= s.d
) GROUP BY ALL;

-- How long each point holds: from its date to its organization's next point, the
-- first date whose results are not read from it (results.sql, the alerts' statuses);
-- and each key-people point to the organization's next one (key people).
CREATE OR REPLACE TEMP TABLE point_until AS
SELECT org_no, d, lead(d, 1, forever()) OVER (PARTITION BY org_no ORDER BY d) AS until FROM eval_points;
CREATE OR REPLACE TEMP TABLE kp_until AS
SELECT org_no, d, lead(d, 1, forever()) OVER (PARTITION BY org_no ORDER BY d) AS until FROM eval_points WHERE kp;

-- The membership of each organization at each point's date (SPEC §5.5): among its
-- rows with purchased_on <= D < anniversary_on + 30 days, the latest purchased_on.
CREATE OR REPLACE TEMP TABLE member_at AS
SELECT p.d, p.org_no, m.level, m.purchased_on, m.anniversary_on
FROM (SELECT org_no, d FROM eval_points) p
JOIN orgs o USING (org_no)
JOIN memberships m ON m.org_id = o.org_id AND m.purchased_on <= p.d AND p.d < m.anniversary_on + 30
QUALIFY row_number() OVER (PARTITION BY p.d, p.org_no ORDER BY m.purchased_on DESC) = 1;

CREATE OR REPLACE TEMP TABLE points AS
WITH p AS (
    SELECT p.org_no, p.d, e.version FROM eval_points p JOIN eval_dates e USING (d)
    UNION
    SELECT m.org_no, m.purchased_on, v.version
    FROM member_at m ASOF JOIN cat_versions v ON m.purchased_on >= v.effective_from
)
SELECT p.org_no, o.org_id, p.d, p.version, o.country,
       coalesce(o.country IN (SELECT country FROM cat_markets k WHERE k.version = p.version), false) AS developing
FROM p JOIN orgs o USING (org_no);
