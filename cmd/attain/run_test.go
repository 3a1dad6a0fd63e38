package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/parquet-go/parquet-go"

	"attain/pipeline"
	"attain/synth"
	"attain/warehouse"
)

// TestMain lets the test binary stand in for attain in subprocesses (kill tests).
func TestMain(m *testing.M) {
	if os.Getenv("ATTAIN_TEST_AS_MAIN") == "1" {
		ctx, stop := signalContext(context.Background())
		code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
		stop()
		os.Exit(code)
	}
	code := m.Run()
	if inboxDir != "" {
		os.RemoveAll(filepath.Dir(inboxDir))
	}
	os.Exit(code)
}

var (
	inboxOnce sync.Once
	inboxDir  string
)

const last = "2026-10-31"

// smallInbox generates a small inbox once for the tests of this package.
func smallInbox(t testing.TB) string {
	t.Helper()
	inboxOnce.Do(func() {
		dir, _ := os.MkdirTemp("", "attain-cmd-")
		inboxDir = filepath.Join(dir, "inbox")
		if err := synth.Generate(synth.Options{Out: inboxDir, Orgs: 12, From: pipeline.MustDate("2026-07-01"),
			To: pipeline.MustDate(last), Seed: 5}); err != nil {
			panic(err)
		}
	})
	return inboxDir
}

// files returns every file under dir (relative path → content).
func files(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

// csvFiles is every CSV report under dir.
func csvFiles(t testing.TB, dir string) map[string]string {
	out := map[string]string{}
	for k, v := range files(t, dir) {
		if strings.HasSuffix(k, ".csv") {
			out[k] = v
		}
	}
	return out
}

func TestRunWritesReportsAndMetrics(t *testing.T) {
	in := smallInbox(t)
	dir := t.TempDir()
	var pushed bytes.Buffer
	var pushPath string
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		pushPath = r.Method + " " + r.URL.Path
		io.Copy(&pushed, r.Body)
		w.WriteHeader(http.StatusOK)
	}))
	defer gw.Close()
	args := []string{"run", "--inbox", in, "--warehouse", filepath.Join(dir, "wh"), "--reports", filepath.Join(dir, "rep"),
		"--as-of", last, "--metrics-file", filepath.Join(dir, "m.prom"), "--pushgateway", gw.URL, "--log-format", "json"}
	code, stdout, stderr := attain(t, args...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	if !strings.Contains(stdout, "renewal-risk-"+last+".xlsx") || !strings.Contains(stderr, `"msg":"run end"`) {
		t.Errorf("stdout %q, no summary line in the log", stdout)
	}
	rep := files(t, filepath.Join(dir, "rep", last))
	for _, name := range append(csvTables, "renewal-risk-"+last+".xlsx") {
		if !strings.Contains(strings.Join(keys(rep), " "), name) {
			t.Errorf("report %s missing: %v", name, keys(rep))
		}
	}
	m, _ := os.ReadFile(filepath.Join(dir, "m.prom"))
	for _, want := range []string{"attain_last_success_timestamp_seconds", `attain_stage_duration_seconds{stage="compute"}`,
		`attain_rows_landed_total{feed="revenue"}`, "attain_files_rejected_total 0", `attain_members{level=`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics file lacks %s", want)
		}
	}
	recs, err := readRunRecords(filepath.Join(dir, "wh"))
	if err != nil || len(recs) != 1 || recs[0].Status != "ok" || recs[0].AsOf != last {
		t.Errorf("run records %+v, %v", recs, err)
	}
	if code, out, _ := attain(t, "status", "--warehouse", filepath.Join(dir, "wh")); code != 0 || !strings.Contains(out, recs[0].RunID) {
		t.Errorf("status does not list the run:\n%s", out)
	}
	if pushPath != "POST /metrics/job/attain" || pushed.Len() == 0 {
		t.Errorf("pushgateway got %q with %d bytes", pushPath, pushed.Len())
	}

	// Re-runs are byte-identical.
	code, _, stderr = attain(t, args...)
	if code != 0 {
		t.Fatalf("second run: exit %d: %s", code, stderr)
	}
	if again := files(t, filepath.Join(dir, "rep", last)); !reflect.DeepEqual(csvOnly(rep), csvOnly(again)) {
		t.Error("a second run changed the CSV files")
	}
}

