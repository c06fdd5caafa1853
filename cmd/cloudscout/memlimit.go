package main

import (
	"os"
	"runtime/debug"
	"strconv"
	"strings"
)

// cgroupMemoryFiles hold the container's memory limit (cgroup v2, then v1).
var cgroupMemoryFiles = []string{"/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"}

// applyMemoryLimit sets the heap ceiling: the configured memory_limit,
// else GOMEMLIMIT (the runtime applied it already), else 75% of the
// container's memory limit, so the collector gives memory back to the
// kernel before the OOM killer takes it. It returns the limit set (0: none)
// and where it came from.
func applyMemoryLimit(configured int64, files []string) (int64, string) {
	switch {
	case configured > 0:
		debug.SetMemoryLimit(configured)
		return configured, "collector.memory_limit"
	case os.Getenv("GOMEMLIMIT") != "":
		return debug.SetMemoryLimit(-1), "GOMEMLIMIT"
	}
	for _, f := range files {
		if n := readCgroupLimit(f); n > 0 {
			lim := n / 4 * 3
			debug.SetMemoryLimit(lim)
			return lim, "75% of the cgroup memory limit (" + f + ")"
		}
	}
	return 0, ""
}

// readCgroupLimit returns the limit in a cgroup memory file, or 0 for none
// ("max", a v1 "unlimited" value near 2^63, a missing file).
func readCgroupLimit(path string) int64 {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	n, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n <= 0 || n >= 1<<62 {
		return 0
	}
	return n
}
