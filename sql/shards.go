package sql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"attain/pipeline"
)

// Shards of organizations (SPEC §7.1). A compute of N > 1 shards first splits
// the data in force: the feeds are restated by key from all landed data once
// (restate.sql, fx.sql: what crosses organizations, a transaction restated to
// another organization, is resolved there), and each feed's rows in force are
// written to shards/<N>/<feed>/shard=<i>/ by the shard of their organization,
// hash(org_id) mod N. An individual's rows (associations, exams, assessments)
// go to every shard of an organization they ever associate with, whole, so that
// severing and moves between organizations are computed from all their events
// in each. What is not per organization (FX rates, the months that have usage,
// the data-quality counts and the revenue rows without a rate) is in _global/.
// Revenue, most of the data, is split month by month instead, every landed row
// with its place, under shards/revenue-months-<N>/ (splitMonths): a month's
// split is kept while its landed files are unchanged, and the rows a later
// delivery superseded are a global table each shard anti-joins.
// Each shard is then evaluated by the same rules from its files alone, so its
// time and memory are those of its share of the organizations.
//
// The split is derived data, like the compacted months: its manifest names the
// landed files it was made from, and a split whose manifest differs is made
// again before it is read. It is written to a temporary directory and renamed
// into place.

// splitFormat changes when the split's layout or contents change, so that a
// split written by an older build is made again.
const splitFormat = 2

// globalTables are the split's tables that are not per organization.
var globalTables = []string{"fx_rates", "usage_months", "dq_unknown_orgs", "compute_quarantine"}

// individualFeeds are keyed by individual: their rows go to the shards of the
// organizations the individual associates with.
var individualFeeds = []string{"associations", "exams", "assessments"}

// splitManifest says what a split was made from.
type splitManifest struct {
	Format  int          `json:"format"`
	Shards  int          `json:"shards"`
	KnownBy string       `json:"known_by,omitempty"`
	Files   []sourceFile `json:"files"`
}

// shardOf is the SQL of an organization's shard of n. DuckDB's hash of a string
// is the same in every process of one build; a DuckDB upgrade may move
// organizations between shards, which changes no result (SPEC §7.1) and only
// makes the split again (splitFormat names the build's hash).
func shardOf(col string, n int) string { return fmt.Sprintf("hash(%s) %% %d", col, n) }

// Split makes (or finds up to date) the split of the landed data into n shards
// and returns its directory. It restates every feed from all landed data in
// one DuckDB session and writes each shard's rows in force.
func (e *Engine) Split(ctx context.Context, warehouse string, n int, knownBy *pipeline.Date) (string, error) {
	dir := pipeline.SplitDir(warehouse, n)
	if err := e.Run(ctx, "calendar.sql"); err != nil {
		return "", err
	}
	var sources []sourceFile
	if err := e.timed("load", func() (err error) {
		sources, err = e.LoadLanded(ctx, warehouse, knownBy)
		return err
	}); err != nil {
		return "", err
	}
	m := splitManifest{Format: splitFormat, Shards: n, Files: sources}
	if knownBy != nil {
		m.KnownBy = knownBy.String()
	}
	want, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	want = append(want, '\n')
	manifest := filepath.Join(dir, "manifest.json")
	if have, err := os.ReadFile(manifest); err == nil && string(have) == string(want) {
		return dir, nil
	}
	start := time.Now()
	// Each feed's rows in force are read once, by its COPY: views, not copies
	// held in memory (at 400,000 organizations some feeds have tens of millions).
	e.views = true
	if err := e.restate(ctx); err != nil {
		return "", err
	}
	tmp := dir + pipeline.TempSuffix
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := e.timed("split", func() error { return e.writeSplit(ctx, warehouse, tmp, n) }); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	if err := pipeline.WriteFileAtomic(filepath.Join(tmp, "manifest.json"), want); err != nil {
		os.RemoveAll(tmp)
		return "", err
	}
	// The old split goes first; a crash in between leaves no split, which the
	// next compute makes again.
	if err := os.RemoveAll(dir); err != nil {
		return "", err
	}
	if err := os.Rename(tmp, dir); err != nil {
		return "", err
	}
	if err := pipeline.SyncDir(filepath.Dir(dir)); err != nil {
		return "", err
	}
	if e.Log != nil {
		e.Log.Info("landed data split into shards", "shards", n, "duration", time.Since(start).Round(time.Millisecond).String())
	}
	return dir, nil
}

