package sql

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"attain/duck"
	"attain/pipeline"
	"attain/warehouse"
)

// Shards of organizations (SPEC §7.1). A compute of N > 1 shards first splits
// the data by the shard of its organization, hash(org_id) mod N, so that each
// shard reads its own rows only. Every feed but the global ones is split under
// shards/units-<N>/<feed>/ (warehouse.SplitFeed) in units of deliveries, a compacted
// month each and, for the latest month, a delivery date each: every landed row
// with where it came from (source_file, source_line, …) and the hash of its
// key, kept while the unit's landed files are unchanged, so a night splits its
// own delivery, not two years. What a restatement by key takes away (SPEC
// §3.2) is found unit by unit too (supersede): the rows that a unit's
// deliveries supersede, among those of the units up to it, are kept with it;
// the rows in force are the landed rows but those of every unit. A night finds
// what its own delivery restates by one scan of the history's key hashes: a
// transaction restated to an organization of another shard is found there too.
// The feeds keyed by individual (associations, exams, assessments) are not
// split by shard: each shard reads them whole and keeps all the rows of the
// individuals associated with one of its organizations, so that severing and
// moves between organizations are computed from all their events in each.
// What is not per organization (FX rates, the months that have usage) is in
// shards/<N>/_global/. Each shard counts the data-quality warnings of its
// organizations, which the process completing the date adds up (warehouse/results.go).
// Each shard is then evaluated by the same rules from its files alone.
//
// The split is derived data, like the compacted months: its manifest names the
// landed files it was made from, and a split whose manifest differs is made
// again before it is read. It is written to a temporary directory and renamed
// into place; the units, each with its own manifest, beside it.

// globalTables are the split's tables that are not per organization.
var globalTables = []string{"fx_rates", "usage_months"}

// individualFeeds are keyed by individual: an individual's rows go to every
// shard of an organization they associate with, so their split is not by
// shard: each shard reads them whole and keeps its individuals' (LoadShard).
var individualFeeds = []string{"associations", "exams", "assessments"}

// inUnits says whether a feed is split by units of deliveries (warehouse.SplitFeed):
// every feed but the global ones.
func inUnits(f *pipeline.Feed) bool { return !slices.Contains(globalTables, f.Name) }

// unitPartition is the SQL of the partition of a feed's row in its split:
// its organization's shard, or all for a feed keyed by individual.
func unitPartition(f *pipeline.Feed, n int) string {
	if slices.Contains(individualFeeds, f.Name) {
		return "'all'"
	}
	return shardOf("org_id", n)
}

// splitManifest says what a split was made from.
type splitManifest struct {
	Format  int                    `json:"format"`
	Shards  int                    `json:"shards"`
	KnownBy string                 `json:"known_by,omitempty"`
	Files   []warehouse.SourceFile `json:"files"`
}

// shardOf is the SQL of an organization's shard of n. DuckDB's hash of a string
// is the same in every process of one build; a DuckDB upgrade may move
// organizations between shards, which changes no result (SPEC §7.1) and only
// makes the split again (warehouse.SplitFormat names the build's hash).
func shardOf(col string, n int) string { return fmt.Sprintf("hash(%s) %% %d", col, n) }

// Split makes (or finds up to date) the split of the landed data into n shards
// and returns its directory. It restates every feed from all landed data in
// one DuckDB session and writes each shard's rows in force.
func (e *Engine) Split(ctx context.Context, wh string, n int, knownBy *pipeline.Date) (string, error) {
	dir := warehouse.SplitDir(wh, n)
	if err := e.Run(ctx, "calendar.sql"); err != nil {
		return "", err
	}
	var sources []warehouse.SourceFile
	if err := e.Timed("load", func() (err error) {
		sources, err = e.LoadLanded(ctx, wh, knownBy)
		return err
	}); err != nil {
		return "", err
	}
	m := splitManifest{Format: warehouse.SplitFormat, Shards: n, Files: sources}
	if knownBy != nil {
		m.KnownBy = knownBy.String()
	}
	want, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return "", err
	}
	want = append(want, '\n')
	manifest := filepath.Join(dir, "manifest.json")
	if have, err := os.ReadFile(manifest); err == nil && string(have) == string(want) && warehouse.SplitWhole(wh, dir, globalTables) {
		return dir, nil
	}
	start := time.Now()
	var units map[string][]string
	if err := e.Timed("split units", func() (err error) {
		units, err = e.splitFeeds(ctx, wh, n)
		return err
	}); err != nil {
		return "", err
	}
	if err := e.restate(ctx); err != nil {
		return "", err
	}
	tmp := pipeline.TempName(dir, false)
	if err := os.RemoveAll(tmp); err != nil {
		return "", err
	}
	if err := e.Timed("split", func() error { return e.writeSplit(ctx, wh, tmp, units) }); err != nil {
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
	// what builds before warehouse.SplitFormat 3 kept of revenue alone, now in units-<N>/
	if err := os.RemoveAll(filepath.Join(warehouse.ShardsDir(wh), fmt.Sprintf("revenue-months-%d", n))); err != nil {
		return "", err
	}
	if e.Log != nil {
		e.Log.Debug("landed data split into shards", "shards", n, "duration", time.Since(start).Round(time.Millisecond).String())
	}
	return dir, nil
}

