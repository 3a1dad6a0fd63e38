package main

import (
	"context"
	"flag"
	"fmt"
	"path/filepath"
	"time"

	"attain/pipeline"
	"attain/sql"
)

// computeCmd computes the result tables of a date (SPEC §5, §6.2).
type computeCmd struct{ asOf dateFlag }

func (c *computeCmd) flags(fs *flag.FlagSet, _ *pipeline.Config) {
	fs.Var(&c.asOf, "as-of", "the as-of date D (required)")
}

func (c *computeCmd) run(ctx context.Context, e *env) error {
	if !c.asOf.set {
		return fmt.Errorf("%w: compute needs --as-of", pipeline.ErrUsage)
	}
	cat, err := pipeline.LoadCatalog(e.cfg.Catalog)
	if err != nil {
		return err
	}
	lock, err := acquire(e, "compute")
	if err != nil {
		return err
	}
	defer lock.Release()
	_, err = runCompute(ctx, e, cat, c.asOf.d, nil, newRunID(e.cfg.Now()))
	return err
}

// settings are DuckDB's limits from the configuration, spilling inside the warehouse.
func settings(cfg pipeline.Config) sql.Settings {
	return sql.Settings{MemoryLimit: cfg.MemoryLimit, Threads: cfg.Threads, SpillDir: filepath.Join(cfg.Warehouse, "tmp", "duckdb")}
}

// runCompute is the compute stage, shared by compute, run and backfill.
func runCompute(ctx context.Context, e *env, cat *pipeline.Catalog, asOf pipeline.Date, knownBy *pipeline.Date, runID string) (map[string]int64, error) {
	start := time.Now()
	e.log.Info("stage start", "stage", "compute", "as_of", asOf.String())
	rows, err := sql.Compute(ctx, sql.ComputeOptions{Warehouse: e.cfg.Warehouse, AsOf: asOf, Catalog: cat, KnownBy: knownBy,
		Settings: settings(e.cfg), RunID: runID, Now: e.cfg.Now, Log: e.log})
	if err != nil {
		return nil, fmt.Errorf("compute %s: %w", asOf, err)
	}
	args := []any{"stage", "compute", "as_of", asOf.String(), "duration", time.Since(start).Round(time.Millisecond).String()}
	for _, t := range sql.Tables {
		args = append(args, t.Name+"_rows", rows[t.Name])
	}
	e.log.Info("stage end", args...)
	return rows, nil
}
