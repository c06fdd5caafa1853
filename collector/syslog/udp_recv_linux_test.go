//go:build linux

package syslog

import (
	"bufio"
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

// rxQueued returns the receive queue size (bytes charged, rx_queue in
// /proc/net/udp{,6}) of conn's socket.
func rxQueued(t *testing.T, conn *net.UDPConn) int {
	t.Helper()
	var inode uint64
	if err := controlFD(conn, func(fd int) (err error) { inode, err = socketInode(fd); return err }); err != nil {
		t.Fatal(err)
	}
	want := []byte(strconv.FormatUint(inode, 10))
	for _, path := range []string{"/proc/net/udp", "/proc/net/udp6"} {
		b, err := os.ReadFile(path)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(bytes.NewReader(b))
		for sc.Scan() {
			f := bytes.Fields(sc.Bytes())
			if len(f) < 10 || !bytes.Equal(f[9], want) {
				continue
			}
			_, rx, _ := bytes.Cut(f[4], []byte(":"))
			n, err := strconv.ParseUint(string(rx), 16, 64)
			if err != nil {
				t.Fatalf("rx_queue %q: %v", f[4], err)
			}
			return int(n)
		}
	}
	t.Fatal("socket not in /proc/net/udp{,6}")
	return 0
}

// TestUDPBatchReaderBatches queues datagrams before reading: one read returns
// them all, in order, with their peers.
func TestUDPBatchReaderBatches(t *testing.T) {
	for _, tc := range []struct{ name, ip string }{{"ipv4", "127.0.0.1"}, {"ipv6", "::1"}} {
		t.Run(tc.name, func(t *testing.T) {
			if !canBind(tc.ip) {
				t.Skipf("%s unavailable", tc.ip)
			}
			conn := listenUDP(t, tc.ip)
			br, err := newUDPBatchReader(conn, 100, 8)
			if err != nil {
				t.Fatal(err)
			}
			senders := []*net.UDPConn{dialUDP(t, tc.ip, conn.LocalAddr()), dialUDP(t, tc.ip, conn.LocalAddr())}
			// Learn what one datagram is charged to the socket: equal-sized ones
			// are charged the same, so the queue size tells when all have arrived.
			send(t, senders[0], "<13>seq 00")
			waitFor(t, "first datagram queued", func() bool { return rxQueued(t, conn) > 0 })
			per := rxQueued(t, conn)
			if pkts := readN(t, br, 1); string(pkts[0].data) != "<13>seq 00" {
				t.Fatalf("got %q", pkts[0].data)
			}
			const n = 6
			for i := 1; i <= n; i++ {
				send(t, senders[i%2], fmt.Sprintf("<13>seq %02d", i))
			}
			waitFor(t, "datagrams queued", func() bool { return rxQueued(t, conn) >= n*per })
			pkts, err := br.read()
			if err != nil {
				t.Fatal(err)
			}
			if len(pkts) != n {
				t.Fatalf("one read returned %d of %d queued datagrams", len(pkts), n)
			}
			for i, p := range pkts {
				from := senders[(i+1)%2].LocalAddr().(*net.UDPAddr).AddrPort()
				if want := fmt.Sprintf("<13>seq %02d", i+1); string(p.data) != want || p.peer != from || p.truncated {
					t.Errorf("datagram %d: %q from %v truncated=%v, want %q from %v", i, p.data, p.peer, p.truncated, want, from)
				}
			}
		})
	}
}

// TestUDPBatchReaderTruncation mixes sizes around the maximum in batches.
func TestUDPBatchReaderTruncation(t *testing.T) {
	conn := listenUDP(t, "127.0.0.1")
	const maxSize = 100
	br, err := newUDPBatchReader(conn, maxSize, 4)
	if err != nil {
		t.Fatal(err)
	}
	c := dialUDP(t, "127.0.0.1", conn.LocalAddr())
	sizes := []int{maxSize - 1, maxSize, maxSize + 1, 1, 60000, maxSize, 2 * maxSize}
	for i, n := range sizes {
		send(t, c, strings.Repeat(string(rune('a'+i)), n))
	}
	got := readN(t, br, len(sizes))
	for i, n := range sizes {
		p := got[i]
		want := strings.Repeat(string(rune('a'+i)), min(n, maxSize))
		if string(p.data) != want || p.truncated != (n > maxSize) {
			t.Errorf("datagram %d of %d bytes: got %d bytes truncated=%v", i, n, len(p.data), p.truncated)
		}
	}
}

// TestUDPBatchReaderDualStack reads IPv4 datagrams from an AF_INET6 socket
// bound to an IPv4-mapped address: peers come out as plain IPv4.
func TestUDPBatchReaderDualStack(t *testing.T) {
	if !canBind("::1") {
		t.Skip("ipv6 unavailable")
	}
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	f := os.NewFile(uintptr(fd), "udp6")
	defer f.Close()
	if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, 0); err != nil {
		t.Fatal(err)
	}
	if err := unix.Bind(fd, &unix.SockaddrInet6{Addr: netip.MustParseAddr("::ffff:127.0.0.1").As16()}); err != nil {
		t.Skipf("bind to an IPv4-mapped address: %v", err)
	}
	lsa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.FilePacketConn(f) // a dup of fd
	if err != nil {
		t.Fatal(err)
	}
	conn := pc.(*net.UDPConn)
	t.Cleanup(func() { _ = conn.Close() })
	br, err := newUDPBatchReader(conn, 100, 4)
	if err != nil {
		t.Fatal(err)
	}
	c := dialUDP(t, "127.0.0.1", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: lsa.(*unix.SockaddrInet6).Port})
	send(t, c, "<13>v4 over v6")
	p := readN(t, br, 1)[0]
	if from := c.LocalAddr().(*net.UDPAddr).AddrPort(); p.peer != from || !p.peer.Addr().Is4() {
		t.Errorf("peer %v, want %v", p.peer, from)
	}
	if string(p.data) != "<13>v4 over v6" {
		t.Errorf("data %q", p.data)
	}
}

