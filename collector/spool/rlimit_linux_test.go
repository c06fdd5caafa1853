package spool

import (
	"bytes"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
)

// isolatedEnv names the test a child test process runs (runIsolated).
const isolatedEnv = "CLOUDSCOUT_SPOOL_ISOLATED_TEST"

// runIsolated runs the calling test again in a child process of the test
// binary and reports true only in that child, where the test goes on.
// RLIMIT_FSIZE is per process: lowered in the test process, it also makes
// the go command's test log fail ("file too large") and the package fail
// although every test passed.
func runIsolated(t *testing.T) bool {
	t.Helper()
	if os.Getenv(isolatedEnv) == t.Name() {
		return true
	}
	cmd := exec.Command(os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v", "-test.timeout=5m")
	cmd.Env = append(os.Environ(), isolatedEnv+"="+t.Name())
	out, err := cmd.CombinedOutput()
	switch {
	case err != nil:
		t.Fatalf("isolated run: %v\n%s", err, out)
	case bytes.Contains(out, []byte("--- SKIP: "+t.Name())):
		t.Skipf("isolated run skipped:\n%s", out)
	case !bytes.Contains(out, []byte("--- PASS: "+t.Name())):
		t.Fatalf("isolated run did not pass:\n%s", out)
	}
	return false
}

// limitFileSize lowers RLIMIT_FSIZE for the whole process, so writes past
// limit fail (EFBIG; Go ignores SIGXFSZ). The returned func restores it and
// is also run at cleanup. Only for tests under runIsolated.
func limitFileSize(t *testing.T, limit uint64) func() {
	t.Helper()
	if os.Getenv(isolatedEnv) != t.Name() {
		t.Fatal("limitFileSize outside runIsolated")
	}
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		t.Skipf("getrlimit: %v", err)
	}
	lim := old
	lim.Cur = limit
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim); err != nil {
		t.Skipf("setrlimit: %v", err)
	}
	var once sync.Once
	restore := func() {
		once.Do(func() {
			if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
				t.Errorf("restore rlimit: %v", err)
			}
		})
	}
	t.Cleanup(restore)
	return restore
}
