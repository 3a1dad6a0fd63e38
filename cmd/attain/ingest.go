package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"sort"
	"time"

	"attain/ingest"
	"attain/pipeline"
)

// ingestCmd lands new inbox files (SPEC §3).
type ingestCmd struct{ asOf dateFlag }

func (c *ingestCmd) flags(fs *flag.FlagSet, _ *pipeline.Config) {
	fs.Var(&c.asOf, "as-of", "land files delivered on or before this date (default: yesterday, UTC)")
}

func (c *ingestCmd) run(ctx context.Context, e *env) error {
	if err := checkInbox(e.cfg); err != nil {
		return err
	}
	lock, err := acquire(e, "ingest")
	if err != nil {
		return err
	}
	defer lock.Release()
	_, err = runIngest(ctx, e, c.asOf.or(e.cfg.Yesterday()), newRunID(e.cfg.Now()))
	return err
}

// runIngest is the ingest stage, shared by ingest and run.
func runIngest(ctx context.Context, e *env, asOf pipeline.Date, runID string) (*ingest.Summary, error) {
	start := time.Now()
	e.log.Info("stage start", "stage", "ingest", "as_of", asOf.String(), "inbox", e.cfg.Inbox)
	opt := ingest.Options{Inbox: e.cfg.Inbox, Warehouse: e.cfg.Warehouse, AsOf: asOf,
		MaxBadFraction: e.cfg.MaxBadFraction, RunID: runID, Now: e.cfg.Now, Log: e.log, Workers: e.cfg.Threads, Held: e.lock.Held,
		Shared: !e.cfg.Shard.All()}
	var bar *progress
	if e.console != nil {
		opt.Progress = func(done, total int) {
			if bar == nil {
				bar = e.console.newProgress("ingest", total)
			}
			bar.set(done)
		}
	}
	sum, err := ingest.Run(ctx, opt)
	bar.finish()
	if sum != nil {
		feeds := make([]string, 0, len(sum.Feeds))
		for f := range sum.Feeds {
			feeds = append(feeds, f)
		}
		sort.Strings(feeds)
		for _, f := range feeds {
			fc := sum.Feeds[f]
			e.log.Info("feed ingested", "feed", f, "files", fc.Files, "rows_landed", fc.Landed, "rows_quarantined", fc.Quarantined)
		}
		e.log.Info("stage end", "stage", "ingest", "files_landed", sum.Landed, "files_rejected", sum.Rejected,
			"files_skipped", sum.Skipped, "files_waiting", sum.Waiting, "files_unrecognized", sum.Unrecognized,
			"duration", time.Since(start).Round(time.Millisecond).String())
	}
	return sum, err
}

// acquire takes the warehouse lock for a command.
func acquire(e *env, what string) (*pipeline.Lock, error) {
	l, err := pipeline.AcquireLock(e.cfg.Warehouse, holder(e, what))
	e.lock = l
	return l, err
}

// checkInbox says, before anything is written, that the inbox can be listed:
// a mistyped --inbox must not leave an empty warehouse behind.
func checkInbox(cfg pipeline.Config) error {
	if _, err := os.ReadDir(cfg.Inbox); err != nil {
		return fmt.Errorf("%w: inbox %s: %v", pipeline.ErrUsage, cfg.Inbox, errors.Unwrap(err))
	}
	return nil
}

// checkWarehouse says that the warehouse is there: compute, report, backfill
// and status read one that ingest or run made, and must not make an empty one
// from a mistyped --warehouse (SPEC §2: an unreadable directory is exit 2).
func checkWarehouse(cfg pipeline.Config) error {
	info, err := os.Stat(cfg.Warehouse)
	if err != nil {
		return fmt.Errorf("%w: warehouse %s: %v (attain ingest or attain run makes one)", pipeline.ErrUsage, cfg.Warehouse, errors.Unwrap(err))
	}
	if !info.IsDir() {
		return fmt.Errorf("%w: warehouse %s is not a directory", pipeline.ErrUsage, cfg.Warehouse)
	}
	return nil
}

// checkReports says, before the run starts, that the reports folder can be
// written: found after the compute, it would cost the whole compute.
func checkReports(cfg pipeline.Config) error {
	if err := os.MkdirAll(cfg.Reports, 0o755); err != nil {
		return fmt.Errorf("%w: reports %s: %v", pipeline.ErrUsage, cfg.Reports, errors.Unwrap(err))
	}
	f, err := os.CreateTemp(cfg.Reports, ".attain-check-*"+pipeline.TempSuffix)
	if err != nil {
		return fmt.Errorf("%w: reports folder %s cannot be written: %v", pipeline.ErrUsage, cfg.Reports, errors.Unwrap(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// holder names this process in a lock file.
func holder(e *env, what string) string {
	host, _ := os.Hostname()
	return fmt.Sprintf("attain %s, pid %d on %s, since %s", what, os.Getpid(), host, e.cfg.Now().UTC().Format(time.RFC3339))
}

// locks are the locks a command holds, released in reverse order.
type locks []*pipeline.Lock

func (l locks) Release() {
	for i := len(l) - 1; i >= 0; i-- {
		l[i].Release()
	}
}

// acquireFor takes what a command of compute, backfill or run needs (SPEC
// §7.1): the warehouse lock alone without --shard; with --shard, the warehouse
// lock shared with the other shards' processes (waiting for it when wait, as
// run --shard does while a command holds it alone) and the shard's own lock
// alone. Either one taken exits 75 (ErrLocked).
func acquireFor(ctx context.Context, e *env, what string, wait bool) (locks, error) {
	if e.cfg.Shard.All() {
		l, err := acquire(e, what)
		if err != nil {
			return nil, err
		}
		return locks{l}, nil
	}
	who := holder(e, fmt.Sprintf("%s --shard %s", what, e.cfg.Shard))
	wl, err := pipeline.Acquire(ctx, e.cfg.Warehouse, pipeline.LockFile, who, pipeline.LockMode{Shared: true, Wait: wait})
	if err != nil {
		return nil, err
	}
	e.lock = wl
	sl, err := pipeline.Acquire(ctx, e.cfg.Warehouse, pipeline.ShardLockFile(e.cfg.Shard), who, pipeline.LockMode{})
	if err != nil {
		wl.Release()
		return nil, err
	}
	return locks{wl, sl}, nil
}

// newRunID names a run by its start time, to the second, and its process.
func newRunID(now time.Time) string {
	return fmt.Sprintf("%s-%d", now.UTC().Format("20060102T150405Z"), os.Getpid())
}
