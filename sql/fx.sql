-- FX conversion (SPEC §4): revenue counts as amount × usd_per_unit at the rate of
-- its booked month; USD is 1. Each converted amount is exact, a DECIMAL, so sums are
-- exact and do not depend on the order DuckDB adds them in (timelines.sql converts
-- the rows a measure counts, with its usd_amount).
-- A row with no rate for its month is left out and quarantined with a reason.

-- The (currency, month) pairs of landed revenue that fx_rates lacks: found on the
-- few distinct pairs first (of every landed row, a superset of the rows in force,
-- which is cheaper to read than restating), then the rows in force with them.
CREATE OR REPLACE TEMP TABLE fx_missing AS
SELECT r.currency, r.month
FROM (SELECT DISTINCT currency, CAST(date_trunc('month', booked_on) AS DATE) AS month
      FROM landed_revenue WHERE currency <> 'USD') r
WHERE NOT EXISTS (SELECT 1 FROM fx_rates f WHERE f.currency = r.currency AND f.month = r.month);

CREATE OR REPLACE TEMP TABLE compute_quarantine AS
SELECT 'revenue' AS feed, r.source_file AS file, r.source_line AS line, r.delivery_date,
       'currency' AS "column",
       format('{}:{}: currency: no usd_per_unit for {} in {}; the row is left out of revenue_12m',
              r.source_file, r.source_line, r.currency, strftime(r.booked_on, '%Y-%m')) AS reason
FROM revenue r
SEMI JOIN fx_missing m ON m.currency = r.currency AND m.month = CAST(date_trunc('month', r.booked_on) AS DATE);
