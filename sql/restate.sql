-- Restatement by key (SPEC §3.2): when a key arrives again in a later delivery, the
-- later row replaces the earlier one. Later delivery date wins; within one date the
-- later part wins (no part first, then numeric parts by value, then other parts as
-- text); within one file the key is unique (ingest quarantines repeats).
-- Reads landed_<feed> (every landed row), writes <feed> (the rows in force).

-- The order of parts within one delivery date, as text that sorts like them.
CREATE OR REPLACE TEMP MACRO part_rank(p) AS CASE
    WHEN p IS NULL THEN '0'
    WHEN try_cast(p AS UBIGINT) IS NOT NULL THEN '1' || lpad(CAST(try_cast(p AS UBIGINT) AS VARCHAR), 20, '0')
    ELSE '2' || p END;

CREATE OR REPLACE TEMP TABLE organizations AS
SELECT * FROM landed_organizations
QUALIFY row_number() OVER (PARTITION BY org_id ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

CREATE OR REPLACE TEMP TABLE memberships AS
SELECT * FROM landed_memberships
QUALIFY row_number() OVER (PARTITION BY org_id, purchased_on ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

CREATE OR REPLACE TEMP TABLE customers AS
SELECT * FROM landed_customers
QUALIFY row_number() OVER (PARTITION BY org_id, customer_id, product ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

CREATE OR REPLACE TEMP TABLE revenue AS
SELECT * FROM landed_revenue
QUALIFY row_number() OVER (PARTITION BY transaction_id ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

CREATE OR REPLACE TEMP TABLE fx_rates AS
SELECT * FROM landed_fx_rates
QUALIFY row_number() OVER (PARTITION BY currency, month ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

CREATE OR REPLACE TEMP TABLE usage AS
SELECT * FROM landed_usage
QUALIFY row_number() OVER (PARTITION BY org_id, customer_id, product, month ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

CREATE OR REPLACE TEMP TABLE seats AS
SELECT * FROM landed_seats
QUALIFY row_number() OVER (PARTITION BY org_id, customer_id, product, snapshot_on ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

CREATE OR REPLACE TEMP TABLE exams AS
SELECT * FROM landed_exams
QUALIFY row_number() OVER (PARTITION BY individual_id, code, passed_on ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

CREATE OR REPLACE TEMP TABLE assessments AS
SELECT * FROM landed_assessments
QUALIFY row_number() OVER (PARTITION BY individual_id, code, passed_on ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

CREATE OR REPLACE TEMP TABLE associations AS
SELECT * FROM landed_associations
QUALIFY row_number() OVER (PARTITION BY individual_id, event_at ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

CREATE OR REPLACE TEMP TABLE overrides AS
SELECT * FROM landed_overrides
QUALIFY row_number() OVER (PARTITION BY org_id, competency_id, granted_on ORDER BY 
    delivery_date DESC, part_rank(source_part) DESC, source_line DESC) = 1;

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
