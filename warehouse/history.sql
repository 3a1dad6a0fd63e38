-- Readers of a warehouse's results (SPEC §6.1, §8), written by attain to
-- <warehouse>/history.sql. In a DuckDB session, run this file's statements, then
--
--     FROM renewal_risk_on('warehouse', DATE '2026-03-15');
--     FROM renewal_risk_as_known_on('warehouse', DATE '2026-03-15');
--
-- <table>_on(warehouse, d) returns a result table's rows at date d with the
-- columns of SPEC §6.2 in order: from the nightly results of d when d has them
-- (results/_complete/<d>.json), else from the history restated with all landed
-- data when the marker of d's month lists d (history/_complete/month=<YYYY-MM>.json);
-- no rows otherwise. <table>_as_known_on(warehouse, d) is the same with the
-- history backfilled --as-known (history-as-known/), each date computed from
-- the deliveries dated on or before it: a date's nightly results come first
-- there too, since a nightly run knew only the deliveries of its date.
--
-- A history row holds on the dates valid_from <= d < valid_until of its month;
-- read at d it gets as_of = d and its day counts counted from d. A date that
-- is not on its month's spine (not listed in the month's marker) has no rows,
-- even inside a row's interval: the history holds only the computed dates.
--
-- <table>_of_history(files, d) reads the rows at d from given history files of
-- d's month (attain reads a month's parts by their names).
--
-- The globs below match, beside the data, each table's _empty.parquet (no
-- rows): DuckDB fails on a glob that matches no file, and a table function
-- takes no subquery.

CREATE OR REPLACE MACRO nightly_complete(warehouse, d) AS
    EXISTS (SELECT 1 FROM glob(warehouse || '/results/_complete/' || strftime(d, '%Y-%m-%d') || '.json'));

-- kind: 'history' or 'history-as-known'; a marker of the other kind in a
-- kind's directory (written there by a build before the two were apart) is not
-- complete
CREATE OR REPLACE MACRO history_has(warehouse, kind, d) AS
    d IN (SELECT unnest(dates) FROM read_json(warehouse || '/' || kind || '/_complete/*.json',
                                              columns = {month: 'VARCHAR', dates: 'DATE[]', as_known: 'BOOLEAN'})
          WHERE month = strftime(d, '%Y-%m') AND coalesce(as_known, false) = (kind = 'history-as-known'));

CREATE OR REPLACE MACRO nightly_files(warehouse, tbl) AS warehouse || '/results/' || tbl || '/**/*.parquet';

CREATE OR REPLACE MACRO history_files(warehouse, kind, tbl) AS warehouse || '/' || kind || '/' || tbl || '/**/*.parquet';

CREATE OR REPLACE MACRO in_month(filename, d) AS filename LIKE '%/month=' || strftime(d, '%Y-%m') || '/%';

CREATE OR REPLACE MACRO on_date(filename, d) AS filename LIKE '%/as_of=' || strftime(d, '%Y-%m-%d') || '/%';

-- attainment

CREATE OR REPLACE MACRO attainment_of_history(files, d) AS TABLE
SELECT d AS as_of, org_id, org_name, competency_id, competency_name, level, basis, lapses_on,
       lapses_on - d AS days_to_lapse
FROM read_parquet(files, hive_partitioning = false, filename = true)
WHERE in_month(filename, d) AND valid_from <= d AND d < valid_until;

CREATE OR REPLACE MACRO attainment_stored(warehouse, kind, d) AS TABLE
SELECT * EXCLUDE (filename) FROM read_parquet(nightly_files(warehouse, 'attainment'), hive_partitioning = false, filename = true)
WHERE on_date(filename, d) AND nightly_complete(warehouse, d)
UNION ALL
FROM attainment_of_history(history_files(warehouse, kind, 'attainment'), d)
WHERE NOT nightly_complete(warehouse, d) AND history_has(warehouse, kind, d);

CREATE OR REPLACE MACRO attainment_on(warehouse, d) AS TABLE
FROM attainment_stored(warehouse, 'history', d) ORDER BY org_id, competency_id;

