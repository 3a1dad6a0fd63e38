package pipeline

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of Count shards of the organizations (SPEC §7.1): an
// organization belongs to shard hash(org_id) mod Count. The zero Shard is "every
// shard", as a process without --shard computes them.
type Shard struct {
	Index, Count int
}

// All says whether the shard stands for every shard (no --shard given).
func (s Shard) All() bool { return s.Count == 0 }

// String is the shard as --shard takes it, "i/N".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// MaxShards bounds --shards and --shard: more shards than this are more files
// than work.
const MaxShards = 1024

// ParseShard reads "i/N" with 0 <= i < N <= MaxShards; errors wrap ErrUsage.
func ParseShard(s string) (Shard, error) {
	i, n, ok := strings.Cut(s, "/")
	a, err1 := strconv.Atoi(i)
	b, err2 := strconv.Atoi(n)
	if !ok || err1 != nil || err2 != nil || b < 1 || b > MaxShards || a < 0 || a >= b {
		return Shard{}, fmt.Errorf("%w: --shard %q is not i/N with 0 <= i < N <= %d", ErrUsage, s, MaxShards)
	}
	return Shard{Index: a, Count: b}, nil
}