// writeSplit writes each feed's rows in force by shard, and the global tables.
// Revenue, by far the largest feed, is split month by month (splitMonths) and
// restated when a shard reads it: its rows that a later delivery superseded
// are a global table.
func (e *Engine) writeSplit(ctx context.Context, warehouse, dir string, n int) error {
	if err := e.Exec(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE individual_shards AS
		SELECT DISTINCT individual_id, %s AS shard FROM associations WHERE org_id IS NOT NULL`, shardOf("org_id", n))); err != nil {
		return err
	}
	for _, f := range pipeline.Feeds {
		if err := ctx.Err(); err != nil {
			return err
		}
		if slices.Contains(globalTables, f.Name) {
			continue
		}
		q := fmt.Sprintf("SELECT *, %s AS shard FROM %s", shardOf("org_id", n), f.Name)
		switch {
		case f.Name == "revenue":
			months, err := e.splitMonths(ctx, pipeline.RevenueMonthsDir(warehouse, n), n)
			if err != nil {
				return fmt.Errorf("split revenue: %w", err)
			}
			b, _ := json.MarshalIndent(months, "", "  ")
			if err := pipeline.WriteFileAtomic(filepath.Join(dir, "revenue-months.json"), append(b, '\n')); err != nil {
				return err
			}
			if _, err := e.CopyTo(ctx, "SELECT * FROM superseded_revenue", filepath.Join(dir, "_global", "superseded_revenue.parquet")); err != nil {
				return fmt.Errorf("split revenue: %w", err)
			}
			continue
		case slices.Contains(individualFeeds, f.Name):
			q = fmt.Sprintf("SELECT x.*, s.shard FROM %s x JOIN individual_shards s USING (individual_id)", f.Name)
		}
		if err := e.copyPartitioned(ctx, q, filepath.Join(dir, f.Name)); err != nil {
			return fmt.Errorf("split %s: %w", f.Name, err)
		}
	}
	for _, t := range globalTables {
		if _, err := e.CopyTo(ctx, "SELECT * FROM "+t, filepath.Join(dir, "_global", t+".parquet")); err != nil {
			return fmt.Errorf("split %s: %w", t, err)
		}
	}
	return nil
}

// monthSplit says what one month of revenue's split was made from.
type monthSplit struct {
	Format  int          `json:"format"`
	Shards  int          `json:"shards"`
	Until   string       `json:"until,omitempty"` // when it leaves out the month's later deliveries
	Sources []sourceFile `json:"sources"`
}

// splitMonths splits each month of landed revenue by shard into
// dir/<YYYY-MM>/shard=<i>/, every landed row with where it came from
// (source_file, source_line), and returns the month directories. A month whose
// manifest (dir/<YYYY-MM>.json) names its landed files as they are is kept from
// an earlier split: a night's delivery splits its own month again, not two
// years. Months no longer landed are removed.
func (e *Engine) splitMonths(ctx context.Context, dir string, n int) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []string
	keep := map[string]bool{}
	for _, m := range e.files["revenue"].months {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		want := monthSplit{Format: splitFormat, Shards: n}
		for _, src := range m.sources {
			if deliveryOf(src.Path) <= e.until.String() {
				want.Sources = append(want.Sources, src)
			} else {
				want.Until = e.until.String()
			}
		}
		if len(want.Sources) == 0 {
			continue
		}
		path := filepath.Join(dir, m.month)
		keep[m.month], keep[m.month+".json"] = true, true
		out = append(out, path)
		if _, err := keptCopy(filepath.Join(dir, m.month+".json"), path, want, func() error {
			tmp := path + pipeline.TempSuffix
			if err := os.RemoveAll(tmp); err != nil {
				return err
			}
			q := fmt.Sprintf("SELECT * EXCLUDE (delivery_date, source_part), %s AS shard FROM (%s) WHERE delivery_date <= DATE '%s'",
				shardOf("org_id", n), m.read, e.until)
			if err := e.copyPartitioned(ctx, q, tmp); err != nil {
				os.RemoveAll(tmp)
				return err
			}
			if err := os.RemoveAll(path); err != nil {
				return err
			}
			return os.Rename(tmp, path)
		}); err != nil {
			return nil, err
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	for _, en := range entries {
		if !keep[en.Name()] {
			if err := os.RemoveAll(filepath.Join(dir, en.Name())); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// deliveryOf is the delivery date of a landed file from its path
// (landed/<feed>/delivery_date=D/…).
func deliveryOf(path string) string {
	return strings.TrimPrefix(filepath.Base(filepath.Dir(path)), "delivery_date=")
}

// copyPartitioned writes a query's rows under dir/shard=<i>/ by its shard
// column, and syncs what it wrote.
func (e *Engine) copyPartitioned(ctx context.Context, query, dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	q := fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, PARTITION_BY (shard), COMPRESSION zstd)", query, quote(dir))
	if err := e.Exec(ctx, q); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && path == dir {
				return nil // no rows at all
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// LoadShard makes the tables the rules read, <feed> for each feed and the
// global tables, views over one shard's files of a split. A shard with no rows
// of a feed gets an empty view of the feed's columns. The global tables that are
// counted once (data quality, the quarantine) are empty except in shard 0.
func (e *Engine) LoadShard(ctx context.Context, dir string, s pipeline.Shard) error {
	if err := e.Run(ctx, "calendar.sql"); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return fmt.Errorf("shard %s: %w", s, err)
	}
	e.dataID = manifestID(b)
	for _, t := range append([]string{"superseded_revenue"}, globalTables...) {
		q := fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS SELECT * FROM %s", t, ReadFiles([]string{filepath.Join(dir, "_global", t+".parquet")}))
		if s.Index != 0 && (t == "dq_unknown_orgs" || t == "compute_quarantine") {
			q += " WHERE false"
		}
		if err := e.Exec(ctx, q); err != nil {
			return fmt.Errorf("shard %s: %w", t, err)
		}
	}
	for _, f := range pipeline.Feeds {
		if slices.Contains(globalTables, f.Name) {
			continue
		}
		dirs := []string{filepath.Join(dir, f.Name)}
		if f.Name == "revenue" {
			if dirs, err = revenueMonths(dir); err != nil {
				return err
			}
		}
		var paths []string
		for _, d := range dirs {
			p, err := parquetFiles(filepath.Join(d, fmt.Sprintf("shard=%d", s.Index)))
			if err != nil {
				return err
			}
			paths = append(paths, p...)
		}
		read := emptyFeed(f, false)
		switch {
		case len(paths) > 0 && f.Name == "revenue":
			// restated here: the rows a later delivery superseded are left out
			read = "SELECT * EXCLUDE (source_file, source_line) FROM " + ReadFiles(paths) +
				" ANTI JOIN superseded_revenue USING (source_file, source_line)"
		case len(paths) > 0:
			read = "SELECT * FROM " + ReadFiles(paths)
		}
		if err := e.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS %s", f.Name, read)); err != nil {
			return fmt.Errorf("shard %s: %w", f.Name, err)
		}
	}
	return nil
}

// revenueMonths are the month directories of revenue a split reads.
func revenueMonths(dir string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(dir, "revenue-months.json"))
	if err != nil {
		return nil, err
	}
	var months []string
	return months, json.Unmarshal(b, &months)
}

// parquetFiles lists the Parquet files directly in dir by exact name (none
// when dir does not exist).
func parquetFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, en := range entries {
		if en.Type().IsRegular() && strings.HasSuffix(en.Name(), ".parquet") {
			out = append(out, filepath.Join(dir, en.Name()))
		}
	}
	return out, nil
}

// emptyFeed is the SQL of no rows of a feed's columns (with the landed
// file's columns too when landed).
func emptyFeed(f *pipeline.Feed, landed bool) string {
	var cols []string
	if landed {
		cols = []string{"NULL::VARCHAR AS source_file", "NULL::BIGINT AS source_line", "NULL::VARCHAR AS source_part", "NULL::DATE AS delivery_date"}
	}
	for _, c := range f.Columns {
		cols = append(cols, "NULL::"+duckType(c.Kind)+" AS "+c.Name)
	}
	return "SELECT " + strings.Join(cols, ", ") + " WHERE false"
}

// landedPerShard is how many bytes of landed Parquet one shard computes per GiB
// of --memory-limit. Measured on generated data (README, Memory): 20,000
// organizations are ~140 MB landed and compute in one shard at 1 GiB (1.3 GB
// peak RSS); 100,000 (688 MB) in five shards of ~20,000 each peak at 1.5 GB.
const landedPerShard = 200 << 20

// ChooseShards picks the number of shards from the landed data and the memory
// limit (SPEC §7.1): one per landedPerShard bytes of landed Parquet per GiB of
// the limit, at least one.
func ChooseShards(warehouse, memoryLimit string) (int, error) {
	limit, err := pipeline.ParseSize(memoryLimit)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, f := range pipeline.Feeds {
		paths, err := landedPaths(pipeline.LandedDir(warehouse, f.Name))
		if err != nil {
			return 0, err
		}
		for _, p := range paths {
			if st, err := os.Stat(p); err == nil {
				total += st.Size()
			}
		}
	}
	perShard := float64(landedPerShard) * float64(limit) / (1 << 30)
	return min(pipeline.MaxShards, max(1, int(math.Ceil(float64(total)/perShard)))), nil
}
