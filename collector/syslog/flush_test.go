package syslog

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// flushHandler records messages like recorder and implements Flusher:
// flush decides what the n-th Flush call (from 1) does.
type flushHandler struct {
	recorder
	flush func(ctx context.Context, n int) error

	fmu     sync.Mutex
	flushes int
}

type flushStream struct {
	recStream
	h *flushHandler
}

var _ Flusher = (*flushStream)(nil)

func (h *flushHandler) Open(info StreamInfo) Stream {
	return &flushStream{recStream: *h.recorder.Open(info).(*recStream), h: h}
}

func (s *flushStream) Flush(ctx context.Context) error {
	s.h.fmu.Lock()
	s.h.flushes++
	n := s.h.flushes
	s.h.fmu.Unlock()
	return s.h.flush(ctx, n)
}

// TestFlushErrorClosesConnection checks that a Flusher's error closes the
// TCP connection as a failed Message does, counted as a handler error.
func TestFlushErrorClosesConnection(t *testing.T) {
	h := &flushHandler{flush: func(_ context.Context, n int) error {
		if n >= 2 {
			return errors.New("spool failed")
		}
		return nil
	}}
	r, _ := start(t, Config{Handler: h})
	c := dial(t, r.Addr())
	write(t, c, "<13>one\n")
	expectHandlerErrorClose(t, r, c)
	if got := h.datas(); len(got) != 1 || got[0] != "<13>one" {
		t.Errorf("recorded %q", got)
	}
}

// TestFlushWaitIsNotSlowloris checks that time a Flush spends blocked
// (backpressure) in the middle of a message does not count against the
// sender's IdleTimeout for that message.
func TestFlushWaitIsNotSlowloris(t *testing.T) {
	const idle = 300 * time.Millisecond
	h := &flushHandler{flush: func(ctx context.Context, n int) error {
		if n == 2 { // before the read that should complete the message
			select {
			case <-time.After(3 * idle):
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		return nil
	}}
	r, _ := start(t, Config{Handler: h, IdleTimeout: idle})
	c := dial(t, r.Addr())
	write(t, c, "<13>sec")
	time.Sleep(idle / 3)
	write(t, c, "ond\n")
	waitFor(t, "the message", func() bool { return h.count() == 1 })
	if got := h.datas(); got[0] != "<13>second" {
		t.Errorf("recorded %q", got)
	}
	if n := counter(r.cfg.Metrics.connClosed, "test", "timeout"); n != 0 {
		t.Errorf("%d connections closed for timeout", n)
	}
}
