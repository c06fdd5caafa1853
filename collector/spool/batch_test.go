package spool

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudscout/cloudscout/uploader"
	_ "github.com/cloudscout/cloudscout/uploader/file" // the file:// sink
)

// batchBase is the event time of record 0 in the AppendBatch tests; record
// n's time jumps around so batches and segments have non-trivial ranges.
var batchBase = time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)

func batchTime(n int) time.Time {
	return batchBase.Add(time.Duration((n*7919)%5000) * time.Second)
}

// batchOf frames records first..first+count-1 of src as AppendBatch wants
// them, returning the records' time range too.
func batchOf(src string, first, count int) (recs []byte, lo, hi time.Time) {
	for n := first; n < first+count; n++ {
		recs = append(recs, record(src, n)...)
		recs = append(recs, '\n')
		ts := batchTime(n)
		if n == first || ts.Before(lo) {
			lo = ts
		}
		if n == first || ts.After(hi) {
			hi = ts
		}
	}
	return recs, lo, hi
}

// rescanManifest builds the manifest of a sealed batch the way recovery
// does, from the file alone.
func rescanManifest(t *testing.T, s *Spool, b uploader.Batch) uploader.Manifest {
	t.Helper()
	fn, ok := parseFileName(filepath.Base(b.Path))
	if !ok || fn.kind != kindBatch {
		t.Fatalf("%s: not a batch name", b.Path)
	}
	f, err := os.Open(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	sc, err := scanFile(f, fi.Size(), fn.codec, scanOpts{})
	if err != nil || sc.badAt >= 0 {
		t.Fatalf("%s: scan: %v %v", b.Path, err, sc.badWhy)
	}
	return s.manifest(fn, sc)
}

// TestSealFromMemoryMatchesRescan: segments sealed from the running
// summary (by size, by SealAll; Append and AppendBatch mixed) get exactly
// the manifest a rescan of the file gives, and no live segment is re-read.
func TestSealFromMemoryMatchesRescan(t *testing.T) {
	for _, comp := range []string{"zstd", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			cfg := testConfig(t, dir)
			cfg.Compression = comp
			cfg.Now = clk.Now
			cfg.SegmentMaxBytes = 48 << 10
			cfg.SealHook = func(source string) map[string]int64 { return map[string]int64{"parsed": 7} }
			s := mustOpen(t, cfg)
			rng := rand.New(rand.NewPCG(1, 2))
			n := map[string]int{}
			for i := range 400 {
				src := []string{"fw", "px"}[i%2]
				if i%3 == 0 {
					if err := s.Append(src, record(src, n[src]), batchTime(n[src])); err != nil {
						t.Fatal(err)
					}
					n[src]++
					continue
				}
				c := 1 + rng.IntN(20)
				recs, lo, hi := batchOf(src, n[src], c)
				if err := s.AppendBatch(src, recs, c, lo, hi); err != nil {
					t.Fatal(err)
				}
				n[src] += c
				if i%50 == 0 {
					if err := s.Sync(); err != nil {
						t.Fatal(err)
					}
				}
			}
			if err := s.SealAll(); err != nil {
				t.Fatal(err)
			}
			bs, err := s.Batches()
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) < 6 {
				t.Fatalf("only %d batches; the test wants several sealed by size", len(bs))
			}
			var records int64
			for _, b := range bs {
				want := rescanManifest(t, s, b)
				if !reflect.DeepEqual(b.Manifest, want) {
					t.Errorf("%s:\nin-memory %+v\nrescan    %+v", filepath.Base(b.Path), b.Manifest, want)
				}
				disk, _, err := readManifest(manifestPath(b.Path))
				if err != nil || !reflect.DeepEqual(disk, want) {
					t.Errorf("%s: manifest file %+v (%v)", filepath.Base(b.Path), disk, err)
				}
				records += b.Manifest.Records
			}
			if records != int64(n["fw"]+n["px"]) {
				t.Errorf("%d records in batches, appended %d", records, n["fw"]+n["px"])
			}
			if r := s.liveRescans.Load(); r != 0 {
				t.Errorf("%d live segments re-read; want none", r)
			}
			if rep, err := Verify(dir); err != nil || !rep.OK() {
				t.Errorf("Verify: %v %+v", err, rep)
			}
		})
	}
}

