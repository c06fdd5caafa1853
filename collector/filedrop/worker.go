package filedrop

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/rs/zerolog"

	"github.com/cloudscout/cloudscout/internal/fsutil"
)

const (
	minBackoff = time.Second
	maxBackoff = time.Minute
	// stuckRetry is how long a file that could not even be quarantined is left alone.
	stuckRetry = 10 * time.Minute
	// archiveRetry is how often archiving a processed file is retried.
	archiveRetry = time.Minute
)

// worker processes one folder's files, one at a time.
type worker struct {
	w    *Watcher
	f    Folder
	fsw  *fsnotify.Watcher
	log  zerolog.Logger
	kick chan struct{}

	cp            *checkpoints
	watching      bool
	backoff       time.Duration
	nextRetention time.Time
	seen          map[string]stableState // StableFor bookkeeping
	stuck         map[string]time.Time   // files that could not be moved away, by name|size|mtime
	warned        map[string]bool        // names logged once (symlinks)
}

type stableState struct {
	size  int64
	mtime time.Time
	since time.Time
}

// errRetry wraps failures that leave the file in place to be retried after a backoff.
type errRetry struct {
	stage string
	err   error
}

func (e *errRetry) Error() string { return e.stage + ": " + e.err.Error() }
func (e *errRetry) Unwrap() error { return e.err }

func retry(stage string, err error) error { return &errRetry{stage: stage, err: err} }

// errUnstable: the file changed while it was read (a writer is still at it).
// Lines up to the last complete one are committed; the file waits again.
var errUnstable = errors.New("file changed while being read")

func newWorker(w *Watcher, f Folder, fsw *fsnotify.Watcher) *worker {
	return &worker{
		w: w, f: f, fsw: fsw,
		log:    w.log.With().Str("source", f.Source).Str("dir", f.Dir).Logger(),
		kick:   make(chan struct{}, 1),
		seen:   map[string]stableState{},
		stuck:  map[string]time.Time{},
		warned: map[string]bool{},
	}
}

func (k *worker) wake() {
	select {
	case k.kick <- struct{}{}:
	default:
	}
}

func (k *worker) run(ctx context.Context) {
	ticker := time.NewTicker(k.w.cfg.RescanInterval)
	defer ticker.Stop()
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		wait := k.scan(ctx)
		timer.Reset(max(wait, time.Millisecond))
		if wait <= 0 {
			timer.Stop()
		}
		select {
		case <-ctx.Done():
			return
		case <-k.kick:
		case <-ticker.C:
		case <-timer.C:
		}
	}
}

type candidate struct {
	name string
	fi   os.FileInfo
}

