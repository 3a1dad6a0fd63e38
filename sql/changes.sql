-- Change points (SPEC §8): the dates t on which an organization's results can differ
-- from its results on t − 1 other than by the days they count to a date
-- (days_to_lapse, days_to_anniversary, days_left, which results.sql counts from each
-- date). Every input of the rules is a step function of time, so between two change
-- points an organization's results are the same; points.sql evaluates it only on the
-- dates a change point reaches. A superset costs only time: each step below is a date
-- where something the rules read starts or ends, or where a date they show comes
-- within a horizon (a lapse within 400 days, an item's end within 90).

-- Of every organization: a catalog version takes effect; a usage month takes effect
-- on its last day (SPEC §4: the latest month that ends on or before D).
CREATE OR REPLACE TEMP TABLE global_change_points AS
SELECT DISTINCT t FROM (
    SELECT effective_from AS t FROM cat_versions
    UNION ALL SELECT last_day(month) FROM usage_months
);

-- Three kinds: a value point (state = false) only moves a metric's value, which shows
-- in the requirements rows and a lapsed member's "is V" cause; a state point
-- (state = true) can change a level, a status or a key person: where a requirement
-- starts or stops holding (its ok interval), a path's met interval starts or ends, and
-- every other step below. A key-people point (kp = true) is a state point where a
-- person's leaving can judge differently (SPEC §5.8): the member's people steps, its
-- paths' met intervals and overrides (the level it rests on), its membership, a seat
-- snapshot; not a requirement's ok interval inside a path (the path's own interval
-- says when it matters) nor the 90 days of expiring. Key people, the costliest rule,
-- are evaluated at key-people points only (keypeople.sql).
CREATE OR REPLACE TEMP TABLE change_points AS
WITH span AS (
    SELECT min(d) AS lo, max(d) AS hi FROM range_dates
), people AS (
    SELECT DISTINCT t.org_no, t.t_from AS t FROM timelines t
    SEMI JOIN cat_measures m ON m.version = t.version AND m.measure = t.measure AND m.metric = 'people'
    UNION SELECT org_no, unnest([t_from, t_until]) FROM people_segments
), kp AS (
    -- a path starts or stops being met, or its end comes within the horizon 400
    -- days before
    SELECT org_no, unnest([t_from, t_until, t_until - 400]) AS t FROM path_islands
    -- people: a person's departure re-runs the people measures from D on (SPEC
    -- §5.8): a lapse without them ends where one of the organization's people
    -- steps does
    UNION ALL SELECT org_no, t FROM people
    UNION ALL SELECT org_no, t - 400 FROM people
    -- overrides start and end (and come within the horizon)
    UNION ALL SELECT org_no, unnest([t_from, t_until, t_until - 400]) FROM override_intervals
    -- a membership starts, enters its grace, ends
    UNION ALL SELECT o.org_no, unnest([m.purchased_on, m.anniversary_on, m.anniversary_on + 30])
    FROM memberships m JOIN orgs o USING (org_id)
    -- a seat snapshot takes effect
    UNION ALL SELECT o.org_no, s.snapshot_on FROM seats s JOIN orgs o USING (org_id)
    -- an individual associates or leaves
    UNION ALL SELECT o.org_no, unnest([a.t_from, a.t_until]) FROM association_intervals a JOIN orgs o USING (org_id)
), state AS (
    -- a requirement starts or stops holding, or its end comes within the horizon
    SELECT org_no, unnest([t_from, t_until, t_until - 400]) AS t FROM ok_intervals
    -- an override comes within expiring's 90 days
    UNION ALL SELECT org_no, t_until - 90 FROM override_intervals
    -- a skill item of an associated individual becomes valid, comes within
    -- expiring's 90 days, ends
    UNION ALL SELECT o.org_no, unnest([i.t_from, i.t_until, i.t_until - 90])
    FROM association_intervals a JOIN orgs o USING (org_id)
    JOIN skill_items i ON i.individual_id = a.individual_id AND i.t_from < a.t_until AND a.t_from < i.t_until
), x AS (
    SELECT org_no, t, true AS state, true AS kp FROM kp
    UNION ALL SELECT org_no, t, true, false FROM state
    -- a metric's value changes
    UNION ALL SELECT org_no, t_from, false, false FROM timelines
)
SELECT x.org_no, x.t, bool_or(x.state) AS state, bool_or(x.kp) AS kp
FROM x, span WHERE span.lo < x.t AND x.t <= span.hi GROUP BY ALL;
