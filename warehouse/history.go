package warehouse

import (
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"attain/duck"
	"attain/pipeline"
)

//go:embed history.sql
var files embed.FS

// History (SPEC §8) stores the result tables of backfilled dates as intervals,
// a month at a time: history/<table>/month=M/ holds rows with the table's
// columns (without as_of and the day counts) and valid_from, valid_until; a row
// belongs to the table at spine date D of M when valid_from <= D < valid_until.
//
// How a month is written. Each pass of a compute evaluates some dates of one
// month; segments.sql makes its rows intervals over those dates, and each
// table's are kept as a segment file under tmp/ (a month's dates may take
// several passes, or with --as-known several computes). When a shard's
// segments cover every date of the month, it merges them (equal rows on
// consecutive dates become one) into its part of each table, staged under
// history/.staging/<gen>/, and writes its part marker. The process that finds
// the N part markers of one generation writes the month's marker, which
// replaces the earlier one, and then moves the staged parts into place: the
// marker is the commit, and whoever finds a marker whose parts are still
// staged finishes the move (PublishHistory). A generation is what the parts of
// one month were computed from (shards, dates, --as-known, the landed data), so
// that parts computed from different data never complete a month together.

// MonthMarker says that a month's history is complete, and what it holds.
type MonthMarker struct {
	Month           string           `json:"month"`
	Dates           []string         `json:"dates"`
	CatalogVersions []string         `json:"catalog_versions"` // in force at each date
	AsKnown         bool             `json:"as_known"`
	RunID           string           `json:"run_id"`
	Parts           int              `json:"parts"`
	Gen             string           `json:"gen"`
	Rows            map[string]int64 `json:"rows"`
	At              time.Time        `json:"at"`
}

// Kind is the history the month belongs to.
func (m *MonthMarker) Kind() HistoryKind { return HistoryKind(m.AsKnown) }

// monthPart says that one shard's part of a month's history is staged.
type monthPart struct {
	Month  string           `json:"month"`
	Gen    string           `json:"gen"`
	Shard  int              `json:"shard"`
	Shards int              `json:"shards"`
	RunID  string           `json:"run_id"`
	Rows   map[string]int64 `json:"rows"`
	At     time.Time        `json:"at"`
}

// HistoryColumns are a table's columns in history: its columns without as_of
// and the day counts.
func HistoryColumns(t Table) []string {
	var out []string
	for _, c := range strings.Split(t.Columns, ", ") {
		switch c {
		case "as_of", "days_to_lapse", "days_to_anniversary", "days_left":
			continue
		}
		out = append(out, c)
	}
	return out
}

