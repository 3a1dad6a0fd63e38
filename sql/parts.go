package sql

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"attain/pipeline"
)

// The completion protocol of a date's results (SPEC §6.1, §7.1). Each shard
// writes its part of every result table of the date, then its part marker,
// results/_parts/<D>/<i>-of-<N>.json, naming the data it computed from. The
// process that finds all N part markers of one N and one data written writes
// the date's marker, results/_complete/<D>.json, by a hard link that fails
// when the marker exists: exactly one process completes a date, whichever
// writes the last part, and a date is never complete with a part missing,
// with parts of two N, or with parts computed from two states of the landed
// data. A compute removes the date's marker before it writes any part.
//
// The data-quality counts are of all organizations: each shard counts its own
// (quality.sql) into its part marker and writes no data_quality rows, and the
// process that completes the date writes their sums as the first part's rows
// before the marker. What it writes depends on the part markers alone, so two
// processes that complete at once write the same bytes.

// PartMarker says that one shard's part of a date's results is written.
type PartMarker struct {
	AsOf    string           `json:"as_of"`
	RunID   string           `json:"run_id"`
	Shard   int              `json:"shard"`
	Shards  int              `json:"shards"`
	Data    string           `json:"data"` // what the shard computed from: the SHA-256 of the landed files' manifest
	KnownBy string           `json:"known_by,omitempty"`
	Rows    map[string]int64 `json:"rows"`
	Quality []QualityCount   `json:"quality,omitempty"` // the shard's data-quality counts, when of several
	At      time.Time        `json:"at"`
}

// QualityCount is one data-quality count (a data_quality row but its date).
type QualityCount struct {
	Check string `json:"check_name"`
	Feed  string `json:"feed"`
	Rows  int64  `json:"rows"`
}

// writePartMarker writes a shard's part marker, and removes those of other
// numbers of shards (an earlier compute's).
func writePartMarker(warehouse string, m PartMarker) error {
	dir := pipeline.PartsDir(warehouse, pipeline.MustDate(m.AsOf))
	entries, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	suffix := fmt.Sprintf("-of-%d.json", m.Shards)
	for _, en := range entries {
		if !strings.HasSuffix(en.Name(), suffix) && !strings.HasSuffix(en.Name(), pipeline.TempSuffix) {
			if err := os.Remove(filepath.Join(dir, en.Name())); err != nil && !errors.Is(err, os.ErrNotExist) {
				return err
			}
		}
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	return pipeline.WriteFileAtomic(filepath.Join(dir, fmt.Sprintf("%d-of-%d.json", m.Shard, m.Shards)), append(b, '\n'))
}

// completeDate writes the date's marker (m, with the rows of every part) when
// all n parts are written from data, and says whether this call wrote it.
// With several parts it first has writeQuality write the sums of their
// data-quality counts (and counts the rows it wrote).
func completeDate(warehouse string, d pipeline.Date, n int, data string, m Marker,
	writeQuality func([]QualityCount) (int64, error)) (bool, error) {
	m.Rows = map[string]int64{}
	var quality []QualityCount
	for i := range n {
		b, err := os.ReadFile(filepath.Join(pipeline.PartsDir(warehouse, d), fmt.Sprintf("%d-of-%d.json", i, n)))
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		var p PartMarker
		if err := json.Unmarshal(b, &p); err != nil {
			return false, fmt.Errorf("part marker of %s: %w", d, err)
		}
		if p.Data != data || p.KnownBy != m.KnownBy {
			return false, nil // that shard computed from other data: it runs again
		}
		for t, r := range p.Rows {
			m.Rows[t] += r
		}
		quality = append(quality, p.Quality...)
	}
	if n > 1 {
		rows, err := writeQuality(quality)
		if err != nil {
			return false, err
		}
		m.Rows["data_quality"] = rows
	}
	b, _ := json.MarshalIndent(m, "", "  ")
	path := pipeline.MarkerPath(warehouse, d)
	tmp := pipeline.TempName(path, true)
	if err := pipeline.WriteFileAtomic(tmp, append(b, '\n')); err != nil {
		return false, err
	}
	defer os.Remove(tmp)
	if err := os.Link(tmp, path); errors.Is(err, os.ErrExist) {
		return false, nil // another shard's process completed it
	} else if err != nil {
		return false, err
	}
	return true, pipeline.SyncDir(filepath.Dir(path))
}

// manifestID is the SHA-256 of a manifest's bytes.
func manifestID(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}
