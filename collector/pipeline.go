// Package collector is the CloudScout runtime: it owns the receivers, the
// parse → pseudonymize → spool pipeline, the uploader and the admin endpoint.
package collector

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cloudscout/cloudscout/collector/anonymize"
	"github.com/cloudscout/cloudscout/collector/config"
	"github.com/cloudscout/cloudscout/collector/spool"
	"github.com/cloudscout/cloudscout/collector/syslog"
	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/custom"
)

// Appender is what the pipeline needs from the spool.
type Appender interface {
	Append(source string, record []byte, ts time.Time) error
	// AppendBatch takes n records, each followed by '\n', all or none.
	AppendBatch(source string, recs []byte, n int, minTs, maxTs time.Time) error
	Wait(ctx context.Context) error
	Sync() error
}

var _ Appender = (*spool.Spool)(nil)

// sourceRuntime is one configured source with its counters.
type sourceRuntime struct {
	cfg    *config.Source
	anon   *anonymize.Anonymizer
	newP   func() (parsers.Parser, error)
	stats  *SourceStats
	logger zerolog.Logger
	// failure logging is rate limited: at most failLogBurst lines a minute
	failMu     sync.Mutex
	failWindow time.Time
	failLogged int
}

const failLogBurst = 5

// SourceStats are a source's live counters. The manifest's parse figures
// are deltas of these between two seals.
type SourceStats struct {
	Received  atomic.Int64 // messages or lines in
	Records   atomic.Int64 // traffic records spooled
	Skipped   atomic.Int64 // lines that carry no traffic event
	Failed    atomic.Int64 // lines no parser could read
	Truncated atomic.Int64 // messages cut at the size limit
	Dropped   atomic.Int64 // records lost (UDP while the spool was full)
	// field coverage, for discovery quality
	WithUser   atomic.Int64
	WithURL    atomic.Int64 // url or destination domain
	WithBytes  atomic.Int64 // both directions
	WithAction atomic.Int64

	mu           sync.Mutex
	firstErrors  []string // first failures, for status
	sealedAt     map[string]int64
	lastReceived atomic.Int64 // unix nanos
}

func (s *SourceStats) noteFailure(msg string) {
	s.mu.Lock()
	if len(s.firstErrors) < 5 {
		s.firstErrors = append(s.firstErrors, msg)
	}
	s.mu.Unlock()
}

// FirstErrors returns up to five parse failures seen since start.
func (s *SourceStats) FirstErrors() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.firstErrors...)
}

func (s *SourceStats) snapshot() map[string]int64 {
	return map[string]int64{
		"received":    s.Received.Load(),
		"records":     s.Records.Load(),
		"skipped":     s.Skipped.Load(),
		"failed":      s.Failed.Load(),
		"truncated":   s.Truncated.Load(),
		"dropped":     s.Dropped.Load(),
		"with_user":   s.WithUser.Load(),
		"with_url":    s.WithURL.Load(),
		"with_bytes":  s.WithBytes.Load(),
		"with_action": s.WithAction.Load(),
	}
}

// sealDelta returns the figures since the previous call (for manifests).
func (s *SourceStats) sealDelta() map[string]int64 {
	now := s.snapshot()
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int64, len(now))
	for k, v := range now {
		out[k] = v - s.sealedAt[k]
	}
	s.sealedAt = now
	return out
}

// Pipeline turns raw messages and file lines into spooled records. It
// implements syslog.Handler; FileSink adapts it for the file-drop input.
// Its sources can be replaced while it runs (reload): streams pick up the
// new set with their next message.
type Pipeline struct {
	spool   Appender
	key     *anonymize.Key
	set     atomic.Pointer[sourceSet]
	metrics *pipelineMetrics
	logger  zerolog.Logger
	now     func() time.Time

	statsMu sync.Mutex
	stats   map[string]*SourceStats // by source name; survives reloads

	// bufs holds record batch buffers (*[]byte): a stream takes one for
	// a batch and gives it back when the batch is handed over, so the
	// thousand idle connections a listener allows hold none.
	bufs sync.Pool
}

// sourceSet is one generation of configured sources.
type sourceSet struct {
	sources    map[string]*sourceRuntime
	byListener map[string][]*sourceRuntime // listener key -> sources, config order
}

