// Package uptest holds test helpers for the uploader packages: an in-memory
// Queue over real batch files, a private CA, and a CONNECT proxy.
package uptest

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/cloudscout/cloudscout/uploader"
)

// Queue implements uploader.Queue with batch files in a folder.
type Queue struct {
	dir string

	mu       sync.Mutex
	batches  []uploader.Batch
	open     []uploader.Batch // added with AddOpen, sealed by SealAll
	removed  []string
	seals    int
	seq      int
	openErrs map[string]error
}

var _ uploader.Queue = (*Queue)(nil)

// NewQueue keeps batch files in dir.
func NewQueue(dir string) *Queue { return &Queue{dir: dir, openErrs: map[string]error{}} }

// Add seals a batch with body at once.
func (q *Queue) Add(key string, body []byte, sealed time.Time) uploader.Batch {
	b := q.make(key, body, sealed)
	q.mu.Lock()
	q.batches = append(q.batches, b)
	q.mu.Unlock()
	return b
}

// AddOpen stages a batch that appears only after SealAll.
func (q *Queue) AddOpen(key string, body []byte, sealed time.Time) uploader.Batch {
	b := q.make(key, body, sealed)
	q.mu.Lock()
	q.open = append(q.open, b)
	q.mu.Unlock()
	return b
}

func (q *Queue) make(key string, body []byte, sealed time.Time) uploader.Batch {
	q.mu.Lock()
	q.seq++
	n := q.seq
	q.mu.Unlock()
	p := filepath.Join(q.dir, fmt.Sprintf("batch-%06d", n))
	if err := os.WriteFile(p, body, 0o600); err != nil {
		panic(err)
	}
	sum := sha256.Sum256(body)
	return uploader.Batch{Path: p, Manifest: uploader.Manifest{
		Key: key, ID: fmt.Sprintf("id-%06d", n), Collector: "c1", Source: "fw",
		Records: 1, Bytes: int64(len(body)), RawBytes: int64(len(body)),
		SHA256: hex.EncodeToString(sum[:]), Compression: "zstd", ContentType: "application/x-ndjson",
		FirstTime: sealed.Add(-time.Minute), LastTime: sealed, Sealed: sealed,
	}}
}

// FailOpen makes Open of the batch with id fail with err (nil clears).
func (q *Queue) FailOpen(id string, err error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if err == nil {
		delete(q.openErrs, id)
		return
	}
	q.openErrs[id] = err
}

func (q *Queue) Batches() ([]uploader.Batch, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]uploader.Batch(nil), q.batches...), nil
}

func (q *Queue) Open(b uploader.Batch) (io.ReadCloser, error) {
	q.mu.Lock()
	err := q.openErrs[b.Manifest.ID]
	q.mu.Unlock()
	if err != nil {
		return nil, err
	}
	return os.Open(b.Path)
}

func (q *Queue) Remove(b uploader.Batch) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	for i, x := range q.batches {
		if x.Manifest.ID == b.Manifest.ID {
			q.batches = append(q.batches[:i], q.batches[i+1:]...)
			q.removed = append(q.removed, b.Manifest.ID)
			return os.Remove(b.Path)
		}
	}
	return fmt.Errorf("remove %s: %w", b.Manifest.ID, fs.ErrNotExist)
}

func (q *Queue) SealAll() error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.seals++
	q.batches = append(q.batches, q.open...)
	q.open = nil
	return nil
}

// Len is the number of sealed batches not removed.
func (q *Queue) Len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.batches)
}

// Removed lists removed batch ids in order.
func (q *Queue) Removed() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.removed...)
}

// Seals counts SealAll calls.
func (q *Queue) Seals() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.seals
}

// ErrBoom is a generic injected failure.
var ErrBoom = errors.New("injected failure")
