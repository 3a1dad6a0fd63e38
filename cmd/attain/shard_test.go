package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"attain/duck"
	"attain/pipeline"
	"attain/sql"
	"attain/warehouse"
)

// attainCmd is the test binary as attain, with these arguments.
func attainCmd(t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	self, _ := os.Executable()
	cmd := exec.Command(self, args...)
	cmd.Env = append(os.Environ(), "ATTAIN_TEST_AS_MAIN=1")
	return cmd
}

// mustAttain runs attain with these arguments and fails the test, with its
// output, when it does not exit 0.
func mustAttain(t testing.TB, args ...string) {
	t.Helper()
	if out, err := attainCmd(t, args...).CombinedOutput(); err != nil {
		t.Fatalf("attain %s: %v\n%s", args[0], err, out)
	}
}

// sideBySide runs the commands at once and returns their outputs and errors.
func sideBySide(cmds ...*exec.Cmd) ([]string, []error) {
	outs, errs := make([]string, len(cmds)), make([]error, len(cmds))
	var wg sync.WaitGroup
	for i, c := range cmds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var b bytes.Buffer
			c.Stdout, c.Stderr = &b, &b
			errs[i] = c.Run()
			outs[i] = b.String()
		}()
	}
	wg.Wait()
	return outs, errs
}

// TestShardProcessesSideBySide: three compute --shard i/3 processes started
// together on one warehouse give the report CSV bytes of one process without
// --shard (SPEC §7.1), exactly one of them completes the date, and the same
// holds for three run --shard i/3 pods started together on an empty warehouse.
func TestShardProcessesSideBySide(t *testing.T) {
	t.Parallel()
	in := smallInbox(t)
	dir := t.TempDir()
	one, rep1 := filepath.Join(dir, "one"), filepath.Join(dir, "rep1")
	mustAttain(t, "run", "--inbox", in, "--warehouse", one, "--reports", rep1, "--as-of", last, "--log-format", "json")
	want := csvFiles(t, rep1)

	t.Run("compute --shard", func(t *testing.T) {
		wh, rep := filepath.Join(dir, "c-wh"), filepath.Join(dir, "c-rep")
		mustAttain(t, "ingest", "--inbox", in, "--warehouse", wh, "--as-of", last, "--log-format", "json")
		var cmds []*exec.Cmd
		for i := range 3 {
			cmds = append(cmds, attainCmd(t, "compute", "--warehouse", wh, "--as-of", last, "--shard", pipeline.Shard{Index: i, Count: 3}.String(), "--log-format", "json"))
		}
		outs, errs := sideBySide(cmds...)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("shard %d: %v\n%s", i, err, outs[i])
			}
		}
		if completed := bytes.Count([]byte(outs[0]+outs[1]+outs[2]), []byte(`"completed":1`)); completed != 1 {
			t.Errorf("%d processes say they completed the date, want 1", completed)
		}
		mustAttain(t, "report", "--warehouse", wh, "--reports", rep, "--as-of", last, "--log-format", "json")
		if got := csvFiles(t, rep); !reflect.DeepEqual(got, want) {
			t.Error("CSV files of three shard processes differ from one process's")
		}
	})

	t.Run("run --shard", func(t *testing.T) {
		wh, rep := filepath.Join(dir, "r-wh"), filepath.Join(dir, "r-rep")
		var cmds []*exec.Cmd
		for i := range 3 {
			cmds = append(cmds, attainCmd(t, "run", "--inbox", in, "--warehouse", wh, "--reports", rep, "--as-of", last,
				"--shard", pipeline.Shard{Index: i, Count: 3}.String(), "--log-format", "json"))
		}
		outs, errs := sideBySide(cmds...)
		for i, err := range errs {
			if err != nil {
				t.Fatalf("pod %d: %v\n%s", i, err, outs[i])
			}
		}
		if got := csvFiles(t, rep); !reflect.DeepEqual(got, want) {
			t.Errorf("CSV files of three pods differ from one process's: %d files, want %d", len(got), len(want))
		}
	})
}

