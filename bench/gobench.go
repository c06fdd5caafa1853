package main

import (
	"bufio"
	"bytes"
	"context"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// goBench is one line of 'go test -bench' output.
type goBench struct {
	Package     string  `json:"package"`
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"ns_per_op"`
	MBps        float64 `json:"mb_per_s,omitempty"`
	BytesPerOp  int64   `json:"bytes_per_op"`
	AllocsPerOp int64   `json:"allocs_per_op"`
}

var benchLine = regexp.MustCompile(`^(Benchmark\S+?)(?:-\d+)?\s+\d+\s+([\d.]+) ns/op(?:\s+([\d.]+) MB/s)?(?:\s+(\d+) B/op\s+(\d+) allocs/op)?`)

// parseGoBench reads 'go test -bench' output.
func parseGoBench(out []byte) []goBench {
	var res []goBench
	pkg := ""
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/cloudscout/cloudscout/")
			continue
		}
		m := benchLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		b := goBench{Package: pkg, Name: m[1]}
		b.NsPerOp, _ = strconv.ParseFloat(m[2], 64)
		if m[3] != "" {
			b.MBps, _ = strconv.ParseFloat(m[3], 64)
		}
		if m[4] != "" {
			b.BytesPerOp, _ = strconv.ParseInt(m[4], 10, 64)
			b.AllocsPerOp, _ = strconv.ParseInt(m[5], 10, 64)
		}
		res = append(res, b)
	}
	return res
}

// runGoBenches runs the package benchmarks (parsers, and the spool and
// syslog framer in full mode) once each, sequentially (-p 1): they share
// the machine with nothing else of the harness.
func runGoBenches(ctx context.Context, h *harness, pkgs []string, benchtime string) ([]goBench, string, error) {
	args := append([]string{"test", "-p", "1", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", benchtime}, pkgs...)
	out, errOut, _, err := runCapture(ctx, 10*time.Minute, h.root, h.goBin, args...)
	res := parseGoBench(out)
	if err != nil {
		return res, string(out) + string(errOut), err
	}
	return res, "", nil
}
