package syslog

import (
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
)

// TestUtilLinuxLogger sends with the real util-linux logger client.
func TestUtilLinuxLogger(t *testing.T) {
	bin, err := exec.LookPath("logger")
	if err != nil {
		t.Skip("util-linux logger not on PATH")
	}
	tcp, th := start(t, Config{Name: "tcp"})
	udp, uh := start(t, Config{Name: "udp", Transport: TransportUDP})
	port := func(a net.Addr) string {
		_, p, _ := net.SplitHostPort(a.String())
		return p
	}
	cases := []struct {
		name  string
		args  []string
		rec   *recorder
		rfc   string
		count int // messages recorded after this case
	}{
		{"tcp rfc5424", []string{"--tcp", "--rfc5424"}, th, "5424", 1},
		{"tcp rfc5424 octet-count", []string{"--tcp", "--rfc5424", "--octet-count"}, th, "5424", 2},
		{"tcp rfc3164", []string{"--tcp", "--rfc3164"}, th, "3164", 3},
		{"tcp rfc3164 octet-count", []string{"--tcp", "--rfc3164", "--octet-count"}, th, "3164", 4},
		{"udp rfc5424", []string{"--udp", "--rfc5424"}, uh, "5424", 1},
		{"udp rfc3164", []string{"--udp", "--rfc3164"}, uh, "3164", 2},
	}
	for i, tc := range cases {
		addr := tcp.Addr()
		if tc.rec == uh {
			addr = udp.Addr()
		}
		text := fmt.Sprintf("cloudscout logger test %d: %s", i, tc.name)
		args := append([]string{"-n", "127.0.0.1", "-P", port(addr), "-t", "cstest", "-p", "user.notice"}, tc.args...)
		out, err := exec.Command(bin, append(args, text)...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s: logger %v: %v\n%s", tc.name, args, err, out)
		}
		waitFor(t, tc.name, func() bool { return tc.rec.count() == tc.count })
		got := tc.rec.messages()[tc.count-1]
		prefix := "<13>"
		if tc.rfc == "5424" {
			prefix = "<13>1 "
		}
		if !strings.HasPrefix(got.data, prefix) || !strings.HasSuffix(got.data, text) ||
			!strings.Contains(got.data, "cstest") || got.truncated {
			t.Errorf("%s: received %q", tc.name, got.data)
		}
		if strings.ContainsAny(got.data, "\n\x00") {
			t.Errorf("%s: framing bytes left in %q", tc.name, got.data)
		}
	}
	if n := total(framingErrors(tcp)); n != 0 {
		t.Errorf("%d framing errors from logger", n)
	}
}

// TestUtilLinuxLoggerLongLine sends a line longer than MaxMessageSize (logger's --size
// lifts its own 1 KiB split).
func TestUtilLinuxLoggerLongLine(t *testing.T) {
	bin, err := exec.LookPath("logger")
	if err != nil {
		t.Skip("util-linux logger not on PATH")
	}
	const maxSize = 1024
	r, h := start(t, Config{MaxMessageSize: maxSize})
	_, port, _ := net.SplitHostPort(r.Addr().String())
	long := strings.Repeat("0123456789", 300)
	for _, extra := range [][]string{nil, {"--octet-count"}} {
		args := append([]string{"-n", "127.0.0.1", "-P", port, "--tcp", "--rfc5424", "--size", "8192"}, extra...)
		if out, err := exec.Command(bin, append(args, long)...).CombinedOutput(); err != nil {
			t.Fatalf("logger %v: %v\n%s", args, err, out)
		}
	}
	waitFor(t, "two long messages", func() bool { return h.count() == 2 })
	for _, m := range h.messages() {
		if !m.truncated || len(m.data) != maxSize || !strings.HasPrefix(m.data, "<13>1 ") {
			t.Errorf("long message: truncated=%v len=%d %q", m.truncated, len(m.data), m.data[:min(40, len(m.data))])
		}
	}
	if n := counter(r.cfg.Metrics.truncated, "test", "tcp"); n != 2 {
		t.Errorf("truncated_total = %d", n)
	}
}
