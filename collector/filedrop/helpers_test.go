package filedrop

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

type recLine struct {
	path   string
	off    int64
	line   string
	opened time.Time // when the stream that delivered it was opened
}

var errSinkDown = errors.New("sink down")

// recSink records what a pipeline would see.
type recSink struct {
	mu        sync.Mutex
	opens     []string
	delivered []recLine
	committed []recLine
	commits   int
	failAt    int // the failAt-th Line call (and later ones) fail; 0 = never
	calls     int
	hook      func(call int) // called before each Line is recorded
}

func (s *recSink) Open(source, path string) FileStream {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.opens = append(s.opens, path)
	return &recStream{s: s, path: path, opened: time.Now()}
}

type recStream struct {
	s      *recSink
	path   string
	opened time.Time
	buf    []recLine
	closed bool
}

func (r *recStream) Line(_ context.Context, line []byte, off int64) error {
	if r.s.hook != nil {
		r.s.mu.Lock()
		n := r.s.calls + 1
		r.s.mu.Unlock()
		r.s.hook(n)
	}
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.closed {
		panic("Line after Close")
	}
	r.s.calls++
	if r.s.failAt > 0 && r.s.calls >= r.s.failAt {
		return errSinkDown
	}
	l := recLine{path: r.path, off: off, line: string(line), opened: r.opened}
	r.buf = append(r.buf, l)
	r.s.delivered = append(r.s.delivered, l)
	return nil
}

func (r *recStream) Commit(context.Context) error {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	r.s.committed = append(r.s.committed, r.buf...)
	r.s.commits++
	r.buf = nil
	return nil
}

func (r *recStream) Close() {
	r.s.mu.Lock()
	defer r.s.mu.Unlock()
	if r.closed {
		panic("double Close")
	}
	r.closed = true
	r.buf = nil
}

func (s *recSink) snapshot() (opens []string, delivered, committed []recLine) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.opens...), append([]recLine(nil), s.delivered...), append([]recLine(nil), s.committed...)
}

type testWatcher struct {
	w      *Watcher
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan struct{}
	err    error // valid after done is closed
}

func (tw *testWatcher) stop(t *testing.T) {
	t.Helper()
	tw.cancel()
	select {
	case <-tw.done:
		if tw.err != nil {
			t.Fatalf("Run: %v", tw.err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return")
	}
}

func startWatcher(t *testing.T, cfg Config) *testWatcher {
	t.Helper()
	reg := prometheus.NewRegistry()
	cfg.Registerer = reg
	if cfg.RescanInterval == 0 {
		cfg.RescanInterval = 200 * time.Millisecond
	}
	w, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	tw := &testWatcher{w: w, reg: reg, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(tw.done)
		tw.err = w.Run(ctx)
	}()
	t.Cleanup(func() { tw.stop(t) })
	return tw
}

func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// dropFile makes a file appear complete, as an FTP upload does: written under
// a temporary name, then renamed.
func dropFile(t *testing.T, path string, data []byte) {
	t.Helper()
	tmp := filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp")
	writeFile(t, tmp, data)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// expectLines splits content the way the watcher must: LF-terminated, CR
// stripped, empty lines skipped, a last line without LF kept.
func expectLines(content string, base int64) []recLine {
	var out []recLine
	off := base
	for len(content) > 0 {
		i := strings.IndexByte(content, '\n')
		var line string
		n := len(content)
		if i >= 0 {
			line, n = content[:i], i+1
		} else {
			line = content
		}
		line = strings.TrimSuffix(line, "\r")
		if line != "" {
			out = append(out, recLine{off: off, line: line})
		}
		off += int64(n)
		content = content[n:]
	}
	return out
}

func sameLines(t *testing.T, got, want []recLine) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d lines, want %d\ngot:  %v\nwant: %v", len(got), len(want), head(got), head(want))
	}
	for i := range want {
		if got[i].off != want[i].off || got[i].line != want[i].line {
			t.Fatalf("line %d: got %d %q, want %d %q", i, got[i].off, got[i].line, want[i].off, want[i].line)
		}
	}
}

func head(l []recLine) []recLine {
	if len(l) > 5 {
		return l[:5]
	}
	return l
}

func linesOf(all []recLine, path string) []recLine {
	var out []recLine
	for _, l := range all {
		if l.path == path {
			out = append(out, l)
		}
	}
	return out
}

func count(c prometheus.Collector) float64 { return testutil.ToFloat64(c) }

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

func fileEquals(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s: content differs", filepath.Base(path))
	}
}

const w3cSample = "#Software: SGOS 6.7.5.1\r\n#Version: 1.0\r\n#Fields: date time c-ip cs-username sc-status cs-host\r\n" +
	"2024-03-01 10:00:01 10.1.2.3 jdoe 200 www.example.com\r\n" +
	"\r\n" +
	"2024-03-01 10:00:02 10.1.2.4 - 403 ads.example.net\r\n" +
	"#Fields: date time c-ip sc-status\r\n" +
	"2024-03-01 10:00:03 10.1.2.5 200"