func csvOnly(m map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range m {
		if strings.HasSuffix(k, ".csv") {
			out[k] = v
		}
	}
	return out
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestFailedRunDoesNotReportSuccess(t *testing.T) {
	in := smallInbox(t)
	dir := t.TempDir()
	// A catalog in force only from 2030: compute cannot evaluate 2026.
	cat := filepath.Join(dir, "future.yaml")
	os.WriteFile(cat, []byte("version: F\neffective_from: 2030-01-01\ncompetencies:\n  - id: c\n    silver:\n      - path: p\n        requires:\n          - metric: active_users\n            min: 1\n"), 0o644)
	code, _, stderr := attain(t, "run", "--inbox", in, "--warehouse", filepath.Join(dir, "wh"), "--reports", filepath.Join(dir, "rep"),
		"--as-of", last, "--catalog", cat, "--metrics-file", filepath.Join(dir, "m.prom"))
	if code != 2 {
		t.Fatalf("exit %d, want 2: %s", code, stderr)
	}
	m, _ := os.ReadFile(filepath.Join(dir, "m.prom"))
	if strings.Contains(string(m), "attain_last_success_timestamp_seconds") || !strings.Contains(string(m), "attain_stage_duration_seconds") ||
		!strings.Contains(string(m), "attain_last_exit_code 2") {
		t.Errorf("a failed run's metrics:\n%s", m)
	}
	var end map[string]any
	for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "run end" {
			end = rec
		}
	}
	if end["level"] != "ERROR" || end["stage"] != "compute" || end["workbook"] != nil {
		t.Errorf("run end line %v: want ERROR, naming the compute stage and no reports", end)
	}

	// After a success, a failed run keeps the success timestamp it replaces.
	metrics := filepath.Join(dir, "ok.prom")
	wh := filepath.Join(dir, "wh-ok")
	if code, _, stderr := attain(t, "run", "--inbox", in, "--warehouse", wh, "--reports", filepath.Join(dir, "rep"),
		"--as-of", last, "--metrics-file", metrics); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	ok, _ := os.ReadFile(metrics)
	success := regexp.MustCompile(`(?m)^attain_last_success_timestamp_seconds .*$`).FindString(string(ok))
	if success == "" {
		t.Fatalf("a successful run's metrics lack the success timestamp:\n%s", ok)
	}
	if code, _, _ := attain(t, "run", "--inbox", in, "--warehouse", wh, "--reports", filepath.Join(dir, "rep"),
		"--as-of", last, "--catalog", cat, "--metrics-file", metrics); code != 2 {
		t.Fatalf("exit %d, want 2", code)
	}
	failed, _ := os.ReadFile(metrics)
	if !strings.Contains(string(failed), success+"\n") || !strings.Contains(string(failed), "attain_last_exit_code 2") {
		t.Errorf("the failed run's metrics lost the last success (%s):\n%s", success, failed)
	}
}

// TestKilledRunsFinishTheSame: a run killed with SIGKILL at random points and
// run again gives the CSV files and result rows of an uninterrupted run.
func TestKilledRunsFinishTheSame(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills 20 runs")
	}
	in := smallInbox(t)
	self, _ := os.Executable()
	attainProc := func(dir string) *exec.Cmd {
		cmd := exec.Command(self, "run", "--inbox", in, "--warehouse", filepath.Join(dir, "wh"), "--reports", filepath.Join(dir, "rep"),
			"--as-of", last, "--log-format", "json")
		cmd.Env = append(os.Environ(), "ATTAIN_TEST_AS_MAIN=1")
		return cmd
	}
	clean := t.TempDir()
	start := time.Now()
	if out, err := attainProc(clean).CombinedOutput(); err != nil {
		t.Fatalf("clean run: %v\n%s", err, out)
	}
	full := time.Since(start)
	want := csvFiles(t, filepath.Join(clean, "rep"))
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 20; trial++ {
		dir := t.TempDir()
		delay, _ := killAtRandom(t, attainProc(dir), rng, full)
		hiveVisible(t, filepath.Join(dir, "wh"), fmt.Sprintf("trial %d (killed after %v)", trial, delay))
		if out, err := attainProc(dir).CombinedOutput(); err != nil {
			t.Fatalf("trial %d (killed after %v): the run after it failed: %v\n%s", trial, delay, err, out)
		}
		if got := csvFiles(t, filepath.Join(dir, "rep")); !reflect.DeepEqual(got, want) {
			t.Errorf("trial %d (killed after %v): CSV files differ from an uninterrupted run", trial, delay)
		}
	}
}

