package main

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"

	"attain/ingest"
	"attain/pipeline"
)

// runMetrics are the metrics of SPEC §7 for one run.
type runMetrics struct {
	reg         *prometheus.Registry
	lastSuccess prometheus.Gauge
	stage       *prometheus.GaugeVec
	landed      *prometheus.CounterVec
	quarantined *prometheus.CounterVec
	rejected    prometheus.Counter
	members     *prometheus.GaugeVec
}

func newRunMetrics() *runMetrics {
	m := &runMetrics{
		reg: prometheus.NewRegistry(),
		lastSuccess: prometheus.NewGauge(prometheus.GaugeOpts{Name: "attain_last_success_timestamp_seconds",
			Help: "When the last successful run finished (Unix seconds); only a successful run sets it."}),
		stage: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "attain_stage_duration_seconds",
			Help: "How long each stage of the run took."}, []string{"stage"}),
		landed: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "attain_rows_landed_total",
			Help: "Rows this run landed, per feed."}, []string{"feed"}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "attain_rows_quarantined_total",
			Help: "Rows this run quarantined, per feed."}, []string{"feed"}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "attain_files_rejected_total",
			Help: "Files this run rejected."}),
		members: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "attain_members",
			Help: "Members by level and renewal status at the as-of date."}, []string{"level", "status"}),
	}
	m.reg.MustRegister(m.stage, m.landed, m.quarantined, m.rejected, m.members)
	for _, f := range pipeline.Feeds { // every feed shows, even at zero
		m.landed.WithLabelValues(f.Name)
		m.quarantined.WithLabelValues(f.Name)
	}
	return m
}

func (m *runMetrics) ingested(sum *ingest.Summary) {
	if sum == nil {
		return
	}
	for feed, c := range sum.Feeds {
		m.landed.WithLabelValues(feed).Add(float64(c.Landed))
		m.quarantined.WithLabelValues(feed).Add(float64(c.Quarantined))
	}
	m.rejected.Add(float64(sum.Rejected))
}

// succeeded sets the success timestamp; a failed run never calls it, so a
// failure cannot hide the last success.
func (m *runMetrics) succeeded(unix float64) {
	m.reg.MustRegister(m.lastSuccess)
	m.lastSuccess.Set(unix)
}

// publish writes the metrics file (atomically) and pushes to the Pushgateway,
// as configured.
func (m *runMetrics) publish(cfg pipeline.Config) error {
	if cfg.MetricsFile != "" {
		if err := prometheus.WriteToTextfile(cfg.MetricsFile, m.reg); err != nil {
			return fmt.Errorf("metrics file: %w", err)
		}
	}
	if cfg.Pushgateway != "" {
		// Add, not Push: a failed run must not delete the last success timestamp
		// the gateway holds for this job.
		if err := push.New(cfg.Pushgateway, "attain").Gatherer(m.reg).Add(); err != nil {
			return fmt.Errorf("pushgateway: %w", err)
		}
	}
	return nil
}
