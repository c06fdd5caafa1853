package uploader

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/internal/fsutil"
)

// State folder layout under Config.StateDir.
const (
	deliveredDir  = "delivered"
	deadLetterDir = "deadletter"
	requeueDir    = "requeue"

	manifestFile  = "manifest.json"
	rejectionFile = "reject.json"
	tmpPrefix     = ".tmp-"
)

// Rejection is what reject.json in a dead-letter folder records.
type Rejection struct {
	Target      string    `json:"target"`
	Sink        string    `json:"sink"`
	Time        time.Time `json:"time"`
	Status      int       `json:"status,omitempty"`
	Code        string    `json:"code,omitempty"`
	Message     string    `json:"message,omitempty"` // response body excerpt (at most 4 KiB)
	Error       string    `json:"error"`
	Explanation string    `json:"explanation"`
}

type marker struct {
	ID     string    `json:"id"`
	Key    string    `json:"key"`
	Result string    `json:"result"`
	Time   time.Time `json:"time"`
}

var safeNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// safeName maps a batch id to a file name; ids that are not plain names are
// hashed so no id can escape or collide with the layout.
func safeName(id string) string {
	if safeNameRE.MatchString(id) && !strings.HasSuffix(id, ".json") {
		return id
	}
	sum := sha256.Sum256([]byte(id))
	return "h-" + hex.EncodeToString(sum[:16])
}

// dataName is the batch file's name inside a dead-letter folder.
func dataName(m Manifest) string {
	b := path.Base(m.Key)
	if ValidKey(m.Key) != nil || b == manifestFile || b == rejectionFile || strings.HasPrefix(b, ".") {
		return "batch"
	}
	return b
}

func (u *Uploader) dir(kind string, t *target) string {
	return filepath.Join(u.cfg.StateDir, kind, t.name)
}

// prepare creates the state folders, clears half-written temp entries from
// a crash, loads the delivered markers and counts the dead letters.
func (u *Uploader) prepare() error {
	for _, t := range u.targets {
		for _, kind := range []string{deliveredDir, deadLetterDir, requeueDir} {
			d := u.dir(kind, t)
			if err := fsutil.MkdirAll(d, 0o750); err != nil {
				return fmt.Errorf("uploader state: %w", err)
			}
			entries, err := os.ReadDir(d)
			if err != nil {
				return fmt.Errorf("uploader state: %w", err)
			}
			for _, e := range entries {
				if strings.HasPrefix(e.Name(), ".") {
					if err := os.RemoveAll(filepath.Join(d, e.Name())); err != nil {
						return fmt.Errorf("uploader state: clear temp entry: %w", err)
					}
				}
			}
		}
		done, err := loadMarkers(u.dir(deliveredDir, t))
		if err != nil {
			return fmt.Errorf("uploader state: %w", err)
		}
		u.mu.Lock()
		t.done = done
		u.mu.Unlock()
		u.countDeadLetters(t)
	}
	return nil
}

func loadMarkers(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	done := map[string]string{}
	for _, e := range entries {
		p := filepath.Join(dir, e.Name())
		data, err := os.ReadFile(p)
		var mk marker
		if err == nil {
			err = json.Unmarshal(data, &mk)
		}
		if err != nil || mk.ID == "" || (mk.Result != resultDelivered && mk.Result != resultDeadLetter) {
			// A damaged marker only costs a resend; drop it.
			if rerr := os.Remove(p); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
				return nil, rerr
			}
			continue
		}
		done[mk.ID] = mk.Result
	}
	return done, nil
}

func (u *Uploader) writeMarker(t *target, m Manifest, result string) error {
	data, err := json.Marshal(marker{ID: batchID(m), Key: m.Key, Result: result, Time: u.now().UTC()})
	if err != nil {
		return err
	}
	p := filepath.Join(u.dir(deliveredDir, t), safeName(batchID(m))+".json")
	_, err = fsutil.WriteFile(p, bytes.NewReader(data), 0o640, nil)
	return err
}

// removeMarker drops a marker file. No directory fsync: a marker that
// reappears after a crash is pruned at the next start.
func (u *Uploader) removeMarker(t *target, id string) {
	p := filepath.Join(u.dir(deliveredDir, t), safeName(id)+".json")
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		u.log.Warn().Err(err).Str("target", t.name).Msg("cannot remove upload marker")
	}
}

// deadLetter keeps a copy of a batch t refused for good, with the reason,
// then counts t as having it.
func (u *Uploader) deadLetter(t *target, it *item, cause error) error {
	class, expl := Classify(cause)
	rej := Rejection{Target: t.name, Sink: t.sink.String(), Time: u.now().UTC(), Error: cause.Error(), Explanation: expl}
	var se *StatusError
	if errors.As(cause, &se) {
		rej.Status, rej.Code, rej.Message = se.Status, se.Code, se.Message
	}
	rejData, err := json.MarshalIndent(rej, "", "  ")
	if err != nil {
		return err
	}
	dir := u.dir(deadLetterDir, t)
	final := filepath.Join(dir, safeName(it.id()))
	if it.dir != "" {
		// A requeued dead letter refused again: update the reason and move it back.
		if _, err := fsutil.WriteFile(filepath.Join(it.dir, rejectionFile), bytes.NewReader(rejData), 0o640, nil); err != nil {
			return err
		}
		if err := replaceDir(it.dir, final); err != nil {
			return err
		}
	} else {
		if err := u.copyToDeadLetter(it, dir, final, rejData); err != nil {
			return err
		}
	}
	u.m.batches.WithLabelValues(t.name, resultDeadLetter).Inc()
	u.m.failures.WithLabelValues(t.name, class).Inc()
	u.mu.Lock()
	t.st.DeadLettered++
	t.st.LastError, t.st.LastErrorClass, t.st.LastErrorExplanation = cause.Error(), class, expl
	u.mu.Unlock()
	u.countDeadLetters(t)
	u.log.Error().Str("target", t.name).Str("batch", it.m.Key).Str("dead_letter", final).Err(cause).
		Msg("target refused the batch; kept in the dead-letter folder: " + expl)
	if it.dir == "" {
		u.handled(t, it, resultDeadLetter)
	}
	return nil
}

