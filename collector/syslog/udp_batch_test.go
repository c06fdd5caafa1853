package syslog

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// gateHandler records messages; its streams' Message waits until gate is closed
// (nil: no wait) or ctx is done. Its streams implement Flusher and check that no
// two calls on one stream overlap.
type gateHandler struct {
	gate chan struct{}

	mu      sync.Mutex
	msgs    []recMsg
	flushes []int // len(msgs) at each Flush
	opened  int
	closed  int
	overlap bool
	entered atomic.Int64 // Message calls started
}

type gateStream struct {
	h    *gateHandler
	id   uint64
	busy atomic.Bool
}

var (
	_ Handler = (*gateHandler)(nil)
	_ Stream  = (*gateStream)(nil)
	_ Flusher = (*gateStream)(nil)
)

func (h *gateHandler) Open(info StreamInfo) Stream {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.opened++
	return &gateStream{h: h, id: info.ID}
}

func (s *gateStream) enter() func() {
	if !s.busy.CompareAndSwap(false, true) {
		s.h.mu.Lock()
		s.h.overlap = true
		s.h.mu.Unlock()
	}
	return func() { s.busy.Store(false) }
}

func (s *gateStream) Message(ctx context.Context, data []byte, truncated bool, peer netip.AddrPort) error {
	defer s.enter()()
	s.h.entered.Add(1)
	if s.h.gate != nil {
		select {
		case <-s.h.gate:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.msgs = append(s.h.msgs, recMsg{string(data), truncated, peer, s.id})
	return nil
}

func (s *gateStream) Flush(context.Context) error {
	defer s.enter()()
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.flushes = append(s.h.flushes, len(s.h.msgs))
	return nil
}

func (s *gateStream) Close() {
	defer s.enter()()
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.closed++
}

func (h *gateHandler) messages() []recMsg {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]recMsg(nil), h.msgs...)
}

func (h *gateHandler) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.msgs)
}

func (h *gateHandler) checkNoOverlap(t testing.TB) {
	t.Helper()
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.overlap {
		t.Error("calls on one stream overlapped")
	}
}

// runUDPTuned serves r with tun as Run would, and stops it at the end of the
// test. The returned stop cancels and waits (at most 10 s) for it to return.
func runUDPTuned(t testing.TB, r *Receiver, tun udpTuning) (stop func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ready := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- r.serveUDP(ctx, func(a net.Addr) { r.addr.Store(&a); close(ready) }, tun)
	}()
	select {
	case <-ready:
	case err := <-done:
		cancel()
		t.Fatalf("serveUDP: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("receiver not ready")
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				if err != nil {
					t.Errorf("serveUDP: %v", err)
				}
			case <-time.After(10 * time.Second):
				t.Error("serveUDP did not return after cancel")
			}
		})
	}
	t.Cleanup(stop)
	return stop
}

// udpGoroutines returns the stacks of goroutines running the UDP reader,
// processor or drop poller of any receiver.
func udpGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		for _, fn := range []string{").readUDP(", ").processUDP(", ").readUDPSync(", ").pollKernelDrops("} {
			if strings.Contains(g, fn) {
				out = append(out, g)
				break
			}
		}
	}
	return out
}

// TestUDPBatchPeers sends from several sockets at once; every datagram must
// arrive once, with its sender's address, in the order each sender sent.
func TestUDPBatchPeers(t *testing.T) {
	for _, tc := range []struct{ name, ip string }{{"ipv4", "127.0.0.1"}, {"ipv6", "::1"}} {
		t.Run(tc.name, func(t *testing.T) {
			if !canBind(tc.ip) {
				t.Skipf("%s unavailable", tc.ip)
			}
			h := &gateHandler{gate: make(chan struct{})}
			r, _ := newReceiver(t, Config{Transport: TransportUDP, Handler: h, UDPReaders: 1,
				Address: net.JoinHostPort(tc.ip, "0")})
			runUDPTuned(t, r, defaultUDPTuning())
			const senders, each = 4, 50
			var conns []*net.UDPConn
			for range senders {
				conns = append(conns, dialUDP(t, tc.ip, r.Addr()))
			}
			// The Stream is held while the datagrams arrive, so the reader finds
			// many waiting and reads them in batches.
			for i := range each {
				for s, c := range conns {
					if _, err := fmt.Fprintf(c, "<13>sender %d seq %03d", s, i); err != nil {
						t.Fatal(err)
					}
				}
			}
			close(h.gate)
			waitFor(t, "all datagrams", func() bool { return h.count() == senders*each })
			next := map[netip.AddrPort]int{}
			sender := map[netip.AddrPort]int{}
			for s, c := range conns {
				sender[c.LocalAddr().(*net.UDPAddr).AddrPort()] = s
			}
			for _, m := range h.messages() {
				s, ok := sender[m.peer]
				if !ok {
					t.Fatalf("datagram %q from unknown peer %v", m.data, m.peer)
				}
				if want := fmt.Sprintf("<13>sender %d seq %03d", s, next[m.peer]); m.data != want {
					t.Fatalf("from %v got %q, want %q", m.peer, m.data, want)
				}
				next[m.peer]++
			}
			if n := counter(r.cfg.Metrics.messages, "test", "udp"); n != senders*each {
				t.Errorf("messages_total = %d", n)
			}
			h.checkNoOverlap(t)
		})
	}
}

