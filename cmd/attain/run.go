package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"time"

	"attain/ingest"
	"attain/pipeline"
	"attain/warehouse"
)

// runCmd is the nightly job: ingest, compute, report for one date (SPEC §2, §7).
type runCmd struct{ asOf dateFlag }

func (c *runCmd) flags(fs *flag.FlagSet, cfg *pipeline.Config) {
	fs.Var(&c.asOf, "as-of", "the as-of date D (default: yesterday, UTC)")
	shardFlags(fs, cfg)
}

func (c *runCmd) run(ctx context.Context, e *env) error {
	asOf := c.asOf.or(e.cfg.Yesterday())
	runID := newRunID(e.cfg.Now())
	m := newRunMetrics()
	start := time.Now()
	// What fails before the run starts (the catalog, the inbox, the reports
	// folder, the lock) ends it like any failure: its exit code in the
	// metrics and an ERROR summary line (SPEC §7), but no run record, which
	// belongs to the warehouse another run may hold.
	started := false
	err := func() error {
		cat, err := pipeline.LoadCatalog(e.cfg.Catalog)
		if err != nil {
			return err
		}
		if err := checkInbox(e.cfg); err != nil {
			return err
		}
		if err := checkReports(e.cfg); err != nil {
			return err
		}
		lock, err := acquireFor(ctx, e, "run", true)
		if err != nil {
			return err
		}
		defer lock.Release()
		started = true
		e.log.Info("run start", "run_id", runID, "as_of", asOf.String(), "warehouse", e.cfg.Warehouse)
		return nightly(ctx, e, cat, asOf, runID, m)
	}()
	if !started {
		m.failedStage = "start"
	}
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
	if m.partial {
		e.log.Info("metrics left to the process that completes the date", "shard", e.cfg.Shard.String())
	} else if perr := m.publish(e.cfg, exitCode(ctx, err)); perr != nil {
		e.log.Error("metrics not published", "error", perr.Error())
		if err == nil {
			err = perr
		}
	}
	if started {
		rec := runRecord{RunID: runID, AsOf: asOf.String(), Status: status, Started: start.UTC(),
			Seconds: time.Since(start).Seconds()}
		if m.reported {
			rec.Reports = reportDir(e.cfg, asOf)
		}
		if err != nil {
			rec.Error = err.Error()
		}
		if rerr := writeRunRecord(e.cfg.Warehouse, rec); rerr != nil {
			e.log.Error("run record not written", "error", rerr.Error())
		}
	}
	args := []any{"run_id", runID, "as_of", asOf.String(), "status", status,
		"duration", time.Since(start).Round(time.Millisecond).String()}
	if !e.cfg.Shard.All() {
		args = append(args, "shard", e.cfg.Shard.String())
	}
	if m.reported {
		args = append(args, m.headline...)
		args = append(args, "workbook", workbookPath(e.cfg, asOf))
	}
	if err != nil {
		if ctx.Err() != nil {
			args = append(args, "interrupted", true)
		}
		if m.failedStage != "" {
			args = append(args, "stage", m.failedStage)
		}
		args = append(args, "error", err.Error())
	}
	level := slog.LevelInfo
	if status == "failed" {
		level = slog.LevelError
	}
	e.log.Log(context.Background(), level, "run end", args...)
	if m.reported && (err == nil || errors.Is(err, pipeline.ErrRejected)) {
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
	Reports string    `json:"reports,omitempty"` // where its reports went, when it wrote them
}

func writeRunRecord(wh string, r runRecord) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return pipeline.WriteFileAtomic(filepath.Join(warehouse.RunsDir(wh), r.RunID+".json"), append(b, '\n'))
}

// readRunRecords returns the warehouse's run records, oldest first.
func readRunRecords(wh string) ([]runRecord, error) {
	paths, err := filepath.Glob(filepath.Join(warehouse.RunsDir(wh), "*.json"))
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
		if err != nil && !errors.Is(err, pipeline.ErrRejected) {
			m.failedStage = name
		}
		return err
	}
	var sum *ingest.Summary
	ierr := stage("ingest", func() error {
		if !e.cfg.Shard.All() {
			// The pods of a sharded run land the inbox one after the other;
			// what one landed the next skips.
			l, err := pipeline.Acquire(ctx, e.cfg.Warehouse, pipeline.IngestLockFile, holder(e, "run --shard "+e.cfg.Shard.String()),
				pipeline.LockMode{Wait: true})
			if err != nil {
				return err
			}
			defer l.Release()
		}
		var err error
		sum, err = runIngest(ctx, e, asOf, runID)
		return err
	})
	m.ingested(sum)
	if ierr != nil && !errors.Is(ierr, pipeline.ErrRejected) {
		return ierr
	}
	var completed bool
	if err := stage("compute", func() error {
		c, err := runCompute(ctx, e, cat, []pipeline.Date{asOf}, nil, runID, computeHooks{})
		completed = len(c.Complete) > 0
		return err
	}); err != nil {
		return err
	}
	if !completed {
		// Another shard's process writes the date's last part, then its reports
		// and the run's metrics.
		m.partial = true
		e.log.Info("shard computed; the process that completes the date writes its reports", "shard", e.cfg.Shard.String())
		return ierr
	}
	if err := stage("report", func() error {
		meta, err := runReport(ctx, e, asOf, nil)
		m.reported = err == nil
		status := map[string]int64{}
		for _, ls := range meta.Members {
			if ls.Level != "" {
				status["members"] += ls.Members
				status[ls.Status] += ls.Members
			}
		}
		m.headline = []any{"members", status["members"], "at_risk", status["at_risk"], "lapsed", status["lapsed"],
			"alerts", meta.Figures.Alerts}
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
