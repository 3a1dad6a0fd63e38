package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"attain/duck"
	"attain/pipeline"
)

// versionCmd prints what this binary is (SPEC §2).
type versionCmd struct{}

func (c *versionCmd) flags(*flag.FlagSet, *pipeline.Config) {}

func (c *versionCmd) run(ctx context.Context, e *env) error {
	engine, err := duck.DuckDBVersion(ctx)
	if err != nil {
		return err
	}
	cat, err := pipeline.DefaultCatalog()
	if err != nil {
		return err
	}
	var versions []string
	for _, v := range cat.Versions {
		versions = append(versions, fmt.Sprintf("%s (from %s)", v.Version, v.EffectiveFrom))
	}
	fmt.Fprintf(e.stdout, "attain %s\nDuckDB %s\ndefault catalog %s\n", version, engine, strings.Join(versions, ", "))
	return nil
}
