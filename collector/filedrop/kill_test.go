package filedrop

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The re-executed child runs a watcher whose sink persists committed lines
// ("offset<TAB>line") to a file with fsync, as a spool would.
const (
	childEnv       = "CLOUDSCOUT_FILEDROP_CHILD"
	childIn        = "CLOUDSCOUT_FILEDROP_IN"
	childState     = "CLOUDSCOUT_FILEDROP_STATE"
	childArchive   = "CLOUDSCOUT_FILEDROP_ARCHIVE"
	childOut       = "CLOUDSCOUT_FILEDROP_OUT"
	childBlockAt   = "CLOUDSCOUT_FILEDROP_BLOCK_AT"
	childMark      = "CLOUDSCOUT_FILEDROP_MARK"
	childCommitN   = 10000
	killFileLines  = 200000
	killFileHeader = "#Fields: seq pad\n"
)

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(runChild())
	}
	os.Exit(m.Run())
}

type fileSink struct {
	mu      sync.Mutex
	out     *os.File
	calls   int
	blockAt int
	mark    string
}

func (s *fileSink) Open(_, _ string) FileStream { return &fileStream{s: s} }

type fileStream struct {
	s   *fileSink
	buf bytes.Buffer
}

func (f *fileStream) Line(_ context.Context, line []byte, off int64) error {
	f.s.mu.Lock()
	f.s.calls++
	block := f.s.blockAt > 0 && f.s.calls == f.s.blockAt
	f.s.mu.Unlock()
	if block {
		// Stop in the middle of a batch and wait for SIGKILL.
		if err := os.WriteFile(f.s.mark, nil, 0o600); err != nil {
			return err
		}
		select {}
	}
	fmt.Fprintf(&f.buf, "%d\t%s\n", off, line)
	return nil
}

func (f *fileStream) Commit(context.Context) error {
	f.s.mu.Lock()
	defer f.s.mu.Unlock()
	if _, err := f.s.out.Write(f.buf.Bytes()); err != nil {
		return err
	}
	f.buf.Reset()
	return f.s.out.Sync()
}

func (f *fileStream) Close() { f.buf.Reset() }

