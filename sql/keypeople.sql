-- Key people (SPEC §5.8): for each member at each key-people point D (points.sql)
-- that a result date reads (out_kp_points), the individuals who count for it at D and whose not counting
-- from D on would give it a worse status.
-- The rules of §5 are evaluated again for each (member, individual) "scenario", from
-- the same intervals as the rest, but only where the individual changes them:
-- - only people measures change, and only from D on: the scenario's value is the
--   organization's value minus 1 wherever the individual's own segment holds;
-- - a scenario's people can only fall, so only the member's supporting competencies
--   can change, and only through paths of the member's level or higher that have a
--   people requirement the individual counts in; every other path keeps its
--   path_islands, and overrides and frozen requirements are as they are.

-- Members at the result dates that a departure can make worse (a lapsed one cannot).
CREATE OR REPLACE TEMP TABLE kp_members AS
SELECT r.d, r.org_no, o.org_id, r.version, r.rank, r.status, r.lapses_on, r.target, r.supporting
FROM renewal r JOIN orgs o USING (org_no)
SEMI JOIN out_kp_points x ON x.d = r.d AND x.org_no = r.org_no
WHERE r.membership_level IS NOT NULL AND r.status IN ('ok', 'at_risk');

-- The supporting competencies (SPEC §5.5), their paths of level L or higher, and
-- those paths' requirements with the member's minimum.
CREATE OR REPLACE TEMP TABLE kp_path_reqs AS
SELECT m.d, m.org_no, m.version, q.competency_id, q.level, q.path, q.measure, q.metric, q.role, q.req_ord,
       q.points, q.each_above_zero,
       CASE WHEN v.developing THEN q.min_developing ELSE q.min_developed END AS min_value
FROM kp_members m
JOIN org_versions v ON v.org_no = m.org_no AND v.version = m.version
JOIN level_eval l ON l.org_no = m.org_no AND l.d = m.d AND l.version = m.version AND l.rank = m.rank
JOIN cat_reqs q ON q.version = m.version AND q.competency_id = l.competency_id AND q.level_rank >= m.rank;
CREATE OR REPLACE TEMP TABLE kp_paths AS
SELECT DISTINCT d, org_no, competency_id, level, path FROM kp_path_reqs;

-- Scenarios: an individual who counts for the member at D (SPEC §5.1) and is in one
-- of its people measures at D or later, with the segments removed, clipped to D.
CREATE OR REPLACE TEMP TABLE kp_removed AS
SELECT m.d, m.org_no, s.individual_id, s.measure, greatest(s.t_from, m.d) AS t_from, s.t_until
FROM kp_members m
JOIN association_intervals a ON a.org_id = m.org_id AND a.t_from <= m.d AND m.d < a.t_until
JOIN people_segments s ON s.version = m.version AND s.org_no = m.org_no AND s.individual_id = a.individual_id
     AND s.t_until > m.d
SEMI JOIN kp_path_reqs u ON u.d = m.d AND u.org_no = m.org_no AND u.measure = s.measure AND u.metric = 'people';

-- The scenario's step function of each measure it changes, from D: the value at D,
-- the organization's changes after D, and −1/+1 where the individual's segments
-- start and end.
CREATE OR REPLACE TEMP TABLE kp_timelines AS
WITH keys AS (
    SELECT DISTINCT d, org_no, individual_id, measure FROM kp_removed
), ev AS (
    SELECT k.d, k.org_no, k.individual_id, k.measure, greatest(t.t_from, k.d) AS t,
           CASE WHEN t.t_from <= k.d THEN t.value ELSE t.value - t.prev_value END AS delta
    FROM keys k
    JOIN kp_members m USING (d, org_no)
    JOIN timelines t ON t.version = m.version AND t.measure = k.measure AND t.org_no = k.org_no AND t.t_until > k.d
    UNION ALL SELECT d, org_no, individual_id, measure, t_from, -1 FROM kp_removed
    UNION ALL SELECT d, org_no, individual_id, measure, t_until, 1 FROM kp_removed WHERE t_until < forever()
), steps AS (
    SELECT d, org_no, individual_id, measure, t, sum(delta) AS delta FROM ev GROUP BY ALL
)
SELECT d, org_no, individual_id, measure, t AS t_from, lead(t, 1, forever()) OVER w AS t_until,
       sum(delta) OVER w AS value, sum(delta) OVER w - delta AS prev_value