type pipelineMetrics struct {
	received  *prometheus.CounterVec
	records   *prometheus.CounterVec
	skipped   *prometheus.CounterVec
	failed    *prometheus.CounterVec
	truncated *prometheus.CounterVec
	dropped   *prometheus.CounterVec
	coverage  *prometheus.CounterVec
	unmatched *prometheus.CounterVec
}

func newPipelineMetrics(reg prometheus.Registerer) *pipelineMetrics {
	cv := func(name, help string, labels ...string) *prometheus.CounterVec {
		c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "cloudscout_source_" + name, Help: help}, labels)
		reg.MustRegister(c)
		return c
	}
	return &pipelineMetrics{
		received:  cv("received_total", "Messages or file lines received per source.", "source"),
		records:   cv("records_total", "Traffic records parsed and accepted by the spool.", "source"),
		skipped:   cv("skipped_total", "Lines that carry no traffic event (system, config, header lines).", "source"),
		failed:    cv("failed_total", "Lines no parser could read.", "source"),
		truncated: cv("truncated_total", "Messages cut at syslog.max_message_size.", "source"),
		dropped:   cv("dropped_total", "Records lost, by reason.", "source", "reason"),
		coverage:  cv("field_coverage_total", "Records carrying a discovery field (user, url, bytes, action).", "source", "field"),
		unmatched: cv("unmatched_sender_total", "Messages from a sender no source on the listener accepts.", "listener"),
	}
}

// sourceCounters caches a source's metric children so the hot path does no
// label lookups.
type sourceCounters struct {
	received, records, skipped, failed, truncated            prometheus.Counter
	droppedFull, droppedShutdown, droppedLarge, droppedError prometheus.Counter
	covUser, covURL, covBytes, covAction                     prometheus.Counter
}

func newPipeline(cfg *config.Config, sp Appender, key *anonymize.Key, reg prometheus.Registerer, logger zerolog.Logger) (*Pipeline, error) {
	p := &Pipeline{
		spool:   sp,
		key:     key,
		metrics: newPipelineMetrics(reg),
		logger:  logger,
		now:     time.Now,
		stats:   map[string]*SourceStats{},
	}
	p.bufs.New = func() any {
		b := make([]byte, 0, batchBytes+batchBytes/4)
		return &b
	}
	if err := p.Apply(cfg); err != nil {
		return nil, err
	}
	return p, nil
}

// Apply switches the pipeline to cfg's sources. Counters of sources that
// keep their name carry on.
func (p *Pipeline) Apply(cfg *config.Config) error {
	set := &sourceSet{sources: map[string]*sourceRuntime{}, byListener: map[string][]*sourceRuntime{}}
	for i := range cfg.Sources {
		s := &cfg.Sources[i]
		policy := cfg.Anonymize.Policy
		if s.Anonymize != nil {
			policy = policy.Merge(*s.Anonymize)
		}
		an, err := anonymize.New(p.key, policy)
		if err != nil {
			return fmt.Errorf("source %s: %w", s.Name, err)
		}
		loc := s.Location()
		format := s.Format
		newP := func() (parsers.Parser, error) { return parsers.New(format, parsers.Options{Location: loc}) }
		if spec, ok := cfg.Custom(format); ok {
			newP = func() (parsers.Parser, error) { return custom.New(spec, loc) }
		} else if _, ok := parsers.Lookup(format); !ok {
			return fmt.Errorf("source %s: unknown format %q", s.Name, format)
		}
		if _, err := newP(); err != nil {
			return fmt.Errorf("source %s: %w", s.Name, err)
		}
		set.sources[s.Name] = &sourceRuntime{
			cfg:    s,
			anon:   an,
			newP:   newP,
			stats:  p.statsFor(s.Name),
			logger: p.logger.With().Str("source", s.Name).Logger(),
		}
	}
	for _, l := range cfg.Listeners() {
		for _, s := range l.Sources {
			set.byListener[l.Key()] = append(set.byListener[l.Key()], set.sources[s.Name])
		}
	}
	p.set.Store(set)
	return nil
}

