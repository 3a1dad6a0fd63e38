package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"attain/duck"
	"attain/ingest"
	"attain/pipeline"
	"attain/render"
	"attain/sql"
	"attain/warehouse"
)

// version is set at build time (make build); "dev" otherwise.
var version = "dev"

// reportCmd writes the workbook and CSV files of a date from its results (SPEC §6.2, §6.3).
type reportCmd struct{ asOf dateFlag }

func (c *reportCmd) flags(fs *flag.FlagSet, _ *pipeline.Config) {
	fs.Var(&c.asOf, "as-of", "the as-of date D (required)")
}

func (c *reportCmd) run(ctx context.Context, e *env) error {
	if !c.asOf.set {
		return fmt.Errorf("%w: report needs --as-of", pipeline.ErrUsage)
	}
	if err := checkWarehouse(e.cfg); err != nil {
		return err
	}
	// alone: two reports of one date would race for its files
	lock, err := acquire(e, "report")
	if err != nil {
		return err
	}
	defer lock.Release()
	_, err = runReport(ctx, e, c.asOf.d, nil)
	return err
}

// csvTables are the result tables published as CSV, in the order of SPEC §6.2.
var csvTables = []string{"attainment", "requirements", "renewal_risk", "alerts", "expiring", "profile", "key_people"}

// ReportDir is where a date's reports go.
func reportDir(cfg pipeline.Config, d pipeline.Date) string {
	return filepath.Join(cfg.Reports, d.String())
}

// workbookPath is a date's workbook, the last of its reports to be written.
func workbookPath(cfg pipeline.Config, d pipeline.Date) string {
	return filepath.Join(reportDir(cfg, d), "renewal-risk-"+d.String()+".xlsx")
}

// stagingDir makes the directory a date's reports are written in before they
// are published to final: beside it, named .<final>.<pid>.tmp. Staging
// directories a killed report left behind are removed first.
func stagingDir(final string) (string, error) {
	parent := filepath.Dir(final)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return "", err
	}
	entries, err := os.ReadDir(parent)
	if err != nil {
		return "", err
	}
	for _, en := range entries {
		if en.IsDir() && strings.HasPrefix(en.Name(), "."+filepath.Base(final)+".") && strings.HasSuffix(en.Name(), pipeline.TempSuffix) {
			os.RemoveAll(filepath.Join(parent, en.Name()))
		}
	}
	dir := pipeline.TempName(final, true)
	return dir, os.Mkdir(dir, 0o755)
}

