package sql

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"attain/duck"
	"attain/ingest"
	"attain/pipeline"
	"attain/synth"
	"attain/warehouse"
)

var (
	genOnce    sync.Once
	genLanded  string // a warehouse with generated data landed, to copy
	genErr     error
	propAsOf   = pipeline.MustDate("2026-10-31")
	defaultCat *pipeline.Catalog
)

// TestMain loads the default catalog before any test reads it (parallel tests
// pass defaultCat on before they call landedGen), and removes the generated
// warehouse landedGen made, once every test is done.
func TestMain(m *testing.M) {
	var err error
	if defaultCat, err = pipeline.DefaultCatalog(); err != nil {
		fmt.Fprintln(os.Stderr, "default catalog:", err)
		os.Exit(1)
	}
	code := m.Run()
	if genLanded != "" {
		os.RemoveAll(filepath.Dir(genLanded))
	}
	os.Exit(code)
}

// landedGen lands a generated inbox once per test binary, its closed months
// compacted and split in 3 shards, and returns a fresh copy of the warehouse.
func landedGen(t testing.TB) string {
	t.Helper()
	genOnce.Do(func() {
		dir, err := os.MkdirTemp("", "attain-prop-")
		if err != nil {
			genErr = err
			return
		}
		in, wh := filepath.Join(dir, "inbox"), filepath.Join(dir, "wh")
		if genErr = synth.Generate(synth.Options{Out: in, Orgs: 60, From: pipeline.MustDate("2025-08-01"), To: propAsOf, Seed: 3}); genErr != nil {
			return
		}
		if _, genErr = ingest.Run(context.Background(), ingest.Options{Inbox: in, Warehouse: wh, AsOf: propAsOf, MaxBadFraction: 1, RunID: "gen", Workers: 2}); genErr != nil {
			return
		}
		// the closed months compacted and the split in 3 shards made once here,
		// not by every copy's first compute (each keeps what its data leaves as
		// it was; TestCompactedMonthsReadAsLanded makes them from nothing)
		var e *Engine
		if e, genErr = Open(context.Background(), testSettings); genErr != nil {
			return
		}
		defer e.Close()
		if _, genErr = e.Split(context.Background(), wh, 3, nil); genErr != nil {
			return
		}
		genLanded = wh
	})
	if genErr != nil {
		t.Fatal(genErr)
	}
	dst := t.TempDir()
	copyWarehouse(t, dst, genLanded)
	return dst
}

var (
	computedOnce sync.Once
	computedWh   string // landedGen's warehouse computed at propAsOf, to copy
)

// computedGen returns a fresh copy of landedGen's warehouse with propAsOf
// computed (the default catalog), computed once per test binary.
func computedGen(t testing.TB) string {
	t.Helper()
	computedOnce.Do(func() {
		landedGen(t)
		wh := filepath.Join(filepath.Dir(genLanded), "computed") // removed by TestMain
		copyWarehouse(t, wh, genLanded)
		compute(t, wh, propAsOf)
		computedWh = wh
	})
	if computedWh == "" {
		t.Fatal("the computed warehouse could not be made")
	}
	dst := t.TempDir()
	copyWarehouse(t, dst, computedWh)
	return dst
}

// copyWarehouse copies a warehouse keeping its files' modification times, by
// which a compute knows its compacted months and split units are up to date.
func copyWarehouse(t testing.TB, dst, src string) {
	t.Helper()
	if err := os.MkdirAll(dst, 0o755); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("cp", "-a", src+"/.", dst).CombinedOutput(); err != nil {
		t.Fatalf("cp -a %s %s: %v\n%s", src, dst, err, out)
	}
}

func compute(t testing.TB, wh string, d pipeline.Date) {
	t.Helper()
	computeWith(t, wh, d, defaultCat)
}

func computeWith(t testing.TB, wh string, d pipeline.Date, cat *pipeline.Catalog) {
	t.Helper()
	_, err := Compute(context.Background(), ComputeOptions{Warehouse: wh, Dates: []pipeline.Date{d}, Catalog: cat, Settings: testSettings,
		RunID: "prop", Now: func() time.Time { return d.End() }})
	if err != nil {
		t.Fatal(err)
	}
}

