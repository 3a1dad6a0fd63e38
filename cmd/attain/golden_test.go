package main

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/golden from what the code writes (review before committing)")

// TestReportCSVGolden runs the job on the hand-worked membership case of the rules
// tests (sql/testdata/rules/membership, whose README derives every value from the
// SPEC) and compares the CSV files analysts get with the golden ones: the same
// values, in the CSV format of SPEC §6.2.
func TestReportCSVGolden(t *testing.T) {
	src := "../../sql/testdata/rules/membership"
	dir := t.TempDir()
	code, _, stderr := attain(t, "run", "--inbox", filepath.Join(src, "inbox"), "--catalog", filepath.Join(src, "catalog.yaml"),
		"--warehouse", filepath.Join(dir, "wh"), "--reports", filepath.Join(dir, "rep"), "--as-of", "2026-11-23")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, name := range csvTables {
		got, err := os.ReadFile(filepath.Join(dir, "rep", "2026-11-23", name+".csv"))
		if err != nil {
			t.Fatal(err)
		}
		golden := filepath.Join("testdata", "golden", "membership", name+".csv")
		if *update {
			os.MkdirAll(filepath.Dir(golden), 0o755)
			os.WriteFile(golden, got, 0o644)
			continue
		}
		want, err := os.ReadFile(golden)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want) {
			t.Errorf("%s differs\n--- got\n%s--- want\n%s", name, got, want)
		}
	}
}
