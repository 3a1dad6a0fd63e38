-- Memberships and renewal risk (SPEC §5.5) at each as-of date, with the cause.

-- Members: supporting competencies attain the member's level L or higher at D; the
-- member's lapses_on is the latest of theirs at level L (empty when one does not lapse
-- within the horizon); target = max(anniversary, D).
CREATE OR REPLACE TEMP TABLE renewal AS
WITH m AS (
    SELECT a.*, e.version, CASE a.level WHEN 'gold' THEN 2 ELSE 1 END AS rank
    FROM member_at a JOIN eval_dates e USING (d)
), sup AS (
    SELECT m.d, m.org_no, l.competency_id, l.lapses_on, l.basis, l.basis_level
    FROM m JOIN level_eval l ON l.org_no = m.org_no AND l.d = m.d AND l.version = m.version AND l.rank = m.rank
), agg AS (
    SELECT d, org_no, string_agg(competency_id, ';' ORDER BY competency_id) AS supporting,
           bool_or(lapses_on IS NULL) AS open_ended, max(lapses_on) AS latest
    FROM sup GROUP BY ALL
), gold AS (
    SELECT DISTINCT org_no, d FROM level_eval l SEMI JOIN eval_dates e ON e.d = l.d AND e.version = l.version
    WHERE l.rank = 2
)
SELECT m.d, m.org_no, m.level AS membership_level, m.rank, m.version, m.purchased_on, m.anniversary_on,
       m.anniversary_on - m.d AS days_to_anniversary,
       m.anniversary_on <= m.d AS in_grace,
       greatest(m.anniversary_on, m.d) AS target,
       CASE WHEN agg.org_no IS NULL THEN 'lapsed'
            WHEN agg.open_ended OR agg.latest > greatest(m.anniversary_on, m.d) THEN 'ok'
            ELSE 'at_risk' END AS status,
       agg.supporting,
       CASE WHEN NOT agg.open_ended THEN agg.latest END AS lapses_on,
       m.level = 'silver' AND g.org_no IS NOT NULL AS upgrade_eligible,
       NULL::VARCHAR AS eligible_level
FROM m
LEFT JOIN agg USING (d, org_no)
LEFT JOIN gold g USING (org_no, d)
UNION ALL
-- Organizations without a membership that attain Silver or Gold (SPEC §5.5).
SELECT c.d, c.org_no, NULL, NULL, c.version, NULL, NULL, NULL, NULL, NULL, 'not_member', NULL, NULL, false,
       arg_max(c.level, c.rank)
FROM competency_level c SEMI JOIN eval_dates e ON e.d = c.d AND e.version = c.version
ANTI JOIN member_at a ON a.org_no = c.org_no AND a.d = c.d
GROUP BY c.d, c.org_no, c.version;

CREATE OR REPLACE TEMP MACRO metric_value(metric, v) AS
    CASE WHEN metric = 'revenue_12m' THEN printf('%.2f', v) ELSE printf('%d', CAST(round(v) AS BIGINT)) END;

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
SELECT x.d, x.org_no, x.membership_level, x.competency_id, x.lapses_on, x.path,
       first(e.metric ORDER BY e.req_ord) AS metric,
       first(e.measure ORDER BY e.req_ord) AS measure,
       first(e.min_value ORDER BY e.req_ord) AS min_value,
       CASE WHEN x.path IS NOT NULL THEN x.lapses_on END AS fails_on,
       x.version
FROM ending x
LEFT JOIN (req_eval e JOIN ok_intervals o ON o.version = e.version AND o.measure = e.measure AND o.org_no = e.org_no
           AND o.min_value = e.min_value)
     ON e.org_no = x.org_no AND e.d = x.d AND e.version = x.version AND e.competency_id = x.competency_id
     AND e.level = x.path_level AND e.path = x.path AND NOT e.frozen
     AND o.t_from < x.lapses_on AND o.t_until = x.lapses_on
GROUP BY ALL;

CREATE OR REPLACE TEMP TABLE cause_lapsed AS
WITH lapsed AS (
    -- The path of the member's level closest to being met, and its first unmet
    -- requirement.
    SELECT r.d, r.org_no, r.membership_level, r.version,
           CAST(r.purchased_on - INTERVAL 12 MONTH AS DATE) AS lookback_from,
           first(p.competency_id ORDER BY p.unmet, p.comp_ord, p.path_ord) AS competency_id,
           first(p.path ORDER BY p.unmet, p.comp_ord, p.path_ord) AS path
    FROM renewal r
    JOIN (SELECT org_no, d, version, competency_id, comp_ord, level, path, path_ord, count(*) FILTER (WHERE NOT met) AS unmet
          FROM req_eval e SEMI JOIN renewal x ON x.org_no = e.org_no AND x.d = e.d AND x.status = 'lapsed'
          GROUP BY ALL) p
         ON p.org_no = r.org_no AND p.d = r.d AND p.version = r.version AND p.level = r.membership_level
    WHERE r.status = 'lapsed'
    GROUP BY ALL
), lapsed_req AS (
    SELECT l.*, first(e.metric ORDER BY e.req_ord) AS metric, first(e.measure ORDER BY e.req_ord) AS measure,
           first(e.min_value ORDER BY e.req_ord) AS min_value, first(e.value ORDER BY e.req_ord) AS value
    FROM lapsed l
    JOIN req_eval e ON e.org_no = l.org_no AND e.d = l.d AND e.version = l.version
         AND e.competency_id = l.competency_id AND e.level = l.membership_level AND e.path = l.path AND NOT e.met
    GROUP BY ALL
), lapsed_when AS (
    -- The last date on or before D on which the value fell below the minimum,
    -- looking back no further than 12 months before purchased_on (SPEC §5.5).
    SELECT l.d, l.org_no, max(t.t_from) AS fell_on
    FROM lapsed_req l
    JOIN timelines t ON t.version = l.version AND t.measure = l.measure AND t.org_no = l.org_no
         AND t.t_from <= l.d AND t.t_from >= l.lookback_from AND t.value < l.min_value AND t.prev_value >= l.min_value
    GROUP BY ALL
)
SELECT l.*, w.fell_on FROM lapsed_req l LEFT JOIN lapsed_when w USING (d, org_no);

