package sql

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/template"

	"attain/duck"
	"attain/pipeline"
)

// restated is a feed as restate.sql restates it.
type restated struct {
	Name string
	Key  string // the feed's key columns (SPEC §3.2), as SQL
	View bool   // rows in force as a view, not a copy (revenue: too big to copy)
	// Placed: the rows in force keep where they came from (source_file,
	// source_line, …): revenue, for fx.sql's quarantine.
	Placed bool
	// Found: its repeated keys are already found (repeatedKeys), in bounded
	// memory: too many to group in one hash table.
	Found bool
}

// restatedHere says whether restate.sql restates a feed: every feed, but in
// the session that makes the split only those not split in units (inUnits),
// whose rows in force the units give.
func restatedHere(f *pipeline.Feed, split bool) bool { return !split || !inUnits(f) }

// restateTemplate renders restate.sql: one block a feed, its key from
// pipeline.Feeds, so the two cannot disagree.
var restateTemplate = template.Must(template.New("restate.sql").ParseFS(files, "restate.sql"))

func restateFeeds(found map[string]bool, split bool) []restated {
	var out []restated
	for _, f := range pipeline.Feeds {
		if !restatedHere(f, split) {
			continue
		}
		out = append(out, restated{Name: f.Name, Key: strings.Join(f.Key, ", "), View: f.Name == "revenue",
			Placed: f.Name == "revenue", Found: found[f.Name]})
	}
	return out
}

// keysPerPass is how many landed rows of a feed one hash table of repeated
// keys takes: 10 million 64-bit hashes group within a 1 GiB limit, 40 million
// do not (DuckDB runs out of memory rather than spill this aggregate).
const keysPerPass = 10_000_000

// repeatedKeys finds, for each feed of more than keysPerPass landed rows, the
// hashes of its keys that come more than once, into repeated_<feed>, in
// bounded memory: the hashes are written once to Parquet files partitioned by
// hash mod K (K passes' worth), and each partition is grouped on its own. It
// returns the feeds it did, which restate.sql then takes as found.
func (e *Engine) repeatedKeys(ctx context.Context) (map[string]bool, error) {
	found := map[string]bool{}
	for _, f := range pipeline.Feeds {
		if !restatedHere(f, e.split) {
			continue
		}
		rows, err := e.Query(ctx, "SELECT count(*) FROM landed_"+f.Name)
		if err != nil {
			return nil, err
		}
		n := rows[0][0].(int64)
		if n <= keysPerPass {
			continue
		}
		k := int((n + keysPerPass - 1) / keysPerPass)
		dir, err := os.MkdirTemp(e.SpillDir(), "keys-"+f.Name+"-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(dir)
		q := fmt.Sprintf(`COPY (SELECT h, h %% %d AS kp FROM (SELECT hash(%s) AS h FROM landed_%s)) TO %s (FORMAT parquet, PARTITION_BY (kp))`,
			k, strings.Join(f.Key, ", "), f.Name, duck.Quote(filepath.Join(dir, "h")))
		if err := e.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("repeated keys of %s: %w", f.Name, err)
		}
		if err := e.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE repeated_%s (h UBIGINT)", f.Name)); err != nil {
			return nil, err
		}
		parts, err := os.ReadDir(filepath.Join(dir, "h"))
		if err != nil {
			return nil, err
		}
		for _, p := range parts {
			files, err := duck.ParquetFiles(filepath.Join(dir, "h", p.Name()))
			if err != nil {
				return nil, err
			}
			if len(files) == 0 {
				continue
			}
			if err := e.Exec(ctx, fmt.Sprintf("INSERT INTO repeated_%s SELECT h FROM %s GROUP BY ALL HAVING count(*) > 1",
				f.Name, duck.ReadFiles(files))); err != nil {
				return nil, fmt.Errorf("repeated keys of %s: %w", f.Name, err)
			}
		}
		found[f.Name] = true
	}
	return found, nil
}

// source is an embedded .sql file as it runs: restate.sql rendered for the
// feeds (found: those whose repeated keys repeatedKeys found; split: the
// session makes the split, whose units give most feeds' rows in force).
func source(file string, found map[string]bool, split bool) (string, error) {
	if file == "restate.sql" {
		var b strings.Builder
		if err := restateTemplate.Execute(&b, restateFeeds(found, split)); err != nil {
			return "", err
		}
		return b.String(), nil
	}
	b, err := files.ReadFile(file)
	return string(b), err
}