// scan processes every eligible file and returns when it wants to run again
// (0: on the next event or rescan).
func (k *worker) scan(ctx context.Context) time.Duration {
	if k.cp == nil {
		cp, err := loadCheckpoints(checkpointPath(k.w.cfg.StateDir, k.f.Source, k.f.Dir), k.f.Dir)
		if err != nil {
			k.w.m.errors.WithLabelValues(k.f.Source, "checkpoint").Inc()
			k.log.Error().Err(err).Msg("cannot read checkpoint; folder not processed")
			return k.w.cfg.RescanInterval
		}
		k.cp = cp
	}
	if !k.watching {
		if err := k.fsw.Add(k.f.Dir); err != nil {
			if !k.warned["\x00watch"] {
				k.warned["\x00watch"] = true
				k.log.Warn().Err(err).Msg("cannot watch folder; relying on rescans")
			}
		} else {
			k.watching = true
		}
	}
	k.cleanArchive()
	entries, err := os.ReadDir(k.f.Dir)
	if err != nil {
		k.w.m.errors.WithLabelValues(k.f.Source, "scan").Inc()
		k.log.Warn().Err(err).Msg("cannot read folder")
		return k.w.cfg.RescanInterval
	}
	present := map[[2]uint64]bool{}
	names := map[string]bool{}
	var cands []candidate
	for _, e := range entries {
		name := e.Name()
		fi, err := e.Info()
		if err != nil {
			continue
		}
		if fi.Mode()&os.ModeSymlink != 0 && k.eligible(name) && !k.warned[name] {
			k.warned[name] = true
			k.log.Warn().Str("file", name).Msg("ignoring symbolic link")
		}
		if !fi.Mode().IsRegular() {
			continue
		}
		if di, ok := devIno(fi); ok {
			present[di] = true
		}
		names[name] = true
		if k.eligible(name) {
			cands = append(cands, candidate{name: name, fi: fi})
		}
	}
	for name := range k.seen {
		if !names[name] {
			delete(k.seen, name)
		}
	}
	if k.cp.prune(present) {
		if err := k.cp.save(); err != nil {
			k.log.Warn().Err(err).Msg("cannot save checkpoint")
		}
	}
	sort.Slice(cands, func(i, j int) bool {
		ti, tj := cands[i].fi.ModTime(), cands[j].fi.ModTime()
		if !ti.Equal(tj) {
			return ti.Before(tj)
		}
		return cands[i].name < cands[j].name
	})
	var next time.Duration
	for _, c := range cands {
		if ctx.Err() != nil {
			return 0
		}
		if wait := k.settle(c); wait > 0 {
			if next == 0 || wait < next {
				next = wait
			}
			continue
		}
		key := stuckKey(c)
		if until, ok := k.stuck[key]; ok && time.Now().Before(until) {
			continue
		}
		delete(k.stuck, key)
		if err := k.process(ctx, c.name); err != nil {
			if ctx.Err() != nil {
				return 0
			}
			if errors.Is(err, errUnstable) {
				delete(k.seen, c.name)
				wait := max(k.f.StableFor, time.Second)
				if next == 0 || wait < next {
					next = wait
				}
				continue
			}
			stage := "process"
			var re *errRetry
			if errors.As(err, &re) {
				stage = re.stage
			}
			k.w.m.errors.WithLabelValues(k.f.Source, stage).Inc()
			if stage == "archive" {
				// The file's lines are committed; only moving it failed (a
				// read-only share, say). Do not hold up the other files.
				k.stuck[key] = time.Now().Add(archiveRetry)
				if !k.warned[key] {
					k.warned[key] = true
					k.log.Warn().Err(err).Str("file", c.name).Msg("processed file cannot be archived or deleted; it stays, and is not read again")
				}
				continue
			}
			k.backoff = min(max(2*k.backoff, minBackoff), maxBackoff)
			k.log.Warn().Err(err).Str("file", c.name).Dur("retry_in", k.backoff).Msg("file processing interrupted; will resume from its checkpoint")
			return k.backoff
		}
		k.backoff = 0
	}
	return next
}

func stuckKey(c candidate) string {
	return fmt.Sprintf("%s|%d|%d", c.name, c.fi.Size(), c.fi.ModTime().UnixNano())
}

func (k *worker) eligible(name string) bool {
	if ok, _ := filepath.Match(k.f.Pattern, name); !ok {
		return false
	}
	for _, p := range k.f.TempPatterns {
		if ok, _ := filepath.Match(p, name); ok {
			return false
		}
	}
	return true
}

// settle returns how much longer a file must stay unchanged (StableFor).
func (k *worker) settle(c candidate) time.Duration {
	if k.f.StableFor <= 0 {
		return 0
	}
	now := time.Now()
	s, ok := k.seen[c.name]
	if !ok || s.size != c.fi.Size() || !s.mtime.Equal(c.fi.ModTime()) {
		k.seen[c.name] = stableState{size: c.fi.Size(), mtime: c.fi.ModTime(), since: now}
		return k.f.StableFor
	}
	if left := k.f.StableFor - now.Sub(s.since); left > 0 {
		return left
	}
	return 0
}

