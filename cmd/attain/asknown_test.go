package main

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"attain/warehouse"
)

// asKnownCase is a hand-made inbox whose disassociations arrive on dates that
// put a weekly backfill's alerts to the test (testdata/asknown/README.md).
const asKnownCase = "testdata/asknown"

// nightlyRuns runs the job each night of dates, in order, on a warehouse of
// its own (each run lands the deliveries dated on or before its date), and
// returns its reports directory.
func nightlyRuns(t *testing.T, dates ...string) (wh, rep string) {
	t.Helper()
	dir := t.TempDir()
	wh, rep = filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
	for _, d := range dates {
		mustAttain(t, "run", "--inbox", filepath.Join(asKnownCase, "inbox"), "--warehouse", wh, "--reports", rep,
			"--as-of", d, "--catalog", filepath.Join(asKnownCase, "catalog.yaml"), "--log-format", "json")
	}
	return wh, rep
}

// sameReports compares every CSV file of each date of two reports directories.
func sameReports(t *testing.T, what, got, want string, dates ...string) {
	t.Helper()
	g, w := csvFiles(t, got), csvFiles(t, want)
	if len(w) != len(csvTables)*len(dates) {
		t.Fatalf("%s: the nightly runs wrote %d CSV files", what, len(w))
	}
	for k, v := range w {
		if g[k] != v {
			t.Errorf("%s: %s differs from the nightly run's\n got %q\nwant %q", what, k, g[k], v)
		}
	}
}