// writeSplit writes the global tables and units.json: the units of the
// feeds' splits each shard reads, by feed, relative to the warehouse (a
// warehouse reached by another path, or moved, reads its own units).
func (e *Engine) writeSplit(ctx context.Context, wh, dir string, units map[string][]string) error {
	for _, t := range globalTables {
		if _, err := e.CopyTo(ctx, "SELECT * FROM "+t, filepath.Join(dir, "_global", t+".parquet")); err != nil {
			return fmt.Errorf("split %s: %w", t, err)
		}
	}
	rel := map[string][]string{}
	for feed, dirs := range units {
		for _, d := range dirs {
			r, err := filepath.Rel(wh, d)
			if err != nil || !filepath.IsLocal(r) {
				return fmt.Errorf("split %s: unit %s is not inside the warehouse %s", feed, d, wh)
			}
			rel[feed] = append(rel[feed], filepath.ToSlash(r))
		}
	}
	b, _ := json.MarshalIndent(rel, "", "  ")
	return pipeline.WriteFileAtomic(filepath.Join(dir, "units.json"), append(b, '\n'))
}

// splitFeeds brings the units of every feed split by units up to date
// (warehouse.SplitFeed, supersede) and makes, for the split's own statements
// (restate.sql's months with usage), each such feed's rows in force
// (feedViews, over every shard's files). It returns each feed's unit
// directories.
func (e *Engine) splitFeeds(ctx context.Context, wh string, n int) (map[string][]string, error) {
	e.split = true
	out := map[string][]string{}
	for _, f := range pipeline.Feeds {
		if !inUnits(f) {
			continue
		}
		units, err := warehouse.SplitFeed(ctx, e.Session, warehouse.UnitSplitDir(wh, n, f.Name), n, f, e.files[f.Name].Months, e.until, unitPartition(f, n))
		if err != nil {
			return nil, fmt.Errorf("split %s: %w", f.Name, err)
		}
		if err := e.supersede(ctx, f, units); err != nil {
			return nil, fmt.Errorf("split %s: %w", f.Name, err)
		}
		var dirs, rows []string
		for _, m := range units {
			dirs = append(dirs, m.Path)
			rows = append(rows, m.Files...)
		}
		out[f.Name] = dirs
		if err := e.loadSuperseded(ctx, f.Name, dirs); err != nil {
			return nil, err
		}
		if err := e.feedViews(ctx, f, f.Name, rows); err != nil {
			return nil, fmt.Errorf("split %s: %w", f.Name, err)
		}
	}
	return out, nil
}

// loadSuperseded makes superseded_<feed>, the places of the rows of a feed's
// split that a later delivery superseded: those of every unit.
func (e *Engine) loadSuperseded(ctx context.Context, feed string, units []string) error {
	var paths []string
	for _, m := range units {
		paths = append(paths, warehouse.SupersededPath(m))
	}
	q := noPlaces
	if len(paths) > 0 {
		q = "SELECT source_file, source_line FROM " + duck.ReadFiles(paths)
	}
	return e.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP TABLE superseded_%s AS %s", feed, q))
}

// noPlaces is the SQL of no superseded rows.
const noPlaces = "SELECT NULL::VARCHAR AS source_file, NULL::BIGINT AS source_line WHERE false"

