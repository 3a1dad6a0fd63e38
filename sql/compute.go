package sql

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"attain/duck"
	"attain/pipeline"
	"attain/warehouse"
)

// ComputeOptions says what one compute does.
type ComputeOptions struct {
	Warehouse string
	Dates     []pipeline.Date // the as-of dates, evaluated together
	Catalog   *pipeline.Catalog
	KnownBy   *pipeline.Date // with --as-known: only deliveries dated on or before it
	Settings  duck.Settings
	// Shards is how many shards the organizations are computed in, one after
	// the other (SPEC §7.1); 0 chooses from the landed data and the memory limit.
	Shards int
	// Shard, when set (--shard i/N), computes that one shard of Shard.Count
	// only; Shards is then ignored.
	Shard pipeline.Shard
	// Pass is how many of the dates one pass of the rules evaluates at once
	// (0: all); what every date shares is computed once for all passes.
	Pass int
	// OnComplete, when set, is told each date whose results this compute
	// completed, as it does.
	OnComplete func(pipeline.Date)
	// History, when set, stores the dates' results as history (SPEC §8), a
	// month at a time, instead of as nightly results; the dates are those of
	// its months that this compute evaluates (with --as-known, one date).
	History *HistoryPlan
	// OnMonth, when set, is told each month whose history this compute
	// completed, as it does.
	OnMonth func(month string)
	// OnStep, when set, is told each step of the rules as it starts, with
	// the shard (a progress line on a terminal).
	OnStep func(s pipeline.Shard, step string)
	// EveryPoint evaluates every organization at every date, change point or
	// not (points.sql): the same results, slower; for the tests.
	EveryPoint bool
	// FromLanded computes in one shard from every landed row, restated in the
	// session (restate.sql), with no split and nothing derived kept: the same
	// results, slower; the tests' reference for the split's kept units, and
	// how one shard computes as known by a past date (KnownBy).
	FromLanded bool
	RunID      string
	Now        func() time.Time
	Log        *slog.Logger
}

// knownBy is --as-known's date as the markers hold it, or "".
func (o ComputeOptions) knownBy() string {
	if o.KnownBy == nil {
		return ""
	}
	return o.KnownBy.String()
}

// Computed is what a compute did: the rows of each date its shards wrote, and
// the dates whose results it completed (every date, without --shard; with
// it, those whose last part it wrote).
type Computed struct {
	Rows     map[pipeline.Date]map[string]int64
	Complete []pipeline.Date
	Months   []string // with History: the months whose history it completed
}

// Compute evaluates the rules at every date of opt.Dates at once, from the
// landed data, shard by shard, and writes each date's result tables (a part a
// shard, with a part marker); the shard that writes a date's last part writes
// its marker. An error wrapping pipeline.ErrUsage means no catalog version is
// in force at a date.
//
// It reads as plan (which dates, what each date's alerts compare with, which
// shards, the split the shards read), rules (computeShard, a DuckDB session a
// shard), publish (the warehouse stages each part and completes a date or a
// month once all its parts are there: publisher).
func Compute(ctx context.Context, opt ComputeOptions) (Computed, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	p, err := planCompute(ctx, &opt)
	if err != nil {
		return Computed{}, err
	}
	pub := &publisher{opt: opt, out: Computed{Rows: map[pipeline.Date]map[string]int64{}}}
	for _, s := range p.shards {
		start := time.Now()
		load := func(e *Engine) error {
			if opt.FromLanded {
				return e.Prepare(ctx, opt.Warehouse, opt.Catalog, opt.KnownBy)
			}
			if err := e.LoadShard(ctx, opt.Warehouse, p.split, s); err != nil {
				return err
			}
			return e.LoadCatalog(ctx, opt.Catalog)
		}
		written := func(e *Engine, d pipeline.Date, files map[string]warehouse.PartFile, quality []warehouse.QualityCount) error {
			return pub.date(ctx, e, s, d, files, quality)
		}
		month := func(e *Engine, month string) error { return pub.month(e, s, month) }
		if err := computeShard(ctx, opt, p.dates, s, load, written, month); err != nil {
			return Computed{}, fmt.Errorf("shard %s: %w", s, err)
		}
		opt.Log.Debug("shard computed", "shard", s.String(), "seconds", time.Since(start).Seconds())
	}
	return pub.out, nil
}

