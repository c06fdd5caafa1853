// Package filedrop watches folders (FTP drop folders, mounted SMB/NFS shares)
// and feeds each complete file, line by line, to the pipeline through a Sink.
//
// A file is read once it is complete: FTP uploads appear in a drop folder
// only when complete (collector/ftp renames them into place), names matching
// TempPatterns are ignored until the device renames them, and for shares
// StableFor waits until a file stops changing. Files present at start-up are
// processed; new ones are found through fsnotify and a periodic rescan
// (network filesystems do not deliver events). One goroutine per folder
// processes its files one at a time, oldest first, with bounded memory.
//
// .gz, .zst and .zip files (recognized by content) are decompressed on the
// fly. A compressed file is first decompressed once without delivering
// anything, so a bomb (past MaxExpandedBytes) or a corrupt archive goes to
// quarantine with a .reason.txt and delivers no line at all.
//
// Delivery guarantee. Every CommitEvery lines (and at the end of a file) the
// watcher calls FileStream.Commit and, only after it succeeded, writes the
// file's checkpoint (identity and decompressed offset past the last committed
// line) atomically. After a crash or restart the file resumes after its
// checkpoint, so:
//   - no line is lost: a line is forgotten only after Commit returned;
//   - lines delivered after the last Commit are delivered again; they are
//     duplicates only if the sink made them durable without Commit;
//   - a crash between a successful Commit and the checkpoint write (one small
//     fsynced file) re-delivers that last batch: at most CommitEvery lines,
//     once per crash. Closing this window needs the sink to store the
//     (file, offset) of its commits and is not done here.
//
// On resume, the header lines ("#...") before the checkpoint are delivered
// again so that a W3C/ELFF parser rebuilds its #Fields state; parsers emit no
// record for them. After its last commit a file is archived (ArchiveDir,
// pruned after ArchiveRetention) or deleted.
package filedrop

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"sync/atomic"
	"time"

	"github.com/fsnotify/fsnotify"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Defaults for zero fields.
const (
	DefaultPattern          = "*"
	DefaultMaxLineBytes     = 1 << 20
	DefaultMaxExpandedBytes = 10 << 30
	DefaultCommitEvery      = 10000
	DefaultRescanInterval   = 10 * time.Second
	DefaultStableFor        = 2 * time.Second

	maxMaxLineBytes = 64 << 20
)

// DefaultTempPatterns are the names devices use while a file is still being
// written; such files are left alone until renamed.
var DefaultTempPatterns = []string{".*", "*.tmp", "*.temp", "*.part", "*.partial", "*.filepart", "*.crdownload", "*~"}

// Sink is implemented by the pipeline.
type Sink interface {
	// Open starts one file. The watcher calls Close on the stream exactly once.
	Open(source, path string) FileStream
}

// FileStream receives one file's lines.
type FileStream interface {
	// Line delivers one line (without LF or CRLF; truncated at MaxLineBytes)
	// starting at byte offset in the decompressed file. line is only valid
	// during the call. It may block (backpressure).
	Line(ctx context.Context, line []byte, offset int64) error
	// Commit makes every record from the lines so far durable in the spool.
	Commit(ctx context.Context) error
	Close()
}

// Folder is one watched folder belonging to a data source.
type Folder struct {
	Source           string
	Dir              string        // absolute path; not created by the watcher
	Pattern          string        // glob on file names; default "*"
	TempPatterns     []string      // names being written; nil = DefaultTempPatterns
	ArchiveDir       string        // where processed files go; "" = delete them
	ArchiveRetention time.Duration // archived files older than this are deleted; 0 = kept
	MaxLineBytes     int           // default 1 MiB; longer lines are truncated and counted
	MaxExpandedBytes int64         // decompressed size cap per file; default 10 GiB
	QuarantineDir    string        // default <StateDir>/quarantine/<source>
	// StableFor makes the watcher wait until a file's size and time have not
	// changed for this long; 0 = DefaultStableFor, negative = no wait. Shares
	// written in place need it (raise it for slow writers); FTP drop folders
	// can use -1 (files appear there complete). A file that still changes
	// while it is read is left at its last commit and waited for again.
	StableFor time.Duration
}

// Config configures a Watcher.
type Config struct {
	Folders        []Folder
	StateDir       string        // checkpoints, lock, default quarantine
	CommitEvery    int           // lines per commit; default 10000
	RescanInterval time.Duration // periodic rescan (network shares miss events); default 10s
	Sink           Sink
	Logger         zerolog.Logger
	Registerer     prometheus.Registerer
}

// Watcher processes the files of its folders. Create it with New, start it with Run.
type Watcher struct {
	cfg     Config
	log     zerolog.Logger
	m       *metrics
	started atomic.Bool

	mu      sync.Mutex
	folders []Folder
	changed chan struct{}
}

// New validates cfg. It touches no file; Run does.
func New(cfg Config) (*Watcher, error) {
	if cfg.Sink == nil {
		return nil, errors.New("filedrop: no sink")
	}
	if !filepath.IsAbs(cfg.StateDir) {
		return nil, fmt.Errorf("filedrop: state folder %q is not an absolute path", cfg.StateDir)
	}
	cfg.StateDir = filepath.Clean(cfg.StateDir)
	if cfg.CommitEvery == 0 {
		cfg.CommitEvery = DefaultCommitEvery
	}
	if cfg.RescanInterval == 0 {
		cfg.RescanInterval = DefaultRescanInterval
	}
	if cfg.CommitEvery < 0 || cfg.RescanInterval < 0 {
		return nil, errors.New("filedrop: negative CommitEvery or RescanInterval")
	}
	w := &Watcher{cfg: cfg, log: cfg.Logger.With().Str("component", "filedrop").Logger(), changed: make(chan struct{}, 1)}
	folders, err := w.normalize(cfg.Folders)
	if err != nil {
		return nil, err
	}
	w.folders = folders
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("filedrop: %w", err)
	}
	w.m = m
	return w, nil
}