// feedViews makes, for a feed read from files of its split, landed_<feed>
// (their rows with where they came from) and name (the rows in force: those
// but the rows superseded_<feed> holds, with where they came from for revenue
// only, as restate.sql makes them).
func (e *Engine) feedViews(ctx context.Context, f *pipeline.Feed, name string, paths []string) error {
	read, landed := emptyFeed(f, f.Name == "revenue"), emptyFeed(f, true)
	if len(paths) > 0 {
		landed = "SELECT * EXCLUDE (h) FROM " + duck.ReadFiles(paths)
		read = fmt.Sprintf("SELECT * FROM landed_%[1]s ANTI JOIN superseded_%[1]s USING (source_file, source_line)", f.Name)
		if f.Name != "revenue" {
			read = fmt.Sprintf(`SELECT * EXCLUDE (source_file, source_line, source_part, delivery_date)
				FROM landed_%[1]s ANTI JOIN superseded_%[1]s USING (source_file, source_line)`, f.Name)
		}
	}
	if err := e.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP VIEW landed_%s AS %s", f.Name, landed)); err != nil {
		return err
	}
	return e.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS %s", name, read))
}

// supersededManifest says what a unit's superseded rows were found from: the
// splits of that unit and every unit before it.
type supersededManifest struct {
	Format int    `json:"format"`
	Units  string `json:"units"` // SHA-256 of the manifests of the units up to this one
}

// supersede finds, for each unit of a feed's split (a month or a delivery
// date), the rows that its deliveries supersede (SPEC §3.2): among the rows of
// that unit and the units before, those whose key comes again in that unit and
// that are not the latest of their key. A key's latest row is in the last unit
// that has the key, so the rows of every unit together are exactly the rows a
// later delivery replaced. Only the key hashes of the unit are looked for in
// the earlier units (one scan of their hash column); the few rows with such a
// hash are ranked by the key itself, so a hash collision costs a little
// ranking, never a wrong row. A unit's result is kept while it and the units
// before are unchanged.
func (e *Engine) supersede(ctx context.Context, f *pipeline.Feed, units []warehouse.Unit) error {
	chain := sha256.New()
	var earlier []string // the files of the units before
	for _, m := range units {
		if err := ctx.Err(); err != nil {
			return err
		}
		chain.Write(m.Manifest)
		want := supersededManifest{Format: warehouse.SplitFormat, Units: hex.EncodeToString(chain.Sum(nil))}
		path := warehouse.SupersededPath(m.Path)
		if _, err := warehouse.KeptCopy(strings.TrimSuffix(path, ".parquet")+".json", path, want, func() error {
			return e.supersedeUnit(ctx, f, m.Files, earlier, path)
		}); err != nil {
			return err
		}
		earlier = append(earlier, m.Files...)
	}
	return nil
}

// supersedeUnit writes to path the rows a unit's files supersede among them
// and the earlier files. The unit's key hashes that come again (twice in the
// unit, or in an earlier file) are found by one scan of the earlier files'
// hashes, which also says which of them hold such a hash: only those and the
// unit's own files are read whole to be ranked.
func (e *Engine) supersedeUnit(ctx context.Context, f *pipeline.Feed, files, earlier []string, path string) error {
	q := noPlaces
	if len(files) > 0 {
		steps := []string{
			"CREATE OR REPLACE TEMP TABLE unit_keys AS SELECT h FROM " + duck.ReadFiles(files),
			"CREATE OR REPLACE TEMP TABLE earlier_hits AS SELECT NULL::UBIGINT AS h, NULL::VARCHAR AS filename WHERE false",
			`CREATE OR REPLACE TEMP TABLE unit_repeated AS
				SELECT h FROM unit_keys GROUP BY h HAVING count(*) > 1 UNION SELECT h FROM earlier_hits`,
		}
		if len(earlier) > 0 {
			steps[1] = fmt.Sprintf("CREATE OR REPLACE TEMP TABLE earlier_hits AS SELECT h, filename FROM %s SEMI JOIN unit_keys USING (h)",
				duck.ReadFilesWith(earlier, ", filename = true"))
		}
		for _, st := range steps {
			if err := e.Exec(ctx, st); err != nil {
				return err
			}
		}
		rows, err := e.Query(ctx, "SELECT DISTINCT filename FROM earlier_hits ORDER BY filename")
		if err != nil {
			return err
		}
		held := slices.Clone(files)
		for _, r := range rows {
			held = append(held, r[0].(string))
		}
		q = fmt.Sprintf(`SELECT source_file, source_line FROM %s SEMI JOIN unit_repeated USING (h)
			QUALIFY row_number() OVER (PARTITION BY %s
			    ORDER BY delivery_date DESC, part_rank(source_part) DESC, source_line DESC) > 1`,
			duck.ReadFiles(held), strings.Join(f.Key, ", "))
	}
	_, err := e.CopyTo(ctx, q, path)
	return err
}

