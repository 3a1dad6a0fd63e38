package sql

import (
	"context"
	dbsql "database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"attain/pipeline"
)

//go:embed *.sql
var files embed.FS

// Steps are the rule files in the order they run.
var Steps = []string{
	"calendar.sql", "restate.sql", "fx.sql", "quality.sql", "range.sql", "people.sql", "timelines.sql", "scores.sql", "intervals.sql", "changes.sql",
	"points.sql", "frozen.sql", "requirements.sql", "levels.sql", "renewal.sql", "causes.sql", "needs.sql", "keypeople.sql",
}

// Engine is one DuckDB session: temporary tables live on its one connection.
type Engine struct {
	db   *dbsql.DB
	conn *dbsql.Conn
	// Log, when set, is told how long each step took (timed).
	Log *slog.Logger
	// OnStep, when set, is told each step as it starts (a progress line).
	OnStep        func(step string)
	eachStatement bool                 // Settings.EachStatement
	spillDir      string               // DuckDB's, where the engine's own scratch files go too
	found         map[string]bool      // the feeds whose repeated keys are found (repeatedKeys)
	dataID        string               // what the loaded data is: the SHA-256 of its files' manifest
	split         bool                 // the session makes the split: restate.sql restates only what is not split in units
	files         map[string]feedFiles // what LoadLanded reads, by feed
	until         pipeline.Date        // the last delivery date LoadLanded reads
}

// Settings are DuckDB's resource limits (SPEC §7).
type Settings struct {
	MemoryLimit string
	Threads     int
	SpillDir    string
	// KeepOrder makes scans return rows in the order of their files (reports
	// publish result files in their order); compute leaves DuckDB free to
	// reorder, which saves memory.
	KeepOrder bool
	// EachStatement times each statement of a rule file on its own
	// (ATTAIN_DEBUG=statements): where a step's time goes.
	EachStatement bool
}

// Open starts an in-memory DuckDB with the memory limit, threads and spill
// directory set explicitly: DuckDB's own default follows the host's memory, not
// a container's.
func Open(ctx context.Context, s Settings) (*Engine, error) {
	connector, err := duckdb.NewConnector("", nil)
	if err != nil {
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	db := dbsql.OpenDB(connector)
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		return nil, fmt.Errorf("open duckdb: %w", err)
	}
	e := &Engine{db: db, conn: conn, spillDir: s.SpillDir, eachStatement: s.EachStatement}
	if e.spillDir == "" {
		e.spillDir = os.TempDir()
	}
	if s.SpillDir != "" {
		if err := os.MkdirAll(s.SpillDir, 0o755); err != nil {
			e.Close()
			return nil, err
		}
	}
	for _, st := range []struct {
		q string
		v any
	}{
		{"SET memory_limit = ?", s.MemoryLimit},
		{"SET threads = ?", s.Threads},
		{"SET temp_directory = ?", s.SpillDir},
		{"SET TimeZone = ?", "UTC"},
		{"SET preserve_insertion_order = ?", s.KeepOrder},
	} {
		if _, err := conn.ExecContext(ctx, st.q, st.v); err != nil {
			e.Close()
			return nil, fmt.Errorf("duckdb %s: %w", st.q, err)
		}
	}
	return e, nil
}

// Close ends the session.
func (e *Engine) Close() error {
	e.conn.Close()
	return e.db.Close()
}

// Exec runs one statement with bound arguments.
func (e *Engine) Exec(ctx context.Context, q string, args ...any) error {
	_, err := e.conn.ExecContext(ctx, q, args...)
	return err
}

// SetVar sets a variable the .sql files read with getvariable.
func (e *Engine) SetVar(ctx context.Context, name string, v any) error {
	return e.Exec(ctx, "SET VARIABLE "+name+" = ?", v)
}

// Run executes an embedded .sql file.
func (e *Engine) Run(ctx context.Context, file string) error {
	q, err := source(file, e.found, e.split)
	if err != nil {
		return err
	}
	if e.eachStatement {
		return e.runStatements(ctx, file, q)
	}
	return e.timed(file, func() error {
		if _, err := e.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", file, err)
		}
		return nil
	})
}