// TestSealRescansWhenFileDiffers: when the segment file is not the size the
// spool wrote (bytes it did not write), sealing does not trust the summary
// but re-reads the file, cutting the torn tail as recovery would.
func TestSealRescansWhenFileDiffers(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.Now = newClock().Now
	s := mustOpen(t, cfg)
	seg := writeBlocks(t, s, "fw", 3, 10)
	appendFile(t, seg, []byte("junk that no block header describes"))
	if err := s.SealAll(); err != nil {
		t.Fatal(err)
	}
	if r := s.liveRescans.Load(); r != 1 {
		t.Errorf("live rescans = %d, want 1", r)
	}
	bs, _ := s.Batches()
	if len(bs) != 1 {
		t.Fatalf("%d batches", len(bs))
	}
	if !reflect.DeepEqual(bs[0].Manifest, rescanManifest(t, s, bs[0])) || bs[0].Manifest.Records != 30 {
		t.Errorf("manifest %+v does not describe the file", bs[0].Manifest)
	}
	rc, err := s.Open(bs[0])
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	_ = rc.Close()
}

// TestOpenBodyIsVerified: the body Open returns tells sinks the file, size
// and SHA-256 it checked, with the file at its start, and still reads as
// the batch.
func TestOpenBodyIsVerified(t *testing.T) {
	s := mustOpen(t, testConfig(t, t.TempDir()))
	b := sealedBatch(t, s, 100)
	rc, err := s.Open(b)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	vf, ok := rc.(uploader.VerifiedFile)
	if !ok {
		t.Fatalf("Open returned %T, not an uploader.VerifiedFile", rc)
	}
	f, sum, size := vf.VerifiedFile()
	if sum != b.Manifest.SHA256 || size != b.Manifest.Bytes {
		t.Errorf("verified %s/%d, manifest %s/%d", sum, size, b.Manifest.SHA256, b.Manifest.Bytes)
	}
	if off, err := f.Seek(0, io.SeekCurrent); err != nil || off != 0 {
		t.Errorf("file at offset %d (%v), want 0", off, err)
	}
	st, ok := rc.(interface{ Stat() (os.FileInfo, error) })
	if !ok {
		t.Fatal("body has no Stat")
	}
	if fi, err := st.Stat(); err != nil || fi.Size() != size {
		t.Errorf("Stat: %v %v", fi, err)
	}
	got, err := io.ReadAll(rc)
	want, _ := os.ReadFile(b.Path)
	if err != nil || !bytes.Equal(got, want) {
		t.Errorf("body reads %d bytes (%v), file has %d", len(got), err, len(want))
	}
}

// TestOpenBodyToFileSink: a batch goes from Open to a file:// folder (the
// copy from the verified file) byte for byte, and the same again through a
// bandwidth-limited sink (read and hashed on the way).
func TestOpenBodyToFileSink(t *testing.T) {
	s := mustOpen(t, testConfig(t, t.TempDir()))
	b := sealedBatch(t, s, 2000)
	want, err := os.ReadFile(b.Path)
	if err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int64{0, 1 << 30} {
		out := t.TempDir()
		sink, err := uploader.NewSink("file://"+filepath.ToSlash(out), uploader.SinkOptions{BandwidthLimit: limit})
		if err != nil {
			t.Fatal(err)
		}
		rc, err := s.Open(b)
		if err != nil {
			t.Fatal(err)
		}
		m := b.Manifest
		err = sink.Put(context.Background(), m.Key, rc, m.Bytes, m)
		_ = rc.Close()
		if err != nil {
			t.Fatalf("limit %d: Put: %v", limit, err)
		}
		got, err := os.ReadFile(filepath.Join(out, filepath.FromSlash(m.Key)))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("limit %d: stored %d bytes (%v), batch has %d", limit, len(got), err, len(want))
		}
	}
}

