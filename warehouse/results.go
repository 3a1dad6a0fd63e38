package warehouse

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"attain/duck"
	"attain/pipeline"
)

// Table is a result table of SPEC §6.2 and the order its rows are written in.
type Table struct {
	Name    string
	Columns string // the columns in order
	OrderBy string
}

// Tables are the result tables, in the order of SPEC §6.2, plus what the workbook
// says each at_risk and lapsed member needs (SPEC §6.3), the rows left out at
// compute time and the data-quality counts.
var Tables = []Table{
	{"attainment", "as_of, org_id, org_name, competency_id, competency_name, level, basis, lapses_on, days_to_lapse", "org_id, competency_id"},
	{"requirements", "as_of, org_id, competency_id, level, path, metric, value, min, met, lapses_on", "org_id, competency_id, level, path, metric, min, value"},
	{"renewal_risk", "as_of, org_id, org_name, membership_level, purchased_on, anniversary_on, days_to_anniversary, in_grace, status, supporting_competencies, lapses_on, cause, upgrade_eligible, eligible_level, alert", "org_id"},
	{"alerts", "as_of, org_id, org_name, membership_level, previous_status, status, message, cause", "org_id"},
	{"expiring", "as_of, org_id, individual_id, competency_id, kind, code, ends_on, days_left", "org_id, individual_id NULLS FIRST, competency_id, kind, code, ends_on"},
	{"profile", "as_of, org_id, competency_id, displayed_level", "org_id, competency_id"},
	{"key_people", "as_of, org_id, org_name, membership_level, individual_id, status_now, status_if_leaves, lapses_on_now, lapses_on_if_leaves, competencies", "org_id, individual_id"},
	{"needs", "as_of, org_id, needs", "org_id"},
	{"compute_quarantine", "as_of, feed, file, line, \"column\", reason", "file, line"},
	{"data_quality", "as_of, check_name, feed, rows", "check_name, feed"},
}

// TableOrder is the ORDER BY of a result table's rows: its key, then every
// column, so that rows read from any number of parts come in one order.
func TableOrder(table string) string {
	for _, t := range Tables {
		if t.Name == table {
			return t.OrderBy + ", " + t.Columns
		}
	}
	return "ALL"
}

// ResultFiles lists the files that hold a result table of a date, every
// *.parquet file in its directory (SPEC §6.1), by exact name.
func ResultFiles(warehouse, table string, d pipeline.Date) ([]string, error) {
	return duck.ParquetFiles(ResultDir(warehouse, table, d))
}

// Marker is written last, once every table of a date is: a date's results are
// complete only when its marker exists.
type Marker struct {
	AsOf           string                `json:"as_of"`
	RunID          string                `json:"run_id"`
	CatalogVersion string                `json:"catalog_version"`
	KnownBy        string                `json:"known_by,omitempty"`
	Shards         int                   `json:"shards"` // each table is this many parts
	Gen            string                `json:"gen,omitempty"`
	Rows           map[string]int64      `json:"rows"`
	Parts          map[string][]PartFile `json:"parts,omitempty"` // each table's parts, in shard order
	At             time.Time             `json:"at"`
}

// CheckComplete says whether the result files a marker covers are all there
// and are the parts it pinned (PartPaths); the error names a file.
func CheckComplete(warehouse string, m *Marker) error {
	for _, t := range Tables {
		if _, err := PartPaths(warehouse, m, t.Name); err != nil {
			return err
		}
	}
	return nil
}

// ReadMarker returns the marker of a date, or nil when its results are not complete.
func ReadMarker(warehouse string, d pipeline.Date) (*Marker, error) {
	return ReadJSON[Marker](MarkerPath(warehouse, d))
}

