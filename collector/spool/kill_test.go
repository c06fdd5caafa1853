package spool

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

const killChildEnv = "CLOUDSCOUT_SPOOL_KILL_CHILD"

func killConfig(dir string) Config {
	return Config{
		Dir:             dir,
		Collector:       "cs-01",
		BlockBytes:      8 << 10,
		SegmentMaxBytes: 96 << 10, // seals (renames, manifests) happen throughout
		SegmentMaxAge:   30 * time.Millisecond,
		SyncInterval:    3 * time.Millisecond,
		Logger:          zerolog.Nop(),
	}
}

// TestKill9Child is the child half of TestKill9: it appends numbered
// records for source "round<N>" and prints "synced <n>" after every
// successful Sync, until it is killed.
func TestKill9Child(t *testing.T) {
	v := os.Getenv(killChildEnv)
	if v == "" {
		t.Skip("helper process for TestKill9")
	}
	dir, round, _ := strings.Cut(v, "|")
	s, err := Open(killConfig(dir))
	if err != nil {
		fmt.Println("error", err)
		os.Exit(2)
	}
	go func() { _ = s.Run(context.Background()) }()
	src := "round" + round
	deadline := time.Now().Add(60 * time.Second) // never outlive a lost parent
	for i := 1; time.Now().Before(deadline); i++ {
		if err := s.Append(src, record(src, i), time.Time{}); err != nil {
			fmt.Println("error", err)
			os.Exit(2)
		}
		if i%250 == 0 {
			if err := s.Sync(); err != nil {
				fmt.Println("error", err)
				os.Exit(2)
			}
			fmt.Printf("synced %d\n", i) // unbuffered: reaches the pipe now
		}
	}
	os.Exit(3)
}

// TestKill9 runs the spool in a child process, SIGKILLs it mid-stream
// (twice, on the same directory), and checks that every record the child
// reported as synced is present exactly once, with no gaps before the last
// record present (blocks are written in order) and no duplicates anywhere.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns processes")
	}
	dir := t.TempDir()
	synced := map[string]int{}
	for round := 1; round <= 2; round++ {
		src := fmt.Sprintf("round%d", round)
		synced[src] = runAndKill(t, dir, round, 8000+4000*round)
	}

	s := mustOpen(t, testConfig(t, dir))
	counts := countN(t, allLines(t, s))
	for src, last := range synced {
		got := counts[src]
		maxN := 0
		for n, c := range got {
			if c != 1 {
				t.Errorf("%s record %d seen %d times", src, n, c)
			}
			maxN = max(maxN, n)
		}
		if maxN < last {
			t.Errorf("%s: last synced record %d, but only up to %d recovered", src, last, maxN)
		}
		for n := 1; n <= maxN; n++ {
			if got[n] != 1 {
				t.Fatalf("%s: record %d missing (last synced %d, highest present %d)", src, n, last, maxN)
			}
		}
		t.Logf("%s: synced %d, recovered %d", src, last, maxN)
	}
	if rep, err := Verify(dir); err != nil || !rep.OK() {
		t.Errorf("Verify after kills: %v %+v", err, rep)
	}
}

// runAndKill starts the child, kills it once it reported killAfter synced
// records, and returns the highest synced number it reported.
func runAndKill(t *testing.T, dir string, round, killAfter int) int {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestKill9Child$", "-test.count=1")
	cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s|%d", killChildEnv, dir, round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	last, killed := 0, false
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		line := sc.Text()
		if rest, ok := strings.CutPrefix(line, "synced "); ok {
			n, err := strconv.Atoi(rest)
			if err != nil {
				t.Fatalf("child said %q", line)
			}
			last = n
			if n >= killAfter && !killed {
				if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
					t.Fatal(err)
				}
				killed = true
			}
		} else if strings.HasPrefix(line, "error") {
			t.Errorf("child: %s", line)
		}
	}
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended before it was killed: %v", err)
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child was not killed by SIGKILL: %v", err)
	}
	return last
}
