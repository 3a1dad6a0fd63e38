package main

import (
	"cmp"
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"time"

	"attain/duck"
	"attain/pipeline"
	"attain/sql"
	"attain/warehouse"
)

// benchHistory measures backfills against one date's compute, side by side in
// one run (make bench-history): a year of daily dates with the default
// reports, --as-known over 52 weekly dates, and, with years = 3, three years
// of daily dates on data generated three years back. It reuses the scale
// benchmark's two-year warehouse when there is one.
func benchHistory(attain, dir string, orgs, years int) error {
	const lastDay = "2026-10-31"
	wh, err := historyWarehouse(attain, dir, orgs, 2)
	if err != nil {
		return err
	}
	type row struct {
		step             string
		m                measurement
		dates            int
		history, reports int64
		steps            []step
	}
	rep := filepath.Join(dir, fmt.Sprintf("history-%d-rep", orgs))
	common := func(wh string) []string {
		return []string{"--warehouse", wh, "--reports", rep, "--log-format", "json"}
	}
	var ones []measurement
	for range 3 {
		m, err := measure(attain, append([]string{"compute", "--as-of", lastDay}, common(wh)...)...)
		if err != nil {
			return err
		}
		ones = append(ones, m)
	}
	one := median(ones)
	rows := []row{{step: "compute --as-of " + lastDay + " (median of 3)", m: one, dates: 1}}
	backfill := func(name, wh string, args ...string) error {
		os.RemoveAll(rep)
		// from no history of its kind: a month holds the union of the dates
		// ever backfilled in it (SPEC §8)
		kind := warehouse.HistoryKind(slices.Contains(args, "--as-known"))
		os.RemoveAll(warehouse.HistoryRoot(wh, kind))
		m, steps, err := measureSteps(attain, append(append([]string{"backfill", "--force"}, args...), common(wh)...)...)
		if err != nil {
			return err
		}
		reports, err := treeBytes(rep)
		if err != nil {
			return err
		}
		history, err := treeBytes(warehouse.HistoryRoot(wh, kind))
		if err != nil {
			return err
		}
		rows = append(rows, row{name, m, len(spineOf(args)), history, reports, steps})
		return nil
	}
	year := pipeline.MustDate(lastDay).AddDays(-364).String()
	if err := backfill("backfill, 365 daily dates (reports: month ends)", wh, "--from", year, "--to", lastDay); err != nil {
		return err
	}
	// read after the year's backfill: one date's requirements through history.sql
	read, err := readRequirements(wh, pipeline.MustDate(lastDay).AddDays(-45))
	if err != nil {
		return err
	}
	if err := backfill("backfill --as-known, 52 weekly dates (no reports)", wh, "--from", year, "--to", lastDay,
		"--every", "week", "--as-known", "--report-every", "none"); err != nil {
		return err
	}
	if years == 3 {
		wh3, err := historyWarehouse(attain, dir, orgs, 3)
		if err != nil {
			return err
		}
		from := pipeline.MustDate(lastDay).AddMonths(-36).AddDays(1).String()
		if err := backfill("backfill, 1,096 daily dates (three years generated; reports: month ends)", wh3, "--from", from, "--to", lastDay); err != nil {
			return err
		}
	}
	fmt.Printf("history benchmark: %d organizations, the defaults (--memory-limit 1GiB, --threads 2, --batch 31)\n\n", orgs)
	fmt.Printf("| step | dates | wall s | s a date | peak RSS MiB | × one compute | history MB | reports MB |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Printf("| %s | %d | %.1f | %.2f | %.0f | %.1f | %.1f | %.0f |\n", r.step, r.dates, r.m.wall.Seconds(), r.m.wall.Seconds()/float64(r.dates),
			float64(r.m.maxRSS)/(1<<20), r.m.wall.Seconds()/one.wall.Seconds(), float64(r.history)/1e6, float64(r.reports)/1e6)
	}
	fmt.Printf("\none date's requirements_on through history.sql (after the daily year; median of 3): %.2f s, %d rows\n", read.seconds, read.rows)
	for _, r := range rows[1:] {
		fmt.Printf("\n%s, by step (s, summed over its computes):\n\n| step | s |\n|---|---:|\n", r.step)
		sums := map[string]float64{}
		var names []string
		for _, s := range r.steps {
			if _, ok := sums[s.name]; !ok {
				names = append(names, s.name)
			}
			sums[s.name] += s.seconds
		}
		slices.SortStableFunc(names, func(a, b string) int { return cmp.Compare(sums[b], sums[a]) })
		for _, n := range names {
			fmt.Printf("| %s | %.1f |\n", n, sums[n])
		}
	}
	fmt.Printf("\ngoals: 365 daily ≤ 8× one compute (4× the moonshot); 1,096 daily ≤ 20×; 52 weekly --as-known ≤ 10×; peak RSS ≤ 1536 MiB; " +
		"a year of daily history ≤ 40 MB at 20,000 organizations; requirements_on ≤ 1 s\n")
	return nil
}

