package main

import (
	"fmt"
	"os"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/push"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"attain/ingest"
	"attain/pipeline"
)

// runMetrics are the metrics of SPEC §7 for one run.
type runMetrics struct {
	headline    []any // what the run-end line tells first: members by status, alerts
	reg         *prometheus.Registry
	lastSuccess prometheus.Gauge
	stage       *prometheus.GaugeVec
	landed      *prometheus.CounterVec
	quarantined *prometheus.CounterVec
	rejected    prometheus.Counter
	members     *prometheus.GaugeVec
	exitCode    prometheus.Gauge
	succeededOK bool
	// partial: a shard's process that did not complete the date; it publishes
	// nothing, the one that completes it publishes the run's metrics.
	partial     bool
	reported    bool   // the date's reports were written
	failedStage string // the stage that failed, if one did
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
		exitCode: prometheus.NewGauge(prometheus.GaugeOpts{Name: "attain_last_exit_code",
			Help: "The exit code of the last run (SPEC §2)."}),
	}
	m.reg.MustRegister(m.stage, m.landed, m.quarantined, m.rejected, m.members, m.exitCode)
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
	m.succeededOK = true
}

// carryOver keeps the success timestamp of the metrics file a failed run
// replaces (SPEC §7: a failed run never hides the last success).
func (m *runMetrics) carryOver(path string) {
	f, err := os.Open(path)
	if err != nil {
		return
	}
	defer f.Close()
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(f)
	if err != nil {
		return
	}
	if fam, ok := families["attain_last_success_timestamp_seconds"]; ok && len(fam.GetMetric()) == 1 {
		if g := fam.GetMetric()[0].GetGauge(); g != nil {
			m.reg.MustRegister(m.lastSuccess)
			m.lastSuccess.Set(g.GetValue())
		}
	}
}

// publish writes the metrics file (atomically) and pushes to the Pushgateway,
// as configured.
func (m *runMetrics) publish(cfg pipeline.Config, exitCode int) error {
	m.exitCode.Set(float64(exitCode))
	if cfg.MetricsFile != "" {
		if !m.succeededOK {
			m.carryOver(cfg.MetricsFile)
		}
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