// computePlan is what a compute does before the rules run.
type computePlan struct {
	dates  datePlan
	shards []pipeline.Shard // the shards this process computes, in order
	split  string           // the split's directory the shards read ("" with FromLanded)
}

// planCompute checks that a catalog version is in force at every date, plans
// the dates (planDates), chooses the shards, and brings the split up to date.
// It may set opt.FromLanded (a one-shard compute as known by a past date).
func planCompute(ctx context.Context, opt *ComputeOptions) (computePlan, error) {
	var p computePlan
	dates := append([]pipeline.Date(nil), opt.Dates...)
	slices.Sort(dates)
	dates = slices.Compact(dates)
	for _, d := range dates {
		if _, ok := opt.Catalog.InForce(d); !ok {
			return p, fmt.Errorf("%w: %v at %s", pipeline.ErrUsage, errNoVersion, d)
		}
	}
	var err error
	if p.dates, err = planDates(opt.Warehouse, opt.Catalog, dates, opt.History); err != nil {
		return p, err
	}
	n := opt.Shards
	if opt.FromLanded {
		n = 1
	} else if opt.Shard.Count > 0 {
		n = opt.Shard.Count
	} else if n == 0 {
		if n, err = ChooseShards(opt.Warehouse, opt.Settings.MemoryLimit); err != nil {
			return p, err
		}
	}
	// A compute as known by a past date (--as-known) in one shard reads the
	// landed rows where they lie, restated in its session: the split's units
	// cut at that date would be made again at each date of a backfill, and the
	// next night would make the uncut ones again and re-rank every unit after.
	if n == 1 && opt.KnownBy != nil {
		opt.FromLanded = true
	}
	p.shards = []pipeline.Shard{opt.Shard}
	if opt.Shard.Count == 0 {
		p.shards = nil
		for i := range n {
			p.shards = append(p.shards, pipeline.Shard{Index: i, Count: n})
		}
	}
	// One shard reads a split too (units-1): what closed months give, their
	// rows with their key hashes and the rows later deliveries supersede, is
	// derived once and kept, so a night restates its own delivery only, not
	// two years of landed rows (shards.go).
	if !opt.FromLanded {
		if p.split, err = split(ctx, *opt, n); err != nil {
			return p, err
		}
	}
	return p, nil
}

// split makes the split of the landed data into n shards in a DuckDB session
// of its own, closed before the shards are computed. The shard processes of
// one warehouse make it one after the other (its lock): the first makes it,
// the others find it made.
func split(ctx context.Context, opt ComputeOptions, n int) (string, error) {
	host, _ := os.Hostname()
	lock, err := pipeline.Acquire(ctx, warehouse.ShardsDir(opt.Warehouse), fmt.Sprintf("%d.lock", n),
		fmt.Sprintf("attain split, pid %d on %s", os.Getpid(), host), pipeline.LockMode{Wait: true})
	if err != nil {
		return "", err
	}
	defer lock.Release()
	e, err := Open(ctx, opt.Settings)
	if err != nil {
		return "", err
	}
	defer e.Close()
	e.Log = opt.Log
	return e.Split(ctx, opt.Warehouse, n, opt.KnownBy)
}

// datePlan is what the dates of one compute evaluate: the dates themselves,
// and where each date's previous statuses come from for its alerts.
type datePlan struct {
	dates, eval []pipeline.Date
	prevs       []prevSource
}

// prevSource is where the statuses an alert at d compares with come from:
// prev evaluated in this compute (an earlier date, or D − 1 when a catalog
// version is in force then; otherwise there are none), the stored result of
// prev, or prev as an earlier compute of the same backfill wrote it (an
// --as-known backfill computes each date on its own).
type prevSource struct {
	d, prev    pipeline.Date
	evaluated  bool
	stored     *warehouse.StoredResult
	backfilled bool
}

