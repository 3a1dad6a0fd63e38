package ingest

import (
	"fmt"
	"io"
	"math"
	"slices"
	"sync"
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
// one a row: delta-encoded it is next to nothing (~5% faster than plain);
// a delivery's dates sit close together, so they are delta-encoded too.
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
		if c.Kind == pipeline.KindDate || c.Kind == pipeline.KindMonth {
			n = parquet.Encoded(n, &parquet.DeltaBinaryPacked)
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
	// batches in flight: enough for the column goroutines to drift apart
	// (~1.5 MB each for revenue).
	batchesInFlight = 6
)

// table streams rows into one Parquet file, a column at a time. The parsing
// goroutine appends typed values to a batch (no parquet.Value is built there)
// and hands full batches to one goroutine per column, which turns them into
// parquet-go values for that column's writer (encoding and compression). No
// row is assembled as a Go struct. A goroutine per column keeps both cores
// busy whatever the parser is doing: one writer goroutine for all columns was
// the slower half of the pipeline, and splitting each batch between two left
// a core idle at every batch's end.
type table struct {
	w     *parquet.GenericWriter[any]
	index map[string]int // column name → leaf index
	opt   []bool         // leaf is optional

	writers []*parquet.ColumnWriter
	kinds   []parquet.Kind

	cur     *batch
	started bool // the column goroutines run (start)
	free    chan *batch
	cols    []chan *batch // one per column goroutine
	wg      sync.WaitGroup
	// At a row group's end: how many columns have compressed their last
	// page, and the channel on which the last of them, having written the
	// group out, releases the others.
	flushed atomic.Int32
	rg      chan struct{}

	mu  sync.Mutex
	err error // the column goroutines' first error

	rowsInRG int
	closed   bool
}

// batch is rows on their way to the column goroutines, column by column.
type batch struct {
	cols    []column
	rows    int
	flush   bool         // the batch ends a row group
	pending atomic.Int32 // column goroutines still to write it
}

// column holds one leaf's values of a batch: numbers in nums, or text as end
// offsets into arena; a null is marked in nulls and has a placeholder in both.
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
			parquet.CreatedBy("attain", "", ""),
			parquet.SkipPageBounds(colSourceFile)), // one value a file: no reader prunes by it
		index: map[string]int{},
	}
	leaves := schema.Columns()
	t.writers = t.w.ColumnWriters()
	for i, path := range leaves {
		leaf, _ := schema.Lookup(path...)
		t.index[path[0]] = i
		t.opt = append(t.opt, leaf.MaxDefinitionLevel > 0)
		t.kinds = append(t.kinds, leaf.Node.Type().Kind())
	}
	t.cur = getBatch(len(leaves))
	return t
}

// start starts the column goroutines, at a file's first full batch: a file of
// fewer rows is written by Close on the calling goroutine, with no goroutine
// or batch beyond its one (most delivered files are small).
func (t *table) start() {
	t.started = true
	t.free = make(chan *batch, batchesInFlight)
	t.rg = make(chan struct{})
	for i := range t.writers {
		in := make(chan *batch, batchesInFlight)
		t.cols = append(t.cols, in)
		t.wg.Add(1)
		go t.column(i, in, t.writers[i], t.kinds[i])
	}
	for range batchesInFlight - 1 {
		t.free <- getBatch(len(t.writers))
	}
}

// batches are reused across the files of a run: a batch's columns keep what
// they grew to.
var batches sync.Pool

func getBatch(leaves int) *batch {
	b, _ := batches.Get().(*batch)
	if b == nil {
		b = &batch{}
	}
	if cap(b.cols) < leaves {
		b.cols = make([]column, leaves)
	}
	b.cols = b.cols[:leaves]
	for i := range b.cols {
		c := &b.cols[i]
		c.nums, c.ends, c.arena, c.nulls = c.nums[:0], c.ends[:0], c.arena[:0], c.nulls[:0]
	}
	b.rows, b.flush = 0, false
	return b
}

