package spool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"hash"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cloudscout/cloudscout/uploader"

	"github.com/cloudscout/cloudscout/internal/fsutil"
)

var (
	// ErrFull is returned by Append while the spool is at its quota, or while
	// a write error (such as a full disk) keeps it from taking more. Call
	// Wait, then retry.
	ErrFull = errors.New("spool full")
	// ErrCorrupt is returned by Open when a batch no longer matches its
	// manifest; the batch has been moved to quarantine.
	ErrCorrupt = errors.New("spool batch corrupt")
	// ErrRecordTooLarge is returned by Append for records over MaxRecordBytes.
	ErrRecordTooLarge = errors.New("spool record too large")
	// ErrInvalidRecord is returned by Append for an empty record or one
	// holding a newline, which would break the JSON-lines framing.
	ErrInvalidRecord = errors.New("spool record empty or holding a newline")
)

// MaxRecordBytes is the largest record Append takes.
const MaxRecordBytes = 8 << 20

// MaxBatchBytes is the largest batch of records AppendBatch takes.
const MaxBatchBytes = 16 << 20

const (
	defaultSegmentMaxBytes = 64 << 20
	defaultSegmentMaxAge   = 5 * time.Minute
	defaultQuotaBytes      = 10 << 30
	defaultSyncInterval    = time.Second
	defaultBlockBytes      = 512 << 10
	maxBlockBytes          = 16 << 20

	// reserveChunk is the step in which a source's buffer reserves quota,
	// so the shared counter is touched once per chunk, not once per record.
	reserveChunk = 64 << 10
	// maxSources bounds memory held in per-source buffers.
	maxSources = 4096
)

// seqFloor is where sequence numbers start on open unless a higher one is
// on disk: the Unix time in centiseconds (12 digits until the year 2286).
// Numbers thus keep rising across restarts even after every batch was
// delivered and removed, so keys and ids never repeat, with nothing
// persisted for it, as long as a run seals fewer than 100 segments per
// second on average and the clock does not step back.
func seqFloor(now time.Time) uint64 {
	return uint64(max(now.UnixMilli()/10, 0))
}

var (
	minTime = time.Unix(0, 0)
	maxTime = time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC)
)

// Config configures a Spool.
type Config struct {
	Dir         string // spool directory; created if missing
	Collector   string // collector name, first key segment
	Compression string // "zstd" (default) or "gzip"
	// SegmentMaxBytes seals a segment once its raw (uncompressed) bytes
	// reach it. Default 64 MiB.
	SegmentMaxBytes int64
	// SegmentMaxAge seals an open segment this old. Default 5m.
	SegmentMaxAge time.Duration
	// QuotaBytes is the total allowed on disk (open and sealed) plus what is
	// buffered in memory. Default (and 0) 10 GiB.
	QuotaBytes int64
	// SyncInterval is the group-commit period of Run: buffers are
	// compressed, written and fsynced this often. Default 1s.
	SyncInterval time.Duration
	// BlockBytes is the raw size at which a source's buffer is compressed
	// into one block. Default 512 KiB.
	BlockBytes int
	// SealHook, if set, returns the source's parse figures for the manifest.
	// It is called while the source's writer is held: keep it fast.
	SealHook   func(source string) map[string]int64
	Logger     zerolog.Logger
	Registerer prometheus.Registerer
	// Now is the clock, for tests. Default time.Now.
	Now func() time.Time
}

