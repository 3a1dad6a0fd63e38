-- Calendar helpers (SPEC §1). An interval of dates is [t_from, t_until): t_until is
-- the first date it no longer holds; forever() stands for "not within any horizon".

CREATE OR REPLACE TEMP MACRO forever() AS DATE '9999-12-31';
CREATE OR REPLACE TEMP MACRO since_always() AS DATE '1900-01-01';

-- The first date whose trailing window (t − 12 months, t] no longer holds a row dated
-- d: the least t with t − 12 months >= d. Usually d + 12 months; one day later when
-- d + 12 months is clamped to a month's end (2024-02-29 leaves on 2025-03-01).
CREATE OR REPLACE TEMP MACRO leaves_window(d) AS CASE
    WHEN CAST(CAST(d + INTERVAL 12 MONTH AS DATE) - INTERVAL 12 MONTH AS DATE) >= d
        THEN CAST(d + INTERVAL 12 MONTH AS DATE)
    ELSE CAST(d + INTERVAL 12 MONTH AS DATE) + 1 END;

-- The first date D whose end, D+1 00:00, is at or after instant ts: an association
-- counts from day_of(start + 24h) and stops counting on day_of(end) (SPEC §5.1).
CREATE OR REPLACE TEMP MACRO day_of(ts) AS CAST(ts - INTERVAL 1 MICROSECOND AS DATE);
