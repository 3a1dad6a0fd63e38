package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"attain/duck"
	"attain/pipeline"
	"attain/render"
	"attain/sql"
	"attain/warehouse"
)

// TestTrendFromStoredResults: hand-made stored results (two month ends and the
// day before D) give the Trend's counts by level × status, the missing month
// ends, and the members whose status changed since the latest stored result,
// worst first (SPEC §6.3).
func TestTrendFromStoredResults(t *testing.T) {
	ctx := context.Background()
	wh := t.TempDir()
	eng, err := sql.Open(ctx, duck.Settings{MemoryLimit: "256MiB", Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer eng.Close()
	rows := func(values string) string {
		return "(SELECT * FROM (VALUES " + values + ") t(org_id, org_name, membership_level, status, cause))"
	}
	stored := map[string]string{
		"2026-08-31": rows("('o-1', 'One', 'silver', 'ok', NULL), ('o-2', 'Two', 'gold', 'at_risk', 'c2'), ('o-3', 'Three', NULL, 'not_member', NULL)"),
		"2026-09-30": rows("('o-1', 'One', 'silver', 'ok', NULL), ('o-2', 'Two', 'gold', 'lapsed', 'c2')"),
		"2026-10-30": rows("('o-1', 'One', 'silver', 'ok', NULL), ('o-2', 'Two', 'gold', 'lapsed', 'c2'), ('o-4', 'Four', 'silver', 'ok', NULL)"),
	}
	for d, q := range stored {
		path := warehouse.ResultPart(wh, "renewal_risk", pipeline.MustDate(d), pipeline.Shard{Index: 0, Count: 1})
		if _, err := eng.CopyTo(ctx, "SELECT * FROM "+q, path); err != nil {
			t.Fatal(err)
		}
		if err := os.MkdirAll(warehouse.MarkersDir(wh), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(warehouse.MarkersDir(wh), d+".json"), []byte(`{"as_of": "`+d+`", "shards": 1}`), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	tonight := rows("('o-1', 'One', 'silver', 'at_risk', 'c1'), ('o-2', 'Two', 'gold', 'lapsed', 'c2'), " +
		"('o-4', 'Four', 'silver', 'ok', NULL), ('o-5', 'Five', 'gold', 'ok', NULL)")
	var meta render.Meta
	e := &env{cfg: pipeline.Config{Warehouse: wh}}
	asOf := pipeline.MustDate(last)
	if err := trend(ctx, e, eng, asOf, warehouse.AsKnown, map[string]string{"renewal_risk": tonight}, &meta); err != nil {
		t.Fatal(err)
	}
	point := func(d, level, status string, n int64) render.TrendPoint {
		return render.TrendPoint{Date: pipeline.MustDate(d), Level: level, Status: status, Members: n}
	}
	wantTrend := []render.TrendPoint{
		point("2026-08-31", "gold", "at_risk", 1), point("2026-08-31", "silver", "ok", 1),
		point("2026-09-30", "gold", "lapsed", 1), point("2026-09-30", "silver", "ok", 1),
		point(last, "gold", "lapsed", 1), point(last, "gold", "ok", 1), point(last, "silver", "at_risk", 1), point(last, "silver", "ok", 1),
	}
	if !reflect.DeepEqual(meta.Trend, wantTrend) {
		t.Errorf("trend\n got %v\nwant %v", meta.Trend, wantTrend)
	}
	var missing []string
	for _, d := range meta.TrendMissing {
		missing = append(missing, d.String())
	}
	wantMissing := []string{"2025-10-31", "2025-11-30", "2025-12-31", "2026-01-31", "2026-02-28", "2026-03-31",
		"2026-04-30", "2026-05-31", "2026-06-30", "2026-07-31"}
	if !reflect.DeepEqual(missing, wantMissing) {
		t.Errorf("missing month ends %v, want %v", missing, wantMissing)
	}
	if meta.Previous == nil || meta.Previous.String() != "2026-10-30" {
		t.Fatalf("previous stored result %v, want 2026-10-30", meta.Previous)
	}
	wantChanges := []render.StatusChange{
		{OrgID: "o-1", OrgName: "One", Level: "silver", Previous: "ok", Status: "at_risk", Cause: "c1"},
		{OrgID: "o-5", OrgName: "Five", Level: "gold", Previous: "not_member", Status: "ok"},
	}
	if !reflect.DeepEqual(meta.Changes, wantChanges) {
		t.Errorf("changes\n got %s\nwant %s", fmt.Sprint(meta.Changes), fmt.Sprint(wantChanges))
	}
}
