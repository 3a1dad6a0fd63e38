package main

import (
	"context"
	"flag"
	"fmt"
	"text/tabwriter"

	"attain/ingest"
	"attain/pipeline"
	"attain/warehouse"
)

// statusCmd shows what is landed (SPEC §2).
type statusCmd struct{}

func (c *statusCmd) flags(*flag.FlagSet, *pipeline.Config) {}

func (c *statusCmd) run(_ context.Context, e *env) error {
	if err := checkWarehouse(e.cfg); err != nil {
		return err
	}
	entries, err := ingest.ReadLog(e.cfg.Warehouse)
	if err != nil {
		return err
	}
	landed, rejected := ingest.Current(entries)
	type counts struct {
		files, read, landed, quarantined int64
		first, last                      string
	}
	byFeed := map[string]*counts{}
	for _, l := range landed {
		c := byFeed[l.Feed]
		if c == nil {
			c = &counts{first: l.DeliveryDate}
			byFeed[l.Feed] = c
		}
		c.files++
		c.read += l.RowsRead
		c.landed += l.RowsLanded
		c.quarantined += l.RowsQuarantined
		c.first, c.last = min(c.first, l.DeliveryDate), max(c.last, l.DeliveryDate)
	}
	w := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "feed\tdeliveries\tfirst\tlast\trows read\trows landed\trows quarantined\t\n")
	var total counts
	for _, f := range pipeline.Feeds {
		c := byFeed[f.Name]
		if c == nil {
			c = &counts{first: "-", last: "-"}
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%d\t%d\t%d\t\n", f.Name, c.files, c.first, c.last, c.read, c.landed, c.quarantined)
		total.files += c.files
		total.read += c.read
		total.landed += c.landed
		total.quarantined += c.quarantined
	}
	fmt.Fprintf(w, "total\t%d\t\t\t%d\t%d\t%d\t\n", total.files, total.read, total.landed, total.quarantined)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nrejected files: %d\n", len(rejected))
	for _, r := range rejected {
		fmt.Fprintf(e.stdout, "  %s  (run %s)\n", r.Reason, r.RunID)
	}
	// The last runs, newest first.
	type run struct {
		id, at              string
		files, bad          int
		landed, quarantined int64
	}
	var runs []*run
	index := map[string]*run{}
	for _, en := range entries {
		r := index[en.RunID]
		if r == nil {
			r = &run{id: en.RunID, at: en.At.Format("2006-01-02 15:04:05Z")}
			index[en.RunID] = r
			runs = append(runs, r)
		}
		if en.Status == ingest.StatusLanded || en.Status == ingest.StatusRejected {
			r.files++
		}
		if en.Status == ingest.StatusRejected {
			r.bad++
		}
		r.landed += en.RowsLanded
		r.quarantined += en.RowsQuarantined
	}
	fmt.Fprintf(e.stdout, "\nlast ingest runs:\n")
	w = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "run\tat\tfiles\trejected\trows landed\trows quarantined\t\n")
	for i := len(runs) - 1; i >= 0 && i >= len(runs)-10; i-- {
		r := runs[i]
		fmt.Fprintf(w, "%s\t%s\t%d\t%d\t%d\t%d\t\n", r.id, r.at, r.files, r.bad, r.landed, r.quarantined)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// The last nightly runs.
	records, err := readRunRecords(e.cfg.Warehouse)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nlast runs:\n")
	w = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "run\tas of\tstatus\tseconds\t\n")
	for i := len(records) - 1; i >= 0 && i >= len(records)-10; i-- {
		r := records[i]
		fmt.Fprintf(w, "%s\t%s\t%s\t%.1f\t\n", r.RunID, r.AsOf, r.Status, r.Seconds)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// The latest dates with complete results, and the runs that computed them.
	dates, err := warehouse.CompleteDates(e.cfg.Warehouse)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\ncomplete results: %d date(s)\n", len(dates))
	w = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(w, "as of\trun\tcatalog\tshards\talerts\t\n")
	for i := len(dates) - 1; i >= 0 && i >= len(dates)-5; i-- {
		m, err := warehouse.ReadMarker(e.cfg.Warehouse, dates[i])
		if err != nil || m == nil {
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%d\t%d\t\n", m.AsOf, m.RunID, m.CatalogVersion, max(m.Shards, 1), m.Rows["alerts"])
	}
	if err := w.Flush(); err != nil {
		return err
	}
	// The months of each history (attain backfill), latest first.
	for _, k := range warehouse.HistoryKinds {
		months, err := warehouse.HistoryMonths(e.cfg.Warehouse, k)
		if err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "\n%s history (%s/): %d month(s)\n", k, k.Dir(), len(months))
		w = tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintf(w, "month\tdates\trun\tshards\trows\t\n")
		for i := len(months) - 1; i >= 0 && i >= len(months)-12; i-- {
			m := months[i]
			var rows int64
			for _, n := range m.Rows {
				rows += n
			}
			fmt.Fprintf(w, "%s\t%d\t%s\t%d\t%d\t\n", m.Month, len(m.Dates), m.RunID, m.Parts, rows)
		}
		if err := w.Flush(); err != nil {
			return err
		}
	}
	return nil
}