// Spool is the durable on-disk queue between the pipeline and the uploader.
//
// Records are buffered per source, compressed a block at a time, and
// appended to the source's open segment. Sealing renames a segment into a
// batch and writes its manifest beside it. See doc.go for the file format.
type Spool struct {
	cfg        Config
	log        zerolog.Logger
	now        func() time.Time
	enc        *encoder
	codec      *codec
	openDir    string
	batchDir   string
	quarDir    string
	blockBytes int
	quota      int64

	// Full blocks are compressed by Run's compressor goroutines when one
	// is idle (an unbuffered hand-off), else by the appending goroutine:
	// one busy connection then uses a second core, and nothing queues.
	compressQ chan compressJob
	qmu       sync.RWMutex
	serving   bool // Run's compressors take jobs

	srcMu sync.Mutex // serializes source creation
	// sources is copied on write: sources are few and created rarely, and
	// the hot path then looks a source up without a lock or an allocation.
	sources atomic.Pointer[map[string]*source]

	seq         atomic.Uint64 // last sequence number handed out
	openBytes   atomic.Int64  // bytes in open segment files
	sealedBytes atomic.Int64  // bytes of batch and manifest files
	buffered    atomic.Int64  // quota reserved by data not yet on disk
	failing     atomic.Int32  // sources holding blocks a write error left in memory
	lastErr     atomic.Pointer[error]
	dirtyDirs   atomic.Bool // a dir fsync after a rename failed; redo it
	syncFails   atomic.Uint64
	quarantined atomic.Int64
	running     atomic.Bool

	bmu     sync.Mutex
	batches map[string]*entry // by batch path

	lmu      sync.Mutex
	leftover map[string]leftover // recovered segments whose seal failed, by path

	// liveRescans counts live segments sealed by re-reading the file
	// because their in-memory summary was not known to match it.
	liveRescans atomic.Int64

	waiters  atomic.Int32
	nmu      sync.Mutex
	notifyCh chan struct{}

	rawPool sync.Pool // *[]byte raw block buffers
	outPool sync.Pool // *[]byte compressed block buffers

	m *metrics
}

// entry is one sealed batch known to the spool.
type entry struct {
	seq   uint64
	batch uploader.Batch
	disk  int64 // batch + manifest bytes
}

var _ uploader.Queue = (*Spool)(nil)

type leftover struct {
	name fileName
	size int64
}

// source is the per-source buffer and writer.
type source struct {
	name string

	mu       sync.Mutex // guards the buffer fields below
	buf      []byte
	n        int64 // records in buf
	minTs    int64
	maxTs    int64
	reserved int64 // quota this buffer holds in Spool.buffered
	issued   uint64
	appended int64 // records accepted, ever

	wmu     sync.Mutex // guards everything below; held while writing
	wcond   sync.Cond
	done    uint64   // tickets written or queued, in ticket order
	queue   []*block // compressed blocks not yet written (after a write error)
	failErr error
	sealErr error
	syncErr error // fsync error seen by the Sync that hit it
	seg     *segment
}

// rawBlock is a full buffer taken from a source, on its way to compression.
type rawBlock struct {
	buf      []byte
	records  int64
	minTs    int64
	maxTs    int64
	reserved int64
}

// block is a compressed block ready to be written.
type block struct {
	data     []byte
	out      *[]byte // pool slot of data
	raw      int64
	records  int64
	minTs    int64
	maxTs    int64
	reserved int64
}

// segment is a source's open segment file.
type segment struct {
	name    fileName
	path    string
	f       *os.File
	size    int64 // bytes written
	synced  int64 // bytes covered by the last successful fsync
	raw     int64
	records int64
	created time.Time

	// What sealing needs, kept as blocks are written so a seal need not
	// re-read the file: the SHA-256 of the bytes written and their time
	// range. known is cleared by any write or fsync error, after which
	// the file may hold other bytes than those hashed, and the seal
	// re-reads the file instead.
	sum   hash.Hash
	minTs int64
	maxTs int64
	known bool
}

// Open validates cfg, creates the directories, and recovers what a previous
// run left: open segments are checked block by block, a torn tail is
// truncated, and they are sealed; unreadable files go to quarantine.
// Open starts no goroutines; call Run for periodic sync and sealing.
func Open(cfg Config) (*Spool, error) {
	s, err := newSpool(cfg)
	if err != nil {
		return nil, err
	}
	for _, d := range []string{cfg.Dir, s.openDir, s.batchDir, s.quarDir} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("spool dir: %w", err)
		}
	}
	if err := fsutil.SyncDir(cfg.Dir); err != nil {
		return nil, err
	}
	if err := s.recover(); err != nil {
		return nil, err
	}
	if cfg.Registerer != nil {
		if err := s.m.register(cfg.Registerer, s); err != nil {
			return nil, fmt.Errorf("spool metrics: %w", err)
		}
	}
	return s, nil
}