// planDates finds, for each date, the statuses its alerts compare with (SPEC
// §5.6). A nightly compute takes the latest stored result before D, or D − 1
// computed from the same data; in a batch, an earlier date of the batch is
// the result that will be stored before D. A backfill (h) takes the date
// before D on its own spine (h.Prev), as a nightly run of each of its dates
// after the one before would: computed with D, or stored as a date's nightly
// results, or written by an earlier compute of the backfill, or stored in the
// history of the backfill's kind; when there is none, D − 1.
func planDates(wh string, c *pipeline.Catalog, dates []pipeline.Date, h *HistoryPlan) (datePlan, error) {
	var stored []pipeline.Date
	if h == nil {
		var err error
		if stored, err = warehouse.StoredDates(wh); err != nil {
			return datePlan{}, err
		}
	}
	p := datePlan{dates: dates, eval: append([]pipeline.Date(nil), dates...)}
	for i, d := range dates {
		src := prevSource{d: d}
		if h != nil {
			prev, ok := h.Prev[d]
			var st *warehouse.StoredResult
			if ok && !slices.Contains(dates, prev) {
				var err error
				if st, err = warehouse.OpenStored(wh, prev, h.Kind()); err != nil {
					return datePlan{}, err
				}
			}
			backfilled := ok && slices.Contains(h.Months[pipeline.Month(prev)], prev)
			switch {
			case ok && slices.Contains(dates, prev):
				src.prev, src.evaluated = prev, true
			case st != nil && st.Nightly != nil, st != nil && !backfilled:
				src.prev, src.stored = prev, st
			case backfilled:
				src.prev, src.backfilled = prev, true
			}
		} else {
			var prev *pipeline.Date
			for _, x := range stored {
				if x < d && !slices.Contains(dates, x) {
					prev = &x
				}
			}
			switch {
			case i > 0 && (prev == nil || dates[i-1] > *prev):
				src.prev, src.evaluated = dates[i-1], true
			case prev != nil:
				st, err := warehouse.OpenStored(wh, *prev, warehouse.AsKnown.ReadOrder()...)
				if err != nil {
					return datePlan{}, err
				}
				src.prev, src.stored = *prev, st
			}
		}
		if !src.evaluated && src.stored == nil && !src.backfilled {
			_, ok := c.InForce(d - 1)
			src.prev, src.evaluated = d-1, ok
			if ok {
				p.eval = append(p.eval, d-1)
			}
		}
		p.prevs = append(p.prevs, src)
	}
	p.eval = slices.Compact(slices.Sorted(slices.Values(p.eval)))
	return p, nil
}

// passes splits the plan into passes of at most size dates (0: one pass) of
// one month each (a month's history is written from its passes). A pass
// evaluates its dates and the computed dates their alerts compare with.
func (p datePlan) passes(size int) []datePlan {
	if size <= 0 {
		size = len(p.dates)
	}
	var out []datePlan
	for i, j := 0, 0; i < len(p.dates); i = j {
		j = i + 1
		for j < len(p.dates) && j-i < size && pipeline.Month(p.dates[j]) == pipeline.Month(p.dates[i]) {
			j++
		}
		q := datePlan{dates: p.dates[i:j], prevs: p.prevs[i:j], eval: slices.Clone(p.dates[i:j])}
		for _, pr := range q.prevs {
			if pr.evaluated {
				q.eval = append(q.eval, pr.prev)
			}
		}
		q.eval = slices.Compact(slices.Sorted(slices.Values(q.eval)))
		out = append(out, q)
	}
	return out
}