// runStatements runs a file a statement at a time, each timed as file#n
// (Settings.EachStatement). Statements end with ";" at a line's
// end; one of comments only is no statement.
func (e *Engine) runStatements(ctx context.Context, file, q string) error {
	for i, st := range strings.Split(q, ";\n") {
		code := false
		for _, l := range strings.Split(st, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				code = true
			}
		}
		if !code {
			continue
		}
		if err := e.timed(fmt.Sprintf("%s#%d", file, i), func() error {
			_, err := e.conn.ExecContext(ctx, st)
			return err
		}); err != nil {
			return fmt.Errorf("%s, statement %d: %w", file, i, err)
		}
	}
	return nil
}

// timed runs one step of a compute and, with a Log, tells it how long the step
// took (at debug level: ATTAIN_DEBUG=1; the compute benchmark sums them).
func (e *Engine) timed(step string, fn func() error) error {
	if e.OnStep != nil {
		e.OnStep(step)
	}
	start := time.Now()
	err := fn()
	if e.Log != nil && err == nil {
		e.Log.Debug("compute step", "step", step, "seconds", time.Since(start).Seconds())
	}
	return err
}

// Query runs a query and returns its rows as Go values.
func (e *Engine) Query(ctx context.Context, q string, args ...any) ([][]any, error) {
	rows, err := e.conn.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	cols, err := rows.Columns()
	if err != nil {
		return nil, err
	}
	var out [][]any
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, err
		}
		out = append(out, vals)
	}
	return out, rows.Err()
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
// months, compact.go): DuckDB scans them about as fast as a table in memory,
// and copying two years of revenue into memory cost more than every scan of it
// the rules make.
func (e *Engine) LoadLanded(ctx context.Context, warehouse string, knownBy *pipeline.Date) ([]sourceFile, error) {
	files, err := e.landedFiles(ctx, warehouse)
	if err != nil {
		return nil, err
	}
	until := pipeline.MustDate("9999-12-31")
	if knownBy != nil {
		until = *knownBy
	}
	e.files, e.until = files, until
	var sources []sourceFile
	for _, f := range pipeline.Feeds {
		name := "landed_" + f.Name
		ff := files[f.Name]
		sources = append(sources, ff.sources...)
		var reads []string
		// A view cannot take bound parameters: the paths and the date are quoted
		// literals (a date's text is digits and dashes).
		if len(ff.landed) > 0 {
			reads = append(reads, readParquet(ff.landed, true))
		}
		if len(ff.compacted) > 0 {
			reads = append(reads, readParquet(ff.compacted, false))
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
		Until string       `json:"until"`
		Files []sourceFile `json:"files"`
	}{until.String(), sources})
	if err != nil {
		return nil, err
	}
	e.dataID = manifestID(b)
	return sources, nil
}

// quote makes a SQL string literal.
func quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// CopyTo writes a query's rows to a Parquet file atomically and returns how
// many. Its temporary file is the process's own: two processes that complete a
// date at once both write its data_quality part (parts.go).
func (e *Engine) CopyTo(ctx context.Context, query, path string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	tmp := pipeline.TempName(path, true)
	q := fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", query, quote(tmp))
	res, err := e.conn.ExecContext(ctx, q)
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		os.Remove(tmp)
		return 0, err
	}
	f, err := os.Open(tmp)
	if err != nil {
		return 0, err
	}
	serr := f.Sync()
	f.Close()
	if serr != nil {
		return 0, serr
	}
	if err := os.Rename(tmp, path); err != nil {
		return 0, err
	}
	return n, pipeline.SyncDir(filepath.Dir(path))
}

var errNoVersion = errors.New("no catalog version is in force")

// DuckDBVersion is the version of the DuckDB linked in.
func DuckDBVersion(ctx context.Context) (string, error) {
	e, err := Open(ctx, Settings{MemoryLimit: "64MiB", Threads: 1})
	if err != nil {
		return "", err
	}
	defer e.Close()
	rows, err := e.Query(ctx, "SELECT version()")
	if err != nil {
		return "", err
	}
	return fmt.Sprint(rows[0][0]), nil
}