-- What ends an item's part in a measure on a date, in words (future and past), for
-- causes: revenue and customers leaving the window, individuals leaving or losing a
-- code. One row per (version, measure, org, date, item), ranked within the date; only
-- at the dates a cause names.
CREATE OR REPLACE TEMP TABLE drop_dates AS
SELECT DISTINCT version, measure, org_no, fails_on AS t FROM cause_risk WHERE fails_on IS NOT NULL
UNION
SELECT DISTINCT version, measure, org_no, fell_on FROM cause_lapsed WHERE fell_on IS NOT NULL;

CREATE OR REPLACE TEMP TABLE drops AS
SELECT version, measure, org_no, t, row_number() OVER (PARTITION BY version, measure, org_no, t ORDER BY weight DESC, item, future) AS pick,
       future, past
FROM (
    -- Revenue items are many: only those at a date a cause names are formatted.
    SELECT version, measure, org_no, t_until AS t, transaction_id AS item, CAST(amount_usd AS DOUBLE) AS weight,
           format('transaction {} ({} USD) leaves the 12-month window', transaction_id, printf('%.2f', amount_usd)) AS future,
           format('transaction {} ({} USD) left the 12-month window', transaction_id, printf('%.2f', amount_usd)) AS past
    FROM revenue_items r
    SEMI JOIN drop_dates w ON w.version = r.version AND w.measure = r.measure AND w.org_no = r.org_no AND w.t = r.t_until
    WHERE amount_usd > 0
    UNION ALL
    SELECT version, measure, org_no, t_from, transaction_id, -CAST(amount_usd AS DOUBLE),
           format('credit {} ({} USD) is booked', transaction_id, printf('%.2f', amount_usd)),
           format('credit {} ({} USD) was booked', transaction_id, printf('%.2f', amount_usd))
    FROM revenue_items r
    SEMI JOIN drop_dates w ON w.version = r.version AND w.measure = r.measure AND w.org_no = r.org_no AND w.t = r.t_from
    WHERE amount_usd < 0
    UNION ALL
    SELECT version, measure, org_no, t_until, customer_id, 0,
           format('customer {} leaves the 12-month window', customer_id),
           format('customer {} left the 12-month window', customer_id)
    FROM customer_segments
    UNION ALL
    SELECT s.version, s.measure, s.org_no, s.t_until, s.individual_id, 1,
           format('individual {} {}', s.individual_id, CASE WHEN a.ended_by = 'associate'
                  THEN format('moves to organization {}', a.next_org) ELSE 'disassociates' END),
           format('individual {} {}', s.individual_id, CASE WHEN a.ended_by = 'associate'
                  THEN format('moved to organization {}', a.next_org) ELSE 'disassociated' END)
    FROM people_segments s
    JOIN association_intervals a ON a.individual_id = s.individual_id AND a.org_id = s.org_id AND a.t_until = s.t_until
    UNION ALL
    SELECT s.version, s.measure, s.org_no, s.t_until, s.individual_id || ' ' || i.code, 0,
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

-- The cause sentence (SPEC §5.5).
CREATE OR REPLACE TEMP TABLE causes AS
SELECT r.d, r.org_no,
       CASE WHEN r.path IS NULL THEN format('{} {}: its override ends on {}', r.competency_id, r.membership_level, r.lapses_on)
            ELSE format('{} {}, path {}: {} falls to {} (needs {}) on {}{}', r.competency_id, r.membership_level, r.path,
                        r.metric, metric_value(r.metric, coalesce(t.value, 0)), metric_value(r.metric, r.min_value), r.fails_on,
                        coalesce(' when ' || x.future, ''))
       END AS cause
FROM cause_risk r
LEFT JOIN timelines t ON t.version = r.version AND t.measure = r.measure AND t.org_no = r.org_no
     AND t.t_from <= r.fails_on AND r.fails_on < t.t_until
LEFT JOIN drops x ON x.version = r.version AND x.measure = r.measure AND x.org_no = r.org_no AND x.t = r.fails_on AND x.pick = 1
UNION ALL
SELECT l.d, l.org_no,
       CASE WHEN l.fell_on IS NULL
            THEN format('{} {}, path {}: {} is {} (needs {}) on {}', l.competency_id, l.membership_level, l.path,
                        l.metric, metric_value(l.metric, l.value), metric_value(l.metric, l.min_value), l.d)
            ELSE format('{} {}, path {}: {} fell to {} (needs {}) on {}{}', l.competency_id, l.membership_level, l.path,
                        l.metric, metric_value(l.metric, t.value), metric_value(l.metric, l.min_value), l.fell_on,
                        coalesce(' when ' || x.past, ''))
       END
FROM cause_lapsed l
LEFT JOIN timelines t ON t.version = l.version AND t.measure = l.measure AND t.org_no = l.org_no AND t.t_from = l.fell_on
LEFT JOIN drops x ON x.version = l.version AND x.measure = l.measure AND x.org_no = l.org_no AND x.t = l.fell_on AND x.pick = 1;
