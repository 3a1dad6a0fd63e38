package sql

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"attain/duck"
	"attain/pipeline"
	"attain/warehouse"
)

// TestCompactedMonthsReadAsLanded: the landed views read closed months from
// their compacted copies, and still hold exactly the rows of the landed files
// (delivery_date included) after the landed files of a compacted month change:
// a re-delivery replacing a file, a file gone, a whole month gone; and when the
// copies cannot be written at all.
func TestCompactedMonthsReadAsLanded(t *testing.T) {
	t.Parallel()
	wh := landedGen(t)
	if err := os.RemoveAll(filepath.Dir(warehouse.CompactedDir(wh, "revenue"))); err != nil { // made here, from nothing
		t.Fatal(err)
	}
	ctx := context.Background()
	e := testEngine(t)

	check := func(step string) {
		t.Helper()
		if _, err := e.LoadLanded(ctx, wh, nil); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		for _, f := range pipeline.Feeds {
			glob := filepath.Join(wh, "landed", f.Name, "*", "*.parquet")
			if m, _ := filepath.Glob(glob); len(m) == 0 {
				continue
			}
			raw := fmt.Sprintf("SELECT * FROM read_parquet(%s, hive_partitioning = true, union_by_name = true)", duck.Quote(glob))
			q := fmt.Sprintf(`SELECT (SELECT count(*) FROM (FROM landed_%[1]s EXCEPT ALL %[2]s)),
				(SELECT count(*) FROM (%[2]s EXCEPT ALL FROM landed_%[1]s)), (SELECT count(*) FROM landed_%[1]s)`, f.Name, raw)
			r, err := e.Query(ctx, q)
			if err != nil {
				t.Fatalf("%s: %s: %v", step, f.Name, err)
			}
			if r[0][0].(int64) != 0 || r[0][1].(int64) != 0 {
				t.Errorf("%s: %s: %d rows only in the view, %d only in the landed files (of %d)", step, f.Name, r[0][0], r[0][1], r[0][2])
			}
		}
	}
	check("first read")
	months, _ := filepath.Glob(filepath.Join(warehouse.CompactedDir(wh, "revenue"), "*.parquet"))
	if len(months) < 14 {
		t.Fatalf("%d compacted months of revenue, want the 14 closed ones", len(months))
	}
	files, _ := warehouse.LandedFiles(ctx, e.Session, wh)
	if n := len(files["revenue"].Landed); n == 0 || n > 31 {
		t.Errorf("%d revenue files read where they lie, want the latest month's", n)
	}

	// A re-delivery: a file of a compacted month replaced by other rows.
	month := filepath.Join(wh, "landed", "revenue")
	a, _ := filepath.Glob(filepath.Join(month, "delivery_date=2025-10-0[1-9]", "*.parquet"))
	if len(a) < 2 {
		t.Fatalf("revenue files of 2025-10: %v", a)
	}
	other, err := os.ReadFile(a[1])
	if err != nil {
		t.Fatal(err)
	}
	if err := pipeline.WriteFileAtomic(a[0], other); err != nil {
		t.Fatal(err)
	}
	check("re-delivered file")

	// A file gone, then a whole month gone.
	if err := os.Remove(a[1]); err != nil {
		t.Fatal(err)
	}
	check("file removed")
	if err := os.RemoveAll(filepath.Join(wh, "landed", "exams")); err != nil {
		t.Fatal(err)
	}
	dirs, _ := filepath.Glob(filepath.Join(month, "delivery_date=2025-11-*"))
	for _, d := range dirs {
		os.RemoveAll(d)
	}
	check("month removed")
	if _, err := os.Stat(filepath.Join(warehouse.CompactedDir(wh, "revenue"), "2025-11.parquet")); !os.IsNotExist(err) {
		t.Errorf("the compacted copy of a month with no landed files is still there: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(warehouse.CompactedDir(wh, "exams"), "*")); len(left) > 0 {
		t.Errorf("compacted exams outlive the landed ones: %v", left)
	}

	// Copies that cannot be written: the months are read where they lie.
	rev := warehouse.CompactedDir(wh, "revenue")
	if err := os.RemoveAll(rev); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(rev, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}
	check("copies not writable")
	if files, _ = warehouse.LandedFiles(ctx, e.Session, wh); len(files["revenue"].Compacted) > 0 {
		t.Errorf("revenue read from %d compacted months that could not be written", len(files["revenue"].Compacted))
	}
}