// TestKilledShardCompletesAlone: a shard process killed at a random point and
// run again alone completes the date, with the CSV bytes of an uninterrupted
// run; until it does, the date is not complete.
func TestKilledShardCompletesAlone(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("kills 12 shard processes")
	}
	in := smallInbox(t)
	dir := t.TempDir()
	base := filepath.Join(dir, "base")
	mustAttain(t, "ingest", "--inbox", in, "--warehouse", base, "--as-of", last, "--log-format", "json")
	compute := func(wh string, i int) *exec.Cmd {
		return attainCmd(t, "compute", "--warehouse", wh, "--as-of", last, "--shard", pipeline.Shard{Index: i, Count: 3}.String(), "--log-format", "json")
	}
	report := func(wh, rep string) map[string]string {
		mustAttain(t, "report", "--warehouse", wh, "--reports", rep, "--as-of", last, "--log-format", "json")
		return csvFiles(t, rep)
	}
	clean := filepath.Join(dir, "clean")
	os.CopyFS(clean, os.DirFS(base))
	start := time.Now()
	for i := range 3 {
		if out, err := compute(clean, i).CombinedOutput(); err != nil {
			t.Fatalf("shard %d: %v\n%s", i, err, out)
		}
	}
	full := time.Since(start) / 3
	want := report(clean, filepath.Join(dir, "clean-rep"))
	// for each shard to be killed, the warehouse with the two others done, once
	others := make([]string, 3)
	for killed := range 3 {
		others[killed] = filepath.Join(dir, "others", fmt.Sprint(killed))
		os.CopyFS(others[killed], os.DirFS(base))
		for i := range 3 {
			if i != killed {
				if out, err := compute(others[killed], i).CombinedOutput(); err != nil {
					t.Fatalf("shard %d: %v\n%s", i, err, out)
				}
			}
		}
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for trial := range 12 {
		wh := filepath.Join(dir, "t", string(rune('a'+trial)))
		killed := trial % 3
		// keeping the files' times, by which the shards' parts and split are current
		os.MkdirAll(wh, 0o755)
		if out, err := exec.Command("cp", "-a", others[killed]+"/.", wh).CombinedOutput(); err != nil {
			t.Fatalf("cp -a: %v\n%s", err, out)
		}
		delay, err := killAtRandom(t, compute(wh, killed), rng, full)
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			// killed: the date may be complete only if the shard had written its
			// part (the kill came between its marker and its exit)
			_, complete := os.Stat(filepath.Join(wh, "results", "_complete", last+".json"))
			part := filepath.Join(warehouse.PartsDir(wh, pipeline.MustDate(last)), fmt.Sprintf("%d-of-3.json", killed))
			if _, missing := os.Stat(part); complete == nil && missing != nil {
				t.Fatalf("trial %d: the date is complete with shard %d killed after %v before its part", trial, killed, delay)
			}
		}
		if out, err := compute(wh, killed).CombinedOutput(); err != nil {
			t.Fatalf("trial %d: shard %d again: %v\n%s", trial, killed, err, out)
		}
		if got := report(wh, filepath.Join(dir, "t-rep", string(rune('a'+trial)))); !reflect.DeepEqual(got, want) {
			t.Errorf("trial %d (shard %d killed after %v): CSV files differ from an uninterrupted run", trial, killed, delay)
		}
	}
}

// TestShardLocks: a second process for a running shard exits 75; a shard
// process exits 75 while another command holds the warehouse lock alone, and
// run --shard waits for it instead.
func TestShardLocks(t *testing.T) {
	wh := t.TempDir()
	held, err := pipeline.Acquire(t.Context(), wh, pipeline.ShardLockFile(pipeline.Shard{Index: 1, Count: 3}), "attain compute --shard 1/3, pid 4242", pipeline.LockMode{})
	if err != nil {
		t.Fatal(err)
	}
	out, err := attainCmd(t, "compute", "--warehouse", wh, "--as-of", last, "--shard", "1/3").CombinedOutput()
	if code := exitOf(err); code != 75 || !bytes.Contains(out, []byte("pid 4242")) {
		t.Errorf("second process for shard 1/3: exit %d, %s; want 75 naming the holder", code, out)
	}
	held.Release()

	alone, err := pipeline.AcquireLock(wh, "attain ingest, pid 4343")
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{{"compute", "--as-of", last}, {"backfill", "--from", last, "--to", last}} {
		out, err := attainCmd(t, append(args, "--warehouse", wh, "--shard", "0/3")...).CombinedOutput()
		if code := exitOf(err); code != 75 {
			t.Errorf("%s --shard while ingest holds the warehouse: exit %d, %s; want 75", args[0], code, out)
		}
	}
	in := smallInbox(t)
	pod := attainCmd(t, "run", "--inbox", in, "--warehouse", wh, "--reports", filepath.Join(t.TempDir(), "rep"), "--as-of", last, "--shard", "0/1", "--log-format", "json")
	var b bytes.Buffer
	pod.Stdout, pod.Stderr = &b, &b
	if err := pod.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(1500 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(wh, "ingest_log.jsonl")); err == nil {
		t.Fatalf("run --shard ingested while ingest held the warehouse alone: %s", b.String())
	}
	alone.Release()
	if err := pod.Wait(); err != nil {
		t.Fatalf("run --shard after the lock was released: %v\n%s", err, b.String())
	}
	// Without --shard, a compute while shard processes share the lock exits 75.
	shared, err := pipeline.Acquire(t.Context(), wh, pipeline.LockFile, "attain run --shard 2/3, pid 4444", pipeline.LockMode{Shared: true})
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Release()
	for _, args := range [][]string{{"compute", "--as-of", last}, {"report", "--as-of", last}, {"ingest", "--inbox", in}} {
		out, err := attainCmd(t, append(args, "--warehouse", wh)...).CombinedOutput()
		if code := exitOf(err); code != 75 {
			t.Errorf("%s while shard processes run: exit %d, %s; want 75", args[0], code, out)
		}
	}
}

