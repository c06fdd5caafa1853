package syslog

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"
)

const (
	acceptBackoffMin = 5 * time.Millisecond
	acceptBackoffMax = time.Second
)

// streamConn is one admitted TCP/TLS connection.
type streamConn struct {
	raw  net.Conn
	peer netip.AddrPort
}

func (r *Receiver) runStream(ctx context.Context, markReady func(net.Addr)) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", r.cfg.Address)
	if err != nil {
		return fmt.Errorf("syslog receiver %q: listen: %w", r.cfg.Name, err)
	}
	r.log.Info().Str("addr", ln.Addr().String()).Msg("syslog listener started")
	markReady(ln.Addr())
	if err := r.serveStream(ctx, ln); err != nil {
		return fmt.Errorf("syslog receiver %q: %w", r.cfg.Name, err)
	}
	return nil
}

// serveStream accepts connections on ln until ctx is cancelled, then closes ln and all
// connections and waits for their goroutines.
func (r *Receiver) serveStream(ctx context.Context, ln net.Listener) error {
	r.mu.Lock()
	r.conns = make(map[*streamConn]struct{})
	r.perSender = make(map[netip.Addr]int)
	r.mu.Unlock()

	var wg sync.WaitGroup
	closeAll := func() {
		_ = ln.Close()
		r.mu.Lock()
		r.closing = true
		for c := range r.conns {
			_ = c.raw.Close()
		}
		r.mu.Unlock()
	}
	stop := context.AfterFunc(ctx, closeAll)
	defer stop()

	var fatal error
	backoff := time.Duration(0)
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			// A listener closed by someone else cannot recover.
			if errors.Is(err, net.ErrClosed) {
				fatal = fmt.Errorf("accept: %w", err)
				break
			}
			// EMFILE and friends: back off instead of spinning, then continue.
			r.met.acceptErrors.Inc()
			backoff = min(max(2*backoff, acceptBackoffMin), acceptBackoffMax)
			r.log.Warn().Err(err).Dur("backoff", backoff).Msg("accept failed")
			if !sleepCtx(ctx, backoff) {
				break
			}
			continue
		}
		backoff = 0
		r.met.connTotal.Inc()
		sc, reason := r.admit(c)
		if sc == nil {
			r.met.rejected(reason)
			r.log.Debug().Str("peer", c.RemoteAddr().String()).Str("reason", reason).Msg("connection rejected")
			_ = c.Close()
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer r.release(sc)
			r.serveConn(ctx, sc)
		}()
	}
	closeAll()
	wg.Wait()
	return fatal
}

// admit applies the Allow check and the connection limits; it returns nil and the
// rejection reason when the connection must be closed.
func (r *Receiver) admit(c net.Conn) (*streamConn, string) {
	var peer netip.AddrPort
	if ta, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		peer = unmapAddrPort(ta.AddrPort())
	}
	if r.cfg.Allow != nil && !r.cfg.Allow(peer.Addr()) {
		return nil, "not_allowed"
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case r.closing:
		return nil, "shutdown"
	case len(r.conns) >= r.cfg.MaxConnections:
		return nil, "limit"
	case r.perSender[peer.Addr()] >= r.cfg.MaxConnectionsPerSender:
		return nil, "sender_limit"
	}
	sc := &streamConn{raw: c, peer: peer}
	r.conns[sc] = struct{}{}
	r.perSender[peer.Addr()]++
	r.met.connActive.Inc()
	return sc, ""
}

func (r *Receiver) release(sc *streamConn) {
	_ = sc.raw.Close()
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.conns, sc)
	if n := r.perSender[sc.peer.Addr()] - 1; n > 0 {
		r.perSender[sc.peer.Addr()] = n
	} else {
		delete(r.perSender, sc.peer.Addr())
	}
	r.met.connActive.Dec()
}

