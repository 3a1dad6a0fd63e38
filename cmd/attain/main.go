// Command attain is the nightly competency attainment job (see README.md).
package main

import (
	"context"
	"fmt"
	"os"
	"runtime/debug"
	"runtime/pprof"
)

func main() {
	if os.Getenv("GOGC") == "" {
		// Half the default heap headroom: the job runs in a 2 GiB container
		// beside DuckDB, and the benchmark shows it costs a few percent of speed.
		debug.SetGCPercent(50)
	}
	// ATTAIN_CPUPROFILE=FILE writes a Go CPU profile of the whole command (go tool
	// pprof); DuckDB's own threads are not in it, ATTAIN_DEBUG=1 times its steps.
	stopProfile := func() {}
	if path := os.Getenv("ATTAIN_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "attain: ATTAIN_CPUPROFILE:", err)
			os.Exit(2)
		}
		stopProfile = func() { pprof.StopCPUProfile(); f.Close() }
	}
	ctx, stop := signalContext(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	stopProfile()
	os.Exit(code)
}
