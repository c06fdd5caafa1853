package spool

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/cloudscout/cloudscout/uploader"
)

func TestRoundTrip(t *testing.T) {
	for _, comp := range []string{"zstd", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			dir := t.TempDir()
			clk := newClock()
			cfg := testConfig(t, dir)
			cfg.Compression = comp
			cfg.Now = clk.Now
			cfg.SealHook = func(source string) map[string]int64 {
				return map[string]int64{"parsed": int64(len(source))}
			}
			s := mustOpen(t, cfg)

			base := time.Date(2026, 11, 28, 9, 15, 7, 0, time.UTC)
			want := map[string][]string{}
			for i := range 3000 {
				src := []string{"fw-hq", "proxy.dc1"}[i%2]
				rec := record(src, i)
				ts := base.Add(time.Duration(i) * time.Second)
				if err := s.Append(src, rec, ts); err != nil {
					t.Fatal(err)
				}
				want[src] = append(want[src], string(rec))
			}
			if err := s.SealAll(); err != nil {
				t.Fatal(err)
			}
			bs, err := s.Batches()
			if err != nil {
				t.Fatal(err)
			}
			if len(bs) != 2 {
				t.Fatalf("got %d batches, want 2", len(bs))
			}
			ext := map[string]string{"zstd": ".jsonl.zst", "gzip": ".jsonl.gz"}[comp]
			keyRE := regexp.MustCompile(`^cs-01/(fw-hq|proxy\.dc1)/2026/11/28/\d{12}-20261128T0915(07|08)Z` + regexp.QuoteMeta(ext) + `$`)
			for _, b := range bs {
				m := b.Manifest
				lines := decodePlain(t, b.Path, comp)
				if strings.Join(lines, "\n") != strings.Join(want[m.Source], "\n") {
					t.Fatalf("%s: content differs from what was appended", m.Source)
				}
				data, err := os.ReadFile(b.Path)
				if err != nil {
					t.Fatal(err)
				}
				sum := sha256.Sum256(data)
				if m.SHA256 != hex.EncodeToString(sum[:]) || m.Bytes != int64(len(data)) {
					t.Errorf("manifest sha/size do not match the file")
				}
				if !keyRE.MatchString(m.Key) {
					t.Errorf("key %q", m.Key)
				}
				if m.Records != 1500 || m.Compression != comp || m.ContentType != "application/x-ndjson" ||
					m.Collector != "cs-01" || len(m.ID) != 32 {
					t.Errorf("manifest fields: %+v", m)
				}
				var raw int64
				for _, l := range want[m.Source] {
					raw += int64(len(l)) + 1
				}
				if m.RawBytes != raw {
					t.Errorf("raw bytes %d, want %d", m.RawBytes, raw)
				}
				first := base
				if m.Source == "proxy.dc1" {
					first = base.Add(time.Second)
				}
				if !m.FirstTime.Equal(first) || !m.LastTime.Equal(first.Add(2998*time.Second)) {
					t.Errorf("time range %v..%v", m.FirstTime, m.LastTime)
				}
				if !m.Sealed.Equal(clk.Now()) || m.Parse["parsed"] != int64(len(m.Source)) {
					t.Errorf("sealed %v parse %v", m.Sealed, m.Parse)
				}
				// The manifest sidecar on disk says the same.
				disk, _, err := readManifest(b.Path + manifestSuffix)
				if err != nil || disk.Key != m.Key || disk.SHA256 != m.SHA256 {
					t.Errorf("manifest file: %v %+v", err, disk)
				}
				// Open gives the same bytes.
				rc, err := s.Open(b)
				if err != nil {
					t.Fatal(err)
				}
				got, err := io.ReadAll(rc)
				_ = rc.Close()
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("Open returned different bytes (%v)", err)
				}
				// And the stock command-line tool decodes it too.
				tool := map[string]string{"zstd": "zstd", "gzip": "gzip"}[comp]
				if p, err := exec.LookPath(tool); err == nil {
					out, err := exec.Command(p, "-dc", b.Path).Output()
					if err != nil {
						t.Fatalf("%s -dc: %v", tool, err)
					}
					if !bytes.Equal(out, []byte(strings.Join(want[m.Source], "\n")+"\n")) {
						t.Fatalf("%s -dc output differs", tool)
					}
				}
			}
			if st := s.Stats(); st.Records != 3000 || st.SealedBatches != 2 || st.OpenBytes != 0 || st.BufferedBytes != 0 {
				t.Errorf("stats %+v", st)
			}
			rep, err := Verify(dir)
			if err != nil || !rep.OK() || len(rep.Files) != 2 {
				t.Fatalf("Verify: %v %+v", err, rep)
			}
		})
	}
}

