package warehouse

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"attain/duck"
	"attain/pipeline"
)

// Landed data is one Parquet file per delivery and feed (SPEC §6.1): two years
// of daily deliveries are ~4,700 files, most of a few KB, and every scan of a
// feed opened each of them (~0.4 ms a file, a quarter of a compute). A compute
// therefore reads the months before the latest delivery from compacted copies:
// compacted/<feed>/<YYYY-MM>.parquet holds every row of the feed's files
// delivered in that month, each with its delivery_date, and <YYYY-MM>.json names
// those files by path, size and modification time. The copy is derived data:
// a month whose files differ from its manifest (a re-delivery, a late delivery
// dated in that month) is copied again before it is read, and landed/ stays
// what every other reader reads.

// SourceFile is a landed file as a manifest records it.
type SourceFile struct {
	Path    string `json:"path"` // relative to the warehouse
	Size    int64  `json:"size"`
	ModTime int64  `json:"mod_time_unix_ns"`
	abs     string // the path to read it by
}

// AbsPaths are the paths to read the files by.
func AbsPaths(files []SourceFile) []string {
	out := make([]string, len(files))
	for i, f := range files {
		out[i] = f.abs
	}
	return out
}

// compacts says whether a month of a feed is read from a compacted copy: a
// month before the latest delivery's, of more than one file.
func compacts(month, latest string, files int) bool { return month < latest && files > 1 }

// ReadParquet is the SQL that reads Parquet files; landed files carry
// delivery_date in their Hive path, compacted copies as a column.
func ReadParquet(paths []string, hive bool) string {
	return fmt.Sprintf("SELECT * FROM read_parquet([%s], hive_partitioning = %t, union_by_name = true)",
		strings.Join(duck.QuoteAll(duck.GlobEscaped(paths)), ", "), hive)
}

// FeedFiles are the Parquet files a compute reads for one feed.
type FeedFiles struct {
	Landed    []string     // landed files read where they lie (Hive-partitioned by delivery_date)
	Compacted []string     // compacted months (delivery_date a column)
	Sources   []SourceFile // every landed file of the feed, whichever way it is read
	Months    []MonthFiles // the same, month by month
}

// MonthFiles is one month of a feed's landed files and how a compute reads it.
type MonthFiles struct {
	Month     string
	Sources   []SourceFile
	Read      string // the SQL that reads its rows, with delivery_date
	Compacted bool   // read from its compacted copy
}

// LandedFiles lists, per feed, the files that hold its landed rows, bringing
// the compacted months up to date first. A month is compacted once a later
// month has a delivery of any feed; a month of one file, or one whose copy
// cannot be written, is read where it lies.
func LandedFiles(ctx context.Context, e *duck.Session, warehouse string) (map[string]FeedFiles, error) {
	months := map[string]map[string][]SourceFile{} // feed -> month -> files
	latest := ""
	for _, f := range pipeline.Feeds {
		paths, err := LandedPaths(LandedDir(warehouse, f.Name))
		if err != nil {
			return nil, err
		}
		months[f.Name] = map[string][]SourceFile{}
		for _, p := range paths {
			st, err := os.Stat(p)
			if err != nil {
				return nil, err
			}
			rel, _ := filepath.Rel(warehouse, p)
			day := strings.TrimPrefix(filepath.Base(filepath.Dir(p)), "delivery_date=")
			m := day[:min(7, len(day))]
			months[f.Name][m] = append(months[f.Name][m],
				SourceFile{Path: filepath.ToSlash(rel), Size: st.Size(), ModTime: st.ModTime().UnixNano(), abs: p})
			latest = max(latest, m)
		}
	}
	out := map[string]FeedFiles{}
	start, copied := time.Now(), 0
	for _, f := range pipeline.Feeds {
		dir := CompactedDir(warehouse, f.Name)
		var ff FeedFiles
		for _, m := range slices.Sorted(maps.Keys(months[f.Name])) {
			files := months[f.Name][m]
			ff.Sources = append(ff.Sources, files...)
			if compacts(m, latest, len(files)) {
				path, fresh, err := compactMonth(ctx, e, dir, m, files)
				if err == nil {
					if fresh {
						copied++
					}
					ff.Compacted = append(ff.Compacted, path)
					ff.Months = append(ff.Months, MonthFiles{m, files, ReadParquet([]string{path}, false), true})
					continue
				}
				// The copy only saves time: when it cannot be written (a full
				// disk), the month is read where it lies.
				if ctx.Err() != nil {
					return nil, ctx.Err()
				}
				if e.Log != nil {
					e.Log.Warn("landed month not compacted; reading its files", "feed", f.Name, "month", m, "error", err.Error())
				}
			}
			ff.Landed = append(ff.Landed, AbsPaths(files)...)
			ff.Months = append(ff.Months, MonthFiles{m, files, ReadParquet(AbsPaths(files), true), false})
		}
		if err := pruneCompacted(dir, months[f.Name], latest); err != nil && e.Log != nil {
			e.Log.Warn("compacted months not pruned", "feed", f.Name, "error", err.Error())
		}
		out[f.Name] = ff
	}
	if copied > 0 && e.Log != nil {
		e.Log.Debug("landed months compacted", "months", copied, "duration", time.Since(start).Round(time.Millisecond).String())
	}
	return out, nil
}

