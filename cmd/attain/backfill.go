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
	"attain/warehouse"
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
	fs.IntVar(&c.batch, "batch", 31, "dates evaluated together in one pass of the rules (a pass never crosses a month)")
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
	if err := checkWarehouse(e.cfg); err != nil {
		return err
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
	kind := warehouse.HistoryKind(c.asKnown)
	// a month whose marker was written by a process stopped before it moved
	// the parts into place is finished first
	if err := warehouse.PublishHistory(e.cfg.Warehouse, kind); err != nil {
		return err
	}
	// History is written a month at a time (SPEC §8), each kind apart: a month
	// holds the union of the dates ever backfilled in it, so a month to
	// compute is computed at its stored dates too. Resume: a month is done
	// when its marker (of this kind) lists every asked date and its files are
	// there; --force redoes every month. A report date is done when its
	// workbook (written last of its reports) exists.
	months := map[string][]pipeline.Date{}
	var order []string
	for _, d := range all {
		m := pipeline.Month(d)
		if months[m] == nil {
			order = append(order, m)
		}
		months[m] = append(months[m], d)
	}
	plan := &sql.HistoryPlan{Months: map[string][]pipeline.Date{}, AsKnown: c.asKnown, Prev: map[pipeline.Date]pipeline.Date{}}
	var compute []string
	var report []pipeline.Date
	var spine []pipeline.Date // every date of the backfill's months, stored or asked
	for _, m := range order {
		dates := months[m]
		mk, err := warehouse.ReadMonthMarker(e.cfg.Warehouse, kind, m)
		if err != nil {
			return err
		}
		if mk != nil {
			for _, s := range mk.Dates {
				dates = append(dates, pipeline.MustDate(s))
			}
			dates = slices.Compact(slices.Sorted(slices.Values(dates)))
		}
		spine = append(spine, dates...)
		var missing error
		if mk != nil && !c.force {
			missing = warehouse.CheckMonth(e.cfg.Warehouse, mk)
		}
		switch {
		case mk == nil || c.force || len(dates) > len(mk.Dates):
			plan.Months[m] = dates
			compute = append(compute, m)
		case missing != nil:
			e.log.Warn("history of a complete month is missing files; computing it again", "month", m, "kind", kind.String(), "error", missing.Error())
			plan.Months[m] = dates
			compute = append(compute, m)
		default:
			for _, d := range months[m] {
				if reportOn[d] && !exists(workbookPath(e.cfg, d)) {
					report = append(report, d)
				}
			}
		}
	}
	// Each date's alerts compare with the date before it on the spine (SPEC
	// §5.6, §8); the first date's, with the spine's date before it. (A range
	// may hold no date of its spine: a week's Monday to Tuesday.)
	if len(spine) > 0 {
		if before, _ := pipeline.Spine(spine[0].AddMonths(-2), spine[0]-1, c.every); len(before) > 0 {
			plan.Prev[spine[0]] = before[len(before)-1]
		}
	}
	for i := 1; i < len(spine); i++ {
		plan.Prev[spine[i]] = spine[i-1]
	}
	todo := len(report)
	var dates []pipeline.Date // the dates to compute
	for _, m := range compute {
		dates = append(dates, plan.Months[m]...)
		todo += len(plan.Months[m])
		for _, d := range months[m] {
			if reportOn[d] {
				todo++ // its report is a step of its own
			}
		}
	}
	runID := newRunID(e.cfg.Now())
	start := time.Now()
	e.log.Info("backfill start", "run_id", runID, "from", c.from.d.String(), "to", c.to.d.String(), "every", c.every,
		"dates", len(all), "months", len(compute), "to_do", todo, "reports_only", len(report), "as_known", c.asKnown)
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
				if _, err := runReport(gctx, e, d, &kind); err != nil {
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
	// evaluates them all, what they share once and the dates --batch at a
	// time (a pass never crosses a month), and writes each month's history
	// when its last pass is done. The report dates get their reports once it
	// has closed its DuckDB session, so that the two never hold memory at
	// once (a date stopped between the two gets its reports on the next run).
	// With --as-known each date has its own data, so each is a compute of its
	// own; a month's history is written by the compute of its last date.
	passes := [][]pipeline.Date{dates}
	if c.asKnown {
		passes = nil
		for _, d := range dates {
			passes = append(passes, []pipeline.Date{d})
		}
	}
	var completed []pipeline.Date
	for _, ds := range passes {
		if len(ds) == 0 {
			continue
		}
		var knownBy *pipeline.Date
		if c.asKnown {
			knownBy = &ds[0]
		}
		done, err := runCompute(ctx, e, cat, ds, knownBy, runID, computeHooks{pass: c.batch, history: plan,
			month: func(m string) { bar.addN(len(plan.Months[m])) }})
		if err != nil {
			return err
		}
		completed = append(completed, done.Complete...)
	}
	// the report dates (with --shard, those of the months whose last part this process wrote)
	var toReport []pipeline.Date
	for _, d := range completed {
		if reportOn[d] {
			toReport = append(toReport, d)
		}
	}
	if err := reportAll(toReport); err != nil {
		return err
	}
	// a month done by another process's part is a step of this one too
	bar.addN(len(dates) - len(completed))
	e.log.Info("backfill end", "run_id", runID, "dates", len(all), "computed", len(dates), "months", len(compute),
		"reports_only", len(report),
		"duration", time.Since(start).Round(time.Millisecond).String())
	return nil
}