func newSpool(cfg Config) (*Spool, error) {
	if cfg.Dir == "" {
		return nil, errors.New("spool: dir is required")
	}
	if !validName(cfg.Collector) {
		return nil, fmt.Errorf("spool: invalid collector name %q", cfg.Collector)
	}
	if cfg.Compression == "" {
		cfg.Compression = "zstd"
	}
	c, ok := codecByName(cfg.Compression)
	if !ok {
		return nil, fmt.Errorf("spool: unknown compression %q (want zstd or gzip)", cfg.Compression)
	}
	switch {
	case cfg.SegmentMaxBytes < 0, cfg.SegmentMaxAge < 0, cfg.QuotaBytes < 0,
		cfg.SyncInterval < 0, cfg.BlockBytes < 0:
		return nil, errors.New("spool: sizes and durations must not be negative")
	case cfg.BlockBytes > maxBlockBytes:
		return nil, fmt.Errorf("spool: block size over %d", maxBlockBytes)
	}
	if cfg.SegmentMaxBytes == 0 {
		cfg.SegmentMaxBytes = defaultSegmentMaxBytes
	}
	if cfg.SegmentMaxAge == 0 {
		cfg.SegmentMaxAge = defaultSegmentMaxAge
	}
	if cfg.QuotaBytes == 0 {
		cfg.QuotaBytes = defaultQuotaBytes
	}
	if cfg.SyncInterval == 0 {
		cfg.SyncInterval = defaultSyncInterval
	}
	if cfg.BlockBytes == 0 {
		cfg.BlockBytes = defaultBlockBytes
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	enc, err := newEncoder(c)
	if err != nil {
		return nil, err
	}
	s := &Spool{
		cfg:        cfg,
		compressQ:  make(chan compressJob),
		log:        cfg.Logger.With().Str("component", "spool").Logger(),
		now:        cfg.Now,
		enc:        enc,
		codec:      c,
		openDir:    filepath.Join(cfg.Dir, openDirName),
		batchDir:   filepath.Join(cfg.Dir, batchDirName),
		quarDir:    filepath.Join(cfg.Dir, quarDirName),
		blockBytes: cfg.BlockBytes,
		quota:      cfg.QuotaBytes,
		batches:    make(map[string]*entry),
		leftover:   make(map[string]leftover),
		notifyCh:   make(chan struct{}),
		m:          newMetrics(),
	}
	s.sources.Store(&map[string]*source{})
	return s, nil
}

// source returns the named source, creating it on first use.
func (s *Spool) source(name string) (*source, error) {
	if src, ok := (*s.sources.Load())[name]; ok {
		return src, nil
	}
	if !validName(name) {
		return nil, fmt.Errorf("spool: invalid source name %q", name)
	}
	s.srcMu.Lock()
	defer s.srcMu.Unlock()
	old := *s.sources.Load()
	if src, ok := old[name]; ok {
		return src, nil
	}
	if len(old) >= maxSources {
		return nil, fmt.Errorf("spool: more than %d sources", maxSources)
	}
	src := &source{name: name}
	src.wcond.L = &src.wmu
	m := make(map[string]*source, len(old)+1)
	for k, v := range old {
		m[k] = v
	}
	m[name] = src
	s.sources.Store(&m)
	return src, nil
}

func (s *Spool) eachSource(fn func(*source)) {
	for _, src := range *s.sources.Load() {
		fn(src)
	}
}

func (s *Spool) used() int64 {
	return s.openBytes.Load() + s.sealedBytes.Load() + s.buffered.Load()
}

func (s *Spool) full() bool {
	return s.failing.Load() != 0 || s.used() >= s.quota
}

// fullError is what Append returns when it cannot take the record.
func (s *Spool) fullError() error {
	if s.failing.Load() != 0 {
		if p := s.lastErr.Load(); p != nil {
			return fmt.Errorf("%w: %w", ErrFull, *p)
		}
	}
	return ErrFull
}

// Append adds one record (a JSON object without trailing newline) for
// source, with its event time ts (zero means now). It does not retain
// record. A nil error means the record was taken: it becomes durable at the
// next Sync (or Run's next group commit). An error means it was not taken;
// on ErrFull (also returned while a write error such as a full disk is
// unresolved) call Wait and retry.
func (s *Spool) Append(source string, record []byte, ts time.Time) error {
	if len(record) > MaxRecordBytes {
		return ErrRecordTooLarge
	}
	if len(record) == 0 || bytes.IndexByte(record, '\n') >= 0 {
		return ErrInvalidRecord
	}
	t := s.unixTime(ts)
	return s.add(source, record, true, 1, t, t)
}

// AppendBatch adds n records for source at once, taking the source's lock
// once instead of n times. recs holds the records as JSON lines: each
// record (a JSON object, not empty, at most MaxRecordBytes) followed by
// '\n'; at most MaxBatchBytes in all. minTs and maxTs are the earliest and
// latest event time among them (zero means now). It does not retain recs.
//
// It is all or nothing, with Append's meaning: nil means every record was
// taken and becomes durable at the next Sync; an error means none was. On
// ErrFull call Wait and retry the whole batch. A malformed batch (wrong
// count, an empty line, no final newline, minTs after maxTs) is refused
// with an error wrapping ErrInvalidRecord, an oversized one or one holding
// an oversized record with ErrRecordTooLarge.
func (s *Spool) AppendBatch(source string, recs []byte, n int, minTs, maxTs time.Time) error {
	if len(recs) > MaxBatchBytes {
		return fmt.Errorf("%w: batch of %d bytes, limit %d", ErrRecordTooLarge, len(recs), MaxBatchBytes)
	}
	if err := checkBatch(recs, n); err != nil {
		return err
	}
	lo, hi := s.unixTime(minTs), s.unixTime(maxTs)
	if lo > hi {
		return fmt.Errorf("%w: batch time range inverted", ErrInvalidRecord)
	}
	return s.add(source, recs, false, int64(n), lo, hi)
}

// add copies n checked records (and a final newline if nl) into source's
// buffer, with time range [lo, hi] in Unix nanoseconds, and hands a full
// buffer to compression.
func (s *Spool) add(source string, recs []byte, nl bool, n, lo, hi int64) error {
	src, err := s.source(source)
	if err != nil {
		return err
	}
	if s.full() {
		s.m.full.Inc()
		return s.fullError()
	}
	src.mu.Lock()
	if src.buf == nil {
		src.buf = s.getRaw()
	}
	src.buf = append(src.buf, recs...)
	if nl {
		src.buf = append(src.buf, '\n')
	}
	rb, ticket := s.addedLocked(src, n, lo, hi)
	src.mu.Unlock()
	if rb != nil {
		s.handOff(src, rb, ticket)
	}
	return nil
}

// checkBatch checks that recs is exactly n non-empty lines, each ending in
// '\n' and none over MaxRecordBytes, so a batch cannot break the framing
// or the counts in block headers.
func checkBatch(recs []byte, n int) error {
	if n <= 0 || len(recs) == 0 || recs[len(recs)-1] != '\n' {
		return fmt.Errorf("%w: batch empty or not ending in a newline", ErrInvalidRecord)
	}
	count := 0
	for rest := recs; len(rest) > 0; count++ {
		i := bytes.IndexByte(rest, '\n') // found: recs ends in '\n'
		switch {
		case i == 0:
			return fmt.Errorf("%w: empty line in batch", ErrInvalidRecord)
		case i > MaxRecordBytes:
			return fmt.Errorf("%w: record of %d bytes in batch", ErrRecordTooLarge, i)
		}
		rest = rest[i+1:]
	}
	if count != n {
		return fmt.Errorf("%w: batch holds %d records, caller says %d", ErrInvalidRecord, count, n)
	}
	return nil
}

// unixTime is ts (zero means now) clamped to the range the spool stores,
// in Unix nanoseconds.
func (s *Spool) unixTime(ts time.Time) int64 {
	if ts.IsZero() {
		ts = s.now()
	}
	if ts.Before(minTime) {
		ts = minTime
	} else if ts.After(maxTime) {
		ts = maxTime
	}
	return ts.UnixNano()
}

// addedLocked accounts for n records just copied into src.buf, with time
// range [lo, hi], reserves quota for the buffer, and takes the buffer when
// it has reached the block size.
func (s *Spool) addedLocked(src *source, n, lo, hi int64) (*rawBlock, uint64) {
	if src.n == 0 || lo < src.minTs {
		src.minTs = lo
	}
	if src.n == 0 || hi > src.maxTs {
		src.maxTs = hi
	}
	src.n += n
	src.appended += n
	if over := int64(len(src.buf)) - src.reserved; over > 0 {
		r := (over + reserveChunk - 1) / reserveChunk * reserveChunk
		src.reserved += r
		s.buffered.Add(r)
	}
	if len(src.buf) >= s.blockBytes {
		return src.takeLocked()
	}
	return nil, 0
}

// handOff gives a full buffer to an idle compressor goroutine of Run, or
// compresses and writes it in the caller.
func (s *Spool) handOff(src *source, rb *rawBlock, ticket uint64) {
	s.qmu.RLock()
	handed := false
	if s.serving {
		select {
		case s.compressQ <- compressJob{src, rb, ticket}:
			handed = true
		default:
		}
	}
	s.qmu.RUnlock()
	if !handed {
		// A write error keeps the block queued in memory (the record is
		// taken); it is reported by Sync and by later Appends (ErrFull).
		_ = s.writeBlock(src, rb, ticket)
	}
}

// compressJob is a full block for a compressor goroutine.
type compressJob struct {
	src    *source
	rb     *rawBlock
	ticket uint64
}

// serveCompression runs n compressor goroutines until stop is closed after
// serving ends; the returned function ends serving and waits for them. A
// job taken is always finished: the hand-off is unbuffered, so no job can
// be left in the channel.
func (s *Spool) serveCompression(n int) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case j := <-s.compressQ:
					_ = s.writeBlock(j.src, j.rb, j.ticket) // errors as in Append
				case <-done:
					return
				}
			}
		}()
	}
	s.qmu.Lock()
	s.serving = true
	s.qmu.Unlock()
	return func() {
		s.qmu.Lock()
		s.serving = false
		s.qmu.Unlock()
		close(done)
		wg.Wait()
	}
}