// TestAppendBatch: records handed over in batches come out in order, once
// each, in blocks and batches whose time ranges are those of their records,
// and decode with a stock decoder; Append and AppendBatch mix freely.
func TestAppendBatch(t *testing.T) {
	for _, comp := range []string{"zstd", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, dir)
			cfg.Compression = comp
			cfg.SegmentMaxBytes = 64 << 10
			s := mustOpen(t, cfg)
			rng := rand.New(rand.NewPCG(3, 4))
			want := map[string][]string{}
			n := map[string]int{}
			for i := range 300 {
				src := []string{"fw", "px", "dns"}[i%3]
				if rng.IntN(4) == 0 {
					if err := s.Append(src, record(src, n[src]), batchTime(n[src])); err != nil {
						t.Fatal(err)
					}
					want[src] = append(want[src], string(record(src, n[src])))
					n[src]++
					continue
				}
				c := 1 + rng.IntN(40)
				recs, lo, hi := batchOf(src, n[src], c)
				if err := s.AppendBatch(src, recs, c, lo, hi); err != nil {
					t.Fatal(err)
				}
				want[src] = append(want[src], strings.Split(string(recs[:len(recs)-1]), "\n")...)
				n[src] += c
			}
			if err := s.SealAll(); err != nil {
				t.Fatal(err)
			}
			bs, err := s.Batches()
			if err != nil {
				t.Fatal(err)
			}
			got := map[string][]string{}
			for _, b := range bs {
				lines := decodePlain(t, b.Path, comp)
				if int64(len(lines)) != b.Manifest.Records {
					t.Fatalf("%s: %d lines, manifest says %d", b.Path, len(lines), b.Manifest.Records)
				}
				var lo, hi time.Time
				for i, l := range lines {
					var v struct {
						N int `json:"n"`
					}
					if err := json.Unmarshal([]byte(l), &v); err != nil {
						t.Fatal(err)
					}
					ts := batchTime(v.N)
					if i == 0 || ts.Before(lo) {
						lo = ts
					}
					if i == 0 || ts.After(hi) {
						hi = ts
					}
				}
				if !b.Manifest.FirstTime.Equal(lo) || !b.Manifest.LastTime.Equal(hi) {
					t.Errorf("%s: manifest range %v..%v, records %v..%v", filepath.Base(b.Path),
						b.Manifest.FirstTime, b.Manifest.LastTime, lo, hi)
				}
				got[b.Manifest.Source] = append(got[b.Manifest.Source], lines...)
			}
			for src, w := range want {
				if strings.Join(got[src], "\n") != strings.Join(w, "\n") {
					t.Errorf("%s: %d records out, %d in, or out of order", src, len(got[src]), len(w))
				}
			}
			total := int64(n["fw"] + n["px"] + n["dns"])
			if st := s.Stats(); st.Records != total || st.BufferedBytes != 0 || st.OpenBytes != 0 {
				t.Errorf("stats %+v, want %d records", st, total)
			}
			if rep, err := Verify(dir); err != nil || !rep.OK() {
				t.Errorf("Verify: %v %+v", err, rep)
			}
		})
	}
}

