package spool

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// testClock is a settable clock for Config.Now.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 28, 9, 15, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func testConfig(t testing.TB, dir string) Config {
	t.Helper()
	return Config{
		Dir:          dir,
		Collector:    "cs-01",
		BlockBytes:   8 << 10,
		SyncInterval: 10 * time.Millisecond,
		Logger:       zerolog.New(zerolog.NewTestWriter(t)).Level(zerolog.WarnLevel),
		Registerer:   prometheus.NewRegistry(),
	}
}

func mustOpen(t testing.TB, cfg Config) *Spool {
	t.Helper()
	s, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func record(src string, n int) []byte {
	return fmt.Appendf(nil, `{"@timestamp":"2026-11-28T09:15:%02d+00:00","labels":{"source":%q},"n":%d,"destination":{"domain":"host-%d.example.com","port":443},"source":{"ip":"10.0.%d.%d"}}`,
		n%60, src, n, n%977, n%256, (n/256)%256)
}

// decodePlain decompresses a batch file with a stock decoder (not the
// spool's block reader) and returns its lines.
func decodePlain(t testing.TB, path, compression string) []string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var r io.Reader
	switch compression {
	case "zstd":
		d, err := zstd.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		defer d.Close()
		r = d
	case "gzip":
		g, err := gzip.NewReader(f) // stdlib, multistream
		if err != nil {
			t.Fatal(err)
		}
		defer g.Close()
		r = g
	default:
		t.Fatalf("compression %q", compression)
	}
	data, err := io.ReadAll(r)
	if err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	return splitLines(t, data)
}

func splitLines(t testing.TB, data []byte) []string {
	t.Helper()
	if len(data) == 0 {
		return nil
	}
	if data[len(data)-1] != '\n' {
		t.Fatalf("batch content does not end in a newline")
	}
	return strings.Split(string(data[:len(data)-1]), "\n")
}

// allLines seals everything and returns every line of every batch, checking
// each batch against its manifest on the way.
func allLines(t testing.TB, s *Spool) []string {
	t.Helper()
	if err := s.SealAll(); err != nil {
		t.Fatalf("SealAll: %v", err)
	}
	bs, err := s.Batches()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, b := range bs {
		lines := decodePlain(t, b.Path, b.Manifest.Compression)
		if int64(len(lines)) != b.Manifest.Records {
			t.Fatalf("%s: %d lines, manifest says %d", b.Path, len(lines), b.Manifest.Records)
		}
		out = append(out, lines...)
	}
	return out
}

// countN parses the "n" field of every line, with the line's "labels.source".
func countN(t testing.TB, lines []string) map[string]map[int]int {
	t.Helper()
	out := map[string]map[int]int{}
	for _, l := range lines {
		var v struct {
			N      int `json:"n"`
			Labels struct {
				Source string `json:"source"`
			} `json:"labels"`
		}
		if err := json.Unmarshal([]byte(l), &v); err != nil {
			t.Fatalf("line %q: %v", l, err)
		}
		if out[v.Labels.Source] == nil {
			out[v.Labels.Source] = map[int]int{}
		}
		out[v.Labels.Source][v.N]++
	}
	return out
}

func openSegments(t testing.TB, dir string) []string {
	t.Helper()
	m, err := filepath.Glob(filepath.Join(dir, openDirName, "*"+openSuffix))
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// runConcurrent appends from workers goroutines while Run group-commits and
// seals: worker w appends records w*per .. w*per+per-1 of source
// "src-<w%3>" with work. It checks that every record landed exactly once
// and nothing is left buffered, and returns the spool and its folder.
func runConcurrent(t *testing.T, workers, per int, work func(s *Spool, src string, w int) error) (*Spool, string) {
	t.Helper()
	dir := t.TempDir()
	cfg := testConfig(t, dir)
	cfg.BlockBytes = 16 << 10
	cfg.SegmentMaxBytes = 256 << 10
	cfg.SyncInterval = 2 * time.Millisecond
	s := mustOpen(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	runDone := make(chan error, 1)
	go func() { runDone <- s.Run(ctx) }()

	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			if err := work(s, fmt.Sprintf("src-%d", w%3), w); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	cancel()
	if err := <-runDone; err != nil {
		t.Fatal(err)
	}
	counts := countN(t, allLines(t, s))
	for w := range workers {
		src := fmt.Sprintf("src-%d", w%3)
		for i := range per {
			if c := counts[src][w*per+i]; c != 1 {
				t.Fatalf("record %s/%d seen %d times", src, w*per+i, c)
			}
		}
	}
	if st := s.Stats(); st.Records != int64(workers*per) || st.BufferedBytes != 0 || st.OpenBytes != 0 {
		t.Errorf("stats %+v", st)
	}
	return s, dir
}
