package uploader_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/cloudscout/cloudscout/uploader"
	"github.com/cloudscout/cloudscout/uploader/internal/uptest"
)

// clock is an injectable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// faultSink stores bodies in memory and fails while fail says so.
type faultSink struct {
	name string
	fail func(key string) error

	mu    sync.Mutex
	order []string
	puts  map[string]int
	data  map[string][]byte
	tries int
}

func newFaultSink(name string, fail func(string) error) *faultSink {
	return &faultSink{name: name, fail: fail, puts: map[string]int{}, data: map[string][]byte{}}
}

func (s *faultSink) String() string { return "fault://" + s.name }

func (s *faultSink) Put(ctx context.Context, key string, body io.Reader, size int64, m uploader.Manifest) error {
	b, err := io.ReadAll(body)
	if err != nil {
		return err
	}
	if int64(len(b)) != size || m.Key != key {
		return fmt.Errorf("size %d/%d key %s/%s", len(b), size, key, m.Key)
	}
	s.mu.Lock()
	s.tries++
	s.mu.Unlock()
	if s.fail != nil {
		if err := s.fail(key); err != nil {
			return err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.order = append(s.order, key)
	s.puts[key]++
	s.data[key] = b
	return nil
}

func (s *faultSink) snapshot() (order []string, puts map[string]int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	puts = map[string]int{}
	for k, v := range s.puts {
		puts[k] = v
	}
	return append([]string(nil), s.order...), puts
}

func refused() error {
	return &net.OpError{Op: "dial", Net: "tcp", Addr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9}, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
}

// metric returns the value of the series name{labels} in reg (0 if absent).
func metric(t *testing.T, reg *prometheus.Registry, name string, labels map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
		for _, m := range mf.GetMetric() {
			if matches(m, labels) {
				switch {
				case m.Gauge != nil:
					return m.Gauge.GetValue()
				case m.Counter != nil:
					return m.Counter.GetValue()
				}
			}
		}
	}
	return 0
}

func matches(m *dto.Metric, labels map[string]string) bool {
	n := 0
	for _, lp := range m.GetLabel() {
		if v, ok := labels[lp.GetName()]; ok {
			if v != lp.GetValue() {
				return false
			}
			n++
		}
	}
	return n == len(labels)
}

func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

type harness struct {
	u      *uploader.Uploader
	q      *uptest.Queue
	reg    *prometheus.Registry
	state  string
	cancel context.CancelFunc
	done   chan error
}

func start(t *testing.T, cfg uploader.Config) *harness {
	t.Helper()
	h := &harness{reg: prometheus.NewRegistry()}
	if cfg.Queue == nil {
		h.q = uptest.NewQueue(t.TempDir())
		cfg.Queue = h.q
	} else {
		h.q, _ = cfg.Queue.(*uptest.Queue)
	}
	if cfg.StateDir == "" {
		cfg.StateDir = t.TempDir()
	}
	h.state = cfg.StateDir
	if cfg.RetryBase == 0 {
		cfg.RetryBase = time.Millisecond
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 10 * time.Millisecond
	}
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 10 * time.Millisecond
	}
	if cfg.Interval == 0 {
		cfg.Interval = time.Hour // tests drive shipping with Trigger unless they set it
	}
	cfg.Registerer = h.reg
	u, err := uploader.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.u = u
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	go func() { h.done <- u.Run(ctx) }()
	t.Cleanup(h.stop)
	eventually(t, 5*time.Second, "uploader running", func() bool { return u.Status().Running })
	return h
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	<-h.done
	h.cancel = nil
}

func (h *harness) trigger(t *testing.T, timeout time.Duration) (uploader.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	return h.u.Trigger(ctx)
}

