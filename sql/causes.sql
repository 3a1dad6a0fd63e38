-- Causes (SPEC §5.5): for each at_risk and lapsed member, one sentence naming the
-- competency, level, path, the requirement that fails, its value and minimum, the date
-- and the item behind it. An at_risk cause looks forward to the member's lapses_on; a
-- lapsed cause looks back over the member's own history, no further than 12 months
-- before its purchased_on, with the catalog version in force at D.

CREATE OR REPLACE TEMP MACRO metric_value(metric, v) AS
    CASE WHEN metric = 'revenue_12m' THEN printf('%.2f', v)
         -- a score to 2 places, without trailing zeros: 66.67, 70
         WHEN metric = 'score' THEN regexp_replace(printf('%.2f', v), '\.?0+$', '')
         ELSE printf('%d', CAST(round(v) AS BIGINT)) END;

-- The facts behind each at_risk and lapsed member's cause (SPEC §5.5).
CREATE OR REPLACE TEMP TABLE cause_risk AS
WITH at_risk AS (
    -- The supporting competency that lapses last, and when.
    SELECT r.d, r.org_no, r.membership_level, r.version, r.rank,
           first(l.competency_id ORDER BY l.lapses_on DESC, q.comp_ord) AS competency_id,
           max(l.lapses_on) AS lapses_on
    FROM renewal r
    JOIN level_eval l ON l.org_no = r.org_no AND l.d = r.d AND l.version = r.version AND l.rank = r.rank
    JOIN (SELECT DISTINCT version, competency_id, comp_ord FROM cat_reqs) q ON q.version = l.version AND q.competency_id = l.competency_id
    WHERE r.status = 'at_risk'
    GROUP BY ALL
), ending AS (
    -- What ends the level on its lapses_on: the met interval of a path that ends then
    -- (Silver paths first for Silver, then catalog order, as for basis). That is the
    -- basis path unless a path met only later carries the level on (or an override
    -- does: then no path, and the override is the cause).
    SELECT a.d, a.org_no, a.membership_level, a.version, a.competency_id, a.lapses_on,
           first(e.path ORDER BY e.level_rank <> a.rank, e.path_ord) AS path,
           first(e.level ORDER BY e.level_rank <> a.rank, e.path_ord) AS path_level
    FROM at_risk a
    LEFT JOIN (path_eval e JOIN path_islands i ON i.org_no = e.org_no AND i.version = e.version
               AND i.competency_id = e.competency_id AND i.level = e.level AND i.path = e.path)
         ON e.org_no = a.org_no AND e.d = a.d AND e.version = a.version AND e.competency_id = a.competency_id
         AND e.level_rank >= a.rank AND e.included AND i.t_from < a.lapses_on AND i.t_until = a.lapses_on
    GROUP BY ALL
)
-- The path's requirement whose value falls below its minimum on that date.
SELECT x.d, x.org_no, x.membership_level, x.competency_id, x.lapses_on, x.path, x.path_level,
       first(e.metric ORDER BY e.req_ord) AS metric,
       first(e.measure ORDER BY e.req_ord) AS measure,
       first(e.min_value ORDER BY e.req_ord) AS min_value,
       CASE WHEN x.path IS NOT NULL THEN x.lapses_on END AS fails_on,
       x.version
FROM ending x
LEFT JOIN (req_eval e JOIN ok_intervals o ON o.version = e.version AND o.measure = e.measure AND o.org_no = e.org_no
           AND o.min_value = e.min_value)
     ON e.org_no = x.org_no AND e.d = x.d AND e.version = x.version AND e.competency_id = x.competency_id
     AND e.level = x.path_level AND e.path = x.path AND NOT e.frozen AND e.counts
     AND o.t_from < x.lapses_on AND o.t_until = x.lapses_on
GROUP BY ALL;

-- The lapsed members and the first day of their look-back (SPEC §5.5: no further
-- than 12 months before purchased_on; it holds both its first day and D).
CREATE OR REPLACE TEMP TABLE lapsed_members AS
SELECT r.d, r.org_no, o.org_id, r.version, r.rank, r.membership_level, v.developing,
       CAST(r.purchased_on - INTERVAL 12 MONTH AS DATE) AS lookback_from
