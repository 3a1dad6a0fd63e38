package pipeline

import (
	"fmt"
	"regexp"
	"runtime"
	"time"
)

// Config is what every command shares: where things are and how hard DuckDB
// may work. Commands fill it from flags and the environment, then Validate it.
type Config struct {
	Inbox, Warehouse, Reports string
	Catalog                   string // empty: the catalog embedded in the binary
	MemoryLimit               string // DuckDB memory_limit, e.g. 1GiB
	Threads                   int
	LogFormat                 string // text, json, or empty for text on a terminal
	MetricsFile, Pushgateway  string
	MaxBadFraction            float64
	Now                       func() time.Time // the clock; tests inject one
}

// DefaultConfig keeps a run inside a 2 GiB container.
func DefaultConfig() Config {
	return Config{
		Inbox: "inbox", Warehouse: "warehouse", Reports: "reports",
		MemoryLimit: "1GiB", Threads: min(runtime.NumCPU(), 2),
		MaxBadFraction: 0.05, Now: time.Now,
	}
}

var memoryLimit = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$`)

// Validate reports the first setting that cannot work, wrapping ErrUsage.
func (c Config) Validate() error {
	switch {
	case c.Inbox == "" || c.Warehouse == "" || c.Reports == "":
		return fmt.Errorf("%w: --inbox, --warehouse and --reports must not be empty", ErrUsage)
	case !memoryLimit.MatchString(c.MemoryLimit):
		return fmt.Errorf("%w: --memory-limit %q is not a size like 1GiB or 512MB", ErrUsage, c.MemoryLimit)
	case c.Threads < 1:
		return fmt.Errorf("%w: --threads must be at least 1", ErrUsage)
	case c.LogFormat != "" && c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("%w: --log-format must be text or json", ErrUsage)
	case c.MaxBadFraction < 0 || c.MaxBadFraction > 1:
		return fmt.Errorf("%w: --max-bad-fraction must be between 0 and 1", ErrUsage)
	}
	return nil
}

// Yesterday is the nightly default as-of date: yesterday in UTC (SPEC §1).
func (c Config) Yesterday() Date { return DateFromTime(c.Now()).AddDays(-1) }
