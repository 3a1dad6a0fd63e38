package ingest

import (
	"fmt"
	"io"

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

// landedSchema is the Parquet schema of a feed's landed files.
func landedSchema(f *pipeline.Feed) *parquet.Schema {
	g := parquet.Group{
		colSourceFile: parquet.String(),
		colSourceLine: parquet.Int(64),
		colSourcePart: parquet.Optional(parquet.String()),
	}
	for _, c := range f.Columns {
		n := leafOf(c.Kind)
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

// table streams rows into one Parquet file, a column at a time: rows are
// gathered in a batch of per-column values, and a writer goroutine hands full
// batches to parquet-go's column writers (encoding and compression), so that
// parsing and writing use both cores. No row is assembled as a Go struct.
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

// batch is rows on their way to the writer goroutine.
type batch struct {
	cols  [][]parquet.Value
	arena []byte // bytes the values point into
	rows  int
}

func newTable(w io.Writer, schema *parquet.Schema) *table {
	t := &table{
		w: parquet.NewGenericWriter[any](w, schema,
			parquet.Compression(&zstd.Codec{Level: zstd.SpeedFastest}),
			parquet.PageBufferSize(256*1024),
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
		b := &batch{cols: make([][]parquet.Value, len(cols))}
		for i := range b.cols {
			b.cols[i] = make([]parquet.Value, 0, batchRows)
		}
		t.free <- b
	}
	t.cur = <-t.free
	go t.writer()
	return t
}

// writer is the goroutine that encodes batches.
func (t *table) writer() {
	defer close(t.done)
	inRG := 0
	for b := range t.work {
		if t.err == nil {
			t.err = t.writeBatch(b)
			if inRG += b.rows; t.err == nil && inRG >= rowGroupRows {
				inRG, t.err = 0, t.w.Flush()
			}
		}
		for i := range b.cols {
			b.cols[i] = b.cols[i][:0]
		}
		b.rows, b.arena = 0, b.arena[:0]
		t.free <- b
	}
}

func (t *table) writeBatch(b *batch) error {
	cols := t.w.ColumnWriters()
	for i, vals := range b.cols {
		if len(vals) != b.rows {
			return fmt.Errorf("column %d has %d values for %d rows", i, len(vals), b.rows)
		}
		if _, err := cols[i].WriteRowValues(vals); err != nil {
			return err
		}
	}
	return nil
}

func (t *table) col(name string) int {
	i, ok := t.index[name]
	if !ok {
		panic(fmt.Sprintf("table has no column %q", name))
	}
	return i
}

// set stores the current row's value of leaf i. Every leaf must be set once
// per row before endRow.
func (t *table) set(i int, v parquet.Value) {
	def := 0
	if t.opt[i] && !v.IsNull() {
		def = 1
	}
	t.cur.cols[i] = append(t.cur.cols[i], v.Level(0, def, i))
}

func (t *table) setNull(i int) {
	t.cur.cols[i] = append(t.cur.cols[i], parquet.NullValue().Level(0, 0, i))
}

func (t *table) setBytes(i int, b []byte) {
	c := t.cur
	if len(c.arena)+len(b) > cap(c.arena) {
		// A new chunk: values already in the batch keep pointing into the old one.
		c.arena = make([]byte, 0, max(1<<20, len(b)))
	}
	start := len(c.arena)
	c.arena = append(c.arena, b...)
	t.set(i, parquet.ByteArrayValue(c.arena[start:len(c.arena):len(c.arena)]))
}

func (t *table) setString(i int, s string) { t.setBytes(i, []byte(s)) }

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
