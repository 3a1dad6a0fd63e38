package main

import (
	"context"
	"flag"
	"fmt"
	"slices"
	"time"

	"golang.org/x/sync/errgroup"

	"attain/pipeline"
	"attain/sql"
)

// backfillCmd produces results and reports for every date of a range (SPEC §8).
type backfillCmd struct {
	from, to    dateFlag
	every       string
	reportEvery string
	force       bool
	asKnown     bool
	batch       int
}

func (c *backfillCmd) flags(fs *flag.FlagSet, cfg *pipeline.Config) {
	fs.Var(&c.from, "from", "first date A (required)")
	fs.Var(&c.to, "to", "last date B (required)")
	fs.StringVar(&c.every, "every", "day", "the spine of dates whose results are computed: day, week (Sundays) or month (month ends)")
	fs.StringVar(&c.reportEvery, "report-every", "month", "the dates whose reports are written: day (every date of the spine), week (Sundays, and B), month (month ends, and B) or none")
	shardFlags(fs, cfg)
	fs.BoolVar(&c.force, "force", false, "recompute dates whose results are already complete")
	fs.BoolVar(&c.asKnown, "as-known", false, "use for each date only deliveries dated on or before it")
	fs.IntVar(&c.batch, "batch", 16, "dates evaluated together in one pass of the rules")
}

// reportDates are the spine's dates that get reports (SPEC §8): every one
// (day), none, or the week or month ends of [from, to] and to.
func reportDates(spineDates []pipeline.Date, from, to pipeline.Date, every string) (map[pipeline.Date]bool, error) {
	out := map[pipeline.Date]bool{}
	switch every {
	case "none":
	case "day":
		for _, d := range spineDates {
			out[d] = true
		}
	case "week", "month":
		ends, _ := pipeline.Spine(from, to, every)
		for _, d := range append(ends, to) {
			out[d] = true
		}
	default:
		return nil, fmt.Errorf("%w: --report-every must be day, week, month or none", pipeline.ErrUsage)
	}
	return out, nil
}

func (c *backfillCmd) run(ctx context.Context, e *env) error {
	if !c.from.set || !c.to.set || c.to.d < c.from.d {
		return fmt.Errorf("%w: backfill needs --from A and --to B with A <= B", pipeline.ErrUsage)
	}
	if c.batch < 1 {
		return fmt.Errorf("%w: --batch must be at least 1", pipeline.ErrUsage)
	}
	all, err := pipeline.Spine(c.from.d, c.to.d, c.every)
	if err != nil {
		return err
	}
	reportOn, err := reportDates(all, c.from.d, c.to.d, c.reportEvery)
	if err != nil {
		return err
	}
	// a report date off the spine gets its results too
	for d := range reportOn {
		if !slices.Contains(all, d) {
			all = append(all, d)
		}
	}
	slices.Sort(all)
	cat, err := pipeline.LoadCatalog(e.cfg.Catalog)
	if err != nil {
		return err
	}
	lock, err := acquireFor(ctx, e, "backfill", false)
	if err != nil {
		return err
	}
	defer lock.Release()
	// Resume: a date is done when its results are complete and its workbook
	// (written last of its reports) exists; --force redoes every date. A date
	// stopped between the two gets its reports only.
	var compute, report []pipeline.Date
	for _, d := range all {
		m, err := sql.ReadMarker(e.cfg.Warehouse, d)
		if err != nil {
			return err
		}
		var missing error
		if m != nil && !c.force {
			missing = sql.CheckComplete(e.cfg.Warehouse, m)
		}
		switch {
		case m == nil || c.force:
			compute = append(compute, d)
		case missing != nil:
			// a result file of the date is gone: the marker does not hold
			e.log.Warn("results of a complete date are missing files; computing it again", "as_of", d.String(), "error", missing.Error())
			compute = append(compute, d)
		case reportOn[d] && !exists(workbookPath(e.cfg, d)):
			report = append(report, d)
		}
	}
	todo := len(compute) + len(report)
	for _, d := range compute {
		if reportOn[d] {
			todo++ // its report is a step of its own
		}
	}
	runID := newRunID(e.cfg.Now())
	start := time.Now()
	e.log.Info("backfill start", "run_id", runID, "from", c.from.d.String(), "to", c.to.d.String(), "every", c.every,
		"dates", len(all), "to_do", todo, "reports_only", len(report), "as_known", c.asKnown)
	var bar *progress
	if todo > 0 {
		bar = e.console.newProgress("backfill", todo)
	}
	defer bar.finish()
	// Reports are mostly one goroutine's work (the workbook), so --threads of
	// them run at once; each date's workbook is still the last file it writes.
	reportAll := func(dates []pipeline.Date) error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(e.cfg.Threads)
		for _, d := range dates {
			g.Go(func() error {
				if _, err := runReport(gctx, e, d); err != nil {
					return err
				}
				bar.add()
				return nil
			})
		}
		return g.Wait()
	}
	if err := reportAll(report); err != nil {
		return err
	}
	// Without --as-known every date reads the same landed data: one compute
	// evaluates them all, what they share once and the dates --batch at a time,
	// and the report dates get their reports once it has closed its DuckDB
	// session, so that the two never hold memory at once (a date stopped
	// between the two gets its reports on the next run). With --as-known each
	// date has its own data, so each is a compute of its own, its reports
	// right after it.
	passes := [][]pipeline.Date{compute}
	if c.asKnown {
		passes = nil
		for _, d := range compute {
			passes = append(passes, []pipeline.Date{d})
		}
	}
	for _, dates := range passes {
		if len(dates) == 0 {
			continue
		}
		var knownBy *pipeline.Date
		if c.asKnown {
			knownBy = &dates[0]
		}
		done, err := runCompute(ctx, e, cat, dates, knownBy, runID, computeHooks{pass: c.batch, completed: func(pipeline.Date) { bar.add() }})
		if err != nil {
			return err
		}
		// a date done by another process's part is a step of this one too
		bar.addN(len(dates) - len(done.Complete))
		// the report dates (with --shard, those whose last part this process wrote)
		var toReport []pipeline.Date
		for _, d := range done.Complete {
			if reportOn[d] {
				toReport = append(toReport, d)
			}
		}
		if err := reportAll(toReport); err != nil {
			return err
		}
	}
	e.log.Info("backfill end", "run_id", runID, "dates", len(all), "computed", len(compute),
		"reports_only", len(report), "skipped", len(all)-len(compute)-len(report),
		"duration", time.Since(start).Round(time.Millisecond).String())
	return nil
}