// readResult is how long reading a table through history.sql took.
type readResult struct {
	seconds float64
	rows    int64
}

// readRequirements reads one date's requirements through the warehouse's
// history.sql in a fresh DuckDB session, as a user would (median of 3). It
// runs in this process, after the children it measures.
func readRequirements(wh string, d pipeline.Date) (readResult, error) {
	ctx := context.Background()
	var times []float64
	var rows int64
	for range 3 {
		eng, err := sql.Open(ctx, duck.Settings{MemoryLimit: "1GiB", Threads: 2})
		if err != nil {
			return readResult{}, err
		}
		b, err := os.ReadFile(warehouse.HistorySQLFile(wh))
		if err != nil {
			eng.Close()
			return readResult{}, err
		}
		start := time.Now()
		if err := eng.Exec(ctx, string(b)); err != nil {
			eng.Close()
			return readResult{}, err
		}
		// every row and column, in the macro's order
		err = eng.Exec(ctx, fmt.Sprintf("CREATE TEMP TABLE r AS FROM requirements_on('%s', DATE '%s')", wh, d))
		times = append(times, time.Since(start).Seconds())
		var out [][]any
		if err == nil {
			out, err = eng.Query(ctx, "SELECT count(*) FROM r")
		}
		eng.Close()
		if err != nil {
			return readResult{}, err
		}
		rows = out[0][0].(int64)
	}
	return readResult{middle(times), rows}, nil
}

// historyWarehouse is a warehouse with years of generated deliveries landed:
// the scale benchmark's for two years when it is there, else its own, kept
// in dir between runs.
func historyWarehouse(attain, dir string, orgs, years int) (string, error) {
	if years == 2 {
		wh := filepath.Join(dir, fmt.Sprintf("scale-%d", orgs), "wh")
		if _, err := os.Stat(filepath.Join(wh, "ingest_log.jsonl")); err == nil {
			return wh, nil
		}
	}
	base := filepath.Join(dir, fmt.Sprintf("history-%d-%dy", orgs, years))
	gen, wh := filepath.Join(base, "gen"), filepath.Join(base, "wh")
	done := filepath.Join(base, "landed")
	if _, err := os.Stat(done); err == nil {
		return wh, nil
	}
	os.RemoveAll(base)
	const lastDay = "2026-10-31"
	from := pipeline.MustDate(lastDay).AddMonths(-12 * years).AddDays(1).String()
	if _, err := measure(attain, "gen", "--out", gen, "--orgs", fmt.Sprint(orgs), "--from", from, "--to", lastDay, "--log-format", "json"); err != nil {
		return "", err
	}
	if _, err := measure(attain, "ingest", "--inbox", gen, "--warehouse", wh, "--as-of", lastDay, "--max-bad-fraction", "1",
		"--log-format", "json"); err != nil {
		return "", err
	}
	return wh, os.WriteFile(done, nil, 0o644)
}

// treeBytes is the size of the files under dir (0 when there is none).
func treeBytes(dir string) (int64, error) {
	var n int64
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			n += info.Size()
		}
		return nil
	})
	return n, err
}

// spineOf is the spine of a backfill's --from, --to and --every.
func spineOf(args []string) []pipeline.Date {
	var from, to pipeline.Date
	every := "day"
	for i := 0; i+1 < len(args); i++ {
		switch args[i] {
		case "--from":
			from = pipeline.MustDate(args[i+1])
		case "--to":
			to = pipeline.MustDate(args[i+1])
		case "--every":
			every = args[i+1]
		}
	}
	out, _ := pipeline.Spine(from, to, every)
	return out
}
