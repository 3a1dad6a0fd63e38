package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"attain/pipeline"
)

// benchCold measures a small program's first run (make bench-cold): a
// 600-organization, two-year inbox, a cold run on an empty warehouse, a warm run
// again, ingest alone, and, in the same run, the floor a small file costs on
// this disk. The cost per file beyond its rows is ingest of the inbox minus
// ingest of the same rows in one file a feed, over the files more.
func benchCold(attain, dir string, reps int) error {
	base := filepath.Join(dir, "cold-600")
	inbox, merged := filepath.Join(base, "inbox"), filepath.Join(base, "merged")
	if _, err := os.Stat(inbox); err != nil {
		if _, err := measure(attain, "gen", "--out", inbox, "--orgs", "600", "--log-format", "json"); err != nil {
			return err
		}
	}
	if _, err := os.Stat(merged); err != nil {
		// in a child: a child's peak memory starts from this process's
		self, err := os.Executable()
		if err != nil {
			return err
		}
		if _, err := measure(self, "child-merge", inbox, merged); err != nil {
			return err
		}
	}
	files, _ := os.ReadDir(inbox)
	mergedFiles, _ := os.ReadDir(merged)
	scratch := filepath.Join(base, "scratch")
	fresh := func() (string, error) {
		os.RemoveAll(scratch)
		return scratch, os.MkdirAll(scratch, 0o755)
	}
	var cold, warm, ingestFiles, ingestRows []measurement
	var floor, floorDir []time.Duration
	for range reps {
		s, err := fresh()
		if err != nil {
			return err
		}
		wh, rep := filepath.Join(s, "wh"), filepath.Join(s, "rep")
		run := func() (measurement, error) {
			return measure(attain, "run", "--inbox", inbox, "--warehouse", wh, "--reports", rep, "--as-of", "2026-10-31", "--log-format", "json")
		}
		m, err := run()
		if err != nil {
			return err
		}
		cold = append(cold, m)
		if m, err = run(); err != nil {
			return err
		}
		warm = append(warm, m)
		for _, in := range []struct {
			dir string
			out *[]measurement
		}{{inbox, &ingestFiles}, {merged, &ingestRows}} {
			os.RemoveAll(wh)
			m, err := measure(attain, "ingest", "--inbox", in.dir, "--warehouse", wh, "--as-of", "2026-10-31", "--log-format", "json")
			if err != nil {
				return err
			}
			*in.out = append(*in.out, m)
		}
		f, fd, err := smallFileFloor(filepath.Join(s, "floor"), len(files))
		if err != nil {
			return err
		}
		floor, floorDir = append(floor, f), append(floorDir, fd)
	}
	c, w, fi, ro := median(cold), median(warm), median(ingestFiles), median(ingestRows)
	extra := len(files) - len(mergedFiles)
	perFile := (fi.wall - ro.wall) / time.Duration(extra)
	fl, fld := middle(floor), middle(floorDir)
	fmt.Printf("\n%d files (%d feeds merged: %d files), medians of %d\n\n", len(files), len(mergedFiles), len(mergedFiles), reps)
	fmt.Printf("| step | wall s | peak RSS MB |\n|---|---:|---:|\n")
	fmt.Printf("| attain run, empty warehouse (cold) | %.2f | %d |\n", c.wall.Seconds(), c.maxRSS>>20)
	fmt.Printf("| attain run again, nothing new (warm) | %.2f | %d |\n", w.wall.Seconds(), w.maxRSS>>20)
	fmt.Printf("| attain ingest, the inbox | %.2f | %d |\n", fi.wall.Seconds(), fi.maxRSS>>20)
	fmt.Printf("| attain ingest, the same rows in one file a feed | %.2f | %d |\n", ro.wall.Seconds(), ro.maxRSS>>20)
	fmt.Printf("\n| ratio | value | goal |\n|---|---:|---:|\n")
	fmt.Printf("| cold run / warm run | %.2f | ≤ 1.5 |\n", c.wall.Seconds()/w.wall.Seconds())
	fmt.Printf("| ingest cost a file beyond its rows, ms | %.3f | |\n", float64(perFile.Microseconds())/1000)
	fmt.Printf("| floor: 2 KB file written, fsync, rename, ms | %.3f | |\n", float64(fl.Microseconds())/1000)
	fmt.Printf("| floor in a new directory (mkdir, …, fsync of the directory), ms | %.3f | |\n", float64(fld.Microseconds())/1000)
	fmt.Printf("| cost a file / floor | %.2f | ≤ 2 |\n", float64(perFile)/float64(fl))
	fmt.Printf("| cost a file / floor in a new directory | %.2f | |\n", float64(perFile)/float64(fld))
	return nil
}

