//go:build linux

package ftp

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// A real ENOSPC in the middle of an upload: 452, and no torn file anywhere.
// Needs permission to mount a small tmpfs (root in CI); skipped otherwise.
func TestRealDiskFull(t *testing.T) {
	mnt := t.TempDir()
	if err := unix.Mount("tmpfs", mnt, "tmpfs", 0, "size=1m"); err != nil {
		t.Skipf("cannot mount a tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = unix.Unmount(mnt, unix.MNT_DETACH) })
	drop := filepath.Join(mnt, "drop")
	ts := startServer(t, func(c *Config) { c.Accounts[0].DropDir = drop })
	c := dialJ(t, ts.addr())
	if err := c.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	err := c.Stor("big.log", bytes.NewReader(bytes.Repeat([]byte("0123456789abcdef\n"), 200000))) // 3.4 MB
	if err == nil || !strings.Contains(err.Error(), "452") {
		t.Fatalf("upload to a full disk: %v", err)
	}
	if files := dropFiles(t, drop); len(files) != 0 {
		t.Fatalf("stored %v", keys(files))
	}
	waitFor(t, "temp removed", 10*time.Second, func() bool { return incomingCount(t, drop) == 0 })
	// Space is back: the next upload works without a restart.
	if err := c.Stor("small.log", strings.NewReader(squidLog)); err != nil {
		t.Fatal(err)
	}
	if got := dropFiles(t, drop)["small.log"]; got != squidLog {
		t.Fatalf("content %q", got)
	}
	_ = os.Remove(filepath.Join(drop, "small.log"))
}
