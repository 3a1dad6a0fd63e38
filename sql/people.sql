-- Who counts, holding what (SPEC §5.1, §5.2), as intervals of dates [t_from, t_until).

-- Valid skill items (SPEC §5.2), per catalog version: valid from P + 1 day; until
-- expires_on when given, else P + valid_days when the catalog gives it; a retired code
-- counts only when passed before retirement, and only until counts_until. Only codes
-- some requirement names are kept.
CREATE OR REPLACE TEMP TABLE skill_items AS
WITH items AS (
    SELECT 'exam' AS kind, individual_id, code, passed_on, expires_on FROM exams
    UNION ALL
    SELECT 'assessment', individual_id, code, passed_on, expires_on FROM assessments
), v AS (
    SELECT i.*, a.version, k.retired_on, k.counts_until, k.valid_days,
           coalesce(i.expires_on, i.passed_on + k.valid_days, forever()) AS natural_end
    FROM items i
    JOIN (SELECT DISTINCT version, code FROM cat_anyof) a ON a.code = i.code
    LEFT JOIN cat_skills k ON k.version = a.version AND k.code = i.code
    WHERE k.retired_on IS NULL OR i.passed_on < k.retired_on
)
SELECT version, kind, individual_id, code, passed_on, expires_on,
       passed_on + 1 AS t_from,
       least(natural_end, coalesce(counts_until, forever())) AS t_until,
       -- why validity ends, for causes
       CASE WHEN counts_until IS NOT NULL AND counts_until < natural_end THEN 'retired' ELSE 'expires' END AS ends_by
FROM v
WHERE passed_on + 1 < least(natural_end, coalesce(counts_until, forever()));

-- When each individual holds each code of a set of several codes: the union of that
-- code's items (a set of one code needs no union of its own: the union of a measure's
-- sets below covers it, and unions are maximal, so the segments are the same).
CREATE OR REPLACE TEMP TABLE code_keyed AS
SELECT {version: i.version, individual_id: i.individual_id, code: i.code} AS k, i.t_from, i.t_until
FROM skill_items i
SEMI JOIN cat_anyof a ON a.version = i.version AND a.code = i.code AND a.set_size > 1;
CREATE OR REPLACE TEMP TABLE code_segments AS
SELECT unnest(k), t_from, t_until FROM interval_union('code_keyed');

-- When each individual holds a whole any_of set (a set of one code: each item of the
-- code), then any set of a measure: the union of its sets' intervals.
CREATE OR REPLACE TEMP TABLE qual_keyed AS
WITH set_ev AS (
    SELECT a.version, a.measure, a.set_no, a.set_size, c.individual_id, t, sum(delta) AS delta FROM (
        SELECT version, individual_id, code, t_from AS t, 1 AS delta FROM code_segments
        UNION ALL SELECT version, individual_id, code, t_until, -1 FROM code_segments
    ) c JOIN cat_anyof a ON a.version = c.version AND a.code = c.code AND a.set_size > 1
    GROUP BY ALL
), set_run AS (
    SELECT *, sum(delta) OVER w AS n, lead(t, 1, forever()) OVER w AS t_next
    FROM set_ev WINDOW w AS (PARTITION BY version, measure, set_no, individual_id ORDER BY t)
), sets AS (
    SELECT version, measure, individual_id, t AS t_from, t_next AS t_until
    FROM set_run WHERE n = set_size AND t < t_next
    UNION ALL
    SELECT a.version, a.measure, i.individual_id, i.t_from, i.t_until
    FROM skill_items i JOIN cat_anyof a ON a.version = i.version AND a.code = i.code AND a.set_size = 1
)
SELECT {version: version, measure: measure, individual_id: individual_id} AS k, t_from, t_until FROM sets;
CREATE OR REPLACE TEMP TABLE qual_segments AS
SELECT unnest(k), t_from, t_until FROM interval_union('qual_keyed');

-- Associations (SPEC §5.1): an associate event starts an association that the
-- individual's next event ends (an association elsewhere severs it; disassociate ends
-- it whatever org_id it names); consecutive associate events to the same organization
-- continue one association from the first. It counts on dates D with
-- start + 24h <= end(D) and end > end(D).
CREATE OR REPLACE TEMP TABLE association_intervals AS
WITH e AS (
    SELECT individual_id, org_id, event, event_at,
           CASE WHEN event = 'associate'
                 AND lag(event) OVER w = 'associate' AND lag(org_id) OVER w = org_id THEN 0 ELSE 1 END AS starts
    FROM associations WINDOW w AS (PARTITION BY individual_id ORDER BY event_at)
), g AS (
    SELECT *, sum(starts) OVER (PARTITION BY individual_id ORDER BY event_at) AS grp FROM e
), runs AS (
    SELECT individual_id, grp, arg_min(event, event_at) AS event, arg_min(org_id, event_at) AS org_id,
           min(event_at) AS started_at
    FROM g GROUP BY individual_id, grp
), ends AS (
    SELECT *, lead(started_at) OVER w AS ended_at, lead(event) OVER w AS ended_by,
           lead(org_id) OVER w AS next_org
    FROM runs WINDOW w AS (PARTITION BY individual_id ORDER BY grp)
)
SELECT individual_id, org_id, started_at, ended_at, ended_by, next_org,
       day_of(started_at + INTERVAL 24 HOUR) AS t_from,
       coalesce(day_of(ended_at), forever()) AS t_until
FROM ends
WHERE event = 'associate' AND day_of(started_at + INTERVAL 24 HOUR) < coalesce(day_of(ended_at), forever());

-- When an individual counts for an organization with a measure's skills (org_id too,
-- for the association it came from).
CREATE OR REPLACE TEMP TABLE people_segments AS
SELECT q.version, q.measure, o.org_no, a.org_id, q.individual_id,
       greatest(q.t_from, a.t_from) AS t_from, least(q.t_until, a.t_until) AS t_until
FROM qual_segments q
JOIN association_intervals a ON a.individual_id = q.individual_id
     AND q.t_from < a.t_until AND a.t_from < q.t_until
JOIN org_versions o ON o.org_id = a.org_id AND o.version = q.version
WHERE least(q.t_until, a.t_until) > o.first_d;
