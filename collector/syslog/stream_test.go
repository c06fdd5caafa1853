package syslog

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestTCPFraming(t *testing.T) {
	r, h := start(t, Config{})
	c := dial(t, r.Addr())
	in := "<13>lf\n" + "<13>nul\x00" + "<13>crlf\r\n" +
		octet("<13>oct\nwith\nlines") + octet("<13>rsyslog\n") + octet("<13>crlf-in-frame\r\n") +
		"<13>after octet\n" + octet("<13>last")
	write(t, c, in)
	want := []string{"<13>lf", "<13>nul", "<13>crlf", "<13>oct\nwith\nlines", "<13>rsyslog",
		"<13>crlf-in-frame", "<13>after octet", "<13>last"}
	waitFor(t, "messages", func() bool { return h.count() == len(want) })
	if got := h.datas(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	for _, m := range h.messages() {
		if m.truncated || m.peer != local {
			t.Errorf("message %q: truncated=%v peer=%v (client %v)", m.data, m.truncated, m.peer, local)
		}
	}
	h.mu.Lock()
	info := h.opened[0]
	h.mu.Unlock()
	if info.Transport != TransportTCP || info.Listener != "test" || info.Peer != local || info.ID == 0 {
		t.Errorf("stream info %+v", info)
	}
	m := r.cfg.Metrics
	if n := counter(m.messages, "test", "tcp"); n != len(want) {
		t.Errorf("messages_total = %d", n)
	}
	wantBytes := 0
	for _, s := range want {
		wantBytes += len(s)
	}
	if n := counter(m.bytes, "test", "tcp"); n != wantBytes {
		t.Errorf("bytes_total = %d, want %d", n, wantBytes)
	}
	if n := total(framingErrors(r)); n != 0 {
		t.Errorf("framing errors %d", n)
	}
	_ = c.Close()
	waitFor(t, "eof close", func() bool { return counter(m.connClosed, "test", "eof") == 1 })
	waitFor(t, "stream close", func() bool { h.mu.Lock(); defer h.mu.Unlock(); return h.closed == 1 })
	waitFor(t, "slot released", func() bool { return gauge(m.connActive, "test") == 0 })
}

func framingErrors(r *Receiver) map[string]int {
	out := map[string]int{}
	for _, reason := range []string{reasonBadMsgLen, reasonMsgLenLarge, reasonShortFrame} {
		if n := counter(r.cfg.Metrics.framingErrors, r.cfg.Name, reason); n > 0 {
			out[reason] = n
		}
	}
	return out
}

func TestTCPHugeLine(t *testing.T) {
	r, h := start(t, Config{})
	c := dial(t, r.Addr())
	big := []byte(strings.Repeat("A", 10<<20))
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	if _, err := c.Write(big); err != nil {
		t.Fatal(err)
	}
	write(t, c, "\n<13>next line\n")
	waitFor(t, "two messages", func() bool { return h.count() == 2 })
	runtime.ReadMemStats(&after)
	msgs := h.messages()
	if !msgs[0].truncated || len(msgs[0].data) != DefaultMaxMessageSize || msgs[0].data != string(big[:DefaultMaxMessageSize]) {
		t.Errorf("first message: truncated=%v len=%d", msgs[0].truncated, len(msgs[0].data))
	}
	if msgs[1].data != "<13>next line" || msgs[1].truncated {
		t.Errorf("second message %+v", msgs[1])
	}
	if n := counter(r.cfg.Metrics.truncated, "test", "tcp"); n != 1 {
		t.Errorf("truncated_total = %d", n)
	}
	// Buffering the line would allocate 10 MiB or more.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("receiving a 10 MiB line allocated %d bytes", alloc)
	}
	// The connection still works.
	write(t, c, octet("<13>third"))
	waitFor(t, "third message", func() bool { return h.count() == 3 })
}

