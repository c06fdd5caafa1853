package uploader

import (
	"fmt"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	batches        *prometheus.CounterVec
	bytes          *prometheus.CounterVec
	failures       *prometheus.CounterVec
	lastSuccess    *prometheus.GaugeVec
	deadLetters    *prometheus.GaugeVec
	backlogBatches prometheus.Gauge
	backlogBytes   prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer, targets []string, oldest func() time.Duration) (*metrics, error) {
	m := &metrics{
		batches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_upload_batches_total",
			Help: "Batches handled per target: result=delivered (sink accepted) or deadletter (sink refused it for good).",
		}, []string{"target", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_upload_bytes_total",
			Help: "Batch bytes delivered per target.",
		}, []string{"target"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_upload_failures_total",
			Help: "Failed upload attempts per target and class (dns, tls, proxy_auth, auth, http_4xx, http_5xx, redirect, timeout, network, rejected, io).",
		}, []string{"target", "class"}),
		lastSuccess: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cloudscout_upload_last_success_timestamp_seconds",
			Help: "Unix time of the last successful upload per target.",
		}, []string{"target"}),
		deadLetters: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "cloudscout_upload_deadletter_batches",
			Help: "Batches now in a target's dead-letter folder.",
		}, []string{"target"}),
		backlogBatches: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cloudscout_upload_backlog_batches",
			Help: "Sealed batches not yet delivered to every target.",
		}),
		backlogBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cloudscout_upload_backlog_bytes",
			Help: "Bytes of sealed batches not yet delivered to every target.",
		}),
	}
	oldestGauge := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cloudscout_upload_backlog_oldest_seconds",
		Help: "Age of the oldest batch not yet delivered to every target (0 when none).",
	}, func() float64 { return oldest().Seconds() })
	for _, c := range []prometheus.Collector{m.batches, m.bytes, m.failures, m.lastSuccess, m.deadLetters,
		m.backlogBatches, m.backlogBytes, oldestGauge} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register upload metrics: %w", err)
		}
	}
	// Show every target's series from the start so alerts see zeros.
	for _, t := range targets {
		m.batches.WithLabelValues(t, resultDelivered)
		m.batches.WithLabelValues(t, resultDeadLetter)
		m.bytes.WithLabelValues(t)
		m.deadLetters.WithLabelValues(t)
	}
	return m, nil
}
