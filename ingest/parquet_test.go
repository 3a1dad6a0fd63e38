package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// TestTableRowGroups: rows written across several row groups by the column
// goroutines come back from DuckDB in order, nulls included.
// TestTableRowGroups writes tables of one row, fewer rows than a batch (written
// on the caller's goroutine), exactly a batch, one more (the column goroutines)
// and three row groups, the last one short, and reads them back with DuckDB.
// Tables of one run share their batches, so the sizes run one after another.
func TestTableRowGroups(t *testing.T) {
	for _, n := range []int{1, 100, batchRows, batchRows + 1, 2*rowGroupRows + 1234, 7} {
		path := filepath.Join(t.TempDir(), "t.parquet")
		f, err := os.Create(path)
		if err != nil {
			t.Fatal(err)
		}
		tb := newTable(f, quarantineSchema)
		for i := 0; i < n; i++ {
			tb.setString(tb.col("file"), "f.csv")
			tb.setInt64(tb.col("line"), int64(i))
			tb.setString(tb.col("raw"), fmt.Sprint("raw ", i))
			if i%3 == 0 {
				tb.setNull(tb.col("column"))
			} else {
				tb.setString(tb.col("column"), fmt.Sprint("c", i%7))
			}
			tb.setString(tb.col("reason"), "why")
			if err := tb.endRow(); err != nil {
				t.Fatal(err)
			}
		}
		if err := tb.Close(); err != nil {
			t.Fatal(err)
		}
		f.Close()
		got := query(t, fmt.Sprintf(`SELECT count(*), count(DISTINCT line), min(line), max(line),
			count(*) FILTER (WHERE "column" IS NULL),
			count(*) FILTER (WHERE raw <> 'raw ' || line OR "column" <> 'c' || (line %% 7)),
			bool_and(line = row_number - 1)
			FROM (SELECT *, row_number() OVER () AS row_number FROM read_parquet('%s'))`, path))
		want := [][]string{{fmt.Sprint(n), fmt.Sprint(n), "0", fmt.Sprint(n - 1), fmt.Sprint((n + 2) / 3), "0", "true"}}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%d rows: read back %v, want %v", n, got, want)
		}
		groups := query(t, fmt.Sprintf("SELECT count(DISTINCT row_group_id) FROM parquet_metadata('%s')", path))
		if want := fmt.Sprint((n + rowGroupRows - 1) / rowGroupRows); groups[0][0] != want {
			t.Errorf("%d rows: %s row groups, want %s", n, groups[0][0], want)
		}
	}
}

// failingWriter accepts limit bytes, then fails every write.
type failingWriter struct{ limit int }

var errDiskFull = errors.New("disk full")

func (w *failingWriter) Write(p []byte) (int, error) {
	if len(p) > w.limit {
		return 0, errDiskFull
	}
	w.limit -= len(p)
	return len(p), nil
}

// TestTableWriteFailure: a write error in a column goroutine (here at a row
// group's end) reaches the writer of rows or Close, and nothing hangs.
func TestTableWriteFailure(t *testing.T) {
	done := make(chan error, 1)
	go func() {
		tb := newTable(&failingWriter{limit: 1 << 10}, quarantineSchema)
		var err error
		for i := 0; i < 4*rowGroupRows && err == nil; i++ {
			tb.setString(tb.col("file"), "f.csv")
			tb.setInt64(tb.col("line"), int64(i))
			tb.setString(tb.col("raw"), "raw")
			tb.setNull(tb.col("column"))
			tb.setString(tb.col("reason"), "why")
			err = tb.endRow()
		}
		if cerr := tb.Close(); err == nil {
			err = cerr
		}
		done <- err
	}()
	select {
	case err := <-done:
		if !errors.Is(err, errDiskFull) {
			t.Errorf("error %v, want %v", err, errDiskFull)
		}
	case <-time.After(time.Minute):
		t.Fatal("the table hung after a write error")
	}
}
