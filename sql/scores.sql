-- Scored paths (SPEC §4.1): each path's score is one more measure with a timeline,
-- made from its parts' timelines for the organization's market (score_steps), so that
-- its minimum's ok intervals, the path's met intervals, change points, the lapse
-- projection and history need no second mechanism. total shows the score itself
-- (value is −1 where each_above_zero fails); score_moves keeps, for causes, the part
-- that moved the score on each date.
CREATE OR REPLACE TEMP TABLE score_part_keys AS
SELECT o.version, s.measure, o.org_no, p.req_ord AS part_ord, p.points,
       CASE WHEN o.developing THEN p.min_developing ELSE p.min_developed END AS full_at,
       s.each_above_zero, p.measure AS part_measure
FROM cat_reqs s
JOIN cat_reqs p ON p.path_id = s.path_id AND p.role = 'part'
JOIN org_versions o ON o.version = s.version
WHERE s.role = 'score';

CREATE OR REPLACE TEMP TABLE score_keys AS
SELECT {version: version, measure: measure, org_no: org_no} AS k, count(*) AS parts, bool_or(each_above_zero) AS gated
FROM score_part_keys GROUP BY ALL;

-- (only the changes that move a score or a part to or from 0: a revenue above
-- full_at moves nothing, and is most of a large partner's changes)
CREATE OR REPLACE TEMP TABLE score_part_moves AS
SELECT {version: p.version, measure: p.measure, org_no: p.org_no} AS k, p.part_ord, t.t_from, t.value, t.prev_value,
       score_gain(p.points, p.full_at, t.value, t.prev_value) AS gain, score_zeros(t.value, t.prev_value) AS zeros
FROM score_part_keys p
JOIN timelines t ON t.version = p.version AND t.measure = p.part_measure AND t.org_no = p.org_no
WHERE score_gain(p.points, p.full_at, t.value, t.prev_value) <> 0 OR score_zeros(t.value, t.prev_value) <> 0;

CREATE OR REPLACE TEMP TABLE score_moves AS
SELECT k.version, k.measure, k.org_no, t_from, t_until, score, above_zero, fell, fell_from, fell_to, zeroed, value, prev_value
FROM score_steps('score_keys', 'score_part_moves');

-- (value_text's decimal text costs 2 s on 20,000 organizations' scores; a score is
-- at most the sum of its parts' points, which a DOUBLE's cast holds exactly to 4
-- places)
INSERT INTO timelines
SELECT version, measure, org_no, t_from, t_until, value, prev_value, false, CAST(CAST(score AS DECIMAL(38, 4)) * 10000 AS HUGEINT)
FROM score_moves;
