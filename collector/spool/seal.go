package spool

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/uploader"

	"github.com/cloudscout/cloudscout/internal/fsutil"
)

// readError marks a failure to read a spool file (as opposed to a failure
// to write the spool's own files), so recovery quarantines it.
type readError struct{ err error }

func (e *readError) Error() string { return e.err.Error() }
func (e *readError) Unwrap() error { return e.err }

// sealFile checks the segment at path block by block and turns it into a
// batch: a torn tail is truncated; damage followed by valid blocks is
// salvaged into a new segment and the original quarantined; a file with no
// valid block at all is quarantined; an empty one removed. It returns the
// sealed batch, or nil if nothing was left to seal. Used for segments found
// on open and for live segments whose in-memory summary may not match the
// file (see sealLive).
func (s *Spool) sealFile(path string, name fileName) (*uploader.Batch, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, &readError{fmt.Errorf("spool open segment: %w", err)}
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, &readError{fmt.Errorf("spool stat segment: %w", err)}
	}
	size := fi.Size()
	sc, err := scanFile(f, size, name.codec, scanOpts{})
	if err != nil {
		return nil, &readError{fmt.Errorf("spool read segment %s: %w", path, err)}
	}
	switch {
	case sc.badAt < 0:
	case sc.torn():
		if sc.badAt == 0 && !startsWithPrefix(f, size, name.codec.prefix) {
			return nil, s.quarantine(path, fmt.Errorf("no valid block: %w", sc.badWhy))
		}
		if err := f.Truncate(sc.badAt); err != nil {
			return nil, fmt.Errorf("spool truncate torn tail of %s: %w", path, err)
		}
		if err := f.Sync(); err != nil {
			return nil, fmt.Errorf("spool fsync %s: %w", path, err)
		}
		s.m.torn.Inc()
		s.log.Warn().Str("file", path).Int64("offset", sc.badAt).
			Int64("dropped_bytes", size-sc.badAt).Int("blocks_kept", len(sc.blocks)).
			AnErr("reason", sc.badWhy).Msg("spool segment had a torn tail; truncated")
	default:
		return s.salvage(f, path, name, sc)
	}
	if len(sc.blocks) == 0 {
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("spool remove empty segment: %w", err)
		}
		s.syncDirs(filepath.Dir(path))
		return nil, nil
	}
	return s.publish(path, name, sc)
}

// sealLive seals a live segment, after its final fsync. While every byte
// in the file is known to be one the spool wrote and hashed (no write or
// fsync error, the file size as counted), the manifest comes from that
// summary; otherwise the file is re-read and checked as on open.
func (s *Spool) sealLive(seg *segment) error {
	if !seg.known || seg.records == 0 {
		s.liveRescans.Add(1)
		_, err := s.sealFile(seg.path, seg.name)
		return err
	}
	fi, err := seg.f.Stat()
	if err != nil || fi.Size() != seg.size {
		s.liveRescans.Add(1)
		_, err := s.sealFile(seg.path, seg.name)
		return err
	}
	sc := &scanResult{
		badAt:   -1,
		records: seg.records,
		raw:     seg.raw,
		valid:   seg.size,
		minTs:   seg.minTs,
		maxTs:   seg.maxTs,
	}
	// Sum leaves the running hash as it is: after a failed seal (retried
	// later) it goes on covering the blocks written meanwhile.
	copy(sc.sha[:], seg.sum.Sum(nil))
	_, err = s.publish(seg.path, seg.name, sc)
	return err
}

// publish writes the manifest described by sc for the segment at path,
// then renames the segment into batches/ and indexes the batch.
func (s *Spool) publish(path string, name fileName, sc *scanResult) (*uploader.Batch, error) {
	m := s.manifest(name, sc)
	data := marshalManifest(m)
	if err := writeFileAtomic(s.batchDir, name.manifestName(), data); err != nil {
		return nil, err
	}
	final := filepath.Join(s.batchDir, name.base())
	if err := os.Rename(path, final); err != nil {
		// An orphan manifest is harmless (removed on open), so best effort.
		_ = os.Remove(filepath.Join(s.batchDir, name.manifestName()))
		return nil, fmt.Errorf("spool seal %s: %w", path, err)
	}
	s.syncDirs(s.batchDir, filepath.Dir(path))
	b := uploader.Batch{Manifest: m, Path: final}
	s.register(name.seq, b, sc.valid+int64(len(data)))
	s.m.sealed.Inc()
	s.log.Debug().Str("key", m.Key).Int64("records", m.Records).Int64("bytes", m.Bytes).Msg("spool batch sealed")
	return &b, nil
}

