-- Metric timelines (SPEC §4, §5.4): for each (version, measure, organization) the
-- value of the metric as a step function of the date, in segments [t_from, t_until)
-- of constant value, from the first change to forever(). Before its first segment a
-- metric is 0. A measure is a metric with its filters (products, via, any_of).
-- Revenue and new-customer rows enter the window on their date and leave it on
-- leaves_window(date); people count while they qualify (people.sql). active_users and
-- deployed_seats stay at their value at D in the projection and have no timeline
-- (frozen.sql).

-- Whether a row of a product and attribution counts for a measure with these filters
-- (SPEC §4): any product when the measure lists none, else a listed one; any
-- attribution when it lists none, else a listed one (a row without one never does).
CREATE OR REPLACE TEMP MACRO measure_counts(products, via, product, attribution) AS
    (products IS NULL OR list_contains(products, product))
    AND (via IS NULL OR coalesce(list_contains(via, attribution), false));

-- Money is exact and in integers (SPEC §4): an amount, a DECIMAL(18, 4), is a
-- whole number of 10⁻⁴ USD-or-currency units; a rate, landed as the DOUBLE of a
-- decimal of at most 12 places (SPEC §3.1, ingest), is that decimal again through
-- its shortest text, a whole number of 10⁻¹² USD; their product is a HUGEINT of
-- 10⁻¹⁶ USD, and sums of them are exact and do not depend on the order DuckDB adds
-- them in. Integer products and sums cost a few nanoseconds a row, where the
-- DECIMAL(38, 16) arithmetic of earlier builds cost most of this file's time.
CREATE OR REPLACE TEMP MACRO e16() AS CAST(10000000000000000 AS HUGEINT);

-- Each rate once a rate (not once a revenue row), in 10⁻¹² USD a unit; USD is 1.
CREATE OR REPLACE TEMP TABLE fx_exact AS
SELECT currency, month, CAST(CAST(CAST(usd_per_unit AS VARCHAR) AS DECIMAL(38, 12)) * 1000000000000 AS HUGEINT) AS rate_e12
FROM fx_rates;

-- An amount, a DECIMAL(18, 4), as its whole number of 10⁻⁴ (a BIGINT): amount ×
-- 10000 would overflow the DECIMAL(18, 4) from 10¹⁰ on, and a wider DECIMAL costs
-- 20 times as much, so its whole part and its fraction are taken apart.
CREATE OR REPLACE TEMP MACRO amount_e4(a) AS CAST(trunc(a) AS BIGINT) * 10000 + CAST((a - trunc(a)) * 10000 AS BIGINT);

-- An amount at a rate (NULL for USD), in 10⁻¹⁶ USD.
CREATE OR REPLACE TEMP MACRO usd_e16(amount, currency, rate_e12) AS
    amount_e4(amount) * CASE WHEN currency = 'USD' THEN CAST(1000000000000 AS HUGEINT) ELSE rate_e12 END;

-- A sum in 10⁻¹⁶ USD as the exact DECIMAL(38, 16) it is (printed by causes.sql).
CREATE OR REPLACE TEMP MACRO usd_decimal(x) AS CAST(x AS DECIMAL(38, 0)) * 0.0000000000000001;

-- Whether the DOUBLE d is at most x 10⁻¹⁶ (x a HUGEINT), exactly. Below 2⁵³, d is
-- m 2⁻ᵏ for a whole m of at most 55 bits when k = 53 − ⌊log₂|d|⌋ (an error of log2
-- by one either way keeps m whole and within 55 bits), so d <= x 10⁻¹⁶ is
-- m 10¹⁶ <= x 2ᵏ, both within a HUGEINT (~2¹⁰⁸) for the d near x 10⁻¹⁶ that
-- double_down asks about. From 2⁵³ on d is whole: at most x 10⁻¹⁶ when at most its
-- floor. A d below 10⁻¹⁶ but not 0 is compared by signs alone.
CREATE OR REPLACE TEMP MACRO at_most_e16(d, x) AS CASE
    WHEN abs(d) < 5e-17 THEN (CASE WHEN d > 0 THEN x > 0 ELSE x >= 0 END)
    WHEN abs(d) < 9007199254740992 THEN
        CAST(CAST(d * pow(2, 53 - floor(log2(abs(d)))) AS BIGINT) AS HUGEINT) * e16()
        <= x * CAST(pow(2, 53 - floor(log2(abs(d)))) AS HUGEINT)
    ELSE CAST(d AS HUGEINT) <= CASE WHEN x >= 0 THEN x // e16() ELSE -((-x + e16() - 1) // e16()) END END;

-- The DOUBLE a rule compares with a minimum, of an exact sum x in 10⁻¹⁶ USD: the
-- largest DOUBLE <= x 10⁻¹⁶, so that value >= min holds exactly when the sum is at
-- least min for any minimum a DOUBLE holds (15000, 10000.5): a sum a hair below a
-- minimum never rounds up to it. x's DOUBLE divided by 10¹⁶ is within two steps of
-- DOUBLEs of it (two roundings); the largest of those five at most x is the one.
CREATE OR REPLACE TEMP MACRO down_from(d0, x) AS CASE
    WHEN at_most_e16(d0, x) THEN (CASE
        WHEN NOT at_most_e16(nextafter(d0, 1e308), x) THEN d0
        WHEN NOT at_most_e16(nextafter(nextafter(d0, 1e308), 1e308), x) THEN nextafter(d0, 1e308)
        ELSE nextafter(nextafter(d0, 1e308), 1e308) END)
    WHEN at_most_e16(nextafter(d0, -1e308), x) THEN nextafter(d0, -1e308)
    ELSE nextafter(nextafter(d0, -1e308), -1e308) END;