FROM renewal r
JOIN orgs o USING (org_no)
JOIN org_versions v ON v.org_no = r.org_no AND v.version = r.version
WHERE r.status = 'lapsed';

-- Every requirement that can carry a lapsed member's level L (paths of L and higher),
-- with the organization's minimum, in the version in force at D.
CREATE OR REPLACE TEMP TABLE lapsed_reqs AS
SELECT l.d, l.org_no, l.version, l.rank, l.lookback_from, q.comp_ord, q.competency_id, q.level, q.level_rank,
       q.path_ord, q.path, q.req_ord, q.metric, q.measure,
       CASE WHEN l.developing THEN q.min_developing ELSE q.min_developed END AS min_value,
       q.metric IN ('active_users', 'deployed_seats') AS frozen
FROM lapsed_members l JOIN cat_reqs q ON q.version = l.version AND q.level_rank >= l.rank
WHERE q.role <> 'part';

-- active_users and deployed_seats as step functions of the date up to D, for the
-- lapsed members only: looking back they fall on the dates their month or snapshot
-- takes effect, like any other metric (SPEC §5.5), though the projection keeps them
-- at their value at D. Each change carries the item that takes effect with it.
CREATE OR REPLACE TEMP TABLE frozen_changes AS
-- A usage month takes effect on its last day, the first D it "ends on or before"
-- (SPEC §4); the organization's value is 0 in a month it has no rows for. (The rows
-- that count are summed first: a filter in a LEFT JOIN's condition is a nested loop.)
WITH users AS (
    SELECT l.d, l.org_no, m.measure, u.month, sum(u.active_users) AS active_users
    FROM lapsed_members l
    JOIN usage u ON u.org_id = l.org_id
    JOIN cat_measures m ON m.version = l.version AND m.metric = 'active_users'
         AND measure_counts(m.products, m.via, u.product, u.attribution)
    GROUP BY ALL
)
SELECT l.d, l.org_no, m.measure, last_day(um.month) AS t, CAST(coalesce(u.active_users, 0) AS DOUBLE) AS value,
       format('the active users of {} took effect', strftime(um.month, '%Y-%m')) AS item
FROM lapsed_members l
JOIN cat_measures m ON m.version = l.version AND m.metric = 'active_users'
JOIN usage_months um ON last_day(um.month) <= l.d
LEFT JOIN users u ON u.d = l.d AND u.org_no = l.org_no AND u.measure = m.measure AND u.month = um.month
UNION ALL
-- Seats: each snapshot replaces its (customer, product) pair's previous one among the
-- rows that count, so the sum changes by the difference; the item of a date is the
-- snapshot that lowered the sum most (ties: customer, product).
SELECT d, org_no, measure, t, CAST(sum(sum(delta)) OVER (PARTITION BY d, org_no, measure ORDER BY t) AS DOUBLE),
       first(format('the seat snapshot of customer {} for {} took effect ({} seats, was {})',
                    customer_id, product, deployed_seats, deployed_seats - delta) ORDER BY delta, customer_id, product)
FROM (
    SELECT l.d, l.org_no, m.measure, s.snapshot_on AS t, s.customer_id, s.product, s.deployed_seats,
           s.deployed_seats - lag(s.deployed_seats, 1, 0) OVER (
               PARTITION BY l.d, l.org_no, m.measure, s.customer_id, s.product ORDER BY s.snapshot_on) AS delta
    FROM lapsed_members l
    JOIN cat_measures m ON m.version = l.version AND m.metric = 'deployed_seats'
    JOIN seats s ON s.org_id = l.org_id AND s.snapshot_on <= l.d
         AND measure_counts(m.products, m.via, s.product, s.attribution)
)
GROUP BY d, org_no, measure, t;

CREATE OR REPLACE TEMP TABLE frozen_timelines AS
SELECT d, org_no, measure, t AS t_from, lead(t, 1, forever()) OVER w AS t_until, value,
       lag(value, 1, 0) OVER w AS prev_value, item
