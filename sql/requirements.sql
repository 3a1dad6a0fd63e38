-- Requirements at each point (SPEC §4, §5.3, §5.4): the value of every requirement of
-- the version in force, its minimum for the organization's market, whether it is met,
-- and the first date after D on which its own value falls below the minimum if no
-- data arrived after D (empty when it does not fall within the horizon).

-- Each requirement at each point, with ids for the catalog's names (the names are
-- joined back in req_eval below; 1.7 M rows of names cost a second to write).
CREATE OR REPLACE TEMP TABLE req_values AS
WITH r AS (
    SELECT p.org_no, p.d, p.version, q.path_id, q.req_id, q.measure, p.developing,
           CASE WHEN p.developing THEN q.min_developing ELSE q.min_developed END AS min_value,
           q.metric IN ('active_users', 'deployed_seats') AS frozen,
           -- a scored path's parts show in the requirements rows; its score row
           -- alone says whether the path is met (SPEC §4.1)
           q.role <> 'part' AS counts
    FROM points p JOIN cat_reqs q ON q.version = p.version
), at_d AS (
    -- The value at D: the segment that holds D (segments run on from the first
    -- change to forever; before the first the value is 0). A measure of an
    -- organization has a dozen segments: a hash join on the keys, then the range,
    -- costs less than the sort of an ASOF join.
    SELECT r.org_no, r.d, r.version, r.measure, t.value, shown_value(t.money, t.total) AS value_dec
    FROM (SELECT DISTINCT org_no, d, version, measure FROM r WHERE NOT frozen) r
    JOIN timelines t ON t.version = r.version AND t.measure = r.measure AND t.org_no = r.org_no
         AND t.t_from <= r.d AND r.d < t.t_until
), v AS (
    SELECT r.*, coalesce(CASE WHEN r.frozen THEN f.value ELSE a.value END, 0) AS value,
           coalesce(CASE WHEN r.frozen THEN f.value_dec ELSE a.value_dec END, 0) AS value_dec
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
       q.path_ord, q.path, q.req_ord, q.metric, e.measure, e.min_value, e.frozen, e.counts, e.value, e.value_dec, e.met, e.fails_on
FROM req_values e JOIN cat_reqs q USING (req_id);

-- The minimums as the requirements table shows them (value_text), once.
CREATE OR REPLACE TEMP TABLE req_mins AS
SELECT req_id, false AS developing, value_text(min_developed) AS min_dec FROM cat_reqs
UNION ALL SELECT req_id, true, value_text(min_developing) FROM cat_reqs;