// SetFolders replaces the watched folders. A folder whose settings changed is
// restarted after its current line; its file resumes from the checkpoint.
func (w *Watcher) SetFolders(folders []Folder) error {
	norm, err := w.normalize(folders)
	if err != nil {
		return err
	}
	w.mu.Lock()
	w.folders = norm
	w.mu.Unlock()
	select {
	case w.changed <- struct{}{}:
	default:
	}
	return nil
}

func (w *Watcher) normalize(folders []Folder) ([]Folder, error) {
	out := make([]Folder, 0, len(folders))
	seen := map[string]bool{}
	for _, f := range folders {
		if f.Source == "" {
			return nil, fmt.Errorf("filedrop: folder %q: no source", f.Dir)
		}
		if !filepath.IsAbs(f.Dir) {
			return nil, fmt.Errorf("filedrop: folder %q is not an absolute path", f.Dir)
		}
		f.Dir = filepath.Clean(f.Dir)
		if seen[f.Dir] {
			return nil, fmt.Errorf("filedrop: folder %s listed twice", f.Dir)
		}
		seen[f.Dir] = true
		if f.Pattern == "" {
			f.Pattern = DefaultPattern
		}
		if f.TempPatterns == nil {
			f.TempPatterns = DefaultTempPatterns
		}
		for _, p := range append([]string{f.Pattern}, f.TempPatterns...) {
			if _, err := filepath.Match(p, "x"); err != nil {
				return nil, fmt.Errorf("filedrop: folder %s: pattern %q: %w", f.Dir, p, err)
			}
		}
		for name, d := range map[string]*string{"archive": &f.ArchiveDir, "quarantine": &f.QuarantineDir} {
			if *d == "" {
				continue
			}
			if !filepath.IsAbs(*d) {
				return nil, fmt.Errorf("filedrop: folder %s: %s folder %q is not an absolute path", f.Dir, name, *d)
			}
			*d = filepath.Clean(*d)
			if *d == f.Dir {
				return nil, fmt.Errorf("filedrop: folder %s: %s folder is the watched folder", f.Dir, name)
			}
		}
		if f.QuarantineDir == "" {
			f.QuarantineDir = filepath.Join(w.cfg.StateDir, "quarantine", folderKey(f.Source, f.Dir))
		}
		if f.MaxLineBytes == 0 {
			f.MaxLineBytes = DefaultMaxLineBytes
		}
		if f.MaxExpandedBytes == 0 {
			f.MaxExpandedBytes = DefaultMaxExpandedBytes
		}
		if f.StableFor == 0 {
			f.StableFor = DefaultStableFor
		}
		if f.MaxLineBytes < 0 || f.MaxLineBytes > maxMaxLineBytes || f.MaxExpandedBytes < 0 || f.ArchiveRetention < 0 {
			return nil, fmt.Errorf("filedrop: folder %s: limit out of range", f.Dir)
		}
		out = append(out, f)
	}
	return out, nil
}

func (w *Watcher) snapshot() []Folder {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.folders
}

// Run watches and processes until ctx is cancelled. It returns after every
// folder goroutine has stopped.
func (w *Watcher) Run(ctx context.Context) error {
	if !w.started.CompareAndSwap(false, true) {
		return errors.New("filedrop: Run called twice")
	}
	if err := os.MkdirAll(w.cfg.StateDir, 0o750); err != nil {
		return fmt.Errorf("filedrop: create state folder: %w", err)
	}
	lock, err := lockStateDir(w.cfg.StateDir)
	if err != nil {
		return fmt.Errorf("filedrop: %w", err)
	}
	defer lock.unlock()
	fsw, err := fsnotify.NewBufferedWatcher(4096)
	if err != nil {
		return fmt.Errorf("filedrop: fsnotify: %w", err)
	}
	defer fsw.Close()

	type running struct {
		f      Folder
		wk     *worker
		cancel context.CancelFunc
		done   chan struct{}
	}
	workers := map[string]*running{}
	stop := func(r *running) {
		r.cancel()
		<-r.done
		_ = fsw.Remove(r.f.Dir)
		delete(workers, r.f.Dir)
	}
	apply := func() {
		want := map[string]Folder{}
		for _, f := range w.snapshot() {
			want[f.Dir] = f
		}
		for dir, r := range workers {
			if f, ok := want[dir]; !ok || !reflect.DeepEqual(f, r.f) {
				stop(r)
			}
		}
		for dir, f := range want {
			if _, ok := workers[dir]; ok {
				continue
			}
			wctx, cancel := context.WithCancel(ctx)
			r := &running{f: f, wk: newWorker(w, f, fsw), cancel: cancel, done: make(chan struct{})}
			workers[dir] = r
			go func() {
				defer close(r.done)
				r.wk.run(wctx)
			}()
		}
	}
	apply()
	defer func() {
		for _, r := range workers {
			stop(r)
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-w.changed:
			apply()
		case ev, ok := <-fsw.Events:
			if !ok {
				return errors.New("filedrop: fsnotify closed")
			}
			if r := workers[filepath.Dir(ev.Name)]; r != nil {
				r.wk.wake()
			} else if r := workers[ev.Name]; r != nil {
				r.wk.wake()
			}
		case err, ok := <-fsw.Errors:
			if !ok {
				return errors.New("filedrop: fsnotify closed")
			}
			// On overflow events were lost: rescan everything now.
			w.log.Warn().Err(err).Msg("fsnotify error; rescanning all folders")
			for _, r := range workers {
				r.wk.wake()
			}
		}
	}
}
