package spool

import (
	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	sealed      prometheus.Counter
	torn        prometheus.Counter
	quarantined prometheus.Counter
	full        prometheus.Counter
	writeErrors prometheus.Counter
	fsync       prometheus.Histogram
}

func newMetrics() *metrics {
	return &metrics{
		sealed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cloudscout_spool_batches_sealed_total",
			Help: "Segments sealed into batches.",
		}),
		torn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cloudscout_spool_torn_tails_truncated_total",
			Help: "Segments whose torn last block was truncated on recovery.",
		}),
		quarantined: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cloudscout_spool_segments_quarantined_total",
			Help: "Segments and batches moved to quarantine as unreadable or corrupt.",
		}),
		full: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cloudscout_spool_full_rejections_total",
			Help: "Appends refused with ErrFull (quota reached or write error pending).",
		}),
		writeErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cloudscout_spool_write_errors_total",
			Help: "Write or fsync failures of spool segments.",
		}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "cloudscout_spool_fsync_duration_seconds",
			Help:    "Duration of segment fsyncs.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 4, 9),
		}),
	}
}

func (m *metrics) register(r prometheus.Registerer, s *Spool) error {
	cs := []prometheus.Collector{m.sealed, m.torn, m.quarantined, m.full, m.writeErrors, m.fsync, &stateCollector{s: s}}
	for i, c := range cs {
		if err := r.Register(c); err != nil {
			for _, done := range cs[:i] {
				r.Unregister(done)
			}
			return err
		}
	}
	return nil
}

var (
	descBytes = prometheus.NewDesc("cloudscout_spool_bytes",
		"Bytes on disk, by state (open segments, sealed batches with manifests).", []string{"state"}, nil)
	descBuffered = prometheus.NewDesc("cloudscout_spool_buffered_bytes",
		"Quota held by records in memory, not yet written.", nil, nil)
	descQuota = prometheus.NewDesc("cloudscout_spool_quota_bytes",
		"Configured spool quota.", nil, nil)
	descPending = prometheus.NewDesc("cloudscout_spool_batches_pending",
		"Sealed batches waiting for upload.", nil, nil)
	descFull = prometheus.NewDesc("cloudscout_spool_full",
		"1 while Append refuses records (quota reached or write error pending).", nil, nil)
	descRecords = prometheus.NewDesc("cloudscout_spool_records_appended_total",
		"Records appended, by source.", []string{"source"}, nil)
)

// stateCollector reads the spool's counters at scrape time, so the hot path
// pays nothing for these metrics.
type stateCollector struct{ s *Spool }

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBytes, descBuffered, descQuota, descPending, descFull, descRecords} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(s.openBytes.Load()), "open")
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.GaugeValue, float64(s.sealedBytes.Load()), "sealed")
	ch <- prometheus.MustNewConstMetric(descBuffered, prometheus.GaugeValue, float64(s.buffered.Load()))
	ch <- prometheus.MustNewConstMetric(descQuota, prometheus.GaugeValue, float64(s.quota))
	s.bmu.Lock()
	pending := len(s.batches)
	s.bmu.Unlock()
	ch <- prometheus.MustNewConstMetric(descPending, prometheus.GaugeValue, float64(pending))
	full := 0.0
	if s.full() {
		full = 1
	}
	ch <- prometheus.MustNewConstMetric(descFull, prometheus.GaugeValue, full)
	s.eachSource(func(src *source) {
		src.mu.Lock()
		n := src.appended
		src.mu.Unlock()
		ch <- prometheus.MustNewConstMetric(descRecords, prometheus.CounterValue, float64(n), src.name)
	})
}
