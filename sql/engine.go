package sql

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"attain/duck"
	"attain/pipeline"
	"attain/warehouse"
)

//go:embed *.sql
var files embed.FS

// Steps are the rule files in the order they run.
var Steps = []string{
	"calendar.sql", "restate.sql", "fx.sql", "quality.sql", "range.sql", "people.sql", "timelines.sql", "scores.sql", "intervals.sql", "changes.sql",
	"points.sql", "frozen.sql", "requirements.sql", "levels.sql", "renewal.sql", "causes.sql", "needs.sql", "keypeople.sql",
}

// Engine is one DuckDB session (duck.Session) as the rules use it: temporary
// tables live on its one connection, and it remembers what it loaded.
type Engine struct {
	*duck.Session
	found  map[string]bool                // the feeds whose repeated keys are found (repeatedKeys)
	dataID string                         // what the loaded data is: the SHA-256 of its files' manifest
	split  bool                           // the session makes the split: restate.sql restates only what is not split in units
	files  map[string]warehouse.FeedFiles // what LoadLanded reads, by feed
	until  pipeline.Date                  // the last delivery date LoadLanded reads
}

// Open starts a DuckDB session for the rules (duck.Open).
func Open(ctx context.Context, s duck.Settings) (*Engine, error) {
	ds, err := duck.Open(ctx, s)
	if err != nil {
		return nil, err
	}
	return &Engine{Session: ds}, nil
}

// Run executes an embedded .sql file, timed as a step.
func (e *Engine) Run(ctx context.Context, file string) error {
	q, err := source(file, e.found, e.split)
	if err != nil {
		return err
	}
	return e.Script(ctx, file, q)
}

// duckType is the DuckDB type a feed column lands as (see ingest's Parquet schema).
func duckType(k pipeline.Kind) string {
	switch k {
	case pipeline.KindDate, pipeline.KindMonth:
		return "DATE"
	case pipeline.KindTimestamp:
		return "TIMESTAMP"
	case pipeline.KindInt:
		return "BIGINT"
	case pipeline.KindMoney:
		return "DECIMAL(18,4)"
	case pipeline.KindRate:
		return "DOUBLE"
	}
	return "VARCHAR"
}

// LoadLanded makes a view landed_<feed> of every landed row of each feed, and
// returns the landed files it reads. With knownBy set, only deliveries dated on
// or before it are read (--as-known). A feed with nothing landed gets an empty
// view of the right columns.
//
// The views read Parquet files where they lie (landed files and compacted
// months, warehouse/landed.go): DuckDB scans them about as fast as a table in memory,
// and copying two years of revenue into memory cost more than every scan of it
// the rules make.
func (e *Engine) LoadLanded(ctx context.Context, wh string, knownBy *pipeline.Date) ([]warehouse.SourceFile, error) {
	files, err := warehouse.LandedFiles(ctx, e.Session, wh)
	if err != nil {
		return nil, err
	}
	until := pipeline.MustDate("9999-12-31")
	if knownBy != nil {
		until = *knownBy
	}
	e.files, e.until = files, until
	var sources []warehouse.SourceFile
	for _, f := range pipeline.Feeds {
		name := "landed_" + f.Name
		ff := files[f.Name]
		sources = append(sources, ff.Sources...)
		var reads []string
		// A view cannot take bound parameters: the paths and the date are quoted
		// literals (a date's text is digits and dashes).
		if len(ff.Landed) > 0 {
			reads = append(reads, warehouse.ReadParquet(ff.Landed, true))
		}
		if len(ff.Compacted) > 0 {
			reads = append(reads, warehouse.ReadParquet(ff.Compacted, false))
		}
		if len(reads) == 0 {
			reads = append(reads, emptyFeed(f, true))
		}
		q := fmt.Sprintf("CREATE OR REPLACE TEMP VIEW %s AS SELECT * FROM (%s) WHERE delivery_date <= DATE '%s'",
			name, strings.Join(reads, " UNION ALL BY NAME "), until)
		if err := e.Exec(ctx, q); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	b, err := json.Marshal(struct {
		Until string                 `json:"until"`
		Files []warehouse.SourceFile `json:"files"`
	}{until.String(), sources})
	if err != nil {
		return nil, err
	}
	e.dataID = warehouse.ManifestID(b)
	return sources, nil
}

var errNoVersion = errors.New("no catalog version is in force")
