package syslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// UDP reading is split in two per reader: a goroutine that only reads the socket
// (batched with recvmmsg on Linux) into a bounded queue (udp_queue.go), and one
// that owns the reader's Stream and hands it the queued datagrams. A pipeline
// stall (GC, spool compression, a busy CPU) then fills the queue instead of the
// socket buffer, and the queue holds several times more datagrams than the
// socket buffer (which charges about 1 KiB of overhead per datagram). When the
// queue is full too, the reader drops and counts ("queue_full") and keeps the
// socket drained.

// udpDropWarnEvery rate-limits the warning about queue_full drops; the counter
// has every drop.
const udpDropWarnEvery = 10 * time.Second

func (r *Receiver) runUDP(ctx context.Context, markReady func(net.Addr)) error {
	return r.serveUDP(ctx, markReady, defaultUDPTuning())
}

// udpCounters are the per-reason drop series, resolved once.
type udpCounters struct {
	notAllowed, queueFull, handlerError, shutdown prometheus.Counter
}

func (r *Receiver) newUDPCounters() *udpCounters {
	c := func(reason string) prometheus.Counter {
		return r.met.m.udpDropped.WithLabelValues(r.met.listener, reason)
	}
	return &udpCounters{
		notAllowed:   c("not_allowed"),
		queueFull:    c("queue_full"),
		handlerError: c("handler_error"),
		shutdown:     c("shutdown"),
	}
}

func (r *Receiver) serveUDP(ctx context.Context, markReady func(net.Addr), tun udpTuning) error {
	lc := net.ListenConfig{Control: func(_, _ string, c syscall.RawConn) error {
		var serr error
		err := c.Control(func(fd uintptr) { serr = setRcvBuf(int(fd), r.cfg.ReadBuffer) })
		if err != nil {
			return err
		}
		if serr != nil {
			// Not fatal: the socket works with the default buffer; the granted size is
			// logged and exported below.
			r.log.Warn().Err(serr).Int("requested", r.cfg.ReadBuffer).Msg("setting udp receive buffer failed")
		}
		return nil
	}}
	pc, err := lc.ListenPacket(ctx, "udp", r.cfg.Address)
	if err != nil {
		return fmt.Errorf("syslog receiver %q: listen: %w", r.cfg.Name, err)
	}
	conn := pc.(*net.UDPConn)
	r.reportRcvBuf(conn)
	var inode uint64
	if err := controlFD(conn, func(fd int) error {
		var ierr error
		inode, ierr = socketInode(fd)
		return ierr
	}); err != nil {
		r.log.Warn().Err(err).Msg("kernel drop counter unavailable: socket inode unknown")
	}

	readers := make([]*udpBatchReader, 0, r.cfg.UDPReaders)
	if !tun.sync {
		for range r.cfg.UDPReaders {
			br, err := newUDPBatchReader(conn, r.cfg.MaxMessageSize, tun.batch)
			if err != nil {
				_ = conn.Close()
				return fmt.Errorf("syslog receiver %q: %w", r.cfg.Name, err)
			}
			readers = append(readers, br)
		}
	}
	streams := make([]Stream, 0, r.cfg.UDPReaders)
	for range r.cfg.UDPReaders {
		info := StreamInfo{Listener: r.cfg.Name, Transport: TransportUDP, ID: r.newID()}
		st := r.cfg.Handler.Open(info)
		if st == nil {
			for _, s := range streams {
				s.Close()
			}
			_ = conn.Close()
			return fmt.Errorf("syslog receiver %q: handler returned no stream for udp reader", r.cfg.Name)
		}
		streams = append(streams, st)
	}

	r.log.Info().Str("addr", conn.LocalAddr().String()).Int("readers", r.cfg.UDPReaders).Msg("syslog listener started")
	markReady(conn.LocalAddr())

	c := r.newUDPCounters()
	// A slab must hold the largest datagram.
	tun.slabBytes = max(tun.slabBytes, udpSlotSize(r.cfg.MaxMessageSize))
	pool := newUDPSlabPool(tun)
	var wg sync.WaitGroup
	for i, st := range streams {
		if tun.sync {
			wg.Go(func() {
				defer st.Close()
				r.readUDPSync(ctx, conn, st, c)
			})
			continue
		}
		q := newUDPQueue(pool)
		wg.Go(func() { r.readUDP(ctx, readers[i], q, c) })
		wg.Go(func() {
			defer st.Close()
			r.processUDP(ctx, q, st, c)
		})
	}
	// The socket is closed only after the last read of its drop counter, which
	// disappears with it. Closing it ends the readers, and with them the processors.
	wg.Go(func() {
		if inode != 0 {
			r.pollKernelDrops(ctx, inode)
		} else {
			<-ctx.Done()
		}
		_ = conn.Close()
	})
	wg.Wait()
	_ = conn.Close()
	return nil
}

