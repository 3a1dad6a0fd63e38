package pipeline

import (
	"fmt"
	"path/filepath"
)

// The warehouse's layout (SPEC §6.1), in one place: every stage finds the
// paths it writes and reads here, and no stage spells a path of another's.
//
//	landed/<feed>/delivery_date=D/<name>.parquet        LandedPath
//	quarantine/<feed>/delivery_date=D/<name>.parquet    QuarantinePath (<name>.rejected.parquet: RejectedPath)
//	ingest_log.jsonl                                     IngestLogFile
//	compacted/<feed>/<YYYY-MM>.parquet and .json         CompactedDir
//	shards/<N>/…, shards/units-<N>/<feed>/…             SplitDir, UnitSplitDir (and <N>.lock)
//	results/<table>/as_of=D/<table>-<i>-of-<N>.parquet   ResultPart
//	results/_parts/D/<i>-of-<N>.json                     PartsDir
//	results/_complete/D.json                             MarkerPath
//	runs/<run_id>.json                                   RunsDir
//	tmp/ (tmp/duckdb: DuckDB's spill)                    TmpDir, SpillDir
//	attain*.lock                                         LockFile, IngestLockFile, ShardLockFile

// IngestLogFile is the ingest log's name inside the warehouse: one JSON object
// a line, appended and synced.
const IngestLogFile = "ingest_log.jsonl"

// LandedRoot holds every feed's landed files.
func LandedRoot(warehouse string) string { return filepath.Join(warehouse, "landed") }

// LandedDir holds a feed's landed files, one directory a delivery date.
func LandedDir(warehouse, feed string) string { return filepath.Join(LandedRoot(warehouse), feed) }

// QuarantineRoot holds every feed's quarantined rows.
func QuarantineRoot(warehouse string) string { return filepath.Join(warehouse, "quarantine") }

// LandedPath is where a delivery's rows land.
func LandedPath(warehouse string, d Delivery) string {
	return filepath.Join(LandedDir(warehouse, d.Feed.Name), "delivery_date="+d.Date.String(), d.Name+".parquet")
}

// QuarantinePath is where a landed delivery's bad rows go.
func QuarantinePath(warehouse string, d Delivery) string {
	return filepath.Join(QuarantineRoot(warehouse), d.Feed.Name, "delivery_date="+d.Date.String(), d.Name+".parquet")
}

// RejectedPath is where the rows of a rejected delivery go, beside the
// quarantine of the landing of its name.
func RejectedPath(warehouse string, d Delivery) string {
	return filepath.Join(QuarantineRoot(warehouse), d.Feed.Name, "delivery_date="+d.Date.String(), d.Name+".rejected.parquet")
}

// CompactedDir holds a feed's compacted months (derived data).
func CompactedDir(warehouse, feed string) string { return filepath.Join(warehouse, "compacted", feed) }

// ShardsDir holds the splits into shards (derived data) and their locks.
func ShardsDir(warehouse string) string { return filepath.Join(warehouse, "shards") }

// SplitDir is the split of the data in force into n shards.
func SplitDir(warehouse string, n int) string {
	return filepath.Join(ShardsDir(warehouse), fmt.Sprint(n))
}

// UnitSplitDir holds a feed's split into n shards by units of deliveries (a
// compacted month, or a delivery date of the latest month): <unit>/shard=<i>/
// (shard=all for a feed keyed by individual) with its manifest <unit>.json,
// and the rows that unit's deliveries supersede, <unit>.superseded.parquet
// and .json.
func UnitSplitDir(warehouse string, n int, feed string) string {
	return filepath.Join(ShardsDir(warehouse), fmt.Sprintf("units-%d", n), feed)
}

// ResultDir holds a result table's files of a date: readers read every
// *.parquet file there.
func ResultDir(warehouse, table string, d Date) string {
	return filepath.Join(warehouse, "results", table, "as_of="+d.String())
}

// ResultPart is shard s's part of a result table of a date.
func ResultPart(warehouse, table string, d Date, s Shard) string {
	return filepath.Join(ResultDir(warehouse, table, d), fmt.Sprintf("%s-%d-of-%d.parquet", table, s.Index, s.Count))
}

// PartsDir holds the part markers of a date's results.
func PartsDir(warehouse string, d Date) string {
	return filepath.Join(warehouse, "results", "_parts", d.String())
}

// MarkersDir holds the markers of the complete dates.
func MarkersDir(warehouse string) string { return filepath.Join(warehouse, "results", "_complete") }

// MarkerPath is a date's marker: its results are complete when it exists.
func MarkerPath(warehouse string, d Date) string {
	return filepath.Join(MarkersDir(warehouse), d.String()+".json")
}

// RunsDir holds the run records.
func RunsDir(warehouse string) string { return filepath.Join(warehouse, "runs") }

// TmpDir holds scratch files; what a killed run left there (*.tmp) the next
// one removes.
func TmpDir(warehouse string) string { return filepath.Join(warehouse, "tmp") }

// SpillDir is DuckDB's spill directory.
func SpillDir(warehouse string) string { return filepath.Join(TmpDir(warehouse), "duckdb") }