// TestKilledDerivationFinishesTheSame: a first compute on a landed warehouse
// spends most of its time deriving the closed months (compacted copies, the
// split's units, what each unit's deliveries supersede); killed with SIGKILL
// at random points there and run again, it gives the results of an
// uninterrupted compute, and no derived file is ever half there.
func TestKilledDerivationFinishesTheSame(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills 12 computes")
	}
	in := smallInbox(t)
	landed := t.TempDir()
	mustAttain(t, "ingest", "--inbox", in, "--warehouse", landed, "--as-of", last, "--log-format", "json")
	compute := func(wh string) *exec.Cmd {
		return attainCmd(t, "compute", "--warehouse", wh, "--as-of", last, "--log-format", "json")
	}
	clean := t.TempDir()
	if out, err := exec.Command("cp", "-a", landed+"/.", clean).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v\n%s", err, out)
	}
	start := time.Now()
	if out, err := compute(clean).CombinedOutput(); err != nil {
		t.Fatalf("clean compute: %v\n%s", err, out)
	}
	full := time.Since(start)
	want := macroRows(t, clean, last)
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := 0; trial < 12; trial++ {
		wh := t.TempDir()
		if out, err := exec.Command("cp", "-a", landed+"/.", wh).CombinedOutput(); err != nil {
			t.Fatalf("cp: %v\n%s", err, out)
		}
		delay, _ := killAtRandom(t, compute(wh), rng, full)
		what := fmt.Sprintf("trial %d (killed after %v of %v)", trial, delay, full)
		hiveVisible(t, wh, what)
		if out, err := compute(wh).CombinedOutput(); err != nil {
			t.Fatalf("%s: the compute after it failed: %v\n%s", what, err, out)
		}
		if got := macroRows(t, wh, last); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: results differ from an uninterrupted compute", what)
		}
	}
}

// killAtRandom starts cmd and kills it with SIGKILL after a random delay
// under full (it may finish first); it returns the delay and how cmd ended.
func killAtRandom(t testing.TB, cmd *exec.Cmd, rng *rand.Rand, full time.Duration) (time.Duration, error) {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	delay := time.Duration(rng.Int64N(int64(full)))
	timer := time.AfterFunc(delay, func() { cmd.Process.Signal(syscall.SIGKILL) })
	defer timer.Stop()
	return delay, cmd.Wait()
}

// hiveVisible checks what a directory reader (Spark, Trino, pyarrow, Polars)
// would read of the warehouse's data directories: every file under a name
// that does not start with "." or "_" must be a whole Parquet file, read here
// by parquet-go, not DuckDB (SPEC §6.1: a file not yet in place has a
// temporary name that starts with ".").
func hiveVisible(t testing.TB, wh, what string) {
	t.Helper()
	for _, root := range []string{"landed", "quarantine", "results", "history", "history-as-known", "compacted", "shards"} {
		filepath.WalkDir(filepath.Join(wh, root), func(p string, d os.DirEntry, err error) error {
			if err != nil {
				return nil // not there yet
			}
			if name := d.Name(); strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_") {
				if d.IsDir() {
					return filepath.SkipDir
				}
				return nil
			}
			if d.IsDir() {
				return nil
			}
			// derived months keep JSON manifests beside their Parquet files
			if (root == "compacted" || root == "shards") && !strings.HasSuffix(d.Name(), ".parquet") {
				return nil
			}
			f, err := os.Open(p)
			if err != nil {
				t.Errorf("%s: %v", what, err)
				return nil
			}
			defer f.Close()
			info, _ := f.Stat()
			if _, err := parquet.OpenFile(f, info.Size()); err != nil {
				t.Errorf("%s: a directory reader would read %s, which is not a whole Parquet file: %v", what, p, err)
			}
			return nil
		})
	}
}

