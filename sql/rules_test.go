package sql

import (
	"bytes"
	"context"
	dbsql "database/sql"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"attain/duck"
	"attain/ingest"
	"attain/pipeline"
	"attain/warehouse"
)

var update = flag.Bool("update", false, "rewrite the expected CSV files of testdata/rules from what the code computes (review them before committing)")

var testSettings = duck.Settings{MemoryLimit: "1GiB", Threads: 2}

// testEngine opens a session with testSettings, closed when the test ends.
func testEngine(t testing.TB) *Engine {
	t.Helper()
	e, err := Open(context.Background(), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

// TestRules runs every case under testdata/rules: a small inbox, a catalog and an
// as-of date in, expected result tables out. Each case's README says which
// sentences of the SPEC it pins down; the expected files were worked out by hand
// from those sentences. Only the tables a case has expected files for are compared.
// Each case is computed in one shard and in three: an organization's results do
// not depend on the shards (SPEC §7.1).
func TestRules(t *testing.T) {
	t.Parallel()
	cases, err := filepath.Glob("testdata/rules/*")
	if err != nil {
		t.Fatal(err)
	}
	if len(cases) == 0 {
		t.Fatal("no cases under testdata/rules")
	}
	for _, dir := range cases {
		for _, shards := range []int{1, 3} {
			t.Run(fmt.Sprintf("%s/shards=%d", filepath.Base(dir), shards), func(t *testing.T) {
				wh := computeCaseShards(t, dir, nil, shards)
				asOf := caseDate(t, dir)
				for _, table := range warehouse.Tables {
					want := filepath.Join(dir, "expected", table.Name+".csv")
					if _, err := os.Stat(want); err != nil && !*update {
						continue
					}
					got := exportCSV(t, wh, table.Name, asOf)
					if *update && shards == 1 {
						if _, err := os.Stat(want); err == nil || strings.Count(got, "\n") > 1 {
							os.MkdirAll(filepath.Dir(want), 0o755)
							os.WriteFile(want, []byte(got), 0o644)
						}
						continue
					}
					b, _ := os.ReadFile(want)
					if got != string(b) {
						t.Errorf("%s differs\n--- got\n%s--- want\n%s", table.Name, got, b)
					}
				}
			})
		}
	}
}

func caseDate(t testing.TB, dir string) pipeline.Date {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, "as_of"))
	if err != nil {
		t.Fatal(err)
	}
	return pipeline.MustDate(strings.TrimSpace(string(b)))
}

// computeCase ingests a case's inbox and computes its as-of date, telling log
// (when not nil) what compute logs; it returns the warehouse.
func computeCase(t testing.TB, dir string, log *slog.Logger) string {
	t.Helper()
	return computeCaseShards(t, dir, log, 1)
}

// computeCaseShards is computeCase in that many shards.
func computeCaseShards(t testing.TB, dir string, log *slog.Logger, shards int) string {
	t.Helper()
	asOf := caseDate(t, dir)
	wh := t.TempDir()
	_, err := ingest.Run(context.Background(), ingest.Options{Inbox: filepath.Join(dir, "inbox"), Warehouse: wh,
		AsOf: pipeline.MustDate("2999-12-31"), MaxBadFraction: 0.05, RunID: "test"})
	if err != nil {
		t.Fatalf("ingest: %v", err)
	}
	catalog := filepath.Join(dir, "catalog.yaml")
	if _, err := os.Stat(catalog); err != nil {
		catalog = filepath.Join(dir, "catalog") // several versions
	}
	cat, err := pipeline.LoadCatalog(catalog)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Compute(context.Background(), ComputeOptions{Warehouse: wh, Dates: []pipeline.Date{asOf}, Catalog: cat, Settings: testSettings,
		Shards: shards, RunID: "test", Now: func() time.Time { return asOf.End() }, Log: log})
	if err != nil {
		t.Fatalf("compute: %v", err)
	}
	return wh
}