// salvage copies every valid block of a damaged segment into a new segment
// (new sequence number), quarantines the original, and seals the copy.
// A crash in between leaves both, so the blocks may ship twice: duplicates
// rather than loss.
func (s *Spool) salvage(f *os.File, path string, name fileName, sc *scanResult) (*uploader.Batch, error) {
	nn := fileName{seq: s.seq.Add(1), source: name.source, codec: name.codec, kind: kindOpen}
	npath := filepath.Join(s.openDir, nn.openName())
	tmp := npath + tmpSuffix
	out, err := os.OpenFile(tmp, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("spool salvage: %w", err)
	}
	for _, b := range sc.blocks {
		if _, err = io.Copy(out, io.NewSectionReader(f, b.off, b.size)); err != nil {
			break
		}
	}
	if err == nil {
		err = out.Sync()
	}
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, npath)
	}
	if err != nil {
		_ = os.Remove(tmp) // stale temps are also removed on open
		return nil, fmt.Errorf("spool salvage %s: %w", path, err)
	}
	s.syncDirs(s.openDir)
	s.log.Error().Str("file", path).Str("salvaged_into", npath).Int("blocks", len(sc.blocks)).
		Int64("records", sc.records).Int64("damaged_at", sc.badAt).AnErr("reason", sc.badWhy).
		Msg("spool segment damaged; valid blocks salvaged")
	if err := s.quarantine(path, sc.badWhy); err != nil {
		return nil, err
	}
	return s.sealFile(npath, nn)
}

func startsWithPrefix(r io.ReaderAt, size int64, prefix []byte) bool {
	n := min(size, int64(len(prefix)))
	b := make([]byte, n)
	if _, err := r.ReadAt(b, 0); err != nil && err != io.EOF {
		return false
	}
	return bytes.Equal(b, prefix[:n])
}

// batchID is the stable id of a batch: the same collector, source and
// sequence number always give the same id.
func batchID(collector, source string, seq uint64) string {
	sum := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%012d", collector, source, seq))
	return hex.EncodeToString(sum[:16])
}

func batchKey(collector string, n fileName, first time.Time) string {
	first = first.UTC()
	return fmt.Sprintf("%s/%s/%s/%012d-%s%s", collector, n.source, first.Format("2006/01/02"),
		n.seq, first.Format("20060102T150405Z"), n.codec.ext)
}

func (s *Spool) manifest(n fileName, sc *scanResult) uploader.Manifest {
	first := time.Unix(0, sc.minTs).UTC()
	m := uploader.Manifest{
		Key:         batchKey(s.cfg.Collector, n, first),
		ID:          batchID(s.cfg.Collector, n.source, n.seq),
		Collector:   s.cfg.Collector,
		Source:      n.source,
		Records:     sc.records,
		Bytes:       sc.valid,
		RawBytes:    sc.raw,
		SHA256:      hex.EncodeToString(sc.sha[:]),
		Compression: n.codec.name,
		ContentType: "application/x-ndjson",
		FirstTime:   first,
		LastTime:    time.Unix(0, sc.maxTs).UTC(),
		Sealed:      s.now().UTC(),
	}
	if s.cfg.SealHook != nil {
		m.Parse = s.cfg.SealHook(n.source)
	}
	return m
}

func marshalManifest(m uploader.Manifest) []byte {
	// A Manifest holds only strings, numbers, times and a map of numbers:
	// encoding cannot fail.
	data, _ := json.MarshalIndent(m, "", "  ")
	return append(data, '\n')
}

// maxManifestBytes bounds how much of a file is read as a manifest.
const maxManifestBytes = 1 << 20

