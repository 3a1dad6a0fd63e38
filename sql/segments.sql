-- A pass's results as intervals over spine dates (SPEC §8), for history: each
-- res_<table> row (results.sql) holds from its point's date to its
-- organization's next point; over the pass's dates, seg_dates (d, nxt: the next
-- date of d's month's spine, or the first day of the next month), it holds from
-- the first date d >= its point to the nxt of the last date d before its next
-- point. Rows that are the same on consecutive dates are merged when the
-- month's part is written (history.go); here a row is a point's, so that two
-- points' equal rows are not taken for one. An alert holds for its date alone:
-- renewal_risk (for its alert) and alerts are made a date at a time.

CREATE OR REPLACE TEMP MACRO seg_of(res) AS TABLE
SELECT r.*, f.d AS valid_from, u.nxt AS valid_until
FROM query_table(res) r
ASOF JOIN seg_dates f ON r.as_of <= f.d
ASOF JOIN seg_dates u ON r.until > u.d
WHERE f.d <= u.d;

CREATE OR REPLACE TEMP TABLE seg_attainment AS
SELECT org_id, org_name, competency_id, competency_name, level, basis, lapses_on, valid_from, valid_until
FROM seg_of('res_attainment');

CREATE OR REPLACE TEMP TABLE seg_requirements AS
SELECT org_id, competency_id, level, path, metric, value, min, met, lapses_on, valid_from, valid_until
FROM seg_of('res_requirements');

CREATE OR REPLACE TEMP TABLE seg_renewal_days AS
SELECT r.*, s.d, s.nxt,
       r.status IN ('at_risk', 'lapsed') AND coalesce(p.status, 'not_member') IN ('ok', 'not_member') AS alert,
       coalesce(p.status, 'not_member') AS previous_status
FROM res_renewal_risk r
JOIN seg_dates s ON r.as_of <= s.d AND s.d < r.until
LEFT JOIN prev_renewal p ON p.d = s.d AND p.org_id = r.org_id;

CREATE OR REPLACE TEMP TABLE seg_renewal_risk AS
SELECT org_id, org_name, membership_level, purchased_on, anniversary_on, in_grace, status,
       supporting AS supporting_competencies, lapses_on, cause, upgrade_eligible, eligible_level, alert,
       d AS valid_from, nxt AS valid_until
FROM seg_renewal_days;

CREATE OR REPLACE TEMP TABLE seg_alerts AS
SELECT org_id, org_name, membership_level, previous_status, status,
       'A recent change to your competency achievement has put your membership renewal eligibility at risk' AS message,
       cause, d AS valid_from, nxt AS valid_until
FROM seg_renewal_days WHERE alert;

CREATE OR REPLACE TEMP TABLE seg_needs AS
SELECT org_id, needs, valid_from, valid_until
FROM seg_of('res_needs');

CREATE OR REPLACE TEMP TABLE seg_expiring AS
SELECT org_id, individual_id, competency_id, kind, code, ends_on, valid_from, valid_until
FROM seg_of('res_expiring');

CREATE OR REPLACE TEMP TABLE seg_profile AS
SELECT org_id, competency_id, displayed_level, valid_from, valid_until
FROM seg_of('res_profile');

CREATE OR REPLACE TEMP TABLE seg_key_people AS
SELECT org_id, org_name, membership_level, individual_id, status_now, status_if_leaves, lapses_on_now,
       lapses_on_if_leaves, competencies, valid_from, valid_until
FROM seg_of('res_key_people');

-- What compute leaves out, and the data-quality counts (the session's own: a
-- shard of several counts its organizations'; readers add the parts up), are
-- the same at every date of a session.
CREATE OR REPLACE TEMP TABLE seg_compute_quarantine AS
SELECT feed, file, line, "column", reason, s.valid_from, s.valid_until
FROM compute_quarantine, (SELECT min(d) AS valid_from, max(nxt) AS valid_until FROM seg_dates) s
WHERE s.valid_from IS NOT NULL;

CREATE OR REPLACE TEMP TABLE seg_data_quality AS
SELECT check_name, feed, rows, s.valid_from, s.valid_until
FROM dq_counts, (SELECT min(d) AS valid_from, max(nxt) AS valid_until FROM seg_dates) s
WHERE s.valid_from IS NOT NULL;