func TestTCPBadOctetCounts(t *testing.T) {
	r, h := start(t, Config{MaxMessageSize: 32})
	cases := []struct {
		in, first, reason string
	}{
		{"0 x\n", "0 x", reasonBadMsgLen},
		{"007 abc\n", "007 abc", reasonBadMsgLen},
		{"12/ y\n", "12/ y", reasonBadMsgLen},
		{"99999999999999999999 z\n", "99999999999999999999 z", reasonMsgLenLarge},
		{"16777217 w\n", "16777217 w", reasonMsgLenLarge},
	}
	for i, tc := range cases {
		c := dial(t, r.Addr())
		// The bad frame is counted, delivered as an LF-framed line, and the connection
		// keeps working for the next (octet-counted) message.
		write(t, c, tc.in+octet("<13>ok"))
		waitFor(t, "messages", func() bool { return h.count() == 2*(i+1) })
		msgs := h.messages()[2*i:]
		if msgs[0].data != tc.first || msgs[1].data != "<13>ok" {
			t.Errorf("%q: got %q, %q", tc.in, msgs[0].data, msgs[1].data)
		}
		_ = c.Close()
	}
	want := map[string]int{reasonBadMsgLen: 3, reasonMsgLenLarge: 2}
	if got := framingErrors(r); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("framing errors %v, want %v", got, want)
	}
	// A frame cut short by the end of the connection: what arrived is delivered truncated.
	c := dial(t, r.Addr())
	write(t, c, "20 <13>short")
	_ = c.Close()
	waitFor(t, "short frame", func() bool { return h.count() == 2*len(cases)+1 })
	if m := h.messages()[2*len(cases)]; m.data != "<13>short" || !m.truncated {
		t.Errorf("short frame delivered as %+v", m)
	}
	waitFor(t, "short_frame counted", func() bool { return framingErrors(r)[reasonShortFrame] == 1 })
}

func TestTCPRandomBytes(t *testing.T) {
	const maxSize = 512
	r, h := start(t, Config{MaxMessageSize: maxSize})
	rng := rand.New(rand.NewPCG(1, 2))
	junk := make([]byte, 1<<20)
	for i := range junk {
		// Bias towards framing bytes so that headers, terminators and digits are common.
		switch rng.IntN(8) {
		case 0:
			const special = "\n\x00\r 0123456789"
			junk[i] = special[rng.IntN(len(special))]
		default:
			junk[i] = byte(rng.IntN(256))
		}
	}
	c := dial(t, r.Addr())
	if _, err := c.Write(junk); err != nil {
		t.Fatal(err)
	}
	_ = c.Close()
	want, wantErrs := refFrames(junk, maxSize)
	waitFor(t, "random stream framed", func() bool { return h.count() == len(want) })
	got := h.messages()
	for i := range want {
		if got[i].data != want[i].data || got[i].truncated != want[i].truncated {
			t.Fatalf("message %d: got %q (%v), reference %q (%v)", i, got[i].data, got[i].truncated, want[i].data, want[i].truncated)
		}
	}
	waitFor(t, "framing errors", func() bool { return total(framingErrors(r)) == wantErrs })
	// The listener is unaffected.
	c2 := dial(t, r.Addr())
	write(t, c2, "<13>still fine\n")
	waitFor(t, "next connection", func() bool { return h.count() == len(want)+1 })
}

func TestInvalidUTF8PassedThrough(t *testing.T) {
	payload := "<13>\xff\xfe bad \xc3\x28 \xed\xa0\x80 \x1b[31m"
	tr, th := start(t, Config{})
	c := dial(t, tr.Addr())
	write(t, c, payload+"\n"+octet(payload))
	waitFor(t, "tcp messages", func() bool { return th.count() == 2 })
	ur, uh := start(t, Config{Transport: TransportUDP})
	u := dialUDP(t, "", ur.Addr())
	if _, err := u.Write([]byte(payload)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "udp message", func() bool { return uh.count() == 1 })
	for _, got := range append(th.datas(), uh.datas()...) {
		if got != payload {
			t.Errorf("got %q, want %q", got, payload)
		}
	}
}