// exportCSV renders a result table of a date as CSV through DuckDB (dates as
// YYYY-MM-DD), its parts in the order of its key.
func exportCSV(t testing.TB, wh, table string, d pipeline.Date) string {
	t.Helper()
	db, err := dbsql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	out := filepath.Join(t.TempDir(), "out.csv")
	files, err := warehouse.ResultFiles(wh, table, d)
	if err != nil || len(files) == 0 {
		t.Fatalf("%s: no result files (%v)", table, err)
	}
	q := fmt.Sprintf("COPY (SELECT * FROM %s ORDER BY %s) TO '%s' (HEADER, DELIMITER ',')", duck.ReadFiles(files), warehouse.TableOrder(table), out)
	if _, err := db.Exec(q); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestComputeLogsEachStep: at debug level a compute logs how long each of its
// steps took, in the order they ran; the compute benchmark reads these lines.
func TestComputeLogsEachStep(t *testing.T) {
	var buf bytes.Buffer
	computeCase(t, "testdata/rules/membership", slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		var rec struct {
			Msg     string   `json:"msg"`
			Step    string   `json:"step"`
			Seconds *float64 `json:"seconds"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if rec.Msg == "compute step" {
			if rec.Seconds == nil || *rec.Seconds < 0 {
				t.Errorf("%s: seconds %v", rec.Step, rec.Seconds)
			}
			got = append(got, rec.Step)
		}
	}
	// the split (its units of deliveries, the restatement of what is not split
	// in units), then in the shard's session the rules, the readers of stored
	// results (history.sql, for the alerts' previous statuses), the pass's
	// results, its segments and the write
	i := slices.Index(Steps, "changes.sql") + 1
	want := append([]string{Steps[0], "load", "split units", "repeated keys", "restate.sql", "split", Steps[0]}, Steps[2:i]...)
	want = append(append(want, "history.sql"), Steps[i:]...)
	want = append(want, "results.sql", "segments.sql", "write")
	if !slices.Equal(got, want) {
		t.Errorf("steps logged %q, want %q", got, want)
	}
}

func TestNoVersionInForceIsAUsageError(t *testing.T) {
	cat, _ := pipeline.DefaultCatalog()
	_, err := Compute(context.Background(), ComputeOptions{Warehouse: t.TempDir(), Dates: []pipeline.Date{pipeline.MustDate("2016-01-01")},
		Catalog: cat, Settings: testSettings})
	if !errors.Is(err, pipeline.ErrUsage) {
		t.Fatalf("err = %v, want ErrUsage", err)
	}
}

// TestCauseIgnoresOtherOrganizations: a cause depends on its organization's rows
// and on the individuals associated with it only (SPEC §5.5). An unrelated
// organization with memberships years older than any other (one still in force), revenue before them
// and an individual who left long ago is added to the causes case: every other
// organization's renewal_risk row stays as it was.
func TestCauseIgnoresOtherOrganizations(t *testing.T) {
	base := "testdata/rules/causes"
	dir := t.TempDir()
	if err := os.CopyFS(dir, os.DirFS(base)); err != nil {
		t.Fatal(err)
	}
	extra := map[string]string{
		"organizations_2026-11-01.csv": "org_id,org_name,country\no-zzz,Unrelated,US\n",
		"memberships_2026-11-01.csv":   "org_id,level,purchased_on,anniversary_on\no-zzz,gold,2017-01-01,2018-01-01\no-zzz,silver,2024-01-01,2027-01-01\n",
		"revenue_2026-11-01.csv":       "transaction_id,org_id,customer_id,product,amount,currency,booked_on,attribution\nT-Z,o-zzz,c-z,P,5000,USD,2015-03-01,dpor\n",
		"associations_2026-11-01.csv":  "individual_id,org_id,event,event_at\ni-z,o-zzz,associate,2014-01-01T00:00:00Z\ni-z,,disassociate,2016-01-01T00:00:00Z\n",
		"exams_2026-11-01.csv":         "individual_id,code,passed_on,expires_on\ni-z,EX,2013-01-01,\n",
	}
	for name, body := range extra {
		if err := os.WriteFile(filepath.Join(dir, "inbox", name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	asOf := caseDate(t, base)
	want := exportCSV(t, computeCase(t, base, nil), "renewal_risk", asOf)
	var got []string
	for _, line := range strings.SplitAfter(exportCSV(t, computeCase(t, dir, nil), "renewal_risk", asOf), "\n") {
		if !strings.Contains(line, ",o-zzz,") {
			got = append(got, line)
		}
	}
	if strings.Join(got, "") != want {
		t.Errorf("an unrelated organization changed others' rows\n--- got\n%s--- want\n%s", strings.Join(got, ""), want)
	}
}
