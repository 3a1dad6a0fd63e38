package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"attain/duck"
	"attain/ingest"
	"attain/pipeline"
	"attain/sql"
	"attain/warehouse"
)

// computeCmd computes the result tables of a date (SPEC §5, §6.2).
type computeCmd struct{ asOf dateFlag }

func (c *computeCmd) flags(fs *flag.FlagSet, cfg *pipeline.Config) {
	fs.Var(&c.asOf, "as-of", "the as-of date D (required)")
	shardFlags(fs, cfg)
}

func (c *computeCmd) run(ctx context.Context, e *env) error {
	if !c.asOf.set {
		return fmt.Errorf("%w: compute needs --as-of", pipeline.ErrUsage)
	}
	if err := checkWarehouse(e.cfg); err != nil {
		return err
	}
	cat, err := pipeline.LoadCatalog(e.cfg.Catalog)
	if err != nil {
		return err
	}
	lock, err := acquireFor(ctx, e, "compute", false)
	if err != nil {
		return err
	}
	defer lock.Release()
	_, err = runCompute(ctx, e, cat, []pipeline.Date{c.asOf.d}, nil, newRunID(e.cfg.Now()), computeHooks{})
	return err
}

// settings are DuckDB's limits from the configuration, spilling inside the warehouse.
func settings(cfg pipeline.Config) duck.Settings {
	return duck.Settings{MemoryLimit: cfg.MemoryLimit, Threads: cfg.Threads, SpillDir: warehouse.SpillDir(cfg.Warehouse),
		EachStatement: os.Getenv("ATTAIN_DEBUG") == "statements"}
}

// computeHooks are a backfill's: dates a pass (0: all at once), and what to
// tell as each date completes.
type computeHooks struct {
	pass      int
	completed func(pipeline.Date)
	history   *sql.HistoryPlan // store the dates as history (backfill)
	month     func(string)     // a month's history is complete
}

// runCompute is the compute stage, shared by compute, run and backfill: the
// dates are evaluated together. Without --shard each date's results are
// complete (marker written) when it returns; with it, those of the dates it
// says it completed.
func runCompute(ctx context.Context, e *env, cat *pipeline.Catalog, dates []pipeline.Date, knownBy *pipeline.Date,
	runID string, hooks computeHooks) (sql.Computed, error) {
	start := time.Now()
	span := dates[0].String()
	if len(dates) > 1 {
		span += ".." + dates[len(dates)-1].String()
	}
	args := []any{"stage", "compute", "as_of", span, "dates", len(dates)}
	if !e.cfg.Shard.All() {
		args = append(args, "shard", e.cfg.Shard.String())
	}
	e.log.Info("stage start", args...)
	if err := ingest.CheckLanded(e.cfg.Warehouse); err != nil {
		return sql.Computed{}, fmt.Errorf("compute %s: %w", span, err)
	}
	// one date on a terminal: a line that says which step of the rules runs
	// (a backfill has its own bar)
	var onStep func(pipeline.Shard, string)
	var bar *progress
	if len(dates) == 1 && hooks.history == nil && hooks.completed == nil {
		bar = e.console.newSpinner("compute")
		onStep = func(s pipeline.Shard, step string) {
			what := "compute " + dates[0].String() + ": " + strings.TrimSuffix(step, ".sql")
			if s.Count > 1 {
				what += " (shard " + s.String() + ")"
			}
			bar.describe(what)
		}
	}
	c, err := sql.Compute(ctx, sql.ComputeOptions{Warehouse: e.cfg.Warehouse, Dates: dates, Catalog: cat, KnownBy: knownBy, OnStep: onStep,
		Settings: settings(e.cfg), Shards: e.cfg.Shards, Shard: e.cfg.Shard, Pass: hooks.pass, OnComplete: hooks.completed,
		History: hooks.history, OnMonth: hooks.month,
		RunID: runID, Now: e.cfg.Now, Log: e.log})
	bar.finish()
	if err != nil {
		return c, fmt.Errorf("compute %s: %w", span, err)
	}
	args = append(args, "completed", len(c.Complete), "duration", time.Since(start).Round(time.Millisecond).String())
	if len(dates) == 1 {
		for _, t := range warehouse.Tables {
			args = append(args, t.Name+"_rows", c.Rows[dates[0]][t.Name])
		}
	}
	e.log.Info("stage end", args...)
	return c, nil
}