// computeShard evaluates one shard's organizations at the plan's dates in a
// DuckDB session of its own (load makes the feed tables it reads): what the
// dates share once, then the dates a pass at a time. It writes its part of
// each result table of each date, and tells written, with the session (its
// loaded data's id, e.dataID), the rows and, in a shard of several, its
// data-quality counts.
//
// With opt.History it writes instead each month's segments as its passes
// evaluate them and, once they cover the month's spine, its part of the
// month's history, and tells month.
func computeShard(ctx context.Context, opt ComputeOptions, plan datePlan, s pipeline.Shard,
	load func(*Engine) error, written func(*Engine, pipeline.Date, map[string]warehouse.PartFile, []warehouse.QualityCount) error,
	month func(*Engine, string) error) error {
	e, err := Open(ctx, opt.Settings)
	if err != nil {
		return err
	}
	defer e.Close()
	e.Log = opt.Log
	if opt.OnStep != nil {
		e.OnStep = func(step string) { opt.OnStep(s, step) }
	}
	if err := load(e); err != nil {
		return err
	}
	if err := e.EvaluateRange(ctx, opt.Catalog, plan.eval); err != nil {
		return err
	}
	if err := e.SetVar(ctx, "shard_count", s.Count); err != nil {
		return err
	}
	if err := e.SetVar(ctx, "every_point", opt.EveryPoint); err != nil {
		return err
	}
	if err := warehouse.LoadReaders(ctx, e.Session); err != nil {
		return err
	}
	for i, pass := range plan.passes(opt.Pass) {
		if err := e.EvaluatePass(ctx, opt.Catalog, pass.eval); err != nil {
			return err
		}
		if err := e.previousStatuses(ctx, opt, s, pass); err != nil {
			return err
		}
		if err := e.Run(ctx, "keypeople.sql"); err != nil {
			return err
		}
		// results.sql sorts each table once; its dates' rows keep that order
		if err := e.Exec(ctx, "SET preserve_insertion_order = true"); err != nil {
			return err
		}
		if err := e.Run(ctx, "results.sql"); err != nil {
			return err
		}
		if err := e.segments(ctx, opt.History, pass.dates); err != nil {
			return err
		}
		if i == 0 {
			if err := warehouse.WriteReaders(ctx, e.Session, opt.Warehouse); err != nil {
				return err
			}
		}
		if opt.History != nil {
			if err := e.historyPass(ctx, opt, s, pass.dates, month); err != nil {
				return err
			}
			if err := e.Exec(ctx, "SET preserve_insertion_order = ?", opt.Settings.KeepOrder); err != nil {
				return err
			}
			continue
		}
		for _, d := range pass.dates {
			var files map[string]warehouse.PartFile
			if err := e.Timed("write", func() (err error) {
				files, err = e.WriteResults(ctx, opt.Warehouse, d, s, warehouse.ResultGen(d, s.Count, e.dataID, opt.knownBy()))
				return err
			}); err != nil {
				return err
			}
			var quality []warehouse.QualityCount
			if s.Count > 1 {
				if quality, err = e.qualityCounts(ctx); err != nil {
					return err
				}
			}
			if err := written(e, d, files, quality); err != nil {
				return err
			}
		}
		if err := e.Exec(ctx, "SET preserve_insertion_order = ?", opt.Settings.KeepOrder); err != nil {
			return err
		}
	}
	return nil
}

// segments makes the pass's results intervals over its dates
// (segments.sql); a nightly compute makes them empty, for their schemas.
func (e *Engine) segments(ctx context.Context, h *HistoryPlan, dates []pipeline.Date) error {
	if err := e.Exec(ctx, "CREATE OR REPLACE TEMP TABLE seg_dates (d DATE, nxt DATE)"); err != nil {
		return err
	}
	for _, d := range dates {
		if h == nil {
			break
		}
		nxt := warehouse.NextInMonth(h.Months[pipeline.Month(d)], d)
		if err := e.Exec(ctx, "INSERT INTO seg_dates VALUES (?, ?)", d.Time(), nxt.Time()); err != nil {
			return err
		}
	}
	return e.Run(ctx, "segments.sql")
}

// MonthGen is the generation of a month's history this session computes.
func (e *Engine) monthGen(opt ComputeOptions, month string, shards int) string {
	data := e.dataID
	if opt.History.AsKnown {
		data = "as-known" // each date has its own data
	}
	return warehouse.MonthGen(month, opt.History.Months[month], shards, opt.History.AsKnown, data)
}

// historyPass keeps a pass's segments (one month's dates) and, when the
// month's segments of this shard cover its spine, writes the shard's part of
// the month and tells month.
func (e *Engine) historyPass(ctx context.Context, opt ComputeOptions, s pipeline.Shard, dates []pipeline.Date,
	month func(*Engine, string) error) error {
	m := pipeline.Month(dates[0])
	gen := e.monthGen(opt, m, s.Count)
	dir := warehouse.HistorySegmentsDir(opt.Warehouse, opt.History.Kind(), m, gen, s)
	spine := opt.History.Months[m]
	if dates[0] == spine[0] {
		// A month's segments are made from its first date on, by this compute
		// (or, with --as-known, this backfill): what a killed run left of the
		// same generation goes. A pass's segments are written a table at a
		// time, so a run killed between two tables left one table covering
		// dates the others do not, and a month counted as covered by it was
		// merged without them.
		if err := os.RemoveAll(dir); err != nil {
			return err
		}
	}
	// segments of another generation of the month are an earlier compute's
	gens := filepath.Dir(filepath.Dir(dir))
	entries, _ := os.ReadDir(gens)
	for _, en := range entries {
		if en.Name() != gen {
			if err := os.RemoveAll(filepath.Join(gens, en.Name())); err != nil {
				return err
			}
		}
	}
	if err := e.Timed("write", func() error { return warehouse.WriteSegments(ctx, e.Session, dir, dates[0], dates[len(dates)-1]) }); err != nil {
		return err
	}
	covered, err := warehouse.SegmentsCover(dir, spine)
	if err != nil || !covered {
		return err
	}
	if err := e.Timed("history", func() error {
		return warehouse.WriteMonthPart(ctx, e.Session, opt.Warehouse, opt.History.Kind(), m, gen, dir, s, opt.RunID, opt.Now().UTC())
	}); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return err
	}
	return month(e, m)
}