func readManifest(path string) (uploader.Manifest, int64, error) {
	var m uploader.Manifest
	f, err := os.Open(path)
	if err != nil {
		return m, 0, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
	if err != nil {
		return m, 0, err
	}
	if len(data) > maxManifestBytes {
		return m, 0, errors.New("manifest too large")
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return m, 0, fmt.Errorf("manifest: %w", err)
	}
	return m, int64(len(data)), nil
}

func (s *Spool) register(seq uint64, b uploader.Batch, disk int64) {
	s.bmu.Lock()
	s.batches[b.Path] = &entry{seq: seq, batch: b, disk: disk}
	s.bmu.Unlock()
	s.sealedBytes.Add(disk)
}

// forget drops a batch from the index, reporting whether it was there.
func (s *Spool) forget(path string) (*entry, bool) {
	s.bmu.Lock()
	e, ok := s.batches[path]
	delete(s.batches, path)
	s.bmu.Unlock()
	if ok {
		s.sealedBytes.Add(-e.disk)
		s.notify()
	}
	return e, ok
}

// syncDirs fsyncs directories after renames. A failure is remembered and
// retried (and reported) by the next Sync: the renames themselves are done.
func (s *Spool) syncDirs(dirs ...string) {
	for _, d := range dirs {
		if err := fsutil.SyncDir(d); err != nil {
			s.dirtyDirs.Store(true)
			s.log.Warn().Err(err).Msg("spool dir fsync failed; will retry")
		}
	}
}

// quarantine moves a file into quarantine/, never deleting it.
func (s *Spool) quarantine(path string, reason error) error {
	return s.quarantineFile(path, reason, true)
}

// quarantineFile moves a file into quarantine/; count is false for a
// manifest following its batch, so the metric counts data files.
func (s *Spool) quarantineFile(path string, reason error, count bool) error {
	dest := uniquePath(s.quarDir, filepath.Base(path))
	if err := os.Rename(path, dest); err != nil {
		return fmt.Errorf("spool quarantine %s: %w", path, err)
	}
	s.syncDirs(filepath.Dir(path), s.quarDir)
	if count {
		s.quarantined.Add(1)
		s.m.quarantined.Inc()
	}
	s.log.Error().Str("file", path).Str("moved_to", dest).AnErr("reason", reason).
		Msg("spool file quarantined")
	return nil
}

// recover brings the directory into a consistent state on open.
func (s *Spool) recover() error {
	lists := make(map[string][]os.DirEntry, 3)
	var maxSeq uint64
	for _, d := range []string{s.openDir, s.batchDir, s.quarDir} {
		ents, err := os.ReadDir(d)
		if err != nil {
			return fmt.Errorf("spool scan: %w", err)
		}
		lists[d] = ents
		for _, e := range ents {
			if seq, ok := leadingSeq(e.Name()); ok && seq > maxSeq {
				maxSeq = seq
			}
		}
	}
	s.seq.Store(max(maxSeq, seqFloor(s.now())))

	manifests := make(map[string]bool)
	var batches []fileName
	for _, e := range lists[s.batchDir] {
		name := e.Name()
		path := filepath.Join(s.batchDir, name)
		if strings.HasSuffix(name, tmpSuffix) {
			s.removeStale(path)
			continue
		}
		fn, ok := parseFileName(name)
		if !ok || fn.kind == kindOpen || !e.Type().IsRegular() {
			s.quarantineOrLog(path, errors.New("not a spool batch file"))
			continue
		}
		if fn.kind == kindManifest {
			manifests[fn.base()] = true
			continue
		}
		batches = append(batches, fn)
	}
	for _, fn := range batches {
		delete(manifests, fn.base())
		s.loadBatch(fn)
	}
	for base := range manifests {
		// Left by a crash during Remove (batch deleted first) or during a
		// seal (the open segment is still there and is sealed below).
		s.removeStale(filepath.Join(s.batchDir, base+manifestSuffix))
	}

	for _, e := range lists[s.openDir] {
		name := e.Name()
		path := filepath.Join(s.openDir, name)
		if strings.HasSuffix(name, tmpSuffix) {
			s.removeStale(path)
			continue
		}
		fn, ok := parseFileName(name)
		if !ok || fn.kind != kindOpen || !e.Type().IsRegular() {
			s.quarantineOrLog(path, errors.New("not a spool segment"))
			continue
		}
		if _, err := os.Lstat(filepath.Join(s.batchDir, fn.base())); err == nil {
			s.quarantineOrLog(path, errors.New("a batch with this name already exists"))
			continue
		}
		if _, err := s.sealFile(path, fn); err != nil {
			var re *readError
			if errors.As(err, &re) {
				s.quarantineOrLog(path, err)
				continue
			}
			// Writing failed (a full disk, say): start anyway and retry
			// the seal at each Sync.
			s.log.Error().Err(err).Str("file", path).Msg("spool could not seal recovered segment; will retry")
			s.addLeftover(path, fn)
		}
	}
	s.syncDirs(s.openDir, s.batchDir)
	return nil
}

func (s *Spool) removeStale(path string) {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Warn().Err(err).Str("file", path).Msg("spool could not remove stale file")
	}
}

