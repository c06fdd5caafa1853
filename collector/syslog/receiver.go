package syslog

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/rs/zerolog"
)

// Transports.
const (
	TransportUDP = "udp"
	TransportTCP = "tcp"
	TransportTLS = "tls"
)

// Defaults for zero Config fields.
const (
	DefaultMaxMessageSize          = 64 << 10
	DefaultIdleTimeout             = 5 * time.Minute
	DefaultMaxConnections          = 1000
	DefaultMaxConnectionsPerSender = 100
	DefaultReadBuffer              = 8 << 20
	DefaultUDPReaders              = 2
	DefaultHandshakeTimeout        = 10 * time.Second

	// MaxMessageSizeLimit bounds Config.MaxMessageSize; it is also the largest octet
	// count taken as a frame length.
	MaxMessageSizeLimit = maxFrameLen
	minMessageSize      = 16
	maxUDPReaders       = 64
	// streamBufferSize is the bufio.Reader size a TCP/TLS connection starts with;
	// one that keeps filling it moves to busyBufferSize (fewer read syscalls per
	// message), so idle and slow connections stay small.
	streamBufferSize = 16 << 10
	busyBufferSize   = 128 << 10
	busyAfterReads   = 8 // consecutive reads that filled the buffer
)

// StreamInfo describes one connection (TCP/TLS) or one UDP reader.
type StreamInfo struct {
	Listener  string         // Config.Name
	Transport string         // "udp", "tcp" or "tls"
	Peer      netip.AddrPort // remote address; zero for UDP readers
	// ID is unique per connection (and per UDP reader) within one Receiver; the pair
	// (Listener, ID) is unique within a process as long as listener names are.
	ID uint64
	// TLSPeerCN is the subject CN of the client certificate, set only when the
	// certificate was verified against cfg.TLS.ClientCAs.
	TLSPeerCN string
}

// Handler is implemented by the pipeline.
type Handler interface {
	// Open is called for each accepted TCP/TLS connection (after the Allow check, the
	// limits and the TLS handshake), and once per UDP reader goroutine (Peer zero; the
	// per-datagram peer comes with each Message call). It is called concurrently for
	// different connections. Returning nil refuses a TCP/TLS connection (closed, counted
	// as rejected, reason "handler"); for UDP it makes Run fail.
	Open(info StreamInfo) Stream
}

// Stream receives the messages of one connection or UDP reader. Its methods are called
// from one goroutine at a time.
type Stream interface {
	// Message handles one framed message. data is valid only during the call. It may
	// block (backpressure: while it blocks, the TCP connection is not read); it should
	// return when ctx is cancelled, since Run waits for it. A returned error closes the
	// TCP connection (logged+counted); for UDP it is counted and the datagram is dropped.
	Message(ctx context.Context, data []byte, truncated bool, peer netip.AddrPort) error
	// Close is called once when the connection or UDP reader ends.
	Close()
}

// Flusher is optionally implemented by a Stream that batches work (records,
// counters, a cached clock) across messages: Flush is called whenever the receiver
// has handed over every message it has read and is about to wait for more data, and
// before Close, so nothing stays batched while a sender is quiet. Like Message it
// may block (backpressure) and should return when ctx is cancelled; an error closes
// the TCP connection (counted as a handler error) or, for UDP, is counted.
type Flusher interface {
	Flush(ctx context.Context) error
}

// Config configures one Receiver (one listening socket).
type Config struct {
	Name      string // listener name, used in metrics and logs
	Transport string // udp, tcp or tls
	Address   string // host:port to bind
	// TLS is required for transport tls (and refused otherwise); it must hold a server
	// certificate. MinVersion is raised to TLS 1.2 if lower. Client certificates are
	// checked as TLS.ClientAuth says. The config is cloned by New: to reload
	// certificates, use GetCertificate or GetConfigForClient.
	TLS *tls.Config
	// MaxMessageSize (default 64 KiB, at most 16 MiB): longer messages are delivered
	// truncated to this size and the rest is discarded (never buffered), counted.
	MaxMessageSize int
	// IdleTimeout (default 5m), TCP/TLS: a connection that sends nothing for this long
	// is closed, and so is one whose current message has been arriving for longer
	// (slowloris). Time spent blocked in the Handler does not count.
	IdleTimeout time.Duration
	// MaxConnections (default 1000) per listener; extra connections are closed at once,
	// counted. MaxConnectionsPerSender (default 100) applies per source IP.
	MaxConnections          int
	MaxConnectionsPerSender int
	// HandshakeTimeout (default 10s) bounds the TLS handshake so that a silent client
	// cannot hold a slot.
	HandshakeTimeout time.Duration
	// ReadBuffer is the UDP SO_RCVBUF requested (default 8 MiB); the size granted is
	// logged and exported.
	ReadBuffer int
	// UDPReaders is the number of goroutines reading the UDP socket (default 2).
	UDPReaders int
	// Allow decides which senders may use the listener (nil: all). Refused TCP/TLS
	// connections are closed at accept, refused UDP datagrams dropped; both counted.
	// It runs on the accept/read path and must be fast.
	Allow   func(netip.Addr) bool
	Handler Handler
	Logger  zerolog.Logger
	// Metrics may be shared between receivers; nil gives private unregistered metrics.
	Metrics *Metrics
}

