package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/rs/zerolog"

	"github.com/cloudscout/cloudscout/collector/anonymize"
	"github.com/cloudscout/cloudscout/collector/config"
	"github.com/cloudscout/cloudscout/collector/spool"
	"github.com/cloudscout/cloudscout/collector/syslog"
	_ "github.com/cloudscout/cloudscout/parsers/all"
)

// fakeSpool records batches and can be switched to full. Wait returns once
// the spool is no longer full or ctx is done.
type fakeSpool struct {
	mu      sync.Mutex
	full    bool
	room    chan struct{} // closed when full is cleared
	batches []fakeBatch
	waits   int
}

type fakeBatch struct {
	source string
	lines  []string
	lo, hi time.Time
}

var _ Appender = (*fakeSpool)(nil)

func newFakeSpool() *fakeSpool { return &fakeSpool{room: make(chan struct{})} }

func (f *fakeSpool) Append(source string, record []byte, ts time.Time) error {
	return f.AppendBatch(source, append(append([]byte(nil), record...), '\n'), 1, ts, ts)
}

func (f *fakeSpool) AppendBatch(source string, recs []byte, n int, lo, hi time.Time) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.full {
		return spool.ErrFull
	}
	lines := strings.Split(strings.TrimSuffix(string(recs), "\n"), "\n")
	if len(lines) != n || !bytes.HasSuffix(recs, []byte("\n")) {
		return fmt.Errorf("%w: %d lines, n=%d", spool.ErrInvalidRecord, len(lines), n)
	}
	f.batches = append(f.batches, fakeBatch{source, lines, lo, hi})
	return nil
}

func (f *fakeSpool) Wait(ctx context.Context) error {
	f.mu.Lock()
	f.waits++
	room := f.room
	full := f.full
	f.mu.Unlock()
	if !full {
		return nil
	}
	select {
	case <-room:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (f *fakeSpool) Sync() error { return nil }

func (f *fakeSpool) setFull(full bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.full && !full {
		close(f.room)
		f.room = make(chan struct{})
	}
	f.full = full
}

func (f *fakeSpool) snapshot() (batches []fakeBatch, waits int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]fakeBatch(nil), f.batches...), f.waits
}

func (f *fakeSpool) records(source string) []map[string]any {
	bs, _ := f.snapshot()
	var out []map[string]any
	for _, b := range bs {
		if b.source != source {
			continue
		}
		for _, l := range b.lines {
			var m map[string]any
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				panic(fmt.Sprintf("record %q: %v", l, err))
			}
			out = append(out, m)
		}
	}
	return out
}

// A one-group parser: "ev <action> <time> <pad>"; pad makes records of a
// chosen size.
const testParsers = `parsers:
  - name: ev
    type: regex
    pattern: '^ev (?P<act>\S+) (?P<ts>\S+) ?(?P<pad>.*)$'
    time_layout: rfc3339
    fields:
      "@timestamp": ts
      event.action: act
      url.original: pad
`

func newTestPipeline(t *testing.T, sp Appender, sources string) (*Pipeline, *config.Config, *prometheus.Registry) {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte("collector:\n  data_dir: "+dir+"\n"+testParsers+"sources:\n"+sources), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		t.Fatal(err)
	}
	key, err := anonymize.NewKey(bytes.Repeat([]byte{7}, 64))
	if err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	p, err := newPipeline(cfg, sp, key, reg, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	return p, cfg, reg
}

const oneSource = "  - name: fw\n    format: ev\n    timezone: UTC\n    listen: [\"tcp://127.0.0.1:15514\", \"udp://127.0.0.1:15514\"]\n"

func openStream(p *Pipeline, cfg *config.Config, transport string) syslog.Stream {
	for _, l := range cfg.Listeners() {
		if l.Transport == transport {
			return p.Open(syslog.StreamInfo{Listener: l.Key(), Transport: transport})
		}
	}
	panic("no listener for " + transport)
}

func evLine(i int, ts time.Time, pad int) []byte {
	return []byte(fmt.Sprintf("ev a%d %s %s", i, ts.UTC().Format(time.RFC3339), strings.Repeat("x", pad)))
}

var peer1 = netip.MustParseAddrPort("10.0.0.1:514")

// send passes n lines numbered from first, padded by pad bytes, from peer1.
func send(t *testing.T, st syslog.Stream, first, n, pad int) {
	t.Helper()
	for i := first; i < first+n; i++ {
		if err := st.Message(context.Background(), evLine(i, time.Now(), pad), false, peer1); err != nil {
			t.Fatal(err)
		}
	}
}

func dropped(reg *prometheus.Registry, p *Pipeline, source, reason string) float64 {
	return testutil.ToFloat64(p.metrics.dropped.WithLabelValues(source, reason))
}