func (s *Spool) quarantineOrLog(path string, reason error) {
	if err := s.quarantine(path, reason); err != nil {
		s.log.Error().Err(err).AnErr("reason", reason).Msg("spool could not quarantine file; left in place")
	}
}

// loadBatch indexes one sealed batch found on open, rebuilding a missing
// or unusable manifest from the data, and quarantining a batch whose data
// does not hold up.
func (s *Spool) loadBatch(fn fileName) {
	path := filepath.Join(s.batchDir, fn.base())
	mpath := filepath.Join(s.batchDir, fn.manifestName())
	fi, err := os.Stat(path)
	if err != nil {
		s.log.Error().Err(err).Str("file", path).Msg("spool cannot stat batch; skipped")
		return
	}
	m, msize, merr := readManifest(mpath)
	if merr == nil && m.Bytes == fi.Size() && m.Source == fn.source &&
		m.Compression == fn.codec.name && m.Key != "" && m.ID != "" && m.SHA256 != "" {
		s.register(fn.seq, uploader.Batch{Manifest: m, Path: path}, fi.Size()+msize)
		return
	}
	if merr == nil {
		merr = errors.New("manifest does not match batch")
	}
	// The sealed data is checked fully only here, where the manifest must be
	// rebuilt; otherwise Open checks the SHA-256 before each upload.
	f, err := os.Open(path)
	if err != nil {
		s.quarantineBatch(path, mpath, err)
		return
	}
	sc, err := scanFile(f, fi.Size(), fn.codec, scanOpts{})
	_ = f.Close()
	switch {
	case err != nil:
		s.quarantineBatch(path, mpath, err)
		return
	case sc.badAt >= 0:
		s.quarantineBatch(path, mpath, sc.badWhy)
		return
	case len(sc.blocks) == 0:
		s.quarantineBatch(path, mpath, errors.New("empty batch"))
		return
	}
	m = s.manifest(fn, sc)
	data := marshalManifest(m)
	if err := writeFileAtomic(s.batchDir, fn.manifestName(), data); err != nil {
		// The batch ships with the manifest rebuilt in memory; the next
		// start rebuilds it again.
		s.log.Error().Err(err).Str("file", path).Msg("spool could not write rebuilt manifest")
	}
	s.log.Warn().AnErr("reason", merr).Str("file", path).Msg("spool rebuilt batch manifest from data")
	s.register(fn.seq, uploader.Batch{Manifest: m, Path: path}, fi.Size()+int64(len(data)))
}

func (s *Spool) quarantineBatch(path, mpath string, reason error) {
	s.quarantineOrLog(path, reason)
	if _, err := os.Lstat(mpath); err == nil {
		if err := s.quarantineFile(mpath, reason, false); err != nil {
			s.log.Error().Err(err).Msg("spool could not quarantine manifest; left in place")
		}
	}
}

// addLeftover remembers a recovered segment whose seal failed for a retry.
func (s *Spool) addLeftover(path string, fn fileName) {
	var size int64
	if fi, err := os.Stat(path); err == nil {
		size = fi.Size()
	}
	s.lmu.Lock()
	s.leftover[path] = leftover{name: fn, size: size}
	s.lmu.Unlock()
	s.openBytes.Add(size)
}

// retryLeftovers retries sealing recovered segments. Failures are logged,
// not returned: Sync speaks for records appended in this run only.
func (s *Spool) retryLeftovers() {
	s.lmu.Lock()
	defer s.lmu.Unlock()
	for path, l := range s.leftover {
		if _, err := s.sealFile(path, l.name); err != nil {
			var re *readError
			if !errors.As(err, &re) {
				continue // still failing to write; try again next time
			}
			s.quarantineOrLog(path, err)
		}
		delete(s.leftover, path)
		s.openBytes.Add(-l.size)
	}
}
