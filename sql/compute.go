package sql

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"attain/pipeline"
)

// Table is a result table of SPEC §6.2 and the order its rows are written in.
type Table struct {
	Name    string
	Columns string // the columns in order
	OrderBy string
}

// Tables are the result tables, in the order of SPEC §6.2, plus the rows left out
// at compute time.
var Tables = []Table{
	{"attainment", "as_of, org_id, org_name, competency_id, competency_name, level, basis, lapses_on, days_to_lapse", "org_id, competency_id"},
	{"requirements", "as_of, org_id, competency_id, level, path, metric, value, min, met, lapses_on", "org_id, competency_id, level, path, metric, min, value"},
	{"renewal_risk", "as_of, org_id, org_name, membership_level, purchased_on, anniversary_on, days_to_anniversary, in_grace, status, supporting_competencies, lapses_on, cause, upgrade_eligible, eligible_level, alert", "org_id"},
	{"alerts", "as_of, org_id, org_name, membership_level, previous_status, status, message, cause", "org_id"},
	{"expiring", "as_of, org_id, individual_id, competency_id, kind, code, ends_on, days_left", "org_id, individual_id NULLS FIRST, competency_id, kind, code, ends_on"},
	{"profile", "as_of, org_id, competency_id, displayed_level", "org_id, competency_id"},
	{"compute_quarantine", "as_of, feed, file, line, \"column\", reason", "file, line"},
	{"data_quality", "as_of, check_name, feed, rows", "check_name, feed"},
}

// ResultPath is where a result table of a date lives (SPEC §6.1).
func ResultPath(warehouse, table string, d pipeline.Date) string {
	return filepath.Join(warehouse, "results", table, "as_of="+d.String(), table+".parquet")
}

// Marker is written last, once every table of a date is: a date's results are
// complete only when its marker exists.
type Marker struct {
	AsOf           string           `json:"as_of"`
	RunID          string           `json:"run_id"`
	CatalogVersion string           `json:"catalog_version"`
	KnownBy        string           `json:"known_by,omitempty"`
	Rows           map[string]int64 `json:"rows"`
	At             time.Time        `json:"at"`
}

// MarkerPath is the completion marker of a date's results.
func MarkerPath(warehouse string, d pipeline.Date) string {
	return filepath.Join(warehouse, "results", "_complete", d.String()+".json")
}

// ReadMarker returns the marker of a date, or nil when its results are not complete.
func ReadMarker(warehouse string, d pipeline.Date) (*Marker, error) {
	b, err := os.ReadFile(MarkerPath(warehouse, d))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var m Marker
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", MarkerPath(warehouse, d), err)
	}
	return &m, nil
}