// LandedPaths lists the landed Parquet files of one feed's directory,
// feed/delivery_date=D/*.parquet, by exact names: a warehouse path may hold
// characters a glob pattern would read as a pattern.
func LandedPaths(feedDir string) ([]string, error) {
	days, err := os.ReadDir(feedDir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, d := range days {
		if !d.IsDir() || !strings.HasPrefix(d.Name(), "delivery_date=") {
			continue
		}
		files, err := duck.ParquetFiles(filepath.Join(feedDir, d.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, files...)
	}
	return out, nil
}

// compactMonth returns the compacted file of one feed's month, copying the
// month's landed files into it first (fresh) unless its manifest names exactly
// them.
func compactMonth(ctx context.Context, e *duck.Session, dir, month string, files []SourceFile) (path string, fresh bool, err error) {
	path = filepath.Join(dir, month+".parquet")
	start := time.Now()
	fresh, err = KeptCopy(filepath.Join(dir, month+".json"), path, files, func() error {
		_, err := e.CopyTo(ctx, ReadParquet(AbsPaths(files), true), path)
		return err
	})
	if err != nil {
		return "", false, err
	}
	if fresh && e.Log != nil {
		e.Log.Debug("landed month compacted", "path", path, "files", len(files), "duration", time.Since(start).Round(time.Millisecond).String())
	}
	return path, fresh, nil
}

// KeptCopy brings a derived copy (a compacted month, a month's split) up to
// date with what its manifest says it is made from: when the manifest at
// manifest holds want and the copy at copyPath exists, nothing is written;
// else the manifest goes first, write makes the copy, and the manifest comes
// back last, so a crash in between leaves a copy that is made again.
func KeptCopy(manifest, copyPath string, want any, write func() error) (fresh bool, err error) {
	b, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		return false, err
	}
	b = append(b, '\n')
	if have, err := os.ReadFile(manifest); err == nil && string(have) == string(b) {
		if _, err := os.Stat(copyPath); err == nil {
			return false, nil
		}
	}
	if err := os.Remove(manifest); err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	if err := write(); err != nil {
		return false, err
	}
	return true, pipeline.WriteFileAtomic(manifest, b)
}

// pruneCompacted removes the compacted months whose landed files are gone, or
// that are not closed. It only frees disk: a copy is read only when its
// manifest names the month's landed files as they are.
func pruneCompacted(dir string, months map[string][]SourceFile, latest string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, en := range entries {
		m := strings.TrimSuffix(strings.TrimSuffix(en.Name(), ".json"), ".parquet")
		if compacts(m, latest, len(months[m])) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, en.Name())); err != nil {
			return err
		}
	}
	return nil
}
