package syslog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"time"
)

func (r *Receiver) runUDP(ctx context.Context, markReady func(net.Addr)) error {
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

	var wg sync.WaitGroup
	for _, st := range streams {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer st.Close()
			r.readUDP(ctx, conn, st)
		}()
	}
	// The socket is closed only after the last read of its drop counter, which
	// disappears with it.
	wg.Add(1)
	go func() {
		defer wg.Done()
		if inode != 0 {
			r.pollKernelDrops(ctx, inode)
		} else {
			<-ctx.Done()
		}
		_ = conn.Close()
	}()
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

// readUDP reads datagrams until the socket is closed. One datagram is one message.
func (r *Receiver) readUDP(ctx context.Context, conn *net.UDPConn, st Stream) {
	maxSize := r.cfg.MaxMessageSize
	// One byte more than the maximum tells a datagram that was cut by the kernel.
	buf := make([]byte, maxSize+1)
	backoff := time.Duration(0)
	for {
		n, ap, err := conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			r.met.udpReadErrors.Inc()
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			r.log.Warn().Err(err).Msg("udp read failed")
			if !sleepCtx(ctx, backoff) {
				return
			}
			continue
		}
		backoff = 0
		peer := unmapAddrPort(ap)
		if r.cfg.Allow != nil && !r.cfg.Allow(peer.Addr()) {
			r.met.udpDrop("not_allowed")
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
			r.met.handlerErrors.Inc()
			r.met.udpDrop("handler_error")
			r.log.Debug().Err(err).Str("peer", peer.String()).Msg("handler failed; datagram dropped")
		}
	}
}

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