// previousStatuses makes the tables results.sql reads for a pass's dates
// (out_dates, and the evaluated points they read, out_points, and the key-people
// points, out_kp_points) and the
// statuses their alerts compare with (prev_renewal).
func (e *Engine) previousStatuses(ctx context.Context, opt ComputeOptions, s pipeline.Shard, pass datePlan) error {
	if err := e.Exec(ctx, `CREATE OR REPLACE TEMP TABLE prev_renewal (d DATE, org_id VARCHAR, status VARCHAR);
		CREATE OR REPLACE TEMP TABLE out_dates (d DATE);`); err != nil {
		return err
	}
	for _, p := range pass.prevs {
		if err := e.Exec(ctx, "INSERT INTO out_dates VALUES (?)", p.d.Time()); err != nil {
			return err
		}
		q := `INSERT INTO prev_renewal SELECT CAST($1 AS DATE), o.org_id, CASE WHEN r.membership_level IS NULL THEN 'not_member' ELSE r.status END
			FROM point_until u JOIN renewal r ON r.org_no = u.org_no AND r.d = u.d JOIN orgs o ON o.org_no = u.org_no
			WHERE u.d <= CAST($2 AS DATE) AND CAST($2 AS DATE) < u.until`
		args := []any{p.d.Time(), p.prev.Time()}
		if p.stored != nil || p.backfilled {
			var from string
			var err error
			if p.stored != nil {
				from, err = p.stored.Table(opt.Warehouse, "renewal_risk")
			} else {
				from, err = e.backfilledTable(opt, s, p.prev, "renewal_risk")
			}
			if err != nil {
				return fmt.Errorf("previous statuses of %s: %w", p.d, err)
			}
			// only this shard's organizations are looked up
			q = `INSERT INTO prev_renewal SELECT ?, r.org_id, CASE WHEN r.membership_level IS NULL THEN 'not_member' ELSE r.status END
				FROM ` + from + ` r SEMI JOIN orgs o ON o.org_id = r.org_id`
			args = args[:1]
		} else if !p.evaluated {
			continue // no version in force the day before: no statuses
		}
		if err := e.Exec(ctx, q, args...); err != nil {
			return fmt.Errorf("previous statuses: %w", err)
		}
	}
	return e.Exec(ctx, `CREATE OR REPLACE TEMP TABLE out_points AS
		SELECT u.d, u.org_no FROM point_until u SEMI JOIN out_dates x ON u.d <= x.d AND x.d < u.until;
		CREATE OR REPLACE TEMP TABLE out_kp_points AS
		SELECT u.d, u.org_no FROM kp_until u SEMI JOIN out_dates x ON u.d <= x.d AND x.d < u.until`)
}

// backfilledTable is the SQL that reads a table at d as an earlier compute of
// the same backfill wrote it for shard s: from its segments while d's month
// is not yet written, else from the shard's part of the month, staged or in
// place.
func (e *Engine) backfilledTable(opt ComputeOptions, s pipeline.Shard, d pipeline.Date, table string) (string, error) {
	k, m := opt.History.Kind(), pipeline.Month(d)
	gen := e.monthGen(opt, m, s.Count)
	files, err := duck.ParquetFiles(filepath.Join(warehouse.HistorySegmentsDir(opt.Warehouse, k, m, gen, s), table))
	if err != nil {
		return "", err
	}
	if len(files) == 0 {
		staged := warehouse.HistoryStaged(opt.Warehouse, k, gen, table, m, s)
		mk, err := warehouse.ReadMonthMarker(opt.Warehouse, k, m)
		switch {
		case err != nil:
			return "", err
		case warehouse.Exists(staged):
			files = []string{staged}
		case mk != nil && mk.Gen == gen:
			files = []string{warehouse.HistoryPart(opt.Warehouse, k, table, m, s)}
		default:
			return "", fmt.Errorf("the %s history of %s that this backfill wrote is gone", k, d)
		}
	}
	return fmt.Sprintf("%s_of_history([%s], DATE '%s')", table, strings.Join(duck.QuoteAll(duck.GlobEscaped(files)), ", "), d), nil
}