func (u *Uploader) copyToDeadLetter(it *item, dir, final string, rejData []byte) error {
	tmp, err := os.MkdirTemp(dir, tmpPrefix)
	if err != nil {
		return err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	rc, err := it.open()
	if err != nil {
		return err
	}
	_, err = fsutil.WriteFile(filepath.Join(tmp, dataName(it.m)), rc, 0o640, nil)
	rc.Close()
	if err != nil {
		return err
	}
	mdata, err := json.MarshalIndent(it.m, "", "  ")
	if err != nil {
		return err
	}
	if _, err := fsutil.WriteFile(filepath.Join(tmp, manifestFile), bytes.NewReader(mdata), 0o640, nil); err != nil {
		return err
	}
	if _, err := fsutil.WriteFile(filepath.Join(tmp, rejectionFile), bytes.NewReader(rejData), 0o640, nil); err != nil {
		return err
	}
	if err := replaceDir(tmp, final); err != nil {
		return err
	}
	ok = true
	return nil
}

// replaceDir renames src to dst, replacing an older dst, and makes both
// parents durable.
func replaceDir(src, dst string) error {
	if _, err := os.Stat(dst); err == nil {
		if err := os.RemoveAll(dst); err != nil {
			return err
		}
	}
	if err := os.Rename(src, dst); err != nil {
		return err
	}
	if err := fsutil.SyncDir(filepath.Dir(dst)); err != nil {
		return err
	}
	if filepath.Dir(src) != filepath.Dir(dst) {
		return fsutil.SyncDir(filepath.Dir(src))
	}
	return nil
}

func (u *Uploader) countDeadLetters(t *target) {
	dead := countEntries(u.dir(deadLetterDir, t))
	requeued := countEntries(u.dir(requeueDir, t))
	u.m.deadLetters.WithLabelValues(t.name).Set(float64(dead))
	u.mu.Lock()
	t.st.DeadLetters, t.st.Requeued = dead, requeued
	u.mu.Unlock()
}

func countEntries(dir string) int {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			n++
		}
	}
	return n
}

// drainRequeue sends the dead letters Requeue moved back for t, oldest first.
func (u *Uploader) drainRequeue(ctx context.Context, t *target) {
	dir := u.dir(requeueDir, t)
	entries, err := os.ReadDir(dir)
	if err != nil {
		u.log.Error().Err(err).Str("target", t.name).Msg("cannot read the requeue folder")
		return
	}
	var items []*item
	for _, e := range entries {
		if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		d := filepath.Join(dir, e.Name())
		var m Manifest
		data, err := os.ReadFile(filepath.Join(d, manifestFile))
		if err == nil {
			err = json.Unmarshal(data, &m)
		}
		if err == nil && batchID(m) == "" {
			err = errors.New("manifest has no id or key")
		}
		if err != nil {
			u.m.failures.WithLabelValues(t.name, ClassIO).Inc()
			u.log.Error().Err(err).Str("target", t.name).Str("dir", d).Msg("requeued dead letter is unreadable; left in place")
			continue
		}
		file := filepath.Join(d, dataName(m))
		items = append(items, &item{m: m, dir: d, open: func() (io.ReadCloser, error) { return os.Open(file) }})
	}
	if len(items) == 0 {
		return
	}
	sort.SliceStable(items, func(i, j int) bool { return items[i].m.Sealed.Before(items[j].m.Sealed) })
	for _, it := range items {
		if ctx.Err() != nil {
			return
		}
		if err := u.deliver(ctx, t, it); err != nil && ctx.Err() == nil {
			u.log.Error().Err(err).Str("target", t.name).Str("dir", it.dir).Msg("requeued dead letter not sent")
		}
	}
	u.countDeadLetters(t)
}

func (u *Uploader) removeRequeued(t *target, it *item) error {
	err := fsutil.RemoveAll(it.dir)
	u.countDeadLetters(t)
	return err
}

// Requeue moves every dead letter under stateDir back for sending: each
// deadletter/<target>/<batch>/ folder is renamed (atomically) to
// requeue/<target>/<batch>/. The uploader sends those folders to their
// target alone, before its queue backlog, at its next run or wake-up; a
// success deletes the folder, a new refusal moves it back to deadletter/.
// It is safe while an uploader runs and returns how many it moved. Folders
// of a target no longer configured wait until a target of that name returns.
func Requeue(stateDir string) (int, error) {
	root := filepath.Join(stateDir, deadLetterDir)
	targets, err := os.ReadDir(root)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	n := 0
	var errs []error
	for _, td := range targets {
		if !td.IsDir() || strings.HasPrefix(td.Name(), ".") {
			continue
		}
		src := filepath.Join(root, td.Name())
		dst := filepath.Join(stateDir, requeueDir, td.Name())
		if err := fsutil.MkdirAll(dst, 0o750); err != nil {
			errs = append(errs, err)
			continue
		}
		entries, err := os.ReadDir(src)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, e := range entries {
			if !e.IsDir() || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if err := replaceDir(filepath.Join(src, e.Name()), filepath.Join(dst, e.Name())); err != nil {
				errs = append(errs, err)
				continue
			}
			n++
		}
	}
	return n, errors.Join(errs...)
}