// smallFileFloor writes n 2 KB files, each synced and renamed into place, and
// returns the time a file took; then the same with each file in a directory of
// its own, made first and synced after (what landing a delivery must do: SPEC
// §6.1 gives each delivery date its directory).
func smallFileFloor(dir string, n int) (flat, ownDir time.Duration, err error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	data := []byte(strings.Repeat("0123456789abcdef", 128))
	write := func(d, name string) error {
		tmp := filepath.Join(d, name+".tmp")
		f, err := os.Create(tmp)
		if err != nil {
			return err
		}
		if _, err := f.Write(data); err != nil {
			f.Close()
			return err
		}
		if err := f.Sync(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
		return os.Rename(tmp, filepath.Join(d, name))
	}
	start := time.Now()
	for i := range n {
		if err := write(dir, fmt.Sprintf("f%05d", i)); err != nil {
			return 0, 0, err
		}
	}
	flat = time.Since(start) / time.Duration(n)
	start = time.Now()
	for i := range n {
		d := filepath.Join(dir, fmt.Sprintf("d%05d", i))
		if err := os.Mkdir(d, 0o755); err != nil {
			return 0, 0, err
		}
		if err := write(d, "f"); err != nil {
			return 0, 0, err
		}
		if err := pipeline.SyncDir(d); err != nil {
			return 0, 0, err
		}
	}
	return flat, time.Since(start) / time.Duration(n), nil
}

// mergeFeeds writes each feed's rows of an inbox into one file, a row for each
// key (the latest delivery's, as restatement keeps), so that ingest of it lands
// the same rows in as few files as there are feeds.
func mergeFeeds(inbox, out string) error {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	entries, err := os.ReadDir(inbox)
	if err != nil {
		return err
	}
	byFeed := map[string][]pipeline.Delivery{}
	for _, e := range entries {
		if d, ok := pipeline.ParseDeliveryName(e.Name()); ok {
			byFeed[d.Feed.Name] = append(byFeed[d.Feed.Name], d)
		}
	}
	for feed, ds := range byFeed {
		slices.SortFunc(ds, func(a, b pipeline.Delivery) int { return strings.Compare(a.File, b.File) })
		var header []string
		rows := map[string][]string{}
		var order []string
		for _, d := range ds {
			f, err := os.Open(filepath.Join(inbox, d.File))
			if err != nil {
				return err
			}
			r := csv.NewReader(f)
			r.FieldsPerRecord = -1
			h, err := r.Read()
			if err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", d.File, err)
			}
			if header == nil {
				header = h
			}
			var keyIdx []int
			for _, k := range d.Feed.Key {
				keyIdx = append(keyIdx, slices.Index(h, k))
			}
			for {
				rec, err := r.Read()
				if err == io.EOF {
					break
				}
				if err != nil {
					f.Close()
					return fmt.Errorf("%s: %w", d.File, err)
				}
				var key []string
				for _, i := range keyIdx {
					if i >= 0 && i < len(rec) {
						key = append(key, rec[i])
					}
				}
				k := strings.Join(key, "\x00")
				if _, seen := rows[k]; !seen {
					order = append(order, k)
				}
				rows[k] = rec
			}
			f.Close()
		}
		w, err := os.Create(filepath.Join(out, feed+"_2026-10-31.csv"))
		if err != nil {
			return err
		}
		cw := csv.NewWriter(w)
		cw.Write(header)
		for _, k := range order {
			cw.Write(rows[k])
		}
		cw.Flush()
		if err := cw.Error(); err != nil {
			w.Close()
			return err
		}
		if err := w.Close(); err != nil {
			return err
		}
	}
	return nil
}
