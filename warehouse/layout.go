package warehouse

import (
	"fmt"
	"path/filepath"

	"attain/pipeline"
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
//	results/.staging/D/<gen>/<table>-<i>-of-<N>.parquet  ResultStaged (a date's parts before its marker)
//	results/<table>/_empty.parquet, history/<table>/_empty.parquet
//	                                                     EmptyResult, EmptyHistory (schemas for history.sql's globs)
//	history/<table>/month=M/<table>-<i>-of-<N>.parquet   HistoryPart (history-as-known/…: the same, --as-known)
//	history/_parts/month=M/<i>-of-<N>.json               HistoryPartsDir
//	history/_complete/month=M.json                       HistoryMarkerPath
//	history/.staging/<gen>/<table>/month=M/…             HistoryStaged (a month's parts before its marker)
//	history.sql                                          HistorySQLFile
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
func LandedPath(warehouse string, d pipeline.Delivery) string {
	return filepath.Join(LandedDir(warehouse, d.Feed.Name), "delivery_date="+d.Date.String(), d.Name+".parquet")
}

// QuarantinePath is where a landed delivery's bad rows go.
func QuarantinePath(warehouse string, d pipeline.Delivery) string {
	return filepath.Join(QuarantineRoot(warehouse), d.Feed.Name, "delivery_date="+d.Date.String(), d.Name+".parquet")
}

// RejectedPath is where the rows of a rejected delivery go, beside the
// quarantine of the landing of its name.
func RejectedPath(warehouse string, d pipeline.Delivery) string {
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
func ResultDir(warehouse, table string, d pipeline.Date) string {
	return filepath.Join(warehouse, "results", table, "as_of="+d.String())
}

// ResultPart is shard s's part of a result table of a date.
func ResultPart(warehouse, table string, d pipeline.Date, s pipeline.Shard) string {
	return filepath.Join(ResultDir(warehouse, table, d), fmt.Sprintf("%s-%d-of-%d.parquet", table, s.Index, s.Count))
}

// ResultStagingDir holds the parts of one generation of a date's results
// (gen: what they are computed from) until the date's marker is written and
// they move to their ResultPart. Directory readers do not look there.
func ResultStagingDir(warehouse string, d pipeline.Date, gen string) string {
	return filepath.Join(warehouse, "results", ".staging", d.String(), gen)
}

// ResultStaged is shard s's part of a result table of a date, staged.
func ResultStaged(warehouse, table string, d pipeline.Date, gen string, s pipeline.Shard) string {
	return filepath.Join(ResultStagingDir(warehouse, d, gen), fmt.Sprintf("%s-%d-of-%d.parquet", table, s.Index, s.Count))
}

// PartsDir holds the part markers of a date's results.
func PartsDir(warehouse string, d pipeline.Date) string {
	return filepath.Join(warehouse, "results", "_parts", d.String())
}

// MarkersDir holds the markers of the complete dates.
func MarkersDir(warehouse string) string { return filepath.Join(warehouse, "results", "_complete") }

// MarkerPath is a date's marker: its results are complete when it exists.
func MarkerPath(warehouse string, d pipeline.Date) string {
	return filepath.Join(MarkersDir(warehouse), d.String()+".json")
}

// EmptyResult is a result table's file of no rows, beside its dates'
// directories: history.sql's globs need a file to match (DuckDB fails on a
// glob that matches none), and directory readers skip names that start with _.
func EmptyResult(warehouse, table string) string {
	return filepath.Join(warehouse, "results", table, "_empty.parquet")
}

// HistoryKind is one of the warehouse's two histories (SPEC §8): restated
// with all landed data (history/), or each date with only the deliveries
// dated on or before it (history-as-known/). They share a layout and never
// replace each other's months.
type HistoryKind bool

const (
	Restated HistoryKind = false
	AsKnown  HistoryKind = true
)

// Dir is the kind's directory inside the warehouse.
func (k HistoryKind) Dir() string {
	if k == AsKnown {
		return "history-as-known"
	}
	return "history"
}

func (k HistoryKind) String() string {
	if k == AsKnown {
		return "as-known"
	}
	return "restated"
}

// ReadOrder is the order a reader of this kind takes the histories in (SPEC
// §8): its own kind, then the other.
func (k HistoryKind) ReadOrder() []HistoryKind { return []HistoryKind{k, !k} }

// HistoryKinds are both kinds, restated first.
var HistoryKinds = []HistoryKind{Restated, AsKnown}

// HistoryRoot holds one kind of history (SPEC §8).
func HistoryRoot(warehouse string, k HistoryKind) string { return filepath.Join(warehouse, k.Dir()) }

// HistoryDir holds a history table's files of a month.
func HistoryDir(warehouse string, k HistoryKind, table, month string) string {
	return filepath.Join(HistoryRoot(warehouse, k), table, "month="+month)
}

// HistoryPart is shard s's part of a history table of a month.
func HistoryPart(warehouse string, k HistoryKind, table, month string, s pipeline.Shard) string {
	return filepath.Join(HistoryDir(warehouse, k, table, month), fmt.Sprintf("%s-%d-of-%d.parquet", table, s.Index, s.Count))
}

// EmptyHistory is a history table's file of no rows (see EmptyResult).
func EmptyHistory(warehouse string, k HistoryKind, table string) string {
	return filepath.Join(HistoryRoot(warehouse, k), table, "_empty.parquet")
}

// HistoryStagingDir holds the parts written by one generation of months
// (gen): they move to their HistoryPart when their month's marker is written.
// Directory readers and history.sql's globs do not look there.
func HistoryStagingDir(warehouse string, k HistoryKind, gen string) string {
	return filepath.Join(HistoryRoot(warehouse, k), ".staging", gen)
}

// HistoryStaged is where shard s's part of a history table of a month waits
// for the month's marker.
func HistoryStaged(warehouse string, k HistoryKind, gen, table, month string, s pipeline.Shard) string {
	return filepath.Join(HistoryStagingDir(warehouse, k, gen), table, "month="+month, fmt.Sprintf("%s-%d-of-%d.parquet", table, s.Index, s.Count))
}

// HistoryPartsDir holds the part markers of a month's history.
func HistoryPartsDir(warehouse string, k HistoryKind, month string) string {
	return filepath.Join(HistoryRoot(warehouse, k), "_parts", "month="+month)
}

// HistoryMarkersDir holds the markers of the months whose history is complete.
func HistoryMarkersDir(warehouse string, k HistoryKind) string {
	return filepath.Join(HistoryRoot(warehouse, k), "_complete")
}

// HistoryMarkerPath is a month's marker: its history is complete when it exists.
func HistoryMarkerPath(warehouse string, k HistoryKind, month string) string {
	return filepath.Join(HistoryMarkersDir(warehouse, k), "month="+month+".json")
}

// HistorySegmentsDir holds what one shard's passes of a month computed, by
// generation, until the shard writes its part of the month (scratch).
func HistorySegmentsDir(warehouse string, k HistoryKind, month, gen string, s pipeline.Shard) string {
	return filepath.Join(TmpDir(warehouse), k.Dir(), "month="+month, gen, fmt.Sprintf("%d-of-%d", s.Index, s.Count))
}

// HistorySQLFile is the DuckDB macros that read the results and the history
// (SPEC §8), written by attain.
func HistorySQLFile(warehouse string) string { return filepath.Join(warehouse, "history.sql") }

// RunsDir holds the run records.
func RunsDir(warehouse string) string { return filepath.Join(warehouse, "runs") }

// TmpDir holds scratch files; what a killed run left there (*.tmp) the next
// one removes.
func TmpDir(warehouse string) string { return filepath.Join(warehouse, "tmp") }

// SpillDir is DuckDB's spill directory.
func SpillDir(warehouse string) string { return filepath.Join(TmpDir(warehouse), "duckdb") }