// takeLocked takes the buffer for compression and hands out its ticket.
// With an empty buffer it returns nil and the last ticket handed out.
func (src *source) takeLocked() (*rawBlock, uint64) {
	if src.n == 0 {
		return nil, src.issued
	}
	rb := &rawBlock{buf: src.buf, records: src.n, minTs: src.minTs, maxTs: src.maxTs, reserved: src.reserved}
	src.buf, src.n, src.reserved = nil, 0, 0
	src.issued++
	return rb, src.issued
}

func (s *Spool) getRaw() []byte {
	if p, ok := s.rawPool.Get().(*[]byte); ok {
		return (*p)[:0]
	}
	return make([]byte, 0, s.blockBytes+s.blockBytes/4)
}

func (s *Spool) putRaw(b []byte) {
	if cap(b) > 2*s.blockBytes+MaxRecordBytes/8 {
		return // grown by a huge record: let it go
	}
	s.rawPool.Put(&b)
}

// compress turns a raw block into a compressed one and recycles the raw
// buffer.
func (s *Spool) compress(rb *rawBlock) *block {
	out, ok := s.outPool.Get().(*[]byte)
	if !ok {
		b := make([]byte, 0, s.blockBytes/2)
		out = &b
	}
	data := s.enc.encode((*out)[:0], rb.buf, uint32(rb.records), rb.minTs, rb.maxTs)
	blk := &block{data: data, out: out, raw: int64(len(rb.buf)), records: rb.records,
		minTs: rb.minTs, maxTs: rb.maxTs, reserved: rb.reserved}
	s.putRaw(rb.buf)
	return blk
}