FROM frozen_changes
WINDOW w AS (PARTITION BY d, org_no, measure ORDER BY t);

-- Where each requirement of a lapsed member stayed at or above its minimum: the
-- ok_intervals of the measures that change with time (requirements.sql), and the
-- same crossings of the two metrics above. A minimum of 0 or less is always met.
CREATE OR REPLACE TEMP TABLE lapsed_ok AS
WITH mins AS (
    SELECT DISTINCT d, org_no, measure, min_value FROM lapsed_reqs WHERE frozen AND min_value > 0
), crossings AS (
    SELECT t.d, t.org_no, t.measure, m.min_value, t.t_from AS t, t.value >= m.min_value AS up
    FROM frozen_timelines t JOIN mins m USING (d, org_no, measure)
    WHERE (t.value >= m.min_value) <> (t.prev_value >= m.min_value)
), frozen_ok AS (
    SELECT u.d, u.org_no, u.measure, u.min_value, u.t AS t_from, coalesce(x.t, forever()) AS t_until
    FROM (FROM crossings WHERE up) u
    ASOF LEFT JOIN (FROM crossings WHERE NOT up) x ON x.d = u.d AND x.org_no = u.org_no
         AND x.measure = u.measure AND x.min_value = u.min_value AND x.t > u.t
)
SELECT r.d, r.org_no, r.competency_id, r.level, r.path, r.req_ord, o.t_from, o.t_until
FROM lapsed_reqs r
JOIN ok_intervals o ON o.version = r.version AND o.measure = r.measure AND o.org_no = r.org_no AND o.min_value = r.min_value
WHERE NOT r.frozen AND r.min_value > 0
UNION ALL
SELECT r.d, r.org_no, r.competency_id, r.level, r.path, r.req_ord, o.t_from, o.t_until
FROM lapsed_reqs r
JOIN frozen_ok o ON o.d = r.d AND o.org_no = r.org_no AND o.measure = r.measure AND o.min_value = r.min_value
WHERE r.frozen AND r.min_value > 0;

-- When each path was met: where all of its requirements with a minimum above 0 were
-- at once (all_hold; a path without one would be met at D, which a lapsed member's
-- are not).
CREATE OR REPLACE TEMP TABLE lapsed_path_oks AS
SELECT {d: d, org_no: org_no, competency_id: competency_id, level: level, path: path} AS k, t_from, t_until FROM lapsed_ok;
CREATE OR REPLACE TEMP TABLE lapsed_path_counts AS
SELECT {d: d, org_no: org_no, competency_id: competency_id, level: level, path: path} AS k,
       count(*) FILTER (WHERE min_value > 0) AS n
FROM lapsed_reqs GROUP BY ALL;
CREATE OR REPLACE TEMP TABLE lapsed_paths AS
SELECT p.*, s.t_from, s.t_until
FROM (SELECT unnest(k), t_from, t_until FROM all_hold('lapsed_path_oks', 'lapsed_path_counts')) s
JOIN (SELECT DISTINCT d, org_no, rank, comp_ord, competency_id, level, level_rank, path_ord, path FROM lapsed_reqs) p
     USING (d, org_no, competency_id, level, path);

-- When each competency attained L: a met path of L or higher, or an override at L
-- or higher (SPEC §5.3), as maximal segments.
CREATE OR REPLACE TEMP TABLE lapsed_level_keyed AS
SELECT {d: d, org_no: org_no, competency_id: competency_id} AS k, t_from, t_until FROM lapsed_paths
UNION ALL
SELECT {d: l.d, org_no: l.org_no, competency_id: o.competency_id}, o.t_from, o.t_until
FROM lapsed_members l
JOIN override_intervals o ON o.org_no = l.org_no AND o.level_rank >= l.rank
SEMI JOIN cat_reqs c ON c.version = l.version AND c.competency_id = o.competency_id;

