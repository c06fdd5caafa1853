package spool

import (
	"sync"
	"syscall"
	"testing"
)

// limitFileSize lowers RLIMIT_FSIZE for the whole process, so writes past
// limit fail (EFBIG; Go ignores SIGXFSZ). The returned func restores it and
// is also run at cleanup. Tests using it must not run in parallel.
func limitFileSize(t *testing.T, limit uint64) func() {
	t.Helper()
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
