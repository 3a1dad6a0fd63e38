// Package duck is the DuckDB session the rules (package sql) and the
// warehouse's storage (package warehouse) both use: one connection with its
// resource limits set, statements timed as steps, Parquet written atomically,
// rows read for reports. It knows nothing of feeds, rules or the warehouse's
// layout.
package duck

import (
	"context"
	dbsql "database/sql"
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

// Session is one DuckDB session: temporary tables live on its one connection.
type Session struct {
	db   *dbsql.DB
	conn *dbsql.Conn
	// Log, when set, is told how long each step took (Timed).
	Log *slog.Logger
	// OnStep, when set, is told each step as it starts (a progress line).
	OnStep        func(step string)
	spillDir      string // DuckDB's, where the session's own scratch files go too
	eachStatement bool   // Settings.EachStatement
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
func Open(ctx context.Context, s Settings) (*Session, error) {
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
	e := &Session{db: db, conn: conn, spillDir: s.SpillDir, eachStatement: s.EachStatement}
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
func (e *Session) Close() error {
	e.conn.Close()
	return e.db.Close()
}

// Exec runs one statement with bound arguments.
func (e *Session) Exec(ctx context.Context, q string, args ...any) error {
	_, err := e.conn.ExecContext(ctx, q, args...)
	return err
}

// SetVar sets a variable the .sql files read with getvariable.
func (e *Session) SetVar(ctx context.Context, name string, v any) error {
	return e.Exec(ctx, "SET VARIABLE "+name+" = ?", v)
}

// SpillDir is where DuckDB spills, and where a caller's scratch files go.
func (e *Session) SpillDir() string { return e.spillDir }

// Script runs a file of statements as one step, timed under name; with
// Settings.EachStatement each statement is its own step (name#n).
func (e *Session) Script(ctx context.Context, name, q string) error {
	if e.eachStatement {
		return e.runStatements(ctx, name, q)
	}
	return e.Timed(name, func() error {
		if _, err := e.conn.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		return nil
	})
}

// Statements splits a script into its statements, each ending with ";" at a
// line's end; a piece of comments only is "", so that a statement's index is
// its place in the script.
func Statements(script string) []string {
	out := strings.Split(script, ";\n")
	for i, st := range out {
		code := false
		for _, l := range strings.Split(st, "\n") {
			if t := strings.TrimSpace(l); t != "" && !strings.HasPrefix(t, "--") {
				code = true
			}
		}
		if !code {
			out[i] = ""
		}
	}
	return out
}

// runStatements runs a file a statement at a time, each timed as file#n
// (Settings.EachStatement).
func (e *Session) runStatements(ctx context.Context, file, q string) error {
	for i, st := range Statements(q) {
		if st == "" {
			continue
		}
		if err := e.Timed(fmt.Sprintf("%s#%d", file, i), func() error {
			_, err := e.conn.ExecContext(ctx, st)
			return err
		}); err != nil {
			return fmt.Errorf("%s, statement %d: %w", file, i, err)
		}
	}
	return nil
}

// Timed runs one step of a compute and, with a Log, tells it how long the step
// took (at debug level: ATTAIN_DEBUG=1; the compute benchmark sums them).
func (e *Session) Timed(step string, fn func() error) error {
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
func (e *Session) Query(ctx context.Context, q string, args ...any) ([][]any, error) {
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

// Quote makes a SQL string literal.
func Quote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }

// CopyTo writes a query's rows to a Parquet file atomically and returns how
// many. Its temporary file is the process's own: two processes that complete a
// date at once both write its data_quality part (warehouse/results.go).
func (e *Session) CopyTo(ctx context.Context, query, path string) (int64, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return 0, err
	}
	tmp := pipeline.TempName(path, true)
	q := fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, COMPRESSION zstd)", query, Quote(tmp))
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

// ReadFiles is the SQL that reads Parquet files by their exact paths: a
// table function over a literal list (a table function takes no bound list).
func ReadFiles(paths []string) string { return ReadFilesWith(paths, "") }

// ReadFilesWith is ReadFiles with more of read_parquet's options (", filename = true").
func ReadFilesWith(paths []string, options string) string {
	if len(paths) == 0 {
		return "(SELECT NULL WHERE false)"
	}
	// not Hive-partitioned, whatever the path says: a directory named x=y
	// would otherwise add a column x
	return fmt.Sprintf("read_parquet([%s], hive_partitioning = false%s)", strings.Join(QuoteAll(GlobEscaped(paths)), ", "), options)
}

// GlobEscaped makes paths that DuckDB's readers, which take every path as a
// glob pattern, read as they are: *, ? and [ become one-character classes. A
// warehouse at …/wh[1] would otherwise read …/wh1, and one at …/wh* its
// neighbours.
func GlobEscaped(paths []string) []string {
	r := strings.NewReplacer("[", "[[]", "*", "[*]", "?", "[?]")
	out := make([]string, len(paths))
	for i, p := range paths {
		out[i] = r.Replace(p)
	}
	return out
}

// QuoteAll quotes each string as a SQL literal.
func QuoteAll(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = Quote(x)
	}
	return out
}

// ParquetFiles lists the Parquet files directly in dir by exact name (none
// when dir does not exist).
func ParquetFiles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []string
	for _, en := range entries {
		if en.Type().IsRegular() && strings.HasSuffix(en.Name(), ".parquet") {
			out = append(out, filepath.Join(dir, en.Name()))
		}
	}
	return out, nil
}

// CopyPartitioned writes a query's rows under dir/shard=<i>/ by its shard
// column, and syncs what it wrote.
func (e *Session) CopyPartitioned(ctx context.Context, query, dir string) error {
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		return err
	}
	q := fmt.Sprintf("COPY (%s) TO %s (FORMAT parquet, PARTITION_BY (shard), COMPRESSION zstd)", query, Quote(dir))
	if err := e.Exec(ctx, q); err != nil {
		return err
	}
	return filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && path == dir {
				return nil // no rows at all
			}
			return err
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}
