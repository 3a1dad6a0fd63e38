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

-- FX conversion (SPEC §4): amount × usd_per_unit at the rate of the booked month,
-- exactly: the amount is a DECIMAL(18,4) and the rate, landed as a DOUBLE of a
-- decimal of at most 12 places (ingest), is that decimal again through its
-- shortest text; their product is a DECIMAL(38,16), summed without rounding
-- (fx.sql says why). USD is 1.
CREATE OR REPLACE TEMP MACRO usd_amount(amount, currency, rate) AS
    CASE WHEN currency = 'USD' THEN CAST(amount AS DECIMAL(38, 16))
         ELSE CAST(amount * rate AS DECIMAL(38, 16)) END;

-- Each rate as its decimal, once a rate (not once a revenue row).
CREATE OR REPLACE TEMP TABLE fx_exact AS
SELECT currency, month, CAST(CAST(usd_per_unit AS VARCHAR) AS DECIMAL(38, 12)) AS rate FROM fx_rates;

-- The DOUBLE a rule compares with a minimum, of an exact DECIMAL sum x: the
-- largest DOUBLE <= x, so that value >= min holds exactly when x >= min for any
-- minimum a DOUBLE holds (15000, 10000.5): a sum a hair below a minimum never
-- rounds up to it.
CREATE OR REPLACE TEMP MACRO double_down(x) AS
    CASE WHEN CAST(CAST(x AS DOUBLE) AS DECIMAL(38, 16)) > x THEN nextafter(CAST(x AS DOUBLE), -1e308)
         ELSE CAST(x AS DOUBLE) END;

-- A value as the requirements table shows it (SPEC §6.2): DECIMAL(38, 4), which a
-- sum of amounts or seats that ingest accepts never overflows, through its decimal
-- text, since DuckDB's cast of a large DOUBLE scales it in binary (199999999999998
-- would become ….0032). Made once a segment here, not once a requirement a date.
CREATE OR REPLACE TEMP MACRO value_text(v) AS CAST(printf('%.4f', v) AS DECIMAL(38, 4));
-- A timeline's value as shown: its exact DECIMAL sum d to 4 places, the one place a
-- value is rounded (SPEC §4), down, so that a shown value reaches a minimum of 4
-- places exactly when the requirement is met (999.99995 shows 999.9999, not met).
CREATE OR REPLACE TEMP MACRO value_shown(d) AS
    CASE WHEN CAST(d AS DECIMAL(38, 4)) > d THEN CAST(d - 0.00005 AS DECIMAL(38, 4)) ELSE CAST(d AS DECIMAL(38, 4)) END;

-- Items: what each measure sums or counts, with the interval it counts in.
CREATE OR REPLACE TEMP TABLE revenue_items AS
SELECT m.version, m.measure, o.org_no, r.transaction_id,
       usd_amount(r.amount, r.currency, f.rate) AS amount_usd,
       r.booked_on AS t_from, leaves_window(r.booked_on) AS t_until
FROM revenue r
JOIN cat_measures m ON m.metric = 'revenue_12m'
     AND measure_counts(m.products, m.via, r.product, r.attribution)
JOIN org_versions o ON o.org_id = r.org_id AND o.version = m.version
LEFT JOIN fx_exact f ON f.currency = r.currency AND f.month = CAST(date_trunc('month', r.booked_on) AS DATE)
WHERE r.booked_on > getvariable('window_start') AND leaves_window(r.booked_on) > o.first_d
  AND (r.currency = 'USD' OR f.rate IS NOT NULL);

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
-- segment holds the value on first_d and comes from 0.
CREATE OR REPLACE TEMP TABLE timelines AS
WITH changes AS (
    SELECT c.version, c.measure, c.org_no, c.money, greatest(c.t, o.first_d) AS t, sum(c.delta) AS delta FROM (
        SELECT version, measure, org_no, true AS money, t_from AS t, CAST(amount_usd AS DECIMAL(38, 16)) AS delta FROM revenue_items
        UNION ALL SELECT version, measure, org_no, true, t_until, -amount_usd FROM revenue_items
        UNION ALL SELECT version, measure, org_no, false, t_from, 1 FROM customer_segments
        UNION ALL SELECT version, measure, org_no, false, t_until, -1 FROM customer_segments
        UNION ALL SELECT version, measure, org_no, false, t_from, 1 FROM people_segments
        UNION ALL SELECT version, measure, org_no, false, t_until, -1 FROM people_segments
    ) c JOIN org_versions o USING (org_no, version)
    GROUP BY ALL
), steps AS (
    -- the window's sum once: each use below reads it
    SELECT version, measure, org_no, money, t, lead(t, 1, forever()) OVER w AS t_until, sum(delta) OVER w AS total
    FROM changes
    WINDOW w AS (PARTITION BY version, measure, org_no ORDER BY t)
), valued AS (
    SELECT version, measure, org_no, t AS t_from, t_until,
           -- counts are whole numbers, which a DOUBLE and a DECIMAL(38, 4) hold exactly
           CASE WHEN money THEN double_down(total) ELSE CAST(total AS DOUBLE) END AS value,
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
-- rounded down for money (value_shown), whole counts and scores as they are.
CREATE OR REPLACE TEMP MACRO shown_value(money, total) AS
    CASE WHEN money THEN value_shown(total) ELSE CAST(total AS DECIMAL(38, 4)) END;

