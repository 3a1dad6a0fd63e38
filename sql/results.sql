-- The result tables of SPEC §6.2. The rows of each organization are made once per
-- evaluated point that an as-of date of out_dates reads (out_points),
-- one res_<table> each, with the first date the point no longer holds for (until,
-- its organization's next point); the table macro <table>_on(day) gives a table's
-- rows for as-of date day, with the columns in order: each organization's rows of
-- the point that holds for day, dated day, with the days to a date counted from day.
-- prev_renewal (set up by the caller) holds, for each such date D, each
-- organization's status in the latest result before D, or at D − 1. Each res_<table>
-- is made in the order of the table's rows (sql.Tables), and a date's rows keep it
-- (preserve_insertion_order, set by the caller): one sort a pass, not one a date.


CREATE OR REPLACE TEMP TABLE res_attainment AS
SELECT r.*, u.until FROM (
    SELECT c.d AS as_of, c.org_no, o.org_id, o.org_name, c.competency_id, q.competency_name, c.level,
           l.basis, l.lapses_on
    FROM competency_level c
    JOIN level_eval l ON l.org_no = c.org_no AND l.d = c.d AND l.version = c.version
         AND l.competency_id = c.competency_id AND l.rank = c.rank
    JOIN orgs o ON o.org_no = c.org_no
    JOIN (SELECT DISTINCT version, competency_id, competency_name FROM cat_reqs) q
         ON q.version = c.version AND q.competency_id = c.competency_id
    SEMI JOIN eval_dates e ON e.d = c.d AND e.version = c.version
    SEMI JOIN out_points x ON x.d = c.d AND x.org_no = c.org_no
) r JOIN point_until u ON u.org_no = r.org_no AND u.d = r.as_of
ORDER BY org_id, competency_id;

CREATE OR REPLACE TEMP MACRO attainment_on(day) AS TABLE
SELECT day AS as_of, r.org_id, r.org_name, r.competency_id, r.competency_name, r.level, r.basis, r.lapses_on,
       r.lapses_on - day AS days_to_lapse
FROM res_attainment r WHERE r.as_of <= day AND day < r.until;

-- A requirement's row changes far less often than its organization's points (a
-- revenue change moves the revenue rows only): each requirement of an organization
-- gets a row where its shown columns change, holding until the point of its next
-- change (one island of equal rows on consecutive points).
CREATE OR REPLACE TEMP TABLE res_requirements AS
WITH v AS (
    SELECT e.d AS as_of, e.org_no, e.req_id, e.value_dec AS value, n.min_dec AS min, e.met,
           CASE WHEN e.fails_on <= e.d + 400 THEN e.fails_on END AS lapses_on, u.until
    FROM req_values e
    JOIN req_mins n USING (req_id, developing)
    JOIN point_until u ON u.org_no = e.org_no AND u.d = e.d
    SEMI JOIN eval_dates x ON x.d = e.d AND x.version = e.version
    SEMI JOIN out_points o ON o.d = e.d AND o.org_no = e.org_no
), c AS (
    SELECT *, CASE WHEN (value, min, met, lapses_on) IS NOT DISTINCT FROM lag((value, min, met, lapses_on)) OVER w
                   THEN 0 ELSE 1 END AS brk
    FROM v WINDOW w AS (PARTITION BY org_no, req_id ORDER BY as_of)
), k AS (
    SELECT *, sum(brk) OVER (PARTITION BY org_no, req_id ORDER BY as_of ROWS UNBOUNDED PRECEDING) AS grp FROM c
), r AS (
    SELECT min(as_of) AS as_of, org_no, req_id, any_value(value) AS value, any_value(min) AS min, any_value(met) AS met,
           any_value(lapses_on) AS lapses_on, max(until) AS until
    FROM k GROUP BY org_no, req_id, grp
)
SELECT r.as_of, r.org_no, g.org_id, q.competency_id, q.level, q.path, q.metric, r.value, r.min, r.met, r.lapses_on, r.until
FROM r JOIN cat_reqs q USING (req_id) JOIN orgs g USING (org_no)
-- org_no is in org_id order (range.sql), and sorts faster
ORDER BY org_no, competency_id, level, path, metric, min, value;

CREATE OR REPLACE TEMP MACRO requirements_on(day) AS TABLE
SELECT day AS as_of, r.org_id, r.competency_id, r.level, r.path, r.metric, r.value, r.min, r.met, r.lapses_on
FROM res_requirements r WHERE r.as_of <= day AND day < r.until;

CREATE OR REPLACE TEMP TABLE res_renewal_risk AS
SELECT r.*, u.until FROM (
    SELECT r.d AS as_of, r.org_no, o.org_id, o.org_name, r.membership_level, r.purchased_on, r.anniversary_on,
           r.in_grace, r.status, r.supporting, r.lapses_on, c.cause, r.upgrade_eligible, r.eligible_level
    FROM renewal r
    JOIN orgs o USING (org_no)
    LEFT JOIN causes c USING (d, org_no)
    SEMI JOIN out_points x ON x.d = r.d AND x.org_no = r.org_no
) r JOIN point_until u ON u.org_no = r.org_no AND u.d = r.as_of
ORDER BY org_id;

-- An alert (SPEC §5.6): at_risk or lapsed at D, ok or not a member before.
CREATE OR REPLACE TEMP MACRO renewal_on(day) AS TABLE
SELECT day AS as_of, r.*, r.anniversary_on - day AS days_to_anniversary,
       r.status IN ('at_risk', 'lapsed') AND coalesce(p.status, 'not_member') IN ('ok', 'not_member') AS alert,
       coalesce(p.status, 'not_member') AS previous_status
FROM (SELECT * EXCLUDE (as_of) FROM res_renewal_risk WHERE as_of <= day AND day < until) r
LEFT JOIN prev_renewal p ON p.d = day AND p.org_id = r.org_id;

CREATE OR REPLACE TEMP MACRO renewal_risk_on(day) AS TABLE
SELECT as_of, org_id, org_name, membership_level, purchased_on, anniversary_on, days_to_anniversary, in_grace, status,
       supporting AS supporting_competencies, lapses_on, cause, upgrade_eligible, eligible_level, alert
FROM renewal_on(day) ORDER BY org_id; -- (a join need not keep the order)

CREATE OR REPLACE TEMP MACRO alerts_on(day) AS TABLE
SELECT as_of, org_id, org_name, membership_level, previous_status, status,
       'A recent change to your competency achievement has put your membership renewal eligibility at risk' AS message,
       cause
FROM renewal_on(day) WHERE alert ORDER BY org_id;

-- What each at_risk and lapsed member needs (needs.sql), for the workbook (SPEC §6.3):
-- stored beside the tables of §6.2, not a CSV file of its own.
CREATE OR REPLACE TEMP TABLE res_needs AS
SELECT r.*, u.until FROM (
    SELECT n.d AS as_of, n.org_no, o.org_id, n.needs
    FROM needs n
    JOIN orgs o USING (org_no)
    SEMI JOIN out_points x ON x.d = n.d AND x.org_no = n.org_no
) r JOIN point_until u ON u.org_no = r.org_no AND u.d = r.as_of
ORDER BY org_id;

CREATE OR REPLACE TEMP MACRO needs_on(day) AS TABLE
SELECT day AS as_of, r.org_id, r.needs FROM res_needs r WHERE r.as_of <= day AND day < r.until;

-- Expiring (SPEC §6.2): for members, each valid skill item of a counting individual
-- whose code a competency's requirements name, and each active override, whose
-- validity ends in (D, D + 90 days]; one row per competency it serves.
CREATE OR REPLACE TEMP TABLE res_expiring AS
SELECT r.*, u.until FROM (
    WITH m AS (
        SELECT r.d, r.org_no, o.org_id, r.version FROM renewal r JOIN orgs o USING (org_no)
        SEMI JOIN out_points x ON x.d = r.d AND x.org_no = r.org_no
        WHERE r.membership_level IS NOT NULL
    )
    SELECT DISTINCT m.d AS as_of, m.org_no, m.org_id, i.individual_id, q.competency_id, i.kind, i.code, i.t_until AS ends_on
    FROM m
    JOIN association_intervals a ON a.org_id = m.org_id AND a.t_from <= m.d AND m.d < a.t_until
    JOIN skill_items i ON i.version = m.version AND i.individual_id = a.individual_id
         AND i.t_from <= m.d AND m.d < i.t_until AND i.t_until <= m.d + 90
    JOIN cat_anyof x ON x.version = m.version AND x.code = i.code
    JOIN cat_reqs q ON q.version = m.version AND q.measure = x.measure
    UNION ALL
    SELECT m.d, m.org_no, m.org_id, NULL, o.competency_id, 'override', o.level, o.t_until
    FROM m
    JOIN override_intervals o ON o.org_no = m.org_no AND o.t_from <= m.d AND m.d < o.t_until AND o.t_until <= m.d + 90
    SEMI JOIN cat_reqs q ON q.version = m.version AND q.competency_id = o.competency_id
) r JOIN point_until u ON u.org_no = r.org_no AND u.d = r.as_of
ORDER BY org_id, individual_id NULLS FIRST, competency_id, kind, code, ends_on;

CREATE OR REPLACE TEMP MACRO expiring_on(day) AS TABLE
SELECT day AS as_of, r.org_id, r.individual_id, r.competency_id, r.kind, r.code, r.ends_on, r.ends_on - day AS days_left
FROM res_expiring r WHERE r.as_of <= day AND day < r.until;

-- Marketing profile (SPEC §5.7): for a member at level L, each competency shown at
-- min(L, max(level at D, level at purchased_on)); not shown when that is none.
CREATE OR REPLACE TEMP TABLE res_profile AS
SELECT r.*, u.until FROM (
    WITH m AS (
        SELECT r.d, r.org_no, o.org_id, r.rank, r.purchased_on FROM renewal r JOIN orgs o USING (org_no)
        SEMI JOIN out_points x ON x.d = r.d AND x.org_no = r.org_no
        WHERE r.membership_level IS NOT NULL
    ), shown AS (
        SELECT m.d, m.org_no, m.org_id, m.rank AS member_rank, c.competency_id, max(c.rank) AS best
        FROM m
        JOIN competency_level c ON c.org_no = m.org_no AND (c.d = m.d OR c.d = m.purchased_on)
        WHERE (c.d = m.d AND c.version = (SELECT version FROM eval_dates WHERE d = m.d))
           OR (c.d = m.purchased_on AND c.version = (SELECT max_by(version, effective_from) FROM cat_versions WHERE effective_from <= m.purchased_on))
        GROUP BY ALL
    )
    SELECT d AS as_of, org_no, org_id, competency_id,
           CASE least(member_rank, best) WHEN 2 THEN 'gold' ELSE 'silver' END AS displayed_level
    FROM shown
) r JOIN point_until u ON u.org_no = r.org_no AND u.d = r.as_of
ORDER BY org_id, competency_id;

CREATE OR REPLACE TEMP MACRO profile_on(day) AS TABLE
SELECT day AS as_of, r.org_id, r.competency_id, r.displayed_level
FROM res_profile r WHERE r.as_of <= day AND day < r.until;

-- Key people (SPEC §5.8, §6.2): keypeople.sql's rows with the names; a key-people
-- point's hold until the organization's next one (points.sql).
CREATE OR REPLACE TEMP TABLE res_key_people AS
SELECT r.*, u.until FROM (
    SELECT k.d AS as_of, k.org_no, o.org_id, o.org_name, r.membership_level, k.individual_id, k.status_now, k.status_if_leaves,
           k.lapses_on_now, k.lapses_on_if_leaves, k.competencies
    FROM key_people k
    JOIN orgs o USING (org_no)
    JOIN renewal r USING (d, org_no)
) r JOIN kp_until u ON u.org_no = r.org_no AND u.d = r.as_of
ORDER BY org_id, individual_id;

CREATE OR REPLACE TEMP MACRO key_people_on(day) AS TABLE
SELECT day AS as_of, r.org_id, r.org_name, r.membership_level, r.individual_id, r.status_now, r.status_if_leaves,
       r.lapses_on_now, r.lapses_on_if_leaves, r.competencies
FROM res_key_people r WHERE r.as_of <= day AND day < r.until;

-- What compute leaves out is the same at every date, as are the data quality counts
-- (quality.sql). A shard of several writes no data_quality rows: its counts go in
-- its part marker, and the process that completes the date writes their sums
-- (parts.go) by data_quality_of, as one shard writes its own.
CREATE OR REPLACE TEMP MACRO compute_quarantine_on(day) AS TABLE
SELECT day AS as_of, feed, file, line, "column", reason FROM compute_quarantine ORDER BY file, line;

CREATE OR REPLACE TEMP MACRO data_quality_of(day, counts) AS TABLE
SELECT day AS as_of, check_name, feed, rows FROM query_table(counts) ORDER BY check_name, feed;

CREATE OR REPLACE TEMP MACRO data_quality_on(day) AS TABLE
SELECT * FROM data_quality_of(day, 'dq_counts') WHERE getvariable('shard_count') = 1;
