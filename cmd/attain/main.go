// Command attain is the nightly competency attainment job (see README.md).
package main

import (
	"context"
	"os"
)

func main() {
	ctx, stop := signalContext(context.Background())
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
