-- FX conversion (SPEC §4): revenue counts as amount × usd_per_unit at the rate of
-- its booked month; USD is 1. Each converted amount is rounded to 4 places and kept
-- as a DECIMAL, so sums are exact and do not depend on the order DuckDB adds them in.
-- A row with no rate for its month is left out and quarantined with a reason.

CREATE OR REPLACE TEMP MACRO usd_rate(currency, rate) AS CASE WHEN currency = 'USD' THEN 1.0 ELSE rate END;

CREATE OR REPLACE TEMP TABLE compute_quarantine AS
SELECT 'revenue' AS feed, r.source_file AS file, r.source_line AS line, r.delivery_date,
       'currency' AS "column",
       format('{}:{}: currency: no usd_per_unit for {} in {}; the row is left out of revenue_12m',
              r.source_file, r.source_line, r.currency, strftime(r.booked_on, '%Y-%m')) AS reason
FROM revenue r
LEFT JOIN fx_rates f ON f.currency = r.currency AND f.month = CAST(date_trunc('month', r.booked_on) AS DATE)
WHERE usd_rate(r.currency, f.usd_per_unit) IS NULL;

CREATE OR REPLACE TEMP TABLE revenue_usd AS
SELECT r.transaction_id, r.org_id, r.product, r.attribution, r.booked_on,
       CAST(round(CAST(r.amount AS DOUBLE) * usd_rate(r.currency, f.usd_per_unit), 4) AS DECIMAL(18, 4)) AS amount_usd
FROM revenue r
JOIN fx_rates f ON f.currency = r.currency AND f.month = CAST(date_trunc('month', r.booked_on) AS DATE)
WHERE r.currency <> 'USD'
UNION ALL
SELECT transaction_id, org_id, product, attribution, booked_on, amount FROM revenue WHERE currency = 'USD';