// TestUDPPeerDecode covers address forms that loopback cannot produce.
func TestUDPPeerDecode(t *testing.T) {
	br := &udpBatchReader{}
	inet6 := func(addr string, port uint16, scope uint32) *unix.RawSockaddrInet6 {
		sa := &unix.RawSockaddrInet6{Family: unix.AF_INET6, Addr: netip.MustParseAddr(addr).As16(), Scope_id: scope}
		pb := (*[2]byte)(unsafe.Pointer(&sa.Port))
		pb[0], pb[1] = byte(port>>8), byte(port)
		return sa
	}
	loName := "1"
	if lo, err := net.InterfaceByIndex(1); err == nil {
		loName = lo.Name
	}
	for _, tc := range []struct {
		sa   *unix.RawSockaddrInet6
		len  uint32
		want string
	}{
		{inet6("::ffff:192.0.2.7", 514, 0), unix.SizeofSockaddrInet6, "192.0.2.7:514"},
		{inet6("2001:db8::1", 65535, 0), unix.SizeofSockaddrInet6, "[2001:db8::1]:65535"},
		{inet6("fe80::1", 1, 1), unix.SizeofSockaddrInet6, "[fe80::1%" + loName + "]:1"},
		{inet6("fe80::1", 1, 999999), unix.SizeofSockaddrInet6, "[fe80::1%999999]:1"},
		{inet6("2001:db8::1", 514, 0), 8, "invalid AddrPort"}, // name cut short
		{&unix.RawSockaddrInet6{Family: unix.AF_UNIX}, unix.SizeofSockaddrInet6, "invalid AddrPort"},
	} {
		if got := br.peer(tc.sa, tc.len).String(); got != tc.want {
			t.Errorf("got %s, want %s", got, tc.want)
		}
	}
}

func listenUDP(t *testing.T, ip string) *net.UDPConn {
	t.Helper()
	pc, err := net.ListenPacket("udp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = pc.Close() })
	return pc.(*net.UDPConn)
}

func send(t *testing.T, c *net.UDPConn, s string) {
	t.Helper()
	if _, err := c.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// readN reads until n datagrams have arrived, copying them out of the reader's
// buffer.
func readN(t *testing.T, br *udpBatchReader, n int) []udpPacket {
	t.Helper()
	var got []udpPacket
	for len(got) < n {
		pkts, err := br.read()
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range pkts {
			p.data = bytes.Clone(p.data)
			got = append(got, p)
		}
	}
	if len(got) != n {
		t.Fatalf("read %d datagrams, want %d", len(got), n)
	}
	return got
}
