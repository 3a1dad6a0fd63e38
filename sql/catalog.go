package sql

import (
	"context"
	"fmt"
	"strings"

	"attain/duck"
	"attain/pipeline"
)

// measureKey names a metric with its filters; requirements that share one share a
// timeline. The tables carry a measure as a small number (the rules partition and
// sort by it millions of times; the text is kept in cat_measures.name).
func measureKey(r pipeline.Requirement) string {
	var sets []string
	for _, s := range r.AnyOf {
		sets = append(sets, strings.Join(s, "+"))
	}
	return fmt.Sprintf("%s|%s|%s|%s", r.Metric, strings.Join(r.Products, ","), strings.Join(r.Via, ","), strings.Join(sets, " "))
}

// LoadCatalog writes every catalog version into the cat_* tables the rules read.
func (e *Engine) LoadCatalog(ctx context.Context, c *pipeline.Catalog) error {
	ddl := `
CREATE OR REPLACE TEMP TABLE cat_versions (version VARCHAR, effective_from DATE);
CREATE OR REPLACE TEMP TABLE cat_markets (version VARCHAR, country VARCHAR);
CREATE OR REPLACE TEMP TABLE cat_skills (version VARCHAR, code VARCHAR, retired_on DATE, counts_until DATE, valid_days INTEGER);
CREATE OR REPLACE TEMP TABLE cat_reqs (version VARCHAR, comp_ord INTEGER, competency_id VARCHAR, competency_name VARCHAR,
    level VARCHAR, level_rank INTEGER, path_ord INTEGER, path VARCHAR, path_name VARCHAR, req_ord INTEGER,
    metric VARCHAR, measure INTEGER, min_developed DOUBLE, min_developing DOUBLE, path_id INTEGER, req_id INTEGER,
    role VARCHAR, points DOUBLE, each_above_zero BOOLEAN);
CREATE OR REPLACE TEMP TABLE cat_measures (version VARCHAR, measure INTEGER, name VARCHAR, metric VARCHAR, products VARCHAR[], via VARCHAR[]);
CREATE OR REPLACE TEMP TABLE cat_anyof (version VARCHAR, measure INTEGER, set_no INTEGER, set_size INTEGER, code VARCHAR);`
	if err := e.Exec(ctx, ddl); err != nil {
		return fmt.Errorf("catalog tables: %w", err)
	}
	pathID, reqID := 0, 0
	for _, v := range c.Versions {
		if err := e.Exec(ctx, "INSERT INTO cat_versions VALUES (?, ?)", v.Version, v.EffectiveFrom.Time()); err != nil {
			return err
		}
		for _, m := range v.DevelopingMarkets {
			if err := e.Exec(ctx, "INSERT INTO cat_markets VALUES (?, ?)", v.Version, m); err != nil {
				return err
			}
		}
		for code, s := range v.Skills {
			var retired, until any
			if s.RetiredOn != nil {
				retired, until = s.RetiredOn.Time(), s.CountsUntil.Time()
			}
			var days any
			if s.ValidDays > 0 {
				days = s.ValidDays
			}
			if err := e.Exec(ctx, "INSERT INTO cat_skills VALUES (?, ?, ?, ?, ?)", v.Version, code, retired, until, days); err != nil {
				return err
			}
		}
		// path_id and req_id number paths and requirements across versions:
		// per-organization rows carry them instead of the names.
		measures := map[string]int{}
		for ci, comp := range v.Competencies {
			for rank, paths := range [][]pipeline.Path{comp.Silver, comp.Gold} {
				level := pipeline.Levels[rank]
				for pi, p := range paths {
					pathID++
					role := "require"
					if p.Score != nil {
						role = "part"
					}
					insert := func(ri int, r pipeline.Requirement, role string, id int, each bool) error {
						reqID++
						return e.Exec(ctx, "INSERT INTO cat_reqs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
							v.Version, ci, comp.ID, comp.Name, level, rank+1, pi, p.ID, p.Name, ri,
							r.Metric, id, r.Min.Developed, r.Min.Developing, pathID, reqID, role, r.Points, each)
					}
					for ri, r := range p.Rows() {
						key := measureKey(r)
						id, seen := measures[key]
						if !seen {
							id = len(measures)
							measures[key] = id
						}
						if err := insert(ri, r, role, id, false); err != nil {
							return fmt.Errorf("cat_reqs: %w", err)
						}
						if seen {
							continue
						}
						if err := e.insertMeasure(ctx, v.Version, id, key, r); err != nil {
							return err
						}
					}
					if p.Score == nil {
						continue
					}
					// The score (SPEC §4.1) is one more measure of its own, a step
					// function of time made from its parts' (scores.sql), and one
					// more row: the only one the path's met test counts.
					score := pipeline.Requirement{Metric: "score", Min: pipeline.Min{Developed: p.Score.Min, Developing: p.Score.Min}}
					key := fmt.Sprintf("score|%s|%s|%s", comp.ID, level, p.ID)
					id := len(measures)
					measures[key] = id
					if err := insert(len(p.Score.Parts), score, "score", id, p.Score.EachAboveZero); err != nil {
						return fmt.Errorf("cat_reqs: %w", err)
					}
					if err := e.insertMeasure(ctx, v.Version, id, key, score); err != nil {
						return err
					}
				}
			}
		}
	}
	return nil
}

// insertMeasure writes a measure's filters and codes.
func (e *Engine) insertMeasure(ctx context.Context, version string, id int, key string, r pipeline.Requirement) error {
	if err := e.Exec(ctx, "INSERT INTO cat_measures VALUES (?, ?, ?, ?, ?::VARCHAR[], ?::VARCHAR[])",
		version, id, key, r.Metric, list(r.Products), list(r.Via)); err != nil {
		return fmt.Errorf("cat_measures: %w", err)
	}
	for si, set := range r.AnyOf {
		for _, code := range dedupe(set) {
			if err := e.Exec(ctx, "INSERT INTO cat_anyof VALUES (?, ?, ?, ?, ?)", version, id, si, len(dedupe(set)), code); err != nil {
				return fmt.Errorf("cat_anyof: %w", err)
			}
		}
	}
	return nil
}

// list is a filter as DuckDB sees it: NULL when absent (no filter).
func list(xs []string) any {
	if xs == nil {
		return nil
	}
	return "[" + strings.Join(duck.QuoteAll(xs), ", ") + "]"
}

func dedupe(xs []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range xs {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}
