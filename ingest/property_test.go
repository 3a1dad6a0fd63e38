package ingest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"attain/pipeline"
	"attain/synth"
)

// genInbox writes a small synthetic inbox with bad rows sprinkled in.
func genInbox(t testing.TB, orgs int, bad float64) string {
	t.Helper()
	dir := t.TempDir()
	err := synth.Generate(synth.Options{Out: dir, Orgs: orgs, From: pipeline.MustDate("2026-08-01"),
		To: pipeline.MustDate("2026-11-23"), Seed: 7, BadFraction: bad})
	if err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestAccounting: for every file, rows read = rows landed + rows quarantined,
// in the log and in the Parquet actually written (SPEC §3.3).
func TestAccounting(t *testing.T) {
	in := genInbox(t, 40, 0.02)
	wh := t.TempDir()
	sum, err := ingestOnce(t, in, wh, func(o *Options) { o.MaxBadFraction = 0.05 })
	if err != nil && !errors.Is(err, pipeline.ErrRejected) {
		t.Fatal(err)
	}
	if sum.Rejected == 0 || sum.Landed == 0 {
		t.Fatalf("want both landed and rejected files to test, got %d and %d", sum.Landed, sum.Rejected)
	}
	// Rows written per file, from the Parquet.
	written := map[string][2]int64{}
	for _, feed := range pipeline.Feeds {
		if m, _ := filepath.Glob(filepath.Join(wh, "landed", feed.Name, "*", "*.parquet")); len(m) > 0 {
			for _, r := range query(t, "SELECT source_file, count(*) FROM "+landedGlob(wh, feed.Name)+" GROUP BY ALL") {
				var n int64
				fmt.Sscan(r[1], &n)
				written[r[0]] = [2]int64{n, 0}
			}
		}
	}
	for _, r := range query(t, "SELECT file, count(*) FROM "+quarantined(wh)+" GROUP BY ALL") {
		var n int64
		fmt.Sscan(r[1], &n)
		w := written[r[0]]
		written[r[0]] = [2]int64{w[0], n}
	}
	files, _ := os.ReadDir(in)
	var read, bad int64
	for _, e := range sum.Entries {
		if e.RowsRead != e.RowsLanded+e.RowsQuarantined {
			t.Errorf("%s: read %d != landed %d + quarantined %d", e.File, e.RowsRead, e.RowsLanded, e.RowsQuarantined)
		}
		if got := written[e.File]; got != [2]int64{e.RowsLanded, e.RowsQuarantined} {
			t.Errorf("%s: Parquet holds %d landed, %d quarantined; log says %d, %d", e.File, got[0], got[1], e.RowsLanded, e.RowsQuarantined)
		}
		read += e.RowsRead
		bad += e.RowsQuarantined
	}
	// Every data line of the inbox was read: lines − header rows.
	var lines int64
	for _, f := range files {
		b, _ := os.ReadFile(filepath.Join(in, f.Name()))
		lines += int64(strings.Count(string(b), "\n")) - 1
	}
	if read != lines || len(sum.Entries) != len(files) {
		t.Errorf("read %d rows of %d files; the inbox has %d rows in %d files", read, len(sum.Entries), lines, len(files))
	}
	if bad == 0 {
		t.Error("no row was quarantined; the test data has no bad rows")
	}
}

// TestIdempotent: a second ingest of the same inbox lands nothing and leaves
// the warehouse as it was.
func TestIdempotent(t *testing.T) {
	in := genInbox(t, 10, 0)
	wh := t.TempDir()
	first, err := ingestOnce(t, in, wh)
	if err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, wh)
	second, err := ingestOnce(t, in, wh)
	if err != nil {
		t.Fatal(err)
	}
	if second.Landed != 0 || second.Skipped != first.Landed || len(second.Entries) != 0 {
		t.Errorf("second run landed %d, skipped %d (first landed %d), logged %d", second.Landed, second.Skipped, first.Landed, len(second.Entries))
	}
	if after := snapshot(t, wh); !reflect.DeepEqual(before, after) {
		t.Error("the second run changed the warehouse")
	}
	// A touched file with the same content is recognized by its SHA-256.
	name := first.Entries[0].File
	now := first.Entries[0].At.Add(3600e9)
	os.Chtimes(filepath.Join(in, name), now, now)
	third, err := ingestOnce(t, in, wh)
	if err != nil {
		t.Fatal(err)
	}
	if third.Landed != 0 || len(third.Entries) != 1 || third.Entries[0].Status != StatusUnchanged {
		t.Errorf("touched file: landed %d, entries %+v", third.Landed, third.Entries)
	}
}