// TestAppendBatchRejects: malformed batches are refused whole, with the
// documented errors, and nothing of them is taken.
func TestAppendBatchRejects(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, testConfig(t, dir))
	ok := []byte("{\"a\":1}\n{\"b\":2}\n")
	now := time.Now()
	huge := append(bytes.Repeat([]byte{'x'}, MaxRecordBytes+1), '\n')
	for _, c := range []struct {
		name   string
		src    string
		recs   []byte
		n      int
		lo, hi time.Time
		want   error
	}{
		{"empty", "fw", nil, 0, now, now, ErrInvalidRecord},
		{"n zero", "fw", ok, 0, now, now, ErrInvalidRecord},
		{"n too small", "fw", ok, 1, now, now, ErrInvalidRecord},
		{"n too large", "fw", ok, 3, now, now, ErrInvalidRecord},
		{"no final newline", "fw", ok[:len(ok)-1], 2, now, now, ErrInvalidRecord},
		{"empty line", "fw", []byte("{}\n\n{}\n"), 3, now, now, ErrInvalidRecord},
		{"leading newline", "fw", []byte("\n{}\n"), 2, now, now, ErrInvalidRecord},
		{"only newline", "fw", []byte("\n"), 1, now, now, ErrInvalidRecord},
		{"inverted range", "fw", ok, 2, now, now.Add(-time.Second), ErrInvalidRecord},
		{"huge record", "fw", huge, 1, now, now, ErrRecordTooLarge},
		{"huge batch", "fw", make([]byte, MaxBatchBytes+1), 1, now, now, ErrRecordTooLarge},
		{"bad source", "../x", ok, 2, now, now, nil},
	} {
		err := s.AppendBatch(c.src, c.recs, c.n, c.lo, c.hi)
		if err == nil || (c.want != nil && !errors.Is(err, c.want)) {
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	if st := s.Stats(); st.Records != 0 || st.BufferedBytes != 0 {
		t.Errorf("refused batches left records: %+v", st)
	}
	// Times out of range are clamped as Append does, zero means now.
	if err := s.AppendBatch("fw", ok, 2, time.Time{}, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); err != nil {
		t.Fatal(err)
	}
	if err := s.SealAll(); err != nil {
		t.Fatal(err)
	}
	bs, _ := s.Batches()
	if len(bs) != 1 || bs[0].Manifest.Records != 2 || !bs[0].Manifest.LastTime.Equal(maxTime) ||
		bs[0].Manifest.FirstTime.Before(now) {
		t.Errorf("batches %+v", bs)
	}
}

// TestAppendBatchFull: at the quota AppendBatch refuses the whole batch
// with ErrFull (counted), takes none of it, and takes it after Wait once
// room is freed.
func TestAppendBatchFull(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.QuotaBytes = 256 << 10
	cfg.BlockBytes = 4 << 10
	s := mustOpen(t, cfg)
	next := 0
	var err error
	for range 10000 {
		recs, lo, hi := batchOf("fw", next, 10)
		if err = s.AppendBatch("fw", recs, 10, lo, hi); err != nil {
			break
		}
		next += 10
		if next%500 == 0 {
			if err := s.SealAll(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !errors.Is(err, ErrFull) {
		t.Fatalf("AppendBatch at quota: %v", err)
	}
	if st := s.Stats(); st.Records != int64(next) || !st.Full {
		t.Fatalf("stats at ErrFull %+v, want %d records", st, next)
	}
	if v := testutil.ToFloat64(s.m.full); v != 1 {
		t.Errorf("full rejections = %v, want 1", v)
	}
	if err := s.SealAll(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	woke := make(chan error, 1)
	go func() { woke <- s.Wait(ctx) }()
	bs, _ := s.Batches()
	for _, b := range bs {
		if err := s.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-woke; err != nil {
		t.Fatalf("Wait: %v", err)
	}
	recs, lo, hi := batchOf("fw", next, 10)
	if err := s.AppendBatch("fw", recs, 10, lo, hi); err != nil {
		t.Fatalf("AppendBatch after Wait: %v", err)
	}
	if c := countN(t, allLines(t, s))["fw"]; len(c) != 10 || c[next] != 1 || c[next+9] != 1 {
		t.Errorf("after Wait the batch holds %v", c)
	}
}

// TestConcurrentAppendBatch: workers hand over batches to shared sources
// while Run group-commits and seals; every record lands exactly once.
func TestConcurrentAppendBatch(t *testing.T) {
	const per = 3000
	s, _ := runConcurrent(t, 6, per, func(s *Spool, src string, w int) error {
		rng := rand.New(rand.NewPCG(uint64(w), 9))
		for i := 0; i < per; {
			c := min(1+rng.IntN(60), per-i)
			recs, lo, hi := batchOf(src, w*per+i, c)
			if err := s.AppendBatch(src, recs, c, lo, hi); err != nil {
				return err
			}
			i += c
			if rng.IntN(30) == 0 {
				if err := s.Sync(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if r := s.liveRescans.Load(); r != 0 {
		t.Errorf("%d live segments re-read; want none", r)
	}
}

// TestChecksummedFramesStillRead: segments and batches written before the
// zstd frame checksum was dropped (frames with it) are recovered, verified,
// opened and decoded like new ones, also mixed with new blocks.
func TestChecksummedFramesStillRead(t *testing.T) {
	dir := t.TempDir()
	old := mustOpen(t, testConfig(t, dir))
	old.enc = refEncoder(t)
	for i := range 200 {
		if err := old.Append("fw", record("fw", i), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.SealAll(); err != nil { // a sealed old batch
		t.Fatal(err)
	}
	for i := 200; i < 300; i++ {
		if err := old.Append("fw", record("fw", i), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := old.Sync(); err != nil { // and an open segment of old blocks
		t.Fatal(err)
	}

	s := mustOpen(t, testConfig(t, dir)) // recovery seals the open segment
	for i := 300; i < 400; i++ {
		if err := s.Append("fw", record("fw", i), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	c := countN(t, allLines(t, s))["fw"]
	for i := range 400 {
		if c[i] != 1 {
			t.Fatalf("record %d seen %d times", i, c[i])
		}
	}
	bs, _ := s.Batches()
	if len(bs) != 3 {
		t.Fatalf("%d batches, want 3", len(bs))
	}
	for _, b := range bs {
		rc, err := s.Open(b)
		if err != nil {
			t.Fatalf("Open %s: %v", filepath.Base(b.Path), err)
		}
		_ = rc.Close()
	}
	if rep, err := Verify(dir); err != nil || !rep.OK() {
		t.Errorf("Verify: %v %+v", err, rep)
	}
}

// sealedBatch appends n records of source fw, seals, and returns the one
// batch that makes.
func sealedBatch(t *testing.T, s *Spool, n int) uploader.Batch {
	t.Helper()
	for i := range n {
		if err := s.Append("fw", record("fw", i), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SealAll(); err != nil {
		t.Fatal(err)
	}
	bs, _ := s.Batches()
	if len(bs) != 1 {
		t.Fatalf("%d batches", len(bs))
	}
	return bs[0]
}