func (p *Pipeline) statsFor(name string) *SourceStats {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	st, ok := p.stats[name]
	if !ok {
		st = &SourceStats{}
		p.stats[name] = st
	}
	return st
}

func (p *Pipeline) counters(name string) *sourceCounters {
	m := p.metrics
	return &sourceCounters{
		received:    m.received.WithLabelValues(name),
		records:     m.records.WithLabelValues(name),
		skipped:     m.skipped.WithLabelValues(name),
		failed:      m.failed.WithLabelValues(name),
		truncated:   m.truncated.WithLabelValues(name),
		droppedFull: m.dropped.WithLabelValues(name, "spool_full"),
		// a blocking stream's batch still unspooled when shutdown cut the wait
		droppedShutdown: m.dropped.WithLabelValues(name, "shutdown"),
		droppedLarge:    m.dropped.WithLabelValues(name, "record_too_large"),
		droppedError:    m.dropped.WithLabelValues(name, "spool_error"),
		covUser:         m.coverage.WithLabelValues(name, "user"),
		covURL:          m.coverage.WithLabelValues(name, "url"),
		covBytes:        m.coverage.WithLabelValues(name, "bytes"),
		covAction:       m.coverage.WithLabelValues(name, "action"),
	}
}

// Stats returns the live counters of a source.
func (p *Pipeline) Stats(source string) *SourceStats {
	p.statsMu.Lock()
	defer p.statsMu.Unlock()
	return p.stats[source]
}

// SealHook gives the spool the parse figures for a batch's manifest.
func (p *Pipeline) SealHook(source string) map[string]int64 {
	if st := p.Stats(source); st != nil {
		return st.sealDelta()
	}
	return nil
}

// Allow reports whether any source on a listener accepts a sender; it
// follows reloads.
func (p *Pipeline) Allow(listenerKey string) func(netip.Addr) bool {
	return func(a netip.Addr) bool {
		for _, s := range p.set.Load().byListener[listenerKey] {
			if s.cfg.Allows(a) {
				return true
			}
		}
		return false
	}
}

// worker is the per-sender state of a stream: a parser instance (per
// source), an anonymizer worker and the batched counters. Its records go
// into the stream's batch.
type worker struct {
	p      *Pipeline
	rt     *sourceRuntime
	c      *sourceCounters
	parser parsers.Parser
	anon   *anonymize.Worker
	rec    parsers.Record
	meta   parsers.Meta
	b      *recBatch // the stream's, shared by its workers

	// Counters and the clock are batched: a message costs no shared-memory
	// write and no clock read. publish makes them visible; it runs when the
	// receiver is about to wait for data (syslog.Flusher), at file commits,
	// and every flushEvery messages.
	pend     counts
	clock    time.Time // receipt time of the current run of messages
	fresh    bool      // clock was read for this run (publish ends a run)
	sinceNow int
	queued   bool // on its stream's pending list
}

// counts are a worker's unpublished counter increments.
type counts struct {
	received, records, skipped, failed, truncated        int64
	dropped, droppedShutdown, droppedLarge, droppedError int64
	user, url, bytes, action                             int64
}

// flushEvery bounds how many messages share one clock reading and how long
// records and counters may wait while a stream is busy.
const flushEvery = 256

// batchBytes is the size at which a stream hands its records to the spool:
// one lock and one copy for about forty 700-byte records instead of one each.
const batchBytes = 32 << 10

// maxIdleBatchCap bounds the batch buffers kept for reuse (one may have
// grown for an unusually large record).
const maxIdleBatchCap = 1 << 20

func (p *Pipeline) newWorker(rt *sourceRuntime, b *recBatch) (*worker, error) {
	pr, err := rt.newP()
	if err != nil {
		return nil, err
	}
	return &worker{p: p, rt: rt, c: p.counters(rt.cfg.Name), parser: pr, anon: rt.anon.NewWorker(), b: b}, nil
}

// now returns the receipt time of the current message: one clock reading
// serves a run of messages read together.
func (w *worker) now() time.Time {
	if !w.fresh {
		w.clock = w.p.now()
		w.fresh = true
	}
	w.sinceNow++
	return w.clock
}