// Receiver is one syslog listener.
type Receiver struct {
	cfg     Config
	tlsConf *tls.Config
	log     zerolog.Logger
	met     *listenerMetrics

	ready   chan struct{}
	addr    atomic.Pointer[net.Addr]
	started atomic.Bool
	nextID  atomic.Uint64

	// TCP/TLS connection accounting.
	mu        sync.Mutex
	conns     map[*streamConn]struct{}
	perSender map[netip.Addr]int
	closing   bool

	// Test hooks.
	dropPollInterval time.Duration
}

// New validates cfg, fills in defaults and returns a Receiver. It binds nothing.
func New(cfg Config) (*Receiver, error) {
	if cfg.Name == "" {
		return nil, errors.New("syslog receiver: name is empty")
	}
	if cfg.Handler == nil {
		return nil, fmt.Errorf("syslog receiver %q: handler is nil", cfg.Name)
	}
	if _, _, err := net.SplitHostPort(cfg.Address); err != nil {
		return nil, fmt.Errorf("syslog receiver %q: address %q: %w", cfg.Name, cfg.Address, err)
	}
	r := &Receiver{ready: make(chan struct{}), dropPollInterval: 5 * time.Second}
	switch cfg.Transport {
	case TransportUDP, TransportTCP:
		if cfg.TLS != nil {
			return nil, fmt.Errorf("syslog receiver %q: tls config given for transport %s", cfg.Name, cfg.Transport)
		}
	case TransportTLS:
		if cfg.TLS == nil {
			return nil, fmt.Errorf("syslog receiver %q: transport tls needs a tls config", cfg.Name)
		}
		if len(cfg.TLS.Certificates) == 0 && cfg.TLS.GetCertificate == nil && cfg.TLS.GetConfigForClient == nil {
			return nil, fmt.Errorf("syslog receiver %q: tls config has no server certificate", cfg.Name)
		}
		r.tlsConf = cfg.TLS.Clone()
		if r.tlsConf.MinVersion < tls.VersionTLS12 {
			r.tlsConf.MinVersion = tls.VersionTLS12
		}
	default:
		return nil, fmt.Errorf("syslog receiver %q: unknown transport %q (want udp, tcp or tls)", cfg.Name, cfg.Transport)
	}
	if err := defaults(&cfg); err != nil {
		return nil, fmt.Errorf("syslog receiver %q: %w", cfg.Name, err)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(nil)
	}
	r.cfg = cfg
	r.log = cfg.Logger.With().Str("listener", cfg.Name).Str("transport", cfg.Transport).Logger()
	r.met = cfg.Metrics.forListener(cfg.Name, cfg.Transport)
	return r, nil
}

func defaults(cfg *Config) error {
	type intField struct {
		name string
		v    *int
		def  int
		lo   int
		hi   int
	}
	for _, f := range []intField{
		{"max message size", &cfg.MaxMessageSize, DefaultMaxMessageSize, minMessageSize, MaxMessageSizeLimit},
		{"max connections", &cfg.MaxConnections, DefaultMaxConnections, 1, 1 << 20},
		{"max connections per sender", &cfg.MaxConnectionsPerSender, DefaultMaxConnectionsPerSender, 1, 1 << 20},
		{"read buffer", &cfg.ReadBuffer, DefaultReadBuffer, 1, 1 << 30},
		{"udp readers", &cfg.UDPReaders, DefaultUDPReaders, 1, maxUDPReaders},
	} {
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v < f.lo || *f.v > f.hi {
			return fmt.Errorf("%s %d out of range [%d, %d]", f.name, *f.v, f.lo, f.hi)
		}
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"idle timeout", &cfg.IdleTimeout, DefaultIdleTimeout},
		{"handshake timeout", &cfg.HandshakeTimeout, DefaultHandshakeTimeout},
	} {
		if *f.v == 0 {
			*f.v = f.def
		}
		if *f.v < 0 {
			return fmt.Errorf("%s %v is negative", f.name, *f.v)
		}
	}
	return nil
}

// Ready is closed once the socket is bound (Addr is then set), or when Run returns
// without having bound it (Addr is then nil).
func (r *Receiver) Ready() <-chan struct{} { return r.ready }

// Addr returns the bound address, or nil before binding.
func (r *Receiver) Addr() net.Addr {
	if a := r.addr.Load(); a != nil {
		return *a
	}
	return nil
}

// Run binds the socket and serves until ctx is cancelled. It then closes the socket and
// every connection and returns after all its goroutines (including Handler calls) have
// ended. A bind error is returned at once. Run may be called only once.
func (r *Receiver) Run(ctx context.Context) error {
	if !r.started.CompareAndSwap(false, true) {
		return fmt.Errorf("syslog receiver %q: Run called twice", r.cfg.Name)
	}
	readyClosed := false
	markReady := func(a net.Addr) {
		r.addr.Store(&a)
		close(r.ready)
		readyClosed = true
	}
	defer func() {
		if !readyClosed {
			close(r.ready)
		}
	}()
	if r.cfg.Transport == TransportUDP {
		return r.runUDP(ctx, markReady)
	}
	return r.runStream(ctx, markReady)
}

func (r *Receiver) newID() uint64 { return r.nextID.Add(1) }

// sleepCtx waits d or until ctx is done; it reports whether ctx is still live.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func unmapAddrPort(ap netip.AddrPort) netip.AddrPort {
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}