// publishDir puts the staged directory in final's place: the earlier set is
// renamed aside, the new one renamed in, the earlier one removed. Between the
// two renames final is missing for an instant, never half written.
func publishDir(staged, final string) error {
	if err := pipeline.SyncDir(staged); err != nil {
		return err
	}
	old := pipeline.TempName(final+".old", false)
	os.RemoveAll(old)
	if err := os.Rename(final, old); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if err := os.Rename(staged, final); err != nil {
		os.Rename(old, final) // put the earlier set back
		return err
	}
	if err := pipeline.SyncDir(filepath.Dir(final)); err != nil {
		return err
	}
	return os.RemoveAll(old)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// runReport is the report stage, shared by report, run and backfill. It
// returns what the Summary sheet says. kind is the history the report reads
// first, for its date and the other dates it shows (SPEC §8): a backfill's
// own; nil, the kind of the date's stored result (a date's nightly results
// are --as-known, and a date stored only in one history is of that kind).
func runReport(ctx context.Context, e *env, asOf pipeline.Date, kind *warehouse.HistoryKind) (render.Meta, error) {
	meta, err := writeReports(ctx, e, asOf, kind)
	if err != nil {
		return meta, fmt.Errorf("report %s: %w", asOf, err)
	}
	return meta, nil
}

func writeReports(ctx context.Context, e *env, asOf pipeline.Date, kind *warehouse.HistoryKind) (render.Meta, error) {
	var none render.Meta
	start := time.Now()
	e.log.Info("stage start", "stage", "report", "as_of", asOf.String())
	prefer := warehouse.Restated
	if kind != nil {
		prefer = *kind
	}
	stored, err := warehouse.OpenStored(e.cfg.Warehouse, asOf, prefer.ReadOrder()...)
	if err != nil {
		return none, err
	}
	if stored == nil {
		return none, fmt.Errorf("no stored results for %s in %s: run attain compute --as-of %s (or attain backfill) first", asOf, e.cfg.Warehouse, asOf)
	}
	if stored.Month != nil && stored.Kind() != prefer {
		e.log.Info("the date is stored only in the "+stored.Kind().String()+" history; the reports read it",
			"as_of", asOf.String(), "history", stored.Kind().Dir())
	}
	if kind == nil {
		k := stored.Kind()
		kind = &k
	}
	marker := stored.Marker()
	// In file order: a result file of more than one row group read by two
	// threads would otherwise give its rows in any order, and the CSV files are
	// published byte for byte.
	s := settings(e.cfg)
	s.KeepOrder = true
	eng, err := sql.Open(ctx, s)
	if err != nil {
		return none, err
	}
	defer eng.Close()
	if err := warehouse.LoadReaders(ctx, eng.Session); err != nil {
		return none, err
	}
	// The date's files are written into a directory of their own and
	// published together (publishDir): a report stopped part-way, or by a full
	// disk, leaves the earlier set or none, never some of the files.
	final := reportDir(e.cfg, asOf)
	dir, err := stagingDir(final)
	if err != nil {
		return none, err
	}
	defer os.RemoveAll(dir) // gone once published; what a failure left
	// A part missing is an error, never a table short of rows.
	tables := map[string]string{} // table -> the SQL that reads its parts
	for _, t := range warehouse.Tables {
		from, err := stored.Table(e.cfg.Warehouse, t.Name)
		if err != nil && t.Name == "needs" {
			// results stored before attain wrote needs: the workbook leaves the
			// column empty rather than refuse the date
			e.log.Warn("stored results without needs: the Renewal risk sheet's needs column is empty; compute the date again to fill it",
				"as_of", asOf.String())
			tables[t.Name] = "(SELECT NULL::DATE AS as_of, NULL::VARCHAR AS org_id, NULL::VARCHAR AS needs WHERE false)"
			continue
		}
		if err != nil {
			return none, fmt.Errorf("%w: compute the date again (attain compute --as-of %s)", err, asOf)
		}
		tables[t.Name] = from
	}
	if err := names(ctx, e, eng, marker, tables); err != nil {
		return none, err
	}
	// each step's time at debug level (ATTAIN_DEBUG=1), as compute's
	lap := time.Now()
	step := func(name string) {
		e.log.Debug("report step", "step", name, "seconds", time.Since(lap).Seconds())
		lap = time.Now()
	}
	step("names")
	if err := countries(ctx, e, eng, asOf); err != nil {
		return none, err
	}
	step("countries")
	meta, err := reportMeta(ctx, e, eng, marker, *kind, tables)
	if err != nil {
		return none, err
	}
	step("summary figures")
	wb, err := render.NewWorkbook(meta)
	if err != nil {
		return none, err
	}
	defer wb.Close()
	// Each table is read once for its CSV file and its sheet together, except
	// renewal_risk, whose sheet lists the worst first.
	// The rows of a table's parts in the order of its key, whatever the
	// number of shards that wrote them.
	all := func(table string) string {
		return fmt.Sprintf("SELECT * FROM %s ORDER BY %s", tables[table], warehouse.TableOrder(table))
	}
	// The CSV files hold the tables as they are; the sheets add names beside the
	// ids (SPEC §6.3), so a sheet that adds columns reads its table again.
	for _, t := range []string{"renewal_risk", "key_people", "expiring", "profile"} {
		if err := writeCSV(ctx, eng, filepath.Join(dir, t+".csv"), all(t)); err != nil {
			return none, err
		}
	}
	// The sheets put the columns an analyst acts on first, with org_name beside
	// org_id and competency names beside ids (SPEC §6.3).
	orgFirst := []string{"org_id", "org_name"}
	sheets := []struct {
		name, table, query string
		csv                bool
		opt                render.SheetOptions
	}{
		// members worst first: lapsed, at_risk by lapses_on, ok by anniversary;
		// then eligible non-members (SPEC §6.3)
		{"Renewal risk", "renewal_risk", `SELECT r.*, c.country, n.needs,
			(SELECT string_agg(coalesce(cn.competency_name, x), '; ' ORDER BY x) FROM unnest(string_split(r.supporting_competencies, ';')) u(x)
			 LEFT JOIN competency_names cn ON cn.competency_id = x) AS competency_names,
			CASE WHEN r.membership_level IS NOT NULL THEN coalesce(k.n, 0) END AS key_people
			FROM ` + tables["renewal_risk"] + ` r
			LEFT JOIN org_countries c USING (org_id)
			LEFT JOIN ` + tables["needs"] + ` n USING (org_id)
			LEFT JOIN (SELECT org_id, count(*) AS n FROM ` + tables["key_people"] + ` GROUP BY org_id) k USING (org_id)
			ORDER BY CASE r.status WHEN 'lapsed' THEN 0 WHEN 'at_risk' THEN 1 WHEN 'ok' THEN 2 ELSE 3 END,
			CASE WHEN r.status = 'at_risk' THEN r.lapses_on END, r.anniversary_on NULLS LAST,
			CASE r.eligible_level WHEN 'gold' THEN 0 ELSE 1 END, r.org_id`, false,
			render.SheetOptions{Order: []string{"org_id", "org_name", "country", "membership_level", "status", "anniversary_on", "lapses_on",
				"cause", "needs", "competency_names", "key_people", "days_to_anniversary", "in_grace", "purchased_on",
				"upgrade_eligible", "eligible_level", "alert", "supporting_competencies"},
				Keep: 2, Slicers: []string{"status", "membership_level", "country", "competency_names"}}},
		{"Key people", "key_people", `SELECT k.*,
			(SELECT string_agg(coalesce(n.competency_name, c), '; ' ORDER BY c) FROM unnest(string_split(k.competencies, ';')) u(c)
			 LEFT JOIN competency_names n ON n.competency_id = c) AS competency_names
			FROM ` + tables["key_people"] + ` k ORDER BY ` + warehouse.TableOrder("key_people"), false,
			render.SheetOptions{Order: []string{"org_id", "org_name", "membership_level", "individual_id", "status_now", "status_if_leaves",
				"lapses_on_now", "lapses_on_if_leaves", "competency_names"}, Keep: 2}},
		{"Trend", "", "", false, render.SheetOptions{}},
		{"Alerts", "alerts", all("alerts"), true, render.SheetOptions{Order: orgFirst, Keep: 2}},
		{"Expiring", "expiring", `SELECT x.as_of, x.org_id, o.org_name, x.individual_id, x.competency_id, n.competency_name,
			x.kind, x.code, x.ends_on, x.days_left
			FROM ` + tables["expiring"] + ` x LEFT JOIN org_names o USING (org_id) LEFT JOIN competency_names n USING (competency_id)
			ORDER BY ` + prefixed("x", warehouse.TableOrder("expiring")), false, render.SheetOptions{Order: orgFirst, Keep: 2}},
		{"Attainment", "attainment", all("attainment"), true, render.SheetOptions{Order: orgFirst, Keep: 2}},
		{"Requirements", "requirements", "", false, render.SheetOptions{Order: orgFirst, Keep: 2}},
		{"Profile", "profile", `SELECT p.as_of, p.org_id, o.org_name, p.competency_id, n.competency_name, p.displayed_level
			FROM ` + tables["profile"] + ` p LEFT JOIN org_names o USING (org_id) LEFT JOIN competency_names n USING (competency_id)
			ORDER BY ` + prefixed("p", warehouse.TableOrder("profile")), false, render.SheetOptions{Order: orgFirst, Keep: 2}},
	}
	requirements := func() error {
		// Requirements is by far the largest table (every requirement of every
		// organization, 14 million rows at 400,000 organizations): it is read in
		// ranges of org_id of about a million rows, each sorted on its own, so that
		// a report's sort stays that size whatever the number of organizations (one
		// sort of the whole table peaked at 3 GB of RSS). SPEC §6.3: the sheet
		// holds the organizations on Renewal risk at their own level;
		// requirements.csv keeps every row.
		bounds, err := eng.RangeBounds(ctx, tables["requirements"], "org_id", marker.Rows["requirements"], 1_000_000)
		if err != nil {
			return fmt.Errorf("read requirements: %w", err)
		}
		var sheetQueries, csvQueries []string
		for i, where := range duck.Ranged("q.org_id", bounds) {
			sheetQueries = append(sheetQueries, `SELECT q.as_of, q.org_id, r.org_name, q.competency_id, n.competency_name,
				q.level, q.path, q.metric, q.value, q.min, q.met, q.lapses_on
				FROM `+tables["requirements"]+` q
				JOIN `+tables["renewal_risk"]+` r ON r.org_id = q.org_id AND q.level = coalesce(r.membership_level, r.eligible_level)
				LEFT JOIN competency_names n ON n.competency_id = q.competency_id
				WHERE `+where+` ORDER BY `+prefixed("q", warehouse.TableOrder("requirements")))
			csvQueries = append(csvQueries, `SELECT * FROM `+tables["requirements"]+` WHERE `+duck.Ranged("org_id", bounds)[i]+
				` ORDER BY `+warehouse.TableOrder("requirements"))
		}
		sheet, err := eng.ReadChain(ctx, sheetQueries)
		if err != nil {
			return fmt.Errorf("read requirements: %w", err)
		}
		_, err = wb.AddSheet("Requirements", sheet, render.SheetOptions{Order: []string{"org_id", "org_name"}, Keep: 2})
		sheet.Close()
		if err != nil {
			return fmt.Errorf("sheet Requirements: %w", err)
		}
		req, err := eng.ReadChain(ctx, csvQueries)
		if err != nil {
			return fmt.Errorf("read requirements: %w", err)
		}
		defer req.Close()
		if err := writeAtomic(filepath.Join(dir, "requirements.csv"), func(w io.Writer) error {
			_, err := render.WriteCSV(w, req)
			return err
		}); err != nil {
			return fmt.Errorf("requirements.csv: %w", err)
		}
		return nil
	}
	for _, s := range sheets {
		if s.name == "Trend" {
			if err := wb.AddTrend(); err != nil {
				return none, fmt.Errorf("sheet Trend: %w", err)
			}
			step("sheet Trend")
			continue
		}
		if s.table == "requirements" {
			if err := requirements(); err != nil {
				return none, err
			}
			step("sheet Requirements")
			continue
		}
		csv := ""
		if s.csv {
			csv = filepath.Join(dir, s.table+".csv")
		}
		if err := addSheet(ctx, eng, wb, s.name, s.table, s.query, csv, s.opt); err != nil {
			return none, err
		}
		step("sheet " + s.name)
	}
	xlsx := filepath.Join(dir, filepath.Base(workbookPath(e.cfg, asOf)))
	if err := writeAtomic(xlsx, func(w io.Writer) error { _, err := wb.WriteTo(w); return err }); err != nil {
		return none, fmt.Errorf("workbook: %w", err)
	}
	step("workbook")
	if err := publishDir(dir, final); err != nil {
		return none, err
	}
	e.log.Info("stage end", "stage", "report", "as_of", asOf.String(), "dir", final, "workbook", workbookPath(e.cfg, asOf),
		"duration", time.Since(start).Round(time.Millisecond).String())
	return meta, nil
}

// addSheet writes a result table's sheet from query over its parts and, unless
// csv is empty, its CSV file there from the same rows.
func addSheet(ctx context.Context, eng *sql.Engine, wb *render.Workbook, sheet, table, query, csv string, opt render.SheetOptions) error {
	rows, err := eng.ReadTable(ctx, query)
	if err != nil {
		return fmt.Errorf("read %s: %w", table, err)
	}
	defer rows.Close()
	if csv == "" {
		if _, err := wb.AddSheet(sheet, rows, opt); err != nil {
			return fmt.Errorf("sheet %s: %w", sheet, err)
		}
		return nil
	}
	err = writeAtomic(csv, func(w io.Writer) error {
		c, err := render.NewCSV(w, rows.Columns())
		if err != nil {
			return err
		}
		rows.Tee(c.Encode)
		if _, err := wb.AddSheet(sheet, rows, opt); err != nil {
			return fmt.Errorf("sheet %s: %w", sheet, err)
		}
		return c.Close()
	})
	if err != nil {
		return fmt.Errorf("%s.csv: %w", table, err)
	}
	return nil
}

// trend reads the stored results the Trend sheet and the Summary's line chart
// show (SPEC §6.3): members by level × status at each stored month end of the 13
// months up to D, and at D; the month ends not stored; and the members whose
// status differs from the latest stored result before D.
func trend(ctx context.Context, e *env, eng *sql.Engine, asOf pipeline.Date, kind warehouse.HistoryKind, tables map[string]string, meta *render.Meta) error {
	stored, err := warehouse.StoredDates(e.cfg.Warehouse)
	if err != nil {
		return err
	}
	read := func(d pipeline.Date) (string, error) {
		st, err := warehouse.OpenStored(e.cfg.Warehouse, d, kind.ReadOrder()...)
		if err != nil {
			return "", err
		}
		if st == nil {
			return "", fmt.Errorf("the stored result of %s is gone", d)
		}
		return st.Table(e.cfg.Warehouse, "renewal_risk")
	}
	have := map[pipeline.Date]bool{}
	var prev *pipeline.Date
	for _, d := range stored {
		have[d] = true
		if d < asOf {
			p := d
			prev = &p
		}
	}
	meta.TrendAsKnown = kind == warehouse.AsKnown
	var dates []pipeline.Date
	first := asOf.AddMonths(-13)
	for ms := first.MonthStart(); ; ms = ms.AddMonths(1) {
		m := ms.AddMonths(1).AddDays(-1) // the month's end
		if m >= asOf {
			break
		}
		if m <= first {
			continue
		}
		if have[m] {
			dates = append(dates, m)
		} else {
			meta.TrendMissing = append(meta.TrendMissing, m)
		}
	}
	counts := func(d pipeline.Date, from string) error {
		rows, err := eng.Query(ctx, `SELECT membership_level, status, count(*) FROM `+from+`
			WHERE membership_level IS NOT NULL GROUP BY ALL ORDER BY ALL`)
		if err != nil {
			return err
		}
		for _, r := range rows {
			meta.Trend = append(meta.Trend, render.TrendPoint{Date: d, Level: r[0].(string), Status: r[1].(string), Members: r[2].(int64)})
		}
		return nil
	}
	for _, d := range dates {
		from, err := read(d)
		if err != nil {
			return err
		}
		if err := counts(d, from); err != nil {
			return fmt.Errorf("trend %s: %w", d, err)
		}
	}
	if err := counts(asOf, tables["renewal_risk"]); err != nil {
		return err
	}
	if prev == nil {
		return nil
	}
	meta.Previous = prev
	prevFrom, err := read(*prev)
	if err != nil {
		return err
	}
	rows, err := eng.Query(ctx, `SELECT r.org_id, r.org_name, coalesce(r.membership_level, ''),
		CASE WHEN p.membership_level IS NULL THEN 'not_member' ELSE p.status END, r.status, coalesce(r.cause, '')
		FROM `+tables["renewal_risk"]+` r LEFT JOIN `+prevFrom+` p USING (org_id)
		WHERE r.membership_level IS NOT NULL
		  AND r.status IS DISTINCT FROM CASE WHEN p.membership_level IS NULL THEN 'not_member' ELSE p.status END
		ORDER BY CASE r.status WHEN 'lapsed' THEN 0 WHEN 'at_risk' THEN 1 ELSE 2 END, r.org_id`)
	if err != nil {
		return fmt.Errorf("changes since %s: %w", prev, err)
	}
	for _, r := range rows {
		meta.Changes = append(meta.Changes, render.StatusChange{OrgID: r[0].(string), OrgName: r[1].(string), Level: r[2].(string),
			Previous: r[3].(string), Status: r[4].(string), Cause: r[5].(string)})
	}
	return nil
}

// writeCSV writes a table's CSV file from a query.
func writeCSV(ctx context.Context, eng *sql.Engine, path, query string) error {
	rows, err := eng.ReadTable(ctx, query)
	if err != nil {
		return fmt.Errorf("read %s: %w", filepath.Base(path), err)
	}
	defer rows.Close()
	if err := writeAtomic(path, func(w io.Writer) error {
		_, err := render.WriteCSV(w, rows)
		return err
	}); err != nil {
		return fmt.Errorf("%s: %w", filepath.Base(path), err)
	}
	return nil
}

// prefixed qualifies each column of an ORDER BY list with a table alias.
func prefixed(alias, order string) string {
	cols := strings.Split(order, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

// names makes the tables org_names and competency_names the sheets join for
// the names beside the ids: organizations from the date's renewal_risk and
// attainment, competencies from the catalog version the date was computed with
// (from attainment when that version is not in the catalog any more).
func names(ctx context.Context, e *env, eng *sql.Engine, m *warehouse.Marker, tables map[string]string) error {
	if err := eng.Exec(ctx, `CREATE OR REPLACE TEMP TABLE org_names AS
		SELECT org_id, any_value(org_name) AS org_name FROM (
			SELECT org_id, org_name FROM `+tables["renewal_risk"]+`
			UNION ALL SELECT org_id, org_name FROM `+tables["attainment"]+`) GROUP BY org_id`); err != nil {
		return err
	}
	if err := eng.Exec(ctx, `CREATE OR REPLACE TEMP TABLE catalog_names (competency_id VARCHAR, competency_name VARCHAR)`); err != nil {
		return err
	}
	if cat, err := pipeline.LoadCatalog(e.cfg.Catalog); err == nil {
		for _, v := range cat.Versions {
			if v.Version != m.CatalogVersion {
				continue
			}
			for _, c := range v.Competencies {
				if err := eng.Exec(ctx, `INSERT INTO catalog_names VALUES (?, ?)`, c.ID, c.Name); err != nil {
					return err
				}
			}
		}
	}
	return eng.Exec(ctx, `CREATE OR REPLACE TEMP TABLE competency_names AS
		SELECT * FROM catalog_names
		UNION ALL
		SELECT competency_id, any_value(competency_name) FROM `+tables["attainment"]+`
		WHERE competency_id NOT IN (SELECT competency_id FROM catalog_names) GROUP BY ALL`)
}

// countries makes the table org_countries: each organization's country as the
// organizations feed knew it at asOf (the latest delivery), for the Renewal risk
// sheet.
func countries(ctx context.Context, e *env, eng *sql.Engine, asOf pipeline.Date) error {
	if _, err := eng.LoadLanded(ctx, e.cfg.Warehouse, &asOf); err != nil {
		return err
	}
	return eng.Exec(ctx, `CREATE OR REPLACE TEMP TABLE org_countries AS
		SELECT org_id, arg_max(country, delivery_date) AS country FROM landed_organizations GROUP BY org_id`)
}

// reportMeta gathers the Summary and About sheets' facts.
func reportMeta(ctx context.Context, e *env, eng *sql.Engine, m *warehouse.Marker, kind warehouse.HistoryKind, tables map[string]string) (render.Meta, error) {
	asOf := pipeline.MustDate(m.AsOf)
	var err error
	meta := render.Meta{AsOf: asOf, RunID: m.RunID, CatalogVersion: m.CatalogVersion, ProgramVersion: version}
	log, err := ingest.ReadLog(e.cfg.Warehouse)
	if err != nil {
		return meta, err
	}
	landed, rejected := ingest.Current(log)
	meta.FilesLanded, meta.FilesRejected = len(landed), len(rejected)
	byFeed := map[string]int64{}
	for _, l := range landed {
		meta.RowsQuarantined += l.RowsQuarantined
		byFeed[l.Feed] += l.RowsQuarantined
		meta.Inputs = append(meta.Inputs, render.Input{File: l.File, Feed: l.Feed, Status: "landed", SHA256: l.SHA256,
			Rows: l.RowsLanded, Quarantined: l.RowsQuarantined})
	}
	for _, r := range rejected {
		meta.Rejected = append(meta.Rejected, render.Rejection{File: r.File, Reason: r.Reason})
		meta.Inputs = append(meta.Inputs, render.Input{File: r.File, Feed: r.Feed, Status: "rejected", SHA256: r.SHA256, Reason: r.Reason})
	}
	for _, f := range pipeline.Feeds {
		if n := byFeed[f.Name]; n > 0 {
			meta.QuarantinedByFeed = append(meta.QuarantinedByFeed, render.FeedRows{Feed: f.Name, Rows: n})
		}
	}
	rows, err := eng.Query(ctx, `SELECT coalesce(membership_level, ''), status, count(*) FROM `+tables["renewal_risk"]+` GROUP BY ALL ORDER BY ALL`)
	if err != nil {
		return meta, err
	}
	for _, r := range rows {
		meta.Members = append(meta.Members, render.LevelStatus{Level: r[0].(string), Status: r[1].(string), Members: r[2].(int64)})
	}
	// by the competency the cause names, worst first (the chart's order too)
	rows, err = eng.Query(ctx, `SELECT c.competency, coalesce(any_value(n.competency_name), c.competency),
		count(*) FILTER (WHERE status = 'at_risk'), count(*) FILTER (WHERE status = 'lapsed')
		FROM (SELECT split_part(cause, ' ', 1) AS competency, status FROM `+tables["renewal_risk"]+` WHERE cause IS NOT NULL) c
		LEFT JOIN competency_names n ON n.competency_id = c.competency
		GROUP BY c.competency ORDER BY count(*) DESC, 2`)
	if err != nil {
		return meta, err
	}
	for _, r := range rows {
		meta.ByCompetency = append(meta.ByCompetency, render.CompetencyRisk{Competency: r[0].(string), Name: r[1].(string),
			AtRisk: r[2].(int64), Lapsed: r[3].(int64)})
	}
	if meta.Figures, err = figures(ctx, eng, tables["renewal_risk"], tables["key_people"]); err != nil {
		return meta, err
	}
	if err := monthEnd(ctx, e, eng, asOf, kind, &meta); err != nil {
		return meta, err
	}
	if meta.Act, err = actOnToday(ctx, eng, tables); err != nil {
		return meta, err
	}
	if err := trend(ctx, e, eng, asOf, kind, tables, &meta); err != nil {
		return meta, err
	}
	rows, err = eng.Query(ctx, `SELECT check_name, sum(rows)::BIGINT FROM `+tables["data_quality"]+` GROUP BY ALL`)
	if err != nil {
		return meta, err
	}
	for _, r := range rows {
		switch r[0] {
		case "fx_rate_missing":
			meta.RowsLeftOut = r[1].(int64)
		case "unknown_org":
			meta.UnknownOrgRows = r[1].(int64)
		}
	}
	return meta, nil
}

// figures counts the Summary's key figures (SPEC §6.3) from a date's renewal_risk
// and key_people.
func figures(ctx context.Context, eng *sql.Engine, renewal, keyPeople string) (render.Figures, error) {
	rows, err := eng.Query(ctx, `SELECT
		count(*) FILTER (WHERE membership_level = 'silver'),
		count(*) FILTER (WHERE membership_level = 'gold'),
		count(*) FILTER (WHERE membership_level IS NOT NULL AND status = 'lapsed'),
		count(*) FILTER (WHERE membership_level IS NOT NULL AND status = 'at_risk'),
		count(*) FILTER (WHERE membership_level IS NOT NULL AND status = 'ok'),
		count(*) FILTER (WHERE alert),
		count(*) FILTER (WHERE upgrade_eligible),
		count(*) FILTER (WHERE status = 'not_member'),
		count(*) FILTER (WHERE days_to_anniversary BETWEEN 0 AND 30),
		count(*) FILTER (WHERE days_to_anniversary BETWEEN 0 AND 30 AND status IN ('at_risk', 'lapsed')),
		count(*) FILTER (WHERE days_to_anniversary BETWEEN 0 AND 90),
		count(*) FILTER (WHERE days_to_anniversary BETWEEN 0 AND 90 AND status IN ('at_risk', 'lapsed')),
		(SELECT count(DISTINCT org_id) FROM `+keyPeople+`),
		(SELECT count(*) FROM (SELECT org_id FROM `+keyPeople+` GROUP BY org_id HAVING count(*) = 1))
		FROM `+renewal)
	if err != nil {
		return render.Figures{}, err
	}
	n := make([]int64, len(rows[0]))
	for i, v := range rows[0] {
		n[i] = v.(int64)
	}
	return render.Figures{Silver: n[0], Gold: n[1], Lapsed: n[2], AtRisk: n[3], OK: n[4], Alerts: n[5], UpgradeEligible: n[6],
		EligibleNonMembers: n[7], Anniversaries30: n[8], AtRisk30: n[9], Anniversaries90: n[10], AtRisk90: n[11],
		WithKeyPeople: n[12], OneKeyPerson: n[13]}, nil
}

// monthEnd gives the Summary the figures of the latest stored month end before
// asOf, to set today's beside (SPEC §6.3).
func monthEnd(ctx context.Context, e *env, eng *sql.Engine, asOf pipeline.Date, kind warehouse.HistoryKind, meta *render.Meta) error {
	stored, err := warehouse.StoredDates(e.cfg.Warehouse)
	if err != nil {
		return err
	}
	for i := len(stored) - 1; i >= 0; i-- {
		d := stored[i]
		if d >= asOf || d != d.AddDays(1).MonthStart().AddDays(-1) {
			continue
		}
		st, err := warehouse.OpenStored(e.cfg.Warehouse, d, kind.ReadOrder()...)
		if err != nil || st == nil {
			return fmt.Errorf("the stored result of %s: %v", d, err)
		}
		renewal, err := st.Table(e.cfg.Warehouse, "renewal_risk")
		if err != nil {
			return err
		}
		keyPeople, err := st.Table(e.cfg.Warehouse, "key_people")
		if err != nil {
			return err
		}
		f, err := figures(ctx, eng, renewal, keyPeople)
		if err != nil {
			return fmt.Errorf("figures of %s: %w", d, err)
		}
		meta.MonthEnd, meta.MonthEndFigures = &d, &f
		return nil
	}
	return nil
}

// actOnToday lists the members an analyst calls first (SPEC §6.3): today's
// alerts, the members whose level lapses within 30 days, the members in their
// grace window; worst first, ten of each.
func actOnToday(ctx context.Context, eng *sql.Engine, tables map[string]string) ([]render.ActList, error) {
	from := `(SELECT r.*, n.needs FROM ` + tables["renewal_risk"] + ` r LEFT JOIN ` + tables["needs"] + ` n USING (org_id)
		WHERE r.membership_level IS NOT NULL)`
	worst := `CASE status WHEN 'lapsed' THEN 0 WHEN 'at_risk' THEN 1 ELSE 2 END`
	lists := []struct {
		list         render.ActList
		when, on, by string
		text         string
	}{
		{render.ActList{Title: "Today's alerts", DateLabel: "Lapses on", TextLabel: "Cause", Sheet: "Alerts"},
			"alert", "lapses_on", worst + ", lapses_on NULLS FIRST, org_id", "cause"},
		{render.ActList{Title: "Lapsing within 30 days", DateLabel: "Lapses on", TextLabel: "Needs", Sheet: "Renewal risk"},
			"lapses_on <= as_of + 30", "lapses_on", "lapses_on, " + worst + ", org_id", "coalesce(needs, cause)"},
		{render.ActList{Title: "In their grace window", DateLabel: "Anniversary", TextLabel: "Needs", Sheet: "Renewal risk"},
			"in_grace", "anniversary_on", worst + ", anniversary_on, org_id", "coalesce(needs, cause)"},
	}
	var out []render.ActList
	for _, l := range lists {
		rows, err := eng.Query(ctx, `SELECT org_id, org_name, membership_level, status, `+l.on+`, coalesce(`+l.text+`, ''),
			count(*) OVER () FROM `+from+` WHERE `+l.when+` ORDER BY `+l.by+` LIMIT 10`)
		if err != nil {
			return nil, fmt.Errorf("act on today, %s: %w", l.list.Title, err)
		}
		for _, r := range rows {
			a := render.ActRow{OrgID: r[0].(string), OrgName: r[1].(string), Level: r[2].(string), Status: r[3].(string), Text: r[5].(string)}
			if t, ok := r[4].(time.Time); ok {
				a.On = pipeline.DateFromTime(t)
			}
			l.list.Rows = append(l.list.Rows, a)
			l.list.Total = r[6].(int64)
		}
		out = append(out, l.list)
	}
	return out, nil
}

// writeAtomic writes a report file so that it appears whole or not at all.
func writeAtomic(path string, write func(io.Writer) error) error {
	f, err := pipeline.CreateAtomic(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if err := write(f); err != nil {
		return err
	}
	return f.Commit()
}