// process reads one file from its checkpoint to the end, then archives it.
func (k *worker) process(ctx context.Context, name string) error {
	path := filepath.Join(k.f.Dir, name)
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NOFOLLOW|syscall.O_CLOEXEC, 0)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ELOOP):
		return nil // renamed, deleted, or replaced by a symlink since the scan
	case errors.Is(err, fs.ErrPermission):
		k.quarantine(path, nil, &quarantineError{reason: reasonUnreadable, err: err})
		return nil
	case err != nil:
		return retry("open", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return retry("stat", err)
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	id, err := identify(f, fi)
	if err != nil {
		if errors.Is(err, syscall.EIO) || errors.Is(err, fs.ErrPermission) {
			k.quarantine(path, nil, &quarantineError{reason: reasonUnreadable, err: err})
			return nil
		}
		return retry("read", err)
	}
	e, err := k.cp.find(f, id.Dev, id.Ino)
	if err != nil {
		return retry("read", err)
	}
	if e != nil && e.Done {
		// Processed before (and renamed, or a crash hit before archiving).
		return k.finalize(path, id)
	}
	var start int64
	if e != nil {
		start = e.Offset
	}
	head := make([]byte, 8)
	n, err := f.ReadAt(head, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return retry("read", err)
	}
	kind, err := sniff(head[:n])
	if err != nil {
		k.quarantine(path, &id, err)
		return nil
	}
	size := fi.Size()
	// Everything is read up to the size seen at open; changed tells whether a
	// writer added to the file since. The time alone does not count: FTP
	// clients set it after an upload (MFMT).
	changed := func() bool {
		now, err := f.Stat()
		return err != nil || now.Size() != fi.Size()
	}
	if kind.compressed() && start == 0 {
		// Verify before delivering anything: a bomb or a corrupt archive must
		// not leave half its lines in the spool.
		err := openMembers(f, size, kind, k.f.MaxExpandedBytes, func(m member) error {
			_, err := io.Copy(io.Discard, m.r)
			return err
		})
		var qe *quarantineError
		if errors.As(err, &qe) {
			if changed() {
				return errUnstable // a compressed file still being written looks torn
			}
			k.quarantine(path, &id, err)
			return nil
		}
		if err != nil {
			return retry("read", err)
		}
	}
	return k.deliver(ctx, f, path, name, id, kind, size, start, changed)
}

func (k *worker) deliver(ctx context.Context, f *os.File, path, name string, id fileID, kind fileKind, size, start int64, changed func() bool) error {
	stream := k.w.cfg.Sink.Open(k.f.Source, path)
	defer stream.Close()
	var (
		pending   int   // lines since the last commit
		delivered bool  // anything since the last commit, header replays included
		lastEnd   int64 = start
		base      int64
		lines     int64
		nbytes    int64
	)
	src := k.f.Source
	commit := func(end int64, done bool) error {
		if delivered {
			if err := stream.Commit(ctx); err != nil {
				return retry("sink", fmt.Errorf("commit: %w", err))
			}
		}
		k.cp.set(id, name, end, done)
		if err := k.cp.save(); err != nil {
			return retry("checkpoint", err)
		}
		k.w.m.lines.WithLabelValues(src).Add(float64(lines))
		k.w.m.bytes.WithLabelValues(src).Add(float64(nbytes))
		lines, nbytes, pending, delivered = 0, 0, 0, false
		return nil
	}
	err := openMembers(f, size, kind, k.f.MaxExpandedBytes, func(m member) error {
		lr := newLineReader(m.r, base, k.f.MaxLineBytes)
		defer func() { base = lr.off }()
		for {
			line, off, end, truncated, err := lr.next()
			if errors.Is(err, io.EOF) {
				return nil
			}
			if err != nil {
				return err
			}
			if len(line) == 0 {
				continue
			}
			if lr.done && !kind.compressed() && changed() {
				// An unterminated last line of a file being written: not yet a line.
				return errUnstable
			}
			if off < start {
				// Before the checkpoint: only headers, to rebuild parser state.
				if line[0] == '#' {
					if err := stream.Line(ctx, line, off); err != nil {
						return retry("sink", fmt.Errorf("line: %w", err))
					}
					delivered = true
				}
				continue
			}
			if truncated {
				k.w.m.truncated.Inc()
			}
			if err := stream.Line(ctx, line, off); err != nil {
				return retry("sink", fmt.Errorf("line: %w", err))
			}
			delivered = true
			pending++
			lines++
			nbytes += end - off
			lastEnd = end
			if pending >= k.w.cfg.CommitEvery {
				if err := commit(lastEnd, false); err != nil {
					return err
				}
			}
		}
	})
	var qe *quarantineError
	switch {
	case errors.Is(err, errUnstable) || err == nil && changed() || errors.As(err, &qe) && changed():
		if cerr := commit(lastEnd, false); cerr != nil {
			return cerr
		}
		return errUnstable
	case errors.As(err, &qe):
		// Only if the file was modified in place after it was verified.
		k.quarantine(path, &id, err)
		return nil
	case err != nil:
		var re *errRetry
		if errors.As(err, &re) {
			return err
		}
		return retry("read", err)
	}
	if err := commit(lastEnd, true); err != nil {
		return err
	}
	k.w.m.files.WithLabelValues(src, "done").Inc()
	k.log.Info().Str("file", name).Int64("offset", lastEnd).Msg("file processed")
	return k.finalize(path, id)
}