// publish makes the batched counters visible.
func (w *worker) publish() {
	if !w.fresh && w.pend == (counts{}) {
		return
	}
	st, c, n := w.rt.stats, w.c, &w.pend
	add := func(a *atomic.Int64, pc prometheus.Counter, v int64) {
		if v != 0 {
			if a != nil {
				a.Add(v)
			}
			pc.Add(float64(v))
		}
	}
	add(&st.Received, c.received, n.received)
	add(&st.Records, c.records, n.records)
	add(&st.Skipped, c.skipped, n.skipped)
	add(&st.Failed, c.failed, n.failed)
	add(&st.Truncated, c.truncated, n.truncated)
	add(&st.Dropped, c.droppedFull, n.dropped)
	add(&st.Dropped, c.droppedShutdown, n.droppedShutdown)
	add(&st.Dropped, c.droppedLarge, n.droppedLarge)
	add(&st.Dropped, c.droppedError, n.droppedError)
	add(&st.WithUser, c.covUser, n.user)
	add(&st.WithURL, c.covURL, n.url)
	add(&st.WithBytes, c.covBytes, n.bytes)
	add(&st.WithAction, c.covAction, n.action)
	if w.fresh {
		st.lastReceived.Store(w.clock.UnixNano())
	}
	w.pend = counts{}
	w.fresh = false
	w.sinceNow = 0
}

// handle parses one line and adds its record to the stream's batch. line
// may alias a buffer the caller reuses: nothing may keep it after handle
// returns. It returns an error only when the stream must stop (context
// cancelled while waiting for spool room, spool failure on a blocking
// stream).
func (w *worker) handle(ctx context.Context, line string, truncated bool, offset int64) error {
	if w.sinceNow >= flushEvery {
		if err := w.b.commit(ctx, true); err != nil {
			return err
		}
		w.publish()
	}
	now := w.now()
	n := &w.pend
	n.received++
	if truncated {
		n.truncated++
	}
	w.rec.Reset()
	// In the worker, not on the stack: a pointer passed to the parser
	// interface would make it escape (an allocation per message).
	m := &w.meta
	*m = parsers.Meta{Location: w.rt.cfg.Location(), Now: now}
	if err := parsers.ParseLine(w.parser, line, m, &w.rec); err != nil {
		if errors.Is(err, parsers.ErrSkip) {
			n.skipped++
			return nil
		}
		n.failed++
		w.noteFailure(err, line)
		return nil
	}
	r := &w.rec
	if offset >= 0 {
		r.LogOffset = parsers.N(offset)
	}
	r.DataSource = w.rt.cfg.Name
	w.coverage(r)
	w.anon.Apply(r)
	return w.b.add(ctx, w, r, now)
}

func (w *worker) coverage(r *parsers.Record) {
	n := &w.pend
	if r.UserName != "" {
		n.user++
	}
	if r.URLOriginal != "" || r.URLDomain != "" || r.DestinationDomain != "" {
		n.url++
	}
	if r.SourceBytes.Set && r.DestinationBytes.Set {
		n.bytes++
	}
	if r.Verdict != parsers.VerdictUnknown {
		n.action++
	}
}

// logAllowed rate-limits a source's warnings to failLogBurst a minute.
func (rt *sourceRuntime) logAllowed(now time.Time) bool {
	rt.failMu.Lock()
	defer rt.failMu.Unlock()
	if now.Sub(rt.failWindow) > time.Minute {
		rt.failWindow, rt.failLogged = now, 0
	}
	rt.failLogged++
	return rt.failLogged <= failLogBurst
}

func (w *worker) noteFailure(err error, line string) {
	rt := w.rt
	// line (and text in err) may alias a reused buffer: keep copies only.
	sample := line
	if len(sample) > 200 {
		sample = sample[:200] + "..."
	}
	sample = strings.Clone(sample)
	rt.stats.noteFailure(err.Error() + ": " + sample)
	if rt.logAllowed(w.clock) {
		rt.logger.Warn().Err(err).Str("line", sample).Msg("line not parsed (counted in cloudscout_source_failed_total; further failures this minute are only counted)")
	}
}

