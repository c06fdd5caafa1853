package main

import (
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"
)

func TestApplyMemoryLimit(t *testing.T) {
	defer debug.SetMemoryLimit(debug.SetMemoryLimit(-1))
	t.Setenv("GOMEMLIMIT", "")
	os.Unsetenv("GOMEMLIMIT")
	dir := t.TempDir()
	write := func(name, v string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	v2max := write("v2max", "max\n")
	v2 := write("v2", "1073741824\n")
	v1unlimited := write("v1", "9223372036854771712\n")

	if lim, from := applyMemoryLimit(500<<20, []string{v2}); lim != 500<<20 || from != "collector.memory_limit" {
		t.Errorf("configured: %d from %q", lim, from)
	}
	if got := debug.SetMemoryLimit(-1); got != 500<<20 {
		t.Errorf("runtime limit %d after configured 500 MiB", got)
	}
	if lim, _ := applyMemoryLimit(0, []string{v2max, v1unlimited, filepath.Join(dir, "missing")}); lim != 0 {
		t.Errorf("no cgroup limit: got %d", lim)
	}
	if lim, _ := applyMemoryLimit(0, []string{v2max, v2}); lim != 768<<20 {
		t.Errorf("cgroup 1 GiB: got %d, want 75%% = %d", lim, 768<<20)
	}
	if got := debug.SetMemoryLimit(-1); got != 768<<20 {
		t.Errorf("runtime limit %d after cgroup 1 GiB", got)
	}
	t.Setenv("GOMEMLIMIT", "300MiB")
	if _, from := applyMemoryLimit(0, []string{v2}); from != "GOMEMLIMIT" {
		t.Errorf("GOMEMLIMIT set: from %q", from)
	}
}