// MonthGen names the generation of a month's history: what its parts are
// computed from.
func MonthGen(month string, dates []pipeline.Date, shards int, asKnown bool, data string) string {
	h := sha256.New()
	fmt.Fprintf(h, "%s|%d|%t|%s|", month, shards, asKnown, data)
	for _, d := range dates {
		fmt.Fprint(h, d.String(), ",")
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}

// MonthEnd is the first day after a month.
func MonthEnd(month string) pipeline.Date {
	return pipeline.MustDate(month + "-01").AddMonths(1)
}

// NextInMonth is the date after d of its month's spine, or the first day of
// the next month.
func NextInMonth(spine []pipeline.Date, d pipeline.Date) pipeline.Date {
	for _, x := range spine {
		if x > d {
			return x
		}
	}
	return MonthEnd(pipeline.Month(d))
}

// MergeQuery merges a table's interval rows read by from: rows equal in every
// column on consecutive spine dates become one, over the union of their dates.
// Equal rows of one date (two requirements alike) stay apart (dup), and so do
// alerts, which hold for one date.
func MergeQuery(t Table, from string) string {
	cols := strings.Join(HistoryColumns(t), ", ")
	apart := ""
	if t.Name == "renewal_risk" {
		apart = ", CASE WHEN alert THEN valid_from END"
	}
	key := "dup, " + cols + apart
	return fmt.Sprintf(`WITH x AS (SELECT *, row_number() OVER (PARTITION BY valid_from, %[1]s) AS dup FROM %[2]s),
		y AS (SELECT *, CASE WHEN valid_from = lag(valid_until) OVER (PARTITION BY %[3]s ORDER BY valid_from) THEN 0 ELSE 1 END AS brk FROM x),
		z AS (SELECT *, sum(brk) OVER (PARTITION BY %[3]s ORDER BY valid_from ROWS UNBOUNDED PRECEDING) AS grp FROM y)
		SELECT %[1]s, min(valid_from) AS valid_from, max(valid_until) AS valid_until
		FROM z GROUP BY %[3]s, grp ORDER BY %[4]s, valid_from`, cols, from, key, t.OrderBy)
}

// writeSegments keeps the pass's interval rows (segments.sql over seg_dates)
// of each table as a segment of shard s's month.
func WriteSegments(ctx context.Context, e *duck.Session, dir string, first, last pipeline.Date) error {
	for _, t := range Tables {
		path := filepath.Join(dir, t.Name, first.String()+"_"+last.String()+".parquet")
		if _, err := e.CopyTo(ctx, "SELECT * FROM seg_"+t.Name, path); err != nil {
			return fmt.Errorf("history segment %s: %w", t.Name, err)
		}
	}
	return nil
}

// SegmentsCover says whether the segments in dir cover every date of spine,
// and lists the segment files of table.
func SegmentsCover(dir string, spine []pipeline.Date) (bool, error) {
	files, err := duck.ParquetFiles(filepath.Join(dir, Tables[0].Name))
	if err != nil {
		return false, err
	}
	covered := map[pipeline.Date]bool{}
	for _, f := range files {
		a, b, ok := strings.Cut(strings.TrimSuffix(filepath.Base(f), ".parquet"), "_")
		if !ok {
			continue
		}
		from, err1 := pipeline.ParseDate(a)
		to, err2 := pipeline.ParseDate(b)
		if err1 != nil || err2 != nil {
			continue
		}
		for _, d := range spine {
			if from <= d && d <= to {
				covered[d] = true
			}
		}
	}
	return len(covered) == len(spine), nil
}

// WriteMonthPart merges shard s's segments of a month into its staged part of
// each table and writes its part marker, with the rows of each table.
func WriteMonthPart(ctx context.Context, e *duck.Session, warehouse string, k HistoryKind, month, gen, segs string, s pipeline.Shard, runID string, now time.Time) error {
	rows := map[string]int64{}
	for _, t := range Tables {
		files, err := duck.ParquetFiles(filepath.Join(segs, t.Name))
		if err != nil {
			return err
		}
		n, err := e.CopyTo(ctx, MergeQuery(t, duck.ReadFiles(files)), HistoryStaged(warehouse, k, gen, t.Name, month, s))
		if err != nil {
			return fmt.Errorf("history %s %s: %w", month, t.Name, err)
		}
		rows[t.Name] = n
	}
	b, _ := json.MarshalIndent(monthPart{Month: month, Gen: gen, Shard: s.Index, Shards: s.Count, RunID: runID, Rows: rows, At: now}, "", "  ")
	path := filepath.Join(HistoryPartsDir(warehouse, k, month), fmt.Sprintf("%d-of-%d.json", s.Index, s.Count))
	if err := pipeline.WriteFileAtomic(path, append(b, '\n')); err != nil {
		return err
	}
	return nil
}

// CompleteMonth writes the month's marker (m, with the rows of every part)
// when all its n parts of generation m.Gen are staged, then publishes them,
// and says whether it wrote the marker.
func CompleteMonth(warehouse string, m MonthMarker) (bool, error) {
	m.Rows = map[string]int64{}
	for i := range m.Parts {
		p, err := ReadJSON[monthPart](filepath.Join(HistoryPartsDir(warehouse, m.Kind(), m.Month), fmt.Sprintf("%d-of-%d.json", i, m.Parts)))
		if err != nil || p == nil {
			return false, err
		}
		if p.Gen != m.Gen {
			return false, nil // that shard computed other dates or data: it runs again
		}
		for t, r := range p.Rows {
			m.Rows[t] += r
		}
	}
	for _, t := range Tables {
		for i := range m.Parts {
			s := pipeline.Shard{Index: i, Count: m.Parts}
			if !Exists(HistoryStaged(warehouse, m.Kind(), m.Gen, t.Name, m.Month, s)) {
				// another process completed the month and moved the parts
				return false, nil
			}
		}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := pipeline.WriteFileAtomic(HistoryMarkerPath(warehouse, m.Kind(), m.Month), append(b, '\n')); err != nil {
		return false, err
	}
	return true, publishMonth(warehouse, &m)
}

// publishMonth moves a complete month's staged parts into place and removes
// the month's other files (an earlier history's). It does nothing when they
// are in place already.
func publishMonth(warehouse string, m *MonthMarker) error {
	for _, t := range Tables {
		dir := HistoryDir(warehouse, m.Kind(), t.Name, m.Month)
		keep := map[string]bool{}
		moved := false
		for i := range m.Parts {
			s := pipeline.Shard{Index: i, Count: m.Parts}
			final := HistoryPart(warehouse, m.Kind(), t.Name, m.Month, s)
			keep[filepath.Base(final)] = true
			staged := HistoryStaged(warehouse, m.Kind(), m.Gen, t.Name, m.Month, s)
			if !Exists(staged) {
				continue
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return err
			}
			if err := os.Rename(staged, final); err != nil {
				return err
			}
			moved = true
		}
		if !moved {
			continue
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, en := range entries {
			if !keep[en.Name()] {
				if err := os.RemoveAll(filepath.Join(dir, en.Name())); err != nil {
					return err
				}
			}
		}
		if err := pipeline.SyncDir(dir); err != nil {
			return err
		}
	}
	return os.RemoveAll(HistoryStagingDir(warehouse, m.Kind(), m.Gen))
}

// PublishHistory finishes the moves of the months of one kind whose marker is
// written but whose parts are still staged (a process stopped between the two).
func PublishHistory(warehouse string, k HistoryKind) error {
	months, err := HistoryMonths(warehouse, k)
	if err != nil {
		return err
	}
	for _, m := range months {
		if err := publishMonth(warehouse, m); err != nil {
			return fmt.Errorf("%s history %s: %w", k, m.Month, err)
		}
	}
	return nil
}

// ReadMonthMarker returns a month's marker in one kind of history, or nil
// when that history of the month is not complete. A marker of the other kind
// in its directory (an --as-known month written under history/ by a build
// before the two were kept apart) is not complete: a backfill of the kind
// computes the month again.
func ReadMonthMarker(warehouse string, k HistoryKind, month string) (*MonthMarker, error) {
	m, err := ReadJSON[MonthMarker](HistoryMarkerPath(warehouse, k, month))
	if err != nil || m == nil || m.Kind() != k {
		return nil, err
	}
	return m, nil
}

// ReadJSON reads a marker's JSON file, or returns nil when there is none.
func ReadJSON[T any](path string) (*T, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &v, nil
}

// HistoryMonths lists the complete months of one kind of history, oldest first.
func HistoryMonths(warehouse string, k HistoryKind) ([]*MonthMarker, error) {
	entries, err := os.ReadDir(HistoryMarkersDir(warehouse, k))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []*MonthMarker
	for _, en := range entries {
		month, ok := strings.CutPrefix(en.Name(), "month=")
		if !ok || !strings.HasSuffix(month, ".json") {
			continue
		}
		m, err := ReadMonthMarker(warehouse, k, strings.TrimSuffix(month, ".json"))
		if err != nil {
			return nil, err
		}
		if m != nil {
			out = append(out, m)
		}
	}
	slices.SortFunc(out, func(a, b *MonthMarker) int { return strings.Compare(a.Month, b.Month) })
	return out, nil
}

// HistoryFiles are the files of a history table of a complete month: its parts
// in place, or still staged.
func HistoryFiles(warehouse, table string, m *MonthMarker) ([]string, error) {
	var out []string
	for i := range m.Parts {
		s := pipeline.Shard{Index: i, Count: m.Parts}
		p := HistoryPart(warehouse, m.Kind(), table, m.Month, s)
		if staged := HistoryStaged(warehouse, m.Kind(), m.Gen, table, m.Month, s); Exists(staged) {
			p = staged
		}
		if !Exists(p) {
			return nil, fmt.Errorf("%s history of %s: %s is missing (the month's marker names %d parts): backfill the month again with --force",
				m.Kind(), m.Month, p, m.Parts)
		}
		out = append(out, p)
	}
	return out, nil
}

// StoredResult is a date's stored result (SPEC §8): its nightly results, or
// its month's history of one kind.
type StoredResult struct {
	Date    pipeline.Date
	Nightly *Marker      // set when the date has nightly results
	Month   *MonthMarker // else the month whose history holds it
}

// Kind is the history a report of the stored result reads other dates from
// first (SPEC §8): its month's kind, and for nightly results --as-known (a
// nightly run knew only the deliveries of its date).
func (s *StoredResult) Kind() HistoryKind {
	if s.Nightly != nil {
		return AsKnown
	}
	return s.Month.Kind()
}

// Marker is the stored result's description as a nightly marker gives it:
// the run and the catalog version; for a history date, its month's rows.
func (s *StoredResult) Marker() *Marker {
	if s.Nightly != nil {
		return s.Nightly
	}
	m := &Marker{AsOf: s.Date.String(), RunID: s.Month.RunID, Shards: s.Month.Parts, Rows: s.Month.Rows, At: s.Month.At}
	if i := slices.Index(s.Month.Dates, s.Date.String()); i >= 0 && i < len(s.Month.CatalogVersions) {
		m.CatalogVersion = s.Month.CatalogVersions[i]
	}
	return m
}

// OpenStored returns a date's stored result, or nil when it has none: the
// nightly results when the date has them (a history never replaces them),
// else the history of the first of kinds whose month's marker lists the date.
func OpenStored(warehouse string, d pipeline.Date, kinds ...HistoryKind) (*StoredResult, error) {
	m, err := ReadMarker(warehouse, d)
	if err != nil {
		return nil, err
	}
	if m != nil {
		return &StoredResult{Date: d, Nightly: m}, nil
	}
	for _, k := range kinds {
		mm, err := ReadMonthMarker(warehouse, k, pipeline.Month(d))
		if err != nil {
			return nil, err
		}
		if mm != nil && slices.Contains(mm.Dates, d.String()) {
			return &StoredResult{Date: d, Month: mm}, nil
		}
	}
	return nil, nil
}

// Table is the SQL that reads a result table's rows at the stored date, with
// the columns of SPEC §6.2 (in no particular order of rows). An error names a
// file the date's marker promises and the warehouse lacks.
func (s *StoredResult) Table(warehouse, table string) (string, error) {
	if s.Nightly != nil {
		files, err := PartPaths(warehouse, s.Nightly, table)
		if err != nil {
			return "", err
		}
		return duck.ReadFiles(files), nil
	}
	files, err := HistoryFiles(warehouse, table, s.Month)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("%s_of_history([%s], DATE '%s')", table, strings.Join(duck.QuoteAll(duck.GlobEscaped(files)), ", "), s.Date), nil
}

// StoredDates lists the dates with a stored result, nightly or history of
// either kind, oldest first.
func StoredDates(warehouse string) ([]pipeline.Date, error) {
	out, err := CompleteDates(warehouse)
	if err != nil {
		return nil, err
	}
	for _, k := range HistoryKinds {
		months, err := HistoryMonths(warehouse, k)
		if err != nil {
			return nil, err
		}
		for _, m := range months {
			for _, s := range m.Dates {
				d, err := pipeline.ParseDate(s)
				if err != nil {
					return nil, fmt.Errorf("%s history marker of %s: %w", k, m.Month, err)
				}
				out = append(out, d)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out), nil
}

// LoadReaders makes history.sql's macros in the session.
func LoadReaders(ctx context.Context, e *duck.Session) error {
	b, err := files.ReadFile("history.sql")
	if err != nil {
		return err
	}
	return e.Script(ctx, "history.sql", string(b))
}

// writeReaders writes the warehouse's history.sql and the files of no rows its
// globs need (EmptyResult, EmptyHistory), with the schemas of the
// session's results (results.sql) and history (segments.sql); what is there
// already is kept.
func WriteReaders(ctx context.Context, e *duck.Session, warehouse string) error {
	b, err := files.ReadFile("history.sql")
	if err != nil {
		return err
	}
	path := HistorySQLFile(warehouse)
	if old, err := os.ReadFile(path); err != nil || string(old) != string(b) {
		if err := pipeline.WriteFileAtomic(path, b); err != nil {
			return err
		}
	}
	for _, t := range Tables {
		if p := EmptyResult(warehouse, t.Name); !Exists(p) {
			if _, err := e.CopyTo(ctx, fmt.Sprintf("SELECT * FROM %s_on(DATE '2000-01-01') LIMIT 0", t.Name), p); err != nil {
				return err
			}
		}
		for _, k := range HistoryKinds {
			if p := EmptyHistory(warehouse, k, t.Name); !Exists(p) {
				if _, err := e.CopyTo(ctx, MergeQuery(t, "seg_"+t.Name)+" LIMIT 0", p); err != nil {
					return err
				}
			}
		}
	}
	for _, k := range HistoryKinds {
		if p := filepath.Join(HistoryMarkersDir(warehouse, k), "_empty.json"); !Exists(p) {
			if err := pipeline.WriteFileAtomic(p, []byte(`{"month": "", "dates": []}`+"\n")); err != nil {
				return err
			}
		}
	}
	return nil
}

// Exists says whether a file is there.
func Exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// CheckMonth says whether the files a month's marker covers are all there.
func CheckMonth(warehouse string, m *MonthMarker) error {
	for _, t := range Tables {
		if _, err := HistoryFiles(warehouse, t.Name, m); err != nil {
			return err
		}
	}
	return nil
}