func (s *Spool) releaseBlock(b *block) {
	*b.out = b.data[:0]
	b.data = nil
	s.outPool.Put(b.out)
}

// writeBlock compresses rb outside any lock, then writes it in ticket order
// so blocks land in the order their buffers were taken.
func (s *Spool) writeBlock(src *source, rb *rawBlock, ticket uint64) error {
	blk := s.compress(rb)
	src.wmu.Lock()
	defer src.wmu.Unlock()
	for src.done+1 != ticket {
		src.wcond.Wait()
	}
	src.queue = append(src.queue, blk)
	src.done = ticket
	src.wcond.Broadcast()
	return s.drainLocked(src)
}

// drainLocked writes queued blocks in order, stopping at the first error.
// While blocks are held back the spool reports itself full.
func (s *Spool) drainLocked(src *source) error {
	for len(src.queue) > 0 {
		blk := src.queue[0]
		if err := s.writeLocked(src, blk); err != nil {
			if src.failErr == nil {
				s.failing.Add(1)
				s.m.writeErrors.Inc()
				s.log.Error().Err(err).Str("source", src.name).
					Msg("spool write failed; holding records in memory and refusing new ones until it succeeds")
			}
			src.failErr = err
			s.lastErr.Store(&err)
			return err
		}
		src.queue[0] = nil
		src.queue = src.queue[1:]
		s.releaseBlock(blk)
	}
	if src.failErr != nil {
		src.failErr = nil
		s.failing.Add(-1)
		s.log.Info().Str("source", src.name).Msg("spool writes resumed")
		s.notify()
	}
	return nil
}