// snapshot maps every file under dir (but the log) to its content.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() != LogFile && d.Name() != pipeline.LockFile {
			b, _ := os.ReadFile(p)
			rel, _ := filepath.Rel(dir, p)
			out[rel] = string(b)
		}
		return nil
	})
	return out
}

// TestRedelivery: a file of the same name with new content replaces the
// earlier landing; both are kept in the log.
func TestRedelivery(t *testing.T) {
	const h = "transaction_id,org_id,product,amount,currency,booked_on\n"
	in := inbox(t, map[string]string{"revenue_2026-11-20.csv": h + "t-1,o-1,AZURE,1,USD,2026-11-20\nt-2,o-1,AZURE,2,USD,2026-11-20\nt-3,o-1,AZURE,x,USD,2026-11-20\n"})
	wh := t.TempDir()
	if _, err := ingestOnce(t, in, wh); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(in, "revenue_2026-11-20.csv"), []byte(h+"t-1,o-1,AZURE,10,USD,2026-11-20\n"), 0o644)
	sum, err := ingestOnce(t, in, wh)
	if err != nil {
		t.Fatal(err)
	}
	if sum.Landed != 1 || sum.Entries[0].Replaces == "" {
		t.Fatalf("re-delivery: landed %d, entry %+v", sum.Landed, sum.Entries)
	}
	if got := query(t, "SELECT transaction_id, amount::VARCHAR FROM "+landedGlob(wh, "revenue")); !reflect.DeepEqual(got, [][]string{{"t-1", "10.0000"}}) {
		t.Errorf("landed after re-delivery: %v", got)
	}
	if m, _ := filepath.Glob(filepath.Join(wh, "quarantine", "*", "*", "*")); len(m) != 0 {
		t.Errorf("the old landing's quarantine is still there: %v", m)
	}
	log, _ := ReadLog(wh)
	if len(log) != 2 || log[0].SHA256 != log[1].Replaces {
		t.Errorf("log keeps both deliveries: %+v", log)
	}
}

// TestInterruptedLanding: a crash at any point of a landing leaves no partial
// or duplicated rows; the next run finishes with what an uninterrupted run
// gives.
func TestInterruptedLanding(t *testing.T) {
	in := genInbox(t, 15, 0.01)
	clean := t.TempDir()
	ingestOnce(t, in, clean, func(o *Options) { o.MaxBadFraction = 1 })
	want := contents(t, clean)

	crash := errors.New("killed")
	for _, point := range []string{"rows", "landed", "before-log"} {
		for _, nth := range []int{1, 9} {
			t.Run(fmt.Sprintf("%s#%d", point, nth), func(t *testing.T) {
				wh := t.TempDir()
				var mu sync.Mutex
				n := 0
				_, err := ingestOnce(t, in, wh, func(o *Options) {
					o.MaxBadFraction = 1
					o.Workers = 2
					o.fault = func(p string) error {
						mu.Lock()
						defer mu.Unlock()
						if p == point {
							if n++; n == nth {
								return crash
							}
						}
						return nil
					}
				})
				if !errors.Is(err, crash) {
					t.Fatalf("no crash at %s #%d: %v", point, nth, err)
				}
				if _, err := ingestOnce(t, in, wh, func(o *Options) { o.MaxBadFraction = 1 }); err != nil {
					t.Fatal(err)
				}
				if got := contents(t, wh); !reflect.DeepEqual(got, want) {
					t.Errorf("after the crash and a re-run the warehouse differs from a clean run")
				}
				var temps []string
				filepath.WalkDir(wh, func(p string, d os.DirEntry, err error) error {
					if strings.HasSuffix(p, pipeline.TempSuffix) {
						temps = append(temps, p)
					}
					return nil
				})
				if len(temps) > 0 {
					t.Errorf("temporary files left: %v", temps)
				}
			})
		}
	}
}