// CompleteDates lists the dates with complete results, oldest first.
func CompleteDates(warehouse string) ([]pipeline.Date, error) {
	entries, err := os.ReadDir(filepath.Join(warehouse, "results", "_complete"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var out []pipeline.Date
	for _, e := range entries {
		if d, err := pipeline.ParseDate(strings.TrimSuffix(e.Name(), ".json")); err == nil && strings.HasSuffix(e.Name(), ".json") {
			out = append(out, d)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out, nil
}

// ComputeOptions says what one compute does.
type ComputeOptions struct {
	Warehouse string
	Dates     []pipeline.Date // the as-of dates, evaluated together
	Catalog   *pipeline.Catalog
	KnownBy   *pipeline.Date // with --as-known: only deliveries dated on or before it
	Settings  Settings
	RunID     string
	Now       func() time.Time
	Log       *slog.Logger
}

// Compute evaluates the rules at every date of opt.Dates at once, from the
// landed data, and writes each date's result tables and then its marker. It
// returns the rows written per date and table. An error wrapping
// pipeline.ErrUsage means no catalog version is in force at a date.
func Compute(ctx context.Context, opt ComputeOptions) (map[pipeline.Date]map[string]int64, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.Log == nil {
		opt.Log = slog.New(slog.DiscardHandler)
	}
	dates := append([]pipeline.Date(nil), opt.Dates...)
	slices.Sort(dates)
	dates = slices.Compact(dates)
	for _, d := range dates {
		if _, ok := opt.Catalog.InForce(d); !ok {
			return nil, fmt.Errorf("%w: %v at %s", pipeline.ErrUsage, errNoVersion, d)
		}
	}
	stored, err := CompleteDates(opt.Warehouse)
	if err != nil {
		return nil, err
	}
	e, err := Open(ctx, opt.Settings)
	if err != nil {
		return nil, err
	}
	defer e.Close()
	e.Log = opt.Log
	if err := e.Prepare(ctx, opt.Warehouse, opt.Catalog, opt.KnownBy); err != nil {
		return nil, err
	}

	// Alerts compare with the latest stored result before D, or with D − 1
	// computed from the same data (SPEC §5.6). In a batch, an earlier date of
	// the batch is the result that will be stored before D.
	evalDates := append([]pipeline.Date(nil), dates...)
	type prevSource struct {
		d, prev pipeline.Date
		stored  bool
	}
	var prevs []prevSource
	for i, d := range dates {
		var p *pipeline.Date
		for _, x := range stored {
			if x < d && !slices.Contains(dates, x) {
				p = &x
			}
		}
		if i > 0 && (p == nil || dates[i-1] > *p) {
			prevs = append(prevs, prevSource{d: d, prev: dates[i-1]})
			continue
		}
		if p != nil {
			prevs = append(prevs, prevSource{d: d, prev: *p, stored: true})
			continue
		}
		prevs = append(prevs, prevSource{d: d, prev: d - 1})
		if _, ok := opt.Catalog.InForce(d - 1); ok {
			evalDates = append(evalDates, d-1)
		}
	}
	if err := e.Evaluate(ctx, opt.Catalog, slices.Compact(slices.Sorted(slices.Values(evalDates)))); err != nil {
		return nil, err
	}
	if err := e.Exec(ctx, `CREATE OR REPLACE TEMP TABLE prev_renewal (d DATE, org_id VARCHAR, status VARCHAR);
		CREATE OR REPLACE TEMP TABLE out_dates (d DATE);`); err != nil {
		return nil, err
	}
	for _, p := range prevs {
		if err := e.Exec(ctx, "INSERT INTO out_dates VALUES (?)", p.d.Time()); err != nil {
			return nil, err
		}
		q := `INSERT INTO prev_renewal SELECT ?, o.org_id, CASE WHEN r.membership_level IS NULL THEN 'not_member' ELSE r.status END
			FROM renewal r JOIN orgs o USING (org_no) WHERE r.d = ?`
		arg := any(p.prev.Time())
		if p.stored {
			q = `INSERT INTO prev_renewal SELECT ?, org_id, CASE WHEN membership_level IS NULL THEN 'not_member' ELSE status END
				FROM read_parquet(?)`
			arg = ResultPath(opt.Warehouse, "renewal_risk", p.prev)
		}
		if err := e.Exec(ctx, q, p.d.Time(), arg); err != nil {
			return nil, fmt.Errorf("previous statuses: %w", err)
		}
	}
	if err := e.Run(ctx, "results.sql"); err != nil {
		return nil, err
	}
	out := map[pipeline.Date]map[string]int64{}
	for _, d := range dates {
		var rows map[string]int64
		if err := e.timed("write", func() (err error) {
			rows, err = e.WriteResults(ctx, opt.Warehouse, d)
			return err
		}); err != nil {
			return nil, err
		}
		v, _ := opt.Catalog.InForce(d)
		m := Marker{AsOf: d.String(), RunID: opt.RunID, CatalogVersion: v.Version, Rows: rows, At: opt.Now().UTC()}
		if opt.KnownBy != nil {
			m.KnownBy = opt.KnownBy.String()
		}
		b, _ := json.MarshalIndent(m, "", "  ")
		if err := pipeline.WriteFileAtomic(MarkerPath(opt.Warehouse, d), append(b, '\n')); err != nil {
			return nil, err
		}
		out[d] = rows
	}
	return out, nil
}

// Prepare loads the landed data and the catalog, and restates the feeds.
func (e *Engine) Prepare(ctx context.Context, warehouse string, c *pipeline.Catalog, knownBy *pipeline.Date) error {
	if err := e.Run(ctx, "calendar.sql"); err != nil {
		return err
	}
	if err := e.timed("load", func() error {
		if err := e.LoadLanded(ctx, warehouse, knownBy); err != nil {
			return err
		}
		return e.LoadCatalog(ctx, c)
	}); err != nil {
		return err
	}
	for _, f := range []string{"restate.sql", "fx.sql"} {
		if err := e.Run(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// Evaluate runs the rules for the as-of dates, many at a time: levels, lapses,
// memberships and causes for every organization at every date.
func (e *Engine) Evaluate(ctx context.Context, c *pipeline.Catalog, dates []pipeline.Date) error {
	if err := e.Exec(ctx, "CREATE OR REPLACE TEMP TABLE eval_dates (d DATE, version VARCHAR)"); err != nil {
		return err
	}
	for _, d := range dates {
		v, ok := c.InForce(d)
		if !ok {
			continue
		}
		if err := e.Exec(ctx, "INSERT INTO eval_dates VALUES (?, ?)", d.Time(), v.Version); err != nil {
			return err
		}
	}
	for _, f := range []string{"points.sql", "people.sql", "timelines.sql", "requirements.sql", "levels.sql", "renewal.sql"} {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := e.Run(ctx, f); err != nil {
			return err
		}
	}
	return nil
}

// WriteResults writes each result table of asOf to its Parquet file and returns
// the rows written per table.
func (e *Engine) WriteResults(ctx context.Context, warehouse string, asOf pipeline.Date) (map[string]int64, error) {
	if err := e.Exec(ctx, `CREATE OR REPLACE TEMP TABLE res_compute_quarantine AS
		SELECT CAST(? AS DATE) AS as_of, feed, file, line, "column", reason FROM compute_quarantine`, asOf.Time()); err != nil {
		return nil, err
	}
	if err := e.Exec(ctx, `CREATE OR REPLACE TEMP TABLE res_data_quality AS
		SELECT CAST(? AS DATE) AS as_of, 'unknown_org' AS check_name, feed, rows FROM dq_unknown_orgs
		UNION ALL SELECT CAST(? AS DATE), 'fx_rate_missing', 'revenue', count(*) FROM compute_quarantine`, asOf.Time(), asOf.Time()); err != nil {
		return nil, err
	}
	rows := map[string]int64{}
	for _, t := range Tables {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		cols := strings.ReplaceAll(t.Columns, "supporting_competencies", "supporting AS supporting_competencies")
		where := fmt.Sprintf("as_of = DATE '%s'", asOf)
		q := fmt.Sprintf("SELECT %s FROM res_%s WHERE %s ORDER BY %s", cols, t.Name, where, t.OrderBy)
		if err := e.CopyTo(ctx, q, ResultPath(warehouse, t.Name, asOf)); err != nil {
			return nil, fmt.Errorf("write %s: %w", t.Name, err)
		}
		r, err := e.Query(ctx, "SELECT count(*) FROM res_"+t.Name+" WHERE "+where)
		if err != nil {
			return nil, err
		}
		rows[t.Name] = r[0][0].(int64)
	}
	return rows, nil
}
