package syslog

import (
	"fmt"
	"net"
	"net/netip"
	"strings"
	"testing"
)

func dialUDP(t testing.TB, src string, addr net.Addr) *net.UDPConn {
	t.Helper()
	var laddr *net.UDPAddr
	if src != "" {
		laddr = &net.UDPAddr{IP: net.ParseIP(src)}
	}
	c, err := net.DialUDP("udp", laddr, addr.(*net.UDPAddr))
	if err != nil {
		t.Fatalf("dial udp: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestUDP(t *testing.T) {
	r, h := start(t, Config{Transport: TransportUDP, MaxMessageSize: 100})
	c := dialUDP(t, "", r.Addr())
	long := "<13>" + strings.Repeat("L", 146)
	for _, d := range []string{"<13>plain", "<13>lf\n", "<13>nul\x00", "<13>crlf\r\n", "<13>inner\nlf", "\n", long} {
		if _, err := c.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "datagrams", func() bool { return h.count() == 6 })
	local := c.LocalAddr().(*net.UDPAddr).AddrPort()
	got := map[string]bool{} // two readers: order is not guaranteed
	for _, m := range h.messages() {
		if m.peer != local {
			t.Errorf("peer %v, want %v", m.peer, local)
		}
		if m.data == long[:100] {
			if !m.truncated {
				t.Error("long datagram not marked truncated")
			}
		} else if m.truncated {
			t.Errorf("%q marked truncated", m.data)
		}
		got[m.data] = true
	}
	for _, want := range []string{"<13>plain", "<13>lf", "<13>nul", "<13>crlf", "<13>inner\nlf", long[:100]} {
		if !got[want] {
			t.Errorf("missing %q in %v", want, got)
		}
	}
	m := r.cfg.Metrics
	if n := counter(m.truncated, "test", "udp"); n != 1 {
		t.Errorf("truncated_total = %d", n)
	}
	if n := counter(m.messages, "test", "udp"); n != 6 {
		t.Errorf("messages_total = %d", n)
	}
	if n := gauge(m.udpRcvbuf, "test"); n <= 0 {
		t.Errorf("udp_rcvbuf_bytes = %d", n)
	}
	h.mu.Lock()
	opened := append([]StreamInfo(nil), h.opened...)
	h.mu.Unlock()
	if len(opened) != DefaultUDPReaders {
		t.Fatalf("%d streams opened, want one per reader", len(opened))
	}
	for _, info := range opened {
		if info.Transport != TransportUDP || info.Peer != (netip.AddrPort{}) || info.ID == 0 {
			t.Errorf("udp stream info %+v", info)
		}
	}
}

func TestUDPHandlerError(t *testing.T) {
	h := &recorder{fail: func(d []byte) error {
		if strings.Contains(string(d), "bad") {
			return fmt.Errorf("rejected %q", d)
		}
		return nil
	}}
	r, _ := start(t, Config{Transport: TransportUDP, Handler: h, UDPReaders: 1})
	c := dialUDP(t, "", r.Addr())
	for _, d := range []string{"<13>bad", "<13>good"} {
		if _, err := c.Write([]byte(d)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "good datagram", func() bool { return h.count() == 1 })
	m := r.cfg.Metrics
	if n := counter(m.udpDropped, "test", "handler_error"); n != 1 {
		t.Errorf("udp_dropped_total{handler_error} = %d", n)
	}
	if n := counter(m.handlerErrors, "test", "udp"); n != 1 {
		t.Errorf("handler_errors_total = %d", n)
	}
}
