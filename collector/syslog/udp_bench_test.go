//go:build linux

package syslog

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// stallHandler counts messages; with every > 0 all its streams stop for stall
// every that many messages, as a pipeline does on a GC or a full spool.
type stallHandler struct {
	n     atomic.Int64
	every int64
	stall time.Duration
	until atomic.Int64 // end of the current stall, unix ns
}

type stallStream struct{ h *stallHandler }

var (
	_ Handler = (*stallHandler)(nil)
	_ Stream  = stallStream{}
)

func (h *stallHandler) Open(StreamInfo) Stream { return stallStream{h} }

func (s stallStream) Message(context.Context, []byte, bool, netip.AddrPort) error {
	if s.h.every == 0 {
		s.h.n.Add(1)
		return nil
	}
	if s.h.n.Add(1)%s.h.every == 0 {
		s.h.until.Store(time.Now().Add(s.h.stall).UnixNano())
	}
	if d := time.Until(time.Unix(0, s.h.until.Load())); d > 0 {
		time.Sleep(d)
	}
	return nil
}

func (stallStream) Close() {}

// cpuTime returns the CPU time used by the process (who = RUSAGE_SELF) or the
// calling thread (unix.RUSAGE_THREAD).
func cpuTime(b *testing.B, who int) time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(who, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// mmsgSender sends the same datagram many times per sendmmsg call on a connected
// socket, so that the sender is cheaper than the receiver under test.
type mmsgSender struct {
	rc   syscall.RawConn
	hdrs []unix.Mmsghdr
	iov  unix.Iovec
}

func newMMsgSender(b *testing.B, c *net.UDPConn, payload []byte, batch int) *mmsgSender {
	rc, err := c.SyscallConn()
	if err != nil {
		b.Fatal(err)
	}
	s := &mmsgSender{rc: rc, hdrs: make([]unix.Mmsghdr, batch)}
	s.iov.Base = &payload[0]
	s.iov.SetLen(len(payload))
	for i := range s.hdrs {
		s.hdrs[i].Hdr.Iov = &s.iov
		s.hdrs[i].Hdr.SetIovlen(1)
	}
	return s
}

// sendAt sends n datagrams at rate per second (0: flat out), in bursts as due,
// and returns the CPU time the sending thread used (the
// loopback receive path included, which runs in the sender's softirq).
func (s *mmsgSender) sendAt(b *testing.B, n int, rate float64) time.Duration {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	t0 := cpuTime(b, unix.RUSAGE_THREAD)
	start, total := time.Now(), n
	for n > 0 {
		burst := n
		if rate > 0 {
			due := int(rate*time.Since(start).Seconds()) + 1 - (total - n)
			if due <= 0 {
				time.Sleep(time.Duration(float64(time.Second) * float64(1-due) / rate))
				continue
			}
			burst = min(n, due)
		}
		var sent int
		var errno syscall.Errno
		err := s.rc.Write(func(fd uintptr) bool {
			r, _, e := unix.Syscall6(unix.SYS_SENDMMSG, fd, uintptr(unsafe.Pointer(&s.hdrs[0])), uintptr(min(burst, len(s.hdrs))), 0, 0, 0)
			if e == unix.EAGAIN {
				return false
			}
			sent, errno = int(r), e
			return true
		})
		if err != nil {
			b.Fatal(err)
		}
		if errno != 0 {
			b.Fatalf("sendmmsg: %v", errno)
		}
		n -= sent
	}
	return cpuTime(b, unix.RUSAGE_THREAD) - t0
}

// BenchmarkUDPIngest sends b.N datagrams over loopback (sendmmsg, 32 per call)
// and waits until each is delivered or counted as dropped. It compares the
// synchronous one-datagram-per-syscall path ("sync") with the queued path reading
// one ("queue-1") or several ("queue-batch") datagrams per syscall, with a no-op
// Stream, with one that stalls 50 ms every 50000 messages (a flat-out sender fills
// the socket buffer meanwhile), and with a no-op Stream at 100k msg/s. Metrics: ns/op is
// wall time per datagram sent, lost% the datagrams not delivered (queue_full% of
// them dropped by the queue, the rest by the kernel), recv-cpu-ns/op the CPU per
// datagram of the process minus the sending thread.
func BenchmarkUDPIngest(b *testing.B) {
	payload := []byte("<134>1 2024-05-01T12:00:00.000Z fw01 fortigate - - - " +
		`date=2024-05-01 time=12:00:00 devname="fw01" type="traffic" subtype="forward" srcip=10.1.2.3 ` +
		`dstip=203.0.113.9 dstport=443 action="accept" sentbyte=1234 rcvdbyte=5678`)
	modes := []struct {
		name string
		tun  udpTuning
	}{
		{"sync", udpTuning{sync: true}},
		{"queue-1", func() udpTuning { t := defaultUDPTuning(); t.batch = 1; return t }()},
		{"queue-batch", defaultUDPTuning()},
	}
	for _, stream := range []struct {
		name  string
		every int64
		rate  float64
	}{{"noop", 0, 0}, {"stalls", 50000, 0}, {"noop-100k", 0, 100e3}} {
		for _, mode := range modes {
			b.Run(stream.name+"/"+mode.name, func(b *testing.B) {
				h := &stallHandler{every: stream.every, stall: 50 * time.Millisecond}
				r, _ := newReceiver(b, Config{Transport: TransportUDP, Handler: h})
				r.dropPollInterval = 10 * time.Millisecond
				runUDPTuned(b, r, mode.tun)
				c := dialUDP(b, "", r.Addr())
				snd := newMMsgSender(b, c, payload, 32)
				m := r.cfg.Metrics
				accounted := func() int {
					return int(h.n.Load()) + counter(m.udpKernelDrops, "test") + counter(m.udpDropped, "test", "queue_full")
				}
				b.SetBytes(int64(len(payload)))
				cpu0 := cpuTime(b, unix.RUSAGE_SELF)
				b.ResetTimer()
				sendCPU := snd.sendAt(b, b.N, stream.rate)
				waitFor(b, "every datagram delivered or counted", func() bool { return accounted() >= b.N })
				b.StopTimer()
				b.ReportMetric(float64(cpuTime(b, unix.RUSAGE_SELF)-cpu0-sendCPU)/float64(b.N), "recv-cpu-ns/op")
				b.ReportMetric(100*float64(b.N-int(h.n.Load()))/float64(b.N), "lost%")
				b.ReportMetric(100*float64(counter(m.udpDropped, "test", "queue_full"))/float64(b.N), "queue_full%")
			})
		}
	}
}