// TestUDPBatchTruncation checks the size limit and the trimming rule on datagrams
// read together in one batch.
func TestUDPBatchTruncation(t *testing.T) {
	const maxSize = 100
	h := &gateHandler{gate: make(chan struct{})}
	r, _ := newReceiver(t, Config{Transport: TransportUDP, Handler: h, UDPReaders: 1, MaxMessageSize: maxSize})
	runUDPTuned(t, r, defaultUDPTuning())
	c := dialUDP(t, "", r.Addr())
	body := func(n int) string { return "<13>" + strings.Repeat("x", n-4) }
	cases := []struct {
		send, want string
		truncated  bool
	}{
		{body(99), body(99), false},
		{body(100), body(100), false},
		{body(101), body(100), true},
		{body(99) + "\n", body(99), false},                               // 100 bytes: trimmed
		{body(100) + "\n", body(100), true},                              // 101 bytes: cut, not trimmed
		{body(98) + "\n\n\n", body(98) + "\n\n", true},                   // cut inside the LFs
		{body(60000), body(100), true},                                   // far over the limit
		{body(20) + "\r\n\x00", body(20), false},                         // CR LF NUL
		{"\n\x00\n", "", false},                                          // empty after trimming: skipped
		{body(10), body(10), false},                                      // after the skipped one
		{body(97) + "\n\n\n\n", body(97) + "\n\n\n", true},               // 101 bytes: cut after 3 LFs
		{body(40) + "\r\r\n", body(40) + "\r", false},                    // one CR goes with the LF
		{strings.Repeat("\x00", 101), strings.Repeat("\x00", 100), true}, // cut: kept as is
	}
	want := 0
	for _, tc := range cases {
		if _, err := c.Write([]byte(tc.send)); err != nil {
			t.Fatal(err)
		}
		if tc.want != "" {
			want++
		}
	}
	close(h.gate)
	waitFor(t, "datagrams", func() bool { return h.count() == want })
	got := h.messages()
	i := 0
	truncated := 0
	for _, tc := range cases {
		if tc.want == "" {
			continue
		}
		if got[i].data != tc.want || got[i].truncated != tc.truncated {
			t.Errorf("sent %d bytes %q: got %q truncated=%v, want %q truncated=%v",
				len(tc.send), tail(tc.send), tail(got[i].data), got[i].truncated, tail(tc.want), tc.truncated)
		}
		if tc.truncated {
			truncated++
		}
		i++
	}
	if n := counter(r.cfg.Metrics.truncated, "test", "udp"); n != truncated {
		t.Errorf("truncated_total = %d, want %d", n, truncated)
	}
}

func tail(s string) string {
	if len(s) > 12 {
		return fmt.Sprintf("…%q", s[len(s)-12:])
	}
	return fmt.Sprintf("%q", s)
}

// syncBuffer is a log sink safe for concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// smallQueue holds exactly 20 datagrams (2 slabs of 10) for one reader: the
// slab the blocked processor is in cannot be recycled.
var smallQueue = udpTuning{slabBytes: 4096, slabMsgs: 10, slabs: 2}

const smallQueueMsgs = 20

// TestUDPQueueFull blocks the Stream and sends more than the queue holds: the
// excess is dropped as queue_full, counted and logged, and what was queued is
// delivered, in order, once the Stream is released.
func TestUDPQueueFull(t *testing.T) {
	h := &gateHandler{gate: make(chan struct{})}
	r, _ := newReceiver(t, Config{Transport: TransportUDP, Handler: h, UDPReaders: 1})
	logs := &syncBuffer{}
	r.log = zerolog.New(logs)
	r.dropPollInterval = 20 * time.Millisecond
	runUDPTuned(t, r, smallQueue)
	c := dialUDP(t, "", r.Addr())
	const sent = 100
	for i := range sent {
		if _, err := fmt.Fprintf(c, "<13>msg %03d", i); err != nil {
			t.Fatal(err)
		}
	}
	m := r.cfg.Metrics
	dropped := func() int {
		return counter(m.udpDropped, "test", "queue_full") + counter(m.udpKernelDrops, "test")
	}
	waitFor(t, "queue full", func() bool { return dropped() == sent-smallQueueMsgs })
	close(h.gate)
	waitFor(t, "queued datagrams", func() bool { return h.count() == smallQueueMsgs })
	if n := counter(m.udpDropped, "test", "queue_full"); n == 0 {
		t.Error("no queue_full drops counted")
	}
	if !strings.Contains(logs.String(), "udp queue full") {
		t.Errorf("no warning logged; logs:\n%s", logs.String())
	}
	// Delivered datagrams are a subsequence of those sent (all the first 20 unless
	// the kernel dropped some).
	got := h.messages()
	j := 0
	for i := 0; i < sent && j < len(got); i++ {
		if got[j].data == fmt.Sprintf("<13>msg %03d", i) {
			j++
		}
	}
	if j != len(got) {
		t.Errorf("delivered out of order or unknown: %v", got)
	}
	// The queue works again once drained.
	if _, err := c.Write([]byte("<13>after")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "datagram after the drain", func() bool { return h.count() == smallQueueMsgs+1 })
	if n := counter(m.messages, "test", "udp"); n != smallQueueMsgs+1 {
		t.Errorf("messages_total = %d", n)
	}
	h.checkNoOverlap(t)
}