// writeLocked appends one block to the source's open segment, creating it
// if needed, and seals the segment once it reaches its size.
func (s *Spool) writeLocked(src *source, blk *block) error {
	if src.seg == nil {
		seg, err := s.createSegment(src.name)
		if err != nil {
			return err
		}
		src.seg = seg
	}
	seg := src.seg
	n, err := seg.f.WriteAt(blk.data, seg.size)
	if err != nil {
		if n > 0 {
			// Best effort: the retry rewrites the same bytes at the same
			// offset anyway, and recovery truncates a torn tail.
			_ = seg.f.Truncate(seg.size)
		}
		seg.known = false
		return fmt.Errorf("spool write %s: %w", seg.path, err)
	}
	if seg.known {
		seg.sum.Write(blk.data)
		if seg.records == 0 || blk.minTs < seg.minTs {
			seg.minTs = blk.minTs
		}
		if seg.records == 0 || blk.maxTs > seg.maxTs {
			seg.maxTs = blk.maxTs
		}
	}
	seg.size += int64(n)
	seg.raw += blk.raw
	seg.records += blk.records
	s.openBytes.Add(int64(n))
	s.buffered.Add(-blk.reserved)
	s.notify()
	if seg.raw >= s.cfg.SegmentMaxBytes {
		s.sealSegLocked(src)
	}
	return nil
}

// sealSegLocked seals the open segment, logging a failure once; the
// segment then stays open and sealing is retried on the next write or tick.
func (s *Spool) sealSegLocked(src *source) {
	err := s.sealLocked(src)
	switch {
	case err != nil && src.sealErr == nil:
		s.log.Error().Err(err).Str("source", src.name).Msg("spool seal failed; will retry")
	case err == nil && src.sealErr != nil:
		s.log.Info().Str("source", src.name).Msg("spool seal succeeded after earlier failure")
	}
	src.sealErr = err
}

func (s *Spool) createSegment(source string) (*segment, error) {
	name := fileName{seq: s.seq.Add(1), source: source, codec: s.codec, kind: kindOpen}
	path := filepath.Join(s.openDir, name.openName())
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("create segment: %w", err)
	}
	// The new name must be durable before any fsync of the data claims the
	// records are.
	if err := fsutil.SyncDir(s.openDir); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, err
	}
	return &segment{name: name, path: path, f: f, created: s.now(), sum: sha256.New(), known: true}, nil
}

