package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"

	"attain/ingest"
	"attain/pipeline"
)

// runCmd is the nightly job: ingest, compute, report for one date (SPEC §2, §7).
type runCmd struct{ asOf dateFlag }

func (c *runCmd) flags(fs *flag.FlagSet, cfg *pipeline.Config) {
	fs.IntVar(&cfg.Shards, "shards", cfg.Shards, "shards of organizations computed one after the other (default 0: chosen from the landed data and --memory-limit)")
	fs.Var(&c.asOf, "as-of", "the as-of date D (default: yesterday, UTC)")
}

func (c *runCmd) run(ctx context.Context, e *env) error {
	asOf := c.asOf.or(e.cfg.Yesterday())
	cat, err := pipeline.LoadCatalog(e.cfg.Catalog)
	if err != nil {
		return err
	}
	lock, err := acquire(e, "run")
	if err != nil {
		return err
	}
	defer lock.Release()
	runID := newRunID(e.cfg.Now())
	m := newRunMetrics()
	start := time.Now()
	e.log.Info("run start", "run_id", runID, "as_of", asOf.String(), "warehouse", e.cfg.Warehouse)

	err = nightly(ctx, e, cat, asOf, runID, m)
	status := "ok"
	switch {
	case err == nil:
	case errors.Is(err, pipeline.ErrRejected):
		status = "finished, input rejected"
	default:
		status = "failed"
	}
	if err == nil || errors.Is(err, pipeline.ErrRejected) {
		m.succeeded(float64(e.cfg.Now().Unix()))
	}
	if perr := m.publish(e.cfg); perr != nil {
		e.log.Error("metrics not published", "error", perr.Error())
		if err == nil {
			err = perr
		}
	}
	rec := runRecord{RunID: runID, AsOf: asOf.String(), Status: status, Started: start.UTC(),
		Seconds: time.Since(start).Seconds(), Reports: reportDir(e.cfg, asOf)}
	if err != nil {
		rec.Error = err.Error()
	}
	if rerr := writeRunRecord(e.cfg.Warehouse, rec); rerr != nil {
		e.log.Error("run record not written", "error", rerr.Error())
	}
	args := []any{"run_id", runID, "as_of", asOf.String(), "status", status,
		"duration", time.Since(start).Round(time.Millisecond).String(), "reports", reportDir(e.cfg, asOf)}
	if err != nil {
		args = append(args, "error", err.Error())
	}
	e.log.Info("run end", args...)
	if err == nil {
		fmt.Fprintf(e.stdout, "workbook: %s\n", workbookPath(e.cfg, asOf))
	}
	return err
}

// runRecord is what warehouse/runs/<run_id>.json keeps of a run (SPEC §6.1).
type runRecord struct {
	RunID   string    `json:"run_id"`
	AsOf    string    `json:"as_of"`
	Status  string    `json:"status"`
	Error   string    `json:"error,omitempty"`
	Started time.Time `json:"started"`
	Seconds float64   `json:"seconds"`
	Reports string    `json:"reports"`
}

func writeRunRecord(warehouse string, r runRecord) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(filepath.Join(warehouse, "runs", r.RunID+".json"), append(b, '\n'))
}

// readRunRecords returns the warehouse's run records, oldest first.
func readRunRecords(warehouse string) ([]runRecord, error) {
	paths, err := filepath.Glob(filepath.Join(warehouse, "runs", "*.json"))
	if err != nil {
		return nil, err
	}
	sort.Strings(paths) // run ids start with their start time
	var out []runRecord
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		var r runRecord
		if err := json.Unmarshal(b, &r); err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// nightly runs the three stages; a rejected input file does not stop the run,
// it changes its exit code at the end.
func nightly(ctx context.Context, e *env, cat *pipeline.Catalog, asOf pipeline.Date, runID string, m *runMetrics) error {
	stage := func(name string, f func() error) error {
		start := time.Now()
		err := f()
		m.stage.WithLabelValues(name).Set(time.Since(start).Seconds())
		return err
	}
	var sum *ingest.Summary
	ierr := stage("ingest", func() error {
		var err error
		sum, err = runIngest(ctx, e, asOf, runID)
		return err
	})
	m.ingested(sum)
	if ierr != nil && !errors.Is(ierr, pipeline.ErrRejected) {
		return ierr
	}
	if err := stage("compute", func() error {
		_, err := runCompute(ctx, e, cat, []pipeline.Date{asOf}, nil, runID)
		return err
	}); err != nil {
		return err
	}
	if err := stage("report", func() error {
		meta, err := runReport(ctx, e, asOf)
		for _, ls := range meta.Members {
			level := ls.Level
			if level == "" {
				level = "none"
			}
			m.members.WithLabelValues(level, ls.Status).Set(float64(ls.Members))
		}
		return err
	}); err != nil {
		return err
	}
	return ierr
}