func TestNewValidates(t *testing.T) {
	q := uptest.NewQueue(t.TempDir())
	s := newFaultSink("a", nil)
	cases := []uploader.Config{
		{Targets: []uploader.Target{{Name: "a", Sink: s}}, StateDir: "x"},
		{Queue: q, StateDir: "x"},
		{Queue: q, Targets: []uploader.Target{{Name: "a", Sink: s}}},
		{Queue: q, Targets: []uploader.Target{{Name: "a/b", Sink: s}}, StateDir: "x"},
		{Queue: q, Targets: []uploader.Target{{Name: "a", Sink: s}, {Name: "a", Sink: s}}, StateDir: "x"},
		{Queue: q, Targets: []uploader.Target{{Name: "a"}}, StateDir: "x"},
		{Queue: q, Targets: []uploader.Target{{Name: "a", Sink: s}}, StateDir: "x", RetryBase: time.Hour, RetryMax: time.Second},
	}
	for i, c := range cases {
		if _, err := uploader.New(c); err == nil {
			t.Errorf("case %d: no error", i)
		}
	}
	if _, err := uploader.New(uploader.Config{Queue: q, Targets: []uploader.Target{{Name: "a", Sink: s}}, StateDir: "x"}); err != nil {
		t.Fatal(err)
	}
}

