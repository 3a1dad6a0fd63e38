-- Calendar helpers (SPEC §1). An interval of dates is [t_from, t_until): t_until is
-- the first date it no longer holds; forever() stands for "not within any horizon".

CREATE OR REPLACE TEMP MACRO forever() AS DATE '9999-12-31';
CREATE OR REPLACE TEMP MACRO since_always() AS DATE '1900-01-01';

-- Whether this session counts an organization's rows in the data-quality counts
-- (quality.sql): every organization's in one shard; a shard replaces it (shards.go).
CREATE OR REPLACE TEMP MACRO counted_here(org_id) AS true;

-- The order of parts within one delivery date (SPEC §3.2), as text that sorts like
-- them: no part first, then numeric parts by value, then other parts as text
-- (restate.sql, and the split into shards, shards.go).
CREATE OR REPLACE TEMP MACRO part_rank(p) AS CASE
    WHEN p IS NULL THEN '0'
    WHEN try_cast(p AS UBIGINT) IS NOT NULL THEN '1' || lpad(CAST(try_cast(p AS UBIGINT) AS VARCHAR), 20, '0')
    ELSE '2' || p END;

-- The first date whose trailing window (t − 12 months, t] no longer holds a row dated
-- d: the least t with t − 12 months >= d. Usually d + 12 months; one day later when
-- d + 12 months is clamped to a month's end (2024-02-29 leaves on 2025-03-01).
CREATE OR REPLACE TEMP MACRO leaves_window(d) AS CASE
    WHEN CAST(CAST(d + INTERVAL 12 MONTH AS DATE) - INTERVAL 12 MONTH AS DATE) >= d
        THEN CAST(d + INTERVAL 12 MONTH AS DATE)
    ELSE CAST(d + INTERVAL 12 MONTH AS DATE) + 1 END;

-- The first date D whose end, D+1 00:00, is at or after instant ts: an association
-- counts from day_of(start + 24h) and stops counting on day_of(end) (SPEC §5.1).
CREATE OR REPLACE TEMP MACRO day_of(ts) AS CAST(ts - INTERVAL 1 MICROSECOND AS DATE);

-- The union of the intervals of table tbl (columns k, t_from, t_until) for each key k
-- (a STRUCT, so that one macro serves keys of any columns), as maximal segments: each
-- runs from a date where no interval of k held the day before to the first date none
-- holds, so a segment ends exactly where k stops holding (causes name what ends on a
-- date by the segments that end on it). A key with one interval is its own union;
-- the others go through +1/−1 events and a running count n of the intervals holding:
-- its edges, where n leaves or returns to 0, alternate start, end, start, end.
CREATE OR REPLACE TEMP MACRO interval_union(tbl) AS TABLE
WITH x AS (
    SELECT k, t_from, t_until FROM query_table(tbl)
), several AS (
    SELECT k FROM x GROUP BY k HAVING count(*) > 1
), ev AS (
    SELECT k, t, sum(delta) AS delta FROM (
        SELECT k, t_from AS t, 1 AS delta FROM x
        UNION ALL SELECT k, t_until, -1 FROM x
    ) SEMI JOIN several USING (k)
    GROUP BY ALL
), run AS (
    SELECT k, t, delta, sum(delta) OVER (PARTITION BY k ORDER BY t) AS n FROM ev
), edges AS (
    SELECT k, t, n > 0 AS starts, lead(t) OVER (PARTITION BY k ORDER BY t) AS t_next
    FROM run WHERE (n > 0) <> (n - delta > 0)
)
SELECT k, t_from, t_until FROM x ANTI JOIN several USING (k)
UNION ALL
SELECT k, t, t_next FROM edges WHERE starts;