CREATE OR REPLACE MACRO attainment_as_known_on(warehouse, d) AS TABLE
FROM attainment_stored(warehouse, 'history-as-known', d) ORDER BY org_id, competency_id;

-- requirements

CREATE OR REPLACE MACRO requirements_of_history(files, d) AS TABLE
SELECT d AS as_of, org_id, competency_id, level, path, metric, value, min, met, lapses_on
FROM read_parquet(files, hive_partitioning = false, filename = true)
WHERE in_month(filename, d) AND valid_from <= d AND d < valid_until;

CREATE OR REPLACE MACRO requirements_stored(warehouse, kind, d) AS TABLE
SELECT * EXCLUDE (filename) FROM read_parquet(nightly_files(warehouse, 'requirements'), hive_partitioning = false, filename = true)
WHERE on_date(filename, d) AND nightly_complete(warehouse, d)
UNION ALL
FROM requirements_of_history(history_files(warehouse, kind, 'requirements'), d)
WHERE NOT nightly_complete(warehouse, d) AND history_has(warehouse, kind, d);

CREATE OR REPLACE MACRO requirements_on(warehouse, d) AS TABLE
FROM requirements_stored(warehouse, 'history', d) ORDER BY org_id, competency_id, level, path, metric, min, value;

CREATE OR REPLACE MACRO requirements_as_known_on(warehouse, d) AS TABLE
FROM requirements_stored(warehouse, 'history-as-known', d) ORDER BY org_id, competency_id, level, path, metric, min, value;

-- renewal_risk

CREATE OR REPLACE MACRO renewal_risk_of_history(files, d) AS TABLE
SELECT d AS as_of, org_id, org_name, membership_level, purchased_on, anniversary_on,
       anniversary_on - d AS days_to_anniversary, in_grace, status, supporting_competencies, lapses_on, cause,
       upgrade_eligible, eligible_level, alert
FROM read_parquet(files, hive_partitioning = false, filename = true)
WHERE in_month(filename, d) AND valid_from <= d AND d < valid_until;

CREATE OR REPLACE MACRO renewal_risk_stored(warehouse, kind, d) AS TABLE
SELECT * EXCLUDE (filename) FROM read_parquet(nightly_files(warehouse, 'renewal_risk'), hive_partitioning = false, filename = true)
WHERE on_date(filename, d) AND nightly_complete(warehouse, d)
UNION ALL
FROM renewal_risk_of_history(history_files(warehouse, kind, 'renewal_risk'), d)
WHERE NOT nightly_complete(warehouse, d) AND history_has(warehouse, kind, d);

CREATE OR REPLACE MACRO renewal_risk_on(warehouse, d) AS TABLE
FROM renewal_risk_stored(warehouse, 'history', d) ORDER BY org_id;

CREATE OR REPLACE MACRO renewal_risk_as_known_on(warehouse, d) AS TABLE
FROM renewal_risk_stored(warehouse, 'history-as-known', d) ORDER BY org_id;

-- needs (beside the tables of §6.2: what the workbook says an at_risk or lapsed
-- member needs)

CREATE OR REPLACE MACRO needs_of_history(files, d) AS TABLE
SELECT d AS as_of, org_id, needs
FROM read_parquet(files, hive_partitioning = false, filename = true)
WHERE in_month(filename, d) AND valid_from <= d AND d < valid_until;

CREATE OR REPLACE MACRO needs_stored(warehouse, kind, d) AS TABLE
SELECT * EXCLUDE (filename) FROM read_parquet(nightly_files(warehouse, 'needs'), hive_partitioning = false, filename = true)
WHERE on_date(filename, d) AND nightly_complete(warehouse, d)
UNION ALL
FROM needs_of_history(history_files(warehouse, kind, 'needs'), d)
WHERE NOT nightly_complete(warehouse, d) AND history_has(warehouse, kind, d);

CREATE OR REPLACE MACRO needs_on(warehouse, d) AS TABLE
FROM needs_stored(warehouse, 'history', d) ORDER BY org_id;