CREATE OR REPLACE TEMP TABLE cause_lapsed AS
WITH lost AS (
    -- The competency that attained L last within the look-back: its segment that held
    -- a day of the look-back and ended latest (by D, as none holds D); ties in catalog
    -- order.
    SELECT s.d, s.org_no,
           first(s.competency_id ORDER BY s.t_until DESC, c.comp_ord) AS competency_id,
           max(s.t_until) AS lost_on
    FROM (SELECT unnest(k), t_from, t_until FROM interval_union('lapsed_level_keyed')) s
    JOIN lapsed_members l USING (d, org_no)
    JOIN (SELECT DISTINCT version, competency_id, comp_ord FROM cat_reqs) c ON c.version = l.version AND c.competency_id = s.competency_id
    WHERE s.t_until > l.lookback_from AND s.t_until <= l.d
    GROUP BY ALL
), lost_path AS (
    -- The path whose met interval ended then (a Silver level's own paths first, then
    -- catalog order); none when an override carried the level to its end.
    SELECT x.d, x.org_no, x.competency_id, x.lost_on,
           first(p.path ORDER BY p.level_rank <> p.rank, p.path_ord) AS path,
           first(p.level ORDER BY p.level_rank <> p.rank, p.path_ord) AS path_level
    FROM lost x
    LEFT JOIN lapsed_paths p ON p.d = x.d AND p.org_no = x.org_no AND p.competency_id = x.competency_id AND p.t_until = x.lost_on
    GROUP BY ALL
), lost_req AS (
    -- The path's requirement that fell below its minimum on that date (catalog order).
    SELECT x.d, x.org_no, x.competency_id, x.lost_on AS fell_on, x.path, x.path_level,
           first(r.metric ORDER BY r.req_ord) AS metric, first(r.measure ORDER BY r.req_ord) AS measure,
           first(r.min_value ORDER BY r.req_ord) AS min_value, first(r.frozen ORDER BY r.req_ord) AS frozen
    FROM lost_path x
    LEFT JOIN (lapsed_ok o JOIN lapsed_reqs r USING (d, org_no, competency_id, level, path, req_ord))
         ON o.d = x.d AND o.org_no = x.org_no AND o.competency_id = x.competency_id AND o.level = x.path_level
         AND o.path = x.path AND o.t_until = x.lost_on
    GROUP BY ALL
), fewest AS (
    -- No competency attained L within the look-back: the competency and path with the
    -- fewest requirements below their minimum at D (catalog order; a Silver level's
    -- own paths first), and its first such requirement.
    SELECT l.d, l.org_no,
           first(p.competency_id ORDER BY p.unmet, p.comp_ord, p.level_rank <> l.rank, p.path_ord) AS competency_id,
           first(p.level ORDER BY p.unmet, p.comp_ord, p.level_rank <> l.rank, p.path_ord) AS path_level,
           first(p.path ORDER BY p.unmet, p.comp_ord, p.level_rank <> l.rank, p.path_ord) AS path
    FROM lapsed_members l
    JOIN (SELECT org_no, d, version, comp_ord, competency_id, level, level_rank, path_ord, path,
                 count(*) FILTER (WHERE NOT met) AS unmet
          FROM req_eval e SEMI JOIN lapsed_members x ON x.org_no = e.org_no AND x.d = e.d AND x.version = e.version
          WHERE e.counts
          GROUP BY ALL) p
         ON p.org_no = l.org_no AND p.d = l.d AND p.version = l.version AND p.level_rank >= l.rank
    ANTI JOIN lost x ON x.d = l.d AND x.org_no = l.org_no
    GROUP BY ALL
), fewest_req AS (
    -- (a score shows the score itself; a score at or above its minimum failed on a
    -- part at 0, SPEC §4.1, which the sentence names instead)
    SELECT f.d, f.org_no, f.competency_id, f.path, f.path_level,
           first(e.req_ord ORDER BY e.req_ord) AS req_ord, first(e.metric ORDER BY e.req_ord) AS metric,
           first(e.min_value ORDER BY e.req_ord) AS min_value,
           first(CASE WHEN e.metric = 'score' THEN CAST(e.value_dec AS DOUBLE) ELSE e.value END ORDER BY e.req_ord) AS value
    FROM fewest f
    JOIN req_eval e ON e.org_no = f.org_no AND e.d = f.d AND e.competency_id = f.competency_id
         AND e.level = f.path_level AND e.path = f.path AND NOT e.met AND e.counts
    SEMI JOIN lapsed_members l ON l.d = e.d AND l.org_no = e.org_no AND l.version = e.version
    GROUP BY ALL
), zero_parts AS (
    SELECT f.d, f.org_no, first(e.metric ORDER BY e.req_ord) AS metric
    FROM fewest_req f
    JOIN req_eval e ON e.org_no = f.org_no AND e.d = f.d AND e.competency_id = f.competency_id
         AND e.level = f.path_level AND e.path = f.path AND NOT e.counts AND e.value <= 0
    WHERE f.metric = 'score' AND f.value >= f.min_value
    GROUP BY ALL
)
SELECT l.d, l.org_no, l.version, l.membership_level, r.competency_id, r.path, r.path_level, r.metric, r.measure, r.min_value,
       r.frozen, r.fell_on, NULL::DOUBLE AS value, NULL::DATE AS below_since