// Prepare loads the landed data and the catalog, and restates the feeds.
func (e *Engine) Prepare(ctx context.Context, wh string, c *pipeline.Catalog, knownBy *pipeline.Date) error {
	if err := e.Run(ctx, "calendar.sql"); err != nil {
		return err
	}
	if err := e.Timed("load", func() error {
		if _, err := e.LoadLanded(ctx, wh, knownBy); err != nil {
			return err
		}
		return e.LoadCatalog(ctx, c)
	}); err != nil {
		return err
	}
	if err := e.restate(ctx); err != nil {
		return err
	}
	return e.quality(ctx)
}

// restate makes the feeds' rows in force from the landed views (restate.sql).
func (e *Engine) restate(ctx context.Context) error {
	if err := e.Timed("repeated keys", func() (err error) {
		e.found, err = e.repeatedKeys(ctx)
		return err
	}); err != nil {
		return err
	}
	return e.Run(ctx, "restate.sql")
}

// quality makes, from the rows in force, the FX quarantine (fx.sql) and the
// data-quality counts (quality.sql).
func (e *Engine) quality(ctx context.Context) error {
	for _, f := range []string{"fx.sql", "quality.sql"} {
		if err := e.Run(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// The rule files: what the dates of a compute share (rangeSteps, once), then
// what one pass evaluates at its dates (passSteps).
var (
	rangeSteps = []string{"range.sql", "people.sql", "timelines.sql", "scores.sql", "intervals.sql", "changes.sql"}
	passSteps  = []string{"points.sql", "frozen.sql", "requirements.sql", "levels.sql", "renewal.sql", "causes.sql", "needs.sql"}
)

// Evaluate runs the rules for the as-of dates in one pass: levels, lapses,
// memberships and causes for every organization at every date.
func (e *Engine) Evaluate(ctx context.Context, c *pipeline.Catalog, dates []pipeline.Date) error {
	if err := e.EvaluateRange(ctx, c, dates); err != nil {
		return err
	}
	return e.EvaluatePass(ctx, c, dates)
}

// EvaluateRange computes what every date of a compute shares, for the dates
// given: who counts, metric timelines, the intervals where requirements, paths
// and overrides hold, and each organization's change points.
func (e *Engine) EvaluateRange(ctx context.Context, c *pipeline.Catalog, dates []pipeline.Date) error {
	if err := e.datesTable(ctx, c, "range_dates", dates); err != nil {
		return err
	}
	if err := e.runAll(ctx, rangeSteps); err != nil {
		return err
	}
	// what only the range steps read is dropped, so that the passes have its
	// memory (a feed that is a view, as in a shard, holds none)
	rows, err := e.Query(ctx, "SELECT table_name FROM duckdb_tables() WHERE temporary AND list_contains(?, table_name)", rangeOnly)
	if err != nil {
		return err
	}
	for _, r := range rows {
		if err := e.Exec(ctx, "DROP TABLE "+r[0].(string)); err != nil {
			return err
		}
	}
	return nil
}

// rangeOnly are the tables the passes do not read: feeds the range steps turn
// into intervals, and the steps' own intermediate tables.
var rangeOnly = []string{"exams", "assessments", "associations", "customers", "overrides",
	"code_keyed", "code_segments", "qual_keyed", "qual_segments", "customer_keyed"}

// EvaluatePass evaluates the rules at some of the range's dates.
func (e *Engine) EvaluatePass(ctx context.Context, c *pipeline.Catalog, dates []pipeline.Date) error {
	if err := e.datesTable(ctx, c, "eval_dates", dates); err != nil {
		return err
	}
	if err := e.runAll(ctx, passSteps); err != nil {
		return err
	}
	if e.Log != nil && e.Log.Enabled(ctx, slog.LevelDebug) {
		r, err := e.Query(ctx, `SELECT (SELECT count(*) FROM eval_points), (SELECT count(*) FILTER (WHERE state) FROM eval_points), (SELECT count(*) FILTER (WHERE kp) FROM eval_points),
			(SELECT count(*) FROM orgs) * (SELECT count(*) FROM eval_dates)`)
		if err != nil {
			return err
		}
		e.Log.Debug("pass evaluated", "dates", len(dates), "points", r[0][0], "state_points", r[0][1], "key_people_points", r[0][2], "organization_dates", r[0][3])
	}
	return nil
}

// datesTable makes a table (d, version) of the dates a catalog version is in force at.
func (e *Engine) datesTable(ctx context.Context, c *pipeline.Catalog, name string, dates []pipeline.Date) error {
	if err := e.Exec(ctx, "CREATE OR REPLACE TEMP TABLE "+name+" (d DATE, version VARCHAR)"); err != nil {
		return err
	}
	for _, d := range dates {
		v, ok := c.InForce(d)
		if !ok {
			continue
		}
		if err := e.Exec(ctx, "INSERT INTO "+name+" VALUES (?, ?)", d.Time(), v.Version); err != nil {
			return err
		}
	}
	return nil
}

func (e *Engine) runAll(ctx context.Context, steps []string) error {
	for _, f := range steps {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := e.Run(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// WriteResults writes shard s's part of each result table of asOf, staged as
// generation gen (warehouse/results.go), and returns each table's file.
func (e *Engine) WriteResults(ctx context.Context, wh string, asOf pipeline.Date, s pipeline.Shard, gen string) (map[string]warehouse.PartFile, error) {
	files := map[string]warehouse.PartFile{}
	for _, t := range warehouse.Tables {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		path := warehouse.ResultStaged(wh, t.Name, asOf, gen, s)
		n, err := e.CopyTo(ctx, fmt.Sprintf("SELECT * FROM %s_on(DATE '%s')", t.Name, asOf), path)
		if err != nil {
			return nil, fmt.Errorf("write %s: %w", t.Name, err)
		}
		if files[t.Name], err = warehouse.PartFileOf(path, n); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// qualityCounts are the session's data-quality counts (quality.sql).
func (e *Engine) qualityCounts(ctx context.Context) ([]warehouse.QualityCount, error) {
	rows, err := e.Query(ctx, "SELECT check_name, feed, rows FROM dq_counts ORDER BY check_name, feed")
	if err != nil {
		return nil, err
	}
	out := make([]warehouse.QualityCount, len(rows))
	for i, r := range rows {
		out[i] = warehouse.QualityCount{Check: r[0].(string), Feed: r[1].(string), Rows: r[2].(int64)}
	}
	return out, nil
}

// writeQuality writes the sums of the shards' data-quality counts as the
// first part of data_quality of a date of n shards, staged as generation gen,
// and returns its file.
func (e *Engine) writeQuality(ctx context.Context, wh string, d pipeline.Date, gen string, n int, counts []warehouse.QualityCount) (warehouse.PartFile, error) {
	q := "SELECT NULL::VARCHAR AS check_name, NULL::VARCHAR AS feed, NULL::BIGINT AS rows WHERE false"
	if len(counts) > 0 {
		var values []string
		for _, c := range counts {
			values = append(values, fmt.Sprintf("(%s, %s, %d)", duck.Quote(c.Check), duck.Quote(c.Feed), c.Rows))
		}
		q = "SELECT check_name, feed, CAST(sum(rows) AS BIGINT) AS rows FROM (VALUES " + strings.Join(values, ", ") +
			") v(check_name, feed, rows) GROUP BY check_name, feed"
	}
	if err := e.Exec(ctx, "CREATE OR REPLACE TEMP TABLE dq_sums AS "+q); err != nil {
		return warehouse.PartFile{}, err
	}
	// A name of its own, not shard 0's: shard 0 computed again (killed after the
	// marker, before the move) stages its own data_quality part, which must not
	// take the place of the sums the marker pins.
	path := filepath.Join(warehouse.ResultStagingDir(wh, d, gen), fmt.Sprintf("data_quality-sums-of-%d.parquet", n))
	rows, err := e.CopyTo(ctx, fmt.Sprintf("SELECT * FROM data_quality_of(DATE '%s', 'dq_sums')", d), path)
	if err != nil {
		return warehouse.PartFile{}, err
	}
	return warehouse.PartFileOf(path, rows)
}