// LoadShard makes the tables the rules read, <feed> for each feed and the
// global tables, views over one shard's files of a split. A shard with no rows
// of a feed gets an empty view of the feed's columns. The global tables that are
// counted once (data quality, the quarantine) are empty except in shard 0.
func (e *Engine) LoadShard(ctx context.Context, wh, dir string, s pipeline.Shard) error {
	if err := e.Run(ctx, "calendar.sql"); err != nil {
		return err
	}
	b, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return fmt.Errorf("shard %s: %w", s, err)
	}
	e.dataID = warehouse.ManifestID(b)
	for _, t := range globalTables {
		q := fmt.Sprintf("CREATE OR REPLACE TEMP TABLE %s AS SELECT * FROM %s", t, duck.ReadFiles([]string{filepath.Join(dir, "_global", t+".parquet")}))
		if err := e.Exec(ctx, q); err != nil {
			return fmt.Errorf("shard %s: %w", t, err)
		}
	}
	b, err = os.ReadFile(filepath.Join(dir, "units.json"))
	if err != nil {
		return fmt.Errorf("shard %s: %w", s, err)
	}
	var units map[string][]string
	if err := json.Unmarshal(b, &units); err != nil {
		return fmt.Errorf("shard %s: units.json: %w", s, err)
	}
	for feed, dirs := range units {
		for i, d := range dirs {
			if !filepath.IsLocal(filepath.FromSlash(d)) {
				return fmt.Errorf("shard %s: units.json names %s outside the warehouse: the split is remade", s, d)
			}
			units[feed][i] = filepath.Join(wh, filepath.FromSlash(d))
		}
	}
	// A feed keyed by individual is read whole (all_<feed>) and kept for the
	// individuals associated with an organization of the shard, with all their
	// rows (SPEC §7.1: moves between organizations are computed from all of an
	// individual's events in each shard).
	for _, f := range pipeline.Feeds {
		if !inUnits(f) {
			continue
		}
		if err := e.loadSuperseded(ctx, f.Name, units[f.Name]); err != nil {
			return fmt.Errorf("shard %s: %w", f.Name, err)
		}
		part, name := fmt.Sprintf("shard=%d", s.Index), f.Name
		if slices.Contains(individualFeeds, f.Name) {
			part, name = "shard=all", "all_"+f.Name
		}
		var paths []string
		for _, d := range units[f.Name] {
			p, err := duck.ParquetFiles(filepath.Join(d, part))
			if err != nil {
				return err
			}
			paths = append(paths, p...)
		}
		if err := e.feedViews(ctx, f, name, paths); err != nil {
			return fmt.Errorf("shard %s: %w", f.Name, err)
		}
	}
	if err := e.Exec(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE shard_individuals AS
		SELECT DISTINCT individual_id FROM all_associations WHERE org_id IS NOT NULL AND %s = %d`, shardOf("org_id", s.Count), s.Index)); err != nil {
		return fmt.Errorf("shard %s: %w", s, err)
	}
	for _, name := range individualFeeds {
		if err := e.Exec(ctx, fmt.Sprintf(`CREATE OR REPLACE TEMP TABLE %[1]s AS
			SELECT * FROM all_%[1]s SEMI JOIN shard_individuals USING (individual_id)`, name)); err != nil {
			return fmt.Errorf("shard %s: %w", name, err)
		}
	}
	if err := e.Exec(ctx, fmt.Sprintf("CREATE OR REPLACE TEMP MACRO counted_here(org_id) AS %s = %d", shardOf("org_id", s.Count), s.Index)); err != nil {
		return err
	}
	return e.quality(ctx)
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
func ChooseShards(wh, memoryLimit string) (int, error) {
	limit, err := pipeline.ParseSize(memoryLimit)
	if err != nil {
		return 0, err
	}
	var total int64
	for _, f := range pipeline.Feeds {
		paths, err := warehouse.LandedPaths(warehouse.LandedDir(wh, f.Name))
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
