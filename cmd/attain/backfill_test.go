package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"attain/duck"
	"attain/pipeline"
	"attain/sql"
	"attain/warehouse"
)

// backfillRange is five weeks of daily dates over a month end, in passes of 7.
var backfillRange = []string{"--from", "2026-09-25", "--to", last, "--report-every", "week", "--batch", "7"}

// TestBackfillEqualsComputeAndReport: with all landed data, each report date of
// a daily backfill gives, byte for byte, the CSV files of `compute` and
// `report` of that date alone on a warehouse of the same landed data (SPEC §8).
func TestBackfillEqualsComputeAndReport(t *testing.T) {
	t.Parallel()
	in := smallInbox(t)
	dir := t.TempDir()
	wh, rep := filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
	if code, _, stderr := attain(t, "ingest", "--inbox", in, "--warehouse", wh, "--as-of", last); code != 0 {
		t.Fatalf("ingest: %s", stderr)
	}
	if code, _, stderr := attain(t, append([]string{"backfill", "--warehouse", wh, "--reports", rep}, backfillRange...)...); code != 0 {
		t.Fatalf("backfill: exit %d: %s", code, stderr)
	}
	got := csvFiles(t, rep)
	for _, d := range []string{"2026-09-27", "2026-10-04", "2026-10-25", last} {
		one := t.TempDir()
		owh, orep := filepath.Join(one, "wh"), filepath.Join(one, "rep")
		for _, args := range [][]string{
			{"ingest", "--inbox", in, "--warehouse", owh, "--as-of", last},
			{"compute", "--warehouse", owh, "--as-of", d},
			{"report", "--warehouse", owh, "--reports", orep, "--as-of", d},
		} {
			if code, _, stderr := attain(t, args...); code != 0 {
				t.Fatalf("%s %s: exit %d: %s", args[0], d, code, stderr)
			}
		}
		want := csvFiles(t, orep)
		if len(want) != len(csvTables) {
			t.Fatalf("%s: %d CSV files", d, len(want))
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s differs from compute + report of %s alone", k, d)
			}
		}
		// and read through history.sql, from the history and from the nightly results
		hist, night := macroRows(t, wh, d), macroRows(t, owh, d)
		for _, tb := range warehouse.Tables {
			if hist[tb.Name] != night[tb.Name] {
				t.Errorf("%s_on(%s): the history's rows differ from the nightly results'\n got %.300s\nwant %.300s", tb.Name, d, hist[tb.Name], night[tb.Name])
			}
		}
	}
}

// macroRows reads every result table at date d through the warehouse's
// history.sql in a fresh DuckDB session, as a user would, and checks that each
// has the columns of SPEC §6.2 in order.
func macroRows(t testing.TB, wh, d string) map[string]string {
	t.Helper()
	return macroRowsOf(t, wh, d, "_on")
}

