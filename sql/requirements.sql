-- Requirements at each point (SPEC §4, §5.3, §5.4): the value of every requirement of
-- the version in force, its minimum for the organization's market, whether it is met,
-- and the first date after D on which its own value falls below the minimum if no
-- data arrived after D (empty when it does not fall within the horizon).

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

-- Each requirement at each point, with ids for the catalog's names (the names are
-- joined back in req_eval below; 1.7 M rows of names cost a second to write).
CREATE OR REPLACE TEMP TABLE req_values AS
WITH r AS (
    SELECT p.org_no, p.d, p.version, q.path_id, q.req_id, q.measure,
           CASE WHEN p.developing THEN q.min_developing ELSE q.min_developed END AS min_value,
           q.metric IN ('active_users', 'deployed_seats') AS frozen
    FROM points p JOIN cat_reqs q ON q.version = p.version
), at_d AS (
    -- The value at D: the segment that holds D (segments run on from the first
    -- change to forever; before the first the value is 0). A measure of an
    -- organization has a dozen segments: a hash join on the keys, then the range,
    -- costs less than the sort of an ASOF join.
    SELECT r.org_no, r.d, r.version, r.measure, t.value
    FROM (SELECT DISTINCT org_no, d, version, measure FROM r WHERE NOT frozen) r
    JOIN timelines t ON t.version = r.version AND t.measure = r.measure AND t.org_no = r.org_no
         AND t.t_from <= r.d AND r.d < t.t_until
), v AS (
    SELECT r.*, coalesce(CASE WHEN r.frozen THEN f.value ELSE a.value END, 0) AS value
    FROM r
    LEFT JOIN frozen_values f ON f.org_no = r.org_no AND f.d = r.d AND f.version = r.version AND f.measure = r.measure
    LEFT JOIN at_d a ON a.org_no = r.org_no AND a.d = r.d AND a.version = r.version AND a.measure = r.measure
)
-- Met at D: the first date after D on which the value falls below the minimum is
-- the end of the ok interval that holds D (a measure's intervals at one minimum do
-- not overlap, so at most one does). An organization has few intervals a minimum:
-- a hash join on the keys, then the range, is cheaper than sorting every row for
-- an ASOF join.
SELECT v.*, v.value >= v.min_value AS met,
       CASE WHEN NOT v.frozen AND v.min_value > 0 AND o.t_until < forever() THEN o.t_until END AS fails_on
FROM v LEFT JOIN ok_intervals o ON o.version = v.version AND o.measure = v.measure AND o.org_no = v.org_no
     AND o.min_value = v.min_value AND o.t_from <= v.d AND v.d < o.t_until;

CREATE OR REPLACE TEMP VIEW req_eval AS
SELECT e.org_no, e.d, e.version, q.comp_ord, q.competency_id, q.level, q.level_rank,
       q.path_ord, q.path, q.req_ord, q.metric, e.measure, e.min_value, e.frozen, e.value, e.met, e.fails_on
FROM req_values e JOIN cat_reqs q USING (req_id);

-- When each path is met as the data changes, counting only the requirements that
-- change with time (frozen ones are judged at each point's D, below). A path whose
-- every such requirement has a minimum <= 0 is met from always to forever.
CREATE OR REPLACE TEMP TABLE path_islands AS
WITH reqs AS (
    SELECT o.org_no, o.version, q.competency_id, q.level, q.path, q.measure, q.metric,
           CASE WHEN o.developing THEN q.min_developing ELSE q.min_developed END AS min_value
    FROM org_versions o JOIN cat_reqs q ON q.version = o.version
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
