-- Paths, levels, overrides, basis and lapse (SPEC §5.3, §5.4) at each point.

-- Each path at each point: included when its frozen requirements (active_users,
-- deployed_seats) are met at D, since they keep that value in the projection; met when
-- every requirement is met at D (a scored path: its score row, SPEC §4.1); it lapses at
-- the end of its met interval containing D.
CREATE OR REPLACE TEMP TABLE path_eval AS
WITH ids AS (
    SELECT org_no, d, version, path_id,
           coalesce(bool_and(met) FILTER (WHERE frozen AND counts), true) AS included,
           bool_and(met) FILTER (WHERE counts) AS met
    FROM req_values GROUP BY ALL
), p AS (
    SELECT i.org_no, i.d, i.version, q.comp_ord, q.competency_id, q.level, q.level_rank, q.path_ord, q.path,
           i.included, i.met
    FROM ids i JOIN (SELECT DISTINCT path_id, comp_ord, competency_id, level, level_rank, path_ord, path FROM cat_reqs) q
         USING (path_id)
), holding AS (
    -- The path's met interval that holds D (keys first, then the range).
    SELECT p.org_no, p.d, p.version, p.competency_id, p.level, p.path, i.t_until
    FROM p JOIN path_islands i ON i.org_no = p.org_no AND i.version = p.version
         AND i.competency_id = p.competency_id AND i.level = p.level AND i.path = p.path
    WHERE i.t_from <= p.d AND p.d < i.t_until
)
SELECT p.*, h.t_until AS lapses_on
FROM p LEFT JOIN holding h USING (org_no, d, version, competency_id, level, path);

-- A level at a point is attained while a met path of that level or higher, or an
-- override at that level or higher, holds; it lapses at the end of the island of such
-- intervals that contains D, whatever comes after (SPEC §5.4): the segment of their
-- union (interval_union, maximal) that holds D.
CREATE OR REPLACE TEMP TABLE level_keyed AS
SELECT {org_no: org_no, d: d, version: version, competency_id: competency_id, rank: rank} AS k, t_from, t_until FROM (
    SELECT e.org_no, e.d, e.version, e.competency_id, k.rank, i.t_from, i.t_until
    FROM path_eval e
    JOIN path_islands i ON i.org_no = e.org_no AND i.version = e.version AND i.competency_id = e.competency_id
         AND i.level = e.level AND i.path = e.path AND i.t_until > e.d
    JOIN level_ranks k ON e.level_rank >= k.rank
    WHERE e.included
    UNION ALL
    SELECT p.org_no, p.d, p.version, o.competency_id, k.rank, o.t_from, o.t_until
    FROM points p
    JOIN override_intervals o ON o.org_no = p.org_no AND o.t_until > p.d
    JOIN level_ranks k ON o.level_rank >= k.rank
    SEMI JOIN cat_reqs c ON c.version = p.version AND c.competency_id = o.competency_id
);

CREATE OR REPLACE TEMP TABLE level_eval AS
WITH attained AS (
    SELECT org_no, d, version, competency_id, rank,
           CASE WHEN t_until <= d + 400 THEN t_until END AS lapses_on
    FROM (SELECT unnest(k), t_from, t_until FROM interval_union('level_keyed'))
    WHERE t_from <= d AND d < t_until
), basis AS (
    -- The met path whose attainment lapses latest; ties in catalog order, and for
    -- Silver, Silver paths before Gold paths.
    SELECT a.org_no, a.d, a.version, a.competency_id, a.rank,
           first(e.path ORDER BY coalesce(e.lapses_on, forever()) DESC, e.level_rank <> a.rank, e.path_ord) AS path,
           first(e.level ORDER BY coalesce(e.lapses_on, forever()) DESC, e.level_rank <> a.rank, e.path_ord) AS path_level
    FROM attained a
    JOIN path_eval e ON e.org_no = a.org_no AND e.d = a.d AND e.version = a.version
         AND e.competency_id = a.competency_id AND e.level_rank >= a.rank AND e.met
    GROUP BY ALL
)
SELECT a.org_no, a.d, a.version, a.competency_id, k.level, a.rank, a.lapses_on,
       coalesce(b.path, 'override') AS basis, b.path_level AS basis_level
FROM attained a
JOIN level_ranks k USING (rank)
LEFT JOIN basis b USING (org_no, d, version, competency_id, rank);

-- Each competency's level at each point: gold, else silver, else none (absent).
CREATE OR REPLACE TEMP TABLE competency_level AS
SELECT org_no, d, version, competency_id, arg_max(level, rank) AS level, max(rank) AS rank
FROM level_eval GROUP BY ALL;