func TestAllowRefusesSender(t *testing.T) {
	if !canBind("127.0.0.2") {
		t.Skip("cannot use 127.0.0.2 as a source address")
	}
	refused := netip.MustParseAddr("127.0.0.2")
	allow := func(a netip.Addr) bool { return a != refused }
	r, h := start(t, Config{Allow: allow})
	bad := dialFrom(t, "127.0.0.2", r.Addr())
	expectClosed(t, bad)
	good := dialFrom(t, "127.0.0.1", r.Addr())
	write(t, good, "<13>allowed\n")
	waitFor(t, "allowed message", func() bool { return h.count() == 1 })
	if n := counter(r.cfg.Metrics.connRejected, "test", "not_allowed"); n != 1 {
		t.Errorf("rejected not_allowed = %d", n)
	}
	h.mu.Lock()
	opened := len(h.opened)
	h.mu.Unlock()
	if opened != 1 {
		t.Errorf("handler opened %d streams, want 1 (refused sender must not reach it)", opened)
	}

	ur, uh := start(t, Config{Transport: TransportUDP, Allow: allow})
	ub := dialUDP(t, "127.0.0.2", ur.Addr())
	ug := dialUDP(t, "127.0.0.1", ur.Addr())
	for range 3 {
		_, _ = ub.Write([]byte("<13>refused"))
	}
	_, _ = ug.Write([]byte("<13>allowed"))
	waitFor(t, "udp drops counted", func() bool { return counter(ur.cfg.Metrics.udpDropped, "test", "not_allowed") == 3 })
	waitFor(t, "udp allowed", func() bool { return uh.count() == 1 })
	if got := uh.datas(); got[0] != "<13>allowed" {
		t.Errorf("udp got %q", got)
	}
}

func TestConnectionLimits(t *testing.T) {
	for _, ip := range []string{"127.0.0.2", "127.0.0.3"} {
		if !canBind(ip) {
			t.Skipf("cannot use %s as a source address", ip)
		}
	}
	r, h := start(t, Config{MaxConnections: 3, MaxConnectionsPerSender: 2})
	m := r.cfg.Metrics
	active := func(n int) func() bool { return func() bool { return gauge(m.connActive, "test") == n } }
	a := dialFrom(t, "127.0.0.1", r.Addr())
	waitFor(t, "a admitted", active(1))
	dialFrom(t, "127.0.0.1", r.Addr())
	waitFor(t, "b admitted", active(2))
	c := dialFrom(t, "127.0.0.1", r.Addr())
	expectClosed(t, c)
	if n := counter(m.connRejected, "test", "sender_limit"); n != 1 {
		t.Errorf("sender_limit rejections = %d", n)
	}
	d := dialFrom(t, "127.0.0.2", r.Addr())
	waitFor(t, "d admitted", active(3))
	e := dialFrom(t, "127.0.0.3", r.Addr())
	expectClosed(t, e)
	if n := counter(m.connRejected, "test", "limit"); n != 1 {
		t.Errorf("limit rejections = %d", n)
	}
	write(t, d, "<13>from d\n")
	write(t, a, "<13>from a\n")
	waitFor(t, "messages on admitted connections", func() bool { return h.count() == 2 })
	_ = a.Close()
	waitFor(t, "a released", active(2))
	f := dialFrom(t, "127.0.0.1", r.Addr())
	write(t, f, "<13>from f\n")
	waitFor(t, "slot reused", func() bool { return h.count() == 3 })
	if n := counter(m.connTotal, "test"); n != 6 {
		t.Errorf("connections_total = %d, want 6", n)
	}
}