// TestAsKnownBackfillEqualsNightlyRuns: every date of an --as-known backfill
// has, CSV file for CSV file, alerts included, what the nightly run of that
// date gave after the nightly run of the date before it: the previous spine
// date in the same month and not yet written, in the month before, and before
// the backfill (a stored result older than that is not the previous date).
// The two histories live side by side: a restated backfill of the same month
// and the --as-known one neither recompute nor replace each other, and each
// reads through history.sql (SPEC §8).
func TestAsKnownBackfillEqualsNightlyRuns(t *testing.T) {
	t.Parallel()
	cat := filepath.Join(asKnownCase, "catalog.yaml")
	weekly := []string{"2026-09-20", "2026-09-27", "2026-10-04", "2026-10-11", "2026-10-18"}
	nwh, nrep := nightlyRuns(t, weekly...)
	if alerts := readCSV(t, filepath.Join(nrep, "2026-10-18", "alerts.csv")); len(alerts) != 3 {
		t.Fatalf("the case needs the nightly alerts of a1 and k1 on 2026-10-18; got %v", alerts)
	}

	dir := t.TempDir()
	wh, rep := filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
	common := []string{"--warehouse", wh, "--catalog", cat, "--log-format", "json"}
	mustAttain(t, append([]string{"ingest", "--inbox", filepath.Join(asKnownCase, "inbox"), "--as-of", "2026-10-31"}, common...)...)
	restated := append([]string{"backfill", "--reports", filepath.Join(dir, "restated"), "--from", "2026-10-01", "--to", "2026-10-07",
		"--report-every", "none"}, common...)
	mustAttain(t, restated...)
	before, err := warehouse.ReadMonthMarker(wh, warehouse.Restated, "2026-10")
	if err != nil || before == nil {
		t.Fatalf("no restated marker of 2026-10 (%v)", err)
	}
	// an older stored result of the same kind, ok for c1
	mustAttain(t, append([]string{"backfill", "--reports", rep, "--from", "2026-08-30", "--to", "2026-08-30", "--every", "week",
		"--report-every", "none", "--as-known"}, common...)...)
	asKnown := append([]string{"backfill", "--reports", rep, "--from", weekly[0], "--to", weekly[len(weekly)-1], "--every", "week",
		"--report-every", "day", "--as-known"}, common...)
	mustAttain(t, asKnown...)
	sameReports(t, "weekly --as-known", rep, nrep, weekly...)

	// the restated month is as it was, and holds its own dates
	after, err := warehouse.ReadMonthMarker(wh, warehouse.Restated, "2026-10")
	if err != nil || after == nil || after.RunID != before.RunID || after.Gen != before.Gen {
		t.Errorf("the --as-known backfill replaced the restated month 2026-10: %+v, was %+v (%v)", after, before, err)
	}
	known, err := warehouse.ReadMonthMarker(wh, warehouse.AsKnown, "2026-10")
	if want := []string{"2026-10-04", "2026-10-11", "2026-10-18"}; err != nil || known == nil || !reflect.DeepEqual(known.Dates, want) {
		t.Errorf("the --as-known month 2026-10: %+v, want the dates %v (%v)", known, want, err)
	}
	// neither backfill recomputes the other's months when run again
	for _, args := range [][]string{restated, asKnown} {
		if code, _, stderr := attain(t, args...); code != 0 || !strings.Contains(stderr, `"to_do":0`) {
			t.Errorf("%s again: exit %d, %s", strings.Join(args[:8], " "), code, stderr)
		}
	}

	// history.sql reads each kind: the --as-known history as the nightly
	// results, the restated as a restated backfill in a fresh warehouse
	for _, d := range []string{"2026-10-11", "2026-10-04"} {
		if got, want := macroRowsOf(t, wh, d, "_as_known_on"), macroRowsOf(t, nwh, d, "_on"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the --as-known history read through history.sql differs from the nightly results", d)
		}
	}
	fresh := filepath.Join(t.TempDir(), "wh")
	mustAttain(t, "ingest", "--inbox", filepath.Join(asKnownCase, "inbox"), "--warehouse", fresh, "--as-of", "2026-10-31", "--catalog", cat)
	mustAttain(t, "backfill", "--warehouse", fresh, "--reports", filepath.Join(t.TempDir(), "rep"), "--from", "2026-10-01",
		"--to", "2026-10-07", "--report-every", "none", "--catalog", cat)
	if got, want := macroRowsOf(t, wh, "2026-10-05", "_on"), macroRowsOf(t, fresh, "2026-10-05", "_on"); !reflect.DeepEqual(got, want) {
		t.Errorf("the restated history of 2026-10-05 differs from a restated backfill's in a fresh warehouse")
	}
	// a date off its month's spine has no rows in either kind
	for _, c := range []struct{ d, suffix string }{{"2026-10-11", "_on"}, {"2026-10-05", "_as_known_on"}, {"2026-10-12", "_as_known_on"}} {
		for table, rows := range macroRowsOf(t, wh, c.d, c.suffix) {
			if rows != "[]" {
				t.Errorf("%s%s(%s): a date off the spine has rows %.200s", table, c.suffix, c.d, rows)
			}
		}
	}

	// attain report of a date stored only as known says so, and reads it
	again := filepath.Join(dir, "again")
	code, _, stderr := attain(t, "report", "--warehouse", wh, "--reports", again, "--as-of", "2026-10-11", "--catalog", cat, "--log-format", "json")
	if code != 0 || !strings.Contains(stderr, "only in the as-known history") {
		t.Errorf("report of a date stored only as known: exit %d, %s", code, stderr)
	}
	if g, w := csvFiles(t, filepath.Join(again, "2026-10-11")), csvFiles(t, filepath.Join(nrep, "2026-10-11")); !reflect.DeepEqual(g, w) {
		t.Errorf("report of 2026-10-11 from the --as-known history differs from its nightly run's")
	}
	// attain status shows both histories
	_, stdout, _ := attain(t, "status", "--warehouse", wh)
	if !strings.Contains(stdout, "restated history (history/): 1 month(s)") || !strings.Contains(stdout, "as-known history (history-as-known/): 3 month(s)") {
		t.Errorf("status does not show both histories:\n%s", stdout)
	}
}

// TestDailyAsKnownBackfillAcrossAMonthEnd: the same for daily dates over a
// month end, where b1's disassociation is delivered the day after it happened.
func TestDailyAsKnownBackfillAcrossAMonthEnd(t *testing.T) {
	t.Parallel()
	daily := []string{"2026-09-29", "2026-09-30", "2026-10-01", "2026-10-02", "2026-10-03"}
	_, nrep := nightlyRuns(t, daily...)
	if alerts := readCSV(t, filepath.Join(nrep, "2026-10-02", "alerts.csv")); len(alerts) != 2 {
		t.Fatalf("the case needs b1's nightly alert on 2026-10-02; got %v", alerts)
	}
	dir := t.TempDir()
	wh, rep := filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
	cat := filepath.Join(asKnownCase, "catalog.yaml")
	mustAttain(t, "ingest", "--inbox", filepath.Join(asKnownCase, "inbox"), "--warehouse", wh, "--as-of", "2026-10-31", "--catalog", cat)
	mustAttain(t, "backfill", "--warehouse", wh, "--reports", rep, "--from", daily[0], "--to", daily[len(daily)-1],
		"--report-every", "day", "--as-known", "--catalog", cat)
	sameReports(t, "daily --as-known", rep, nrep, daily...)
}
