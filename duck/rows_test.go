package duck

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
)

var testSettings = Settings{MemoryLimit: "1GiB", Threads: 2}

// testEngine opens a session with testSettings, closed when the test ends.
func testEngine(t testing.TB) *Session {
	t.Helper()
	e, err := Open(context.Background(), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestReadTableKeepsFileOrder: a result file of many row groups, read by two
// threads, comes back in the order it was written when the session keeps order
// (reports publish CSV files byte for byte).
func TestReadTableKeepsFileOrder(t *testing.T) {
	ctx := context.Background()
	s := testSettings
	s.KeepOrder = true
	e, err := Open(ctx, s)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	path := filepath.Join(t.TempDir(), "t.parquet")
	if err := e.Exec(ctx, "COPY (SELECT range AS i FROM range(300000) ORDER BY i) TO '"+path+"' (FORMAT parquet, ROW_GROUP_SIZE 2048)"); err != nil {
		t.Fatal(err)
	}
	rows, err := e.ReadTable(ctx, "SELECT * FROM read_parquet(?)", path)
	if err != nil {
		t.Fatal(err)
	}
	// Read to the end before failing: an open result would hold the connection.
	var n, misplaced int64
	for rows.Next() {
		if rows.Values()[0].(int64) != n {
			misplaced++
		}
		n++
	}
	if err := rows.Err(); err != nil || n != 300000 || misplaced > 0 {
		t.Fatalf("%d rows, %d out of place, %v", n, misplaced, err)
	}
}

// TestReadTableClose: rows left unread and closed give the engine's connection
// back, so that the next query runs (the reader would otherwise hold it).
func TestReadTableClose(t *testing.T) {
	e := testEngine(t)
	rows := readRange(t, e, 100000)
	for range 3000 {
		if !rows.Next() {
			t.Fatal("rows ended early")
		}
	}
	if got := rows.Values()[0]; got != int64(2999) {
		t.Fatalf("row 3000 is %v", got)
	}
	rows.Close()
	r, err := e.Query(context.Background(), "SELECT 42")
	if err != nil || r[0][0] != int32(42) {
		t.Fatalf("the next query: %v, %v", r, err)
	}
}

// TestReadTableTee: the tee sees every row, in order, before the consumer does;
// its error ends the rows with it.
func TestReadTableTee(t *testing.T) {
	e := testEngine(t)
	rows := readRange(t, e, 5000)
	var teed atomic.Int64 // the tee runs on the reader's goroutine
	var read int64
	rows.Tee(func(r []any) error {
		if r[0] != teed.Load() {
			return fmt.Errorf("tee got %v, want %d", r[0], teed.Load())
		}
		teed.Add(1)
		return nil
	})
	for rows.Next() {
		if rows.Values()[0] != read || read >= teed.Load() {
			t.Fatalf("row %d: %v, %d teed", read, rows.Values()[0], teed.Load())
		}
		read++
	}
	if err := rows.Err(); err != nil || read != 5000 || teed.Load() != 5000 {
		t.Fatalf("%d read, %d teed, %v", read, teed.Load(), err)
	}

	rows = readRange(t, e, 5000)
	stop := errors.New("disk full")
	rows.Tee(func(r []any) error {
		if r[0] == int64(2500) {
			return stop
		}
		return nil
	})
	for rows.Next() {
	}
	if !errors.Is(rows.Err(), stop) {
		t.Fatalf("rows ended with %v, want the tee's error", rows.Err())
	}
	rows.Close()
}

// readRange reads the numbers 0 to n − 1, in order, through ReadTable.
func readRange(t testing.TB, e *Session, n int) *TableRows {
	t.Helper()
	rows, err := e.ReadTable(context.Background(), fmt.Sprintf("SELECT range AS i FROM range(%d) ORDER BY i", n))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestReadInRanges: a table read in ranges of a column (RangeBounds, Ranged,
// ReadChain), each range sorted on its own, gives the rows of one sorted read,
// in its order, its tee seeing every row once.
func TestReadInRanges(t *testing.T) {
	e := testEngine(t)
	ctx := context.Background()
	if err := e.Exec(ctx, `CREATE TEMP TABLE r AS SELECT printf('o-%05d', i % 997) AS org_id, i FROM range(20000) t(i)`); err != nil {
		t.Fatal(err)
	}
	bounds, err := e.RangeBounds(ctx, "r", "org_id", 20000, 3000)
	if err != nil {
		t.Fatal(err)
	}
	if len(bounds) < 5 || len(bounds) > 7 {
		t.Fatalf("%d bounds for 20,000 rows in ranges of 3,000", len(bounds))
	}
	var queries []string
	for _, where := range Ranged("org_id", bounds) {
		queries = append(queries, "SELECT org_id, i FROM r WHERE "+where+" ORDER BY org_id, i")
	}
	chain, err := e.ReadChain(ctx, queries)
	if err != nil {
		t.Fatal(err)
	}
	teed := 0
	chain.Tee(func([]any) error { teed++; return nil })
	var got []string
	for chain.Next() {
		got = append(got, fmt.Sprint(chain.Values()...))
	}
	if err := chain.Err(); err != nil {
		t.Fatal(err)
	}
	rows, _ := e.Query(ctx, "SELECT org_id, i FROM r ORDER BY org_id, i")
	var want []string
	for _, r := range rows {
		want = append(want, fmt.Sprint(r...))
	}
	if !slices.Equal(got, want) || teed != len(want) {
		t.Errorf("ranged read: %d rows (tee %d), want the %d of one sorted read in its order", len(got), teed, len(want))
	}
	if b, _ := e.RangeBounds(ctx, "r", "org_id", 20000, 1_000_000); b != nil || len(Ranged("org_id", b)) != 1 {
		t.Errorf("a small table is one range: bounds %v", b)
	}
}