func TestValidation(t *testing.T) {
	dir := t.TempDir()
	for name, mod := range map[string]func(*Config){
		"no dir":          func(c *Config) { c.Dir = "" },
		"bad collector":   func(c *Config) { c.Collector = "a/b" },
		"bad compression": func(c *Config) { c.Compression = "lz4" },
		"negative quota":  func(c *Config) { c.QuotaBytes = -1 },
		"huge block":      func(c *Config) { c.BlockBytes = 1 << 30 },
	} {
		cfg := testConfig(t, dir)
		mod(&cfg)
		if _, err := Open(cfg); err == nil {
			t.Errorf("%s: Open succeeded", name)
		}
	}
	s := mustOpen(t, testConfig(t, dir))
	for _, src := range []string{"", "../x", "a/b", ".hidden", "x y", strings.Repeat("a", 101)} {
		if err := s.Append(src, []byte(`{}`), time.Time{}); err == nil {
			t.Errorf("source %q accepted", src)
		}
	}
	for _, rec := range []string{"", "{\"a\":1}\n", "{\n}"} {
		if err := s.Append("ok", []byte(rec), time.Time{}); !errors.Is(err, ErrInvalidRecord) {
			t.Errorf("record %q: %v", rec, err)
		}
	}
	if err := s.Append("ok", make([]byte, MaxRecordBytes+1), time.Time{}); !errors.Is(err, ErrRecordTooLarge) {
		t.Errorf("huge record: %v", err)
	}
	// A second spool on the same registry cannot register its metrics.
	cfg := testConfig(t, t.TempDir())
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	mustOpen(t, cfg)
	if _, err := Open(cfg); err == nil {
		t.Error("duplicate metrics registration not reported")
	}
}