CREATE OR REPLACE MACRO needs_as_known_on(warehouse, d) AS TABLE
FROM needs_stored(warehouse, 'history-as-known', d) ORDER BY org_id;

-- alerts

CREATE OR REPLACE MACRO alerts_of_history(files, d) AS TABLE
SELECT d AS as_of, org_id, org_name, membership_level, previous_status, status, message, cause
FROM read_parquet(files, hive_partitioning = false, filename = true)
WHERE in_month(filename, d) AND valid_from <= d AND d < valid_until;

CREATE OR REPLACE MACRO alerts_stored(warehouse, kind, d) AS TABLE
SELECT * EXCLUDE (filename) FROM read_parquet(nightly_files(warehouse, 'alerts'), hive_partitioning = false, filename = true)
WHERE on_date(filename, d) AND nightly_complete(warehouse, d)
UNION ALL
FROM alerts_of_history(history_files(warehouse, kind, 'alerts'), d)
WHERE NOT nightly_complete(warehouse, d) AND history_has(warehouse, kind, d);

CREATE OR REPLACE MACRO alerts_on(warehouse, d) AS TABLE
FROM alerts_stored(warehouse, 'history', d) ORDER BY org_id;

CREATE OR REPLACE MACRO alerts_as_known_on(warehouse, d) AS TABLE
FROM alerts_stored(warehouse, 'history-as-known', d) ORDER BY org_id;

-- expiring

CREATE OR REPLACE MACRO expiring_of_history(files, d) AS TABLE
SELECT d AS as_of, org_id, individual_id, competency_id, kind, code, ends_on, ends_on - d AS days_left
FROM read_parquet(files, hive_partitioning = false, filename = true)
WHERE in_month(filename, d) AND valid_from <= d AND d < valid_until;

CREATE OR REPLACE MACRO expiring_stored(warehouse, kind, d) AS TABLE
SELECT * EXCLUDE (filename) FROM read_parquet(nightly_files(warehouse, 'expiring'), hive_partitioning = false, filename = true)
WHERE on_date(filename, d) AND nightly_complete(warehouse, d)
UNION ALL
FROM expiring_of_history(history_files(warehouse, kind, 'expiring'), d)
WHERE NOT nightly_complete(warehouse, d) AND history_has(warehouse, kind, d);

CREATE OR REPLACE MACRO expiring_on(warehouse, d) AS TABLE
FROM expiring_stored(warehouse, 'history', d) ORDER BY org_id, individual_id NULLS FIRST, competency_id, kind, code, ends_on;

CREATE OR REPLACE MACRO expiring_as_known_on(warehouse, d) AS TABLE
FROM expiring_stored(warehouse, 'history-as-known', d) ORDER BY org_id, individual_id NULLS FIRST, competency_id, kind, code, ends_on;

-- profile

CREATE OR REPLACE MACRO profile_of_history(files, d) AS TABLE
SELECT d AS as_of, org_id, competency_id, displayed_level
FROM read_parquet(files, hive_partitioning = false, filename = true)
WHERE in_month(filename, d) AND valid_from <= d AND d < valid_until;

CREATE OR REPLACE MACRO profile_stored(warehouse, kind, d) AS TABLE
SELECT * EXCLUDE (filename) FROM read_parquet(nightly_files(warehouse, 'profile'), hive_partitioning = false, filename = true)
WHERE on_date(filename, d) AND nightly_complete(warehouse, d)
UNION ALL
FROM profile_of_history(history_files(warehouse, kind, 'profile'), d)
WHERE NOT nightly_complete(warehouse, d) AND history_has(warehouse, kind, d);

CREATE OR REPLACE MACRO profile_on(warehouse, d) AS TABLE
FROM profile_stored(warehouse, 'history', d) ORDER BY org_id, competency_id;

CREATE OR REPLACE MACRO profile_as_known_on(warehouse, d) AS TABLE
FROM profile_stored(warehouse, 'history-as-known', d) ORDER BY org_id, competency_id;

