package spool

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"

	"github.com/cloudscout/cloudscout/uploader"

	"github.com/cloudscout/cloudscout/internal/fsutil"
)

// Batches lists the sealed batches, oldest (lowest sequence number) first.
func (s *Spool) Batches() ([]uploader.Batch, error) {
	s.bmu.Lock()
	es := make([]*entry, 0, len(s.batches))
	for _, e := range s.batches {
		es = append(es, e)
	}
	s.bmu.Unlock()
	sort.Slice(es, func(i, j int) bool { return es[i].seq < es[j].seq })
	out := make([]uploader.Batch, len(es))
	for i, e := range es {
		out[i] = e.batch
	}
	return out, nil
}

// Open opens a batch's body for reading. It first checks the file against
// the manifest's size and SHA-256; a batch that fails is moved to
// quarantine and ErrCorrupt returned, so it is never shipped damaged.
func (s *Spool) Open(b uploader.Batch) (io.ReadCloser, error) {
	s.bmu.Lock()
	e, ok := s.batches[b.Path]
	s.bmu.Unlock()
	if !ok {
		return nil, fmt.Errorf("spool: unknown batch %s: %w", b.Path, fs.ErrNotExist)
	}
	f, err := os.Open(e.batch.Path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			// Deleted behind our back: stop offering it.
			s.forget(e.batch.Path)
			s.log.Error().Str("file", e.batch.Path).Msg("spool batch vanished from disk")
		}
		return nil, fmt.Errorf("spool open batch: %w", err)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("spool read batch %s: %w", e.batch.Path, err)
	}
	m := e.batch.Manifest
	if n != m.Bytes || hex.EncodeToString(h.Sum(nil)) != m.SHA256 {
		_ = f.Close()
		why := fmt.Errorf("%w: %s does not match its manifest (size %d, want %d; or sha256)",
			ErrCorrupt, filepath.Base(e.batch.Path), n, m.Bytes)
		if _, ok := s.forget(e.batch.Path); ok {
			s.quarantineBatch(e.batch.Path, manifestPath(e.batch.Path), why)
		}
		return nil, why
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		_ = f.Close()
		return nil, fmt.Errorf("spool rewind batch: %w", err)
	}
	return &batchBody{f: f, sha: m.SHA256, size: n}, nil
}

// batchBody is a batch file Open has just checked against its manifest.
// It offers what sinks use of an *os.File (Stat, Seek, ReadAt, and WriteTo
// so copies to sockets stay in the kernel), and tells sinks the content is
// verified, so they need not hash it again.
type batchBody struct {
	f    *os.File
	sha  string
	size int64
}

var (
	_ uploader.VerifiedFile = (*batchBody)(nil)
	_ io.ReaderAt           = (*batchBody)(nil)
	_ io.Seeker             = (*batchBody)(nil)
	_ io.WriterTo           = (*batchBody)(nil)
)

func (b *batchBody) Read(p []byte) (int, error)                { return b.f.Read(p) }
func (b *batchBody) ReadAt(p []byte, off int64) (int, error)   { return b.f.ReadAt(p, off) }
func (b *batchBody) Seek(off int64, whence int) (int64, error) { return b.f.Seek(off, whence) }
func (b *batchBody) Stat() (fs.FileInfo, error)                { return b.f.Stat() }
func (b *batchBody) WriteTo(w io.Writer) (int64, error)        { return b.f.WriteTo(w) }
func (b *batchBody) Close() error                              { return b.f.Close() }

// VerifiedFile implements uploader.VerifiedFile.
func (b *batchBody) VerifiedFile() (*os.File, string, int64) { return b.f, b.sha, b.size }

func manifestPath(batchPath string) string { return batchPath + manifestSuffix }

// Remove deletes a delivered batch and its manifest durably, frees its
// quota and wakes Wait. Removing a batch that is already gone is not an
// error.
func (s *Spool) Remove(b uploader.Batch) error {
	if filepath.Dir(b.Path) != s.batchDir {
		return fmt.Errorf("spool: %s is not a batch of this spool", b.Path)
	}
	if fn, ok := parseFileName(filepath.Base(b.Path)); !ok || fn.kind != kindBatch {
		return fmt.Errorf("spool: %s is not a batch file name", b.Path)
	}
	// Batch first: a crash before the manifest goes leaves an orphan
	// manifest (removed on open), never a batch that would ship again.
	if err := os.Remove(b.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool remove batch: %w", err)
	}
	s.forget(b.Path)
	if err := os.Remove(manifestPath(b.Path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("spool remove manifest: %w", err)
	}
	if err := fsutil.SyncDir(s.batchDir); err != nil {
		s.dirtyDirs.Store(true)
		return err
	}
	return nil
}