// A 30-minute outage under an injected clock: the backlog grows, Ready
// fails, then everything drains oldest first with nothing lost.
func TestOutageDrainsOldestFirst(t *testing.T) {
	clk := &clock{t: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
	outageEnd := clk.Now().Add(30*time.Minute + 30*time.Second)
	sink := newFaultSink("flaky", func(string) error {
		if clk.Now().Before(outageEnd) {
			return refused()
		}
		return nil
	})
	h := start(t, uploader.Config{
		Targets:       []uploader.Target{{Name: "flaky", Sink: sink}},
		Interval:      5 * time.Millisecond,
		MaxBacklogAge: 10 * time.Minute,
		Now:           clk.Now,
	})
	var keys []string
	for i := range 30 {
		k := fmt.Sprintf("c1/fw/2026/11/28/%06d.jsonl.zst", i)
		keys = append(keys, k)
		h.q.Add(k, []byte(fmt.Sprintf("batch %d\n", i)), clk.Now())
		clk.Advance(time.Minute)
		h.u.Notify()
	}
	eventually(t, 10*time.Second, "backlog at 30 and 30 min old", func() bool {
		return metric(t, h.reg, "cloudscout_upload_backlog_batches", nil) == 30 &&
			metric(t, h.reg, "cloudscout_upload_backlog_oldest_seconds", nil) >= 30*60
	})
	eventually(t, 10*time.Second, "failed attempts", func() bool {
		return metric(t, h.reg, "cloudscout_upload_failures_total", map[string]string{"target": "flaky", "class": "network"}) >= 3
	})
	if err := h.u.Ready(); err == nil || !strings.Contains(err.Error(), "oldest unshipped batch") {
		t.Fatalf("Ready during outage = %v", err)
	}
	st := h.u.Status()
	if st.Backlog != 30 || st.Targets[0].Pending != 30 || st.Targets[0].LastErrorClass != "network" ||
		!strings.Contains(st.Targets[0].LastErrorExplanation, "connection refused") {
		t.Fatalf("status during outage: %+v", st)
	}
	if order, _ := sink.snapshot(); len(order) != 0 {
		t.Fatalf("delivered during outage: %v", order)
	}

	clk.Advance(time.Minute) // the target is back
	eventually(t, 10*time.Second, "queue drained", func() bool { return h.q.Len() == 0 })
	order, puts := sink.snapshot()
	if strings.Join(order, ",") != strings.Join(keys, ",") {
		t.Fatalf("delivery order\n got %v\nwant %v", order, keys)
	}
	for _, k := range keys {
		if puts[k] != 1 {
			t.Errorf("%s delivered %d times", k, puts[k])
		}
	}
	eventually(t, 5*time.Second, "backlog metrics back to zero", func() bool {
		return metric(t, h.reg, "cloudscout_upload_backlog_batches", nil) == 0 &&
			metric(t, h.reg, "cloudscout_upload_backlog_oldest_seconds", nil) == 0
	})
	if err := h.u.Ready(); err != nil {
		t.Fatalf("Ready after drain: %v", err)
	}
	if got := metric(t, h.reg, "cloudscout_upload_batches_total", map[string]string{"target": "flaky", "result": "delivered"}); got != 30 {
		t.Fatalf("delivered counter = %v", got)
	}
	if got := metric(t, h.reg, "cloudscout_upload_last_success_timestamp_seconds", map[string]string{"target": "flaky"}); got < float64(outageEnd.Unix()) {
		t.Fatalf("last success = %v", got)
	}
}

// A good target is not held back or re-sent while another one fails, and
// the batch leaves the spool only when both have it, also across a restart.
func TestTargetsProgressIndependentlyAndSurviveRestart(t *testing.T) {
	var down sync.Mutex
	isDown := true
	bad := newFaultSink("bad", func(string) error {
		down.Lock()
		defer down.Unlock()
		if isDown {
			return refused()
		}
		return nil
	})
	good := newFaultSink("good", nil)
	q := uptest.NewQueue(t.TempDir())
	state := t.TempDir()
	cfg := uploader.Config{
		Queue:    q,
		StateDir: state,
		Targets:  []uploader.Target{{Name: "bad", Sink: bad}, {Name: "good", Sink: good}},
	}
	h := start(t, cfg)
	for i := range 3 {
		q.Add(fmt.Sprintf("k/%d", i), []byte{byte(i)}, time.Now())
	}
	// The bad target keeps the trigger waiting to its deadline. The good one
	// ships on regardless (also before the trigger: the first pass at start),
	// so its three deliveries (fsynced markers) are awaited on their own.
	res, err := h.trigger(t, time.Second)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("trigger with a target down: %v", err)
	}
	if res.Batches != 3 || res.Targets[0].Pending != 3 || res.Targets[0].Class != "network" {
		t.Fatalf("trigger result: %+v", res)
	}
	eventually(t, 20*time.Second, "good target has all three", func() bool {
		entries, _ := os.ReadDir(filepath.Join(state, "delivered", "good"))
		return len(entries) == 3
	})
	if q.Len() != 3 {
		t.Fatalf("batches removed before every target had them: %d left", q.Len())
	}

	// Restart with the bad target still down: good must not be re-sent.
	h.stop()
	h2 := start(t, cfg)
	if _, err := h2.trigger(t, 200*time.Millisecond); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("second trigger: %v", err)
	}
	down.Lock()
	isDown = false
	down.Unlock()
	res, err = h2.trigger(t, 10*time.Second)
	if err != nil {
		t.Fatalf("trigger after recovery: %v (%+v)", err, res)
	}
	if q.Len() != 0 {
		t.Fatalf("%d batches left", q.Len())
	}
	_, goodPuts := good.snapshot()
	_, badPuts := bad.snapshot()
	for i := range 3 {
		k := fmt.Sprintf("k/%d", i)
		if goodPuts[k] != 1 || badPuts[k] != 1 {
			t.Errorf("%s: good %d, bad %d puts", k, goodPuts[k], badPuts[k])
		}
	}
	eventually(t, 5*time.Second, "markers dropped after removal", func() bool {
		g, _ := os.ReadDir(filepath.Join(state, "delivered", "good"))
		b, _ := os.ReadDir(filepath.Join(state, "delivered", "bad"))
		return len(g)+len(b) == 0
	})
}

