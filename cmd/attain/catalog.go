package main

import (
	"context"
	"flag"
	"fmt"
	"sort"
	"strings"

	"attain/pipeline"
)

// catalogCheckCmd validates a catalog file or directory (SPEC §4).
type catalogCheckCmd struct{ args []string }

func (c *catalogCheckCmd) flags(*flag.FlagSet, *pipeline.Config) {}
func (c *catalogCheckCmd) setArgs(a []string)                    { c.args = a }

func (c *catalogCheckCmd) run(_ context.Context, e *env) error {
	if len(c.args) != 1 {
		return fmt.Errorf("%w: catalog check needs one FILE (or directory)", pipeline.ErrUsage)
	}
	cat, err := pipeline.LoadCatalog(c.args[0])
	if err != nil {
		return err
	}
	for _, v := range cat.Versions {
		n := 0
		for _, comp := range v.Competencies {
			n += len(comp.Silver) + len(comp.Gold)
		}
		fmt.Fprintf(e.stdout, "%s: version %s, effective from %s, %d competencies, %d paths: ok\n",
			v.Source, v.Version, v.EffectiveFrom, len(v.Competencies), n)
	}
	return nil
}

// catalogShowCmd prints the catalog version in force.
type catalogShowCmd struct{ asOf dateFlag }

func (c *catalogShowCmd) flags(fs *flag.FlagSet, _ *pipeline.Config) {
	fs.Var(&c.asOf, "as-of", "show the version in force at this date (default: yesterday, UTC)")
}

func (c *catalogShowCmd) run(_ context.Context, e *env) error {
	cat, err := pipeline.LoadCatalog(e.cfg.Catalog)
	if err != nil {
		return err
	}
	d := c.asOf.or(e.cfg.Yesterday())
	v, ok := cat.InForce(d)
	if !ok {
		return fmt.Errorf("%w: no catalog version is in force at %s", pipeline.ErrUsage, d)
	}
	w := e.stdout
	fmt.Fprintf(w, "version %s, effective from %s (%s)\ndeveloping markets: %s\n", v.Version, v.EffectiveFrom, v.Source, strings.Join(v.DevelopingMarkets, ", "))
	for _, comp := range v.Competencies {
		fmt.Fprintf(w, "\n%s — %s\n", comp.ID, comp.Name)
		for rank, paths := range [][]pipeline.Path{comp.Silver, comp.Gold} {
			for _, p := range paths {
				fmt.Fprintf(w, "  %s, path %s (%s):\n", pipeline.Levels[rank], p.ID, p.Name)
				if p.Score != nil {
					each := ""
					if p.Score.EachAboveZero {
						each = ", every part above 0"
					}
					fmt.Fprintf(w, "    score ≥ %g of these parts' points%s:\n", p.Score.Min, each)
				}
				for _, r := range p.Rows() {
					fmt.Fprintf(w, "    %s\n", describeRequirement(r))
				}
			}
		}
	}
	var codes []string
	for code := range v.Skills {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	if len(codes) > 0 {
		fmt.Fprint(w, "\nskills:\n")
	}
	for _, code := range codes {
		s := v.Skills[code]
		fmt.Fprintf(w, "  %s:", code)
		if s.RetiredOn != nil {
			fmt.Fprintf(w, " retired %s, counts until %s", s.RetiredOn, s.CountsUntil)
		}
		if s.ValidDays > 0 {
			fmt.Fprintf(w, " valid %d days", s.ValidDays)
		}
		fmt.Fprintln(w)
	}
	return nil
}

// describeRequirement is a requirement, or a scored part, in one line: the metric,
// its filters and its minimum (full_at and points for a part).
func describeRequirement(r pipeline.Requirement) string {
	var b strings.Builder
	b.WriteString(r.Metric)
	if r.Products != nil {
		fmt.Fprintf(&b, " of %s", strings.Join(r.Products, ", "))
	}
	if r.Via != nil {
		fmt.Fprintf(&b, " via %s", strings.Join(r.Via, ", "))
	}
	if r.AnyOf != nil {
		var sets []string
		for _, s := range r.AnyOf {
			sets = append(sets, strings.Join(s, " + "))
		}
		fmt.Fprintf(&b, " holding one of [%s]", strings.Join(sets, " | "))
	}
	bound := " ≥ %g"
	if r.Points > 0 {
		bound = fmt.Sprintf(": %g points at %%g", r.Points)
	}
	fmt.Fprintf(&b, bound, r.Min.Developed)
	if r.Min.Developed != r.Min.Developing {
		fmt.Fprintf(&b, " (developing markets: %g)", r.Min.Developing)
	}
	return b.String()
}
