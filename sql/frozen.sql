-- The two frozen metrics at each point's date (SPEC §4): they keep their value at D in
-- the projection, so they are read at each point, not kept as timelines.

-- active_users: the latest month that ends on or before D and has a usage row for any
-- organization; 0 when the organization has no row for it.
CREATE OR REPLACE TEMP TABLE usage_month AS
SELECT d.d, max(u.month) AS month
FROM (SELECT DISTINCT d FROM points) d
JOIN usage_months u ON last_day(u.month) <= d.d
GROUP BY d.d;

CREATE OR REPLACE TEMP TABLE frozen_values AS
SELECT p.org_no, p.d, m.version, m.measure, CAST(sum(u.active_users) AS DOUBLE) AS value, value_text(CAST(sum(u.active_users) AS DOUBLE)) AS value_dec
FROM points p
JOIN usage_month um ON um.d = p.d
JOIN usage u ON u.org_id = p.org_id AND u.month = um.month
JOIN cat_measures m ON m.version = p.version AND m.metric = 'active_users'
     AND measure_counts(m.products, m.via, u.product, u.attribution)
GROUP BY ALL
UNION ALL
-- deployed_seats: over each (customer, product) pair its own latest snapshot on or
-- before D, among the rows of the listed products and attribution (kept first, so
-- that each point meets only its organization's rows that count).
SELECT org_no, d, version, measure, CAST(sum(deployed_seats) AS DOUBLE), value_text(CAST(sum(deployed_seats) AS DOUBLE)) FROM (
    SELECT p.org_no, p.d, s.version, s.measure, s.customer_id, s.product,
           arg_max(s.deployed_seats, s.snapshot_on) AS deployed_seats
    FROM points p
    JOIN (SELECT m.version, m.measure, s.org_id, s.customer_id, s.product, s.snapshot_on, s.deployed_seats
          FROM seats s JOIN cat_measures m ON m.metric = 'deployed_seats'
               AND measure_counts(m.products, m.via, s.product, s.attribution)) s
         ON s.org_id = p.org_id AND s.version = p.version AND s.snapshot_on <= p.d
    GROUP BY ALL
) GROUP BY ALL;
