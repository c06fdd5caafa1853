package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
	"time"
)

// item is one thing to send to one target: a queue batch, or a dead letter
// moved back by Requeue (dir set).
type item struct {
	m     Manifest
	batch Batch
	dir   string
	open  func() (io.ReadCloser, error)
}

func (it *item) id() string { return batchID(it.m) }

// localError is a failure on our side (the spool file cannot be read), not
// the target's.
type localError struct{ err error }

func (e *localError) Error() string { return "read batch: " + e.err.Error() }
func (e *localError) Unwrap() error { return e.err }

// work owns one target: it sleeps until woken, then ships everything that
// target lacks, oldest first. One slow target never holds back another.
func (u *Uploader) work(ctx context.Context, t *target) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.wake:
		}
		select {
		case <-t.kick: // meant for a backoff that has ended
		default:
		}
		u.setActive(t, true)
		u.drain(ctx, t)
		u.setActive(t, false)
	}
}

func (u *Uploader) drain(ctx context.Context, t *target) {
	skip := map[string]bool{} // unreadable this pass; tried again at the next wake
	for ctx.Err() == nil {
		// Requeued dead letters are older than anything in the queue.
		u.drainRequeue(ctx, t)
		batches, err := u.list()
		if err != nil {
			u.log.Error().Err(err).Str("target", t.name).Msg("cannot list the spool")
			return
		}
		tried := false
		for _, b := range batches {
			if ctx.Err() != nil {
				return
			}
			id := batchID(b.Manifest)
			if skip[id] || u.has(t, id) {
				continue
			}
			tried = true
			it := &item{m: b.Manifest, batch: b, open: func() (io.ReadCloser, error) {
				u.qmu.Lock()
				defer u.qmu.Unlock()
				return u.cfg.Queue.Open(b)
			}}
			if err := u.deliver(ctx, t, it); err != nil {
				skip[id] = true
			}
		}
		if !tried {
			return
		}
	}
}

func (u *Uploader) setActive(t *target, on bool) {
	u.mu.Lock()
	t.st.Active = on
	u.mu.Unlock()
}

