package sql

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"attain/pipeline"
)

func TestZZProfile(t *testing.T) {
	wh := os.Getenv("ZZ_WH")
	if wh == "" {
		t.Skip()
	}
	ctx := context.Background()
	e, _ := Open(ctx, Settings{MemoryLimit: "2GiB", Threads: 2})
	cat, _ := pipeline.DefaultCatalog()
	d := pipeline.MustDate("2026-10-31")
	if err := e.Prepare(ctx, wh, cat, nil); err != nil {
		t.Fatal(err)
	}
	e.Exec(ctx, "CREATE OR REPLACE TEMP TABLE eval_dates (d DATE, version VARCHAR)")
	e.Exec(ctx, "INSERT INTO eval_dates VALUES (?, 'FY2018'), (?, 'FY2018')", d.Time(), (d - 1).Time())
	e.SetVar(ctx, "as_of", d.Time())
	for _, f := range []string{"points.sql", "people.sql", "timelines.sql", os.Getenv("ZZ_FILE")} {
		b, _ := files.ReadFile(f)
		if f == os.Getenv("ZZ_FILE") {
			b, _ = os.ReadFile(f)
		}
		for _, st := range strings.Split(string(b), ";\n") {
			if strings.TrimSpace(st) == "" {
				continue
			}
			start := time.Now()
			if err := e.Exec(ctx, st); err != nil {
				t.Fatal(err)
			}
			first := strings.SplitN(strings.TrimSpace(st), "AS", 2)[0]
			if i := strings.LastIndex(first, "\n"); i >= 0 {
				first = first[i:]
			}
			t.Logf("%v %s", time.Since(start).Round(time.Millisecond), first)
		}
	}
	rows, _ := e.Query(ctx, "SELECT count(*) FROM timelines")
	t.Log("timelines", rows)
	rows, _ = e.Query(ctx, "SELECT measure, count(*) FROM timelines GROUP BY ALL")
	t.Log(rows)
}