-- key_people

CREATE OR REPLACE MACRO key_people_of_history(files, d) AS TABLE
SELECT d AS as_of, org_id, org_name, membership_level, individual_id, status_now, status_if_leaves,
       lapses_on_now, lapses_on_if_leaves, competencies
FROM read_parquet(files, hive_partitioning = false, filename = true)
WHERE in_month(filename, d) AND valid_from <= d AND d < valid_until;

CREATE OR REPLACE MACRO key_people_stored(warehouse, kind, d) AS TABLE
SELECT * EXCLUDE (filename) FROM read_parquet(nightly_files(warehouse, 'key_people'), hive_partitioning = false, filename = true)
WHERE on_date(filename, d) AND nightly_complete(warehouse, d)
UNION ALL
FROM key_people_of_history(history_files(warehouse, kind, 'key_people'), d)
WHERE NOT nightly_complete(warehouse, d) AND history_has(warehouse, kind, d);

CREATE OR REPLACE MACRO key_people_on(warehouse, d) AS TABLE
FROM key_people_stored(warehouse, 'history', d) ORDER BY org_id, individual_id;

CREATE OR REPLACE MACRO key_people_as_known_on(warehouse, d) AS TABLE
FROM key_people_stored(warehouse, 'history-as-known', d) ORDER BY org_id, individual_id;

-- compute_quarantine: the revenue rows left out at compute time

CREATE OR REPLACE MACRO compute_quarantine_of_history(files, d) AS TABLE
SELECT d AS as_of, feed, file, line, "column", reason
FROM read_parquet(files, hive_partitioning = false, filename = true)
WHERE in_month(filename, d) AND valid_from <= d AND d < valid_until;

CREATE OR REPLACE MACRO compute_quarantine_stored(warehouse, kind, d) AS TABLE
SELECT * EXCLUDE (filename) FROM read_parquet(nightly_files(warehouse, 'compute_quarantine'), hive_partitioning = false, filename = true)
WHERE on_date(filename, d) AND nightly_complete(warehouse, d)
UNION ALL
FROM compute_quarantine_of_history(history_files(warehouse, kind, 'compute_quarantine'), d)
WHERE NOT nightly_complete(warehouse, d) AND history_has(warehouse, kind, d);

CREATE OR REPLACE MACRO compute_quarantine_on(warehouse, d) AS TABLE
FROM compute_quarantine_stored(warehouse, 'history', d) ORDER BY file, line;

CREATE OR REPLACE MACRO compute_quarantine_as_known_on(warehouse, d) AS TABLE
FROM compute_quarantine_stored(warehouse, 'history-as-known', d) ORDER BY file, line;

-- data_quality: each part of a month's history holds its shard's counts

CREATE OR REPLACE MACRO data_quality_of_history(files, d) AS TABLE
SELECT d AS as_of, check_name, feed, CAST(sum(rows) AS BIGINT) AS rows
FROM read_parquet(files, hive_partitioning = false, filename = true)
WHERE in_month(filename, d) AND valid_from <= d AND d < valid_until
GROUP BY check_name, feed;

CREATE OR REPLACE MACRO data_quality_stored(warehouse, kind, d) AS TABLE
SELECT * EXCLUDE (filename) FROM read_parquet(nightly_files(warehouse, 'data_quality'), hive_partitioning = false, filename = true)
WHERE on_date(filename, d) AND nightly_complete(warehouse, d)
UNION ALL
FROM data_quality_of_history(history_files(warehouse, kind, 'data_quality'), d)
WHERE NOT nightly_complete(warehouse, d) AND history_has(warehouse, kind, d);

CREATE OR REPLACE MACRO data_quality_on(warehouse, d) AS TABLE
FROM data_quality_stored(warehouse, 'history', d) ORDER BY check_name, feed;

CREATE OR REPLACE MACRO data_quality_as_known_on(warehouse, d) AS TABLE
FROM data_quality_stored(warehouse, 'history-as-known', d) ORDER BY check_name, feed;
