-- The range of a compute (SPEC §8): what every as-of date of it shares, computed once.
-- range_dates holds every date the compute evaluates (its as-of dates, and the dates
-- their alerts compare with), with the catalog version in force at each. Everything
-- from here to changes.sql is a step function of time, the same whatever the as-of
-- date; points.sql and what follows it evaluate the dates a pass at a time.
-- Results cover the organizations of the organizations feed only (SPEC §3.3).

-- Organizations are numbered (org_no, in org_id order): every per-organization table
-- of the rules is keyed by the number, which sorts, partitions and joins faster than
-- the text (timelines by a third); the result tables join org_id back.
CREATE OR REPLACE TEMP TABLE orgs AS
SELECT CAST(row_number() OVER (ORDER BY org_id) AS INTEGER) AS org_no, * FROM organizations;

-- The (organization, version) pairs whose timelines are needed, and the date first_d
-- each timeline starts on (timelines.sql leaves out what stopped counting by then and
-- starts from the value on that date); org_id maps a feed's rows to org_no. Every
-- organization needs the versions in force at the range's dates; a member also the
-- version in force at its purchased_on (SPEC §5.7), and its timelines reach back to
-- the day before the look-back of a lapsed member's cause (SPEC §5.5: no further than
-- 12 months before its purchased_on; the day before, so that a fall on the
-- look-back's first day is a change from the value before it). The memberships are
-- those in force at some date of the range, or more: a version or an earlier first_d
-- no date needs changes no result. Nothing here reads another organization's dates:
-- an organization's results are the same whatever shard it is computed in.
CREATE OR REPLACE TEMP TABLE org_versions AS
WITH span AS (
    SELECT min(d) AS lo, max(d) AS hi FROM range_dates
), held AS (
    SELECT o.org_no, m.purchased_on
    FROM memberships m JOIN orgs o USING (org_id) CROSS JOIN span
    WHERE m.purchased_on <= span.hi AND span.lo < m.anniversary_on + 30
), p AS (
    SELECT o.org_no, v.version, span.lo AS first_d FROM orgs o CROSS JOIN (SELECT DISTINCT version FROM range_dates) v CROSS JOIN span
    UNION ALL
    SELECT h.org_no, v.version, CAST(h.purchased_on - INTERVAL 12 MONTH AS DATE) - 1
    FROM held h ASOF JOIN cat_versions v ON h.purchased_on >= v.effective_from
    UNION ALL
    -- the look-back of the versions in force at the range's dates
    SELECT h.org_no, v.version, CAST(h.purchased_on - INTERVAL 12 MONTH AS DATE) - 1
    FROM held h CROSS JOIN (SELECT DISTINCT version FROM range_dates) v
), f AS (
    SELECT org_no, min(first_d) AS first_d FROM p GROUP BY org_no
)
SELECT DISTINCT p.org_no, o.org_id, p.version,
       coalesce(o.country IN (SELECT country FROM cat_markets k WHERE k.version = p.version), false) AS developing,
       f.first_d
FROM p JOIN f USING (org_no) JOIN orgs o USING (org_no);

-- The scans of landed rows filter on window_start: an item dated b can still be in
-- the window on the earliest first_d exactly when b > first_d − 12 months
-- (leaves_window(b) is the least t with t − 12 months >= b). It only prunes; each
-- timeline leaves out what stopped counting by its own first_d.
SET VARIABLE window_start = (SELECT CAST(min(first_d) - INTERVAL 12 MONTH AS DATE) FROM org_versions);