// reportRcvBuf logs and exports the receive buffer size the kernel granted.
func (r *Receiver) reportRcvBuf(conn *net.UDPConn) {
	var granted int
	err := controlFD(conn, func(fd int) error {
		var gerr error
		granted, gerr = getRcvBuf(fd)
		return gerr
	})
	if err != nil {
		r.log.Warn().Err(err).Msg("reading udp receive buffer size failed")
		return
	}
	r.met.udpRcvbuf.Set(float64(granted))
	ev := r.log.Info()
	// Linux reports twice the usable size (it doubles the request for bookkeeping),
	// so less than twice the request means the kernel clamped it (net.core.rmem_max).
	if granted < 2*r.cfg.ReadBuffer {
		ev = r.log.Warn().Str("hint", "raise net.core.rmem_max or grant CAP_NET_ADMIN")
	}
	ev.Int("requested", r.cfg.ReadBuffer).Int("granted", granted).Msg("udp receive buffer")
}

func controlFD(conn *net.UDPConn, f func(fd int) error) error {
	rc, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) { ferr = f(int(fd)) }); err != nil {
		return err
	}
	return ferr
}

// readUDP reads datagrams until the socket is closed and queues them for
// processUDP; it never waits for the Stream. The Allow check is done here, so
// refused datagrams take no queue space.
func (r *Receiver) readUDP(ctx context.Context, br *udpBatchReader, q *udpQueue, c *udpCounters) {
	defer q.close()
	w := udpWriter{q: q}
	var lastWarn time.Time
	unwarned := 0
	backoff := time.Duration(0)
	for {
		pkts, err := br.read()
		if err != nil {
			if !r.udpReadFailed(ctx, err, &backoff) {
				return
			}
			continue
		}
		backoff = 0
		notAllowed, full := 0, 0
		for _, p := range pkts {
			if r.cfg.Allow != nil && !r.cfg.Allow(p.peer.Addr()) {
				notAllowed++
				continue
			}
			data := p.data
			if !p.truncated {
				data = trimDatagram(data)
			}
			if len(data) == 0 {
				continue
			}
			if !w.add(data, p.truncated, p.peer) {
				full++
			}
		}
		w.commit()
		if notAllowed > 0 {
			c.notAllowed.Add(float64(notAllowed))
		}
		if full > 0 {
			c.queueFull.Add(float64(full))
			unwarned += full
			if now := time.Now(); now.Sub(lastWarn) >= udpDropWarnEvery {
				r.log.Warn().Int("dropped", unwarned).
					Msg("udp queue full: datagrams dropped since the last warning (the pipeline is slower than the senders)")
				lastWarn, unwarned = now, 0
			}
		}
	}
}

// processUDP hands queued datagrams to st until the reader has stopped and the
// queue is drained. On shutdown it drains what is queued rather than dropping
// it: Run's caller allows a grace period for that, and a Stream that would block
// sees the cancelled ctx and fails fast, counted as a "shutdown" drop.
func (r *Receiver) processUDP(ctx context.Context, q *udpQueue, st Stream, c *udpCounters) {
	defer q.release()
	fl, _ := st.(Flusher)
	unflushed := false
	for {
		s, msgs, closed := q.take()
		if len(msgs) == 0 {
			// Everything read so far has been handed over: publish before waiting.
			if unflushed && fl != nil {
				if err := fl.Flush(ctx); err != nil {
					r.udpHandlerError(ctx, c, err, netip.AddrPort{})
				}
			}
			unflushed = false
			if closed {
				return
			}
			<-q.wake
			continue
		}
		// Counted before delivery, as "handed to the pipeline", once per batch.
		nbytes, truncated := 0, 0
		for _, m := range msgs {
			nbytes += int(m.n)
			if m.truncated {
				truncated++
			}
		}
		r.met.messages.Add(float64(len(msgs)))
		r.met.bytes.Add(float64(nbytes))
		if truncated > 0 {
			r.met.truncated.Add(float64(truncated))
		}
		for _, m := range msgs {
			if err := st.Message(ctx, s.data(m), m.truncated, m.peer); err != nil {
				r.udpHandlerError(ctx, c, err, m.peer)
			}
		}
		unflushed = true
	}
}