// TestBatchedRecords checks that a stream's records reach the spool in
// batches, complete, in order, with their event-time range, and that
// Flush hands over what is left.
func TestBatchedRecords(t *testing.T) {
	sp := newFakeSpool()
	p, cfg, _ := newTestPipeline(t, sp, oneSource)
	st := openStream(p, cfg, syslog.TransportTCP)
	ctx := context.Background()
	base := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	const n = 1000
	for i := range n {
		// times go back and forth so the range is not first/last
		ts := base.Add(time.Duration((i*7919)%n) * time.Second)
		if err := st.Message(ctx, evLine(i, ts, 300), false, peer1); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.(syslog.Flusher).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	batches, _ := sp.snapshot()
	if len(batches) < 2 || len(batches) > n/10 {
		t.Errorf("%d batches for %d records of ~400 bytes: want records grouped", len(batches), n)
	}
	recs := sp.records("fw")
	if len(recs) != n {
		t.Fatalf("%d records spooled, want %d", len(recs), n)
	}
	for i, r := range recs {
		ev := r["event"].(map[string]any)
		if ev["action"] != fmt.Sprintf("a%d", i) {
			t.Fatalf("record %d is %v: order lost", i, ev["action"])
		}
	}
	for _, b := range batches {
		lo, hi := time.Time{}, time.Time{}
		for _, l := range b.lines {
			var m struct {
				TS time.Time `json:"@timestamp"`
			}
			if err := json.Unmarshal([]byte(l), &m); err != nil {
				t.Fatal(err)
			}
			if lo.IsZero() || m.TS.Before(lo) {
				lo = m.TS
			}
			if m.TS.After(hi) {
				hi = m.TS
			}
		}
		if !b.lo.Equal(lo) || !b.hi.Equal(hi) {
			t.Errorf("batch range %v..%v, records span %v..%v", b.lo, b.hi, lo, hi)
		}
	}
	stats := p.Stats("fw")
	if got := stats.Records.Load(); got != n {
		t.Errorf("records counter %d, want %d", got, n)
	}
	if got := stats.Received.Load(); got != n {
		t.Errorf("received counter %d, want %d", got, n)
	}
	st.Close()
}

// TestFlushWithoutFullBatch checks that a quiet stream's few records are
// handed over at Flush, not held until a batch fills.
func TestFlushWithoutFullBatch(t *testing.T) {
	sp := newFakeSpool()
	p, cfg, _ := newTestPipeline(t, sp, oneSource)
	st := openStream(p, cfg, syslog.TransportTCP)
	ctx := context.Background()
	send(t, st, 1, 1, 10)
	if got := len(sp.records("fw")); got != 0 {
		t.Fatalf("%d records before Flush: batching should hold a small record", got)
	}
	if err := st.(syslog.Flusher).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if got := len(sp.records("fw")); got != 1 {
		t.Fatalf("%d records after Flush, want 1", got)
	}
	if st.(*syslogStream).batch.bp != nil {
		t.Error("an idle stream still holds a batch buffer")
	}
	// Close without a Flush still hands over the rest.
	send(t, st, 2, 1, 10)
	st.Close()
	if got := len(sp.records("fw")); got != 2 {
		t.Fatalf("%d records after Close, want 2", got)
	}
}

// TestUDPDropsWhenFull checks that a UDP stream does not wait for a full
// spool: the batch is dropped and counted.
func TestUDPDropsWhenFull(t *testing.T) {
	sp := newFakeSpool()
	p, cfg, reg := newTestPipeline(t, sp, oneSource)
	st := openStream(p, cfg, syslog.TransportUDP)
	ctx := context.Background()
	sp.setFull(true)
	send(t, st, 0, 100, 500)
	if err := st.(syslog.Flusher).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if _, waits := sp.snapshot(); waits != 0 {
		t.Errorf("UDP stream waited %d times for the spool", waits)
	}
	if got := dropped(reg, p, "fw", "spool_full"); got != 100 {
		t.Errorf("dropped{spool_full} = %v, want 100", got)
	}
	if got := p.Stats("fw").Dropped.Load(); got != 100 {
		t.Errorf("Dropped stat %d, want 100", got)
	}
	sp.setFull(false)
	send(t, st, 100, 1, 5)
	st.Close()
	if got := len(sp.records("fw")); got != 1 {
		t.Errorf("%d records after room returned, want 1", got)
	}
}

// TestTCPWaitsWhenFull checks backpressure: a TCP stream's Flush waits for
// spool room and then delivers everything; cancelled, it returns and
// counts the batch as a shutdown loss.
func TestTCPWaitsWhenFull(t *testing.T) {
	sp := newFakeSpool()
	p, cfg, reg := newTestPipeline(t, sp, oneSource)
	st := openStream(p, cfg, syslog.TransportTCP)
	ctx := context.Background()
	sp.setFull(true)
	send(t, st, 0, 10, 5)
	done := make(chan error, 1)
	go func() { done <- st.(syslog.Flusher).Flush(ctx) }()
	select {
	case err := <-done:
		t.Fatalf("Flush returned %v while the spool was full", err)
	case <-time.After(100 * time.Millisecond):
	}
	sp.setFull(false)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Flush still blocked after room returned")
	}
	if got := len(sp.records("fw")); got != 10 {
		t.Fatalf("%d records, want 10", got)
	}

	sp.setFull(true)
	send(t, st, 0, 5, 5)
	cctx, cancel := context.WithCancel(ctx)
	go func() { done <- st.(syslog.Flusher).Flush(cctx) }()
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Flush after cancel: %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Flush ignored the cancelled context")
	}
	st.Close()
	if got := dropped(reg, p, "fw", "shutdown"); got != 5 {
		t.Errorf("dropped{shutdown} = %v, want 5", got)
	}
}