// TestBackfillEqualsNightlyRuns: backfilling a range with --as-known gives, byte
// for byte, the CSV files that running the job each night of it gives.
func TestBackfillEqualsNightlyRuns(t *testing.T) {
	t.Parallel()
	in := smallInbox(t)
	nightly, backfill := t.TempDir(), t.TempDir()
	dates := []string{"2026-10-28", "2026-10-29", "2026-10-30", "2026-10-31"}
	for _, d := range dates {
		code, _, stderr := attain(t, "run", "--inbox", in, "--warehouse", filepath.Join(nightly, "wh"),
			"--reports", filepath.Join(nightly, "rep"), "--as-of", d)
		if code != 0 {
			t.Fatalf("nightly %s: exit %d: %s", d, code, stderr)
		}
	}
	wh := filepath.Join(backfill, "wh")
	if code, _, stderr := attain(t, "ingest", "--inbox", in, "--warehouse", wh, "--as-of", last); code != 0 {
		t.Fatalf("ingest: %s", stderr)
	}
	args := []string{"backfill", "--warehouse", wh, "--reports", filepath.Join(backfill, "rep"),
		"--from", dates[0], "--to", last, "--as-known", "--report-every", "day"}
	if code, _, stderr := attain(t, args...); code != 0 {
		t.Fatalf("backfill: exit %d: %s", code, stderr)
	}
	want, got := csvFiles(t, filepath.Join(nightly, "rep")), csvFiles(t, filepath.Join(backfill, "rep"))
	if len(want) != len(csvTables)*len(dates) || !reflect.DeepEqual(got, want) {
		t.Errorf("backfill gave %d CSV files, nightly %d; equal: %v", len(got), len(want), reflect.DeepEqual(got, want))
		for k := range want {
			if got[k] != want[k] {
				t.Errorf("%s differs", k)
			}
		}
	}
	// Resumable: a second backfill finds every date complete and skips it.
	code, _, stderr := attain(t, append(args, "--log-format", "json")...)
	if code != 0 || !strings.Contains(stderr, `"to_do":0`) {
		t.Errorf("second backfill: exit %d, %s", code, stderr)
	}
	// Stopped after a date's results but before its workbook: the next backfill
	// writes that date's reports (and computes nothing).
	rep := filepath.Join(backfill, "rep", dates[1])
	if err := os.RemoveAll(rep); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = attain(t, append(args, "--log-format", "json")...)
	if code != 0 || !strings.Contains(stderr, `"to_do":1,"reports_only":1`) || strings.Contains(stderr, `"stage":"compute"`) {
		t.Errorf("backfill after a lost report: exit %d, %s", code, stderr)
	}
	if got := csvFiles(t, filepath.Join(backfill, "rep")); !reflect.DeepEqual(got, want) {
		t.Errorf("the rewritten reports differ from the nightly run's")
	}
}

func TestBackfillSpine(t *testing.T) {
	d := pipeline.MustDate
	week, _ := pipeline.Spine(d("2026-11-01"), d("2026-11-30"), "week")
	month, _ := pipeline.Spine(d("2026-01-15"), d("2026-04-30"), "month")
	if got := strings.Trim(strings.ReplaceAll(strings.Join(strs(week), " "), "2026-11-", ""), " "); got != "01 08 15 22 29" {
		t.Errorf("week ends %s", got)
	}
	if got := strings.Join(strs(month), " "); got != "2026-01-31 2026-02-28 2026-03-31 2026-04-30" {
		t.Errorf("month ends %s", got)
	}
}

