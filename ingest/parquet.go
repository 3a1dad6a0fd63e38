package ingest

import (
	"fmt"
	"io"

	"github.com/parquet-go/parquet-go"

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
// gathered in a batch of per-column values and handed to parquet-go's column
// writers, so no row is ever assembled as a Go struct.
type table struct {
	w      *parquet.GenericWriter[any]
	index  map[string]int // column name → leaf index
	opt    []bool         // leaf is optional
	batch  [][]parquet.Value
	arena  []byte // bytes the batch's values point into
	rows   int    // rows in the batch
	inRG   int    // rows in the current row group
	total  int64
	closed bool
}

func newTable(w io.Writer, schema *parquet.Schema) *table {
	t := &table{
		w: parquet.NewGenericWriter[any](w, schema,
			parquet.Compression(&parquet.Zstd),
			parquet.PageBufferSize(256*1024),
			parquet.CreatedBy("attain", "", "")),
		index: map[string]int{},
	}
	for i, path := range schema.Columns() {
		leaf, _ := schema.Lookup(path...)
		t.index[path[0]] = i
		t.opt = append(t.opt, leaf.MaxDefinitionLevel > 0)
		t.batch = append(t.batch, make([]parquet.Value, 0, batchRows))
	}
	return t
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
	t.batch[i] = append(t.batch[i], v.Level(0, def, i))
}

func (t *table) setNull(i int) { t.batch[i] = append(t.batch[i], parquet.NullValue().Level(0, 0, i)) }

func (t *table) setBytes(i int, b []byte) {
	if len(t.arena)+len(b) > cap(t.arena) {
		// A new chunk: values already in the batch keep pointing into the old one.
		t.arena = make([]byte, 0, max(1<<20, len(b)))
	}
	start := len(t.arena)
	t.arena = append(t.arena, b...)
	t.set(i, parquet.ByteArrayValue(t.arena[start:len(t.arena):len(t.arena)]))
}

func (t *table) setString(i int, s string) { t.setBytes(i, []byte(s)) }

func (t *table) endRow() error {
	t.rows++
	if t.rows == batchRows {
		return t.flushBatch()
	}
	return nil
}

func (t *table) flushBatch() error {
	if t.rows == 0 {
		return nil
	}
	cols := t.w.ColumnWriters()
	for i := range t.batch {
		if len(t.batch[i]) != t.rows {
			return fmt.Errorf("column %d has %d values for %d rows", i, len(t.batch[i]), t.rows)
		}
		if _, err := cols[i].WriteRowValues(t.batch[i]); err != nil {
			return err
		}
		t.batch[i] = t.batch[i][:0]
	}
	t.inRG += t.rows
	t.total += int64(t.rows)
	t.rows = 0
	t.arena = t.arena[:0]
	if t.inRG >= rowGroupRows {
		t.inRG = 0
		return t.w.Flush()
	}
	return nil
}

// Close writes what is buffered and the file footer.
func (t *table) Close() error {
	if t.closed {
		return nil
	}
	t.closed = true
	if err := t.flushBatch(); err != nil {
		return err
	}
	return t.w.Close()
}
