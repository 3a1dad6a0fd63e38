-- Restatement by key (SPEC §3.2): when a key arrives again in a later delivery, the
-- later row replaces the earlier one. Later delivery date wins; within one date the
-- later part wins (no part first, then numeric parts by value, then other parts as
-- text); within one file the key is unique (ingest quarantines repeats).
-- Reads landed_<feed> (every landed row), writes <feed> (the rows in force).
--
-- Most keys arrive once. Ranking every row by key would sort the whole feed, so the
-- keys seen more than once are found first by a hash of the key (cheap to group),
-- and only rows with such a hash are ranked, by the key itself (so a hash collision
-- only costs a little ranking, never a wrong row).

-- The order of parts within one delivery date, as text that sorts like them.
CREATE OR REPLACE TEMP MACRO part_rank(p) AS CASE
    WHEN p IS NULL THEN '0'
    WHEN try_cast(p AS UBIGINT) IS NOT NULL THEN '1' || lpad(CAST(try_cast(p AS UBIGINT) AS VARCHAR), 20, '0')
    ELSE '2' || p END;

CREATE OR REPLACE TEMP TABLE repeated_organizations AS
SELECT hash(org_id) AS h FROM landed_organizations GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE organizations AS
SELECT * FROM landed_organizations WHERE hash(org_id) NOT IN (SELECT h FROM repeated_organizations)
UNION ALL (
    SELECT * FROM landed_organizations WHERE hash(org_id) IN (SELECT h FROM repeated_organizations)
    QUALIFY row_number() OVER (PARTITION BY org_id
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

CREATE OR REPLACE TEMP TABLE repeated_memberships AS
SELECT hash(org_id, purchased_on) AS h FROM landed_memberships GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE memberships AS
SELECT * FROM landed_memberships WHERE hash(org_id, purchased_on) NOT IN (SELECT h FROM repeated_memberships)
UNION ALL (
    SELECT * FROM landed_memberships WHERE hash(org_id, purchased_on) IN (SELECT h FROM repeated_memberships)
    QUALIFY row_number() OVER (PARTITION BY org_id, purchased_on
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

CREATE OR REPLACE TEMP TABLE repeated_customers AS
SELECT hash(org_id, customer_id, product) AS h FROM landed_customers GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE customers AS
SELECT * FROM landed_customers WHERE hash(org_id, customer_id, product) NOT IN (SELECT h FROM repeated_customers)
UNION ALL (
    SELECT * FROM landed_customers WHERE hash(org_id, customer_id, product) IN (SELECT h FROM repeated_customers)
    QUALIFY row_number() OVER (PARTITION BY org_id, customer_id, product
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

-- Revenue is by far the largest feed: its rows in force are a view, not a copy; the
-- three statements that read it (fx.sql, timelines.sql, the data-quality count
-- below) each scan the landed files, which costs less than copying them.
CREATE OR REPLACE TEMP TABLE repeated_revenue AS
SELECT hash(transaction_id) AS h FROM landed_revenue GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP VIEW revenue AS
SELECT * FROM landed_revenue WHERE hash(transaction_id) NOT IN (SELECT h FROM repeated_revenue)
UNION ALL (
    SELECT * FROM landed_revenue WHERE hash(transaction_id) IN (SELECT h FROM repeated_revenue)
    QUALIFY row_number() OVER (PARTITION BY transaction_id
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

CREATE OR REPLACE TEMP TABLE repeated_fx_rates AS
SELECT hash(currency, month) AS h FROM landed_fx_rates GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE fx_rates AS
SELECT * FROM landed_fx_rates WHERE hash(currency, month) NOT IN (SELECT h FROM repeated_fx_rates)
UNION ALL (
    SELECT * FROM landed_fx_rates WHERE hash(currency, month) IN (SELECT h FROM repeated_fx_rates)
    QUALIFY row_number() OVER (PARTITION BY currency, month
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

CREATE OR REPLACE TEMP TABLE repeated_usage AS
SELECT hash(org_id, customer_id, product, month) AS h FROM landed_usage GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE usage AS
SELECT * FROM landed_usage WHERE hash(org_id, customer_id, product, month) NOT IN (SELECT h FROM repeated_usage)
UNION ALL (
    SELECT * FROM landed_usage WHERE hash(org_id, customer_id, product, month) IN (SELECT h FROM repeated_usage)
    QUALIFY row_number() OVER (PARTITION BY org_id, customer_id, product, month
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

CREATE OR REPLACE TEMP TABLE repeated_seats AS
SELECT hash(org_id, customer_id, product, snapshot_on) AS h FROM landed_seats GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE seats AS
SELECT * FROM landed_seats WHERE hash(org_id, customer_id, product, snapshot_on) NOT IN (SELECT h FROM repeated_seats)
UNION ALL (
    SELECT * FROM landed_seats WHERE hash(org_id, customer_id, product, snapshot_on) IN (SELECT h FROM repeated_seats)
    QUALIFY row_number() OVER (PARTITION BY org_id, customer_id, product, snapshot_on
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

CREATE OR REPLACE TEMP TABLE repeated_exams AS
SELECT hash(individual_id, code, passed_on) AS h FROM landed_exams GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE exams AS
SELECT * FROM landed_exams WHERE hash(individual_id, code, passed_on) NOT IN (SELECT h FROM repeated_exams)
UNION ALL (
    SELECT * FROM landed_exams WHERE hash(individual_id, code, passed_on) IN (SELECT h FROM repeated_exams)
    QUALIFY row_number() OVER (PARTITION BY individual_id, code, passed_on
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

CREATE OR REPLACE TEMP TABLE repeated_assessments AS
SELECT hash(individual_id, code, passed_on) AS h FROM landed_assessments GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE assessments AS
SELECT * FROM landed_assessments WHERE hash(individual_id, code, passed_on) NOT IN (SELECT h FROM repeated_assessments)
UNION ALL (
    SELECT * FROM landed_assessments WHERE hash(individual_id, code, passed_on) IN (SELECT h FROM repeated_assessments)
    QUALIFY row_number() OVER (PARTITION BY individual_id, code, passed_on
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

CREATE OR REPLACE TEMP TABLE repeated_associations AS
SELECT hash(individual_id, event_at) AS h FROM landed_associations GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE associations AS
SELECT * FROM landed_associations WHERE hash(individual_id, event_at) NOT IN (SELECT h FROM repeated_associations)
UNION ALL (
    SELECT * FROM landed_associations WHERE hash(individual_id, event_at) IN (SELECT h FROM repeated_associations)
    QUALIFY row_number() OVER (PARTITION BY individual_id, event_at
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

CREATE OR REPLACE TEMP TABLE repeated_overrides AS
SELECT hash(org_id, competency_id, granted_on) AS h FROM landed_overrides GROUP BY ALL HAVING count(*) > 1;
CREATE OR REPLACE TEMP TABLE overrides AS
SELECT * FROM landed_overrides WHERE hash(org_id, competency_id, granted_on) NOT IN (SELECT h FROM repeated_overrides)
UNION ALL (
    SELECT * FROM landed_overrides WHERE hash(org_id, competency_id, granted_on) IN (SELECT h FROM repeated_overrides)
    QUALIFY row_number() OVER (PARTITION BY org_id, competency_id, granted_on
        ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1);

-- Data quality (SPEC §3.3): rows naming an organization the organizations feed does
-- not hold are kept, and counted.
CREATE OR REPLACE TEMP TABLE dq_unknown_orgs AS
SELECT feed, count(*) AS rows FROM (
    SELECT 'memberships' AS feed, org_id FROM memberships
    UNION ALL SELECT 'customers', org_id FROM customers
    UNION ALL SELECT 'revenue', org_id FROM revenue
    UNION ALL SELECT 'usage', org_id FROM usage
    UNION ALL SELECT 'seats', org_id FROM seats
    UNION ALL SELECT 'associations', org_id FROM associations WHERE org_id IS NOT NULL
    UNION ALL SELECT 'overrides', org_id FROM overrides
) x ANTI JOIN organizations o USING (org_id)
GROUP BY feed;
