-- Restatement by key (SPEC §3.2): when a key arrives again in a later delivery, the
-- later row replaces the earlier one. Later delivery date wins; within one date the
-- later part wins (no part first, then numeric parts by value, then other parts as
-- text); within one file the key is unique (ingest quarantines repeats).
-- Reads landed_<feed> (every landed row), writes <feed> (the rows in force).
--
-- Most keys arrive once. Ranking every row by key would sort the whole feed, so the
-- keys seen more than once are found first by a hash of the key (cheap to group),
-- and only rows with such a hash are ranked, by the key itself (so a hash collision
-- only costs a little ranking, never a wrong row). The rows that lose are kept by
-- their place (source_file and source_line name one landed row: a file lands once),
-- and the rows in force are the landed rows but those.

-- The order of parts within one delivery date is part_rank (calendar.sql).

-- A feed of too many rows to group in one hash table has its repeated keys found
-- before this file runs, in passes (restate.go, repeatedKeys).
--
-- One block a feed, in pipeline.Feeds order, its key from the feed's definition
-- (this file is a Go text/template). Revenue is by far the largest feed: its rows
-- in force are a view, not a copy; the three statements that read it (fx.sql,
-- timelines.sql, the data-quality count below) each scan the landed files, which
-- costs less than copying them. The other feeds leave out where each row came
-- from, which only fx.sql's quarantine (of revenue) reads. The split into shards
-- (shards.go) restates only FX rates here; it finds what every other feed's
-- deliveries supersede unit by unit.
{{range .}}
{{if not .Found}}CREATE OR REPLACE TEMP TABLE repeated_{{.Name}} AS
SELECT hash({{.Key}}) AS h FROM landed_{{.Name}} GROUP BY ALL HAVING count(*) > 1;{{end}}
CREATE OR REPLACE TEMP TABLE superseded_{{.Name}} AS
SELECT source_file, source_line FROM landed_{{.Name}} WHERE hash({{.Key}}) IN (SELECT h FROM repeated_{{.Name}})
QUALIFY row_number() OVER (PARTITION BY {{.Key}}
    ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) > 1;
CREATE OR REPLACE TEMP {{if .View}}VIEW{{else}}TABLE{{end}} {{.Name}} AS
SELECT *{{if not .Placed}} EXCLUDE (source_file, source_line, source_part, delivery_date){{end}}
FROM landed_{{.Name}} ANTI JOIN superseded_{{.Name}} USING (source_file, source_line);
{{end}}
-- The months that have usage of any organization (SPEC §4: active_users reads the
-- latest month that ends on or before D and has a usage row for any organization):
-- a shard keeps this of all organizations (shards.go).
CREATE OR REPLACE TEMP TABLE usage_months AS SELECT DISTINCT month FROM usage;