FROM lost_req r JOIN lapsed_members l USING (d, org_no)
UNION ALL
-- "below since" the last date it fell below within the look-back, else the
-- look-back's first date
SELECT l.d, l.org_no, l.version, l.membership_level, f.competency_id, f.path, f.path_level,
       coalesce(z.metric, f.metric), NULL, CASE WHEN z.metric IS NULL THEN f.min_value END,
       NULL, NULL, CASE WHEN z.metric IS NULL THEN f.value ELSE 0 END,
       greatest(coalesce(max(o.t_until), l.lookback_from), l.lookback_from)
FROM fewest_req f
JOIN lapsed_members l USING (d, org_no)
LEFT JOIN zero_parts z USING (d, org_no)
LEFT JOIN lapsed_ok o ON o.d = f.d AND o.org_no = f.org_no AND o.competency_id = f.competency_id AND o.level = f.path_level
     AND o.path = f.path AND o.req_ord = f.req_ord AND o.t_until <= l.d
GROUP BY l.d, l.org_no, l.version, l.membership_level, f.competency_id, f.path, f.path_level, f.metric, z.metric,
         f.min_value, f.value, l.lookback_from;

-- A score's fall (SPEC §4.1) on the date a cause names: the score then, and the part
-- that moved it (the one whose fall lowers the score most; a part that falls to 0
-- when the score still reaches its minimum).
CREATE OR REPLACE TEMP TABLE cause_scores AS
SELECT c.version, c.measure, c.org_no, c.t, m.score, m.score < c.min_value AS below,
       q.metric AS part_metric, q.measure AS part_measure, m.fell_from, m.fell_to
FROM (SELECT DISTINCT version, measure, org_no, fails_on AS t, competency_id, path_level, path, min_value
      FROM cause_risk WHERE metric = 'score' AND fails_on IS NOT NULL
      UNION
      SELECT DISTINCT version, measure, org_no, fell_on, competency_id, path_level, path, min_value
      FROM cause_lapsed WHERE metric = 'score' AND fell_on IS NOT NULL) c
JOIN score_moves m ON m.version = c.version AND m.measure = c.measure AND m.org_no = c.org_no AND m.t_from = c.t
JOIN cat_reqs q ON q.version = c.version AND q.competency_id = c.competency_id AND q.level = c.path_level
     AND q.path = c.path AND q.role = 'part'
     AND q.req_ord = CASE WHEN m.score < c.min_value THEN m.fell ELSE m.zeroed END;

-- What ends an item's part in a measure on a date, in words (future and past), for
-- causes: revenue and customers leaving the window, individuals leaving or losing a
-- code. One row per (version, measure, org, date, item), ranked within the date; only
-- at the dates a cause names.
CREATE OR REPLACE TEMP TABLE drop_dates AS
SELECT DISTINCT version, measure, org_no, fails_on AS t FROM cause_risk WHERE fails_on IS NOT NULL
UNION
SELECT DISTINCT version, measure, org_no, fell_on FROM cause_lapsed WHERE fell_on IS NOT NULL AND NOT frozen
UNION
SELECT version, part_measure, org_no, t FROM cause_scores;

