package sql

import (
	"context"
	dbsql "database/sql"
	"fmt"
	"math/big"
	"strconv"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"attain/pipeline"
)

// resultRows reads a query's rows for reports, converting DuckDB's values to
// the types pipeline.Rows promises.
type resultRows struct {
	rows *dbsql.Rows
	cols []string
	raw  []any
	ptrs []any
	vals []any
	err  error
}

// ReadTable returns the rows of a query over the engine, for a report.
func (e *Engine) ReadTable(ctx context.Context, query string, args ...any) (pipeline.Rows, error) {
	rows, err := e.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	r := &resultRows{rows: rows, cols: cols, raw: make([]any, len(cols)), ptrs: make([]any, len(cols)), vals: make([]any, len(cols))}
	for i := range r.raw {
		r.ptrs[i] = &r.raw[i]
	}
	return r, nil
}

func (r *resultRows) Columns() []string { return r.cols }

func (r *resultRows) Next() bool {
	if r.err != nil || !r.rows.Next() {
		r.rows.Close()
		return false
	}
	if r.err = r.rows.Scan(r.ptrs...); r.err != nil {
		r.rows.Close()
		return false
	}
	for i, v := range r.raw {
		r.vals[i] = convert(v)
	}
	return true
}

func (r *resultRows) Values() []any { return r.vals }

func (r *resultRows) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

func convert(v any) any {
	switch x := v.(type) {
	case nil, string, bool, int64, float64:
		return x
	case int32:
		return int64(x)
	case int:
		return int64(x)
	case int16:
		return int64(x)
	case int8:
		return int64(x)
	case uint64:
		return int64(x)
	case uint32:
		return int64(x)
	case float32:
		return float64(x)
	case time.Time:
		return pipeline.DateFromTime(x)
	case duckdb.Decimal:
		f, _ := strconv.ParseFloat(x.String(), 64) // correctly rounded, unlike dividing
		return f
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f
	}
	return fmt.Sprint(v)
}
