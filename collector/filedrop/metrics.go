package filedrop

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Quarantine reasons.
const (
	reasonBomb        = "too_large"   // expands past MaxExpandedBytes
	reasonCorrupt     = "corrupt"     // decompression failed
	reasonNested      = "nested"      // an archive inside an archive
	reasonUnsupported = "unsupported" // a compression format we do not read
	reasonZipEntries  = "zip_entries" // too many zip members
	reasonUnreadable  = "unreadable"  // cannot be opened or read
)

type metrics struct {
	files       *prometheus.CounterVec
	lines       *prometheus.CounterVec
	bytes       *prometheus.CounterVec
	truncated   prometheus.Counter
	quarantined *prometheus.CounterVec
	errors      *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		files: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_filedrop_files_total",
			Help: "Files finished by source and result (done, quarantined).",
		}, []string{"source", "result"}),
		lines: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_filedrop_lines_total",
			Help: "Lines handed to the pipeline, by source.",
		}, []string{"source"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_filedrop_bytes_total",
			Help: "Bytes (decompressed) of the lines handed to the pipeline, by source.",
		}, []string{"source"}),
		truncated: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cloudscout_filedrop_truncated_lines_total",
			Help: "Lines longer than MaxLineBytes, delivered truncated.",
		}),
		quarantined: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_filedrop_quarantined_total",
			Help: "Files moved to quarantine, by reason.",
		}, []string{"reason"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_filedrop_errors_total",
			Help: "Processing attempts that failed and will be retried, by source and stage (sink, checkpoint, archive, scan).",
		}, []string{"source", "stage"}),
	}
	for _, r := range []string{reasonBomb, reasonCorrupt, reasonNested, reasonUnsupported, reasonZipEntries, reasonUnreadable} {
		m.quarantined.WithLabelValues(r)
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.files, m.lines, m.bytes, m.truncated, m.quarantined, m.errors} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register filedrop metrics: %w", err)
		}
	}
	return m, nil
}