CREATE OR REPLACE TEMP TABLE drops AS
SELECT version, measure, org_no, t, row_number() OVER (PARTITION BY version, measure, org_no, t ORDER BY weight DESC, item, future) AS pick,
       future, past
FROM (
    -- Revenue items are many: only those at a date a cause names are formatted.
    SELECT version, measure, org_no, t_until AS t, transaction_id AS item, CAST(usd_decimal(usd) AS DOUBLE) AS weight,
           format('transaction {} ({} USD) leaves the 12-month window', transaction_id, printf('%.2f', usd_decimal(usd))) AS future,
           format('transaction {} ({} USD) left the 12-month window', transaction_id, printf('%.2f', usd_decimal(usd))) AS past
    FROM revenue_items r
    SEMI JOIN drop_dates w ON w.version = r.version AND w.measure = r.measure AND w.org_no = r.org_no AND w.t = r.t_until
    WHERE usd > 0
    UNION ALL
    SELECT version, measure, org_no, t_from, transaction_id, -CAST(usd_decimal(usd) AS DOUBLE),
           format('credit {} ({} USD) is booked', transaction_id, printf('%.2f', usd_decimal(usd))),
           format('credit {} ({} USD) was booked', transaction_id, printf('%.2f', usd_decimal(usd)))
    FROM revenue_items r
    SEMI JOIN drop_dates w ON w.version = r.version AND w.measure = r.measure AND w.org_no = r.org_no AND w.t = r.t_from
    WHERE usd < 0
    UNION ALL
    SELECT version, measure, org_no, t_until, customer_id, 0,
           format('customer {} leaves the 12-month window', customer_id),
           format('customer {} left the 12-month window', customer_id)
    FROM customer_segments
    UNION ALL
    -- People: each who stops counting moves the value by one, so the smallest
    -- individual_id is named, by how the association ended when it did, else by the
    -- code whose validity ended (an individual is one or the other on a date).
    SELECT s.version, s.measure, s.org_no, s.t_until, s.individual_id, 1,
           format('individual {} {}', s.individual_id, CASE WHEN a.ended_by = 'associate'
                  THEN format('moves to organization {}', a.next_org) ELSE 'disassociates' END),
           format('individual {} {}', s.individual_id, CASE WHEN a.ended_by = 'associate'
                  THEN format('moved to organization {}', a.next_org) ELSE 'disassociated' END)
    FROM people_segments s
    JOIN association_intervals a ON a.individual_id = s.individual_id AND a.org_id = s.org_id AND a.t_until = s.t_until
    UNION ALL
    SELECT s.version, s.measure, s.org_no, s.t_until, s.individual_id || ' ' || i.code, 1,
           format('{} {} of individual {} {}', i.kind, i.code, s.individual_id,
                  CASE i.ends_by WHEN 'retired' THEN 'stops counting (retired)' ELSE 'expires' END),
           format('{} {} of individual {} {}', i.kind, i.code, s.individual_id,
                  CASE i.ends_by WHEN 'retired' THEN 'stopped counting (retired)' ELSE 'expired' END)
    FROM people_segments s
    JOIN skill_items i ON i.version = s.version AND i.individual_id = s.individual_id AND i.t_until = s.t_until
    SEMI JOIN cat_anyof a ON a.version = s.version AND a.measure = s.measure AND a.code = i.code
    ANTI JOIN association_intervals x ON x.individual_id = s.individual_id AND x.org_id = s.org_id AND x.t_until = s.t_until
) i
SEMI JOIN drop_dates w ON w.version = i.version AND w.measure = i.measure AND w.org_no = i.org_no AND w.t = i.t;