// column is the goroutine that writes leaf i of every batch. At a row group's
// end every column compresses its last page; the last to finish writes the row
// group out and lets the others go on.
func (t *table) column(i int, in <-chan *batch, w *parquet.ColumnWriter, kind parquet.Kind) {
	defer t.wg.Done()
	var vals []parquet.Value
	for b := range in {
		if t.failed() == nil {
			var err error
			if vals, err = writeColumn(w, &b.cols[i], b.rows, kind, t.opt[i], i, vals[:0]); err != nil {
				t.fail(err)
			}
		}
		if b.flush {
			if t.failed() == nil {
				if err := w.Flush(); err != nil {
					t.fail(err)
				}
			}
			if int(t.flushed.Add(1)) == len(t.cols) {
				t.flushed.Store(0)
				if t.failed() == nil {
					if err := t.w.Flush(); err != nil {
						t.fail(err)
					}
				}
				for range len(t.cols) - 1 {
					t.rg <- struct{}{}
				}
			} else {
				<-t.rg
			}
		}
		c := &b.cols[i]
		c.nums, c.ends, c.arena, c.nulls = c.nums[:0], c.ends[:0], c.arena[:0], c.nulls[:0]
		if b.pending.Add(-1) == 0 {
			b.rows, b.flush = 0, false
			t.free <- b
		}
	}
}

func (t *table) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err == nil {
		t.err = err
	}
}

func (t *table) failed() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// writeColumn hands one column of a batch to its column writer as parquet-go
// values, built in vals (returned for reuse). One loop a kind: the kind is the
// same for every row.
func writeColumn(w *parquet.ColumnWriter, c *column, rows int, kind parquet.Kind, opt bool, leaf int, vals []parquet.Value) ([]parquet.Value, error) {
	if len(c.nulls) != rows {
		return vals, fmt.Errorf("column %d has %d values for %d rows", leaf, len(c.nulls), rows)
	}
	vals = slices.Grow(vals[:0], rows)[:rows]
	switch kind {
	case parquet.ByteArray:
		start := uint32(0)
		for r, end := range c.ends[:rows] {
			vals[r] = parquet.ByteArrayValue(c.arena[start:end:end])
			start = end
		}
	case parquet.Int32:
		for r, n := range c.nums[:rows] {
			vals[r] = parquet.Int32Value(int32(n))
		}
	case parquet.Double:
		for r, n := range c.nums[:rows] {
			vals[r] = parquet.DoubleValue(math.Float64frombits(n))
		}
	default:
		for r, n := range c.nums[:rows] {
			vals[r] = parquet.Int64Value(int64(n))
		}
	}
	if opt {
		// An optional column's present values need their level set, its
		// nulls are null values; the column writers read nothing else.
		for r, null := range c.nulls[:rows] {
			if null {
				vals[r] = parquet.NullValue()
			} else {
				vals[r] = vals[r].Level(0, 1, leaf)
			}
		}
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
	c.ends = append(c.ends, uint32(len(c.arena)))
	c.nulls = append(c.nulls, false)
}

func (t *table) endRow() error {
	if t.cur.rows++; t.cur.rows == batchRows {
		return t.send()
	}
	return nil
}

// send hands the current batch to the column goroutines and takes a free one.
func (t *table) send() error {
	if err := t.failed(); err != nil {
		return err
	}
	if t.cur.rows == 0 {
		return nil
	}
	if !t.started {
		t.start()
	}
	b := t.cur
	if t.rowsInRG += b.rows; t.rowsInRG >= rowGroupRows {
		b.flush, t.rowsInRG = true, 0
	}
	b.pending.Store(int32(len(t.cols)))
	for _, in := range t.cols {
		in <- b
	}
	t.cur = <-t.free
	return nil
}

// Close writes what is buffered and the file footer. It is safe to call
// again, and after a failure (to stop the column goroutines).
func (t *table) Close() error {
	if t.closed {
		return t.failed()
	}
	t.closed = true
	var err error
	if t.started {
		err = t.send()
		for _, in := range t.cols {
			close(in)
		}
		t.wg.Wait()
		for range len(t.free) {
			batches.Put(<-t.free)
		}
	} else if t.failed() == nil {
		// fewer rows than a batch: written here, a column after another
		var vals []parquet.Value
		for i, w := range t.writers {
			if vals, err = writeColumn(w, &t.cur.cols[i], t.cur.rows, t.kinds[i], t.opt[i], i, vals[:0]); err != nil {
				break
			}
		}
	}
	if t.cur != nil {
		batches.Put(t.cur)
		t.cur = nil
	}
	if err == nil {
		err = t.failed()
	}
	if err == nil {
		err = t.w.Close()
	}
	t.fail(err)
	return err
}
