package syslog

import (
	"net/netip"
	"sync"
	"sync/atomic"
)

// The UDP reader goroutines only read the socket and copy each datagram into a
// slab; the processing goroutine of each reader hands the datagrams to the Stream.
// The queue between them is bounded in bytes actually used: datagrams are packed
// into slabs (udpSlabBytes of data, at most udpSlabMsgs datagrams each), and a
// listener owns at most udpQueueSlabs slabs, shared by its readers (32 MiB of data
// and 6 MiB of descriptors by default; about 130,000 datagrams of 200 bytes, over a
// second at 100k msg/s). When no slab is free the reader drops datagrams, counted
// as "queue_full", rather than blocking (which would only move the drop into the
// kernel) or allocating more.
const (
	udpSlabBytes  = 1 << 20
	udpSlabMsgs   = udpSlabBytes / 256
	udpQueueSlabs = 32
	// udpIdleSlabs free slabs are kept for reuse; more are left to the GC, so a
	// burst that filled the queue does not pin its memory for good.
	udpIdleSlabs = 4
)

// udpTuning sizes the UDP path; tests and benchmarks shrink it or select the
// synchronous path, production uses defaultUDPTuning.
type udpTuning struct {
	slabBytes int // data bytes per slab; raised to the largest datagram if smaller
	slabMsgs  int // datagrams per slab
	slabs     int // slabs per listener
	batch     int // datagrams per read syscall (0: derived from the message size)
	// sync reads one datagram per syscall and calls the Stream on the reading
	// goroutine (the design before the queue), for comparison in benchmarks and
	// for tests that need a reader that stops reading while the Stream blocks.
	sync bool
}

func defaultUDPTuning() udpTuning {
	return udpTuning{slabBytes: udpSlabBytes, slabMsgs: udpSlabMsgs, slabs: udpQueueSlabs}
}

// udpMsg locates one datagram in its slab.
type udpMsg struct {
	peer      netip.AddrPort
	off, n    uint32
	truncated bool
}

// udpSlab holds packed datagrams. buf and msgs are never resliced: the reader
// writes elements past committed while the processor reads those before it.
type udpSlab struct {
	buf  []byte
	msgs []udpMsg
	// Guarded by udpQueue.mu.
	committed int  // msgs[:committed] are visible to the processor
	sealed    bool // the reader has moved to another slab
}

func (s *udpSlab) data(m udpMsg) []byte { return s.buf[m.off : m.off+m.n : m.off+m.n] }

// udpSlabPool hands out at most max slabs at a time; it is shared by the readers
// of one listener, so the bound is per listener.
type udpSlabPool struct {
	free      chan *udpSlab // capacity max: put never blocks
	allocated atomic.Int32
	max       int32
	bytes     int
	msgs      int
}

func newUDPSlabPool(t udpTuning) *udpSlabPool {
	return &udpSlabPool{free: make(chan *udpSlab, t.slabs), max: int32(t.slabs), bytes: t.slabBytes, msgs: t.slabMsgs}
}

// get returns a free slab, or nil when all max are in use.
func (p *udpSlabPool) get() *udpSlab {
	select {
	case s := <-p.free:
		return s
	default:
	}
	for {
		n := p.allocated.Load()
		if n >= p.max {
			return nil
		}
		if p.allocated.CompareAndSwap(n, n+1) {
			return &udpSlab{buf: make([]byte, p.bytes), msgs: make([]udpMsg, p.msgs)}
		}
	}
}

func (p *udpSlabPool) put(s *udpSlab) {
	s.committed, s.sealed = 0, false
	if len(p.free) < udpIdleSlabs {
		select {
		case p.free <- s:
			return
		default:
		}
	}
	p.allocated.Add(-1)
}

// udpQueue passes datagrams from one reader to one processor: a FIFO of slabs,
// the last one being filled by the reader.
type udpQueue struct {
	pool *udpSlabPool
	// wake (capacity 1) tells the processor that something was committed or that
	// the queue was closed; a stale token only causes an extra look.
	wake chan struct{}

	mu     sync.Mutex
	slabs  []*udpSlab
	taken  int // messages of slabs[0] already handed to the processor
	closed bool
}

func newUDPQueue(pool *udpSlabPool) *udpQueue {
	return &udpQueue{pool: pool, wake: make(chan struct{}, 1)}
}

func (q *udpQueue) signal() {
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// close is called by the reader when it stops; the processor drains what is
// committed and then ends.
func (q *udpQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.mu.Unlock()
	q.signal()
}

// take returns the messages committed since the last take (all from one slab),
// first recycling slabs that are sealed and fully taken: the processor calls it
// only after it is done with the previous batch. With nothing to take it returns
// no messages and whether the queue is closed.
func (q *udpQueue) take() (s *udpSlab, msgs []udpMsg, closed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	for len(q.slabs) > 0 {
		s = q.slabs[0]
		if q.taken < s.committed {
			msgs = s.msgs[q.taken:s.committed]
			q.taken = s.committed
			return s, msgs, false
		}
		if !s.sealed {
			break
		}
		q.slabs[0] = nil
		q.slabs = q.slabs[1:]
		q.taken = 0
		q.pool.put(s)
	}
	return nil, nil, q.closed
}

// release returns the slabs still queued to the pool once both sides are done.
func (q *udpQueue) release() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, s := range q.slabs {
		q.pool.put(s)
		q.slabs[i] = nil
	}
	q.slabs = q.slabs[:0]
}

// udpWriter is the reader's side of a udpQueue.
type udpWriter struct {
	q      *udpQueue
	cur    *udpSlab
	nbytes int
	nmsgs  int
	dirty  bool // messages added since the last commit
}

// add copies one datagram into the queue; it reports false if there was no room.
func (w *udpWriter) add(data []byte, truncated bool, peer netip.AddrPort) bool {
	if w.cur == nil || w.nmsgs == len(w.cur.msgs) || w.nbytes+len(data) > len(w.cur.buf) {
		if len(data) > w.q.pool.bytes || !w.next() {
			return false
		}
	}
	copy(w.cur.buf[w.nbytes:], data)
	w.cur.msgs[w.nmsgs] = udpMsg{peer: peer, off: uint32(w.nbytes), n: uint32(len(data)), truncated: truncated}
	w.nbytes += len(data)
	w.nmsgs++
	w.dirty = true
	return true
}

// next seals the current slab and starts a new one, if the pool has one. The
// current slab is kept when it has none: a smaller datagram may still fit.
func (w *udpWriter) next() bool {
	s := w.q.pool.get()
	if s == nil {
		return false
	}
	w.q.mu.Lock()
	if w.cur != nil {
		w.cur.committed, w.cur.sealed = w.nmsgs, true
	}
	w.q.slabs = append(w.q.slabs, s)
	w.q.mu.Unlock()
	w.cur, w.nbytes, w.nmsgs = s, 0, 0
	return true
}

// commit makes the datagrams added so far visible to the processor.
func (w *udpWriter) commit() {
	if !w.dirty {
		return
	}
	w.dirty = false
	w.q.mu.Lock()
	w.cur.committed = w.nmsgs
	w.q.mu.Unlock()
	w.q.signal()
}
