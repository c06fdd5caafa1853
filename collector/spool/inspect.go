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
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/uploader"
)

// FileReport is Verify's finding for one file.
type FileReport struct {
	Path     string
	Kind     string // "batch", "open", "manifest" (without batch) or "unknown"
	Blocks   int    // valid blocks
	Records  int64  // in valid blocks
	RawBytes int64  // in valid blocks
	Bytes    int64  // file size
	Problems []string
}

// OK reports whether the file has no problem.
func (f FileReport) OK() bool { return len(f.Problems) == 0 }

// Report is the result of Verify.
type Report struct {
	Files       []FileReport
	Quarantined []string // files in quarantine/, kept for an operator
}

// OK reports whether every file checked out.
func (r Report) OK() bool {
	for _, f := range r.Files {
		if !f.OK() {
			return false
		}
	}
	return true
}

// Verify checks a spool directory offline and read-only: every batch and
// open segment is decompressed fully, block CRCs and contents checked, and
// each batch compared with its manifest (size, SHA-256, counts, times).
// Problems are reported per file; the error is for an unreadable directory.
// For an open segment a torn tail is reported with what recovery keeps.
func Verify(dir string) (Report, error) {
	var rep Report
	ents, err := readSpoolDirs(dir)
	if err != nil {
		return rep, err
	}
	dec, err := newDecoder()
	if err != nil {
		return rep, err
	}
	defer dec.close()

	batches := map[string]bool{}
	for _, e := range ents[batchDirName] {
		if fn, ok := parseFileName(e); ok && fn.kind == kindBatch {
			batches[fn.base()] = true
		}
	}
	for _, sub := range []string{batchDirName, openDirName} {
		for _, name := range ents[sub] {
			path := filepath.Join(dir, sub, name)
			if strings.HasSuffix(name, tmpSuffix) {
				continue // an interrupted write; removed on open
			}
			fn, ok := parseFileName(name)
			switch {
			case !ok || (sub == openDirName) != (fn.kind == kindOpen):
				rep.Files = append(rep.Files, FileReport{Path: path, Kind: "unknown",
					Problems: []string{"not a spool file (quarantined on open)"}})
			case fn.kind == kindManifest:
				if !batches[fn.base()] {
					rep.Files = append(rep.Files, FileReport{Path: path, Kind: "manifest",
						Problems: []string{"manifest without batch (removed on open)"}})
				}
			default:
				rep.Files = append(rep.Files, verifyFile(path, fn, dec))
			}
		}
	}
	for _, name := range ents[quarDirName] {
		rep.Quarantined = append(rep.Quarantined, filepath.Join(dir, quarDirName, name))
	}
	return rep, nil
}

func verifyFile(path string, fn fileName, dec *decoder) FileReport {
	fr := FileReport{Path: path, Kind: "batch"}
	if fn.kind == kindOpen {
		fr.Kind = "open"
	}
	problem := func(format string, args ...any) {
		fr.Problems = append(fr.Problems, fmt.Sprintf(format, args...))
	}
	f, err := os.Open(path)
	if err != nil {
		problem("cannot open: %v", err)
		return fr
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		problem("cannot stat: %v", err)
		return fr
	}
	fr.Bytes = fi.Size()
	sc, err := scanFile(f, fi.Size(), fn.codec, scanOpts{decode: dec})
	if err != nil {
		problem("read error: %v", err)
		return fr
	}
	fr.Blocks, fr.Records, fr.RawBytes = len(sc.blocks), sc.records, sc.raw
	switch {
	case sc.badAt < 0:
	case sc.torn() && fn.kind == kindOpen:
		problem("torn tail at offset %d (%v); recovery keeps %d blocks, %d records",
			sc.badAt, sc.badWhy, len(sc.blocks), sc.records)
	case sc.torn():
		problem("damaged from offset %d to the end: %v", sc.badAt, sc.badWhy)
	default:
		problem("damaged at offset %d (%v); %d valid blocks with %d records are recoverable",
			sc.badAt, sc.badWhy, len(sc.blocks), sc.records)
	}
	if sc.decodeErr != nil {
		problem("content: %v", sc.decodeErr)
	}
	if fn.kind == kindOpen {
		return fr
	}

	m, _, err := readManifest(filepath.Join(filepath.Dir(path), fn.manifestName()))
	if err != nil {
		problem("manifest: %v (rebuilt from data on open)", err)
		return fr
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		problem("read error: %v", err)
		return fr
	}
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		problem("read error: %v", err)
		return fr
	}
	if sum := hex.EncodeToString(h.Sum(nil)); sum != m.SHA256 {
		problem("sha256 %s does not match manifest %s", sum, m.SHA256)
	}
	if m.Bytes != fr.Bytes {
		problem("size %d does not match manifest %d", fr.Bytes, m.Bytes)
	}
	if m.Records != sc.records || m.RawBytes != sc.raw {
		problem("holds %d records / %d raw bytes, manifest says %d / %d", sc.records, sc.raw, m.Records, m.RawBytes)
	}
	if len(sc.blocks) > 0 && (!m.FirstTime.Equal(time.Unix(0, sc.minTs)) || !m.LastTime.Equal(time.Unix(0, sc.maxTs))) {
		problem("time range does not match manifest")
	}
	if m.Source != fn.source || m.Compression != fn.codec.name {
		problem("manifest source/compression (%s/%s) does not match file name", m.Source, m.Compression)
	}
	return fr
}

