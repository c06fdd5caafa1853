package uploader

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Defaults for Config.
const (
	DefaultInterval     = 5 * time.Minute
	DefaultPollInterval = 5 * time.Second
	DefaultRetryBase    = time.Second
	DefaultRetryMax     = 5 * time.Minute
)

// Target is one destination: a name (metric label and state folder) and its sink.
type Target struct {
	Name string
	Sink Sink
}

// Config configures an Uploader.
type Config struct {
	// Queue is the spool. Its methods are called from one goroutine at a
	// time; bodies returned by Open may be read concurrently.
	Queue   Queue
	Targets []Target
	// Interval is the schedule: every Interval all open segments are sealed
	// and everything pending ships. Default 5m.
	Interval time.Duration
	// SizeTrigger ships early once the sealed batches a target still lacks
	// reach this many bytes (0 = only on schedule).
	SizeTrigger int64
	// PollInterval is how often the backlog is measured for SizeTrigger,
	// metrics and readiness. Default 5s. Notify checks at once.
	PollInterval time.Duration
	// StateDir holds per-target progress markers and dead letters:
	//   delivered/<target>/<batch>.json   batch delivered to (or dead-lettered for) that target
	//   deadletter/<target>/<batch>/      batch copy, manifest.json, reject.json
	//   requeue/<target>/<batch>/         dead letters moved back by Requeue, sent again
	StateDir string
	// RetryBase and RetryMax bound the exponential backoff with full jitter
	// between attempts to a failing target. Defaults 1s and 5m. There is no
	// attempt limit: data is never discarded by retrying.
	RetryBase, RetryMax time.Duration
	// MaxBacklogAge makes Ready fail when the oldest unshipped batch is
	// older (0 = never).
	MaxBacklogAge time.Duration
	Logger        zerolog.Logger
	// Registerer receives the cloudscout_upload_* metrics; nil means a
	// private registry.
	Registerer prometheus.Registerer
	// Now is the clock for ages and timestamps; nil means time.Now.
	Now func() time.Time
}

var targetNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// Uploader ships sealed batches from the Queue to every target.
type Uploader struct {
	cfg     Config
	log     zerolog.Logger
	now     func() time.Time
	m       *metrics
	targets []*target

	qmu sync.Mutex // serializes Queue calls

	mu       sync.Mutex
	backlog  []backlogEntry // every batch still in the queue, oldest first
	listErr  error
	removing map[string]bool // batch ids whose Queue.Remove is under way
	waiters  map[*waiter]struct{}

	notify  chan struct{}
	running atomic.Bool
	stopped chan struct{} // closed when Run returns; guarded by mu
}

type backlogEntry struct {
	id     string
	sealed time.Time
	bytes  int64
}

type target struct {
	idx  int
	name string
	sink Sink
	wake chan struct{} // ship what is pending
	kick chan struct{} // cut the current backoff short (Trigger)

	// Guarded by Uploader.mu.
	done map[string]string // batch id -> resultDelivered | resultDeadLetter
	st   TargetStatus
}

const (
	resultDelivered  = "delivered"
	resultDeadLetter = "deadletter"
)

// New validates cfg and registers the metrics. It touches no files: Run does.
func New(cfg Config) (*Uploader, error) {
	var errs []error
	if cfg.Queue == nil {
		errs = append(errs, errors.New("queue is required"))
	}
	if len(cfg.Targets) == 0 {
		errs = append(errs, errors.New("at least one target is required"))
	}
	if cfg.StateDir == "" {
		errs = append(errs, errors.New("state dir is required"))
	}
	seen := map[string]bool{}
	for i, t := range cfg.Targets {
		switch {
		case !targetNameRE.MatchString(t.Name):
			errs = append(errs, fmt.Errorf("target %d: name %q: use 1-64 letters, digits, '.', '_' or '-'", i, t.Name))
		case seen[t.Name]:
			errs = append(errs, fmt.Errorf("target %q defined twice", t.Name))
		}
		seen[t.Name] = true
		if t.Sink == nil {
			errs = append(errs, fmt.Errorf("target %q: sink is required", t.Name))
		}
	}
	if cfg.Interval < 0 || cfg.PollInterval < 0 || cfg.RetryBase < 0 || cfg.RetryMax < 0 || cfg.MaxBacklogAge < 0 || cfg.SizeTrigger < 0 {
		errs = append(errs, errors.New("intervals, retry bounds, max backlog age and size trigger must not be negative"))
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = DefaultPollInterval
	}
	if cfg.RetryBase == 0 {
		cfg.RetryBase = DefaultRetryBase
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = DefaultRetryMax
	}
	if cfg.RetryBase > cfg.RetryMax {
		errs = append(errs, fmt.Errorf("retry base %s exceeds retry max %s", cfg.RetryBase, cfg.RetryMax))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("uploader config: %w", err)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Registerer == nil {
		cfg.Registerer = prometheus.NewRegistry()
	}
	u := &Uploader{
		cfg:      cfg,
		log:      cfg.Logger,
		now:      cfg.Now,
		removing: map[string]bool{},
		waiters:  map[*waiter]struct{}{},
		notify:   make(chan struct{}, 1),
	}
	names := make([]string, len(cfg.Targets))
	for i, t := range cfg.Targets {
		names[i] = t.Name
		u.targets = append(u.targets, &target{
			idx:  i,
			name: t.Name,
			sink: t.Sink,
			wake: make(chan struct{}, 1),
			kick: make(chan struct{}, 1),
			done: map[string]string{},
			st:   TargetStatus{Name: t.Name, Sink: t.Sink.String()},
		})
	}
	m, err := newMetrics(cfg.Registerer, names, u.oldestAge)
	if err != nil {
		return nil, err
	}
	u.m = m
	return u, nil
}

// Run creates the state folders, loads progress and ships until ctx ends.
// In-flight uploads are abandoned on cancel; they are sent again later,
// which the idempotent keys make harmless.
func (u *Uploader) Run(ctx context.Context) error {
	stopped := make(chan struct{})
	u.mu.Lock()
	if !u.running.CompareAndSwap(false, true) {
		u.mu.Unlock()
		return errors.New("uploader: already running")
	}
	u.stopped = stopped // under mu with the flag, so Trigger sees this run's channel
	u.mu.Unlock()
	defer u.running.Store(false)
	defer close(stopped)
	if err := u.prepare(); err != nil {
		return err
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	for _, t := range u.targets {
		wg.Go(func() { u.work(ctx, t) })
	}
	// A backlog from before the restart ships now, not at the first tick.
	u.refresh()
	u.wakeAll(false)

	interval := time.NewTicker(u.cfg.Interval)
	defer interval.Stop()
	poll := time.NewTicker(u.cfg.PollInterval)
	defer poll.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-interval.C:
			if err := u.seal(); err != nil {
				u.log.Error().Err(err).Msg("sealing open spool segments failed")
			}
			u.refresh()
			u.wakeAll(false)
		case <-poll.C:
			u.checkSize()
		case <-u.notify:
			u.checkSize()
		}
	}
}

