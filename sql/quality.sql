-- Data quality (SPEC §3.3): rows naming an organization the organizations feed does
-- not hold are kept, and counted, with the revenue rows fx.sql leaves out for want of
-- a rate. In a shard (shards.go) the rows of an organization are counted by the shard
-- of that organization (counted_here; true in one shard): an individual's
-- associations are in every shard of their organizations, the rest in one. A
-- shard's counts are a part of the whole, which the process that completes the date
-- adds up (parts.go); one shard writes them itself (results.sql).
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
WHERE counted_here(org_id)
GROUP BY feed;

CREATE OR REPLACE TEMP TABLE dq_counts AS
SELECT 'unknown_org' AS check_name, feed, rows FROM dq_unknown_orgs
UNION ALL SELECT 'fx_rate_missing', 'revenue', count(*) FROM compute_quarantine;
