-- What each at_risk and lapsed member needs (SPEC §6.3), in words an analyst can say
-- on the phone, from its cause's parts (causes.sql: the requirement, its value and
-- minimum, the date), never from the sentence: for an at_risk member, what would
-- keep its level, the requirement that falls brought back to its minimum before the
-- date it falls ("1 more person holding 70-533 before 2027-01-15"); for a lapsed
-- member, what would bring the level back: every requirement of the cause's path not
-- met at D. A scored path (SPEC §4.1) needs points: how many, and the parts that
-- alone would earn them, the fewest units first ("3.33 more points: 1 more new
-- customer of AZURE, or 1 more person holding AZ-104"), or, when no part alone can,
-- the parts filled in that order until they do ("and"); and 1 more of each part at 0
-- under each_above_zero. An override's end needs a path met before it ends.

-- A measure in words: its filters (" of AZURE (dpor, transacting)") and, for people,
-- the codes one person holds ("70-533 or 70-534"; a set: "70-346 + 70-347").
CREATE OR REPLACE TEMP TABLE measure_words AS
WITH sets AS (
    SELECT version, measure, set_no, string_agg(code, ' + ' ORDER BY code) AS codes
    FROM cat_anyof GROUP BY ALL
), codes AS (
    SELECT version, measure, string_agg(codes, ' or ' ORDER BY set_no) AS codes FROM sets GROUP BY ALL
)
SELECT m.version, m.measure, m.metric, c.codes,
       coalesce(' of ' || array_to_string(m.products, ', '), '') || coalesce(' (' || array_to_string(m.via, ', ') || ')', '') AS filters
FROM cat_measures m LEFT JOIN codes c USING (version, measure);

-- n more of a measure, in words.
CREATE OR REPLACE TEMP MACRO need_words(metric, n, filters, codes) AS CASE metric
    WHEN 'people' THEN format('{} more {} holding {}', CAST(n AS BIGINT), CASE WHEN n = 1 THEN 'person' ELSE 'people' END, codes)
    WHEN 'new_customers_12m' THEN format('{} more new {}{}', CAST(n AS BIGINT), CASE WHEN n = 1 THEN 'customer' ELSE 'customers' END, filters)
    WHEN 'revenue_12m' THEN format('{} USD more revenue{}', printf('%.2f', n), filters)
    WHEN 'active_users' THEN format('{} more active {}{}', CAST(n AS BIGINT), CASE WHEN n = 1 THEN 'user' ELSE 'users' END, filters)
    WHEN 'deployed_seats' THEN format('{} more deployed {}{}', CAST(n AS BIGINT), CASE WHEN n = 1 THEN 'seat' ELSE 'seats' END, filters)
END;

-- How much more a value needs to gain gap: whole units, or cents of revenue, rounded up.
CREATE OR REPLACE TEMP MACRO need_amount(metric, gap) AS
    CASE WHEN metric = 'revenue_12m' THEN ceil(gap * 100 - 1e-6) / 100 ELSE ceil(gap - 1e-9) END;

-- The requirements each cause's path needs, with the date their values are read at:
-- an at_risk member's at the date it falls, a lapsed member's at D.
CREATE OR REPLACE TEMP TABLE need_reqs AS
SELECT r.d, r.org_no, r.version, r.competency_id, r.path_level AS level, r.path, q.req_ord, r.metric, r.measure,
       r.min_value, r.fails_on AS t, r.fails_on AS by_date
FROM cause_risk r
JOIN cat_reqs q ON q.version = r.version AND q.competency_id = r.competency_id AND q.level = r.path_level
     AND q.path = r.path AND q.measure = r.measure AND q.role <> 'part'
WHERE r.path IS NOT NULL AND r.fails_on IS NOT NULL
UNION ALL
SELECT l.d, l.org_no, l.version, l.competency_id, e.level, l.path, e.req_ord, e.metric, e.measure, e.min_value, l.d, NULL
FROM cause_lapsed l
JOIN req_eval e ON e.org_no = l.org_no AND e.d = l.d AND e.version = l.version AND e.competency_id = l.competency_id
     AND e.level = l.path_level AND e.path = l.path AND e.counts AND NOT e.met
WHERE l.path IS NOT NULL;

-- A requirement's value at its date: the timeline's, or a frozen metric's at D.
CREATE OR REPLACE TEMP TABLE need_values AS
SELECT n.*, coalesce(CASE WHEN n.metric IN ('active_users', 'deployed_seats') THEN f.value ELSE t.value END, 0) AS value
FROM need_reqs n
LEFT JOIN timelines t ON t.version = n.version AND t.measure = n.measure AND t.org_no = n.org_no
     AND t.t_from <= n.t AND n.t < t.t_until
LEFT JOIN frozen_values f ON f.org_no = n.org_no AND f.d = n.d AND f.version = n.version AND f.measure = n.measure
WHERE n.metric <> 'score';

-- A score's parts at the date: each part's value, and, where each_above_zero fails
-- on it, the one unit (a customer, a person, a cent) it needs first.
CREATE OR REPLACE TEMP TABLE need_parts AS
WITH p AS (
    SELECT n.d, n.org_no, n.req_ord AS score_ord, n.min_value, p.req_ord AS part_ord, p.metric, p.measure, p.points,
           CASE WHEN v.developing THEN p.min_developing ELSE p.min_developed END AS full_at, s.each_above_zero,
           coalesce(t.value, 0) AS value, n.by_date, n.version
    FROM need_reqs n
    JOIN cat_reqs s ON s.version = n.version AND s.competency_id = n.competency_id AND s.level = n.level
         AND s.path = n.path AND s.role = 'score'
    JOIN cat_reqs p ON p.path_id = s.path_id AND p.role = 'part'
    JOIN org_versions v ON v.org_no = n.org_no AND v.version = n.version
    LEFT JOIN timelines t ON t.version = n.version AND t.measure = p.measure AND t.org_no = n.org_no
         AND t.t_from <= n.t AND n.t < t.t_until
    WHERE n.metric = 'score'
)
SELECT p.*, CASE WHEN each_above_zero AND value <= 0 THEN (CASE WHEN metric = 'revenue_12m' THEN 0.01 ELSE 1 END) END AS first_unit
FROM p;

CREATE OR REPLACE TEMP TABLE need_scores AS
WITH s AS (
    -- the points missing once the parts at 0 have their one unit
    SELECT d, org_no, score_ord, any_value(by_date) AS by_date,
           any_value(min_value) - sum(score_gain(points, full_at, value + coalesce(first_unit, 0), 0)) AS missing
    FROM need_parts GROUP BY ALL
), candidates AS (
    -- each part that alone earns them, with the units it takes, the fewest first,
    -- revenue last; two are offered
    SELECT s.d, s.org_no, s.score_ord, p.part_ord, p.metric, p.version, p.measure, p.first_unit,
           need_amount(p.metric, s.missing * p.full_at / p.points) AS units,
           row_number() OVER (PARTITION BY s.d, s.org_no, s.score_ord
                              ORDER BY p.metric = 'revenue_12m', need_amount(p.metric, s.missing * p.full_at / p.points), p.part_ord) AS pick,
           count(*) OVER (PARTITION BY s.d, s.org_no, s.score_ord) AS n
    FROM s JOIN need_parts p USING (d, org_no, score_ord)
    WHERE s.missing > 1e-9
      AND score_gain(p.points, p.full_at, p.full_at, p.value + coalesce(p.first_unit, 0)) >= s.missing - 1e-9
), options AS (
    -- (the only option says a part at 0's whole amount, its one unit with it;
    -- with two, that unit is said once, among the parts at 0)
    SELECT c.d, c.org_no, c.score_ord, c.part_ord, c.pick, c.n,
           need_words(c.metric, c.units + CASE WHEN c.n = 1 THEN coalesce(c.first_unit, 0) ELSE 0 END, w.filters, w.codes) AS words
    FROM candidates c JOIN measure_words w ON w.version = c.version AND w.measure = c.measure
), filled AS (
    -- no one part earns them: the parts in the options' order, each filled to its
    -- full_at until the points are earned
    SELECT s.d, s.org_no, s.score_ord, p.part_ord, p.metric, p.version, p.measure, p.first_unit,
           p.full_at / p.points AS per_point, score_gain(p.points, p.full_at, p.full_at, p.value + coalesce(p.first_unit, 0)) AS room,
           s.missing - coalesce(sum(score_gain(p.points, p.full_at, p.full_at, p.value + coalesce(p.first_unit, 0))) OVER (
               PARTITION BY s.d, s.org_no, s.score_ord ORDER BY p.metric = 'revenue_12m', p.part_ord
               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS left_before
    FROM s JOIN need_parts p USING (d, org_no, score_ord)
    WHERE s.missing > 1e-9
      AND NOT EXISTS (SELECT 1 FROM options o WHERE o.d = s.d AND o.org_no = s.org_no AND o.score_ord = s.score_ord)
), takes AS (
    SELECT f.d, f.org_no, f.score_ord, f.part_ord, f.metric = 'revenue_12m' AS money,
           need_words(f.metric, need_amount(f.metric, least(f.room, f.left_before) * f.per_point) + coalesce(f.first_unit, 0),
                      w.filters, w.codes) AS words
    FROM filled f JOIN measure_words w ON w.version = f.version AND w.measure = f.measure
    WHERE f.room > 1e-9 AND f.left_before > 1e-9
), zeros AS (
    -- the parts at 0, but those the points' words count with their one unit
    -- (the only part to earn them, or a part filled)
    SELECT p.d, p.org_no, p.score_ord,
           string_agg(CASE WHEN p.metric = 'revenue_12m' THEN 'any revenue' || w.filters
                           ELSE need_words(p.metric, p.first_unit, w.filters, w.codes) END, ' and ' ORDER BY p.part_ord) AS words
    FROM need_parts p JOIN measure_words w ON w.version = p.version AND w.measure = p.measure
    WHERE p.first_unit IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM options o WHERE o.d = p.d AND o.org_no = p.org_no AND o.score_ord = p.score_ord
                      AND o.part_ord = p.part_ord AND o.n = 1)
      AND NOT EXISTS (SELECT 1 FROM takes t WHERE t.d = p.d AND t.org_no = p.org_no AND t.score_ord = p.score_ord
                      AND t.part_ord = p.part_ord)
    GROUP BY ALL
)
SELECT s.d, s.org_no, s.score_ord, s.by_date,
       concat_ws(' and ', z.words,
           CASE WHEN s.missing > 1e-9 THEN format('{} more points: {}', metric_value('score', s.missing),
               coalesce((SELECT string_agg(o.words, ', or ' ORDER BY o.pick)
                         FROM options o WHERE o.d = s.d AND o.org_no = s.org_no AND o.score_ord = s.score_ord AND o.pick <= 2),
                        (SELECT string_agg(t.words, ' and ' ORDER BY t.money, t.part_ord)
                         FROM takes t WHERE t.d = s.d AND t.org_no = s.org_no AND t.score_ord = s.score_ord))) END) AS words
FROM s LEFT JOIN zeros z USING (d, org_no, score_ord);

-- The member's needs: its requirements' in catalog order, "before" the date an
-- at_risk member's level falls; an override's end.
CREATE OR REPLACE TEMP TABLE needs AS
WITH words AS (
    SELECT n.d, n.org_no, n.req_ord, n.by_date,
           need_words(n.metric, need_amount(n.metric, n.min_value - n.value), w.filters, w.codes) AS words
    FROM need_values n JOIN measure_words w ON w.version = n.version AND w.measure = n.measure
    UNION ALL
    SELECT d, org_no, score_ord, by_date, words FROM need_scores
)
SELECT d, org_no, string_agg(words, ' and ' ORDER BY req_ord) || coalesce(' before ' || any_value(by_date), '') AS needs
FROM words GROUP BY d, org_no
UNION ALL
SELECT r.d, r.org_no, format('a met {} path of {} before {} (its override ends then)', r.membership_level, r.competency_id, r.lapses_on)
FROM cause_risk r WHERE r.path IS NULL
UNION ALL
SELECT l.d, l.org_no, format('a met {} path of {} (its override ended on {})', l.membership_level, l.competency_id, l.fell_on)
FROM cause_lapsed l WHERE l.path IS NULL AND l.below_since IS NULL;
