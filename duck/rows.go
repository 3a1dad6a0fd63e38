package duck

import (
	"context"
	dbsql "database/sql"
	"fmt"
	"math/big"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/duckdb/duckdb-go/v2"

	"attain/pipeline"
)

// TableRows reads a query's rows for a report, converting DuckDB's values to
// the types pipeline.Rows promises. A goroutine reads and converts batches of
// rows ahead of the consumer (and hands each to a tee, such as a CSV file), so
// that DuckDB's side of a report runs on the other core while the sheet writer
// takes the rows.
type TableRows struct {
	rows    *dbsql.Rows
	tee     func([]any) error
	started bool
	cols    []string
	batches chan [][]any // filled by the reader; closed when it is done
	free    chan [][]any // batches the consumer has finished with
	stop    chan struct{}
	done    chan struct{}
	err     error // the reader's, set before batches is closed
	cur     [][]any
	i       int
	stopped sync.Once
}

// batchRows is the rows a batch holds; three batches are in flight.
const batchRows = 1024

// ReadTable returns the rows of a query over the engine, for a report. Close
// them when not read to the end: the reader holds the engine's connection.
func (e *Session) ReadTable(ctx context.Context, query string, args ...any) (*TableRows, error) {
	rows, err := e.conn.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	cols, err := rows.Columns()
	if err != nil {
		rows.Close()
		return nil, err
	}
	r := &TableRows{rows: rows, cols: cols, batches: make(chan [][]any, 1), free: make(chan [][]any, 3),
		stop: make(chan struct{}), done: make(chan struct{})}
	for range 3 {
		r.free <- nil
	}
	return r, nil
}

// Tee hands every row to f on the reader's goroutine, before the consumer
// gets it; an error from f ends the rows with it. Call it before Next.
func (r *TableRows) Tee(f func([]any) error) { r.tee = f }

// start runs the reader, once.
func (r *TableRows) start() {
	if !r.started {
		r.started = true
		go r.read()
	}
}

// read converts the rows in batches until the end, an error or Close.
func (r *TableRows) read() {
	rows := r.rows
	defer close(r.done)
	defer close(r.batches)
	defer rows.Close()
	raw, ptrs := make([]any, len(r.cols)), make([]any, len(r.cols))
	for i := range raw {
		ptrs[i] = &raw[i]
	}
	for {
		var b [][]any
		select {
		case b = <-r.free:
		case <-r.stop:
			return
		}
		b = b[:0]
		for len(b) < batchRows && rows.Next() {
			if r.err = rows.Scan(ptrs...); r.err != nil {
				return
			}
			var row []any
			if len(b) < cap(b) {
				row = b[:len(b)+1][len(b)]
			}
			if row == nil {
				row = make([]any, len(raw))
			}
			for i, v := range raw {
				row[i] = convert(v)
			}
			if r.tee != nil {
				if r.err = r.tee(row); r.err != nil {
					return
				}
			}
			b = append(b, row)
		}
		if len(b) == 0 {
			r.err = rows.Err()
			return
		}
		select {
		case r.batches <- b:
		case <-r.stop:
			return
		}
	}
}

func (r *TableRows) Columns() []string { return r.cols }

func (r *TableRows) Next() bool {
	r.start()
	if r.i+1 < len(r.cur) {
		r.i++
		return true
	}
	if r.cur != nil {
		r.free <- r.cur
	}
	b, ok := <-r.batches
	if !ok {
		r.cur = nil
		return false
	}
	r.cur, r.i = b, 0
	return true
}

// Values are the current row's; the slice is reused once the batch is done.
func (r *TableRows) Values() []any { return r.cur[r.i] }

// Err is the reader's error, once Next has returned false.
func (r *TableRows) Err() error { return r.err }

// Close stops the reader and waits for it to release the connection.
func (r *TableRows) Close() error {
	r.start()
	r.stopped.Do(func() { close(r.stop) })
	<-r.done
	return nil
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

// ChainRows reads the rows of several queries, one after the other, as one
// table: a large table read in ranges of its key, each sorted on its own
// (ReadRanges).
type ChainRows struct {
	ctx     context.Context
	e       *Session
	queries []string
	cur     *TableRows
	tee     func([]any) error
	cols    []string
	err     error
}

// ReadChain returns the rows of the queries in turn; they must have the same
// columns. Close them when not read to the end.
func (e *Session) ReadChain(ctx context.Context, queries []string) (*ChainRows, error) {
	c := &ChainRows{ctx: ctx, e: e, queries: queries}
	if err := c.open(); err != nil {
		return nil, err
	}
	c.cols = c.cur.Columns()
	return c, nil
}

func (c *ChainRows) open() error {
	r, err := c.e.ReadTable(c.ctx, c.queries[0])
	if err != nil {
		return err
	}
	c.queries = c.queries[1:]
	if c.tee != nil {
		r.Tee(c.tee)
	}
	c.cur = r
	return nil
}

// Tee hands every row to f before the consumer gets it (TableRows.Tee).
func (c *ChainRows) Tee(f func([]any) error) {
	c.tee = f
	c.cur.Tee(f)
}

func (c *ChainRows) Columns() []string { return c.cols }

func (c *ChainRows) Next() bool {
	for c.err == nil {
		if c.cur.Next() {
			return true
		}
		if c.err = c.cur.Err(); c.err != nil {
			return false
		}
		c.cur.Close()
		if len(c.queries) == 0 {
			return false
		}
		c.err = c.open()
	}
	return false
}

func (c *ChainRows) Values() []any { return c.cur.Values() }

func (c *ChainRows) Err() error { return c.err }

// Close ends the rows of the query being read.
func (c *ChainRows) Close() error { return c.cur.Close() }

// RangeBounds splits the distinct values of column col of from into parts of
// about rowsPerRange rows (of total): the values at which each range after the
// first starts, ascending; none when one range holds them all.
func (e *Session) RangeBounds(ctx context.Context, from, col string, total, rowsPerRange int64) ([]string, error) {
	k := (total + rowsPerRange - 1) / rowsPerRange
	if k <= 1 {
		return nil, nil
	}
	q := fmt.Sprintf(`SELECT v FROM (SELECT v, row_number() OVER (ORDER BY v) AS i, count(*) OVER () AS n
		FROM (SELECT DISTINCT %s AS v FROM %s)) WHERE i > 1 AND (i - 1) %% greatest(n // %d, 1) = 0 ORDER BY v`, col, from, k)
	rows, err := e.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = fmt.Sprint(r[0])
	}
	return out, nil
}

// Ranged is the query over each range of col that bounds (RangeBounds) make,
// as the conditions a WHERE clause takes; one condition, true, for none.
func Ranged(col string, bounds []string) []string {
	if len(bounds) == 0 {
		return []string{"true"}
	}
	var out []string
	for i := 0; i <= len(bounds); i++ {
		var c []string
		if i > 0 {
			c = append(c, fmt.Sprintf("%s >= %s", col, Quote(bounds[i-1])))
		}
		if i < len(bounds) {
			c = append(c, fmt.Sprintf("%s < %s", col, Quote(bounds[i])))
		}
		out = append(out, strings.Join(c, " AND "))
	}
	return out
}
