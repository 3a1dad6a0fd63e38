package pipeline

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseDate(t *testing.T) {
	for _, s := range []string{"2026-11-23", "2024-02-29", "1970-01-01", "1969-12-31"} {
		d, err := ParseDate(s)
		if err != nil || d.String() != s {
			t.Errorf("ParseDate(%q) = %v, %v", s, d, err)
		}
	}
	for _, s := range []string{"2026-13-01", "2025-02-29", "2026-1-01", "20261123", "2026-11-23T00:00:00Z", ""} {
		if _, err := ParseDate(s); err == nil {
			t.Errorf("ParseDate(%q) accepted", s)
		}
	}
}

// ParseDateBytes computes day counts itself; they must be time's.
func TestParseDateBytesAgreesWithTime(t *testing.T) {
	for d := DateOf(1899, 12, 1); d <= DateOf(2101, 3, 1); d++ {
		got, err := ParseDateBytes([]byte(d.String()))
		if err != nil || got != d {
			t.Fatalf("%s: got %v, %v", d, got, err)
		}
	}
	for _, s := range []string{"2025-02-29", "2024-13-01", "2024-00-10", "2024-04-31", "2024-1a-01"} {
		if _, err := ParseDateBytes([]byte(s)); err == nil {
			t.Errorf("%s accepted", s)
		}
	}
}

// AddMonths must agree with DuckDB's date - INTERVAL n MONTH, which the SQL
// uses for the trailing window (SPEC §1).
// String computes year, month and day itself; they must be time's, day by day
// over six centuries, and at the ends of four-digit years and beyond them.
func TestStringAgreesWithTime(t *testing.T) {
	check := func(d Date) {
		t.Helper()
		if got, want := d.String(), d.Time().Format("2006-01-02"); got != want {
			t.Fatalf("Date(%d).String() = %s, want %s", d, got, want)
		}
	}
	for d := DateOf(1600, 1, 1); d <= DateOf(2200, 12, 31); d++ {
		check(d)
	}
	for _, d := range []Date{DateOf(0, 1, 1), DateOf(0, 1, 1) - 1, DateOf(-400, 2, 29), DateOf(9999, 12, 31), DateOf(10000, 1, 1), MustDate("1900-02-28"), MustDate("1900-03-01")} {
		check(d)
	}
}

func TestAddMonths(t *testing.T) {
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-11-23", -12, "2025-11-23"},
		{"2024-02-29", -12, "2023-02-28"},
		{"2026-03-31", -1, "2026-02-28"},
		{"2026-01-31", 1, "2026-02-28"},
		{"2026-12-15", 1, "2027-01-15"},
		{"2026-01-15", -13, "2024-12-15"},
	}
	for _, tt := range tests {
		if got := MustDate(tt.from).AddMonths(tt.n).String(); got != tt.want {
			t.Errorf("%s %+d months = %s, want %s", tt.from, tt.n, got, tt.want)
		}
	}
}

func TestParseDeliveryName(t *testing.T) {
	tests := []struct {
		file, feed, date, part string
		gz, ok                 bool
	}{
		{"revenue_2026-11-23.csv", "revenue", "2026-11-23", "", false, true},
		{"revenue_2026-11-23_2.csv.gz", "revenue", "2026-11-23", "2", true, true},
		{"fx_rates_2026-11-01_eu-west.csv", "fx_rates", "2026-11-01", "eu-west", false, true},
		{"usage_2026-11-23.csv", "usage", "2026-11-23", "", false, true},
		{"revenue_2026-11-31.csv", "", "", "", false, false},
		{"revenue_2026-11-23.txt", "", "", "", false, false},
		{"revenue_2026-11-23_.csv", "", "", "", false, false},
		{"revenue_2026-11-23x.csv", "", "", "", false, false},
		{"payments_2026-11-23.csv", "", "", "", false, false},
		{"revenue.csv", "", "", "", false, false},
	}
	for _, tt := range tests {
		d, ok := ParseDeliveryName(tt.file)
		if ok != tt.ok {
			t.Errorf("%s: ok = %v", tt.file, ok)
			continue
		}
		if ok && (d.Feed.Name != tt.feed || d.Date.String() != tt.date || d.Part != tt.part || d.Gzip != tt.gz) {
			t.Errorf("%s: got %s %s %q gz=%v", tt.file, d.Feed.Name, d.Date, d.Part, d.Gzip)
		}
	}
}

func TestLockIsExclusiveAndNamesHolder(t *testing.T) {
	dir := t.TempDir()
	l, err := AcquireLock(dir, "attain run, pid 42")
	if err != nil {
		t.Fatal(err)
	}
	_, err = AcquireLock(dir, "second")
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), "attain run, pid 42") {
		t.Fatalf("second lock: %v, want ErrLocked naming the holder", err)
	}
	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	l2, err := AcquireLock(dir, "third")
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	l2.Release()
}

func TestAtomicFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "sub", "x.parquet")
	f, err := CreateAtomic(path)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("partial")
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("file visible before Commit")
	}
	f.Abort()
	if m, _ := filepath.Glob(filepath.Join(dir, "sub", "*")); len(m) != 0 {
		t.Fatalf("Abort left %v", m)
	}
	if err := WriteFileAtomic(path, []byte("whole")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(path); string(b) != "whole" {
		t.Fatalf("got %q", b)
	}
	os.WriteFile(path+TempSuffix, []byte("crashed"), 0o644)
	if err := RemoveTemps(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path + TempSuffix); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("RemoveTemps left a temporary file")
	}
}

// TestLockLost: the warehouse lock is the directory's: deleting its file under
// a holder lets no second process in (which would then run beside it). A lock
// of a file (a shard's) whose file was deleted or replaced under it says so,
// and a second process can then take a new one: the first must stop writing.
func TestLockLost(t *testing.T) {
	dir := t.TempDir()
	l, err := AcquireLock(dir, "first")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Release()
	os.Remove(filepath.Join(dir, LockFile))
	if _, err := AcquireLock(dir, "second"); !errors.Is(err, ErrLocked) {
		t.Fatalf("a second warehouse lock after the file was deleted: %v, want ErrLocked", err)
	}
	if err := l.Held(); err != nil {
		t.Errorf("Held after the file was deleted: %v", err)
	}
	name := ShardLockFile(Shard{Index: 0, Count: 2})
	s, err := Acquire(context.Background(), dir, name, "first", LockMode{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Release()
	if err := s.Held(); err != nil {
		t.Fatalf("held lock: %v", err)
	}
	os.Remove(filepath.Join(dir, name))
	second, err := Acquire(context.Background(), dir, name, "second", LockMode{})
	if err != nil {
		t.Fatalf("a new shard lock after the file was deleted: %v", err)
	}
	defer second.Release()
	if err := s.Held(); !errors.Is(err, ErrLockLost) {
		t.Errorf("Held after the file was deleted: %v, want ErrLockLost", err)
	}
}