// recBatch collects a stream's records as JSON lines for one
// Appender.AppendBatch. Its records are all of one source and are counted
// on w, a worker of that source.
type recBatch struct {
	sp      Appender
	pool    *sync.Pool // of *[]byte
	blocked bool       // TCP/TLS/files wait for spool room; UDP drops
	bp      *[]byte    // from pool while the batch holds records
	buf     []byte     // *bp, grown
	n       int
	lo, hi  time.Time // event-time range of the records
	w       *worker
}

// add encodes r into the batch; now stands in for a missing event time. A
// full batch is handed over.
func (b *recBatch) add(ctx context.Context, w *worker, r *parsers.Record, now time.Time) error {
	if b.n > 0 && b.w.rt != w.rt {
		// A batch holds one source (a UDP listener may serve several).
		if err := b.commit(ctx, true); err != nil {
			return err
		}
	}
	if b.bp == nil {
		b.bp = b.pool.Get().(*[]byte)
		b.buf = (*b.bp)[:0]
	}
	start := len(b.buf)
	b.buf = r.AppendJSON(b.buf)
	if size := len(b.buf) - start; size > spool.MaxRecordBytes {
		b.buf = b.buf[:start]
		if b.n == 0 {
			b.reset() // let the grown buffer go now
		}
		w.pend.droppedLarge++
		if w.rt.logAllowed(w.clock) {
			w.rt.logger.Warn().Int("bytes", size).Int("limit", spool.MaxRecordBytes).Msg("record too large for the spool; dropped (counted in cloudscout_source_dropped_total{reason=\"record_too_large\"})")
		}
		return nil
	}
	b.buf = append(b.buf, '\n')
	ts := r.Timestamp
	if ts.IsZero() {
		ts = now
	}
	if b.n == 0 || ts.Before(b.lo) {
		b.lo = ts
	}
	if b.n == 0 || ts.After(b.hi) {
		b.hi = ts
	}
	b.n++
	b.w = w // same source: the counts land in the same figures
	if len(b.buf) >= batchBytes {
		return b.commit(ctx, true)
	}
	return nil
}

// commit hands the batch to the spool. On a full spool a blocking stream
// waits for room (if wait; else the records count as a shutdown loss),
// publishing its counters first since the wait may be long; a UDP stream
// counts the records dropped. An error means the stream must stop; the
// records are then counted dropped.
func (b *recBatch) commit(ctx context.Context, wait bool) error {
	if b.n == 0 {
		return nil
	}
	w, n := b.w, int64(b.n)
	defer b.reset()
	for {
		err := b.sp.AppendBatch(w.rt.cfg.Name, b.buf, b.n, b.lo, b.hi)
		switch {
		case err == nil:
			w.pend.records += n
			return nil
		case !errors.Is(err, spool.ErrFull):
			w.pend.droppedError += n
			return fmt.Errorf("spool: %w", err)
		case !b.blocked:
			w.pend.dropped += n
			return nil
		case !wait:
			w.pend.droppedShutdown += n
			return nil
		}
		w.publish()
		if err := b.sp.Wait(ctx); err != nil {
			w.pend.droppedShutdown += n
			return err
		}
	}
}

func (b *recBatch) reset() {
	b.n = 0
	if b.bp == nil {
		return
	}
	if cap(b.buf) <= maxIdleBatchCap { // else let an outsized buffer go
		*b.bp = b.buf[:0]
		b.pool.Put(b.bp)
	}
	b.bp, b.buf = nil, nil
}

// Open implements syslog.Handler.
func (p *Pipeline) Open(info syslog.StreamInfo) syslog.Stream {
	s := &syslogStream{p: p, info: info, workers: map[workerKey]*worker{}}
	s.batch = recBatch{sp: p.spool, pool: &p.bufs, blocked: info.Transport != syslog.TransportUDP}
	return s
}

type workerKey struct {
	source *sourceRuntime // a reload makes new runtimes, hence new workers
	peer   netip.Addr     // UDP keeps per-sender parser state
}

// maxUDPWorkers bounds per-sender state on a UDP socket.
const maxUDPWorkers = 4096