CREATE OR REPLACE TEMP MACRO double_down(x) AS down_from(CAST(x AS DOUBLE) / 1e16, x);

-- A value as the requirements table shows it (SPEC §6.2): DECIMAL(38, 4), which a
-- sum of amounts or seats that ingest accepts never overflows, through its decimal
-- text, since DuckDB's cast of a large DOUBLE scales it in binary (199999999999998
-- would become ….0032).
CREATE OR REPLACE TEMP MACRO value_text(v) AS CAST(printf('%.4f', v) AS DECIMAL(38, 4));

-- Items: what each measure sums or counts, with the interval it counts in.
CREATE OR REPLACE TEMP TABLE revenue_items AS
SELECT m.version, m.measure, o.org_no, r.transaction_id,
       usd_e16(r.amount, r.currency, f.rate_e12) AS usd,
       r.booked_on AS t_from, leaves_window(r.booked_on) AS t_until
FROM revenue r
JOIN cat_measures m ON m.metric = 'revenue_12m'
     AND measure_counts(m.products, m.via, r.product, r.attribution)
JOIN org_versions o ON o.org_id = r.org_id AND o.version = m.version
LEFT JOIN fx_exact f ON f.currency = r.currency AND f.month = CAST(date_trunc('month', r.booked_on) AS DATE)
WHERE r.booked_on > getvariable('window_start') AND leaves_window(r.booked_on) > o.first_d
  AND (r.currency = 'USD' OR f.rate_e12 IS NOT NULL);

-- A customer counts while any of its matching rows is in the window.
CREATE OR REPLACE TEMP TABLE customer_keyed AS
SELECT {version: m.version, measure: m.measure, org_no: o.org_no, customer_id: c.customer_id} AS k,
       c.added_on AS t_from, leaves_window(c.added_on) AS t_until
FROM customers c
JOIN cat_measures m ON m.metric = 'new_customers_12m'
     AND measure_counts(m.products, m.via, c.product, c.attribution)
JOIN org_versions o ON o.org_id = c.org_id AND o.version = m.version
WHERE c.added_on > getvariable('window_start') AND leaves_window(c.added_on) > o.first_d;
CREATE OR REPLACE TEMP TABLE customer_segments AS
SELECT unnest(k), t_from, t_until FROM interval_union('customer_keyed');

-- Value changes, then the step function. A timeline starts at its organization's
-- first_d (points.sql): what entered before is a change on first_d, so the first
-- segment holds the value on first_d and comes from 0. Its exact total is a HUGEINT:
-- of 10⁻¹⁶ USD for money, of 10⁻⁴ for counts (and scores, scores.sql).
CREATE OR REPLACE TEMP TABLE timelines AS
WITH changes AS (
    SELECT c.version, c.measure, c.org_no, c.money, greatest(c.t, o.first_d) AS t, sum(c.delta) AS delta FROM (
        SELECT version, measure, org_no, true AS money, t_from AS t, usd AS delta FROM revenue_items
        UNION ALL SELECT version, measure, org_no, true, t_until, -usd FROM revenue_items
        UNION ALL SELECT version, measure, org_no, false, t_from, CAST(10000 AS HUGEINT) FROM customer_segments
        UNION ALL SELECT version, measure, org_no, false, t_until, -10000 FROM customer_segments
        UNION ALL SELECT version, measure, org_no, false, t_from, 10000 FROM people_segments
        UNION ALL SELECT version, measure, org_no, false, t_until, -10000 FROM people_segments
    ) c JOIN org_versions o USING (org_no, version)
    GROUP BY ALL
), steps AS (
    -- the window's sum once: each use below reads it
    SELECT version, measure, org_no, money, t, lead(t, 1, forever()) OVER w AS t_until, sum(delta) OVER w AS total
    FROM changes
    WINDOW w AS (PARTITION BY version, measure, org_no ORDER BY t)
), valued AS (
    SELECT version, measure, org_no, t AS t_from, t_until,
           -- counts are whole numbers, which a DOUBLE holds exactly
           CASE WHEN money THEN double_down(total) ELSE CAST(total AS DOUBLE) / 10000 END AS value,
           money, total
    FROM steps
)
-- the value of the segment before (0 before the first): where a minimum is
-- crossed is then a filter, not another pass in order (ok_intervals). The sums
-- are exact, so the segment before's total is this one's less its change, and
-- its value is the one made for it: one exact conversion a segment, not two
-- (the conversions of DECIMAL(38, 16) were most of this file's time). The value
-- as shown (shown_value) is made only where a requirement is evaluated
-- (requirements.sql), from the exact total.
SELECT version, measure, org_no, t_from, t_until, value,
       lag(value, 1, 0) OVER (PARTITION BY version, measure, org_no ORDER BY t_from) AS prev_value, money, total
FROM valued;

-- A timeline's value as shown, to 4 places (SPEC §6.2), of its exact total:
-- rounded down for money, so that a shown value reaches a minimum of 4 places
-- exactly when the requirement is met (999.99995 shows 999.9999, not met); whole
-- counts and scores as they are.
CREATE OR REPLACE TEMP MACRO shown_value(money, total) AS CAST(
    CASE WHEN NOT money THEN total
         WHEN total >= 0 THEN total // 1000000000000
         ELSE -((-total + 999999999999) // 1000000000000) END AS DECIMAL(38, 0)) * 0.0001;