func exitOf(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

// TestReportPublishesItsFilesTogether: a report that fails part-way (here a
// result table's file is gone) leaves the earlier set of the date's files as
// it was, or none, never some of them; no staging directory is left behind.
func TestReportPublishesItsFilesTogether(t *testing.T) {
	in := smallInbox(t)
	dir := t.TempDir()
	wh, rep := filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
	mustAttain(t, "run", "--inbox", in, "--warehouse", wh, "--reports", rep, "--as-of", last, "--log-format", "json")
	want := files(t, rep)
	parts, _ := filepath.Glob(filepath.Join(wh, "results", "profile", "as_of="+last, "*.parquet"))
	for _, p := range parts {
		os.Remove(p) // the last table the report reads
	}
	out, err := attainCmd(t, "report", "--warehouse", wh, "--reports", rep, "--as-of", last, "--log-format", "json").CombinedOutput()
	if err == nil {
		t.Fatalf("report without the profile table succeeded: %s", out)
	}
	if got := files(t, rep); !reflect.DeepEqual(got, want) {
		t.Errorf("a failed report changed the published files: %d files, want the earlier %d", len(got), len(want))
	}
	os.RemoveAll(rep)
	attainCmd(t, "report", "--warehouse", wh, "--reports", rep, "--as-of", last, "--log-format", "json").Run()
	if got := files(t, rep); len(got) != 0 {
		t.Errorf("a failed first report published %d files, want none", len(got))
	}
}

// TestMarkersAreChecked: a backfill does not skip a complete date whose result
// file was deleted, and a compute over a warehouse that lost a landed file
// fails naming it rather than giving other results.
func TestMarkersAreChecked(t *testing.T) {
	t.Parallel()
	in := smallInbox(t)
	dir := t.TempDir()
	wh, rep := filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
	mustAttain(t, "run", "--inbox", in, "--warehouse", wh, "--reports", rep, "--as-of", last, "--log-format", "json")
	parts, _ := filepath.Glob(filepath.Join(wh, "results", "alerts", "as_of="+last, "*.parquet"))
	for _, p := range parts {
		os.Remove(p)
	}
	// A backfill stores history and never touches nightly results (SPEC §8):
	// its report of the date reads the nightly results, and refuses them.
	out, err := attainCmd(t, "backfill", "--warehouse", wh, "--reports", rep, "--from", last, "--to", last, "--log-format", "json").CombinedOutput()
	if code := exitOf(err); code != 1 || !bytes.Contains(out, []byte("alerts-0-of-1.parquet is missing")) {
		t.Errorf("backfill of a date whose nightly alerts file is gone: exit %d, %s; want 1 naming it", code, out)
	}
	mustAttain(t, "compute", "--warehouse", wh, "--as-of", last, "--log-format", "json")
	if again, _ := filepath.Glob(filepath.Join(wh, "results", "alerts", "as_of="+last, "*.parquet")); len(again) == 0 {
		t.Errorf("compute did not write the date's alerts again")
	}
	landed, _ := filepath.Glob(filepath.Join(wh, "landed", "organizations", "*", "*.parquet"))
	os.Remove(landed[0])
	out, err = attainCmd(t, "compute", "--warehouse", wh, "--as-of", last, "--log-format", "json").CombinedOutput()
	if code := exitOf(err); code != 1 || !bytes.Contains(out, []byte("no longer has")) {
		t.Errorf("compute without a landed file: exit %d, %s; want 1 naming it", code, out)
	}
}

// TestRequirementsSheetIsScoped: the workbook's Requirements sheet holds the
// rows of requirements.csv of the organizations on Renewal risk at their own
// level, in its order; requirements.csv keeps every row (SPEC §6.3).
func TestRequirementsSheetIsScoped(t *testing.T) {
	in := smallInbox(t)
	dir := t.TempDir()
	rep := filepath.Join(dir, "rep")
	mustAttain(t, "run", "--inbox", in, "--warehouse", filepath.Join(dir, "wh"), "--reports", rep, "--as-of", last, "--log-format", "json")
	read := func(name string) [][]string { return readCSV(t, filepath.Join(rep, last, name)) }
	levelOf := map[string]string{} // org_id -> its level on Renewal risk
	risk := read("renewal_risk.csv")
	for _, r := range risk[1:] {
		levelOf[r[1]] = r[3] + r[13] // membership_level, else eligible_level
	}
	var want [][]string
	all := read("requirements.csv")
	for _, r := range all[1:] {
		if levelOf[r[1]] != "" && levelOf[r[1]] == r[3] {
			want = append(want, r[1:6]) // org_id, competency_id, level, path, metric
		}
	}
	if len(want) == 0 || len(want) == len(all)-1 {
		t.Fatalf("%d of %d rows scoped: the case does not tell", len(want), len(all)-1)
	}
	wb, err := excelize.OpenFile(filepath.Join(rep, last, "renewal-risk-"+last+".xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	defer wb.Close()
	sheet, err := wb.GetRows("Requirements")
	if err != nil {
		t.Fatal(err)
	}
	var got [][]string
	for _, r := range sheet[1:] {
		// org_id, competency_id, level, path, metric, beside the names (the
		// as-of date last)
		got = append(got, []string{r[0], r[2], r[4], r[5], r[6]})
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Requirements sheet: %d rows, want the %d scoped rows of requirements.csv", len(got), len(want))
	}
}

// TestPartsArePinned: a complete date's marker pins each part's size and
// SHA-256; a report of a date whose part was swapped for another shard's,
// for an empty file of its schema, truncated or deleted exits 1 naming the
// file, never reads the wrong rows (SPEC §6.1).
func TestPartsArePinned(t *testing.T) {
	t.Parallel()
	in := smallInbox(t)
	dir := t.TempDir()
	wh, rep := filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
	mustAttain(t, "ingest", "--inbox", in, "--warehouse", wh, "--as-of", last)
	mustAttain(t, "compute", "--warehouse", wh, "--as-of", last, "--shards", "2")
	part := func(i int) string {
		return warehouse.ResultPart(wh, "renewal_risk", pipeline.MustDate(last), pipeline.Shard{Index: i, Count: 2})
	}
	original, err := os.ReadFile(part(0))
	if err != nil {
		t.Fatal(err)
	}
	other, _ := os.ReadFile(part(1))
	ctx := context.Background()
	eng, err := sql.Open(ctx, duck.Settings{MemoryLimit: "256MiB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	empty := filepath.Join(dir, "empty.parquet")
	if _, err := eng.CopyTo(ctx, "SELECT * FROM "+duck.ReadFiles([]string{part(0)})+" LIMIT 0", empty); err != nil {
		t.Fatal(err)
	}
	eng.Close()
	emptyBytes, _ := os.ReadFile(empty)
	for _, tc := range []struct {
		name   string
		mutate func() error
	}{
		{"another shard's part", func() error { return os.WriteFile(part(0), other, 0o644) }},
		{"an empty file of its schema", func() error { return os.WriteFile(part(0), emptyBytes, 0o644) }},
		{"truncated", func() error { return os.WriteFile(part(0), original[:len(original)/2], 0o644) }},
		{"deleted", func() error { return os.Remove(part(0)) }},
	} {
		if err := tc.mutate(); err != nil {
			t.Fatal(err)
		}
		out, err := attainCmd(t, "report", "--warehouse", wh, "--reports", rep, "--as-of", last, "--log-format", "json").CombinedOutput()
		if code := exitOf(err); code != 1 || !bytes.Contains(out, []byte(part(0))) {
			t.Errorf("%s: report exit %d, %s; want 1 naming %s", tc.name, code, out, part(0))
		}
		if err := os.WriteFile(part(0), original, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	mustAttain(t, "report", "--warehouse", wh, "--reports", rep, "--as-of", last)
}

// TestCompleteResultsStayUntilReplaced: a re-run of a complete date that is
// stopped (SIGINT at random moments) leaves its results as they were, and
// processes of two numbers of shards racing on one date never complete it
// with parts of both (SPEC §6.1, §7.1): the date reads whole, with the
// CSV files of one process, whatever finished last.
func TestCompleteResultsStayUntilReplaced(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("stops 4 computes and races 7 processes twice")
	}
	in := smallInbox(t)
	dir := t.TempDir()
	wh, rep := filepath.Join(dir, "wh"), filepath.Join(dir, "rep")
	mustAttain(t, "ingest", "--inbox", in, "--warehouse", wh, "--as-of", last)
	start := time.Now()
	mustAttain(t, "compute", "--warehouse", wh, "--as-of", last)
	full := time.Since(start)
	mustAttain(t, "report", "--warehouse", wh, "--reports", rep, "--as-of", last)
	want := csvFiles(t, rep)
	check := func(what string) {
		t.Helper()
		os.RemoveAll(rep)
		if out, err := attainCmd(t, "report", "--warehouse", wh, "--reports", rep, "--as-of", last).CombinedOutput(); err != nil {
			t.Fatalf("%s: report: %v\n%s", what, err, out)
		}
		if got := csvFiles(t, rep); !reflect.DeepEqual(got, want) {
			t.Errorf("%s: the date's CSV files differ from one process's", what)
		}
	}
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 4 {
		cmd := attainCmd(t, "compute", "--warehouse", wh, "--as-of", last, "--shards", fmt.Sprint(1+trial%3))
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		delay := time.Duration(rng.Int64N(int64(full)))
		time.Sleep(delay)
		cmd.Process.Signal(syscall.SIGINT)
		cmd.Wait()
		check(fmt.Sprintf("re-run stopped after %v", delay))
	}
	for trial := range 2 {
		var cmds []*exec.Cmd
		for i := range 3 {
			cmds = append(cmds, attainCmd(t, "compute", "--warehouse", wh, "--as-of", last, "--shard", fmt.Sprintf("%d/3", i)))
		}
		for i := range 4 {
			cmds = append(cmds, attainCmd(t, "compute", "--warehouse", wh, "--as-of", last, "--shard", fmt.Sprintf("%d/4", i)))
		}
		outs, errs := sideBySide(cmds...)
		for i, err := range errs {
			if err != nil && exitOf(err) != 75 {
				t.Errorf("race %d, process %d: %v\n%s", trial, i, err, outs[i])
			}
		}
		m, err := warehouse.ReadMarker(wh, pipeline.MustDate(last))
		if err != nil || m == nil {
			t.Fatalf("race %d: no marker (%v)", trial, err)
		}
		if err := warehouse.CheckComplete(wh, m); err != nil {
			t.Errorf("race %d: %v", trial, err)
		}
		check(fmt.Sprintf("race %d (the marker says %d shards)", trial, m.Shards))
	}
}

// TestWarehouseFromAnyPath: every path a warehouse stores is relative to it,
// so it gives the same results from any working directory and after mv; a
// relative --warehouse never reads another directory's warehouse.
func TestWarehouseFromAnyPath(t *testing.T) {
	t.Parallel()
	in := smallInbox(t)
	one, two := t.TempDir(), t.TempDir()
	run := func(cwd string, args ...string) {
		t.Helper()
		cmd := attainCmd(t, args...)
		cmd.Dir = cwd
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("attain %s in %s: %v\n%s", args[0], cwd, err, out)
		}
	}
	// two warehouses named wh, of other data: the second knows a month less
	run(one, "ingest", "--inbox", in, "--warehouse", "wh", "--as-of", last)
	run(two, "ingest", "--inbox", in, "--warehouse", "wh", "--as-of", "2026-09-30")
	run(one, "compute", "--warehouse", "wh", "--as-of", last, "--shards", "2")
	run(two, "compute", "--warehouse", "wh", "--as-of", "2026-09-30", "--shards", "2")
	run(one, "report", "--warehouse", "wh", "--reports", "rep", "--as-of", last)
	want := csvFiles(t, filepath.Join(one, "rep"))
	abs := filepath.Join(one, "wh")
	run(two, "compute", "--warehouse", abs, "--as-of", last, "--shards", "2")
	run(two, "report", "--warehouse", abs, "--reports", "rep-abs", "--as-of", last)
	if got := csvFiles(t, filepath.Join(two, "rep-abs")); !reflect.DeepEqual(got, want) {
		t.Errorf("the warehouse computed from another directory gave other CSV files")
	}
	moved := filepath.Join(two, "moved")
	if err := os.Rename(abs, moved); err != nil {
		t.Fatal(err)
	}
	run(two, "compute", "--warehouse", "moved", "--as-of", last, "--shards", "2")
	run(two, "report", "--warehouse", "moved", "--reports", "rep-moved", "--as-of", last)
	if got := csvFiles(t, filepath.Join(two, "rep-moved")); !reflect.DeepEqual(got, want) {
		t.Errorf("the moved warehouse gave other CSV files")
	}
}