// finalize archives or deletes a fully committed file, if path still names it.
func (k *worker) finalize(path string, id fileID) error {
	fi, err := os.Lstat(path)
	if err != nil {
		return nil // gone or renamed: the entry is pruned or found under the new name
	}
	if di, ok := devIno(fi); !ok || di != [2]uint64{id.Dev, id.Ino} {
		return nil
	}
	if k.f.ArchiveDir == "" {
		if err := os.Remove(path); err != nil {
			return retry("archive", fmt.Errorf("delete processed file: %w", err))
		}
		if err := fsutil.SyncDir(k.f.Dir); err != nil {
			return retry("archive", err)
		}
	} else {
		dst, err := moveInto(path, k.f.ArchiveDir)
		if err != nil {
			return retry("archive", fmt.Errorf("archive: %w", err))
		}
		if err := touch(dst); err != nil {
			k.log.Warn().Err(err).Str("file", dst).Msg("cannot set archive time")
		}
	}
	if k.cp.remove(id) {
		if err := k.cp.save(); err != nil {
			// The file is gone; its entry will be pruned at the next scan.
			k.log.Warn().Err(err).Msg("cannot save checkpoint")
		}
	}
	return nil
}

// quarantine moves a file that cannot be read as logs away, with a reason file.
func (k *worker) quarantine(path string, id *fileID, cause error) {
	reason := reasonUnreadable
	var qe *quarantineError
	if errors.As(cause, &qe) {
		reason = qe.reason
	}
	dst, err := moveInto(path, k.f.QuarantineDir)
	if err != nil {
		k.w.m.errors.WithLabelValues(k.f.Source, "quarantine").Inc()
		k.log.Error().Err(err).Str("file", path).Str("reason", reason).Msg("cannot quarantine file; leaving it alone for a while")
		if fi, serr := os.Lstat(path); serr == nil {
			k.stuck[stuckKey(candidate{name: filepath.Base(path), fi: fi})] = time.Now().Add(stuckRetry)
		}
		return
	}
	note := fmt.Sprintf("time: %s\nsource: %s\nfile: %s\nreason: %s\nerror: %s\n",
		time.Now().UTC().Format(time.RFC3339), k.f.Source, path, reason, strings.ReplaceAll(cause.Error(), "\n", " "))
	if err := fsutil.WriteFileAtomic(dst+".reason.txt", []byte(note), 0o600); err != nil {
		k.log.Warn().Err(err).Msg("cannot write quarantine reason")
	}
	k.w.m.quarantined.WithLabelValues(reason).Inc()
	k.w.m.files.WithLabelValues(k.f.Source, "quarantined").Inc()
	k.log.Warn().Err(cause).Str("file", path).Str("to", dst).Str("reason", reason).Msg("file quarantined")
	if id != nil && k.cp.remove(*id) {
		if err := k.cp.save(); err != nil {
			k.log.Warn().Err(err).Msg("cannot save checkpoint")
		}
	}
}

// cleanArchive deletes archived files past their retention, at most hourly.
func (k *worker) cleanArchive() {
	if k.f.ArchiveDir == "" || k.f.ArchiveRetention <= 0 || time.Now().Before(k.nextRetention) {
		return
	}
	k.nextRetention = time.Now().Add(min(time.Hour, max(k.f.ArchiveRetention/4, time.Second)))
	entries, err := os.ReadDir(k.f.ArchiveDir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			k.log.Warn().Err(err).Msg("cannot read archive folder")
		}
		return
	}
	cutoff := time.Now().Add(-k.f.ArchiveRetention)
	for _, e := range entries {
		fi, err := e.Info()
		if err != nil || !fi.Mode().IsRegular() || !fi.ModTime().Before(cutoff) {
			continue
		}
		if err := os.Remove(filepath.Join(k.f.ArchiveDir, e.Name())); err != nil {
			k.log.Warn().Err(err).Str("file", e.Name()).Msg("cannot delete expired archive file")
		}
	}
}
