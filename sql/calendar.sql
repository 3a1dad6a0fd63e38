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
-- step functions. A part's change at t from prev to value moves the score by its
-- gain, points × (min(value, full_at) − min(prev, full_at)) / full_at, and the
-- number of parts at 0 by zeros, (value <= 0) − (prev <= 0) (score_move); table
-- moves holds (k, part_ord, t_from, value, prev_value, gain, zeros), the moves of
-- each key (its parts' changes, from 0 before the first; a change that moves
-- neither may be left out: above full_at most do), and table parts (k, parts,
-- gated): how many parts each key has and whether each_above_zero applies. The
-- score at t is the running sum of the gains up to t, Σ points × min(value,
-- full_at) / full_at over the parts, as DOUBLEs rounded to 9 places (no part is
-- rounded before the sum, and a sum of fractions that is exactly the minimum,
-- 10/3 + 20/3 = 10, reaches it); every part is at 0 before any change. value is
-- what the rules compare with score.min: the score, or −1 where each_above_zero
-- fails (below any minimum, which is > 0). For causes: the part whose fall lowers
-- the score most on that date (ties: catalog order), its value before and after,
-- and the first part that falls to 0.
CREATE OR REPLACE TEMP MACRO score_gain(points, full_at, value, prev) AS
    points * (least(value, full_at) - least(prev, full_at)) / full_at;
CREATE OR REPLACE TEMP MACRO score_zeros(value, prev) AS (value <= 0)::INTEGER - (prev <= 0)::INTEGER;

CREATE OR REPLACE TEMP MACRO score_steps(parts, moves) AS TABLE
WITH at_t AS (
    SELECT k, t_from AS t, sum(gain) AS gain, sum(zeros) AS zeros,
           arg_max({part_ord: part_ord, prev: prev_value, value: value}, -gain * 1e6 - part_ord) FILTER (WHERE gain < 0) AS fell,
           min(part_ord) FILTER (WHERE value <= 0 AND prev_value > 0) AS zeroed
    FROM query_table(moves) GROUP BY k, t_from
), run AS (
    SELECT a.k, a.t, a.fell, a.zeroed, p.gated,
           round(sum(a.gain) OVER w, 9) AS score,
           NOT p.gated OR p.parts + sum(a.zeros) OVER w = 0 AS above_zero,
           lead(a.t, 1, forever()) OVER w AS t_until
    FROM at_t a JOIN query_table(parts) p ON p.k = a.k
    WINDOW w AS (PARTITION BY a.k ORDER BY a.t)
)
SELECT k, t AS t_from, t_until, score, above_zero, fell.part_ord AS fell, fell.prev AS fell_from, fell.value AS fell_to, zeroed,
       CASE WHEN above_zero THEN score ELSE -1 END AS value,
       lag(CASE WHEN above_zero THEN score ELSE -1 END, 1, CASE WHEN gated THEN -1 ELSE 0 END) OVER (PARTITION BY k ORDER BY t) AS prev_value
FROM run;