func TestManyIdleConnections(t *testing.T) {
	const limit, clients = 1000, 2000
	r, h := start(t, Config{MaxConnections: limit, MaxConnectionsPerSender: clients})
	m := r.cfg.Metrics
	conns := make([]net.Conn, 0, clients)
	defer func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}()
	for range clients {
		c, err := net.DialTimeout("tcp", r.Addr().String(), 5*time.Second)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		conns = append(conns, c)
	}
	waitFor(t, "limit reached", func() bool {
		return gauge(m.connActive, "test") == limit && counter(m.connRejected, "test", "limit") == clients-limit
	})
	for _, c := range conns {
		_ = c.Close()
	}
	conns = conns[:0]
	waitFor(t, "all released", func() bool { return gauge(m.connActive, "test") == 0 })
	c := dial(t, r.Addr())
	write(t, c, "<13>after the flood\n")
	waitFor(t, "message after flood", func() bool { return h.count() == 1 })
}

func TestIdleTimeout(t *testing.T) {
	r, h := start(t, Config{IdleTimeout: time.Second})
	m := r.cfg.Metrics
	idle := dial(t, r.Addr())
	// A sender that completes a message more often than the timeout stays connected.
	busy := dial(t, r.Addr())
	for i := range 8 {
		write(t, busy, fmt.Sprintf("<13>tick %d\n", i))
		time.Sleep(100 * time.Millisecond)
	}
	expectClosed(t, idle)
	waitFor(t, "idle close counted", func() bool { return counter(m.connClosed, "test", "timeout") == 1 })
	write(t, busy, "<13>still here\n")
	waitFor(t, "busy messages", func() bool { return h.count() == 9 })
	if n := counter(m.connClosed, "test", "timeout"); n != 1 {
		t.Errorf("timeouts = %d, want 1 (only the idle connection)", n)
	}
}

