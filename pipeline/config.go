package pipeline

import (
	"fmt"
	"regexp"
	"runtime"
	"strconv"
	"strings"
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
	Shards                    int              // shards of organizations a compute runs; 0: chosen from the data (SPEC §7.1)
	Shard                     Shard            // --shard i/N: this one shard only (the zero Shard: every shard)
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
	case c.Shards < 0 || c.Shards > MaxShards:
		return fmt.Errorf("%w: --shards must be between 1 and %d (0: chosen from the landed data)", ErrUsage, MaxShards)
	case c.MaxBadFraction < 0 || c.MaxBadFraction > 1:
		return fmt.Errorf("%w: --max-bad-fraction must be between 0 and 1", ErrUsage)
	}
	return nil
}

// Yesterday is the nightly default as-of date: yesterday in UTC (SPEC §1).
func (c Config) Yesterday() Date { return DateFromTime(c.Now()).AddDays(-1) }

// ParseSize reads a size as --memory-limit takes it (1GiB, 512MB, 1.5 GiB) in
// bytes; errors wrap ErrUsage.
func ParseSize(s string) (int64, error) {
	m := memoryLimit.FindStringSubmatch(s)
	if m == nil {
		return 0, fmt.Errorf("%w: %q is not a size like 1GiB or 512MB", ErrUsage, s)
	}
	num, _ := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(s, m[2])), 64)
	unit := map[string]float64{"B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
		"KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[m[2]]
	return int64(num * unit), nil
}
