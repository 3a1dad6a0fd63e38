-- Where requirements, paths and overrides hold (SPEC §5.3, §5.4), as intervals of
-- dates: the same for every as-of date of the range.

-- Where each measure's value stays at or above each minimum a requirement gives it
-- the organization (its market's figure): maximal intervals [t_from, t_until). An
-- interval starts where the value crosses the minimum upwards and ends where it next
-- crosses it downwards (forever when it does not); an interval that holds D ends on
-- the first date the value falls below the minimum.
CREATE OR REPLACE TEMP TABLE ok_intervals AS
WITH mins AS (
    SELECT DISTINCT version, measure, false AS developing, min_developed AS min_value FROM cat_reqs
    WHERE metric NOT IN ('active_users', 'deployed_seats') AND min_developed > 0
    UNION
    SELECT DISTINCT version, measure, true, min_developing FROM cat_reqs
    WHERE metric NOT IN ('active_users', 'deployed_seats') AND min_developing > 0
), crossings AS (
    SELECT t.version, t.measure, t.org_no, m.min_value, t.t_from AS t, t.value >= m.min_value AS up
    FROM timelines t
    JOIN org_versions o ON o.org_no = t.org_no AND o.version = t.version
    JOIN mins m ON m.version = t.version AND m.measure = t.measure AND m.developing = o.developing
    WHERE (t.value >= m.min_value) <> (t.prev_value >= m.min_value)
), ups AS (
    SELECT * FROM crossings WHERE up
), downs AS (
    SELECT * FROM crossings WHERE NOT up
)
SELECT u.version, u.measure, u.org_no, u.min_value, u.t AS t_from, coalesce(d.t, forever()) AS t_until
FROM ups u
ASOF LEFT JOIN downs d ON d.version = u.version AND d.measure = u.measure AND d.org_no = u.org_no
     AND d.min_value = u.min_value AND d.t > u.t;

-- When each path is met as the data changes, counting only the requirements that
-- change with time (frozen ones are judged at each point's D, below). A path whose
-- every such requirement has a minimum <= 0 is met from always to forever. A scored
-- path counts its score row only (SPEC §4.1): the score is a measure of its own.
CREATE OR REPLACE TEMP TABLE path_islands AS
WITH reqs AS (
    SELECT o.org_no, o.version, q.competency_id, q.level, q.path, q.measure, q.metric,
           CASE WHEN o.developing THEN q.min_developing ELSE q.min_developed END AS min_value
    FROM org_versions o JOIN cat_reqs q ON q.version = o.version
    WHERE q.role <> 'part'
), dynamic AS (
    SELECT org_no, version, competency_id, level, path,
           count(*) FILTER (WHERE metric NOT IN ('active_users', 'deployed_seats') AND min_value > 0) AS k
    FROM reqs GROUP BY ALL
), ok AS (
    SELECT r.org_no, r.version, r.competency_id, r.level, r.path, o.t_from, o.t_until
    FROM reqs r JOIN ok_intervals o ON o.version = r.version AND o.measure = r.measure
         AND o.org_no = r.org_no AND o.min_value = r.min_value
    WHERE r.metric NOT IN ('active_users', 'deployed_seats') AND r.min_value > 0
), ev AS (
    SELECT org_no, version, competency_id, level, path, t, sum(delta) AS delta FROM (
        SELECT org_no, version, competency_id, level, path, t_from AS t, 1 AS delta FROM ok
        UNION ALL SELECT org_no, version, competency_id, level, path, t_until, -1 FROM ok
    ) GROUP BY ALL
), run AS (
    SELECT *, sum(delta) OVER w AS n, lead(t, 1, forever()) OVER w AS t_next
    FROM ev WINDOW w AS (PARTITION BY org_no, version, competency_id, level, path ORDER BY t)
), segments AS (
    SELECT run.org_no, run.version, run.competency_id, run.level, run.path, t AS t_from, t_next AS t_until
    FROM run JOIN dynamic USING (org_no, version, competency_id, level, path)
    WHERE n = k AND t < t_next
    UNION ALL
    SELECT org_no, version, competency_id, level, path, since_always(), forever() FROM dynamic WHERE k = 0
), marked AS (
    SELECT *, CASE WHEN t_from = lag(t_until) OVER w THEN 0 ELSE 1 END AS new
    FROM segments WINDOW w AS (PARTITION BY org_no, version, competency_id, level, path ORDER BY t_from)
), numbered AS (
    SELECT *, sum(new) OVER (PARTITION BY org_no, version, competency_id, level, path ORDER BY t_from) AS island
    FROM marked
)
SELECT org_no, version, competency_id, level, path, min(t_from) AS t_from, max(t_until) AS t_until
FROM numbered GROUP BY org_no, version, competency_id, level, path, island;

-- Overrides (SPEC §5.3): active on granted_on <= D < expires_on; no expires_on means
-- granted_on + 90 days. An override at a level counts for every level up to it.
CREATE OR REPLACE TEMP TABLE override_intervals AS
SELECT g.org_no, o.competency_id, o.level, CASE o.level WHEN 'gold' THEN 2 ELSE 1 END AS level_rank,
       o.granted_on AS t_from, coalesce(o.expires_on, o.granted_on + 90) AS t_until, o.granted_on, o.expires_on
FROM overrides o JOIN orgs g USING (org_id);

CREATE OR REPLACE TEMP TABLE level_ranks AS SELECT * FROM (VALUES (1, 'silver'), (2, 'gold')) t(rank, level);