// OpenSegment describes an open (unsealed) segment, for listings.
type OpenSegment struct {
	Path        string
	Seq         uint64
	Source      string
	Compression string
	Bytes       int64 // file size
	Blocks      int
	Records     int64
	RawBytes    int64
	FirstTime   time.Time
	LastTime    time.Time
	Modified    time.Time
	// Incomplete is set when the block headers stop before the end of the
	// file: a segment being written, or a torn tail that recovery truncates.
	Incomplete bool
}

// List lists a spool directory read-only: sealed batches (oldest first,
// from their manifests; a batch without a readable manifest has only the
// fields its name and size give) and open segments (from block headers).
func List(dir string) ([]uploader.Batch, []OpenSegment, error) {
	ents, err := readSpoolDirs(dir)
	if err != nil {
		return nil, nil, err
	}
	type seqBatch struct {
		seq uint64
		b   uploader.Batch
	}
	var bs []seqBatch
	for _, name := range ents[batchDirName] {
		fn, ok := parseFileName(name)
		if !ok || fn.kind != kindBatch {
			continue
		}
		path := filepath.Join(dir, batchDirName, name)
		m, _, err := readManifest(filepath.Join(dir, batchDirName, fn.manifestName()))
		if err != nil {
			m = uploader.Manifest{Source: fn.source, Compression: fn.codec.name}
			if fi, err := os.Stat(path); err == nil {
				m.Bytes = fi.Size()
			}
		}
		bs = append(bs, seqBatch{seq: fn.seq, b: uploader.Batch{Manifest: m, Path: path}})
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].seq < bs[j].seq })
	batches := make([]uploader.Batch, len(bs))
	for i := range bs {
		batches[i] = bs[i].b
	}

	var segs []OpenSegment
	for _, name := range ents[openDirName] {
		fn, ok := parseFileName(name)
		if !ok || fn.kind != kindOpen {
			continue
		}
		path := filepath.Join(dir, openDirName, name)
		seg := OpenSegment{Path: path, Seq: fn.seq, Source: fn.source, Compression: fn.codec.name}
		if err := describeSegment(&seg, fn); err != nil {
			seg.Incomplete = true
		}
		segs = append(segs, seg)
	}
	sort.Slice(segs, func(i, j int) bool { return segs[i].Seq < segs[j].Seq })
	return batches, segs, nil
}

func describeSegment(seg *OpenSegment, fn fileName) error {
	f, err := os.Open(seg.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	seg.Bytes, seg.Modified = fi.Size(), fi.ModTime()
	sc, err := headerWalk(f, fi.Size(), fn.codec)
	if err != nil {
		return err
	}
	seg.Blocks, seg.Records, seg.RawBytes = len(sc.blocks), sc.records, sc.raw
	if len(sc.blocks) > 0 {
		seg.FirstTime, seg.LastTime = time.Unix(0, sc.minTs).UTC(), time.Unix(0, sc.maxTs).UTC()
	}
	seg.Incomplete = sc.badAt >= 0
	return nil
}

// readSpoolDirs lists the spool's subdirectories by name; a missing
// subdirectory is empty, a missing spool directory an error.
func readSpoolDirs(dir string) (map[string][]string, error) {
	if fi, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("spool dir: %w", err)
	} else if !fi.IsDir() {
		return nil, fmt.Errorf("spool dir %s: not a directory", dir)
	}
	out := make(map[string][]string, 3)
	for _, sub := range []string{openDirName, batchDirName, quarDirName} {
		ents, err := os.ReadDir(filepath.Join(dir, sub))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return nil, fmt.Errorf("spool dir: %w", err)
		}
		for _, e := range ents {
			out[sub] = append(out[sub], e.Name())
		}
	}
	return out, nil
}
