package syslog

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics holds the receiver metrics. One Metrics may be shared by several receivers;
// every series carries the listener name.
type Metrics struct {
	messages        *prometheus.CounterVec // listener, transport
	bytes           *prometheus.CounterVec // listener, transport
	truncated       *prometheus.CounterVec // listener, transport
	handlerErrors   *prometheus.CounterVec // listener, transport
	framingErrors   *prometheus.CounterVec // listener, reason
	connActive      *prometheus.GaugeVec   // listener
	connTotal       *prometheus.CounterVec // listener
	connRejected    *prometheus.CounterVec // listener, reason
	connClosed      *prometheus.CounterVec // listener, reason
	tlsFailures     *prometheus.CounterVec // listener, reason
	acceptErrors    *prometheus.CounterVec // listener
	udpDropped      *prometheus.CounterVec // listener, reason
	udpKernelDrops  *prometheus.CounterVec // listener
	udpRcvbuf       *prometheus.GaugeVec   // listener
	udpReadErrors   *prometheus.CounterVec // listener
	kernelDropsRead *prometheus.CounterVec // listener: failed reads of the kernel drop counter
}

// NewMetrics creates the metrics and registers them with reg (nil: not registered).
// Registering twice with the same registry reuses the collectors already registered.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: "cloudscout", Subsystem: "syslog", Name: name, Help: help,
		}, labels)
		return register(reg, c)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		g := prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: "cloudscout", Subsystem: "syslog", Name: name, Help: help,
		}, labels)
		return register(reg, g)
	}
	return &Metrics{
		messages:      counter("messages_total", "Messages handed to the pipeline.", "listener", "transport"),
		bytes:         counter("bytes_total", "Bytes handed to the pipeline (message bytes after framing; the delivered part of truncated messages).", "listener", "transport"),
		truncated:     counter("truncated_total", "Messages longer than the maximum size, delivered truncated.", "listener", "transport"),
		handlerErrors: counter("handler_errors_total", "Messages the pipeline returned an error for.", "listener", "transport"),
		framingErrors: counter("framing_errors_total", "Malformed octet counts and frames cut short by the end of the connection.", "listener", "reason"),
		connActive:    gauge("connections_active", "Open TCP/TLS connections.", "listener"),
		connTotal:     counter("connections_total", "TCP/TLS connections accepted from the kernel, rejected ones included.", "listener"),
		connRejected:  counter("connections_rejected_total", "TCP/TLS connections closed before serving, by reason (limit, sender_limit, not_allowed, tls_handshake, handler, shutdown).", "listener", "reason"),
		connClosed:    counter("connections_closed_total", "Served TCP/TLS connections that ended, by reason (eof, timeout, read_error, handler_error, shutdown).", "listener", "reason"),
		tlsFailures:   counter("tls_handshake_failures_total", "Failed TLS handshakes by reason.", "listener", "reason"),
		acceptErrors:  counter("accept_errors_total", "Errors from accept (e.g. EMFILE); the listener backs off and continues.", "listener"),
		udpDropped:    counter("udp_dropped_total", "UDP datagrams dropped by the receiver, by reason (not_allowed, handler_error, queue_full: the receive queue was full, shutdown: still queued when the listener stopped).", "listener", "reason"),
		udpKernelDrops: counter("udp_kernel_drops_total",
			"UDP datagrams the kernel dropped on this socket (receive buffer full), read from /proc/net/udp{,6}.", "listener"),
		udpRcvbuf:       gauge("udp_rcvbuf_bytes", "UDP socket receive buffer size granted by the kernel (getsockopt SO_RCVBUF).", "listener"),
		udpReadErrors:   counter("udp_read_errors_total", "Errors reading the UDP socket.", "listener"),
		kernelDropsRead: counter("udp_kernel_drops_read_errors_total", "Failed reads of the kernel's per-socket drop counter.", "listener"),
	}
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// Only a programming error (a clashing metric of another type) gets here.
		panic(err)
	}
	return c
}

// listenerMetrics holds the series of one receiver, resolved once.
type listenerMetrics struct {
	messages, bytes, truncated, handlerErrors prometheus.Counter
	connActive                                prometheus.Gauge
	connTotal, acceptErrors                   prometheus.Counter
	udpKernelDrops, udpReadErrors             prometheus.Counter
	udpRcvbuf                                 prometheus.Gauge
	kernelDropsRead                           prometheus.Counter

	m        *Metrics
	listener string
}

func (m *Metrics) forListener(listener, transport string) *listenerMetrics {
	return &listenerMetrics{
		messages:        m.messages.WithLabelValues(listener, transport),
		bytes:           m.bytes.WithLabelValues(listener, transport),
		truncated:       m.truncated.WithLabelValues(listener, transport),
		handlerErrors:   m.handlerErrors.WithLabelValues(listener, transport),
		connActive:      m.connActive.WithLabelValues(listener),
		connTotal:       m.connTotal.WithLabelValues(listener),
		acceptErrors:    m.acceptErrors.WithLabelValues(listener),
		udpKernelDrops:  m.udpKernelDrops.WithLabelValues(listener),
		udpReadErrors:   m.udpReadErrors.WithLabelValues(listener),
		udpRcvbuf:       m.udpRcvbuf.WithLabelValues(listener),
		kernelDropsRead: m.kernelDropsRead.WithLabelValues(listener),
		m:               m,
		listener:        listener,
	}
}

func (l *listenerMetrics) framingError(reason string) {
	l.m.framingErrors.WithLabelValues(l.listener, reason).Inc()
}

func (l *listenerMetrics) rejected(reason string) {
	l.m.connRejected.WithLabelValues(l.listener, reason).Inc()
}

func (l *listenerMetrics) closed(reason string) {
	l.m.connClosed.WithLabelValues(l.listener, reason).Inc()
}

func (l *listenerMetrics) tlsFailure(reason string) {
	l.m.tlsFailures.WithLabelValues(l.listener, reason).Inc()
}

func (l *listenerMetrics) udpDrop(reason string) {
	l.m.udpDropped.WithLabelValues(l.listener, reason).Inc()
}
