// Command attain is the nightly competency attainment job (see README.md).
package main

import (
	"context"
	"os"
	"runtime/debug"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// Half the default heap headroom: the job runs in a 2 GiB container
		// beside DuckDB, and the benchmark shows it costs a few percent of speed.
		debug.SetGCPercent(50)
	}
	ctx, stop := signalContext(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
