package uploader

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Status is the uploader's state for `cloudscout status`.
type Status struct {
	Running          bool           `json:"running"`
	Backlog          int            `json:"backlog_batches"`
	BacklogBytes     int64          `json:"backlog_bytes"`
	OldestAgeSeconds float64        `json:"oldest_age_seconds"`
	ListError        string         `json:"list_error,omitempty"`
	Targets          []TargetStatus `json:"targets"`
}

// TargetStatus describes one target. Counters run since the process started.
type TargetStatus struct {
	Name string `json:"name"`
	Sink string `json:"sink"`
	// Active is true while the target's worker is shipping.
	Active bool `json:"active"`
	// Pending is how many queued batches this target still lacks.
	Pending        int    `json:"pending_batches"`
	PendingBytes   int64  `json:"pending_bytes"`
	Delivered      uint64 `json:"delivered_batches"`
	DeliveredBytes int64  `json:"delivered_bytes"`
	DeadLettered   uint64 `json:"dead_lettered_batches"`
	// DeadLetters and Requeued count the folders now in deadletter/ and requeue/.
	DeadLetters int       `json:"dead_letters"`
	Requeued    int       `json:"requeued"`
	LastSuccess time.Time `json:"last_success,omitzero"`
	LastAttempt time.Time `json:"last_attempt,omitzero"`
	// Failures counts consecutive failed attempts; 0 once one succeeds.
	Failures             int       `json:"consecutive_failures"`
	LastError            string    `json:"last_error,omitempty"`
	LastErrorClass       string    `json:"last_error_class,omitempty"`
	LastErrorExplanation string    `json:"last_error_explanation,omitempty"`
	NextRetry            time.Time `json:"next_retry,omitzero"`
}

// Status returns a snapshot of the backlog and every target.
func (u *Uploader) Status() Status {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := Status{
		Running:          u.running.Load(),
		Backlog:          len(u.backlog),
		OldestAgeSeconds: u.oldestAgeLocked().Seconds(),
	}
	for _, e := range u.backlog {
		s.BacklogBytes += e.bytes
	}
	if u.listErr != nil {
		s.ListError = u.listErr.Error()
	}
	for _, t := range u.targets {
		s.Targets = append(s.Targets, t.st)
	}
	return s
}

// Result reports what a Trigger shipped.
type Result struct {
	// Batches is how many sealed batches were pending when Trigger started.
	Batches int            `json:"batches"`
	Targets []TargetResult `json:"targets"`
}

// TargetResult is one target's share of a Trigger.
type TargetResult struct {
	Name         string `json:"name"`
	Delivered    int    `json:"delivered"`
	Bytes        int64  `json:"bytes"`
	DeadLettered int    `json:"dead_lettered"`
	// Pending batches were not delivered when Trigger returned.
	Pending     int    `json:"pending"`
	LastError   string `json:"last_error,omitempty"`
	Class       string `json:"class,omitempty"`
	Explanation string `json:"explanation,omitempty"`
}

// waiter follows one Trigger's batches until every target has them and
// the spool has let go of them.
type waiter struct {
	ids     map[string]bool
	pending []map[string]bool // per target index: batch ids still owed
	res     []TargetResult
	done    chan struct{}
	closed  bool
}

// check closes done once nothing is owed. u.mu is held.
func (w *waiter) check(removing map[string]bool) {
	if w.closed {
		return
	}
	for _, p := range w.pending {
		if len(p) > 0 {
			return
		}
	}
	for id := range removing {
		if w.ids[id] {
			return
		}
	}
	w.closed = true
	close(w.done)
}

func (u *Uploader) emitLocked(t *target, id, result string, bytes int64) {
	for w := range u.waiters {
		if !w.pending[t.idx][id] {
			continue
		}
		delete(w.pending[t.idx], id)
		r := &w.res[t.idx]
		if result == resultDeadLetter {
			r.DeadLettered++
		} else {
			r.Delivered++
			r.Bytes += bytes
		}
		w.check(u.removing)
	}
}

// goneLocked settles a batch that left the queue for every waiter.
func (u *Uploader) goneLocked(id string) {
	for w := range u.waiters {
		for _, p := range w.pending {
			delete(p, id)
		}
		w.check(u.removing)
	}
}

var errNotRunning = errors.New("uploader is not running")

// Trigger seals the open segments and ships everything pending now, cutting
// any retry wait short, then waits until every target has every batch or
// ctx ends. The Result tells what shipped and what is still pending; the
// error is ctx's when it ended first.
func (u *Uploader) Trigger(ctx context.Context) (Result, error) {
	u.mu.Lock()
	running, stopped := u.running.Load(), u.stopped
	u.mu.Unlock()
	if !running {
		return Result{}, errNotRunning
	}
	var errs []error
	if err := u.seal(); err != nil {
		errs = append(errs, fmt.Errorf("seal open segments: %w", err))
	}
	w := &waiter{ids: map[string]bool{}, done: make(chan struct{})}
	u.mu.Lock()
	batches, err := u.listLocked()
	if err != nil {
		u.mu.Unlock()
		return Result{}, errors.Join(append(errs, err)...)
	}
	for _, b := range batches {
		w.ids[batchID(b.Manifest)] = true
	}
	for _, t := range u.targets {
		p := map[string]bool{}
		for _, b := range batches {
			if _, ok := t.done[batchID(b.Manifest)]; !ok {
				p[batchID(b.Manifest)] = true
			}
		}
		w.pending = append(w.pending, p)
		w.res = append(w.res, TargetResult{Name: t.name})
	}
	w.check(u.removing)
	u.waiters[w] = struct{}{}
	u.mu.Unlock()

	u.wakeAll(true)
	select {
	case <-w.done:
	case <-ctx.Done():
		errs = append(errs, ctx.Err())
	case <-stopped:
		errs = append(errs, errors.New("uploader stopped"))
	}

	u.mu.Lock()
	delete(u.waiters, w)
	res := Result{Batches: len(batches), Targets: w.res}
	for i, t := range u.targets {
		r := &res.Targets[i]
		r.Pending = len(w.pending[i])
		switch {
		case r.Pending == 0:
			r.LastError, r.Class, r.Explanation = "", "", ""
		case r.LastError == "":
			r.LastError, r.Class, r.Explanation = t.st.LastError, t.st.LastErrorClass, t.st.LastErrorExplanation
		}
	}
	u.mu.Unlock()
	return res, errors.Join(errs...)
}