type syslogStream struct {
	p       *Pipeline
	info    syslog.StreamInfo
	workers map[workerKey]*worker
	batch   recBatch
	// Fast path: the last sender's worker, valid while the source set is
	// the same generation (a TCP stream has one sender; UDP senders repeat).
	set      *sourceSet
	srcs     []*sourceRuntime
	lastPeer netip.Addr
	last     *worker
	pending  []*worker // workers with unpublished counters
}

var _ syslog.Flusher = (*syslogStream)(nil)

func (s *syslogStream) Message(ctx context.Context, data []byte, truncated bool, peer netip.AddrPort) error {
	addr := peer.Addr().Unmap()
	if set := s.p.set.Load(); set != s.set {
		s.set, s.srcs, s.last = set, set.byListener[s.info.Listener], nil
	}
	if s.last != nil && s.lastPeer == addr {
		return s.handle(ctx, s.last, data, truncated)
	}
	var rt *sourceRuntime
	for _, c := range s.srcs {
		if c.cfg.Allows(addr) {
			rt = c
			break
		}
	}
	if rt == nil {
		s.p.metrics.unmatched.WithLabelValues(s.info.Listener).Inc()
		return nil
	}
	k := workerKey{source: rt}
	if s.info.Transport == syslog.TransportUDP {
		k.peer = addr
	}
	w := s.workers[k]
	if w == nil {
		if len(s.workers) >= maxUDPWorkers {
			// Dropped workers stay reachable from pending and the batch
			// until the next Flush publishes them.
			clear(s.workers)
		}
		var err error
		if w, err = s.p.newWorker(rt, &s.batch); err != nil {
			return err
		}
		s.workers[k] = w
	}
	s.last, s.lastPeer = w, addr
	return s.handle(ctx, w, data, truncated)
}

// handle passes the message to w without copying it: data is valid for the
// call, and the pipeline keeps nothing of a line past it.
func (s *syslogStream) handle(ctx context.Context, w *worker, data []byte, truncated bool) error {
	if !w.queued {
		w.queued = true
		s.pending = append(s.pending, w)
	}
	return w.handle(ctx, unsafe.String(unsafe.SliceData(data), len(data)), truncated, -1)
}

// Flush implements syslog.Flusher: it hands the batch to the spool (a
// TCP/TLS stream waits for room) and publishes the workers' counters.
func (s *syslogStream) Flush(ctx context.Context) error {
	err := s.batch.commit(ctx, true)
	s.publish()
	return err
}

func (s *syslogStream) publish() {
	for i, w := range s.pending {
		w.publish()
		w.queued = false
		s.pending[i] = nil
	}
	s.pending = s.pending[:0]
}

// Close implements syslog.Stream. The receiver flushes before it closes;
// what is still batched is tried once more without waiting.
func (s *syslogStream) Close() {
	_ = s.batch.commit(context.Background(), false)
	s.publish()
	clear(s.workers)
	s.last = nil
}

// OpenFile starts one file's stream: parser state (W3C #Fields) is per file.
func (p *Pipeline) OpenFile(source, path string) (*FileStream, error) {
	rt, ok := p.set.Load().sources[source]
	if !ok {
		return nil, fmt.Errorf("unknown source %q", source)
	}
	f := &FileStream{batch: recBatch{sp: p.spool, pool: &p.bufs, blocked: true}}
	w, err := p.newWorker(rt, &f.batch)
	if err != nil {
		return nil, err
	}
	f.w = w
	return f, nil
}

// FileStream feeds one file's lines to the pipeline.
type FileStream struct {
	w     *worker
	batch recBatch
}

// Line parses one line; offset is its byte offset in the (decompressed) file.
func (f *FileStream) Line(ctx context.Context, line []byte, offset int64) error {
	return f.w.handle(ctx, unsafe.String(unsafe.SliceData(line), len(line)), false, offset)
}

// Commit makes every record of the lines so far durable in the spool.
func (f *FileStream) Commit(ctx context.Context) error {
	err := f.batch.commit(ctx, true)
	f.w.publish()
	if err != nil {
		return err
	}
	return f.w.p.spool.Sync()
}

// Close ends the stream. Lines after the last Commit are not acknowledged
// (the watcher delivers them again), but what is batched is still tried.
func (f *FileStream) Close() {
	_ = f.batch.commit(context.Background(), false)
	f.w.publish()
}
