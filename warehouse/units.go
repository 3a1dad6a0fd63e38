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

	"attain/duck"
	"attain/pipeline"
)

// Units of deliveries: the split of a feed's landed rows by shard that a
// compute reads (package sql makes it and ranks what each unit supersedes).

// SplitFormat changes when the split's layout or contents change, so that a
// split written by an older build is made again.
const SplitFormat = 5

// SplitWhole says whether every file a split names is still there: its global
// tables, and each unit it reads with the rows its deliveries supersede. Derived
// state may be deleted at any time (a disk cleaned by hand): a split that lost
// a unit is made again, which makes the lost unit again (SplitFeed).
func SplitWhole(warehouse, dir string, globals []string) bool {
	for _, t := range globals {
		if _, err := os.Stat(filepath.Join(dir, "_global", t+".parquet")); err != nil {
			return false
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "units.json"))
	if err != nil {
		return false
	}
	var units map[string][]string
	if json.Unmarshal(b, &units) != nil {
		return false
	}
	for _, dirs := range units {
		for _, d := range dirs {
			unit := filepath.Join(warehouse, filepath.FromSlash(d))
			for _, p := range []string{unit, SupersededPath(unit)} {
				if _, err := os.Stat(p); err != nil {
					return false
				}
			}
		}
	}
	return true
}

// SupersededPath is where the rows a unit's deliveries supersede are kept.
func SupersededPath(unit string) string { return unit + ".superseded.parquet" }

// unitManifest says what one unit of a feed's split was made from.
type unitManifest struct {
	Format  int          `json:"format"`
	Shards  int          `json:"shards"`
	Until   string       `json:"until,omitempty"` // when it leaves out the unit's later deliveries
	Sources []SourceFile `json:"sources"`
}

// Unit is one unit of a feed's split as a compute reads it.
type Unit struct {
	Path     string   // <dir>/<unit>: shard=<i>/ (or shard=all) below it
	Files    []string // its Parquet files, of every shard
	Manifest []byte   // its manifest's bytes
}

// SplitFeed splits a feed's landed rows by shard, a compacted month at a
// time and the other deliveries (the latest month's) a delivery date at a time,
// into dir/<YYYY-MM or YYYY-MM-DD>/shard=<i>/, every landed row with where it
// came from (source_file, source_line, source_part, delivery_date) and the hash
// of its key (h), and returns these units in order. A unit whose manifest
// (dir/<unit>.json) names its landed files as they are is kept from an earlier
// split, so a night splits its own delivery; the month it closes is split
// again once, as a month. Units no longer landed are removed; those delivered
// after the date a compute knows the data by are left as they are.
//
// months are the feed's landed files (LandedFiles), until the last delivery
// date the compute reads, and partition the SQL of a row's partition
// (shard=<partition>/): the shard of its organization, or all.
func SplitFeed(ctx context.Context, e *duck.Session, dir string, n int, f *pipeline.Feed, months []MonthFiles, until pipeline.Date, partition string) ([]Unit, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var out []Unit
	keep := map[string]bool{}
	for _, m := range deliveryUnits(months) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		want := unitManifest{Format: SplitFormat, Shards: n}
		for _, src := range m.Sources {
			if deliveryOf(src.Path) <= until.String() {
				want.Sources = append(want.Sources, src)
			} else {
				want.Until = until.String()
			}
		}
		// a unit delivered after --as-known's date is kept for later
		// computes, not read by this one
		for _, suffix := range []string{"", ".json", ".superseded.parquet", ".superseded.json"} {
			keep[m.Month+suffix] = true
		}
		if len(want.Sources) == 0 {
			continue
		}
		path := filepath.Join(dir, m.Month)
		if _, err := KeptCopy(filepath.Join(dir, m.Month+".json"), path, want, func() error {
			tmp := pipeline.TempName(path, false)
			if err := os.RemoveAll(tmp); err != nil {
				return err
			}
			q := fmt.Sprintf("SELECT *, hash(%s) AS h, %s AS shard FROM (%s) WHERE delivery_date <= DATE '%s'",
				strings.Join(f.Key, ", "), partition, m.Read, until)
			if err := e.CopyPartitioned(ctx, q, tmp); err != nil {
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
		manifest, err := os.ReadFile(filepath.Join(dir, m.Month+".json"))
		if err != nil {
			return nil, err
		}
		sm := Unit{Path: path, Manifest: manifest}
		parts, err := os.ReadDir(path)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return nil, err
		}
		for _, p := range parts {
			files, err := duck.ParquetFiles(filepath.Join(path, p.Name()))
			if err != nil {
				return nil, err
			}
			sm.Files = append(sm.Files, files...)
		}
		out = append(out, sm)
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

// deliveryUnits are the units a feed is split by: each compacted month, and each
// delivery date of the months read where they lie (the latest).
func deliveryUnits(months []MonthFiles) []MonthFiles {
	var out []MonthFiles
	for _, m := range months {
		if m.Compacted {
			out = append(out, m)
			continue
		}
		days := map[string][]SourceFile{}
		for _, src := range m.Sources {
			days[deliveryOf(src.Path)] = append(days[deliveryOf(src.Path)], src)
		}
		for _, day := range slices.Sorted(maps.Keys(days)) {
			out = append(out, MonthFiles{Month: day, Sources: days[day], Read: ReadParquet(AbsPaths(days[day]), true)})
		}
	}
	return out
}

// deliveryOf is the delivery date of a landed file from its path
// (landed/<feed>/delivery_date=D/…).
func deliveryOf(path string) string {
	return strings.TrimPrefix(filepath.Base(filepath.Dir(path)), "delivery_date=")
}
