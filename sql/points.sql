-- Evaluation points (SPEC §5): the (organization, date) pairs whose levels are
-- computed, each with the catalog version in force at its date (SPEC §4). eval_dates
-- holds the as-of dates (D, and D − 1 when alerts need it); each member at such a date
-- adds its purchased_on, evaluated with the version in force then (SPEC §5.7).
-- Results cover the organizations of the organizations feed only (SPEC §3.3).

-- Organizations are numbered (org_no, in org_id order): every per-organization table
-- of the rules is keyed by the number, which sorts, partitions and joins faster than
-- the text (timelines by a third); the result tables join org_id back.
CREATE OR REPLACE TEMP TABLE orgs AS
SELECT CAST(row_number() OVER (ORDER BY org_id) AS INTEGER) AS org_no, * FROM organizations;

-- The membership of each organization at each as-of date (SPEC §5.5): among its rows
-- with purchased_on <= D < anniversary_on + 30 days, the latest purchased_on.
CREATE OR REPLACE TEMP TABLE member_at AS
SELECT e.d, o.org_no, m.level, m.purchased_on, m.anniversary_on
FROM eval_dates e
JOIN memberships m ON m.purchased_on <= e.d AND e.d < m.anniversary_on + 30
JOIN orgs o ON o.org_id = m.org_id
QUALIFY row_number() OVER (PARTITION BY e.d, o.org_no ORDER BY m.purchased_on DESC) = 1;

CREATE OR REPLACE TEMP TABLE points AS
WITH p AS (
    SELECT o.org_no, e.d, e.version FROM orgs o CROSS JOIN eval_dates e
    UNION
    SELECT m.org_no, m.purchased_on, v.version
    FROM member_at m ASOF JOIN cat_versions v ON m.purchased_on >= v.effective_from
)
SELECT p.org_no, o.org_id, p.d, p.version, o.country,
       coalesce(o.country IN (SELECT country FROM cat_markets k WHERE k.version = p.version), false) AS developing
FROM p JOIN orgs o USING (org_no);

-- The horizon: items that stopped counting by the earliest point's date first_d change
-- no value the rules read (their entering and leaving cancel out before it). As a
-- date, window_start, the scans of landed files can filter on: an item dated b is still
-- in the window on first_d exactly when b > first_d − 12 months (leaves_window(b) is
-- the least t with t − 12 months >= b).
CREATE OR REPLACE TEMP TABLE horizon AS
SELECT min(d) AS first_d, CAST(min(d) - INTERVAL 12 MONTH AS DATE) AS window_start FROM points;

-- The (organization, version) pairs whose timelines are needed, and the date first_d
-- each timeline starts on (timelines.sql leaves out what stopped counting by then and
-- starts from the value on that date); org_id maps a feed's rows to org_no. An
-- organization that is a member at an as-of date looks back to the horizon: a lapsed
-- member's cause names the date a value fell (renewal.sql). Any other organization's
-- rules read its timelines from its earliest point on.
CREATE OR REPLACE TEMP TABLE org_versions AS
SELECT p.org_no, p.org_id, p.version, p.developing,
       CASE WHEN p.org_no IN (SELECT org_no FROM member_at) THEN (SELECT first_d FROM horizon) ELSE min(p.d) END AS first_d
FROM points p GROUP BY p.org_no, p.org_id, p.version, p.developing;

SET VARIABLE window_start = (SELECT window_start FROM horizon);