func (u *Uploader) inBacklog(id string) bool {
	if _, err := u.list(); err != nil {
		return true // unknown: report the failure rather than hide it
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, e := range u.backlog {
		if e.id == id {
			return true
		}
	}
	return false
}

func (u *Uploader) has(t *target, id string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	_, ok := t.done[id]
	return ok
}

// deliver sends it to t until it succeeds, is dead-lettered, or cannot be
// read; retryable failures back off without limit. It returns an error
// only when the item was not handled (ctx ended, or unreadable).
func (u *Uploader) deliver(ctx context.Context, t *target, it *item) error {
	for attempt := 0; ; attempt++ {
		u.mu.Lock()
		t.st.LastAttempt = u.now()
		u.mu.Unlock()
		err := u.attempt(ctx, t, it)
		if err == nil {
			u.succeeded(t, it)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var le *localError
		if errors.As(err, &le) {
			if errors.Is(err, fs.ErrNotExist) && it.dir == "" && !u.inBacklog(it.id()) {
				// Removed from the spool meanwhile (retention, or another
				// target completed it): nothing left to send.
				return err
			}
			u.failed(t, it, err, attempt)
			return err
		}
		if IsPermanent(err) {
			if dlErr := u.deadLetter(t, it, err); dlErr != nil {
				// Without a copy, marking it handled would lose it.
				u.failed(t, it, fmt.Errorf("keep a dead-letter copy: %w", dlErr), attempt)
				return dlErr
			}
			return nil
		}
		u.failed(t, it, err, attempt)
		floor := RetryAfter(err)
		wait := u.backoff(attempt, floor)
		u.mu.Lock()
		t.st.NextRetry = u.now().Add(wait)
		u.mu.Unlock()
		if !u.sleep(ctx, t, wait, floor) {
			return ctx.Err()
		}
	}
}

func (u *Uploader) attempt(ctx context.Context, t *target, it *item) error {
	if err := ValidKey(it.m.Key); err != nil {
		return Permanent(err)
	}
	rc, err := it.open()
	if err != nil {
		return &localError{err}
	}
	defer rc.Close()
	m := it.m
	size := m.Bytes
	// The file is the truth: a manifest size that disagrees would make
	// every attempt fail on Content-Length.
	if st, ok := rc.(interface{ Stat() (fs.FileInfo, error) }); ok {
		if fi, err := st.Stat(); err == nil && fi.Mode().IsRegular() {
			size = fi.Size()
			m.Bytes = size
		}
	}
	return t.sink.Put(ctx, m.Key, rc, size, m)
}

func (u *Uploader) succeeded(t *target, it *item) {
	now := u.now()
	u.m.batches.WithLabelValues(t.name, resultDelivered).Inc()
	u.m.bytes.WithLabelValues(t.name).Add(float64(it.m.Bytes))
	u.m.lastSuccess.WithLabelValues(t.name).Set(float64(now.UnixNano()) / 1e9)
	u.mu.Lock()
	recovered := t.st.Failures > 0
	t.st.Delivered++
	t.st.DeliveredBytes += it.m.Bytes
	t.st.LastSuccess = now
	t.st.Failures = 0
	t.st.LastError, t.st.LastErrorClass, t.st.LastErrorExplanation = "", "", ""
	t.st.NextRetry = time.Time{}
	u.mu.Unlock()
	if recovered {
		u.log.Info().Str("target", t.name).Msg("target accepts uploads again")
	}
	u.log.Debug().Str("target", t.name).Str("batch", it.m.Key).Int64("bytes", it.m.Bytes).Msg("batch delivered")
	if it.dir != "" {
		if err := u.removeRequeued(t, it); err != nil {
			u.log.Error().Err(err).Str("target", t.name).Str("dir", it.dir).Msg("cannot remove a re-sent dead letter; it will be sent again")
		}
		return
	}
	u.handled(t, it, resultDelivered)
}

// handled records that t has it (delivered or dead-lettered): the batch
// leaves the queue when every target has it, else a marker remembers t's
// progress across restarts.
func (u *Uploader) handled(t *target, it *item, result string) {
	id := it.id()
	u.mu.Lock()
	t.done[id] = result
	all := true
	for _, o := range u.targets {
		if _, ok := o.done[id]; !ok {
			all = false
			break
		}
	}
	if t.st.Pending > 0 {
		t.st.Pending--
		t.st.PendingBytes = max(0, t.st.PendingBytes-it.m.Bytes)
	}
	remove := all && !u.removing[id]
	if remove {
		u.removing[id] = true // before emitting, so Trigger also waits for the removal
	}
	u.emitLocked(t, id, result, it.m.Bytes)
	u.mu.Unlock()
	if remove {
		u.removeBatch(it.batch)
		return
	}
	if !all {
		if err := u.writeMarker(t, it.m, result); err != nil {
			// The in-memory mark still prevents resending in this run.
			u.log.Error().Err(err).Str("target", t.name).Msg("cannot persist upload progress; the batch may be sent again after a restart")
		}
	}
}

func (u *Uploader) failed(t *target, it *item, err error, attempt int) {
	class, expl := Classify(err)
	u.m.failures.WithLabelValues(t.name, class).Inc()
	u.mu.Lock()
	t.st.Failures++
	t.st.LastError = err.Error()
	t.st.LastErrorClass = class
	t.st.LastErrorExplanation = expl
	for w := range u.waiters {
		if w.pending[t.idx][it.id()] {
			r := &w.res[t.idx]
			r.LastError, r.Class, r.Explanation = err.Error(), class, expl
		}
	}
	u.mu.Unlock()
	ev := u.log.Warn()
	if attempt == 0 {
		ev = u.log.Info()
	}
	ev.Str("target", t.name).Str("batch", it.m.Key).Str("class", class).Int("attempt", attempt+1).
		Err(err).Msg("upload failed, will retry: " + expl)
}

// ValidKey rejects object keys that could escape a folder or prefix, or
// that no store accepts: empty, absolute, "." or ".." segments, empty
// segments, backslashes or control characters, over 1024 bytes.
func ValidKey(key string) error {
	if key == "" || len(key) > 1024 {
		return fmt.Errorf("invalid batch key %q: empty or too long", key)
	}
	if strings.HasPrefix(key, "/") || strings.ContainsAny(key, "\\") {
		return fmt.Errorf("invalid batch key %q: absolute or has a backslash", key)
	}
	for _, r := range key {
		if r < ' ' || r == 0x7f {
			return fmt.Errorf("invalid batch key %q: control character", key)
		}
	}
	for _, seg := range strings.Split(key, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return fmt.Errorf("invalid batch key %q: empty, '.' or '..' segment", key)
		}
	}
	if path.Clean(key) != key {
		return fmt.Errorf("invalid batch key %q: not clean", key)
	}
	return nil
}