// fsyncLocked makes everything written to the open segment durable.
func (s *Spool) fsyncLocked(src *source) error {
	seg := src.seg
	if seg == nil || seg.synced == seg.size {
		return nil
	}
	size := seg.size
	start := time.Now()
	err := seg.f.Sync()
	s.m.fsync.Observe(time.Since(start).Seconds())
	if err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages
		// and a retry can falsely succeed, so later Syncs must not report
		// these records durable: count the failure (concurrent Syncs compare
		// the count) and retire the segment, sealing what is readable.
		s.syncFails.Add(1)
		s.m.writeErrors.Inc()
		err = fmt.Errorf("spool fsync %s: %w", seg.path, err)
		s.log.Error().Err(err).Str("source", src.name).Msg("spool fsync failed; retiring segment")
		seg.synced = seg.size
		seg.known = false
		s.sealSegLocked(src)
		return err
	}
	seg.synced = size
	return nil
}

// Sync makes every record appended before the call durable: buffers are
// compressed and written, segments fsynced. Safe concurrently with Append.
func (s *Spool) Sync() error {
	return s.syncAll(false)
}

// SealAll makes every record durable and seals every open segment that
// holds records, so that it ships.
func (s *Spool) SealAll() error {
	return s.syncAll(true)
}

func (s *Spool) syncAll(seal bool) error {
	fails := s.syncFails.Load()
	var errs []error
	s.eachSource(func(src *source) {
		if err := s.syncSource(src, seal); err != nil {
			errs = append(errs, err)
		}
	})
	s.retryLeftovers()
	if s.dirtyDirs.Swap(false) {
		for _, d := range []string{s.openDir, s.batchDir, s.quarDir} {
			if err := fsutil.SyncDir(d); err != nil {
				s.dirtyDirs.Store(true)
				errs = append(errs, err)
			}
		}
	}
	if len(errs) == 0 && s.syncFails.Load() != fails {
		errs = append(errs, errors.New("spool: an fsync failed while this sync ran; records may be lost"))
	}
	return errors.Join(errs...)
}

func (s *Spool) syncSource(src *source, seal bool) error {
	src.mu.Lock()
	rb, ticket := src.takeLocked()
	src.mu.Unlock()
	var blk *block
	if rb != nil {
		blk = s.compress(rb)
	}

	src.wmu.Lock()
	defer src.wmu.Unlock()
	if blk != nil {
		for src.done+1 != ticket {
			src.wcond.Wait()
		}
		src.queue = append(src.queue, blk)
		src.done = ticket
		src.wcond.Broadcast()
	} else {
		for src.done < ticket {
			src.wcond.Wait()
		}
	}
	if err := s.drainLocked(src); err != nil {
		return err
	}
	if err := s.fsyncLocked(src); err != nil {
		return err
	}
	if src.seg != nil && (seal || src.sealErr != nil ||
		s.now().Sub(src.seg.created) >= s.cfg.SegmentMaxAge) {
		s.sealSegLocked(src)
		if seal && src.sealErr != nil {
			return src.sealErr
		}
	}
	return nil
}

// sealLocked makes the open segment durable and seals it.
func (s *Spool) sealLocked(src *source) error {
	seg := src.seg
	if seg == nil {
		return nil
	}
	if seg.synced != seg.size {
		start := time.Now()
		err := seg.f.Sync()
		s.m.fsync.Observe(time.Since(start).Seconds())
		if err != nil {
			seg.known = false
			return fmt.Errorf("spool fsync %s: %w", seg.path, err)
		}
		seg.synced = seg.size
	}
	if err := s.sealLive(seg); err != nil {
		return err
	}
	// Sealed, or disposed of as empty/unreadable: either way the file no
	// longer is this source's open segment.
	_ = seg.f.Close() // after a successful fsync, close has nothing to lose
	src.seg = nil
	s.openBytes.Add(-seg.size)
	return nil
}

// notify wakes Wait callers after a change that may have freed room.
func (s *Spool) notify() {
	if s.waiters.Load() == 0 {
		return
	}
	s.nmu.Lock()
	close(s.notifyCh)
	s.notifyCh = make(chan struct{})
	s.nmu.Unlock()
}

