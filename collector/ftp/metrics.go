package ftp

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// Reasons for cloudscout_ftp_rejected_total.
const (
	reasonTraversal   = "traversal"
	reasonBounce      = "bounce"
	reasonPassivePeer = "passive_peer"
	reasonQuota       = "quota"
	reasonDiskFull    = "disk_full"
	reasonTLSRequired = "tls_required"
	reasonBanned      = "banned"
)

type metrics struct {
	logins   *prometheus.CounterVec
	bans     prometheus.Counter
	uploads  *prometheus.CounterVec
	bytes    *prometheus.CounterVec
	rejected *prometheus.CounterVec
	conns    prometheus.Gauge
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_ftp_logins_total",
			Help: "FTP login attempts by result (success, failure).",
		}, []string{"result"}),
		bans: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "cloudscout_ftp_bans_total",
			Help: "Client addresses banned after repeated failed logins.",
		}),
		uploads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_ftp_uploads_total",
			Help: "FTP uploads by source and result (ok, aborted, quota, disk_full, error).",
		}, []string{"source", "result"}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_ftp_bytes_total",
			Help: "Bytes of completed (226) FTP uploads by source.",
		}, []string{"source"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "cloudscout_ftp_rejected_total",
			Help: "Refused FTP requests by reason.",
		}, []string{"reason"}),
		conns: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "cloudscout_ftp_connections",
			Help: "Open FTP control connections.",
		}),
	}
	for _, r := range []string{reasonTraversal, reasonBounce, reasonPassivePeer, reasonQuota, reasonDiskFull, reasonTLSRequired, reasonBanned} {
		m.rejected.WithLabelValues(r)
	}
	m.logins.WithLabelValues("success")
	m.logins.WithLabelValues("failure")
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.logins, m.bans, m.uploads, m.bytes, m.rejected, m.conns} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("register ftp metrics: %w", err)
		}
	}
	return m, nil
}