// Notify asks the uploader to measure the backlog now (e.g. after the spool
// sealed a segment) so SizeTrigger reacts without waiting for the poll.
func (u *Uploader) Notify() {
	select {
	case u.notify <- struct{}{}:
	default:
	}
}

func (u *Uploader) seal() error {
	u.qmu.Lock()
	defer u.qmu.Unlock()
	return u.cfg.Queue.SealAll()
}

func (u *Uploader) checkSize() {
	pending := u.refresh()
	if u.cfg.SizeTrigger <= 0 {
		return
	}
	for _, t := range u.targets {
		if pending[t.idx] >= u.cfg.SizeTrigger {
			signal(t.wake)
		}
	}
}

func (u *Uploader) wakeAll(kick bool) {
	for _, t := range u.targets {
		// Kick first: a worker that wakes clears stale kicks, so this one
		// only cuts a backoff that is under way.
		if kick {
			signal(t.kick)
		}
		signal(t.wake)
	}
}

func signal(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// listLocked lists the queue and refreshes the backlog figures. u.mu is held.
func (u *Uploader) listLocked() ([]Batch, error) {
	u.qmu.Lock()
	batches, err := u.cfg.Queue.Batches()
	u.qmu.Unlock()
	u.listErr = err
	if err != nil {
		return nil, fmt.Errorf("list spool batches: %w", err)
	}
	prev := make(map[string]time.Time, len(u.backlog))
	for _, e := range u.backlog {
		prev[e.id] = e.sealed
	}
	now := u.now()
	seen := make(map[string]bool, len(batches))
	out := batches[:0:0]
	u.backlog = u.backlog[:0]
	for _, b := range batches {
		id := batchID(b.Manifest)
		if id == "" || seen[id] {
			continue
		}
		seen[id] = true
		sealed := b.Manifest.Sealed
		if sealed.IsZero() {
			// No seal time: age it from when we first saw it.
			if p, ok := prev[id]; ok {
				sealed = p
			} else {
				sealed = now
			}
		}
		u.backlog = append(u.backlog, backlogEntry{id: id, sealed: sealed, bytes: b.Manifest.Bytes})
		out = append(out, b)
	}
	u.updateBacklogMetricsLocked()
	return out, nil
}

func (u *Uploader) list() ([]Batch, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.listLocked()
}

func (u *Uploader) updateBacklogMetricsLocked() {
	var bytes int64
	for _, e := range u.backlog {
		bytes += e.bytes
	}
	u.m.backlogBatches.Set(float64(len(u.backlog)))
	u.m.backlogBytes.Set(float64(bytes))
}

// refresh lists the queue, forgets progress of batches that left it, removes
// batches every target has, and returns per-target pending bytes.
func (u *Uploader) refresh() []int64 {
	pending := make([]int64, len(u.targets))
	u.mu.Lock()
	batches, err := u.listLocked()
	if err != nil {
		u.mu.Unlock()
		u.log.Error().Err(err).Msg("cannot list the spool")
		return pending
	}
	inQueue := make(map[string]bool, len(batches))
	var complete []Batch
	for _, b := range batches {
		id := batchID(b.Manifest)
		inQueue[id] = true
		all := true
		for _, t := range u.targets {
			if _, ok := t.done[id]; !ok {
				all = false
				pending[t.idx] += b.Manifest.Bytes
			}
		}
		if all && !u.removing[id] {
			u.removing[id] = true
			complete = append(complete, b)
		}
	}
	// Listing under u.mu makes this safe: a marker is set only after its
	// batch was listed, so a marked batch missing now has left the queue.
	type stale struct {
		t  *target
		id string
	}
	var gone []stale
	for _, t := range u.targets {
		for id := range t.done {
			if !inQueue[id] && !u.removing[id] {
				delete(t.done, id)
				gone = append(gone, stale{t, id})
			}
		}
	}
	for _, g := range gone {
		u.goneLocked(g.id)
	}
	for _, t := range u.targets {
		t.st.Pending, t.st.PendingBytes = 0, 0
		for _, b := range batches {
			if _, ok := t.done[batchID(b.Manifest)]; !ok {
				t.st.Pending++
				t.st.PendingBytes += b.Manifest.Bytes
			}
		}
	}
	u.mu.Unlock()
	for _, g := range gone {
		u.removeMarker(g.t, g.id)
	}
	for _, b := range complete {
		u.removeBatch(b)
	}
	return pending
}

// removeBatch deletes a batch every target has from the queue and drops
// its markers. On failure the batch stays and a later refresh retries.
func (u *Uploader) removeBatch(b Batch) {
	id := batchID(b.Manifest)
	u.qmu.Lock()
	err := u.cfg.Queue.Remove(b)
	u.qmu.Unlock()
	u.mu.Lock()
	delete(u.removing, id)
	if err != nil {
		for w := range u.waiters {
			w.check(u.removing)
		}
		u.mu.Unlock()
		u.log.Error().Err(err).Str("batch", b.Manifest.Key).Msg("removing a delivered batch from the spool failed; will retry")
		return
	}
	for _, t := range u.targets {
		delete(t.done, id)
		if t.st.Pending > 0 {
			t.st.Pending--
			t.st.PendingBytes = max(0, t.st.PendingBytes-b.Manifest.Bytes)
		}
	}
	for i, e := range u.backlog {
		if e.id == id {
			u.backlog = append(u.backlog[:i], u.backlog[i+1:]...)
			break
		}
	}
	u.updateBacklogMetricsLocked()
	u.goneLocked(id)
	u.mu.Unlock()
	for _, t := range u.targets {
		u.removeMarker(t, id)
	}
}

// oldestAge is the age of the oldest unshipped batch (0 when none).
func (u *Uploader) oldestAge() time.Duration {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.oldestAgeLocked()
}

func (u *Uploader) oldestAgeLocked() time.Duration {
	if len(u.backlog) == 0 {
		return 0
	}
	oldest := u.backlog[0].sealed
	for _, e := range u.backlog[1:] {
		if e.sealed.Before(oldest) {
			oldest = e.sealed
		}
	}
	return max(0, u.now().Sub(oldest))
}

// backoff returns the wait before the next attempt: full jitter over an
// exponentially growing ceiling, but at least what the server asked for.
func (u *Uploader) backoff(attempt int, retryAfter time.Duration) time.Duration {
	ceil := u.cfg.RetryBase
	for i := 0; i < attempt && ceil < u.cfg.RetryMax; i++ {
		ceil *= 2
	}
	ceil = min(ceil, u.cfg.RetryMax)
	d := time.Duration(rand.Int64N(int64(ceil) + 1))
	return max(d, retryAfter)
}

// sleep waits d; false when ctx ended. Trigger's kick cuts the wait short,
// but never below floor, the wait the server asked for (Retry-After).
func (u *Uploader) sleep(ctx context.Context, t *target, d, floor time.Duration) bool {
	start := time.Now()
	timer := time.NewTimer(d)
	defer timer.Stop()
	kick := t.kick
	for {
		select {
		case <-ctx.Done():
			return false
		case <-timer.C:
			return true
		case <-kick:
			rest := floor - time.Since(start)
			if rest <= 0 {
				return true
			}
			timer.Reset(rest)
			kick = nil
		}
	}
}

// Ready returns an error when the oldest unshipped batch is older than
// MaxBacklogAge or the spool cannot be listed.
func (u *Uploader) Ready() error {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.listErr != nil {
		return fmt.Errorf("cannot list the spool: %w", u.listErr)
	}
	if u.cfg.MaxBacklogAge <= 0 {
		return nil
	}
	age := u.oldestAgeLocked()
	if age <= u.cfg.MaxBacklogAge {
		return nil
	}
	err := fmt.Errorf("oldest unshipped batch is %s old (limit %s)", age.Round(time.Second), u.cfg.MaxBacklogAge)
	for _, t := range u.targets {
		if t.st.LastError != "" && t.st.Pending > 0 {
			err = fmt.Errorf("%w; target %s: %s", err, t.name, t.st.LastErrorExplanation)
		}
	}
	return err
}

func batchID(m Manifest) string {
	if m.ID != "" {
		return m.ID
	}
	return m.Key
}