-- What falls in a cause (SPEC §5.5, §4.1): "metric falls to value (needs min)"; for a
-- score, the score and, after the item, the part that moved it ("(people 4 → 3)"),
-- or the part that fell to 0.
CREATE OR REPLACE TEMP MACRO falls(verb, metric, value, min_value, s) AS
    CASE WHEN s.part_metric IS NULL
         THEN format('{} {} to {} (needs {})', metric, verb, metric_value(metric, value), metric_value(metric, min_value))
         WHEN s.below
         THEN format('score {} to {} (needs {})', verb, metric_value('score', s.score), metric_value('score', min_value))
         ELSE format('{} {} to 0 (needs > 0)', s.part_metric, verb) END;
CREATE OR REPLACE TEMP MACRO moved(s) AS
    CASE WHEN s.below THEN format(' ({} {} → {})', s.part_metric, metric_value(s.part_metric, s.fell_from),
                                  metric_value(s.part_metric, s.fell_to)) ELSE '' END;

-- The cause sentence (SPEC §5.5).
CREATE OR REPLACE TEMP TABLE causes AS
SELECT r.d, r.org_no,
       CASE WHEN r.path IS NULL THEN format('{} {}: its override ends on {}', r.competency_id, r.membership_level, r.lapses_on)
            ELSE format('{} {}, path {}: {} on {}{}{}', r.competency_id, r.membership_level, r.path,
                        falls('falls', r.metric, coalesce(t.value, 0), r.min_value, s), r.fails_on,
                        coalesce(' when ' || x.future, ''), coalesce(moved(s), ''))
       END AS cause
FROM cause_risk r
LEFT JOIN timelines t ON t.version = r.version AND t.measure = r.measure AND t.org_no = r.org_no
     AND t.t_from <= r.fails_on AND r.fails_on < t.t_until
LEFT JOIN cause_scores s ON s.version = r.version AND s.measure = r.measure AND s.org_no = r.org_no AND s.t = r.fails_on
LEFT JOIN drops x ON x.version = r.version AND x.measure = coalesce(s.part_measure, r.measure) AND x.org_no = r.org_no
     AND x.t = r.fails_on AND x.pick = 1
UNION ALL
-- Lapsed, nothing attained L within the look-back, or an override carried it last.
SELECT d, org_no,
       CASE WHEN below_since IS NOT NULL
            THEN format('{} {}, path {}: {} is {} (needs {}), below since {}', competency_id, membership_level, path,
                        metric, metric_value(metric, value),
                        coalesce(metric_value(metric, min_value), '> 0'), below_since)
            ELSE format('{} {}: its override ended on {}', competency_id, membership_level, fell_on) END
FROM cause_lapsed WHERE below_since IS NOT NULL OR path IS NULL
UNION ALL
-- Lapsed when a path's requirement fell: its value then, and what ended or took
-- effect that day (each kind of timeline joined on its own keys).
SELECT l.d, l.org_no,
       format('{} {}, path {}: {} on {}{}{}', l.competency_id, l.membership_level, l.path,
              falls('fell', l.metric, coalesce(t.value, 0), l.min_value, s),
              l.fell_on, coalesce(' when ' || x.past, ''), coalesce(moved(s), ''))
FROM cause_lapsed l
LEFT JOIN timelines t ON t.version = l.version AND t.measure = l.measure AND t.org_no = l.org_no
     AND t.t_from <= l.fell_on AND l.fell_on < t.t_until
LEFT JOIN cause_scores s ON s.version = l.version AND s.measure = l.measure AND s.org_no = l.org_no AND s.t = l.fell_on
LEFT JOIN drops x ON x.version = l.version AND x.measure = coalesce(s.part_measure, l.measure) AND x.org_no = l.org_no
     AND x.t = l.fell_on AND x.pick = 1
WHERE l.path IS NOT NULL AND NOT l.frozen
UNION ALL
SELECT l.d, l.org_no,
       format('{} {}, path {}: {} fell to {} (needs {}) on {} when {}', l.competency_id, l.membership_level, l.path,
              l.metric, metric_value(l.metric, f.value), metric_value(l.metric, l.min_value), l.fell_on, f.item)
FROM cause_lapsed l
JOIN frozen_timelines f ON f.d = l.d AND f.org_no = l.org_no AND f.measure = l.measure AND f.t_from = l.fell_on
WHERE l.path IS NOT NULL AND l.frozen;