-- The segments where all of a key's members hold at once: table oks holds
-- (k, t_from, t_until), the intervals of the members of key k, each member's
-- maximal (none overlaps or touches another of its own); table counts holds
-- (k, n), how many members k has. A running count of +1/−1 at the dates where
-- the changes do not cancel is n exactly where all hold, so the segments are
-- maximal too. (A key of no members holds always; the caller says so.)
CREATE OR REPLACE TEMP MACRO all_hold(oks, counts) AS TABLE
WITH ev AS (
    SELECT k, t, sum(delta) AS delta FROM (
        SELECT k, t_from AS t, 1 AS delta FROM query_table(oks)
        UNION ALL SELECT k, t_until, -1 FROM query_table(oks)
    ) GROUP BY ALL HAVING sum(delta) <> 0
), run AS (
    SELECT k, t, sum(delta) OVER w AS n, lead(t, 1, forever()) OVER w AS t_next
    FROM ev WINDOW w AS (PARTITION BY k ORDER BY t)
)
SELECT r.k, r.t AS t_from, r.t_next AS t_until
FROM run r JOIN query_table(counts) c ON c.k = r.k
WHERE r.n = c.n AND r.t < r.t_next;

-- A scored path's score (SPEC §4.1) as a step function of time, made from its parts'
-- step functions. Table segs holds (k, part_ord, t_from, value), each part's segments
-- from its first change (0 before it); table parts holds (k, part_ord, points,
-- full_at, each_above_zero), every part of each key. At each date a part changes,
-- the score is Σ points × min(value, full_at) / full_at over every part's value then,
-- summed as DOUBLEs and rounded to 9 places: no part is rounded before the sum, and
-- a sum of fractions that is exactly the minimum (10/3 + 20/3 = 10) reaches it.
-- value is what the rules compare with score.min: the score, or −1 where
-- each_above_zero fails (below any minimum, which is > 0). For causes: the part whose
-- fall lowers the score most on that date (ties: catalog order), its value before
-- and after, and the first part that falls to 0.
CREATE OR REPLACE TEMP MACRO score_steps(parts, segs) AS TABLE
WITH ts AS (
    SELECT DISTINCT k, t_from AS t FROM query_table(segs)
), grid AS (
    SELECT ts.k, ts.t, p.part_ord, p.points, p.full_at, p.each_above_zero
    FROM ts JOIN query_table(parts) p ON p.k = ts.k
), at_t AS (
    SELECT g.*, coalesce(s.value, 0) AS value
    FROM grid g ASOF LEFT JOIN query_table(segs) s ON s.k = g.k AND s.part_ord = g.part_ord AND s.t_from <= g.t
), moved AS (
    SELECT *, lag(value, 1, 0) OVER (PARTITION BY k, part_ord ORDER BY t) AS prev,
           points * (least(lag(value, 1, 0) OVER (PARTITION BY k, part_ord ORDER BY t), full_at) - least(value, full_at)) / full_at AS lost
    FROM at_t
), score AS (
    SELECT k, t, round(sum(points * least(value, full_at) / full_at), 9) AS score,
           NOT bool_or(each_above_zero) OR bool_and(value > 0) AS above_zero,
           bool_or(each_above_zero) AS gated,
           first(part_ord ORDER BY lost DESC, part_ord) FILTER (WHERE lost > 0) AS fell,
           first(prev ORDER BY lost DESC, part_ord) FILTER (WHERE lost > 0) AS fell_from,
           first(value ORDER BY lost DESC, part_ord) FILTER (WHERE lost > 0) AS fell_to,
           min(part_ord) FILTER (WHERE value <= 0 AND prev > 0) AS zeroed
    FROM moved GROUP BY k, t
)
SELECT k, t AS t_from, lead(t, 1, forever()) OVER w AS t_until, score, above_zero, fell, fell_from, fell_to, zeroed,
       CASE WHEN above_zero THEN score ELSE -1 END AS value,
       lag(CASE WHEN above_zero THEN score ELSE -1 END, 1, CASE WHEN gated THEN -1 ELSE 0 END) OVER w AS prev_value
FROM score WINDOW w AS (PARTITION BY k ORDER BY t);
