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

-- The (organization, version) pairs whose timelines are needed, and the date first_d
-- each timeline starts on (timelines.sql leaves out what stopped counting by then and
-- starts from the value on that date); org_id maps a feed's rows to org_no. An
-- organization's timelines start on its earliest point; a member's reach back to the
-- day before the look-back of a lapsed member's cause (SPEC §5.5: no further than
-- 12 months before its purchased_on; the day before, so that a fall on the
-- look-back's first day is a change from the value before it). Nothing here reads
-- another organization's dates: an organization's results are the same whatever
-- shard it is computed in.
CREATE OR REPLACE TEMP TABLE org_versions AS
WITH lookback AS (
    SELECT org_no, min(CAST(purchased_on - INTERVAL 12 MONTH AS DATE)) - 1 AS first_d FROM member_at GROUP BY org_no
)
SELECT p.org_no, p.org_id, p.version, p.developing, least(min(p.d), coalesce(min(b.first_d), min(p.d))) AS first_d
FROM points p LEFT JOIN lookback b USING (org_no)
GROUP BY p.org_no, p.org_id, p.version, p.developing;

-- The scans of landed rows filter on window_start: an item dated b can still be in
-- the window on the earliest first_d exactly when b > first_d − 12 months
-- (leaves_window(b) is the least t with t − 12 months >= b). It only prunes; each
-- timeline leaves out what stopped counting by its own first_d.
SET VARIABLE window_start = (SELECT CAST(min(first_d) - INTERVAL 12 MONTH AS DATE) FROM org_versions);