// TestBackfillReportDates: results for every date of the spine, reports for
// the report dates only (SPEC §8): by default the month ends and B; none with
// --report-every none; a report date off the spine is computed too.
func TestBackfillReportDates(t *testing.T) {
	t.Parallel()
	in := smallInbox(t)
	for _, tc := range []struct {
		args    []string
		reports []string
	}{
		{[]string{"--from", "2026-09-28", "--to", "2026-10-02"}, []string{"2026-09-30", "2026-10-02"}},
		{[]string{"--from", "2026-09-28", "--to", "2026-10-02", "--report-every", "none"}, nil},
		{[]string{"--from", "2026-09-27", "--to", "2026-10-02", "--every", "week", "--report-every", "month"}, []string{"2026-09-30", "2026-10-02"}},
		// a range without a date of its spine computes nothing
		{[]string{"--from", "2026-10-05", "--to", "2026-10-06", "--every", "week", "--report-every", "none"}, nil},
	} {
		dir := t.TempDir()
		wh, rep := filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
		if code, _, stderr := attain(t, "ingest", "--inbox", in, "--warehouse", wh, "--as-of", last); code != 0 {
			t.Fatalf("ingest: %s", stderr)
		}
		if code, _, stderr := attain(t, append([]string{"backfill", "--warehouse", wh, "--reports", rep}, tc.args...)...); code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.args, code, stderr)
		}
		var reported []string
		entries, _ := os.ReadDir(rep)
		for _, en := range entries {
			reported = append(reported, en.Name())
		}
		if !reflect.DeepEqual(reported, tc.reports) {
			t.Errorf("%v: reports for %v, want %v", tc.args, reported, tc.reports)
		}
		stored, err := warehouse.StoredDates(wh)
		if err != nil {
			t.Fatal(err)
		}
		spineDates := 5
		switch {
		case tc.args[len(tc.args)-1] == "month":
			spineDates = 3 // Sunday 09-27, and the report dates 09-30 and 10-02
		case tc.args[1] == "2026-10-05":
			spineDates = 0
		}
		if len(stored) != spineDates {
			t.Errorf("%v: %d dates with results, want %d", tc.args, len(stored), spineDates)
		}
		if nightly, _ := warehouse.CompleteDates(wh); len(nightly) != 0 {
			t.Errorf("%v: the backfill wrote nightly results of %v", tc.args, nightly)
		}
	}
}

func strs(ds []pipeline.Date) []string {
	var out []string
	for _, d := range ds {
		out = append(out, d.String())
	}
	return out
}

// TestSIGTERMStopsQuickly: SIGTERM stops a run within 10 s with exit 143 and
// nothing partial: no temporary file, and no date's results without its marker.
func TestSIGTERMStopsQuickly(t *testing.T) {
	in := smallInbox(t)
	self, _ := os.Executable()
	for _, after := range []time.Duration{300 * time.Millisecond, 1500 * time.Millisecond} {
		dir := t.TempDir()
		cmd := exec.Command(self, "run", "--inbox", in, "--warehouse", filepath.Join(dir, "wh"), "--reports", filepath.Join(dir, "rep"),
			"--as-of", last, "--log-format", "json")
		cmd.Env = append(os.Environ(), "ATTAIN_TEST_AS_MAIN=1")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(after)
		sent := time.Now()
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code == 143 && (!strings.Contains(stderr.String(), "\nError: stopped by terminated") ||
			regexp.MustCompile(`(?m)^Error: .*INTERRUPT`).MatchString(stderr.String())) {
			t.Errorf("after SIGTERM at %v the error line is not attain's own:\n%s", after, stderr.String())
		}
		if took := time.Since(sent); took > 10*time.Second {
			t.Errorf("stopped %v after SIGTERM", took)
		}
		if code := cmd.ProcessState.ExitCode(); code != 143 && code != 0 {
			t.Errorf("exit %d after SIGTERM at %v, want 143 (or 0 when it had finished)", code, after)
		}
		for name := range files(t, dir) {
			if strings.HasSuffix(name, pipeline.TempSuffix) {
				t.Errorf("left %s", name)
			}
		}
	}
}