func TestSlowloris(t *testing.T) {
	r, h := start(t, Config{IdleTimeout: 400 * time.Millisecond})
	c := dial(t, r.Addr())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Dribble one byte every 50 ms, never ending the message: every read resets a plain
	// idle deadline, so only the per-message limit closes this connection.
	go func() {
		for ctx.Err() == nil {
			if _, err := c.Write([]byte("x")); err != nil {
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	}()
	expectClosed(t, c)
	waitFor(t, "timeout counted", func() bool { return counter(r.cfg.Metrics.connClosed, "test", "timeout") == 1 })
	// The bytes that did arrive are handed on, not dropped.
	waitFor(t, "partial message", func() bool { return h.count() == 1 })
	if d := h.datas()[0]; strings.Trim(d, "x") != "" {
		t.Errorf("partial message %q", d)
	}
}

func TestBackpressure(t *testing.T) {
	block := make(chan struct{})
	h := &recorder{block: block}
	r, _ := start(t, Config{Handler: h})
	c := dial(t, r.Addr())
	_ = c.(*net.TCPConn).SetWriteBuffer(64 << 10)
	const n = 400_000 // ~40 MB, far more than the socket buffers hold
	var sent int
	var pending []byte
	blocked := false
	for sent < n && !blocked {
		msg := fmt.Appendf(nil, "<13>message %08d %s\n", sent, strings.Repeat("p", 80))
		_ = c.SetWriteDeadline(time.Now().Add(300 * time.Millisecond))
		k, err := c.Write(msg)
		if err != nil {
			if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
				t.Fatalf("write: %v", err)
			}
			blocked = true
			pending = msg[k:]
		}
		sent++
	}
	if !blocked {
		t.Fatalf("%d messages written without the sender ever blocking", sent)
	}
	if got := h.count(); got != 0 {
		t.Fatalf("%d messages recorded while the handler was blocked", got)
	}
	close(block)
	_ = c.SetWriteDeadline(time.Time{})
	if _, err := c.Write(pending); err != nil {
		t.Fatal(err)
	}
	for i := sent; i < sent+1000; i++ {
		write(t, c, fmt.Sprintf("<13>message %08d %s\n", i, strings.Repeat("p", 80)))
	}
	sent += 1000
	waitFor(t, "all messages after unblocking", func() bool { return h.count() >= sent })
	msgs := h.messages()
	if len(msgs) != sent {
		t.Fatalf("got %d messages, sent %d", len(msgs), sent)
	}
	for i, m := range msgs {
		if want := fmt.Sprintf("<13>message %08d ", i); !strings.HasPrefix(m.data, want) || len(m.data) != len(want)+80 {
			t.Fatalf("message %d is %q", i, m.data)
		}
	}
}

// expectHandlerErrorClose checks that c is closed and counted once as a
// handler error, both as a close reason and in handler_errors_total.
func expectHandlerErrorClose(t *testing.T, r *Receiver, c net.Conn) {
	t.Helper()
	expectClosed(t, c)
	m := r.cfg.Metrics
	waitFor(t, "handler error counted", func() bool { return counter(m.connClosed, "test", "handler_error") == 1 })
	if n := counter(m.handlerErrors, "test", "tcp"); n != 1 {
		t.Errorf("handler_errors_total = %d, want 1", n)
	}
}

func TestHandlerErrorClosesConnection(t *testing.T) {
	errBad := errors.New("bad message")
	h := &recorder{fail: func(d []byte) error {
		if strings.Contains(string(d), "bad") {
			return errBad
		}
		return nil
	}}
	r, _ := start(t, Config{Handler: h})
	c := dial(t, r.Addr())
	write(t, c, "<13>good\n<13>bad\n<13>never\n")
	expectHandlerErrorClose(t, r, c)
	if got := h.datas(); fmt.Sprint(got) != "[<13>good]" {
		t.Errorf("recorded %q", got)
	}
}

func TestShutdownClosesEverything(t *testing.T) {
	block := make(chan struct{})
	defer close(block)
	h := &recorder{block: block}
	r, _ := newReceiver(t, Config{Handler: h})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	<-r.Ready()
	c1 := dial(t, r.Addr())
	c2 := dial(t, r.Addr())
	write(t, c1, "<13>blocks in handler\n")
	waitFor(t, "both connections open", func() bool { return gauge(r.cfg.Metrics.connActive, "test") == 2 })
	_ = c2
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not return")
	}
	h.mu.Lock()
	opened, closed := len(h.opened), h.closed
	h.mu.Unlock()
	if opened != 2 || closed != 2 {
		t.Errorf("streams opened %d closed %d", opened, closed)
	}
	expectClosed(t, c1)
	if _, err := net.DialTimeout("tcp", r.Addr().String(), time.Second); err == nil {
		t.Error("listener still accepting after Run returned")
	}
	if err := r.Run(context.Background()); err == nil {
		t.Error("second Run succeeded")
	}
}

func TestRunBindError(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	for _, tr := range []string{TransportTCP, TransportUDP} {
		addr := ln.Addr().String()
		if tr == TransportUDP {
			pc, err := net.ListenPacket("udp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			defer pc.Close()
			addr = pc.LocalAddr().String()
		}
		r, _ := newReceiver(t, Config{Transport: tr, Address: addr})
		if err := r.Run(context.Background()); err == nil {
			t.Fatalf("%s: Run on a used address succeeded", tr)
		}
		select {
		case <-r.Ready():
		default:
			t.Fatalf("%s: Ready not closed after a bind error", tr)
		}
		if r.Addr() != nil {
			t.Errorf("%s: Addr = %v after a bind error", tr, r.Addr())
		}
	}
}

// failingListener returns an error from every Accept until closed. Close
// may be called concurrently (serveStream closes on cancel and on return),
// as a net.Listener allows.
type failingListener struct {
	calls  atomic.Int64
	closed chan struct{}
	once   sync.Once
}

func (l *failingListener) Accept() (net.Conn, error) {
	select {
	case <-l.closed:
		return nil, net.ErrClosed
	default:
	}
	l.calls.Add(1)
	return nil, fmt.Errorf("accept: %w", os.NewSyscallError("accept4", errEMFILE))
}

func (l *failingListener) Close() error {
	l.once.Do(func() { close(l.closed) })
	return nil
}

func (l *failingListener) Addr() net.Addr { return &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)} }