// rowsOf returns every result table of a date as sorted text rows.
func rowsOf(t testing.TB, wh string, d pipeline.Date) map[string][]string {
	t.Helper()
	e, err := Open(context.Background(), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	out := map[string][]string{}
	for _, table := range warehouse.Tables {
		files, err := warehouse.ResultFiles(wh, table.Name, d)
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no result files (%v)", table.Name, err)
		}
		rows, err := e.Query(context.Background(), "SELECT COLUMNS(*)::VARCHAR FROM "+duck.ReadFiles(files))
		if err != nil {
			t.Fatal(err)
		}
		// each file has the table's columns, and its rows in the order of the
		// table's key (ties in any order)
		for _, f := range files {
			cols, err := e.Query(context.Background(), "SELECT column_name FROM (DESCRIBE SELECT * FROM "+duck.ReadFiles([]string{f})+")")
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, c := range cols {
				names = append(names, c[0].(string))
			}
			if got, want := strings.Join(names, ", "), strings.ReplaceAll(table.Columns, `"`, ""); got != want {
				t.Errorf("%s: columns %s, want %s", f, got, want)
			}
			q := fmt.Sprintf(`WITH r AS (
				SELECT file_row_number AS n, dense_rank() OVER (ORDER BY %s) AS k
				FROM read_parquet(%s, file_row_number = true, hive_partitioning = false))
				SELECT count(*) FROM (SELECT k, lag(k) OVER (ORDER BY n) AS before FROM r) WHERE k < before`,
				table.OrderBy, duck.Quote(duck.GlobEscaped([]string{f})[0]))
			out, err := e.Query(context.Background(), q)
			if err != nil {
				t.Fatal(err)
			}
			if n := out[0][0].(int64); n > 0 {
				t.Errorf("%s: %d rows out of the order of %s", f, n, table.OrderBy)
			}
		}
		for _, r := range rows {
			out[table.Name] = append(out[table.Name], fmt.Sprint(r...))
		}
		sort.Strings(out[table.Name])
	}
	return out
}

func TestPropertiesOnGeneratedData(t *testing.T) {
	t.Parallel()
	wh := computedGen(t)
	first := rowsOf(t, wh, propAsOf)
	if len(first["attainment"]) == 0 || len(first["renewal_risk"]) == 0 {
		t.Fatalf("generated data attains nothing: %d attainment rows", len(first["attainment"]))
	}

	t.Run("lapses_on is after the as-of date", func(t *testing.T) {
		e, _ := Open(context.Background(), testSettings)
		defer e.Close()
		for _, table := range []string{"attainment", "requirements", "renewal_risk"} {
			files, _ := warehouse.ResultFiles(wh, table, propAsOf)
			rows, err := e.Query(context.Background(), "SELECT count(*) FROM "+duck.ReadFiles(files)+" WHERE lapses_on <= as_of")
			if err != nil {
				t.Fatal(err)
			}
			if n := rows[0][0].(int64); n > 0 {
				t.Errorf("%s: %d rows lapse on or before the as-of date", table, n)
			}
		}
	})

	t.Run("gold implies silver", func(t *testing.T) {
		e, err := Open(context.Background(), testSettings)
		if err != nil {
			t.Fatal(err)
		}
		defer e.Close()
		ctx := context.Background()
		if err := e.Prepare(ctx, wh, defaultCat, nil); err != nil {
			t.Fatal(err)
		}
		if err := e.Evaluate(ctx, defaultCat, []pipeline.Date{propAsOf}); err != nil {
			t.Fatal(err)
		}
		rows, err := e.Query(ctx, `SELECT count(*) FILTER (WHERE s.org_no IS NULL OR coalesce(s.lapses_on, forever()) < coalesce(g.lapses_on, forever())),
			count(*) FROM level_eval g LEFT JOIN level_eval s ON s.org_no = g.org_no AND s.d = g.d AND s.version = g.version
			AND s.competency_id = g.competency_id AND s.rank = 1 WHERE g.rank = 2`)
		if err != nil {
			t.Fatal(err)
		}
		if bad, all := rows[0][0].(int64), rows[0][1].(int64); bad > 0 || all == 0 {
			t.Errorf("%d of %d gold attainments lack silver or lose it first", bad, all)
		}
	})

	t.Run("recomputing gives identical rows", func(t *testing.T) {
		compute(t, wh, propAsOf)
		if again := rowsOf(t, wh, propAsOf); !reflect.DeepEqual(first, again) {
			t.Error(diffTables(first, again))
		}
	})

	t.Run("computing D after D+1 changes nothing", func(t *testing.T) {
		other := landedGen(t)
		compute(t, other, propAsOf+1)
		compute(t, other, propAsOf)
		if got := rowsOf(t, other, propAsOf); !reflect.DeepEqual(first, got) {
			t.Error(diffTables(first, got))
		}
	})
}

func diffTables(a, b map[string][]string) string {
	var out []string
	for k := range a {
		if !reflect.DeepEqual(a[k], b[k]) {
			first := ""
			for i := range max(len(a[k]), len(b[k])) {
				if i >= len(a[k]) || i >= len(b[k]) || a[k][i] != b[k][i] {
					first = fmt.Sprintf(", first difference at row %d: %q vs %q", i, at(a[k], i), at(b[k], i))
					break
				}
			}
			out = append(out, fmt.Sprintf("%s: %d rows vs %d%s", k, len(a[k]), len(b[k]), first))
		}
	}
	return "tables differ: " + strings.Join(out, "; ")
}

func at(rows []string, i int) string {
	if i < len(rows) {
		return rows[i]
	}
	return "(none)"
}