// serveConn runs the TLS handshake (for tls), opens the stream and reads messages until
// the connection ends.
func (r *Receiver) serveConn(ctx context.Context, sc *streamConn) {
	info := StreamInfo{
		Listener:  r.cfg.Name,
		Transport: r.cfg.Transport,
		Peer:      sc.peer,
		ID:        r.newID(),
	}
	log := r.log.With().Str("peer", sc.peer.String()).Uint64("conn", info.ID).Logger()
	conn := sc.raw
	if r.tlsConf != nil {
		tc := tls.Server(sc.raw, r.tlsConf)
		// A deadline rather than HandshakeContext: no extra goroutine per connection.
		_ = sc.raw.SetDeadline(time.Now().Add(r.cfg.HandshakeTimeout))
		err := tc.Handshake()
		_ = sc.raw.SetDeadline(time.Time{})
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			reason := handshakeFailureReason(err)
			r.met.rejected("tls_handshake")
			r.met.tlsFailure(reason)
			log.Debug().Err(err).Str("reason", reason).Msg("tls handshake failed")
			return
		}
		if st := tc.ConnectionState(); len(st.VerifiedChains) > 0 && len(st.PeerCertificates) > 0 {
			info.TLSPeerCN = st.PeerCertificates[0].Subject.CommonName
		}
		conn = tc
	}
	stream := r.cfg.Handler.Open(info)
	if stream == nil {
		r.met.rejected("handler")
		log.Debug().Msg("connection refused by handler")
		return
	}
	defer stream.Close()

	// Counters are published in batches: before every read from the socket, the
	// point where the connection may go quiet, so nothing stays unpublished.
	var msgs, nbytes, truncs int64
	flusher, _ := stream.(Flusher)
	flush := func() error {
		if msgs > 0 {
			r.met.messages.Add(float64(msgs))
			r.met.bytes.Add(float64(nbytes))
			msgs, nbytes = 0, 0
		}
		if truncs > 0 {
			r.met.truncated.Add(float64(truncs))
			truncs = 0
		}
		if flusher != nil {
			if err := flusher.Flush(ctx); err != nil {
				return &handlerError{err}
			}
		}
		return nil
	}
	failed := false // a handler error ended the connection, already counted
	defer func() {
		if err := flush(); err != nil && ctx.Err() == nil && !failed {
			r.met.handlerErrors.Inc()
			log.Warn().Err(err).Msg("handler failed at connection end")
		}
	}()
	cr := &connReader{c: conn, idle: r.cfg.IdleTimeout, beforeRead: flush}
	fr := newFramer(newBufReader(cr), r.cfg.MaxMessageSize)
	fr.refill = func(cur *bufio.Reader) *bufio.Reader {
		if cr.fullReads >= busyAfterReads && cur.Size() < busyBufferSize {
			return bufio.NewReaderSize(cr, busyBufferSize) // a busy sender
		}
		return cur
	}
	fr.onError = r.met.framingError
	fr.onFrameEnd = func() { cr.msgStart = time.Time{} }
	for {
		msg, truncated, err := fr.next()
		var herr *handlerError
		if errors.As(err, &herr) && ctx.Err() == nil {
			// The flush before a read failed: as a failed Message.
			failed = true
			r.met.handlerErrors.Inc()
			r.met.closed("handler_error")
			log.Warn().Err(herr.err).Msg("handler failed; closing connection")
			return
		}
		if err != nil {
			reason := closeReason(ctx, err)
			r.met.closed(reason)
			if reason == "read_error" {
				log.Debug().Err(err).Msg("connection read failed")
			}
			return
		}
		msgs++
		nbytes += int64(len(msg))
		if truncated {
			truncs++
		}
		var start time.Time
		if !cr.msgStart.IsZero() {
			start = time.Now()
		}
		err = stream.Message(ctx, msg, truncated, sc.peer)
		if !start.IsZero() && !cr.msgStart.IsZero() {
			// Time blocked in the handler (backpressure) is not the sender's fault.
			cr.msgStart = cr.msgStart.Add(time.Since(start))
		}
		if err != nil {
			failed = true
			r.met.handlerErrors.Inc()
			r.met.closed("handler_error")
			log.Warn().Err(err).Msg("handler failed; closing connection")
			return
		}
	}
}

// handlerError is a Flusher's error, passed up through the reader.
type handlerError struct{ err error }

func (e *handlerError) Error() string { return "handler: " + e.err.Error() }
func (e *handlerError) Unwrap() error { return e.err }

func closeReason(ctx context.Context, err error) string {
	switch {
	case ctx.Err() != nil:
		return "shutdown"
	case errors.Is(err, io.EOF):
		return "eof"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	default:
		return "read_error"
	}
}

// handshakeFailureReason classifies a TLS handshake error for the metric label.
func handshakeFailureReason(err error) string {
	var (
		verr  *tls.CertificateVerificationError
		alert tls.AlertError
		rerr  tls.RecordHeaderError
	)
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timeout"
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed):
		return "eof"
	case errors.As(err, &verr):
		return "bad_client_cert"
	case strings.Contains(err.Error(), "didn't provide a certificate"):
		// crypto/tls has no sentinel for this one.
		return "no_client_cert"
	case errors.As(err, &alert):
		return "client_alert"
	case errors.As(err, &rerr):
		return "not_tls"
	case strings.Contains(err.Error(), "unsupported versions"), strings.Contains(err.Error(), "protocol version"):
		return "version"
	default:
		return "other"
	}
}

// connReader sets the read deadline before every read: IdleTimeout after now, but no
// later than IdleTimeout after the current message started arriving (slowloris).
type connReader struct {
	c          net.Conn
	idle       time.Duration
	msgStart   time.Time    // zero between messages
	beforeRead func() error // called before each read (hands over batched work)
	fullReads  int          // consecutive reads that filled the buffer
}

func (cr *connReader) Read(p []byte) (int, error) {
	if cr.beforeRead != nil {
		start := cr.msgStart
		if !start.IsZero() {
			start = time.Now()
		}
		if err := cr.beforeRead(); err != nil {
			return 0, err
		}
		if !start.IsZero() {
			// Time blocked in the handler (backpressure) mid-message is not
			// the sender's fault.
			cr.msgStart = cr.msgStart.Add(time.Since(start))
		}
	}
	now := time.Now()
	dl := now.Add(cr.idle)
	if !cr.msgStart.IsZero() {
		if d := cr.msgStart.Add(cr.idle); d.Before(dl) {
			dl = d
		}
	}
	if err := cr.c.SetReadDeadline(dl); err != nil {
		return 0, err
	}
	n, err := cr.c.Read(p)
	if n == len(p) {
		cr.fullReads++
	} else {
		cr.fullReads = 0
	}
	if n > 0 && cr.msgStart.IsZero() {
		cr.msgStart = now
	}
	return n, err
}

var _ io.Reader = (*connReader)(nil)

func newBufReader(r io.Reader) *bufio.Reader { return bufio.NewReaderSize(r, streamBufferSize) }
