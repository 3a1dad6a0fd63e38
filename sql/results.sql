-- The result tables of SPEC §6.2 for each date of out_dates, one res_<table> each,
-- with the columns in order. prev_renewal (set up by the caller) holds, for each such
-- date D, each organization's status in the latest result before D, or at D − 1.

CREATE OR REPLACE TEMP TABLE res_attainment AS
SELECT c.d AS as_of, o.org_id, o.org_name, c.competency_id, q.competency_name, c.level,
       l.basis, l.lapses_on, l.lapses_on - c.d AS days_to_lapse
FROM competency_level c
JOIN level_eval l ON l.org_no = c.org_no AND l.d = c.d AND l.version = c.version
     AND l.competency_id = c.competency_id AND l.rank = c.rank
JOIN orgs o ON o.org_no = c.org_no
JOIN (SELECT DISTINCT version, competency_id, competency_name FROM cat_reqs) q
     ON q.version = c.version AND q.competency_id = c.competency_id
SEMI JOIN eval_dates e ON e.d = c.d AND e.version = c.version
SEMI JOIN out_dates x ON x.d = c.d;

CREATE OR REPLACE TEMP TABLE res_requirements AS
SELECT e.d AS as_of, g.org_id, e.competency_id, e.level, e.path, e.metric,
       -- DECIMAL(38, 4): a sum of amounts or seats that ingest accepts never overflows;
       -- through its decimal text, since DuckDB's cast of a large DOUBLE scales it
       -- in binary (199999999999998 would become ….0032)
       CAST(printf('%.4f', e.value) AS DECIMAL(38, 4)) AS value, CAST(printf('%.4f', e.min_value) AS DECIMAL(38, 4)) AS min, e.met,
       CASE WHEN e.fails_on <= e.d + 400 THEN e.fails_on END AS lapses_on
FROM req_eval e JOIN orgs g USING (org_no)
SEMI JOIN eval_dates x ON x.d = e.d AND x.version = e.version
SEMI JOIN out_dates o ON o.d = e.d;

CREATE OR REPLACE TEMP TABLE res_renewal_risk AS
SELECT r.d AS as_of, o.org_id, o.org_name, r.membership_level, r.purchased_on, r.anniversary_on,
       r.days_to_anniversary, r.in_grace, r.status, r.supporting, r.lapses_on, c.cause,
       r.upgrade_eligible, r.eligible_level,
       r.status IN ('at_risk', 'lapsed') AND coalesce(p.status, 'not_member') IN ('ok', 'not_member') AS alert,
       coalesce(p.status, 'not_member') AS previous_status
FROM renewal r
JOIN orgs o USING (org_no)
LEFT JOIN causes c USING (d, org_no)
LEFT JOIN prev_renewal p ON p.d = r.d AND p.org_id = o.org_id
SEMI JOIN out_dates x ON x.d = r.d;

CREATE OR REPLACE TEMP TABLE res_alerts AS
SELECT as_of, org_id, org_name, membership_level, previous_status, status,
       'A recent change to your competency achievement has put your membership renewal eligibility at risk' AS message,
       cause
FROM res_renewal_risk WHERE alert;

-- Expiring (SPEC §6.2): for members, each valid skill item of a counting individual
-- whose code a competency's requirements name, and each active override, whose
-- validity ends in (D, D + 90 days]; one row per competency it serves.
CREATE OR REPLACE TEMP TABLE res_expiring AS
WITH m AS (
    SELECT r.d, r.org_no, o.org_id, r.version FROM renewal r JOIN orgs o USING (org_no)
    SEMI JOIN out_dates x ON x.d = r.d
    WHERE r.membership_level IS NOT NULL
)
SELECT DISTINCT m.d AS as_of, m.org_id, i.individual_id, q.competency_id, i.kind, i.code,
       i.t_until AS ends_on, i.t_until - m.d AS days_left
FROM m
JOIN association_intervals a ON a.org_id = m.org_id AND a.t_from <= m.d AND m.d < a.t_until
JOIN skill_items i ON i.version = m.version AND i.individual_id = a.individual_id
     AND i.t_from <= m.d AND m.d < i.t_until AND i.t_until <= m.d + 90
JOIN cat_anyof x ON x.version = m.version AND x.code = i.code
JOIN cat_reqs q ON q.version = m.version AND q.measure = x.measure
UNION ALL
SELECT m.d, m.org_id, NULL, o.competency_id, 'override', o.level, o.t_until, o.t_until - m.d
FROM m
JOIN override_intervals o ON o.org_no = m.org_no AND o.t_from <= m.d AND m.d < o.t_until AND o.t_until <= m.d + 90
SEMI JOIN cat_reqs q ON q.version = m.version AND q.competency_id = o.competency_id;

-- Marketing profile (SPEC §5.7): for a member at level L, each competency shown at
-- min(L, max(level at D, level at purchased_on)); not shown when that is none.
CREATE OR REPLACE TEMP TABLE res_profile AS
WITH m AS (
    SELECT r.d, r.org_no, o.org_id, r.rank, r.purchased_on FROM renewal r JOIN orgs o USING (org_no)
    SEMI JOIN out_dates x ON x.d = r.d
    WHERE r.membership_level IS NOT NULL
), shown AS (
    SELECT m.d, m.org_id, m.rank AS member_rank, c.competency_id, max(c.rank) AS best
    FROM m
    JOIN competency_level c ON c.org_no = m.org_no AND (c.d = m.d OR c.d = m.purchased_on)
    WHERE (c.d = m.d AND c.version = (SELECT version FROM eval_dates WHERE d = m.d))
       OR (c.d = m.purchased_on AND c.version = (SELECT max_by(version, effective_from) FROM cat_versions WHERE effective_from <= m.purchased_on))
    GROUP BY ALL
)
SELECT d AS as_of, org_id, competency_id,
       CASE least(member_rank, best) WHEN 2 THEN 'gold' ELSE 'silver' END AS displayed_level
FROM shown;

-- Key people (SPEC §5.8, §6.2): keypeople.sql's rows with the names.
CREATE OR REPLACE TEMP TABLE res_key_people AS
SELECT k.d AS as_of, o.org_id, o.org_name, r.membership_level, k.individual_id, k.status_now, k.status_if_leaves,
       k.lapses_on_now, k.lapses_on_if_leaves, k.competencies
FROM key_people k
JOIN orgs o USING (org_no)
JOIN renewal r USING (d, org_no);
