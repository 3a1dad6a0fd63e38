package main

import (
	"errors"
	"flag"
	"fmt"

	"attain/pipeline"
)

// dateFlag is a flag.Value holding a YYYY-MM-DD date; set reports whether it
// was given.
type dateFlag struct {
	d   pipeline.Date
	set bool
}

func (f *dateFlag) String() string {
	if f == nil || !f.set {
		return ""
	}
	return f.d.String()
}

func (f *dateFlag) Set(s string) error {
	d, err := pipeline.ParseDate(s)
	if err != nil {
		return fmt.Errorf("%v", err)
	}
	f.d, f.set = d, true
	return nil
}

// or returns the date given, else def.
func (f *dateFlag) or(def pipeline.Date) pipeline.Date {
	if f.set {
		return f.d
	}
	return def
}

// shardFlag is --shard i/N (SPEC §7.1).
type shardFlag struct{ s *pipeline.Shard }

func (f shardFlag) String() string {
	if f.s == nil || f.s.All() {
		return ""
	}
	return f.s.String()
}

func (f shardFlag) Set(v string) error {
	s, err := pipeline.ParseShard(v)
	if err != nil {
		return errors.Unwrap(err)
	}
	*f.s = s
	return nil
}

// shardFlags are --shards and --shard, of the commands that compute (SPEC §7.1).
func shardFlags(fs *flag.FlagSet, cfg *pipeline.Config) {
	fs.IntVar(&cfg.Shards, "shards", cfg.Shards, "shards of organizations computed one after the other (default 0: chosen from the landed data and --memory-limit)")
	fs.Var(shardFlag{&cfg.Shard}, "shard", "compute shard `i/N` only, as one of N processes side by side (SPEC §7.1)")
}