func (r *Receiver) udpHandlerError(ctx context.Context, c *udpCounters, err error, peer netip.AddrPort) {
	if ctx.Err() != nil {
		c.shutdown.Inc()
		return
	}
	r.met.handlerErrors.Inc()
	c.handlerError.Inc()
	r.log.Debug().Err(err).Str("peer", peer.String()).Msg("handler failed; datagram dropped")
}

// readUDPSync is the unqueued path (udpTuning.sync): one datagram per syscall,
// handed to st before the next read. It cannot tell whether more data is
// waiting, so it flushes after every datagram.
func (r *Receiver) readUDPSync(ctx context.Context, conn *net.UDPConn, st Stream, c *udpCounters) {
	fl, _ := st.(Flusher)
	maxSize := r.cfg.MaxMessageSize
	// One byte more than the maximum tells a datagram that was cut by the kernel.
	buf := make([]byte, udpSlotSize(maxSize)+1)
	backoff := time.Duration(0)
	for {
		n, ap, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if !r.udpReadFailed(ctx, err, &backoff) {
				return
			}
			continue
		}
		backoff = 0
		peer := unmapAddrPort(ap)
		if r.cfg.Allow != nil && !r.cfg.Allow(peer.Addr()) {
			c.notAllowed.Inc()
			continue
		}
		data, truncated := buf[:n], false
		if n > maxSize {
			data, truncated = buf[:maxSize], true
		} else {
			data = trimDatagram(data)
		}
		if len(data) == 0 {
			continue
		}
		r.met.messages.Inc()
		r.met.bytes.Add(float64(len(data)))
		if truncated {
			r.met.truncated.Inc()
		}
		if err := st.Message(ctx, data, truncated, peer); err != nil {
			r.udpHandlerError(ctx, c, err, peer)
		}
		if fl != nil {
			if err := fl.Flush(ctx); err != nil {
				r.udpHandlerError(ctx, c, err, peer)
			}
		}
	}
}

// udpSlotSize is the buffer a datagram is read into: the maximum message size, or
// 64 KiB if that is more, since no UDP datagram is longer.
func udpSlotSize(maxSize int) int { return min(maxSize, 1<<16) }

// trimDatagram strips trailing LF and NUL bytes, and a CR before a stripped LF.
func trimDatagram(b []byte) []byte {
	t := bytes.TrimRight(b, "\n\x00")
	if len(t) < len(b) && len(t) > 0 && t[len(t)-1] == '\r' && b[len(t)] == '\n' {
		t = t[:len(t)-1]
	}
	return t
}

// pollKernelDrops exports the socket's kernel drop counter periodically and once more
// on shutdown.
func (r *Receiver) pollKernelDrops(ctx context.Context, inode uint64) {
	var last uint64
	warned := false
	poll := func() {
		drops, err := kernelDrops(inode)
		if err != nil {
			r.met.kernelDropsRead.Inc()
			if !warned {
				r.log.Warn().Err(err).Msg("reading kernel udp drop counter failed")
				warned = true
			}
			return
		}
		// The kernel counter is a 32-bit value that may wrap.
		delta := uint64(uint32(drops - last))
		if delta > 0 {
			r.met.udpKernelDrops.Add(float64(delta))
			r.log.Warn().Uint64("dropped", delta).Msg("kernel dropped udp datagrams (receive buffer full)")
		}
		last = drops
	}
	poll()
	t := time.NewTicker(r.dropPollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			poll()
			return
		case <-t.C:
			poll()
		}
	}
}

// udpReadFailed handles a read error: false when the socket is closed or the
// context done (the reader ends), else it counts and logs the error and
// backs off before the next read.
func (r *Receiver) udpReadFailed(ctx context.Context, err error, backoff *time.Duration) bool {
	if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
		return false
	}
	r.met.udpReadErrors.Inc()
	*backoff = min(max(2**backoff, acceptBackoffMin), acceptBackoffMax)
	r.log.Warn().Err(err).Msg("udp read failed")
	return sleepCtx(ctx, *backoff)
}
