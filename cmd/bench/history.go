package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"attain/pipeline"
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
		results, reports int64
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
	rows := []row{{"compute --as-of " + lastDay + " (median of 3)", one, 1, 0, 0}}
	backfill := func(name, wh string, args ...string) error {
		os.RemoveAll(rep)
		m, err := measure(attain, append(append([]string{"backfill", "--force"}, args...), common(wh)...)...)
		if err != nil {
			return err
		}
		dates := spineOf(args)
		reports, err := treeBytes(rep)
		if err != nil {
			return err
		}
		var disk int64
		for _, d := range dates {
			paths, _ := filepath.Glob(filepath.Join(wh, "results", "*", "as_of="+d.String()))
			for _, p := range paths {
				n, err := treeBytes(p)
				if err != nil {
					return err
				}
				disk += n
			}
		}
		rows = append(rows, row{name, m, len(dates), disk, reports})
		return nil
	}
	year := pipeline.MustDate(lastDay).AddDays(-364).String()
	if err := backfill("backfill, 365 daily dates (reports: month ends)", wh, "--from", year, "--to", lastDay); err != nil {
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
	fmt.Printf("history benchmark: %d organizations, the defaults (--memory-limit 1GiB, --threads 2, --batch 16)\n\n", orgs)
	fmt.Printf("| step | dates | wall s | s a date | peak RSS MiB | × one compute | results MB | reports MB |\n|---|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range rows {
		fmt.Printf("| %s | %d | %.1f | %.2f | %.0f | %.1f | %.0f | %.0f |\n", r.step, r.dates, r.m.wall.Seconds(), r.m.wall.Seconds()/float64(r.dates),
			float64(r.m.maxRSS)/(1<<20), r.m.wall.Seconds()/one.wall.Seconds(), float64(r.results)/1e6, float64(r.reports)/1e6)
	}
	fmt.Printf("\ngoals: 365 daily ≤ 8× one compute (4× the moonshot); 1,096 daily ≤ 20×; 52 weekly --as-known ≤ 10×; peak RSS < 2048 MiB\n")
	return nil
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
