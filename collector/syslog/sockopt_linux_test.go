//go:build linux

package syslog

import (
	"strings"
	"testing"
	"time"
)

// TestUDPKernelDropsAccounted fills a tiny socket buffer while the handler blocks: every
// datagram sent is then either delivered or counted as a kernel drop. It uses the
// synchronous path, whose reader stops while the handler blocks; the queued path
// would go on reading.
func TestUDPKernelDropsAccounted(t *testing.T) {
	block := make(chan struct{})
	h := &recorder{block: block}
	r, _ := newReceiver(t, Config{Transport: TransportUDP, Handler: h, ReadBuffer: 4096, UDPReaders: 1})
	r.dropPollInterval = 20 * time.Millisecond
	runUDPTuned(t, r, udpTuning{sync: true})
	c := dialUDP(t, "", r.Addr())
	const sent = 2000
	payload := []byte("<13>" + strings.Repeat("d", 200))
	for range sent {
		if _, err := c.Write(payload); err != nil {
			t.Fatal(err)
		}
	}
	close(block)
	m := r.cfg.Metrics
	waitFor(t, "delivered + kernel drops == sent", func() bool {
		return h.count()+counter(m.udpKernelDrops, "test") == sent
	})
	if counter(m.udpKernelDrops, "test") == 0 {
		t.Error("no kernel drops counted with a 4 KiB buffer and a blocked reader")
	}
	if n := counter(m.kernelDropsRead, "test"); n != 0 {
		t.Errorf("%d failed reads of the drop counter", n)
	}
}

func TestParseProcNetUDP(t *testing.T) {
	const table = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 2571: 0100007F:E440 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 10858 2 00000000351353af 0
 2572: 0100007F:E441 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 10859 2 00000000351353b0 4294967295
`
	for _, tc := range []struct {
		inode uint64
		drops uint64
		found bool
	}{{10858, 0, true}, {10859, 4294967295, true}, {1085, 0, false}} {
		drops, found, err := parseProcNetUDP(strings.NewReader(table), tc.inode)
		if err != nil || drops != tc.drops || found != tc.found {
			t.Errorf("inode %d: got %d %v %v", tc.inode, drops, found, err)
		}
	}
}
