package sql

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"attain/ingest"
	"attain/pipeline"
	"attain/warehouse"
)

// TestDerivedStateFollowsItsSources: what a compute keeps of closed months (the
// compacted copies, each feed's units of deliveries with their key hashes, the
// rows each unit's deliveries supersede) is made again exactly where what it
// was made from changed. After each event, one after the other in one
// warehouse, a compute in 1 and in 3 shards that reads the kept state gives the
// results of a compute of a copy of the same landed files with no derived
// state at all, and the results of one from every landed row restated in the
// session (FromLanded).
func TestDerivedStateFollowsItsSources(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	wh := landedGen(t)
	run := func(wh string, shards int, cat *pipeline.Catalog) {
		t.Helper()
		if _, err := Compute(ctx, ComputeOptions{Warehouse: wh, Dates: []pipeline.Date{propAsOf}, Catalog: cat, Settings: testSettings,
			Shards: max(shards, 1), FromLanded: shards == 0, RunID: "derived", Now: func() time.Time { return propAsOf.End() }}); err != nil {
			t.Fatal(err)
		}
	}
	run(wh, 1, defaultCat)
	run(wh, 3, defaultCat)
	land := func(files map[string]string) {
		t.Helper()
		in := t.TempDir()
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(in, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := ingest.Run(ctx, ingest.Options{Inbox: in, Warehouse: wh, AsOf: propAsOf, MaxBadFraction: 0, RunID: "event", Workers: 1}); err != nil {
			t.Fatal(err)
		}
	}
	query := func(q string) [][]any {
		t.Helper()
		e := testEngine(t)
		if _, err := e.LoadLanded(ctx, wh, nil); err != nil {
			t.Fatal(err)
		}
		rows, err := e.Query(ctx, q)
		if err != nil || len(rows) == 0 {
			t.Fatalf("%s: %v (%d rows)", q, err, len(rows))
		}
		return rows
	}
	const revenueHeader = "transaction_id,org_id,customer_id,product,amount,currency,booked_on,attribution\n"
	revenueRow := `concat_ws(',', transaction_id, org_id, customer_id, product, %s, currency, booked_on, coalesce(attribution, ''))`
	// a landed revenue file of a closed month, by its path relative to the warehouse
	closedFile := func(month string) string {
		t.Helper()
		paths, err := filepath.Glob(filepath.Join(warehouse.LandedDir(wh, "revenue"), "delivery_date="+month+"-1*", "*.parquet"))
		if err != nil || len(paths) == 0 {
			t.Fatalf("no revenue landed in %s (%v)", month, err)
		}
		return paths[0]
	}
	events := []struct {
		name  string
		apply func()
		cat   *pipeline.Catalog
	}{
		{"a revenue row of 14 months back restated with a new amount", func() {
			r := query(fmt.Sprintf("SELECT "+revenueRow+" FROM landed_revenue WHERE delivery_date BETWEEN DATE '2025-08-01' AND DATE '2025-08-31' AND currency = 'USD' ORDER BY transaction_id LIMIT 1",
				"amount + 25000"))
			land(map[string]string{"revenue_2026-10-30_restated.csv": revenueHeader + r[0][0].(string) + "\n"})
		}, defaultCat},
		{"a late file for a closed month", func() {
			r := query("SELECT org_id FROM landed_organizations ORDER BY org_id LIMIT 1")
			land(map[string]string{"revenue_2026-01-20_late.csv": revenueHeader +
				fmt.Sprintf("T-LATE-1,%s,C-LATE,AZURE,40000.00,USD,2026-01-19,\n", r[0][0])})
		}, defaultCat},
		{"a file of a closed month delivered again with other rows", func() {
			src := query("SELECT source_file FROM landed_revenue WHERE source_file LIKE '%revenue_2026-02-1%' ORDER BY source_file LIMIT 1")[0][0].(string)
			r := query(fmt.Sprintf("SELECT "+revenueRow+" FROM landed_revenue WHERE source_file = '%s' ORDER BY source_line LIMIT 3", "amount * 2", src))
			body := revenueHeader
			for _, row := range r {
				body += row[0].(string) + "\n"
			}
			land(map[string]string{filepath.Base(src): body})
		}, defaultCat},
		{"a landed file removed", func() {
			if err := os.Remove(closedFile("2025-12")); err != nil {
				t.Fatal(err)
			}
		}, defaultCat},
		{"a derived month deleted", func() {
			for _, dir := range []string{warehouse.UnitSplitDir(wh, 1, "revenue"), warehouse.UnitSplitDir(wh, 3, "revenue")} {
				if err := os.RemoveAll(filepath.Join(dir, "2026-03")); err != nil {
					t.Fatal(err)
				}
			}
			if err := os.Remove(filepath.Join(warehouse.CompactedDir(wh, "revenue"), "2026-04.parquet")); err != nil {
				t.Fatal(err)
			}
		}, defaultCat},
		{"a catalog version changes", func() {}, twoVersions(t, pipeline.MustDate("2026-06-01"))},
		{"an FX rate of a closed month delivered again", func() {
			r := query("SELECT currency, strftime(month, '%Y-%m'), usd_per_unit FROM landed_fx_rates WHERE month = DATE '2026-02-01' AND currency <> 'USD' ORDER BY currency LIMIT 1")
			land(map[string]string{"fx_rates_2026-10-30.csv": fmt.Sprintf("currency,month,usd_per_unit\n%s,%s,%v\n", r[0][0], r[0][1], r[0][2].(float64)*3)})
		}, defaultCat},
	}
	for _, ev := range events {
		ev.apply()
		fresh := t.TempDir()
		copyWarehouse(t, fresh, wh)
		for _, dir := range []string{warehouse.ShardsDir(fresh), filepath.Dir(warehouse.CompactedDir(fresh, "revenue"))} {
			if err := os.RemoveAll(dir); err != nil {
				t.Fatal(err)
			}
		}
		run(fresh, 1, ev.cat)
		want := rowsOf(t, fresh, propAsOf)
		for _, shards := range []int{0, 1, 3} {
			run(wh, shards, ev.cat)
			if got := rowsOf(t, wh, propAsOf); !reflect.DeepEqual(got, want) {
				t.Errorf("after %s, %d shards: %s", ev.name, shards, diffTables(want, got))
			}
		}
	}
}
