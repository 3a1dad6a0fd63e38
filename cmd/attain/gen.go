package main

import (
	"context"
	"flag"
	"fmt"

	"attain/pipeline"
	"attain/synth"
)

// genCmd writes a synthetic inbox (SPEC §2).
type genCmd struct {
	out      string
	orgs     int
	from, to dateFlag
	seed     uint64
	bad      float64
}

func (c *genCmd) flags(fs *flag.FlagSet, _ *pipeline.Config) {
	fs.StringVar(&c.out, "out", "", "write the inbox into this `dir` (required)")
	fs.IntVar(&c.orgs, "orgs", 200, "number of organizations (10,000 ≈ 5 million rows over two years)")
	fs.Var(&c.from, "from", "first delivery date (default: two years before --to)")
	fs.Var(&c.to, "to", "last delivery date (default: 2026-10-31)")
	fs.Uint64Var(&c.seed, "seed", 1, "random seed; the same seed gives the same files")
	fs.Float64Var(&c.bad, "bad-rows", 0, "fraction of rows to corrupt, to exercise quarantine")
}

func (c *genCmd) run(ctx context.Context, e *env) error {
	if c.out == "" {
		return fmt.Errorf("%w: gen needs --out", pipeline.ErrUsage)
	}
	to := c.to.or(pipeline.MustDate("2026-10-31"))
	from := c.from.or(to.AddMonths(-24).AddDays(1))
	opt := synth.Options{Out: c.out, Orgs: c.orgs, From: from, To: to, Seed: c.seed, BadFraction: c.bad}
	e.log.Info("gen start", "out", c.out, "orgs", c.orgs, "from", from.String(), "to", to.String(), "seed", c.seed)
	if err := synth.Generate(opt); err != nil {
		return fmt.Errorf("gen: %w", err)
	}
	e.log.Info("gen end", "out", c.out)
	return nil
}