// macroRowsOf is macroRows with the macros <table><suffix>: "_on" reads the
// nightly results and the restated history, "_as_known_on" the nightly
// results and the --as-known history.
func macroRowsOf(t testing.TB, wh, d, suffix string) map[string]string {
	t.Helper()
	ctx := context.Background()
	eng, err := sql.Open(ctx, duck.Settings{MemoryLimit: "512MiB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	b, err := os.ReadFile(filepath.Join(wh, "history.sql"))
	if err != nil {
		t.Fatal(err)
	}
	if err := eng.Exec(ctx, string(b)); err != nil {
		t.Fatalf("history.sql: %v", err)
	}
	out := map[string]string{}
	for _, tb := range warehouse.Tables {
		from := fmt.Sprintf("%s%s('%s', DATE '%s')", tb.Name, suffix, strings.ReplaceAll(wh, "'", "''"), d)
		cols, err := eng.Query(ctx, "SELECT column_name FROM (DESCRIBE FROM "+from+")")
		if err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		var names []string
		for _, c := range cols {
			names = append(names, c[0].(string))
		}
		if got := strings.Join(names, ", "); got != strings.ReplaceAll(tb.Columns, `"`, "") {
			t.Errorf("%s: columns %s, want %s", from, got, tb.Columns)
		}
		rows, err := eng.Query(ctx, "FROM "+from)
		if err != nil {
			t.Fatalf("%s: %v", from, err)
		}
		out[tb.Name] = fmt.Sprint(rows)
	}
	return out
}

// TestKilledBackfillResumes: a backfill killed with SIGKILL at random points and
// run again completes every date and ends with the files of an uninterrupted
// backfill.
func TestKilledBackfillResumes(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills 6 backfills")
	}
	in := smallInbox(t)
	self, _ := os.Executable()
	landed := t.TempDir()
	if code, _, stderr := attain(t, "ingest", "--inbox", in, "--warehouse", landed, "--as-of", last); code != 0 {
		t.Fatalf("ingest: %s", stderr)
	}
	backfill := func(dir string) *exec.Cmd {
		cmd := exec.Command(self, append([]string{"backfill", "--warehouse", filepath.Join(dir, "wh"),
			"--reports", filepath.Join(dir, "rep"), "--log-format", "json"}, backfillRange...)...)
		cmd.Env = append(os.Environ(), "ATTAIN_TEST_AS_MAIN=1")
		return cmd
	}
	fresh := func() string {
		dir := t.TempDir()
		if err := os.CopyFS(filepath.Join(dir, "wh"), os.DirFS(landed)); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	clean := fresh()
	start := time.Now()
	if out, err := backfill(clean).CombinedOutput(); err != nil {
		t.Fatalf("clean backfill: %v\n%s", err, out)
	}
	full := time.Since(start)
	want := csvFiles(t, filepath.Join(clean, "rep"))
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 6 {
		dir := fresh()
		delay, _ := killAtRandom(t, backfill(dir), rng, full)
		if out, err := backfill(dir).CombinedOutput(); err != nil {
			t.Fatalf("trial %d (killed after %v): the backfill after it failed: %v\n%s", trial, delay, err, out)
		}
		if got := csvFiles(t, filepath.Join(dir, "rep")); !reflect.DeepEqual(got, want) {
			t.Errorf("trial %d (killed after %v): %d CSV files, %d uninterrupted; equal: false", trial, delay, len(got), len(want))
			for k := range want {
				if got[k] != want[k] {
					t.Errorf("trial %d: %s differs\n got %.400q\nwant %.400q", trial, k, got[k], want[k])
				}
			}
		}
		stored, err := warehouse.StoredDates(filepath.Join(dir, "wh"))
		if err != nil || len(stored) != int(pipeline.MustDate(last)-pipeline.MustDate("2026-09-25"))+1 {
			t.Fatalf("trial %d: stored dates %v (%v)", trial, stored, err)
		}
		months, err := warehouse.HistoryMonths(filepath.Join(dir, "wh"), warehouse.Restated)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range months {
			if err := warehouse.CheckMonth(filepath.Join(dir, "wh"), m); err != nil {
				t.Errorf("trial %d: %v", trial, err)
			}
		}
		for _, d := range []string{"2026-09-30", "2026-10-01", last} {
			if got, want := macroRows(t, filepath.Join(dir, "wh"), d), macroRows(t, filepath.Join(clean, "wh"), d); !reflect.DeepEqual(got, want) {
				for _, tb := range warehouse.Tables {
					if got[tb.Name] != want[tb.Name] {
						t.Errorf("trial %d (killed after %v): %s of %s in the history differs from an uninterrupted backfill's\n got %.400s\nwant %.400s",
							trial, delay, tb.Name, d, got[tb.Name], want[tb.Name])
					}
				}
			}
		}
	}
}

// TestBackfillKeepsMonthsAndNightly: a month holds the union of the dates ever
// backfilled in it (a second backfill of some of its dates keeps the others),
// and a backfill never changes a date's nightly results (SPEC §8).
func TestBackfillKeepsMonthsAndNightly(t *testing.T) {
	t.Parallel()
	in := smallInbox(t)
	dir := t.TempDir()
	wh, rep := filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
	mustAttain(t, "run", "--inbox", in, "--warehouse", wh, "--reports", rep, "--as-of", "2026-10-05", "--log-format", "json")
	nightly := func() map[string]string {
		out := map[string]string{}
		err := filepath.WalkDir(filepath.Join(wh, "results"), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.Contains(p, "2026-10-05") {
				return err
			}
			b, err := os.ReadFile(p)
			out[p] = string(b)
			return err
		})
		if err != nil || len(out) == 0 {
			t.Fatalf("nightly results of 2026-10-05: %d files (%v)", len(out), err)
		}
		return out
	}
	before := nightly()
	mustAttain(t, "backfill", "--warehouse", wh, "--reports", rep, "--from", "2026-10-01", "--to", "2026-10-07",
		"--report-every", "none", "--log-format", "json")
	mustAttain(t, "backfill", "--warehouse", wh, "--reports", rep, "--from", "2026-10-20", "--to", "2026-10-21",
		"--report-every", "none", "--force", "--log-format", "json")
	if after := nightly(); !reflect.DeepEqual(after, before) {
		t.Errorf("the backfills changed the nightly results of 2026-10-05")
	}
	m, err := warehouse.ReadMonthMarker(wh, warehouse.Restated, "2026-10")
	if err != nil || m == nil {
		t.Fatalf("no marker of 2026-10 (%v)", err)
	}
	want := []string{"2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06", "2026-10-07",
		"2026-10-20", "2026-10-21"}
	if !reflect.DeepEqual(m.Dates, want) {
		t.Errorf("2026-10 holds %v, want %v", m.Dates, want)
	}
	// a date of the first backfill, recomputed with the second, is still the
	// date's compute (2026-10-05 reads the nightly results, 10-06 the history)
	one := t.TempDir()
	owh := filepath.Join(one, "wh")
	mustAttain(t, "ingest", "--inbox", in, "--warehouse", owh, "--as-of", "2026-10-05") // what the run landed
	mustAttain(t, "compute", "--warehouse", owh, "--as-of", "2026-10-06")
	for _, tb := range []string{"renewal_risk", "requirements", "key_people"} {
		if got, want := macroRows(t, wh, "2026-10-06")[tb], macroRows(t, owh, "2026-10-06")[tb]; got != want {
			t.Errorf("%s of 2026-10-06 after the second backfill differs from its compute", tb)
		}
	}
	// a second backfill of a complete month computes nothing
	code, _, stderr := attain(t, "backfill", "--warehouse", wh, "--reports", rep, "--from", "2026-10-20", "--to", "2026-10-21",
		"--report-every", "none", "--log-format", "json")
	if code != 0 || !strings.Contains(stderr, `"to_do":0`) {
		t.Errorf("a backfill of stored dates: exit %d, %s", code, stderr)
	}
}