func runChild() int {
	out, err := os.OpenFile(os.Getenv(childOut), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	blockAt, _ := strconv.Atoi(os.Getenv(childBlockAt))
	in, archive := os.Getenv(childIn), os.Getenv(childArchive)
	w, err := New(Config{
		Folders:     []Folder{{Source: "proxy1", Dir: in, ArchiveDir: archive, StableFor: -1}},
		StateDir:    os.Getenv(childState),
		CommitEvery: childCommitN,
		Sink:        &fileSink{out: out, blockAt: blockAt, mark: os.Getenv(childMark)},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	errc := make(chan error, 1)
	go func() { errc <- w.Run(ctx) }()
	for {
		select {
		case err := <-errc:
			fmt.Fprintln(os.Stderr, "Run:", err)
			return 2
		case <-time.After(20 * time.Millisecond):
		}
		left, _ := os.ReadDir(in)
		done, _ := os.ReadDir(archive)
		if len(left) == 0 && len(done) > 0 {
			cancel()
			if err := <-errc; err != nil {
				fmt.Fprintln(os.Stderr, "Run:", err)
				return 2
			}
			return 0
		}
	}
}

type killEnv struct {
	in, state, archive, out, mark string
}

func newKillEnv(t *testing.T) (killEnv, []recLine) {
	base := t.TempDir()
	e := killEnv{
		in: filepath.Join(base, "in"), state: filepath.Join(base, "state"), archive: filepath.Join(base, "archive"),
		out: filepath.Join(base, "committed.txt"), mark: filepath.Join(base, "mark"),
	}
	if err := os.MkdirAll(e.in, 0o755); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString(killFileHeader)
	for i := 1; i <= killFileLines; i++ {
		fmt.Fprintf(&b, "%07d padding-padding\n", i)
		if i == killFileLines/2 {
			b.WriteString("#Fields: seq pad2\n")
		}
	}
	content := b.String()
	writeFile(t, filepath.Join(e.in, "big.log"), []byte(content))
	return e, expectLines(content, 0)
}

func (e killEnv) start(t *testing.T, blockAt int) *exec.Cmd {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"=1", childIn+"="+e.in, childState+"="+e.state, childArchive+"="+e.archive,
		childOut+"="+e.out, childMark+"="+e.mark, childBlockAt+"="+strconv.Itoa(blockAt))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return cmd
}

func waitExit(t *testing.T, cmd *exec.Cmd, d time.Duration) {
	t.Helper()
	errc := make(chan error, 1)
	go func() { errc <- cmd.Wait() }()
	select {
	case err := <-errc:
		if err != nil {
			t.Fatalf("child: %v", err)
		}
	case <-time.After(d):
		_ = cmd.Process.Kill()
		t.Fatal("child did not finish")
	}
}

func kill(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// readCommitted returns how often each offset was committed, and checks the text.
func readCommitted(t *testing.T, path string, want []recLine) map[int64]int {
	t.Helper()
	byOff := map[int64]string{}
	for _, l := range want {
		byOff[l.off] = l.line
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	seen := map[int64]int{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		offStr, line, ok := strings.Cut(sc.Text(), "\t")
		off, err := strconv.ParseInt(offStr, 10, 64)
		if !ok || err != nil || byOff[off] != line {
			t.Fatalf("bad committed record %q", sc.Text())
		}
		seen[off]++
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return seen
}

// kill -9 while the watcher is between commits (blocked in Line), restart:
// every line is committed exactly once, and the headers before the resume
// point are delivered again for the parser.
func TestKill9MidFileExactlyOnce(t *testing.T) {
	e, want := newKillEnv(t)
	child := e.start(t, 123457)
	waitFor(t, "child to reach line 123457", 60*time.Second, func() bool {
		_, err := os.Stat(e.mark)
		return err == nil
	})
	kill(t, child)
	before := readCommitted(t, e.out, want)
	if len(before) == 0 || len(before) >= len(want) {
		t.Fatalf("%d lines committed before the kill", len(before))
	}
	waitExit(t, e.start(t, 0), 90*time.Second)

	seen := readCommitted(t, e.out, want)
	for _, l := range want {
		n := seen[l.off]
		switch {
		case strings.HasPrefix(l.line, "#"):
			if n < 1 {
				t.Fatalf("header %q not delivered", l.line)
			}
		case n != 1:
			t.Fatalf("line at %d (%q) committed %d times", l.off, l.line, n)
		}
	}
	if seen[0] != 2 {
		t.Fatalf("first header delivered %d times, want 2 (start + resume)", seen[0])
	}
	if got := listDir(t, e.in); len(got) != 0 {
		t.Fatalf("left: %v", got)
	}
	if got := listDir(t, e.archive); len(got) != 1 {
		t.Fatalf("archive: %v", got)
	}
}

// kill -9 at an arbitrary moment (right after a commit, the worst case):
// every line is committed at least once; duplicates are at most one batch.
func TestKill9AnyTimeAtLeastOnce(t *testing.T) {
	e, want := newKillEnv(t)
	child := e.start(t, 0)
	waitFor(t, "some commits", 60*time.Second, func() bool {
		fi, err := os.Stat(e.out)
		return err == nil && fi.Size() > 30000*30
	})
	kill(t, child)
	waitExit(t, e.start(t, 0), 90*time.Second)

	seen := readCommitted(t, e.out, want)
	dups, first, last := 0, int64(-1), int64(-1)
	for _, l := range want {
		n := seen[l.off]
		if n < 1 {
			t.Fatalf("line at %d (%q) lost", l.off, l.line)
		}
		if n > 1 && !strings.HasPrefix(l.line, "#") {
			if n > 2 {
				t.Fatalf("line at %d committed %d times", l.off, n)
			}
			dups++
			if first < 0 {
				first = l.off
			}
			last = l.off
		}
	}
	if dups > childCommitN {
		t.Fatalf("%d duplicated lines, more than one batch", dups)
	}
	t.Logf("%d duplicated lines (offsets %d..%d)", dups, first, last)
}