// Wait blocks until Append can take records again (below quota and no
// write error pending) or ctx is done.
func (s *Spool) Wait(ctx context.Context) error {
	s.waiters.Add(1)
	defer s.waiters.Add(-1)
	var retry *time.Timer
	defer func() {
		if retry != nil {
			retry.Stop()
		}
	}()
	for {
		s.nmu.Lock()
		ch := s.notifyCh
		s.nmu.Unlock()
		if !s.full() {
			return nil
		}
		var retryC <-chan time.Time
		if s.failing.Load() != 0 {
			// Nothing signals a disk that got space again: retry the held
			// blocks ourselves, so Wait works without Run too.
			if retry == nil {
				retry = time.NewTimer(s.cfg.SyncInterval)
			} else {
				retry.Reset(s.cfg.SyncInterval)
			}
			retryC = retry.C
		}
		select {
		case <-ch:
		case <-retryC:
			s.retryHeld()
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// retryHeld retries writing blocks held back by a write error.
func (s *Spool) retryHeld() {
	s.eachSource(func(src *source) {
		src.wmu.Lock()
		if len(src.queue) > 0 {
			_ = s.drainLocked(src) // the error stays recorded in the source
		}
		src.wmu.Unlock()
	})
}

// Run group-commits (compress, write, fsync) every SyncInterval and seals
// segments older than SegmentMaxAge. On cancel it seals every open segment
// that holds records, so a graceful stop leaves only complete batches with
// this run's parse figures, and returns. The spool stays usable after Run
// returns. Only one Run may be active.
func (s *Spool) Run(ctx context.Context) error {
	if !s.running.CompareAndSwap(false, true) {
		return errors.New("spool: already running")
	}
	defer s.running.Store(false)
	defer s.serveCompression(runtime.GOMAXPROCS(0))()
	t := time.NewTicker(s.cfg.SyncInterval)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			if err := s.SealAll(); err != nil {
				return fmt.Errorf("spool: final seal: %w", err)
			}
			return nil
		case <-t.C:
			// Errors are logged here once per distinct message: the same
			// failure repeats every tick until resolved, and Append/Sync
			// callers already see it.
			err := s.Sync()
			switch {
			case err != nil && err.Error() != lastErr:
				s.log.Error().Err(err).Msg("spool periodic sync failed")
				lastErr = err.Error()
			case err == nil:
				lastErr = ""
			}
		}
	}
}

// Stats is a snapshot of the spool.
type Stats struct {
	OpenBytes     int64 // on disk in open segments
	BufferedBytes int64 // quota held by records in memory, not yet on disk
	SealedBytes   int64 // on disk in batches and manifests
	SealedBatches int
	QuotaBytes    int64
	Full          bool      // Append would return ErrFull
	WriteError    string    // the write error holding records in memory, if any
	OldestBatch   time.Time // sealed time of the oldest pending batch
	Records       int64     // records appended since Open
	Quarantined   int64     // files moved to quarantine since Open
}

// Stats returns a snapshot of the spool's state.
func (s *Spool) Stats() Stats {
	st := Stats{
		OpenBytes:     s.openBytes.Load(),
		BufferedBytes: s.buffered.Load(),
		SealedBytes:   s.sealedBytes.Load(),
		QuotaBytes:    s.quota,
		Full:          s.full(),
		Quarantined:   s.quarantined.Load(),
	}
	if s.failing.Load() != 0 {
		if p := s.lastErr.Load(); p != nil {
			st.WriteError = (*p).Error()
		}
	}
	s.bmu.Lock()
	st.SealedBatches = len(s.batches)
	for _, e := range s.batches {
		if st.OldestBatch.IsZero() || e.batch.Manifest.Sealed.Before(st.OldestBatch) {
			st.OldestBatch = e.batch.Manifest.Sealed
		}
	}
	s.bmu.Unlock()
	s.eachSource(func(src *source) {
		src.mu.Lock()
		st.Records += src.appended
		src.mu.Unlock()
	})
	return st
}
