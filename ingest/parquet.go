package ingest

import (
	"errors"
	"fmt"
	"io"
	"math"
	"sync/atomic"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/compress/zstd"

	"attain/pipeline"
)

// Columns every landed row carries besides its feed's own.
const (
	colSourceFile = "source_file"
	colSourceLine = "source_line"
	colSourcePart = "source_part"
)

// leafOf is the Parquet type a feed column lands as. Dates and months are
// DATE (an int32 day count, see the parquet-go note in the README), money is
// DECIMAL(18,4), timestamps are UTC microseconds.
func leafOf(k pipeline.Kind) parquet.Node {
	switch k {
	case pipeline.KindDate, pipeline.KindMonth:
		return parquet.Date()
	case pipeline.KindTimestamp:
		return parquet.TimestampAdjusted(parquet.Microsecond, false)
	case pipeline.KindInt:
		return parquet.Int(64)
	case pipeline.KindMoney:
		return parquet.Decimal(4, 18, parquet.Int64Type)
	case pipeline.KindRate:
		return parquet.Leaf(parquet.DoubleType)
	default:
		return parquet.String()
	}
}

// landedSchema is the Parquet schema of a feed's landed files. The file name
// (the same on every row), codes, enums and currencies are dictionary-encoded:
// fewer bytes go through zstd (BenchmarkLandRevenue ~4% faster; ids, with
// thousands of values, were 25% slower that way). source_line counts up by
// one a row: delta-encoded it is next to nothing (~5% faster than plain).
func landedSchema(f *pipeline.Feed) *parquet.Schema {
	g := parquet.Group{
		colSourceFile: parquet.Encoded(parquet.String(), &parquet.RLEDictionary),
		colSourceLine: parquet.Encoded(parquet.Int(64), &parquet.DeltaBinaryPacked),
		colSourcePart: parquet.Optional(parquet.String()),
	}
	for _, c := range f.Columns {
		n := leafOf(c.Kind)
		if c.Kind == pipeline.KindEnum || c.Kind == pipeline.KindCurrency || c.Kind == pipeline.KindCode {
			n = parquet.Encoded(n, &parquet.RLEDictionary)
		}
		if !c.Required {
			n = parquet.Optional(n)
		}
		g[c.Name] = n
	}
	return parquet.NewSchema(f.Name, g)
}

// Quarantine columns (SPEC §6.1).
var quarantineSchema = parquet.NewSchema("quarantine", parquet.Group{
	"file":   parquet.String(),
	"line":   parquet.Int(64),
	"raw":    parquet.String(),
	"column": parquet.Optional(parquet.String()),
	"reason": parquet.String(),
})

const (
	batchRows    = 8192
	rowGroupRows = 256 * 1024
)

// table streams rows into one Parquet file, a column at a time. The parsing
// goroutine appends typed values to a batch (no parquet.Value is built there);
// a writer goroutine turns full batches into parquet-go values and hands them to
// the column writers (encoding and compression), so that parsing and writing use
// both cores. No row is assembled as a Go struct.
type table struct {
	w     *parquet.GenericWriter[any]
	index map[string]int // column name → leaf index
	opt   []bool         // leaf is optional

	cur  *batch
	free chan *batch
	work chan *batch
	done chan struct{}
	err  error // the writer goroutine's first error, read after done

	closed bool
}

// batch is rows on their way to the writer goroutine, column by column.
type batch struct {
	cols []column
	rows int
}

// column holds one leaf's values of a batch: numbers in nums, text as end
// offsets into arena; a null is marked in nulls and has a zero placeholder.
type column struct {
	nums  []uint64 // int64, int32 (as int64) or float64 bits
	ends  []uint32
	arena []byte
	nulls []bool
}

func newTable(w io.Writer, schema *parquet.Schema) *table {
	t := &table{
		w: parquet.NewGenericWriter[any](w, schema,
			parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
			parquet.PageBufferSize(256*1024),
			parquet.DataPageStatistics(false), // row-group statistics stay; readers prune by them
			parquet.CreatedBy("attain", "", "")),
		index: map[string]int{},
		free:  make(chan *batch, 2),
		work:  make(chan *batch, 2),
		done:  make(chan struct{}),
	}
	cols := schema.Columns()
	for i, path := range cols {
		leaf, _ := schema.Lookup(path...)
		t.index[path[0]] = i
		t.opt = append(t.opt, leaf.MaxDefinitionLevel > 0)
	}
	for range 2 {
		t.free <- &batch{cols: make([]column, len(cols))}
	}
	t.cur = <-t.free
	go t.writer(schema)
	return t
}

