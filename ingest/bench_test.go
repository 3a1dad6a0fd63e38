package ingest

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"attain/pipeline"
)

// BenchmarkLandRevenue lands the benchmark's revenue file (make bench creates
// it); it is skipped when the file is absent.
func BenchmarkLandRevenue(b *testing.B) {
	src, _ := filepath.Abs("../bench-data/ingest-inbox/revenue_2026-10-31.csv")
	if _, err := os.Stat(src); err != nil {
		b.Skip("no bench-data; run make bench first")
	}
	d, _ := pipeline.ParseDeliveryName(filepath.Base(src))
	for i := 0; i < b.N; i++ {
		l := &landing{wh: b.TempDir(), d: d, path: src, maxBad: 1}
		if err := l.land(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}