var errEMFILE = errors.New("too many open files")

func TestAcceptErrorsBackOff(t *testing.T) {
	r, _ := newReceiver(t, Config{})
	ln := &failingListener{closed: make(chan struct{})}
	ctx, cancel := context.WithTimeout(context.Background(), 400*time.Millisecond)
	defer cancel()
	if err := r.serveStream(ctx, ln); err != nil {
		t.Errorf("serveStream: %v", err)
	}
	calls := ln.calls.Load()
	// With backoff 5, 10, 20, ... ms, 400 ms allow about 7 attempts; a spinning loop
	// would make many thousands.
	if calls < 2 || calls > 50 {
		t.Errorf("%d accept attempts in 400 ms", calls)
	}
	if n := counter(r.cfg.Metrics.acceptErrors, "test"); n != int(calls) {
		t.Errorf("accept_errors_total = %d, attempts %d", n, calls)
	}
}

func TestNewValidates(t *testing.T) {
	h := &recorder{}
	base := Config{Name: "n", Transport: TransportTCP, Address: "127.0.0.1:0", Handler: h}
	bad := map[string]func(c *Config){
		"no name":       func(c *Config) { c.Name = "" },
		"no handler":    func(c *Config) { c.Handler = nil },
		"bad address":   func(c *Config) { c.Address = "nonsense" },
		"bad transport": func(c *Config) { c.Transport = "sctp" },
		"tls on tcp":    func(c *Config) { c.TLS = testTLS(t).server },
		"tls no config": func(c *Config) { c.Transport = TransportTLS },
		"tls no cert": func(c *Config) {
			c.Transport = TransportTLS
			c.TLS = testTLS(t).server.Clone()
			c.TLS.Certificates = nil
		},
		"max tiny":      func(c *Config) { c.MaxMessageSize = 8 },
		"max huge":      func(c *Config) { c.MaxMessageSize = 17 << 20 },
		"negative idle": func(c *Config) { c.IdleTimeout = -time.Second },
		"neg conns":     func(c *Config) { c.MaxConnections = -1 },
		"readers":       func(c *Config) { c.UDPReaders = 1000 },
	}
	for name, mutate := range bad {
		cfg := base
		mutate(&cfg)
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted the config", name)
		}
	}
	r, err := New(base)
	if err != nil {
		t.Fatal(err)
	}
	c := r.cfg
	if c.MaxMessageSize != DefaultMaxMessageSize || c.IdleTimeout != DefaultIdleTimeout ||
		c.MaxConnections != DefaultMaxConnections || c.MaxConnectionsPerSender != DefaultMaxConnectionsPerSender ||
		c.ReadBuffer != DefaultReadBuffer || c.UDPReaders != DefaultUDPReaders || c.HandshakeTimeout != DefaultHandshakeTimeout {
		t.Errorf("defaults not applied: %+v", c)
	}
	if r.Addr() != nil {
		t.Error("Addr set before Run")
	}
}

// refusingHandler refuses every stream.
type refusingHandler struct{ opens atomic.Int64 }

func (h *refusingHandler) Open(StreamInfo) Stream {
	h.opens.Add(1)
	return nil
}

func TestHandlerRefusesStream(t *testing.T) {
	h := &refusingHandler{}
	r, _ := start(t, Config{Handler: h})
	c := dial(t, r.Addr())
	expectClosed(t, c)
	waitFor(t, "refusal counted", func() bool { return counter(r.cfg.Metrics.connRejected, "test", "handler") == 1 })

	u, _ := newReceiver(t, Config{Transport: TransportUDP, Handler: h})
	if err := u.Run(context.Background()); err == nil {
		t.Error("udp Run succeeded with a handler that returns no stream")
	}
}
