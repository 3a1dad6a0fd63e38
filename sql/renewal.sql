-- Memberships and renewal risk (SPEC §5.5) at each evaluated point of an as-of date.

-- Members: supporting competencies attain the member's level L or higher at D; the
-- member's lapses_on is the latest of theirs at level L (empty when one does not lapse
-- within the horizon); target = max(anniversary, D).
CREATE OR REPLACE TEMP TABLE renewal AS
WITH m AS (
    SELECT a.*, e.version, CASE a.level WHEN 'gold' THEN 2 ELSE 1 END AS rank
    FROM member_at a JOIN eval_dates e USING (d)
), sup AS (
    SELECT m.d, m.org_no, l.competency_id, l.lapses_on, l.basis, l.basis_level
    FROM m JOIN level_eval l ON l.org_no = m.org_no AND l.d = m.d AND l.version = m.version AND l.rank = m.rank
), agg AS (
    SELECT d, org_no, string_agg(competency_id, ';' ORDER BY competency_id) AS supporting,
           bool_or(lapses_on IS NULL) AS open_ended, max(lapses_on) AS latest
    FROM sup GROUP BY ALL
), gold AS (
    SELECT DISTINCT org_no, d FROM level_eval l SEMI JOIN eval_dates e ON e.d = l.d AND e.version = l.version
    WHERE l.rank = 2
)
SELECT m.d, m.org_no, m.level AS membership_level, m.rank, m.version, m.purchased_on, m.anniversary_on,
       m.anniversary_on - m.d AS days_to_anniversary,
       m.anniversary_on <= m.d AS in_grace,
       greatest(m.anniversary_on, m.d) AS target,
       CASE WHEN agg.org_no IS NULL THEN 'lapsed'
            WHEN agg.open_ended OR agg.latest > greatest(m.anniversary_on, m.d) THEN 'ok'
            ELSE 'at_risk' END AS status,
       agg.supporting,
       CASE WHEN NOT agg.open_ended THEN agg.latest END AS lapses_on,
       m.level = 'silver' AND g.org_no IS NOT NULL AS upgrade_eligible,
       NULL::VARCHAR AS eligible_level
FROM m
LEFT JOIN agg USING (d, org_no)
LEFT JOIN gold g USING (org_no, d)
UNION ALL
-- Organizations without a membership that attain Silver or Gold (SPEC §5.5).
SELECT c.d, c.org_no, NULL, NULL, c.version, NULL, NULL, NULL, NULL, NULL, 'not_member', NULL, NULL, false,
       arg_max(c.level, c.rank)
FROM competency_level c SEMI JOIN eval_dates e ON e.d = c.d AND e.version = c.version
SEMI JOIN eval_points p ON p.org_no = c.org_no AND p.d = c.d
ANTI JOIN member_at a ON a.org_no = c.org_no AND a.d = c.d
GROUP BY c.d, c.org_no, c.version;