// TestUDPFlush checks that the Stream is flushed once everything read has been
// handed over.
func TestUDPFlush(t *testing.T) {
	h := &gateHandler{}
	r, _ := newReceiver(t, Config{Transport: TransportUDP, Handler: h, UDPReaders: 1})
	runUDPTuned(t, r, defaultUDPTuning())
	c := dialUDP(t, "", r.Addr())
	for round := 1; round <= 3; round++ {
		for i := range 10 {
			if _, err := fmt.Fprintf(c, "<13>round %d msg %d", round, i); err != nil {
				t.Fatal(err)
			}
		}
		// A Flush after the last message of the round: no other flush trigger
		// exists, so this only passes if the processor flushes when idle.
		waitFor(t, "flush after the round", func() bool {
			h.mu.Lock()
			defer h.mu.Unlock()
			return len(h.flushes) > 0 && h.flushes[len(h.flushes)-1] == 10*round
		})
	}
	h.checkNoOverlap(t)
}

// TestUDPShutdownFullQueue stops a receiver whose Stream blocks and whose queue
// is full: Run returns, every goroutine ends, the queued datagrams are counted.
func TestUDPShutdownFullQueue(t *testing.T) {
	for _, readers := range []int{1, 2} {
		t.Run(fmt.Sprintf("readers=%d", readers), func(t *testing.T) {
			if g := udpGoroutines(); len(g) != 0 {
				t.Fatalf("udp goroutines left by earlier tests:\n%s", strings.Join(g, "\n\n"))
			}
			h := &gateHandler{gate: make(chan struct{})} // never opened
			r, _ := newReceiver(t, Config{Transport: TransportUDP, Handler: h, UDPReaders: readers})
			r.dropPollInterval = 20 * time.Millisecond
			stop := runUDPTuned(t, r, smallQueue)
			c := dialUDP(t, "", r.Addr())
			const sent = 200
			for i := range sent {
				if _, err := fmt.Fprintf(c, "<13>msg %03d", i); err != nil {
					t.Fatal(err)
				}
			}
			m := r.cfg.Metrics
			dropped := func() int {
				return counter(m.udpDropped, "test", "queue_full") + counter(m.udpKernelDrops, "test")
			}
			// The readers share the 2 slabs: at most 20 datagrams are queued, exactly
			// 20 with one reader (the slab the processor is in cannot be recycled).
			waitFor(t, "queue full", func() bool {
				if readers == 1 {
					return dropped() == sent-smallQueueMsgs
				}
				return dropped() >= sent-smallQueueMsgs
			})
			stop()
			if g := udpGoroutines(); len(g) != 0 {
				t.Errorf("udp goroutines still running after Run returned:\n%s", strings.Join(g, "\n\n"))
			}
			h.mu.Lock()
			opened, closed := h.opened, h.closed
			h.mu.Unlock()
			if opened != readers || closed != readers {
				t.Errorf("streams opened %d, closed %d", opened, closed)
			}
			// The queue is drained on shutdown: the blocked Stream sees the cancelled
			// ctx, so each queued datagram is counted as a shutdown drop.
			shutdown := counter(m.udpDropped, "test", "shutdown")
			if readers == 1 {
				if shutdown != smallQueueMsgs {
					t.Errorf("shutdown drops = %d, want %d", shutdown, smallQueueMsgs)
				}
			} else if shutdown < 1 || shutdown > smallQueueMsgs || dropped()+shutdown > sent {
				// With two readers, datagrams still unread in the socket when it
				// closed are lost uncounted, as with any UDP socket.
				t.Errorf("shutdown drops = %d, other drops %d, sent %d", shutdown, dropped(), sent)
			}
			if h.count() != 0 {
				t.Errorf("%d delivered through a closed gate", h.count())
			}
			if n := counter(m.handlerErrors, "test", "udp"); n != 0 {
				t.Errorf("handler_errors_total = %d on shutdown", n)
			}
			h.checkNoOverlap(t)
		})
	}
}
