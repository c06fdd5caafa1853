package syslog

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"
)

type recMsg struct {
	data      string
	truncated bool
	peer      netip.AddrPort
	stream    uint64
}

// recorder is a Handler that records every message. If block is set before the receiver
// starts, Message waits until it is closed (or ctx is done).
type recorder struct {
	block chan struct{}
	fail  func(data []byte) error

	mu     sync.Mutex
	msgs   []recMsg
	opened []StreamInfo
	closed int
}

type recStream struct {
	h    *recorder
	info StreamInfo
}

var (
	_ Handler = (*recorder)(nil)
	_ Stream  = (*recStream)(nil)
)

func (h *recorder) Open(info StreamInfo) Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.opened = append(h.opened, info)
	return &recStream{h: h, info: info}
}

func (s *recStream) Message(ctx context.Context, data []byte, truncated bool, peer netip.AddrPort) error {
	if s.h.block != nil {
		select {
		case <-s.h.block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if s.h.fail != nil {
		if err := s.h.fail(data); err != nil {
			return err
		}
	}
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.msgs = append(s.h.msgs, recMsg{string(data), truncated, peer, s.info.ID})
	return nil
}

func (s *recStream) Close() {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.closed++
}

func (h *recorder) messages() []recMsg {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]recMsg(nil), h.msgs...)
}

func (h *recorder) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.msgs)
}

func (h *recorder) datas() []string {
	var out []string
	for _, m := range h.messages() {
		out = append(out, m.data)
	}
	return out
}

// start runs a receiver for cfg (Name, Address, Handler, Metrics and Logger filled in
// when empty) and stops it at the end of the test, failing if Run does not return.
func start(t testing.TB, cfg Config) (*Receiver, *recorder) {
	t.Helper()
	r, h := newReceiver(t, cfg)
	run(t, r)
	return r, h
}

func newReceiver(t testing.TB, cfg Config) (*Receiver, *recorder) {
	t.Helper()
	if cfg.Name == "" {
		cfg.Name = "test"
	}
	if cfg.Transport == "" {
		cfg.Transport = TransportTCP
	}
	if cfg.Address == "" {
		cfg.Address = "127.0.0.1:0"
	}
	h, _ := cfg.Handler.(*recorder)
	if cfg.Handler == nil {
		h = &recorder{}
		cfg.Handler = h
	}
	if cfg.Metrics == nil {
		cfg.Metrics = NewMetrics(prometheus.NewRegistry())
	}
	cfg.Logger = zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.InfoLevel)
	r, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return r, h
}

func run(t testing.TB, r *Receiver) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	select {
	case <-r.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("receiver not ready")
	}
	if r.Addr() == nil {
		cancel()
		t.Fatalf("receiver failed to bind: %v", <-done)
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
}

// waitFor polls cond until it holds or 15 s pass.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func counter(c *prometheus.CounterVec, labels ...string) int {
	return int(testutil.ToFloat64(c.WithLabelValues(labels...)))
}

func gauge(g *prometheus.GaugeVec, labels ...string) int {
	return int(testutil.ToFloat64(g.WithLabelValues(labels...)))
}

// dialFrom connects to addr from the loopback source address src ("" = any).
func dialFrom(t testing.TB, src string, addr net.Addr) net.Conn {
	t.Helper()
	d := net.Dialer{Timeout: 5 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		t.Fatalf("dial %s from %q: %v", addr, src, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func dial(t testing.TB, addr net.Addr) net.Conn { return dialFrom(t, "", addr) }

func write(t testing.TB, c net.Conn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatalf("write: %v", err)
	}
}

// expectClosed waits until the server closes c (a read returns an error other than a
// timeout).
func expectClosed(t testing.TB, c net.Conn) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
	var b [64]byte
	for {
		_, err := c.Read(b[:])
		if err == nil {
			continue
		}
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Fatal("connection not closed by the server")
		}
		return
	}
}

// canBind reports whether the loopback address ip can be used as a source address.
func canBind(ip string) bool {
	c, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return false
	}
	_ = c.Close()
	return true
}