func TestMetricsNames(t *testing.T) {
	cfg := testConfig(t, t.TempDir())
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	s := mustOpen(t, cfg)
	if err := s.Append("fw", record("fw", 1), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SealAll(); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, mf := range mfs {
		got[mf.GetName()] = true
	}
	for _, n := range []string{
		"cloudscout_spool_bytes", "cloudscout_spool_batches_pending", "cloudscout_spool_records_appended_total",
		"cloudscout_spool_batches_sealed_total", "cloudscout_spool_torn_tails_truncated_total",
		"cloudscout_spool_segments_quarantined_total", "cloudscout_spool_full_rejections_total",
		"cloudscout_spool_fsync_duration_seconds", "cloudscout_spool_quota_bytes",
	} {
		if !got[n] {
			t.Errorf("metric %s missing", n)
		}
	}
	if v := testutil.ToFloat64(s.m.sealed); v != 1 {
		t.Errorf("sealed = %v", v)
	}
}

func TestSealBySize(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.BlockBytes = 4 << 10
	cfg.SegmentMaxBytes = 32 << 10
	s := mustOpen(t, cfg)
	var raw int64
	const n = 2000
	for i := range n {
		rec := record("fw", i)
		raw += int64(len(rec)) + 1
		if err := s.Append("fw", rec, time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	bs, _ := s.Batches()
	if min := int(raw / (40 << 10)); len(bs) < min {
		t.Fatalf("%d batches sealed by size, want at least %d", len(bs), min)
	}
	for _, b := range bs {
		if b.Manifest.RawBytes < cfg.SegmentMaxBytes || b.Manifest.RawBytes > cfg.SegmentMaxBytes+8<<10 {
			t.Errorf("batch raw size %d, want about %d", b.Manifest.RawBytes, cfg.SegmentMaxBytes)
		}
	}
	// Oldest first, by sequence number.
	for i := 1; i < len(bs); i++ {
		if filepath.Base(bs[i-1].Path) >= filepath.Base(bs[i].Path) {
			t.Errorf("batches out of order: %s, %s", bs[i-1].Path, bs[i].Path)
		}
	}
	counts := countN(t, allLines(t, s))["fw"]
	for i := range n {
		if counts[i] != 1 {
			t.Fatalf("record %d seen %d times", i, counts[i])
		}
	}
}

func TestSealByAge(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	cfg := testConfig(t, dir)
	cfg.Now = clk.Now
	cfg.SegmentMaxAge = time.Minute
	cfg.SyncInterval = 5 * time.Millisecond
	s := mustOpen(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	}()

	if err := s.Append("fw", record("fw", 1), time.Time{}); err != nil {
		t.Fatal(err)
	}
	// The group commit writes the record into an open segment...
	waitFor(t, "group commit", func() bool { return s.Stats().OpenBytes > 0 })
	clk.Advance(59 * time.Second)
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	// ...which is not sealed before its age is reached...
	if st := s.Stats(); st.SealedBatches != 0 {
		t.Fatalf("sealed too early: %+v", st)
	}
	// ...and is once it is, by Run alone.
	clk.Advance(time.Second)
	waitFor(t, "age seal", func() bool { return s.Stats().SealedBatches == 1 })
	if st := s.Stats(); st.OpenBytes != 0 || !st.OldestBatch.Equal(clk.Now()) {
		t.Errorf("stats after age seal: %+v", st)
	}
}

func TestRunSealsOnCancel(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, testConfig(t, dir))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for i := range 100 {
		if err := s.Append("fw", record("fw", i), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.SealedBatches != 1 || st.OpenBytes != 0 || st.BufferedBytes != 0 {
		t.Fatalf("after Run returned: %+v", st)
	}
	if len(openSegments(t, dir)) != 0 {
		t.Fatal("open segments left after Run returned")
	}
}

func TestQuotaFullWaitRemove(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.QuotaBytes = 256 << 10
	cfg.BlockBytes = 4 << 10
	s := mustOpen(t, cfg)

	// Incompressible-ish records so the quota fills quickly.
	rec := func(i int) []byte {
		var hs []byte
		for j := range 4 {
			h := sha256.Sum256(fmt.Appendf(nil, "%d/%d", i, j))
			hs = hex.AppendEncode(hs, h[:])
		}
		return fmt.Appendf(nil, `{"n":%d,"h":"%s"}`, i, hs)
	}
	// Fill to the quota twice: once into buffers and segments, then (after
	// sealing, which turns buffered reservations into smaller compressed
	// files) again, so the spool is full with sealed batches on disk.
	var taken, rejections int
	fill := func() {
		t.Helper()
		for {
			err := s.Append("fw", rec(taken), time.Time{})
			if errors.Is(err, ErrFull) {
				rejections++
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if taken++; taken > 100000 {
				t.Fatal("quota never reached")
			}
		}
	}
	fill()
	st := s.Stats()
	if !st.Full || st.OpenBytes+st.SealedBytes+st.BufferedBytes < cfg.QuotaBytes {
		t.Fatalf("stats at ErrFull: %+v", st)
	}
	if err := s.SealAll(); err != nil {
		t.Fatal(err)
	}
	fill()
	if err := s.Append("fw", rec(taken), time.Time{}); !errors.Is(err, ErrFull) {
		t.Fatalf("Append on a full spool: %v", err)
	}
	rejections++
	if v := testutil.ToFloat64(s.m.full); v != float64(rejections) {
		t.Errorf("full rejections = %v, want %d", v, rejections)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	woke := make(chan error, 1)
	go func() { woke <- s.Wait(ctx) }()
	select {
	case err := <-woke:
		t.Fatalf("Wait returned while full: %v", err)
	case <-time.After(50 * time.Millisecond):
	}
	bs, _ := s.Batches()
	if len(bs) == 0 {
		t.Fatal("no batches")
	}
	// Deliver (remove) the batches: Wait must wake without any tick.
	for _, b := range bs {
		if err := s.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case err := <-woke:
		if err != nil {
			t.Fatalf("Wait: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait did not wake after Remove")
	}
	if err := s.Append("fw", rec(taken), time.Time{}); err != nil {
		t.Fatalf("Append after Remove: %v", err)
	}
	if st := s.Stats(); st.SealedBatches != 0 || st.SealedBytes != 0 {
		t.Errorf("after removing all: %+v", st)
	}
	if len(dirNames(t, filepath.Join(dir, batchDirName))) != 0 {
		t.Error("batch or manifest files left after Remove")
	}
	// Removing again is fine; Wait on a spool with room returns at once.
	if err := s.Remove(bs[0]); err != nil {
		t.Errorf("second Remove: %v", err)
	}
	if err := s.Wait(ctx); err != nil {
		t.Error(err)
	}
	// Wait honours its context.
	short, cancel2 := context.WithCancel(context.Background())
	cancel2()
	for s.Append("fw", rec(taken), time.Time{}) == nil {
		taken++
	}
	if err := s.Wait(short); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait on cancelled ctx: %v", err)
	}
	if err := s.Remove(uploader.Batch{Path: "/etc/passwd"}); err == nil {
		t.Error("Remove of a foreign path succeeded")
	}
}

// writeBlocks appends n records per block, syncing after each block so
// each lands as its own block, and returns the open segment's path.
func writeBlocks(t *testing.T, s *Spool, src string, blocks, perBlock int) string {
	t.Helper()
	n := 0
	for range blocks {
		for range perBlock {
			if err := s.Append(src, record(src, n), time.Time{}); err != nil {
				t.Fatal(err)
			}
			n++
		}
		if err := s.Sync(); err != nil {
			t.Fatal(err)
		}
	}
	segs := openSegments(t, s.cfg.Dir)
	if len(segs) != 1 {
		t.Fatalf("want 1 open segment, got %v", segs)
	}
	return segs[0]
}

func TestTornTailRecovery(t *testing.T) {
	for _, comp := range []string{"zstd", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, dir)
			cfg.Compression = comp
			s := mustOpen(t, cfg)
			seg := writeBlocks(t, s, "fw", 4, 50)
			fi, _ := os.Stat(seg)
			f, _ := os.Open(seg)
			sc, err := scanFile(f, fi.Size(), s.codec, scanOpts{})
			_ = f.Close()
			if err != nil || len(sc.blocks) != 4 || sc.badAt >= 0 {
				t.Fatalf("scan before crash: %v %+v", err, sc)
			}
			// Simulate a crash in the middle of writing the last block:
			// cut it short and leave junk behind.
			last := sc.blocks[3]
			if err := os.Truncate(seg, last.off+last.size/2); err != nil {
				t.Fatal(err)
			}
			appendFile(t, seg, bytes.Repeat([]byte{0xAB, 0x00, 0x17}, 700))

			cfg2 := testConfig(t, dir)
			cfg2.Compression = comp
			s2 := mustOpen(t, cfg2)
			if v := testutil.ToFloat64(s2.m.torn); v != 1 {
				t.Errorf("torn tails counted %v, want 1", v)
			}
			if v := testutil.ToFloat64(s2.m.quarantined); v != 0 {
				t.Errorf("quarantined %v, want 0", v)
			}
			counts := countN(t, allLines(t, s2))["fw"]
			if len(counts) != 150 {
				t.Fatalf("kept %d records, want the 150 of the 3 complete blocks", len(counts))
			}
			for i := range 150 {
				if counts[i] != 1 {
					t.Fatalf("record %d seen %d times", i, counts[i])
				}
			}
			if len(openSegments(t, dir)) != 0 {
				t.Error("recovered segment not sealed")
			}
			if rep, err := Verify(dir); err != nil || !rep.OK() {
				t.Errorf("Verify after recovery: %v %+v", err, rep)
			}
		})
	}
}

func appendFile(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestTornFirstBlockRemoved(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, testConfig(t, dir))
	seg := writeBlocks(t, s, "fw", 1, 10)
	if err := os.Truncate(seg, 20); err != nil { // inside the first header
		t.Fatal(err)
	}
	s2 := mustOpen(t, testConfig(t, dir))
	if v := testutil.ToFloat64(s2.m.torn); v != 1 {
		t.Errorf("torn = %v", v)
	}
	if st := s2.Stats(); st.SealedBatches != 0 || st.Quarantined != 0 {
		t.Errorf("stats %+v", st)
	}
	if len(openSegments(t, dir)) != 0 || len(dirNames(t, filepath.Join(dir, quarDirName))) != 0 {
		t.Error("empty torn segment should simply be removed")
	}
}

func TestGarbageQuarantined(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, testConfig(t, dir))
	writeBlocks(t, s, "good", 2, 20)

	junk := bytes.Repeat([]byte("not a segment at all "), 500)
	mustWrite(t, filepath.Join(dir, openDirName, "000000000007-fw.jsonl.zst.open"), junk)
	mustWrite(t, filepath.Join(dir, batchDirName, "000000000008-fw.jsonl.gz"), junk)
	mustWrite(t, filepath.Join(dir, openDirName, "stray-file.txt"), []byte("x"))
	mustWrite(t, filepath.Join(dir, openDirName, "000000000009-fw.jsonl.zst.open.123.tmp"), junk)
	// A manifest whose batch was removed just before a crash.
	mustWrite(t, filepath.Join(dir, batchDirName, "000000000006-fw.jsonl.zst.json"), []byte("{}"))

	s2 := mustOpen(t, testConfig(t, dir))
	q := dirNames(t, filepath.Join(dir, quarDirName))
	want := []string{"000000000007-fw.jsonl.zst.open", "000000000008-fw.jsonl.gz", "stray-file.txt"}
	if strings.Join(q, ",") != strings.Join(want, ",") {
		t.Errorf("quarantine holds %v, want %v", q, want)
	}
	if v := testutil.ToFloat64(s2.m.quarantined); v != 3 {
		t.Errorf("quarantined metric %v", v)
	}
	if len(openSegments(t, dir)) != 0 {
		t.Error("open dir not cleaned")
	}
	for _, n := range dirNames(t, filepath.Join(dir, batchDirName)) {
		if strings.HasPrefix(n, "000000000006-") {
			t.Error("orphan manifest not removed")
		}
	}
	if _, err := os.Stat(filepath.Join(dir, openDirName, "000000000009-fw.jsonl.zst.open.123.tmp")); !os.IsNotExist(err) {
		t.Error("stale temp file not removed")
	}
	// The good segment was recovered and sealed.
	if c := countN(t, allLines(t, s2))["good"]; len(c) != 40 {
		t.Errorf("good records %d, want 40", len(c))
	}
	rep, err := Verify(dir)
	if err != nil || !rep.OK() || len(rep.Quarantined) != 3 {
		t.Errorf("Verify: %v %+v", err, rep)
	}
}

func mustWrite(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o640); err != nil {
		t.Fatal(err)
	}
}

func TestCorruptMiddleSalvaged(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, testConfig(t, dir))
	seg := writeBlocks(t, s, "fw", 3, 40)
	fi, _ := os.Stat(seg)
	f, _ := os.Open(seg)
	sc, _ := scanFile(f, fi.Size(), zstdCodec, scanOpts{})
	_ = f.Close()
	mid := sc.blocks[1]
	flipByte(t, seg, mid.off+mid.size-5)

	s2 := mustOpen(t, testConfig(t, dir))
	if v := testutil.ToFloat64(s2.m.quarantined); v != 1 {
		t.Errorf("quarantined %v, want 1", v)
	}
	if v := testutil.ToFloat64(s2.m.torn); v != 0 {
		t.Errorf("damage in the middle counted as torn tail")
	}
	counts := countN(t, allLines(t, s2))["fw"]
	for i := range 120 {
		want := 1
		if i >= 40 && i < 80 {
			want = 0 // the damaged block
		}
		if counts[i] != want {
			t.Fatalf("record %d seen %d times, want %d", i, counts[i], want)
		}
	}
	if q := dirNames(t, filepath.Join(dir, quarDirName)); len(q) != 1 || q[0] != filepath.Base(seg) {
		t.Errorf("quarantine holds %v", q)
	}
	bs, _ := s2.Batches()
	if len(bs) != 1 || bs[0].Path == filepath.Join(dir, batchDirName, strings.TrimSuffix(filepath.Base(seg), openSuffix)) {
		t.Errorf("salvaged batch must take a new sequence number: %v", bs)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0x40
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func TestSeqNeverCollides(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	open := func() *Spool {
		cfg := testConfig(t, dir)
		cfg.Now = clk.Now
		return mustOpen(t, cfg)
	}
	seqOf := func(b uploader.Batch) uint64 {
		fn, ok := parseFileName(filepath.Base(b.Path))
		if !ok {
			t.Fatalf("bad name %s", b.Path)
		}
		return fn.seq
	}

	s1 := open()
	if err := s1.Append("fw", record("fw", 1), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s1.SealAll(); err != nil {
		t.Fatal(err)
	}
	// A segment left open by a "crash".
	writeBlocks(t, s1, "fw", 1, 5)
	b1, _ := s1.Batches()
	first := seqOf(b1[0])
	if first != seqFloor(clk.Now())+1 {
		t.Errorf("first seq %d, want floor+1 = %d", first, seqFloor(clk.Now())+1)
	}

	// The clock stepped back: the numbers on disk still win.
	clk.Advance(-time.Hour)
	s2 := open()
	if err := s2.Append("fw", record("fw", 2), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s2.SealAll(); err != nil {
		t.Fatal(err)
	}
	bs, _ := s2.Batches()
	if len(bs) != 3 {
		t.Fatalf("want 3 batches (sealed, recovered, new), got %d", len(bs))
	}
	seen := map[uint64]bool{}
	keys := map[string]bool{}
	for _, b := range bs {
		if seen[seqOf(b)] || keys[b.Manifest.Key] || keys[b.Manifest.ID] {
			t.Fatalf("duplicate seq/key/id: %v", bs)
		}
		seen[seqOf(b)], keys[b.Manifest.Key], keys[b.Manifest.ID] = true, true, true
	}
	last := seqOf(bs[2])
	if last <= first+1 {
		t.Errorf("new seq %d does not follow %d", last, first)
	}

	// Drained spool, clock moves on: numbers keep rising with nothing on disk.
	for _, b := range bs {
		if err := s2.Remove(b); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(time.Hour + time.Second)
	s3 := open()
	if err := s3.Append("fw", record("fw", 3), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s3.SealAll(); err != nil {
		t.Fatal(err)
	}
	b3, _ := s3.Batches()
	if got := seqOf(b3[0]); got <= last {
		t.Errorf("seq after drained restart %d, not above %d", got, last)
	}
}

func TestConcurrentAppend(t *testing.T) {
	const per = 3000
	_, dir := runConcurrent(t, 8, per, func(s *Spool, src string, w int) error {
		for i := range per {
			if err := s.Append(src, record(src, w*per+i), time.Time{}); err != nil {
				return err
			}
			if i%700 == 0 {
				if err := s.Sync(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if rep, err := Verify(dir); err != nil || !rep.OK() {
		t.Errorf("Verify: %v %+v", err, rep)
	}
}

func TestSyncSurvivesReopen(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, testConfig(t, dir))
	for i := range 500 {
		if err := s.Append("fw", record("fw", i), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Sync(); err != nil {
		t.Fatal(err)
	}
	// No Run, no SealAll: the first spool is simply abandoned, as in a crash.
	s2 := mustOpen(t, testConfig(t, dir))
	counts := countN(t, allLines(t, s2))["fw"]
	for i := range 500 {
		if counts[i] != 1 {
			t.Fatalf("record %d seen %d times after reopen", i, counts[i])
		}
	}
}

func TestKeyAndIDStable(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	cfg := testConfig(t, dir)
	cfg.Now = clk.Now
	s := mustOpen(t, cfg)
	if err := s.Append("fw", record("fw", 1), time.Date(2026, 2, 3, 4, 5, 6, 7, time.FixedZone("x", 3600))); err != nil {
		t.Fatal(err)
	}
	if err := s.SealAll(); err != nil {
		t.Fatal(err)
	}
	bs, _ := s.Batches()
	m := bs[0].Manifest
	seq := seqFloor(clk.Now()) + 1
	wantKey := fmt.Sprintf("cs-01/fw/2026/02/03/%012d-20260203T030506Z.jsonl.zst", seq)
	if m.Key != wantKey {
		t.Errorf("key %q, want %q", m.Key, wantKey)
	}
	if m.ID != batchID("cs-01", "fw", seq) {
		t.Errorf("id %q", m.ID)
	}

	// Reopen: same key and id from the manifest...
	clk.Advance(time.Hour)
	cfg.Registerer = prometheus.NewRegistry()
	s2 := mustOpen(t, cfg)
	bs2, _ := s2.Batches()
	if bs2[0].Manifest.Key != m.Key || bs2[0].Manifest.ID != m.ID || bs2[0].Manifest.SHA256 != m.SHA256 {
		t.Errorf("after reopen: %+v", bs2[0].Manifest)
	}
	// ...and when the manifest was lost, rebuilt from the data.
	if err := os.Remove(bs[0].Path + manifestSuffix); err != nil {
		t.Fatal(err)
	}
	cfg.Registerer = prometheus.NewRegistry()
	s3 := mustOpen(t, cfg)
	bs3, _ := s3.Batches()
	r := bs3[0].Manifest
	if r.Key != m.Key || r.ID != m.ID || r.SHA256 != m.SHA256 || r.Records != 1 || !r.FirstTime.Equal(m.FirstTime) {
		t.Errorf("rebuilt manifest %+v, want %+v", r, m)
	}
	if _, _, err := readManifest(bs[0].Path + manifestSuffix); err != nil {
		t.Errorf("rebuilt manifest not written: %v", err)
	}
	// A different collector, source or seq gives a different id.
	if batchID("cs-02", "fw", seq) == m.ID || batchID("cs-01", "fw2", seq) == m.ID || batchID("cs-01", "fw", seq+1) == m.ID {
		t.Error("id not specific")
	}
}

func TestVerifyAndOpenDetectFlip(t *testing.T) {
	for _, comp := range []string{"zstd", "gzip"} {
		t.Run(comp, func(t *testing.T) {
			dir := t.TempDir()
			cfg := testConfig(t, dir)
			cfg.Compression = comp
			s := mustOpen(t, cfg)
			for i := range 300 {
				if err := s.Append("fw", record("fw", i), time.Time{}); err != nil {
					t.Fatal(err)
				}
			}
			if err := s.SealAll(); err != nil {
				t.Fatal(err)
			}
			writeBlocks(t, s, "px", 2, 10) // and an open segment
			rep, err := Verify(dir)
			if err != nil || !rep.OK() || len(rep.Files) != 2 {
				t.Fatalf("Verify clean: %v %+v", err, rep)
			}
			bs, _ := s.Batches()
			flipByte(t, bs[0].Path, bs[0].Manifest.Bytes/2)
			rep, err = Verify(dir)
			if err != nil {
				t.Fatal(err)
			}
			if rep.OK() {
				t.Fatal("Verify missed a flipped byte")
			}
			for _, f := range rep.Files {
				if (f.Path == bs[0].Path) == f.OK() {
					t.Errorf("%s: problems %v", f.Path, f.Problems)
				}
			}
			// The uploader never gets the damaged batch.
			if _, err := s.Open(bs[0]); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("Open of damaged batch: %v", err)
			}
			if left, _ := s.Batches(); len(left) != 0 {
				t.Errorf("damaged batch still listed")
			}
			if q := dirNames(t, filepath.Join(dir, quarDirName)); len(q) != 2 {
				t.Errorf("quarantine holds %v, want batch and manifest", q)
			}
			if v := testutil.ToFloat64(s.m.quarantined); v != 1 {
				t.Errorf("quarantined = %v", v)
			}
		})
	}
}

func TestVerifyReportsTornOpenSegment(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, testConfig(t, dir))
	seg := writeBlocks(t, s, "fw", 2, 10)
	fi, _ := os.Stat(seg)
	if err := os.Truncate(seg, fi.Size()-3); err != nil {
		t.Fatal(err)
	}
	rep, err := Verify(dir)
	if err != nil || len(rep.Files) != 1 || rep.OK() || !strings.Contains(rep.Files[0].Problems[0], "torn tail") ||
		rep.Files[0].Records != 10 {
		t.Fatalf("Verify: %v %+v", err, rep)
	}
	if _, err := Verify(filepath.Join(dir, "missing")); err == nil {
		t.Error("Verify of a missing dir succeeded")
	}
}

func TestList(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, testConfig(t, dir))
	for i := range 50 {
		if err := s.Append("fw", record("fw", i), time.Time{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.SealAll(); err != nil {
		t.Fatal(err)
	}
	writeBlocks(t, s, "px", 3, 7)
	bs, segs, err := List(dir)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := s.Batches()
	if len(bs) != 1 || bs[0].Manifest.Key != want[0].Manifest.Key || bs[0].Path != want[0].Path {
		t.Errorf("List batches %+v", bs)
	}
	if len(segs) != 1 || segs[0].Source != "px" || segs[0].Records != 21 || segs[0].Blocks != 3 || segs[0].Incomplete {
		t.Errorf("List segments %+v", segs)
	}
}

// TestWriteErrorRecovers makes writes fail with a file size limit (the
// same path as ENOSPC: a failing, possibly partial write) and checks the
// error surfaces, nothing is lost, and the spool resumes once writes work.
func TestWriteErrorRecovers(t *testing.T) {
	if !runIsolated(t) {
		return
	}
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.BlockBytes = 4 << 10
	cfg.SyncInterval = 5 * time.Millisecond
	s := mustOpen(t, cfg)
	seg := writeBlocks(t, s, "fw", 1, 5)
	fi, _ := os.Stat(seg)

	restore := limitFileSize(t, uint64(fi.Size())+100)
	n := 5
	var err error
	for ; err == nil && n < 10000; n++ {
		err = s.Append("fw", record("fw", n), time.Time{})
	}
	if !errors.Is(err, ErrFull) || !strings.Contains(err.Error(), "file too large") {
		restore()
		t.Fatalf("Append while writes fail: %v", err)
	}
	n-- // the refused record was not taken
	syncErr := s.Sync()
	st := s.Stats()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	woke := make(chan error, 1)
	go func() { woke <- s.Wait(ctx) }()
	restore()
	if syncErr == nil {
		t.Error("Sync reported success while writes failed")
	}
	if !st.Full || st.WriteError == "" {
		t.Errorf("stats while failing: %+v", st)
	}
	if err := <-woke; err != nil {
		t.Fatalf("Wait after writes work again: %v", err)
	}
	if err := s.Sync(); err != nil {
		t.Fatalf("Sync after recovery: %v", err)
	}
	if err := s.Append("fw", record("fw", n), time.Time{}); err != nil {
		t.Fatal(err)
	}
	n++
	counts := countN(t, allLines(t, s))["fw"]
	for i := range n {
		if counts[i] != 1 {
			t.Fatalf("record %d seen %d times", i, counts[i])
		}
	}
	if len(counts) != n {
		t.Errorf("%d records, want %d", len(counts), n)
	}
	if rep, err := Verify(dir); err != nil || !rep.OK() {
		t.Errorf("Verify: %v %+v", err, rep)
	}
	if v := testutil.ToFloat64(s.m.writeErrors); v < 1 {
		t.Error("write error not counted")
	}
	// The segment that saw the error was sealed by re-reading it, not
	// from the summary kept while writing.
	if s.liveRescans.Load() == 0 {
		t.Error("segment with a write error sealed without a rescan")
	}
}

// TestRecoveredSealRetried: a segment found on open that cannot be sealed
// (the manifest write fails) does not stop Open and is sealed by a later
// Sync once writes work.
func TestRecoveredSealRetried(t *testing.T) {
	if !runIsolated(t) {
		return
	}
	dir := t.TempDir()
	s := mustOpen(t, testConfig(t, dir))
	writeBlocks(t, s, "fw", 2, 10)

	restore := limitFileSize(t, 64) // manifests are larger than this
	s2, err := Open(testConfig(t, dir))
	restore()
	if err != nil {
		t.Fatalf("Open while writes fail: %v", err)
	}
	st := s2.Stats()
	if st.SealedBatches != 0 || st.OpenBytes == 0 || len(openSegments(t, dir)) != 1 {
		t.Fatalf("stats before retry: %+v", st)
	}
	if err := s2.Sync(); err != nil {
		t.Fatal(err)
	}
	if st := s2.Stats(); st.SealedBatches != 1 || st.OpenBytes != 0 {
		t.Fatalf("stats after retry: %+v", st)
	}
	if c := countN(t, allLines(t, s2))["fw"]; len(c) != 20 {
		t.Errorf("%d records, want 20", len(c))
	}
}

func TestOpenVanishedBatch(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, testConfig(t, dir))
	if err := s.Append("fw", record("fw", 1), time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := s.SealAll(); err != nil {
		t.Fatal(err)
	}
	bs, _ := s.Batches()
	if err := os.Remove(bs[0].Path); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Open(bs[0]); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Open of vanished batch: %v", err)
	}
	if left, _ := s.Batches(); len(left) != 0 || s.Stats().SealedBytes != 0 {
		t.Error("vanished batch still listed")
	}
}

// TestCompressorsKeepOrder appends from several goroutines while Run's
// compressors take full blocks: every record lands once, and each source's
// records stay in the order they were appended.
func TestCompressorsKeepOrder(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.BlockBytes = 4 << 10 // many blocks, so hand-offs and inline compression interleave
	s := mustOpen(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	const perSource = 5000
	srcs := []string{"fw-a", "fw-b", "fw-c"}
	var wg sync.WaitGroup
	for _, src := range srcs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSource {
				if err := s.Append(src, record(src, i), time.Time{}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	next := map[string]int{}
	for _, l := range allLines(t, s) {
		var r struct {
			N      int
			Labels struct{ Source string }
		}
		if err := json.Unmarshal([]byte(l), &r); err != nil {
			t.Fatal(err)
		}
		if r.N != next[r.Labels.Source] {
			t.Fatalf("%s: record %d where %d was due", r.Labels.Source, r.N, next[r.Labels.Source])
		}
		next[r.Labels.Source]++
	}
	for _, src := range srcs {
		if next[src] != perSource {
			t.Errorf("%s: %d records, want %d", src, next[src], perSource)
		}
	}
}