// CompleteDates lists the dates with complete results, oldest first.
func CompleteDates(warehouse string) ([]pipeline.Date, error) {
	entries, err := os.ReadDir(MarkersDir(warehouse))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []pipeline.Date
	for _, e := range entries {
		if d, err := pipeline.ParseDate(strings.TrimSuffix(e.Name(), ".json")); err == nil && strings.HasSuffix(e.Name(), ".json") {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// The completion protocol of a date's results (SPEC §6.1, §7.1). Each shard
// writes its part of every result table of the date aside, staged under
// results/.staging/<D>/<gen>/ (gen: what the parts are computed from — the
// landed data, --as-known and the number of shards N), then its part marker,
// results/_parts/<D>/<i>-of-<N>.json, naming the generation and each staged
// file's rows, size and SHA-256. The process that finds, under the date's
// completion lock, all N part markers of one generation with their staged
// files writes the date's marker, results/_complete/<D>.json, which replaces
// the earlier one and pins every part's size and SHA-256, and then moves the
// staged parts into place: the marker is the commit. Until then the date's
// earlier results stay as they were (a re-run that is stopped leaves them);
// a date is never complete with a part missing, with parts of two N, or with
// parts computed from two states of the landed data; a reader whose files do
// not match the marker refuses them, naming the file (CheckPart).
//
// The data-quality counts are of all organizations: each shard counts its own
// (quality.sql) into its part marker and writes no data_quality rows, and the
// process that completes the date writes their sums as the first part's rows
// before the marker.

// PartFile is one written part of a result table: its file's base name,
// rows, size and SHA-256.
type PartFile struct {
	File   string `json:"file"`
	Rows   int64  `json:"rows"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
}

// PartMarker says that one shard's part of a date's results is staged.
type PartMarker struct {
	AsOf    string              `json:"as_of"`
	RunID   string              `json:"run_id"`
	Shard   int                 `json:"shard"`
	Shards  int                 `json:"shards"`
	Data    string              `json:"data"` // what the shard computed from: the SHA-256 of the landed files' manifest
	KnownBy string              `json:"known_by,omitempty"`
	Gen     string              `json:"gen"`
	Rows    map[string]int64    `json:"rows"`
	Files   map[string]PartFile `json:"files"`             // by table
	Quality []QualityCount      `json:"quality,omitempty"` // the shard's data-quality counts, when of several
	At      time.Time           `json:"at"`
}

// QualityCount is one data-quality count (a data_quality row but its date).
type QualityCount struct {
	Check string `json:"check_name"`
	Feed  string `json:"feed"`
	Rows  int64  `json:"rows"`
}

// ResultGen names the generation of a date's results: the landed data they
// are computed from, --as-known and the number of shards.
func ResultGen(d pipeline.Date, shards int, data, knownBy string) string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s|%d|%s|%s", d, shards, data, knownBy))
	return hex.EncodeToString(h[:])[:16]
}

// PartFileOf describes a written file.
func PartFileOf(path string, rows int64) (PartFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return PartFile{}, err
	}
	defer f.Close()
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return PartFile{}, err
	}
	return PartFile{File: filepath.Base(path), Rows: rows, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))}, nil
}

// WritePartMarker writes a shard's part marker.
func WritePartMarker(warehouse string, m PartMarker) error {
	dir := PartsDir(warehouse, pipeline.MustDate(m.AsOf))
	b, _ := json.MarshalIndent(m, "", "  ")
	return pipeline.WriteFileAtomic(filepath.Join(dir, fmt.Sprintf("%d-of-%d.json", m.Shard, m.Shards)), append(b, '\n'))
}

// CompleteDate writes the date's marker (m, with the parts' rows and files)
// when all n parts of generation gen are staged, moves them into place, and
// says whether this call did. With several parts it first has writeQuality
// write the sums of their data-quality counts, staged in place of the first part's
// data_quality, and returns that file's description.
func CompleteDate(ctx context.Context, warehouse string, d pipeline.Date, n int, gen string, m Marker,
	writeQuality func([]QualityCount) (PartFile, error)) (bool, error) {
	host, _ := os.Hostname()
	lock, err := pipeline.Acquire(ctx, PartsDir(warehouse, d), "complete.lock",
		fmt.Sprintf("attain compute, pid %d on %s", os.Getpid(), host), pipeline.LockMode{Wait: true})
	if err != nil {
		return false, err
	}
	defer lock.Release()
	m.Gen, m.Shards = gen, n
	m.Rows, m.Parts = map[string]int64{}, map[string][]PartFile{}
	var quality []QualityCount
	for i := range n {
		p, err := ReadJSON[PartMarker](filepath.Join(PartsDir(warehouse, d), fmt.Sprintf("%d-of-%d.json", i, n)))
		if err != nil || p == nil {
			return false, err
		}
		if p.Gen != gen {
			return false, nil // that shard computed from other data: it runs again
		}
		for _, t := range Tables {
			f, ok := p.Files[t.Name]
			if !ok || !Exists(filepath.Join(ResultStagingDir(warehouse, d, gen), f.File)) {
				// not written, or moved into place by the process that completed it
				return false, nil
			}
			m.Parts[t.Name] = append(m.Parts[t.Name], f)
			m.Rows[t.Name] += f.Rows
		}
		quality = append(quality, p.Quality...)
	}
	if n > 1 {
		f, err := writeQuality(quality)
		if err != nil {
			return false, err
		}
		m.Parts["data_quality"][0] = f
		m.Rows["data_quality"] = f.Rows
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	if err := pipeline.WriteFileAtomic(MarkerPath(warehouse, d), append(b, '\n')); err != nil {
		return false, err
	}
	return true, publishDate(warehouse, &m)
}

// publishDate moves a complete date's staged parts into place and removes the
// date's other result files (an earlier compute's), and the staged parts no
// part marker names any more (a stopped compute's).
func publishDate(warehouse string, m *Marker) error {
	d := pipeline.MustDate(m.AsOf)
	staging := ResultStagingDir(warehouse, d, m.Gen)
	for _, t := range Tables {
		dir := ResultDir(warehouse, t.Name, d)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		keep := map[string]bool{}
		for _, f := range m.Parts[t.Name] {
			keep[f.File] = true
			if err := os.Rename(filepath.Join(staging, f.File), filepath.Join(dir, f.File)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
		entries, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, en := range entries {
			if !keep[en.Name()] && !strings.HasPrefix(en.Name(), ".") {
				if err := os.Remove(filepath.Join(dir, en.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
					return err
				}
			}
		}
		if err := pipeline.SyncDir(dir); err != nil {
			return err
		}
	}
	// staged generations no part marker names: stopped computes'
	named := map[string]bool{}
	markers, _ := os.ReadDir(PartsDir(warehouse, d))
	for _, en := range markers {
		var p PartMarker
		if b, err := os.ReadFile(filepath.Join(PartsDir(warehouse, d), en.Name())); err == nil && json.Unmarshal(b, &p) == nil {
			named[p.Gen] = true
		}
	}
	gens, _ := os.ReadDir(filepath.Dir(staging))
	for _, en := range gens {
		if en.Name() == m.Gen || !named[en.Name()] {
			if err := os.RemoveAll(filepath.Join(filepath.Dir(staging), en.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}

// PartPaths are the files of a result table of a complete date, each checked
// against the marker (CheckPart): in place, or still staged when the process
// that completed the date stopped before it moved them. A marker that names
// no parts (hand-made, or of an earlier build) gives the table's files when
// there are as many as its shards.
func PartPaths(warehouse string, m *Marker, table string) ([]string, error) {
	d, err := pipeline.ParseDate(m.AsOf)
	if err != nil {
		return nil, err
	}
	if m.Parts == nil {
		files, err := ResultFiles(warehouse, table, d)
		if err != nil {
			return nil, err
		}
		if want := max(m.Shards, 1); len(files) != want {
			return nil, fmt.Errorf("results of %s: %s has %d files, the marker says %d", m.AsOf, table, len(files), want)
		}
		return files, nil
	}
	parts := m.Parts[table]
	if len(parts) != max(m.Shards, 1) {
		return nil, fmt.Errorf("results of %s: the marker names %d parts of %s, of %d shards", m.AsOf, len(parts), table, m.Shards)
	}
	var out []string
	for _, f := range parts {
		// in place; else still staged (a process stopped between the marker
		// and the move); a part staged again by a later compute of the same
		// data is not the one pinned unless equal
		path := filepath.Join(ResultDir(warehouse, table, d), f.File)
		err := CheckPart(path, f)
		if staged := filepath.Join(ResultStagingDir(warehouse, d, m.Gen), f.File); err != nil && CheckPart(staged, f) == nil {
			path, err = staged, nil
		}
		if err != nil {
			return nil, fmt.Errorf("results of %s: %w", m.AsOf, err)
		}
		out = append(out, path)
	}
	return out, nil
}

// CheckPart says whether the file at path is the part the marker pinned: its
// size and SHA-256. The error names the file.
func CheckPart(path string, want PartFile) error {
	info, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("%s is missing: %w", path, err)
	}
	if info.Size() != want.Size {
		return fmt.Errorf("%s has %d bytes, the marker says %d: it is not the part that completed the date", path, info.Size(), want.Size)
	}
	got, err := PartFileOf(path, want.Rows)
	if err != nil {
		return err
	}
	if got.SHA256 != want.SHA256 {
		return fmt.Errorf("%s is not the part that completed the date (its SHA-256 differs from the marker's)", path)
	}
	return nil
}

// ManifestID is the SHA-256 of a manifest's bytes.
func ManifestID(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