// contents is every landed and quarantined row, sorted, and the log's
// current state per file.
func contents(t testing.TB, wh string) []string {
	t.Helper()
	var out []string
	for _, feed := range pipeline.Feeds {
		if m, _ := filepath.Glob(filepath.Join(wh, "landed", feed.Name, "*", "*.parquet")); len(m) > 0 {
			for _, r := range query(t, "SELECT COLUMNS(*)::VARCHAR FROM "+landedGlob(wh, feed.Name)+" ORDER BY ALL") {
				out = append(out, feed.Name+": "+strings.Join(r, "|"))
			}
		}
	}
	for _, r := range query(t, "SELECT COLUMNS(*)::VARCHAR FROM "+quarantined(wh)+" ORDER BY ALL") {
		out = append(out, "quarantine: "+strings.Join(r, "|"))
	}
	log, _ := ReadLog(wh)
	cur, rej := Current(log)
	for _, e := range append(cur, rej...) {
		out = append(out, fmt.Sprintf("log: %s %s %s %d %d %d", e.File, e.Status, e.SHA256, e.RowsRead, e.RowsLanded, e.RowsQuarantined))
	}
	return out
}

// TestInboxRules: files after the as-of date wait; unknown names are reported
// once and left alone; the inbox is never changed.
func TestInboxRules(t *testing.T) {
	// each date's content its own: a content already landed is skipped
	h := func(rate string) string { return "currency,month,usd_per_unit\nEUR,2026-10," + rate + "\n" }
	in := inbox(t, map[string]string{
		"fx_rates_2026-11-23.csv": h("1.1"), "fx_rates_2026-11-24.csv": h("1.2"), "notes.txt": "hello",
		"fx_rates_2026-11-22.csv.gz": gz(t, h("1.3")), "fx_rates_2026-11-22.csv": h("1.3"),
	})
	before := snapshot(t, in)
	wh := t.TempDir()
	sum, err := ingestOnce(t, in, wh)
	if !errors.Is(err, pipeline.ErrRejected) {
		t.Fatalf("two files of the same name: err = %v, want ErrRejected", err)
	}
	if sum.Landed != 2 || sum.Waiting != 1 || sum.Unrecognized != 1 || sum.Rejected != 1 {
		t.Errorf("landed %d waiting %d unrecognized %d rejected %d, want 2 1 1 1", sum.Landed, sum.Waiting, sum.Unrecognized, sum.Rejected)
	}
	again, _ := ingestOnce(t, in, wh)
	for _, e := range again.Entries {
		t.Errorf("second run logged %s %s again", e.File, e.Status)
	}
	if !reflect.DeepEqual(before, snapshot(t, in)) {
		t.Error("the inbox was changed")
	}
	later, err := ingestOnce(t, in, wh, func(o *Options) { o.AsOf = asOf + 1 })
	if err != nil || later.Landed != 1 {
		t.Errorf("the next day's run landed %d: %v", later.Landed, err)
	}
}

func TestCancelledIngestStops(t *testing.T) {
	in := genInbox(t, 5, 0)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, Options{Inbox: in, Warehouse: t.TempDir(), AsOf: asOf, MaxBadFraction: 0.05})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