// TestChangePointsGiveEveryDatesResults: an organization is evaluated only on
// the dates a change point of its own or of every organization reaches
// (changes.sql); every other date reads its latest evaluated one (SPEC §8:
// every input of the rules is a step function of time). Over three months of
// daily dates of the generated data (month ends, a catalog version taking
// effect, memberships renewing, ending their grace and lapsing, people moving,
// revenue leaving the window), in passes of 17 dates, every result table of
// every date equals evaluating every organization at every date in one pass.
// (Five months held as well, in 2/3 more time.)
func TestChangePointsGiveEveryDatesResults(t *testing.T) {
	t.Parallel()
	changePointsAgree(t, twoVersions(t, pipeline.MustDate("2026-09-15")), pipeline.MustDate("2026-08-01"))
}

// changePointsAgree computes every date from `from` to propAsOf with the catalog
// cat three ways (skipping to change points, every organization at every date, and
// as history read back) and compares every table of every date.
func changePointsAgree(t *testing.T, cat *pipeline.Catalog, from pipeline.Date) {
	var dates []pipeline.Date
	for d := from; d <= propAsOf; d++ {
		dates = append(dates, d)
	}
	var log bytes.Buffer
	skipping, every, history := landedGen(t), landedGen(t), landedGen(t)
	months := &HistoryPlan{Months: map[string][]pipeline.Date{}}
	for _, d := range dates {
		months.Months[pipeline.Month(d)] = append(months.Months[pipeline.Month(d)], d)
	}
	for _, c := range []struct {
		wh      string
		every   bool
		pass    int
		log     io.Writer
		history *HistoryPlan
	}{{skipping, false, 17, &log, nil}, {every, true, 0, io.Discard, nil}, {history, false, 13, io.Discard, months}} {
		_, err := Compute(context.Background(), ComputeOptions{Warehouse: c.wh, Dates: dates, Catalog: cat, Settings: testSettings,
			Pass: c.pass, EveryPoint: c.every, History: c.history, RunID: "prop", Now: func() time.Time { return propAsOf.End() },
			Log: slog.New(slog.NewJSONHandler(c.log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
		if err != nil {
			t.Fatal(err)
		}
	}
	// the skipping compute did skip: fewer points than organizations × dates
	var points, orgDates int64
	for _, line := range strings.Split(strings.TrimSpace(log.String()), "\n") {
		var rec struct {
			Msg               string `json:"msg"`
			Points            int64  `json:"points"`
			OrganizationDates int64  `json:"organization_dates"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err == nil && rec.Msg == "pass evaluated" {
			points += rec.Points
			orgDates += rec.OrganizationDates
		}
	}
	if points == 0 || points*2 > orgDates {
		t.Errorf("%d points evaluated for %d organization-dates: change points skip too little", points, orgDates)
	}
	var perDate int64 // the dates' requirements rows
	for _, d := range dates {
		b := rowsOf(t, every, d)
		perDate += int64(len(b["requirements"]))
		if a := rowsOf(t, skipping, d); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %s", d, diffTables(a, b))
		}
		// the history's intervals give every date's rows
		if h := storedRowsOf(t, history, d); !reflect.DeepEqual(h, b) {
			t.Errorf("%s, from the history: %s", d, diffTables(h, b))
		}
	}
	// and hold far fewer rows than the dates' tables
	var stored int64
	mm, err := warehouse.HistoryMonths(history, warehouse.Restated)
	if err != nil || len(mm) != len(months.Months) {
		t.Fatalf("%d months of history (%v)", len(mm), err)
	}
	for _, m := range mm {
		stored += m.Rows["requirements"]
	}
	if stored*5 > perDate {
		t.Errorf("history holds %d requirements rows for %d of the dates' tables: not intervals", stored, perDate)
	}
}

// storedRowsOf returns every result table of a stored date (nightly or
// history) as sorted text rows, read as reports read them.
func storedRowsOf(t testing.TB, wh string, d pipeline.Date) map[string][]string {
	t.Helper()
	ctx := context.Background()
	e, err := Open(ctx, testSettings)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	if err := warehouse.LoadReaders(ctx, e.Session); err != nil {
		t.Fatal(err)
	}
	st, err := warehouse.OpenStored(wh, d, warehouse.Restated.ReadOrder()...)
	if err != nil || st == nil {
		t.Fatalf("%s is not stored (%v)", d, err)
	}
	out := map[string][]string{}
	for _, table := range warehouse.Tables {
		from, err := st.Table(wh, table.Name)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := e.Query(ctx, "SELECT COLUMNS(*)::VARCHAR FROM "+from)
		if err != nil {
			t.Fatalf("%s: %v", table.Name, err)
		}
		for _, r := range rows {
			out[table.Name] = append(out[table.Name], fmt.Sprint(r...))
		}
		sort.Strings(out[table.Name])
	}
	return out
}

// twoVersions is the default catalog and a second version in force from
// effective, its minimums one higher.
func twoVersions(t *testing.T, effective pipeline.Date) *pipeline.Catalog {
	t.Helper()
	b, err := os.ReadFile("../pipeline/catalog/fy2018.yaml")
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(string(b), "version: FY2018", "version: FY2027", 1)
	next = strings.Replace(next, "effective_from: 2017-07-01", "effective_from: "+effective.String(), 1)
	next = regexp.MustCompile(`min: (\d+)`).ReplaceAllStringFunc(next, func(m string) string {
		n, _ := strconv.Atoi(strings.TrimPrefix(m, "min: "))
		return fmt.Sprintf("min: %d", n+1)
	})
	dir := t.TempDir()
	for name, body := range map[string]string{"fy2018.yaml": string(b), "fy2027.yaml": next} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cat, err := pipeline.LoadCatalog(dir)
	if err != nil {
		t.Fatal(err)
	}
	if v, _ := cat.InForce(effective); v.Version != "FY2027" {
		t.Fatalf("in force at %s: %s", effective, v.Version)
	}
	return cat
}

// TestAlertsCompareWithTheLatestStoredResult: once a result is stored, the next
// date's alerts compare with it, not with D − 1 (SPEC §5.6).
func TestAlertsCompareWithTheLatestStoredResult(t *testing.T) {
	wh := computeCase(t, "testdata/rules/membership", nil)
	d := caseDate(t, "testdata/rules/membership")
	// A later date: g-alert was lapsed in the stored result, so no new alert.
	cat, _ := pipeline.LoadCatalog("testdata/rules/membership/catalog.yaml")
	_, err := Compute(context.Background(), ComputeOptions{Warehouse: wh, Dates: []pipeline.Date{d + 7}, Catalog: cat, Settings: testSettings})
	if err != nil {
		t.Fatal(err)
	}
	rows := rowsOf(t, wh, d+7)
	for _, r := range rows["alerts"] {
		t.Errorf("alert a week later: %s", r)
	}
}

// TestBatchEqualsNightly: dates computed together (a backfill's spine) give, for
// each date, the rows that computing the dates one night after another gives.
func TestBatchEqualsNightly(t *testing.T) {
	t.Parallel()
	dates := []pipeline.Date{propAsOf - 9, propAsOf - 2, propAsOf - 1, propAsOf}
	batch := landedGen(t)
	_, err := Compute(context.Background(), ComputeOptions{Warehouse: batch, Dates: dates, Catalog: defaultCat, Settings: testSettings,
		RunID: "prop", Now: func() time.Time { return propAsOf.End() }})
	if err != nil {
		t.Fatal(err)
	}
	nightly := landedGen(t)
	for _, d := range dates {
		_, err := Compute(context.Background(), ComputeOptions{Warehouse: nightly, Dates: []pipeline.Date{d}, Catalog: defaultCat,
			Settings: testSettings, RunID: "prop", Now: func() time.Time { return propAsOf.End() }})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, d := range dates {
		if a, b := rowsOf(t, batch, d), rowsOf(t, nightly, d); !reflect.DeepEqual(a, b) {
			t.Errorf("%s: %s", d, diffTables(a, b))
		}
	}
}

// TestShardsGiveTheSameResults: computed in 1 or 3 shards, every result table
// has the same rows (SPEC §7.1). The generated data restates transactions to
// other organizations and moves individuals between organizations, which land
// in other shards.
func TestShardsGiveTheSameResults(t *testing.T) {
	t.Parallel()
	e, err := Open(context.Background(), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	wh := landedGen(t)
	landQualityCases(t, wh)
	if _, err := e.LoadLanded(context.Background(), wh, nil); err != nil {
		t.Fatal(err)
	}
	// The data has what crosses shards: a transaction restated to another
	// organization, an individual associated with organizations of two shards.
	for what, q := range map[string]string{
		"moved transactions": `SELECT count(*) FROM (SELECT transaction_id FROM landed_revenue GROUP BY ALL HAVING count(DISTINCT org_id) > 1)`,
		"individuals in two shards of 3": `SELECT count(*) FROM (SELECT individual_id FROM landed_associations WHERE org_id IS NOT NULL
			GROUP BY ALL HAVING count(DISTINCT hash(org_id) % 3) > 1)`,
		// the data-quality counts, which each shard counts for its organizations
		"unknown organizations in two shards of 3": `SELECT (count(DISTINCT hash(org_id) % 3) > 1)::BIGINT FROM (
			SELECT org_id FROM landed_revenue UNION ALL SELECT org_id FROM landed_associations)
			WHERE org_id IS NOT NULL AND org_id NOT IN (SELECT org_id FROM landed_organizations)`,
		"revenue rows without a rate": `SELECT count(*) FROM landed_revenue r WHERE currency <> 'USD' AND NOT EXISTS (
			SELECT 1 FROM landed_fx_rates f WHERE f.currency = r.currency AND f.month = date_trunc('month', r.booked_on))`,
	} {
		rows, err := e.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		if rows[0][0].(int64) == 0 {
			t.Fatalf("the generated data has no %s", what)
		}
	}
	known := propAsOf - 20 // mid-month: the split of its month leaves out later deliveries
	for _, tc := range []struct {
		name    string
		dates   []pipeline.Date
		knownBy *pipeline.Date
	}{{"all landed data", []pipeline.Date{propAsOf - 1, propAsOf}, nil}, {"as known", []pipeline.Date{known}, &known}} {
		t.Run(tc.name, func(t *testing.T) { shardsAgree(t, defaultCat, tc.dates, tc.knownBy, 0, 1, 3) })
	}
}

// landQualityCases lands, into a warehouse of generated data, rows the
// data-quality counts count, of organizations of several shards: revenue and
// an association naming organizations the organizations feed does not hold,
// and revenue in a currency without a rate.
func landQualityCases(t *testing.T, wh string) {
	t.Helper()
	in := t.TempDir()
	day := "2026-10-05"
	revenue := "transaction_id,org_id,customer_id,product,amount,currency,booked_on,attribution\n"
	for i := range 6 {
		revenue += fmt.Sprintf("T-X-%d,ORG-X%02d,C-X,AZURE,100.00,USD,2026-10-01,\n", i, i)
	}
	revenue += "T-X-XTS,ORG-000001,C-000001-0001,AZURE,100.00,XTS,2026-10-01,\nT-X-XTS2,ORG-000007,C-000007-0001,AZURE,5.00,XTS,2026-09-30,\n"
	associations := "individual_id,org_id,event,event_at\nIND-X1,ORG-X03,associate,2026-10-04T10:00:00Z\nIND-X2,ORG-X04,associate,2026-10-04T10:00:00Z\n"
	for name, body := range map[string]string{"revenue_" + day + ".csv": revenue, "associations_" + day + ".csv": associations} {
		if err := os.WriteFile(filepath.Join(in, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := ingest.Run(context.Background(), ingest.Options{Inbox: in, Warehouse: wh, AsOf: propAsOf, MaxBadFraction: 1, RunID: "quality", Workers: 2}); err != nil {
		t.Fatal(err)
	}
}

// shardsAgree computes the dates in each number of shards and compares the rows.
// A count of 0 is the reference: one shard from every landed row restated in
// the session (FromLanded), with no split.
func shardsAgree(t *testing.T, cat *pipeline.Catalog, dates []pipeline.Date, knownBy *pipeline.Date, counts ...int) {
	var want map[pipeline.Date]map[string][]string
	for _, count := range counts {
		wh := landedGen(t)
		landQualityCases(t, wh)
		shards := max(count, 1)
		c, err := Compute(context.Background(), ComputeOptions{Warehouse: wh, Dates: dates, Catalog: cat, Settings: testSettings,
			KnownBy: knownBy, Shards: shards, FromLanded: count == 0, RunID: "prop", Now: func() time.Time { return propAsOf.End() }})
		if err != nil {
			t.Fatal(err)
		}
		got := map[pipeline.Date]map[string][]string{}
		for _, d := range dates {
			got[d] = rowsOf(t, wh, d)
			m, err := warehouse.ReadMarker(wh, d)
			if err != nil || m == nil || m.Shards != shards {
				t.Fatalf("%d shards: marker of %s: %+v, %v", shards, d, m, err)
			}
			if !reflect.DeepEqual(c.Rows[d], m.Rows) || len(c.Complete) != len(dates) {
				t.Errorf("%d shards: compute says rows %v and %d dates complete, the marker %v", shards, c.Rows[d], len(c.Complete), m.Rows)
			}
			if files, _ := warehouse.ResultFiles(wh, "attainment", d); len(files) != shards {
				t.Errorf("%d shards: %d attainment files", shards, len(files))
			}
		}
		if want == nil {
			want = got
			continue
		}
		for _, d := range dates {
			if !reflect.DeepEqual(want[d], got[d]) {
				t.Errorf("%d shards, %s: %s", shards, d, diffTables(want[d], got[d]))
			}
		}
	}
}

// TestGlobCharactersInPaths: a warehouse whose path holds glob characters
// ([1], *) is read as it is, not as a pattern that matches its neighbours.
func TestGlobCharactersInPaths(t *testing.T) {
	t.Parallel()
	want := rowsOf(t, computedGen(t), propAsOf)
	for _, name := range []string{"wh[1]*"} { // a class and a star
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			// neighbours the pattern would match, wh1 and wh1OTHER: the same
			// files, but other organization names
			for _, decoy := range []string{"wh1", "wh1OTHER"} {
				dir := filepath.Join(parent, decoy)
				copyWarehouse(t, dir, landedGen(t))
				e := testEngine(t)
				files, _ := warehouse.LandedPaths(filepath.Join(dir, "landed", "organizations"))
				for _, f := range files {
					q := fmt.Sprintf("COPY (SELECT * REPLACE ('decoy' AS org_name) FROM read_parquet('%s')) TO '%s.x' (FORMAT parquet)", f, f)
					if err := e.Exec(context.Background(), q); err != nil {
						t.Fatal(err)
					}
					os.Rename(f+".x", f)
				}
			}
			wh := filepath.Join(parent, name)
			copyWarehouse(t, wh, landedGen(t))
			compute(t, wh, propAsOf)
			if got := rowsOf(t, wh, propAsOf); !reflect.DeepEqual(got, want) {
				t.Error(diffTables(want, got))
			}
		})
	}
}

// TestKeyPeopleAreTheRulesWithoutThem: SPEC §5.8 is the rules of §5 with one
// individual not counting at D or after, so its rows can be checked by doing just
// that: for some key people and some who are not, a delivery that disassociates the
// individual during D is landed, D is computed again, and the member's status and
// lapses_on must be what key_people said (for a key person) or no worse than now.
func TestKeyPeopleAreTheRulesWithoutThem(t *testing.T) {
	t.Parallel()
	keyPeopleAgree(t, defaultCat, 2, 2)
}

// keyPeopleAgree: with the catalog cat, a few key people and members' other
// counting individuals each leave at D; a member's status and lapses_on are then
// what key_people said (a key person), or no worse (another). The data must hold
// minKeys key people; up to others other individuals are tried.
func keyPeopleAgree(t *testing.T, cat *pipeline.Catalog, minKeys, tryOthers int) {
	var base string
	if cat == defaultCat {
		base = computedGen(t)
	} else {
		base = landedGen(t)
		computeWith(t, base, propAsOf, cat)
	}
	e := testEngine(t)
	ctx := context.Background()
	read := func(wh, table string) string {
		files, err := warehouse.ResultFiles(wh, table, propAsOf)
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no result files (%v)", table, err)
		}
		return duck.ReadFiles(files)
	}
	// key people, and as many members' counting individuals who are not
	rows, err := e.Query(ctx, `
		(SELECT org_id, individual_id, status_if_leaves, coalesce(CAST(lapses_on_if_leaves AS VARCHAR), '') AS lapses, true AS key
		 FROM `+read(base, "key_people")+` ORDER BY org_id, individual_id LIMIT 3)
		UNION ALL
		(SELECT r.org_id, x.individual_id, r.status, coalesce(CAST(r.lapses_on AS VARCHAR), ''), false
		 FROM `+read(base, "renewal_risk")+` r
		 JOIN `+read(base, "expiring")+` x USING (org_id)
		 ANTI JOIN `+read(base, "key_people")+` k ON k.org_id = r.org_id AND k.individual_id = x.individual_id
		 WHERE r.status IN ('ok', 'at_risk') AND x.individual_id IS NOT NULL
		 GROUP BY ALL ORDER BY r.org_id, x.individual_id LIMIT `+strconv.Itoa(tryOthers)+`)`)
	if err != nil {
		t.Fatal(err)
	}
	var keys, others int
	for _, r := range rows {
		if r[4].(bool) {
			keys++
		} else {
			others++
		}
	}
	if keys < minKeys || others < 2 {
		t.Fatalf("generated data has %d key people and %d others to try; want %d and 2", keys, others, minKeys)
	}
	worse := map[string]int{"ok": 0, "at_risk": 1, "lapsed": 2}
	for _, r := range rows {
		org, ind, status, lapses, key := r[0].(string), r[1].(string), r[2].(string), r[3].(string), r[4].(bool)
		t.Run(org+"/"+ind, func(t *testing.T) {
			wh := t.TempDir()
			copyWarehouse(t, wh, base)
			in := t.TempDir()
			leave := fmt.Sprintf("individual_id,org_id,event,event_at\n%s,,disassociate,%sT12:00:00Z\n", ind, propAsOf)
			name := fmt.Sprintf("associations_%s_zz-leaves.csv", propAsOf)
			if err := os.WriteFile(filepath.Join(in, name), []byte(leave), 0o644); err != nil {
				t.Fatal(err)
			}
			if _, err := ingest.Run(ctx, ingest.Options{Inbox: in, Warehouse: wh, AsOf: propAsOf, MaxBadFraction: 0, RunID: "leave"}); err != nil {
				t.Fatal(err)
			}
			computeWith(t, wh, propAsOf, cat)
			got, err := e.Query(ctx, `SELECT status, coalesce(CAST(lapses_on AS VARCHAR), '') FROM `+read(wh, "renewal_risk")+` WHERE org_id = ?`, org)
			if err != nil || len(got) != 1 {
				t.Fatalf("renewal_risk of %s: %v %v", org, got, err)
			}
			gotStatus, gotLapses := got[0][0].(string), got[0][1].(string)
			if key && (gotStatus != status || gotLapses != lapses) {
				t.Errorf("without %s, %s is %s (lapses %q); key_people said %s (%q)", ind, org, gotStatus, gotLapses, status, lapses)
			}
			if !key && worse[gotStatus] > worse[status] {
				t.Errorf("without %s, %s is %s, worse than %s, but %s is not a key person", ind, org, gotStatus, status, ind)
			}
		})
	}
}

// TestKeptUnitsEqualAFreshSplit: a split whose earlier months are kept
// from an earlier night (their splits and the rows their deliveries
// supersede) gives the rows of a split made from nothing. The earlier night
// knows the data up to the end of February 2026; a later delivery (April's)
// restates a transaction of February to an organization of another shard. A
// compute as known by February again then leaves the later units as they are.
func TestKeptUnitsEqualAFreshSplit(t *testing.T) {
	t.Parallel()
	e, err := Open(context.Background(), testSettings)
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	wh := landedGen(t)
	restateLater(t, wh)
	if _, err := e.LoadLanded(context.Background(), wh, nil); err != nil {
		t.Fatal(err)
	}
	earlier := pipeline.MustDate("2026-02-28")
	rows, err := e.Query(context.Background(), fmt.Sprintf(`SELECT count(*) FROM (
		SELECT transaction_id FROM landed_revenue GROUP BY ALL
		HAVING min(delivery_date) <= DATE '%[1]s' AND max(delivery_date) > DATE '%[1]s' AND count(DISTINCT hash(org_id) %% 3) > 1)`, earlier))
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0].(int64) == 0 {
		t.Fatalf("the generated data restates no transaction of %s or before to another shard later", earlier)
	}
	run := func(wh string, shards int, knownBy *pipeline.Date, d pipeline.Date) {
		t.Helper()
		if _, err := Compute(context.Background(), ComputeOptions{Warehouse: wh, Dates: []pipeline.Date{d}, Catalog: defaultCat, Settings: testSettings,
			KnownBy: knownBy, Shards: max(shards, 1), FromLanded: shards == 0, RunID: "prop", Now: func() time.Time { return propAsOf.End() }}); err != nil {
			t.Fatal(err)
		}
	}
	run(wh, 3, &earlier, earlier)
	february := filepath.Join(warehouse.UnitSplitDir(wh, 3, "revenue"), "2026-02.superseded.parquet")
	before, err := os.Stat(february)
	if err != nil {
		t.Fatal(err)
	}
	run(wh, 3, nil, propAsOf)
	if after, err := os.Stat(february); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Fatalf("February's superseded rows were not kept (%v)", err)
	}
	// the same two nights from every landed row, restated in the session (the
	// alerts compare with the earlier night's stored result)
	fresh := landedGen(t)
	restateLater(t, fresh)
	run(fresh, 0, &earlier, earlier)
	run(fresh, 0, nil, propAsOf)
	if got, want := rowsOf(t, wh, propAsOf), rowsOf(t, fresh, propAsOf); !reflect.DeepEqual(got, want) {
		t.Errorf("kept units: %s", diffTables(want, got))
	}
	// a compute of what was known by February leaves the later units as they are
	last := filepath.Join(warehouse.UnitSplitDir(wh, 3, "revenue"), propAsOf.String()+".superseded.parquet")
	before, err = os.Stat(last)
	if err != nil {
		t.Fatal(err)
	}
	run(wh, 3, &earlier, earlier)
	if after, err := os.Stat(last); err != nil || !after.ModTime().Equal(before.ModTime()) {
		t.Errorf("a compute as known by %s removed or rewrote the unit of %s (%v)", earlier, propAsOf, err)
	}
}

// restateLater lands a delivery of 2026-04-10 that restates a transaction
// delivered in February 2026 to an organization of another of 3 shards.
func restateLater(t *testing.T, wh string) {
	t.Helper()
	ctx := context.Background()
	e := testEngine(t)
	if _, err := e.LoadLanded(ctx, wh, nil); err != nil {
		t.Fatal(err)
	}
	rows, err := e.Query(ctx, `SELECT concat_ws(',', r.transaction_id, o.org_id, r.customer_id, r.product, r.amount, r.currency, r.booked_on,
			coalesce(r.attribution, ''))
		FROM landed_revenue r JOIN landed_organizations o ON hash(o.org_id) % 3 <> hash(r.org_id) % 3
		WHERE r.delivery_date BETWEEN DATE '2026-02-01' AND DATE '2026-02-28' ORDER BY r.transaction_id, o.org_id LIMIT 1`)
	if err != nil || len(rows) != 1 {
		t.Fatalf("no transaction delivered in February 2026 to restate (%v)", err)
	}
	in := t.TempDir()
	body := "transaction_id,org_id,customer_id,product,amount,currency,booked_on,attribution\n" + rows[0][0].(string) + "\n"
	if err := os.WriteFile(filepath.Join(in, "revenue_2026-04-10_zz-restated.csv"), []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ingest.Run(ctx, ingest.Options{Inbox: in, Warehouse: wh, AsOf: propAsOf, MaxBadFraction: 0, RunID: "restated"}); err != nil {
		t.Fatal(err)
	}
}

// TestScoredCatalogProperties: the example scored catalog (SPEC §4.1) on generated
// data, where some organizations qualify and some do not, keeps the properties of
// the rules: results independent of the number of shards, change points and history
// giving every date's results, key people what the rules say without them.
func TestScoredCatalogProperties(t *testing.T) {
	t.Parallel()
	cat, err := pipeline.LoadCatalog("../examples/pcs-azure.yaml")
	if err != nil {
		t.Fatal(err)
	}
	wh := landedGen(t)
	computeWith(t, wh, propAsOf, cat)
	e := testEngine(t)
	read := func(table string) string {
		files, err := warehouse.ResultFiles(wh, table, propAsOf)
		if err != nil || len(files) == 0 {
			t.Fatalf("%s: no result files (%v)", table, err)
		}
		return duck.ReadFiles(files)
	}
	got, err := e.Query(context.Background(), `SELECT
		(SELECT count(*) FILTER (WHERE met) FROM `+read("requirements")+` WHERE metric = 'score'),
		(SELECT count(*) FILTER (WHERE NOT met) FROM `+read("requirements")+` WHERE metric = 'score'),
		(SELECT count(*) FILTER (WHERE status = 'ok') FROM `+read("renewal_risk")+`),
		(SELECT count(*) FILTER (WHERE status = 'lapsed') FROM `+read("renewal_risk")+`),
		(SELECT count(*) FROM `+read("key_people")+`)`)
	if err != nil {
		t.Fatal(err)
	}
	for i, what := range []string{"scores met", "scores not met", "ok members", "lapsed members", "key people"} {
		if got[0][i].(int64) == 0 {
			t.Fatalf("no %s (%v): the generated data does not exercise the catalog", what, got[0])
		}
	}
	// (the split is the required paths'; TestShardsGiveTheSameResults tries it more)
	t.Run("shards", func(t *testing.T) { shardsAgree(t, cat, []pipeline.Date{propAsOf}, nil, 0, 1, 3) })
	// (the second half of a month: the mechanism is the required paths', which
	// TestChangePointsGiveEveryDatesResults tries over months)
	t.Run("change points and history", func(t *testing.T) { changePointsAgree(t, cat, pipeline.MustDate("2026-10-15")) })
	// (60 organizations have one key person of a scored path; testdata/rules/scored
	// has eleven)
	t.Run("key people", func(t *testing.T) { keyPeopleAgree(t, cat, 1, 2) })
}

// TestKilledMonthSegmentsAreNotReused: a backfill killed while it wrote a
// pass's segments, a table at a time, left the first table's segment of its
// last pass and not the others'. The run after it, of the same generation,
// computes the month again from its first date; its history equals an
// uninterrupted backfill's (it once counted the month covered by that one
// table's file and merged the other tables without those dates).
func TestKilledMonthSegmentsAreNotReused(t *testing.T) {
	t.Parallel()
	month := "2026-10"
	var dates []pipeline.Date
	for d := pipeline.MustDate("2026-10-01"); d <= propAsOf; d++ {
		dates = append(dates, d)
	}
	backfill := func(wh string) {
		t.Helper()
		plan := &HistoryPlan{Months: map[string][]pipeline.Date{month: dates}, Prev: map[pipeline.Date]pipeline.Date{}}
		for i := 1; i < len(dates); i++ {
			plan.Prev[dates[i]] = dates[i-1]
		}
		if _, err := Compute(context.Background(), ComputeOptions{Warehouse: wh, Dates: dates, Catalog: defaultCat, Settings: testSettings,
			Pass: 7, History: plan, RunID: "prop", Now: func() time.Time { return propAsOf.End() }}); err != nil {
			t.Fatal(err)
		}
	}
	clean, killed := landedGen(t), landedGen(t)
	backfill(clean)
	backfill(killed)
	m, err := warehouse.ReadMonthMarker(killed, warehouse.Restated, month)
	if err != nil || m == nil {
		t.Fatalf("no marker of %s (%v)", month, err)
	}
	// What the kill left: the month not complete, and of its last pass
	// (29–31) the first table's segment only.
	s := pipeline.Shard{Index: 0, Count: 1}
	stale := filepath.Join(warehouse.HistorySegmentsDir(killed, warehouse.Restated, month, m.Gen, s), warehouse.Tables[0].Name, "2026-10-29_2026-10-31.parquet")
	if err := os.MkdirAll(filepath.Dir(stale), 0o755); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(warehouse.HistoryPart(killed, warehouse.Restated, warehouse.Tables[0].Name, month, s))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(stale, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(warehouse.HistoryMarkerPath(killed, warehouse.Restated, month)); err != nil {
		t.Fatal(err)
	}
	backfill(killed)
	if m2, _ := warehouse.ReadMonthMarker(killed, warehouse.Restated, month); m2 == nil || m2.Gen != m.Gen {
		t.Fatalf("the run after the kill computed another generation (%+v, was %s)", m2, m.Gen)
	}
	for _, d := range []pipeline.Date{pipeline.MustDate("2026-10-28"), pipeline.MustDate("2026-10-29"), propAsOf} {
		if a, b := storedRowsOf(t, killed, d), storedRowsOf(t, clean, d); !reflect.DeepEqual(a, b) {
			t.Errorf("%s after the kill: %s", d, diffTables(a, b))
		}
	}
}