// TestOversizedRecordDropped checks that a record over the spool's limit
// is dropped and counted, and the stream goes on.
func TestOversizedRecordDropped(t *testing.T) {
	sp := newFakeSpool()
	p, cfg, reg := newTestPipeline(t, sp, oneSource)
	st := openStream(p, cfg, syslog.TransportTCP)
	ctx := context.Background()
	msgs := [][]byte{evLine(1, time.Now(), 10), evLine(2, time.Now(), spool.MaxRecordBytes+1), evLine(3, time.Now(), 10)}
	for _, m := range msgs {
		if err := st.Message(ctx, m, false, peer1); err != nil {
			t.Fatalf("message of %d bytes: %v", len(m), err)
		}
	}
	if err := st.(syslog.Flusher).Flush(ctx); err != nil {
		t.Fatal(err)
	}
	recs := sp.records("fw")
	if len(recs) != 2 {
		t.Fatalf("%d records, want 2", len(recs))
	}
	if got := dropped(reg, p, "fw", "record_too_large"); got != 1 {
		t.Errorf("dropped{record_too_large} = %v, want 1", got)
	}
	st.Close()
}

// TestBatchPerSource checks that a UDP listener shared by two sources
// hands each source's records over under its own name.
func TestBatchPerSource(t *testing.T) {
	sp := newFakeSpool()
	two := "  - name: a\n    format: ev\n    listen: [\"udp://127.0.0.1:15514\"]\n    allowed: [\"10.0.0.1/32\"]\n" +
		"  - name: b\n    format: ev\n    listen: [\"udp://127.0.0.1:15514\"]\n    allowed: [\"10.0.0.2/32\"]\n"
	p, cfg, _ := newTestPipeline(t, sp, two)
	st := openStream(p, cfg, syslog.TransportUDP)
	ctx := context.Background()
	peers := []netip.AddrPort{peer1, netip.MustParseAddrPort("10.0.0.2:514")}
	for i := range 300 {
		if err := st.Message(ctx, evLine(i, time.Now(), 200), false, peers[(i/7)%2]); err != nil {
			t.Fatal(err)
		}
	}
	st.Close()
	for _, src := range []string{"a", "b"} {
		recs := sp.records(src)
		for _, r := range recs {
			var i int
			fmt.Sscanf(r["event"].(map[string]any)["action"].(string), "a%d", &i)
			if want := []string{"a", "b"}[(i/7)%2]; want != src {
				t.Fatalf("record %d of source %s spooled as %s", i, want, src)
			}
		}
		if got := p.Stats(src).Records.Load(); got != int64(len(recs)) {
			t.Errorf("source %s: records counter %d, spooled %d", src, got, len(recs))
		}
	}
	if got := len(sp.records("a")) + len(sp.records("b")); got != 300 {
		t.Errorf("%d records in all, want 300", got)
	}
}

// TestFileStreamCommit checks that Commit hands over the batch before it
// reports the lines durable.
func TestFileStreamCommit(t *testing.T) {
	sp := newFakeSpool()
	p, _, _ := newTestPipeline(t, sp, oneSource)
	fs, err := p.OpenFile("fw", "x.log")
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for i := range 3 {
		if err := fs.Line(ctx, evLine(i, time.Now(), 5), int64(i*100)); err != nil {
			t.Fatal(err)
		}
	}
	if err := fs.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	recs := sp.records("fw")
	if len(recs) != 3 {
		t.Fatalf("%d records after Commit, want 3", len(recs))
	}
	if off := recs[2]["log"].(map[string]any)["offset"]; off != float64(200) {
		t.Errorf("log.offset %v, want 200", off)
	}
	fs.Close()
}