// TestDemoTellsAStory: make run's demo (attain gen --orgs 200, the nightly run of
// the day before, then tonight's) shows a believable program (issue: the demo a
// newcomer sees first): most members ok, some at risk and some lapsed, alerts
// tonight, items expiring within 90 days and members that rest on key people.
func TestDemoTellsAStory(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("generates and runs the 200-organization demo")
	}
	dir := t.TempDir()
	in, wh, rep := filepath.Join(dir, "inbox"), filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
	mustAttain(t, "gen", "--out", in, "--orgs", "200", "--to", "2026-10-31", "--log-format", "json")
	for _, d := range []string{"2026-10-30", "2026-10-31"} {
		mustAttain(t, "run", "--inbox", in, "--warehouse", wh, "--reports", rep, "--as-of", d, "--log-format", "json")
	}
	read := func(name string) []map[string]string {
		recs := readCSV(t, filepath.Join(rep, "2026-10-31", name))
		var out []map[string]string
		for _, r := range recs[1:] {
			m := map[string]string{}
			for i, h := range recs[0] {
				m[h] = r[i]
			}
			out = append(out, m)
		}
		return out
	}
	status := map[string]int{}
	members := 0
	for _, r := range read("renewal_risk.csv") {
		if r["membership_level"] != "" {
			members++
			status[r["status"]]++
		}
	}
	share := func(s string) float64 { return float64(status[s]) / float64(max(members, 1)) }
	t.Logf("%d members: %v; %d alerts", members, status, len(read("alerts.csv")))
	if members < 50 || share("ok") < 0.6 || share("ok") > 0.95 || status["at_risk"] < 3 || status["lapsed"] < 3 || share("lapsed") > 0.25 {
		t.Errorf("%d members %v: want most ok (60-95%%), at least 3 at risk and 3 lapsed, at most a quarter lapsed", members, status)
	}
	if n := len(read("alerts.csv")); n < 3 {
		t.Errorf("%d alerts tonight, want several", n)
	}
	if len(read("expiring.csv")) == 0 || len(read("key_people.csv")) == 0 {
		t.Error("no expiring items or no key people in the demo")
	}
}

// readCSV reads a report's CSV file, header row first.
func readCSV(t testing.TB, path string) [][]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestEarlyFailures: a run that fails before it starts ends like any failure
// (SPEC §7): its exit code in the metrics and an ERROR summary line naming the
// stage; commands that read a warehouse do not make one from a mistyped path
// (SPEC §2: exit 2); and the warehouse lock survives its file being removed.
func TestEarlyFailures(t *testing.T) {
	in := smallInbox(t)
	dir := t.TempDir()
	wh := filepath.Join(dir, "wh")
	notDir := filepath.Join(dir, "a-file")
	os.WriteFile(notDir, []byte("x"), 0o644)
	held, err := pipeline.AcquireLock(filepath.Join(dir, "held"), "a test")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Release()
	// the holder's lock file removed under it: the lock is the directory's
	os.Remove(filepath.Join(dir, "held", pipeline.LockFile))
	for _, tc := range []struct {
		name string
		args []string
		code int
	}{
		{"missing inbox", []string{"--inbox", filepath.Join(dir, "no-inbox"), "--warehouse", wh, "--reports", filepath.Join(dir, "rep")}, 2},
		{"reports a file", []string{"--inbox", in, "--warehouse", wh, "--reports", notDir}, 2},
		{"lock held", []string{"--inbox", in, "--warehouse", filepath.Join(dir, "held"), "--reports", filepath.Join(dir, "rep")}, 75},
	} {
		t.Run(tc.name, func(t *testing.T) {
			metrics := filepath.Join(dir, tc.name+".prom")
			code, _, stderr := attain(t, append([]string{"run", "--as-of", last, "--metrics-file", metrics, "--log-format", "json"}, tc.args...)...)
			if code != tc.code {
				t.Fatalf("exit %d, want %d: %s", code, tc.code, stderr)
			}
			m, _ := os.ReadFile(metrics)
			if !strings.Contains(string(m), fmt.Sprintf("attain_last_exit_code %d", tc.code)) {
				t.Errorf("metrics:\n%s", m)
			}
			var end map[string]any
			for _, line := range strings.Split(strings.TrimSpace(stderr), "\n") {
				var rec map[string]any
				if json.Unmarshal([]byte(line), &rec) == nil && rec["msg"] == "run end" {
					end = rec
				}
			}
			if end["level"] != "ERROR" || end["stage"] != "start" {
				t.Errorf("run end line %v: want ERROR naming the stage start", end)
			}
		})
	}
	for _, args := range [][]string{
		{"compute", "--as-of", last}, {"report", "--as-of", last, "--reports", filepath.Join(dir, "rep")},
		{"backfill", "--from", last, "--to", last}, {"status"},
	} {
		missing := filepath.Join(dir, "no-warehouse")
		code, _, stderr := attain(t, append(args, "--warehouse", missing)...)
		if code != 2 || !strings.Contains(stderr, missing) {
			t.Errorf("%s on a missing warehouse: exit %d, %s; want 2 naming it", args[0], code, stderr)
		}
		if _, err := os.Stat(missing); err == nil {
			t.Errorf("%s made the missing warehouse", args[0])
		}
	}
}
