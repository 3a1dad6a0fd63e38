package sql

import (
	"context"

	"attain/pipeline"
	"attain/warehouse"
)

// publisher hands what each shard's rules wrote to the warehouse: a date's
// part marker, then, under the date's lock, its completion once every part is
// there (warehouse.CompleteDate); a month's history the same way
// (warehouse.CompleteMonth). It records what this compute completed, as it
// does: a compute stopped half-way keeps the dates it finished.
type publisher struct {
	opt ComputeOptions
	out Computed // this process's shards are computed one after another
}

// date publishes shard s's part of date d's results (files, and in a shard
// of several its data-quality counts) and completes the date when it is the
// last part.
func (p *publisher) date(ctx context.Context, e *Engine, s pipeline.Shard, d pipeline.Date,
	files map[string]warehouse.PartFile, quality []warehouse.QualityCount) error {
	opt, knownBy := p.opt, p.opt.knownBy()
	rows := map[string]int64{}
	for t, f := range files {
		rows[t] = f.Rows
	}
	gen := warehouse.ResultGen(d, s.Count, e.dataID, knownBy)
	pm := warehouse.PartMarker{AsOf: d.String(), RunID: opt.RunID, Shard: s.Index, Shards: s.Count, Data: e.dataID, KnownBy: knownBy,
		Gen: gen, Rows: rows, Files: files, Quality: quality, At: opt.Now().UTC()}
	if err := warehouse.WritePartMarker(opt.Warehouse, pm); err != nil {
		return err
	}
	v, _ := opt.Catalog.InForce(d)
	var qualityRows int64
	done, err := warehouse.CompleteDate(ctx, opt.Warehouse, d, s.Count, gen, warehouse.Marker{AsOf: d.String(), RunID: opt.RunID,
		CatalogVersion: v.Version, KnownBy: knownBy, At: opt.Now().UTC()},
		func(all []warehouse.QualityCount) (warehouse.PartFile, error) {
			f, err := e.writeQuality(ctx, opt.Warehouse, d, gen, s.Count, all)
			qualityRows = f.Rows
			return f, err
		})
	if err != nil {
		return err
	}
	if p.out.Rows[d] == nil {
		p.out.Rows[d] = map[string]int64{}
	}
	for t, n := range rows {
		p.out.Rows[d][t] += n // this process's shards
	}
	if done {
		p.out.Rows[d]["data_quality"] += qualityRows
		p.out.Complete = append(p.out.Complete, d)
		if opt.OnComplete != nil {
			opt.OnComplete(d)
		}
	}
	return nil
}

// month completes a month's history once every shard's part of it is staged.
func (p *publisher) month(e *Engine, s pipeline.Shard, month string) error {
	opt := p.opt
	spine := opt.History.Months[month]
	m := warehouse.MonthMarker{Month: month, AsKnown: opt.History.AsKnown, RunID: opt.RunID, Parts: s.Count,
		Gen: e.monthGen(opt, month, s.Count), At: opt.Now().UTC()}
	for _, d := range spine {
		v, _ := opt.Catalog.InForce(d)
		m.Dates = append(m.Dates, d.String())
		m.CatalogVersions = append(m.CatalogVersions, v.Version)
	}
	done, err := warehouse.CompleteMonth(opt.Warehouse, m)
	if err != nil {
		return err
	}
	if done {
		p.out.Months = append(p.out.Months, month)
		p.out.Complete = append(p.out.Complete, spine...)
		if opt.OnMonth != nil {
			opt.OnMonth(month)
		}
	}
	return nil
}