func TestDeadLetterAndRequeue(t *testing.T) {
	var mu sync.Mutex
	reject := true
	sink := newFaultSink("strict", func(key string) error {
		mu.Lock()
		defer mu.Unlock()
		if reject && strings.Contains(key, "bad") {
			return uploader.Permanent(&uploader.StatusError{Op: "PUT x", Status: 400, Message: "schema violation"})
		}
		return nil
	})
	state := t.TempDir()
	cfg := uploader.Config{StateDir: state, Targets: []uploader.Target{{Name: "strict", Sink: sink}}}
	h := start(t, cfg)
	bad := h.q.Add("c1/fw/bad.jsonl.zst", []byte("not json"), time.Now())
	h.q.Add("c1/fw/good.jsonl.zst", []byte("{}\n"), time.Now())
	// The trigger's own counts can miss what the uploader's first pass (at
	// start, racing the Adds) settled; the counters below hold all of it.
	res, err := h.trigger(t, 10*time.Second)
	if err != nil || res.Targets[0].Pending != 0 {
		t.Fatalf("trigger: %v %+v", err, res)
	}
	if got := metric(t, h.reg, "cloudscout_upload_batches_total", map[string]string{"target": "strict", "result": "delivered"}); got != 1 {
		t.Fatalf("delivered counter %v", got)
	}
	if h.q.Len() != 0 {
		t.Fatal("dead-lettered batch still in the spool")
	}
	dl := filepath.Join(state, "deadletter", "strict", bad.Manifest.ID)
	body, err := os.ReadFile(filepath.Join(dl, "bad.jsonl.zst"))
	if err != nil || string(body) != "not json" {
		t.Fatalf("dead-letter copy: %q %v", body, err)
	}
	var rej uploader.Rejection
	data, _ := os.ReadFile(filepath.Join(dl, "reject.json"))
	if err := json.Unmarshal(data, &rej); err != nil || rej.Status != 400 || rej.Message != "schema violation" {
		t.Fatalf("reject.json: %s %v", data, err)
	}
	var m uploader.Manifest
	data, _ = os.ReadFile(filepath.Join(dl, "manifest.json"))
	if err := json.Unmarshal(data, &m); err != nil || m.ID != bad.Manifest.ID {
		t.Fatalf("manifest.json: %s %v", data, err)
	}
	if got := metric(t, h.reg, "cloudscout_upload_batches_total", map[string]string{"target": "strict", "result": "deadletter"}); got != 1 {
		t.Fatalf("deadletter counter %v", got)
	}
	if got := metric(t, h.reg, "cloudscout_upload_failures_total", map[string]string{"target": "strict", "class": "rejected"}); got != 1 {
		t.Fatalf("rejected failures %v", got)
	}
	if st := h.u.Status(); st.Targets[0].DeadLetters != 1 {
		t.Fatalf("status dead letters: %+v", st.Targets[0])
	}

	// Requeue while still refused: it goes back to the dead-letter folder.
	n, err := uploader.Requeue(state)
	if err != nil || n != 1 {
		t.Fatalf("requeue: %d %v", n, err)
	}
	if _, err := h.trigger(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	eventually(t, 5*time.Second, "re-refused dead letter back", func() bool {
		_, err := os.Stat(filepath.Join(dl, "reject.json"))
		return err == nil
	})

	// Fixed on the receiving side: requeue sends it once.
	mu.Lock()
	reject = false
	mu.Unlock()
	h.stop()
	if n, err := uploader.Requeue(state); err != nil || n != 1 {
		t.Fatalf("requeue: %d %v", n, err)
	}
	h2 := start(t, cfg)
	eventually(t, 10*time.Second, "requeued batch delivered", func() bool {
		_, puts := sink.snapshot()
		return puts["c1/fw/bad.jsonl.zst"] == 1
	})
	eventually(t, 5*time.Second, "requeue folder empty", func() bool {
		e, _ := os.ReadDir(filepath.Join(state, "requeue", "strict"))
		d, _ := os.ReadDir(filepath.Join(state, "deadletter", "strict"))
		return len(e) == 0 && len(d) == 0
	})
	eventually(t, 5*time.Second, "status counts the folders", func() bool {
		st := h2.u.Status()
		return st.Targets[0].DeadLetters == 0 && st.Targets[0].Requeued == 0
	})
	sink.mu.Lock()
	got := string(sink.data["c1/fw/bad.jsonl.zst"])
	sink.mu.Unlock()
	if got != "not json" {
		t.Fatalf("requeued content %q", got)
	}
}

func TestInvalidKeyIsDeadLettered(t *testing.T) {
	sink := newFaultSink("s", nil)
	h := start(t, uploader.Config{Targets: []uploader.Target{{Name: "s", Sink: sink}}})
	h.q.Add("../escape", []byte("x"), time.Now())
	res, err := h.trigger(t, 10*time.Second)
	if err != nil || res.Targets[0].Pending != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	if got := metric(t, h.reg, "cloudscout_upload_batches_total", map[string]string{"target": "s", "result": "deadletter"}); got != 1 {
		t.Fatalf("deadletter counter %v", got)
	}
	if _, puts := sink.snapshot(); len(puts) != 0 {
		t.Fatalf("sink saw an invalid key: %v", puts)
	}
}

// An unreadable batch is skipped for the pass without blocking the rest.
func TestUnreadableBatchDoesNotBlock(t *testing.T) {
	sink := newFaultSink("s", nil)
	q := uptest.NewQueue(t.TempDir())
	first := q.Add("a/1", []byte("1"), time.Now())
	q.Add("a/2", []byte("2"), time.Now())
	q.FailOpen(first.Manifest.ID, os.ErrPermission)
	h := start(t, uploader.Config{Queue: q, Targets: []uploader.Target{{Name: "s", Sink: sink}}})
	res, err := h.trigger(t, 3*time.Second)
	if !errors.Is(err, context.DeadlineExceeded) || res.Targets[0].Pending != 1 || res.Targets[0].Class != "io" ||
		!strings.Contains(res.Targets[0].Explanation, "cannot read the batch") {
		t.Fatalf("%v %+v", err, res)
	}
	if _, puts := sink.snapshot(); puts["a/2"] != 1 || puts["a/1"] != 0 || h.q.Len() != 1 {
		t.Fatalf("puts %v, %d left", puts, h.q.Len())
	}
	if got := metric(t, h.reg, "cloudscout_upload_failures_total", map[string]string{"target": "s", "class": "io"}); got < 1 {
		t.Fatalf("io failures %v", got)
	}
	h.q.FailOpen(first.Manifest.ID, nil)
	if _, err := h.trigger(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	if h.q.Len() != 0 {
		t.Fatal("not drained")
	}
}

// The schedule seals open segments; the size trigger ships sealed batches
// without waiting for it.
func TestScheduleAndSizeTrigger(t *testing.T) {
	sink := newFaultSink("s", nil)
	q := uptest.NewQueue(t.TempDir())
	q.Add("sentinel", []byte("s"), time.Now())
	h := start(t, uploader.Config{
		Queue:       q,
		Targets:     []uploader.Target{{Name: "s", Sink: sink}},
		SizeTrigger: 100,
	})
	// Let the start-up pass (which ships an old backlog at once) finish first.
	eventually(t, 5*time.Second, "start-up pass done", func() bool {
		return h.q.Len() == 0 && !h.u.Status().Targets[0].Active
	})
	h.q.Add("small/1", []byte("tiny"), time.Now())
	h.u.Notify()
	time.Sleep(50 * time.Millisecond) // several polls: below the trigger nothing ships
	if _, puts := sink.snapshot(); puts["small/1"] != 0 {
		t.Fatalf("shipped below the size trigger: %v", puts)
	}
	h.q.Add("big/2", bytes.Repeat([]byte("x"), 200), time.Now())
	h.u.Notify()
	eventually(t, 5*time.Second, "size trigger ships", func() bool { return h.q.Len() == 0 })
	h.stop()

	sink2 := newFaultSink("s2", nil)
	h2 := start(t, uploader.Config{Targets: []uploader.Target{{Name: "s2", Sink: sink2}}, Interval: 20 * time.Millisecond})
	h2.q.AddOpen("open/1", []byte("o"), time.Now())
	eventually(t, 5*time.Second, "interval seals and ships", func() bool {
		_, puts := sink2.snapshot()
		return puts["open/1"] == 1 && h2.q.Seals() > 0
	})
}

// Retry-After is honoured: the next attempt waits at least that long.
func TestRetryAfterHonoured(t *testing.T) {
	var mu sync.Mutex
	var attempts []time.Time
	sink := newFaultSink("s", func(string) error {
		mu.Lock()
		defer mu.Unlock()
		attempts = append(attempts, time.Now())
		if len(attempts) == 1 {
			return &uploader.StatusError{Op: "PUT x", Status: 429, RetryAfter: 300 * time.Millisecond}
		}
		return nil
	})
	h := start(t, uploader.Config{Targets: []uploader.Target{{Name: "s", Sink: sink}}})
	h.q.Add("k", []byte("v"), time.Now())
	if _, err := h.trigger(t, 10*time.Second); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(attempts) != 2 || attempts[1].Sub(attempts[0]) < 300*time.Millisecond {
		t.Fatalf("attempts %v", attempts)
	}
	if got := metric(t, h.reg, "cloudscout_upload_failures_total", map[string]string{"target": "s", "class": "http_4xx"}); got != 1 {
		t.Fatalf("http_4xx failures %v", got)
	}
}

func TestTriggerNotRunning(t *testing.T) {
	u, err := uploader.New(uploader.Config{Queue: uptest.NewQueue(t.TempDir()), StateDir: t.TempDir(),
		Targets: []uploader.Target{{Name: "a", Sink: newFaultSink("a", nil)}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := u.Trigger(context.Background()); err == nil {
		t.Fatal("trigger without Run succeeded")
	}
}

func TestLimitReader(t *testing.T) {
	lim := uploader.NewLimiter(50 << 10)
	data := bytes.Repeat([]byte("a"), 100<<10)
	f := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	fh, err := os.Open(f)
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	r := uploader.LimitReader(context.Background(), fh, lim)
	if _, ok := r.(io.ReaderAt); !ok {
		t.Fatal("limited file lost ReaderAt")
	}
	if uploader.Unlimited(r) != io.Reader(fh) {
		t.Fatal("Unlimited did not unwrap")
	}
	start := time.Now()
	got, err := io.ReadAll(r)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("read %d bytes, %v", len(got), err)
	}
	// 100 KiB at 50 KiB/s with a 50 KiB burst needs at least ~1 s.
	if el := time.Since(start); el < 900*time.Millisecond {
		t.Fatalf("limit not applied: %s", el)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := uploader.LimitReader(ctx, bytes.NewReader(data), uploader.NewLimiter(1))
	if _, err := io.ReadAll(slow); err == nil {
		t.Fatal("cancelled limited read did not fail")
	}
}

func TestTriggerReturnsWhenRunStops(t *testing.T) {
	sink := newFaultSink("down", func(string) error { return refused() })
	h := start(t, uploader.Config{Targets: []uploader.Target{{Name: "down", Sink: sink}}})
	h.q.Add("k", []byte("v"), time.Now())
	errc := make(chan error, 1)
	go func() {
		_, err := h.u.Trigger(context.Background())
		errc <- err
	}()
	eventually(t, 5*time.Second, "an attempt", func() bool {
		sink.mu.Lock()
		defer sink.mu.Unlock()
		return sink.tries > 0
	})
	h.stop()
	select {
	case err := <-errc:
		if err == nil || !strings.Contains(err.Error(), "stopped") {
			t.Fatalf("trigger error %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Trigger kept waiting after Run stopped")
	}
	if h.q.Len() != 1 {
		t.Fatal("undelivered batch removed")
	}
}