// writer is the goroutine that encodes batches. It writes a batch's columns
// together with a helper goroutine, each taking the next column not yet taken
// (the column writers of one row group share nothing but pools): the parser
// alone keeps a core less than busy, and one goroutine encoding every column
// was the slower half of the pipeline.
func (t *table) writer(schema *parquet.Schema) {
	defer close(t.done)
	kinds := make([]parquet.Kind, len(t.opt))
	for i, path := range schema.Columns() {
		leaf, _ := schema.Lookup(path...)
		kinds[i] = leaf.Node.Type().Kind()
	}
	helper := make(chan func())
	defer close(helper)
	go func() {
		for f := range helper {
			f()
		}
	}()
	cols := t.w.ColumnWriters()
	var vals [2][]parquet.Value
	inRG := 0
	for b := range t.work {
		if t.err == nil {
			if len(b.cols) != len(cols) {
				t.err = fmt.Errorf("batch has %d columns, the file %d", len(b.cols), len(cols))
			} else {
				t.err = forColumns(helper, len(cols), func(g, i int) (err error) {
					vals[g], err = writeColumn(cols[i], &b.cols[i], b.rows, kinds[i], t.opt[i], i, vals[g][:0])
					return err
				})
			}
			if inRG += b.rows; t.err == nil && inRG >= rowGroupRows {
				// Compress each column's last page together, then write
				// the row group out.
				t.err = forColumns(helper, len(cols), func(_, i int) error { return cols[i].Flush() })
				if t.err == nil {
					inRG, t.err = 0, t.w.Flush()
				}
			}
		}
		for i := range b.cols {
			c := &b.cols[i]
			c.nums, c.ends, c.arena, c.nulls = c.nums[:0], c.ends[:0], c.arena[:0], c.nulls[:0]
		}
		b.rows = 0
		t.free <- b
	}
}

// forColumns calls fn for columns 0 to n−1, on this goroutine (g = 0) and on
// the helper (g = 1), each taking the next column not yet taken.
func forColumns(helper chan<- func(), n int, fn func(g, i int) error) error {
	var next atomic.Int32
	var errs [2]error
	run := func(g int) {
		for i := int(next.Add(1)) - 1; i < n; i = int(next.Add(1)) - 1 {
			if err := fn(g, i); err != nil && errs[g] == nil {
				errs[g] = err
			}
		}
	}
	done := make(chan struct{})
	helper <- func() { run(1); close(done) }
	run(0)
	<-done
	return errors.Join(errs[0], errs[1])
}

// writeColumn hands one column of a batch to its column writer as parquet-go
// values, built in vals (returned for reuse).
func writeColumn(w *parquet.ColumnWriter, c *column, rows int, kind parquet.Kind, opt bool, leaf int, vals []parquet.Value) ([]parquet.Value, error) {
	if len(c.nulls) != rows {
		return vals, fmt.Errorf("column %d has %d values for %d rows", leaf, len(c.nulls), rows)
	}
	start := uint32(0)
	for r := 0; r < rows; r++ {
		var v parquet.Value
		switch {
		case c.nulls[r]:
			v = parquet.NullValue()
		case kind == parquet.ByteArray:
			end := c.ends[r]
			v = parquet.ByteArrayValue(c.arena[start:end:end])
			start = end
		case kind == parquet.Int32:
			v = parquet.Int32Value(int32(c.nums[r]))
		case kind == parquet.Double:
			v = parquet.DoubleValue(math.Float64frombits(c.nums[r]))
		default:
			v = parquet.Int64Value(int64(c.nums[r]))
		}
		if opt && !c.nulls[r] {
			// Only an optional column's present values need a level set;
			// the column writers read nothing else of it (Level costs
			// ~15 ns a call, 0.8 s of 52 M values).
			v = v.Level(0, 1, leaf)
		}
		vals = append(vals, v)
	}
	_, err := w.WriteRowValues(vals)
	return vals, err
}

func (t *table) col(name string) int {
	i, ok := t.index[name]
	if !ok {
		panic(fmt.Sprintf("table has no column %q", name))
	}
	return i
}

// Each set… stores the current row's value of a leaf; every leaf must be set
// once per row before endRow.

func (t *table) setNum(i int, n uint64) {
	c := &t.cur.cols[i]
	c.nums = append(c.nums, n)
	c.ends = append(c.ends, uint32(len(c.arena)))
	c.nulls = append(c.nulls, false)
}

func (t *table) setInt64(i int, v int64)    { t.setNum(i, uint64(v)) }
func (t *table) setInt32(i int, v int32)    { t.setNum(i, uint64(int64(v))) }
func (t *table) setDouble(i int, v float64) { t.setNum(i, math.Float64bits(v)) }
func (t *table) setString(i int, s string)  { t.setBytes(i, []byte(s)) }

func (t *table) setNull(i int) {
	c := &t.cur.cols[i]
	c.nums = append(c.nums, 0)
	c.ends = append(c.ends, uint32(len(c.arena)))
	c.nulls = append(c.nulls, true)
}

func (t *table) setBytes(i int, b []byte) {
	c := &t.cur.cols[i]
	c.arena = append(c.arena, b...)
	c.nums = append(c.nums, 0)
	c.ends = append(c.ends, uint32(len(c.arena)))
	c.nulls = append(c.nulls, false)
}

func (t *table) endRow() error {
	if t.cur.rows++; t.cur.rows == batchRows {
		return t.send()
	}
	return nil
}

// send hands the current batch to the writer and takes a free one.
func (t *table) send() error {
	select {
	case <-t.done:
		return t.err
	default:
	}
	if t.cur.rows > 0 {
		t.work <- t.cur
		t.cur = <-t.free
	}
	return nil
}

// Close writes what is buffered and the file footer. It is safe to call
// again, and after a failure (to stop the writer goroutine).
func (t *table) Close() error {
	if t.closed {
		return t.err
	}
	t.closed = true
	if t.cur.rows > 0 {
		t.work <- t.cur
	}
	close(t.work)
	<-t.done
	if t.err != nil {
		return t.err
	}
	t.err = t.w.Close()
	return t.err
}
