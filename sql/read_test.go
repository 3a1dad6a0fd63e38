package sql

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync/atomic"
	"testing"
)

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
func readRange(t testing.TB, e *Engine, n int) *TableRows {
	t.Helper()
	rows, err := e.ReadTable(context.Background(), fmt.Sprintf("SELECT range AS i FROM range(%d) ORDER BY i", n))
	if err != nil {
		t.Fatal(err)
	}
	return rows
}