FROM steps
WINDOW w AS (PARTITION BY d, org_no, individual_id, measure ORDER BY t);

-- A scored path's score in the scenario (SPEC §4.1), from D: its parts' scenario
-- step functions (kp_timelines for the measures the scenario changes, the
-- organization's timelines from D for the others) through score_steps, as one more
-- measure of the scenario.
CREATE OR REPLACE TEMP TABLE kp_score_parts AS
SELECT DISTINCT r.d, r.org_no, r.individual_id, s.measure, s.version, p.req_ord AS part_ord, p.points,
       p.min_value AS full_at, s.each_above_zero, p.measure AS part_measure
FROM (SELECT DISTINCT d, org_no, individual_id, measure FROM kp_removed) r
JOIN kp_path_reqs c ON c.d = r.d AND c.org_no = r.org_no AND c.measure = r.measure AND c.role = 'part'
JOIN kp_path_reqs s ON s.d = c.d AND s.org_no = c.org_no AND s.competency_id = c.competency_id AND s.level = c.level
     AND s.path = c.path AND s.role = 'score'
JOIN kp_path_reqs p ON p.d = c.d AND p.org_no = c.org_no AND p.competency_id = c.competency_id AND p.level = c.level
     AND p.path = c.path AND p.role = 'part';
CREATE OR REPLACE TEMP TABLE kp_score_keys AS
SELECT {d: d, org_no: org_no, individual_id: individual_id, measure: measure} AS k, count(*) AS parts,
       bool_or(each_above_zero) AS gated
FROM kp_score_parts GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE kp_score_moves AS
SELECT {d: d, org_no: org_no, individual_id: individual_id, measure: measure} AS k, part_ord, t_from, value, prev_value,
       score_gain(points, full_at, value, prev_value) AS gain, score_zeros(value, prev_value) AS zeros
FROM (
    SELECT p.*, x.t_from, x.value, x.prev_value
    FROM kp_score_parts p JOIN kp_timelines x ON x.d = p.d AND x.org_no = p.org_no
         AND x.individual_id = p.individual_id AND x.measure = p.part_measure
    UNION ALL
    -- (from D: the segment that holds D comes from 0)
    SELECT p.*, greatest(t.t_from, p.d), t.value, CASE WHEN t.t_from <= p.d THEN 0 ELSE t.prev_value END
    FROM kp_score_parts p JOIN timelines t ON t.version = p.version AND t.measure = p.part_measure
         AND t.org_no = p.org_no AND t.t_until > p.d
    ANTI JOIN kp_removed x ON x.d = p.d AND x.org_no = p.org_no AND x.individual_id = p.individual_id
         AND x.measure = p.part_measure
)
WHERE score_gain(points, full_at, value, prev_value) <> 0 OR score_zeros(value, prev_value) <> 0;
INSERT INTO kp_timelines
SELECT k.d, k.org_no, k.individual_id, k.measure, t_from, t_until, value, prev_value
FROM score_steps('kp_score_keys', 'kp_score_moves');

-- The scenario's ok intervals of those measures at each minimum a path above asks
-- (from D: the first segment starts at D, "up" when it is at or above the minimum).
CREATE OR REPLACE TEMP TABLE kp_ok AS
WITH mins AS (
    SELECT DISTINCT d, org_no, measure, min_value FROM kp_path_reqs WHERE metric IN ('people', 'score')
), crossings AS (
    SELECT t.d, t.org_no, t.individual_id, t.measure, n.min_value, t.t_from AS t, t.value >= n.min_value AS up
    FROM kp_timelines t JOIN mins n USING (d, org_no, measure)
    WHERE n.min_value > 0 AND ((t.value >= n.min_value) <> (t.prev_value >= n.min_value) OR t.t_from = t.d)
)
SELECT u.d, u.org_no, u.individual_id, u.measure, u.min_value, u.t AS t_from, coalesce(x.t, forever()) AS t_until
FROM (FROM crossings WHERE up) u
ASOF LEFT JOIN (FROM crossings WHERE NOT up) x ON x.d = u.d AND x.org_no = u.org_no AND x.individual_id = u.individual_id
     AND x.measure = u.measure AND x.min_value = u.min_value AND x.t > u.t;

-- The paths a scenario changes: those with a requirement on a measure it changes.
CREATE OR REPLACE TEMP TABLE kp_changed AS
SELECT DISTINCT p.d, p.org_no, r.individual_id, p.competency_id, p.level, p.path
FROM kp_path_reqs p
JOIN (SELECT DISTINCT d, org_no, individual_id, measure FROM kp_removed) r
     ON r.d = p.d AND r.org_no = p.org_no AND r.measure = p.measure;

-- When each changed path is met in the scenario, from D: all of its requirements that
-- change with time at once (all_hold), the scenario's intervals for the measures it
-- changes, ok_intervals for the others. A changed scored path counts its score, which
-- the scenario changes.
CREATE OR REPLACE TEMP TABLE kp_reqs AS
SELECT c.*, q.version, q.measure, q.min_value, r.measure IS NOT NULL OR q.role = 'score' AS removed
FROM kp_changed c
JOIN kp_path_reqs q USING (d, org_no, competency_id, level, path)
LEFT JOIN (SELECT DISTINCT d, org_no, individual_id, measure FROM kp_removed) r
     ON r.d = c.d AND r.org_no = c.org_no AND r.individual_id = c.individual_id AND r.measure = q.measure
WHERE q.metric NOT IN ('active_users', 'deployed_seats') AND q.role <> 'part';

CREATE OR REPLACE TEMP TABLE kp_path_oks AS
WITH ok AS (
    SELECT r.d, r.org_no, r.individual_id, r.competency_id, r.level, r.path, o.t_from, o.t_until
    FROM kp_reqs r JOIN kp_ok o ON o.d = r.d AND o.org_no = r.org_no AND o.individual_id = r.individual_id
         AND o.measure = r.measure AND o.min_value = r.min_value
    WHERE r.removed AND r.min_value > 0
    UNION ALL
    SELECT r.d, r.org_no, r.individual_id, r.competency_id, r.level, r.path, greatest(o.t_from, r.d), o.t_until
    FROM kp_reqs r JOIN ok_intervals o ON o.version = r.version AND o.measure = r.measure AND o.org_no = r.org_no
         AND o.min_value = r.min_value AND o.t_until > r.d
    WHERE NOT r.removed AND r.min_value > 0
)
SELECT {d: d, org_no: org_no, individual_id: individual_id, competency_id: competency_id, level: level, path: path} AS k,
       t_from, t_until
FROM ok;
CREATE OR REPLACE TEMP TABLE kp_path_counts AS
SELECT {d: d, org_no: org_no, individual_id: individual_id, competency_id: competency_id, level: level, path: path} AS k,
       count(*) FILTER (WHERE min_value > 0) AS n
FROM kp_reqs GROUP BY ALL;
-- (a changed path has a people requirement; with a minimum of 0 or less it is met
-- always, n = 0)
CREATE OR REPLACE TEMP TABLE kp_islands AS
SELECT unnest(k), t_from, t_until FROM all_hold('kp_path_oks', 'kp_path_counts')
UNION ALL
SELECT unnest(k), since_always(), forever() FROM kp_path_counts WHERE n = 0;

-- Each supporting competency's level L in each scenario (SPEC §5.3, §5.4): the union
-- of the met intervals of its included paths of L or higher (the scenario's for the
-- paths it changes, path_islands for the others) and of its overrides of L or
-- higher; attained when a segment holds D, lapsing at its end.
CREATE OR REPLACE TEMP TABLE kp_level_keyed AS
WITH scen AS (
    SELECT DISTINCT d, org_no, individual_id FROM kp_removed
), paths AS (
    SELECT s.d, s.org_no, s.individual_id, m.version, p.competency_id, p.level, p.path
    FROM scen s
    JOIN kp_members m USING (d, org_no)
    JOIN kp_paths p USING (d, org_no)
    SEMI JOIN path_eval e ON e.org_no = p.org_no AND e.d = p.d AND e.version = m.version
         AND e.competency_id = p.competency_id AND e.level = p.level AND e.path = p.path AND e.included
)
SELECT {d: p.d, org_no: p.org_no, individual_id: p.individual_id, competency_id: p.competency_id} AS k, i.t_from, i.t_until
FROM paths p
JOIN kp_islands i ON i.d = p.d AND i.org_no = p.org_no AND i.individual_id = p.individual_id
     AND i.competency_id = p.competency_id AND i.level = p.level AND i.path = p.path AND i.t_until > p.d
UNION ALL
SELECT {d: p.d, org_no: p.org_no, individual_id: p.individual_id, competency_id: p.competency_id}, b.t_from, b.t_until
FROM paths p
JOIN path_islands b ON b.org_no = p.org_no AND b.version = p.version
     AND b.competency_id = p.competency_id AND b.level = p.level AND b.path = p.path AND b.t_until > p.d
ANTI JOIN kp_changed c ON c.d = p.d AND c.org_no = p.org_no AND c.individual_id = p.individual_id
     AND c.competency_id = p.competency_id AND c.level = p.level AND c.path = p.path
UNION ALL
SELECT {d: s.d, org_no: s.org_no, individual_id: s.individual_id, competency_id: l.competency_id},
       o.t_from, o.t_until
FROM scen s
JOIN kp_members m USING (d, org_no)
JOIN level_eval l ON l.org_no = m.org_no AND l.d = m.d AND l.version = m.version AND l.rank = m.rank
JOIN override_intervals o ON o.org_no = m.org_no AND o.competency_id = l.competency_id
     AND o.level_rank >= m.rank AND o.t_until > m.d;

-- The member's status in each scenario (SPEC §5.5), and the key people: a worse one.
CREATE OR REPLACE TEMP TABLE key_people AS
WITH attained AS (
    SELECT d, org_no, individual_id, competency_id,
           CASE WHEN t_until <= d + 400 THEN t_until END AS lapses_on
    FROM (SELECT unnest(k), t_from, t_until FROM interval_union('kp_level_keyed'))
    WHERE t_from <= d AND d < t_until
), scen AS (
    SELECT s.d, s.org_no, s.individual_id, m.status, m.lapses_on, m.target, m.supporting,
           count(a.competency_id) AS kept, bool_or(a.competency_id IS NOT NULL AND a.lapses_on IS NULL) AS open_ended,
           max(a.lapses_on) AS latest
    FROM (SELECT DISTINCT d, org_no, individual_id FROM kp_removed) s
    JOIN kp_members m USING (d, org_no)
    LEFT JOIN attained a USING (d, org_no, individual_id)
    GROUP BY ALL
), judged AS (
    SELECT *, CASE WHEN kept = 0 THEN 'lapsed' WHEN open_ended OR latest > target THEN 'ok' ELSE 'at_risk' END AS status_if
    FROM scen
)
SELECT j.d, j.org_no, j.individual_id, j.status AS status_now, j.status_if AS status_if_leaves,
       j.lapses_on AS lapses_on_now,
       CASE WHEN j.kept > 0 AND NOT j.open_ended THEN j.latest END AS lapses_on_if_leaves,
       -- the supporting competencies no longer attained at L without the individual
       (SELECT string_agg(c, ';' ORDER BY c) FROM unnest(string_split(j.supporting, ';')) u(c)
        WHERE c NOT IN (SELECT a.competency_id FROM attained a
                        WHERE a.d = j.d AND a.org_no = j.org_no AND a.individual_id = j.individual_id)) AS competencies
FROM judged j
WHERE (j.status = 'ok' AND j.status_if <> 'ok') OR (j.status = 'at_risk' AND j.status_if = 'lapsed');
