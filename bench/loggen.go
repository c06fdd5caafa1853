package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// loggenResult is syslog-ng's loggen, an independent generator, feeding
// the collector (TCP, LF framing) with lines read from a file.
type loggenResult struct {
	Available      bool    `json:"available"`
	Why            string  `json:"why,omitempty"` // when not available or failed
	Binary         string  `json:"binary,omitempty"`
	Sent           int64   `json:"sent"`
	GenRate        float64 `json:"generator_msgs_per_s"`
	Received       int64   `json:"received"`
	RecvSeconds    float64 `json:"receive_seconds"`
	RecvMsgsPerSec float64 `json:"recv_msgs_per_s"`
	CPUSeconds     float64 `json:"cpu_seconds"`
	MsgsPerCPUSec  float64 `json:"msgs_per_cpu_second"`
	PeakRSSMB      float64 `json:"peak_rss_mb"`
	Failed         int64   `json:"failed"`
}

// findLoggen returns a runnable loggen and the environment it needs. The
// Debian package syslog-ng-core conflicts with rsyslog, so its .deb is
// fetched with apt-get download and unpacked into cache (no installation).
func findLoggen(ctx context.Context, cache string) (bin string, env []string, err error) {
	if p, err := exec.LookPath("loggen"); err == nil {
		return p, nil, nil
	}
	root := filepath.Join(cache, "root")
	bin = filepath.Join(root, "usr", "bin", "loggen")
	if _, err := os.Stat(bin); err != nil {
		if _, err := exec.LookPath("apt-get"); err != nil {
			return "", nil, errors.New("loggen is not installed and apt-get is not available to fetch syslog-ng-core")
		}
		if err := os.MkdirAll(cache, 0o755); err != nil {
			return "", nil, err
		}
		if _, e, _, err := runCapture(ctx, 2*time.Minute, cache, "apt-get", "download", "syslog-ng-core"); err != nil {
			return "", nil, fmt.Errorf("apt-get download syslog-ng-core: %v: %s", err, lastLine(e))
		}
		debs, _ := filepath.Glob(filepath.Join(cache, "syslog-ng-core_*.deb"))
		if len(debs) == 0 {
			return "", nil, errors.New("apt-get download syslog-ng-core left no .deb")
		}
		if _, e, _, err := runCapture(ctx, time.Minute, cache, "dpkg", "-x", debs[0], root); err != nil {
			return "", nil, fmt.Errorf("dpkg -x: %v: %s", err, lastLine(e))
		}
	}
	// loggen finds its plugins below SYSLOGNG_PREFIX and its helper library
	// next to them.
	env = append(os.Environ(),
		"SYSLOGNG_PREFIX="+filepath.Join(root, "usr"),
		"LD_LIBRARY_PATH="+filepath.Join(root, "usr", "lib", "syslog-ng"))
	cmd := exec.CommandContext(ctx, bin, "--help")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", nil, fmt.Errorf("loggen does not run (missing libraries? see ldd %s): %v: %s", bin, err, lastLine(out))
	}
	return bin, env, nil
}

func lastLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = s[i+1:]
	}
	return s
}

var loggenCount = regexp.MustCompile(`count=(\d+)`)

// runLoggen feeds the collector (fortigate source, TCP) from loggen reading
// a file of FortiGate lines, and measures the collector as in runCollector
// (without latency: the lines carry the file's fixed times).
func runLoggen(ctx context.Context, h *harness, lines string, dur time.Duration) loggenResult {
	res := loggenResult{}
	bin, env, err := findLoggen(ctx, filepath.Join(h.out, ".loggen"))
	if err != nil {
		res.Why = err.Error()
		return res
	}
	res.Available, res.Binary = true, bin
	sc := scenario{Name: "loggen", Transport: "tcp", Source: "fortigate"}
	dir := filepath.Join(h.work, "loggen")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		res.Why = err.Error()
		return res
	}
	port, err1 := freePort("tcp")
	admin, err2 := freePort("tcp")
	if err := errors.Join(err1, err2); err != nil {
		res.Why = err.Error()
		return res
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(collectorConfig(dir, sc, port, admin, h.certs)), 0o644); err != nil {
		res.Why = err.Error()
		return res
	}
	col, err := startChild(filepath.Join(dir, "collector.log"), dir, h.bin, "run", "--config", cfgPath)
	if err != nil {
		res.Why = err.Error()
		return res
	}
	defer col.stop(20 * time.Second)
	base := fmt.Sprintf("http://127.0.0.1:%d", admin)
	if err := waitReady(ctx, base, col.exited, 30*time.Second); err != nil {
		res.Why = "collector: " + err.Error()
		return res
	}
	pid := col.pid()
	cpu0, _ := procCPU(pid)
	t0 := time.Now()
	// -R/-d: send the file's lines as they are; -l: loop over the file;
	// -r: per-connection rate cap, set beyond what one connection reaches.
	args := []string{"-i", "-S", "-R", lines, "-d", "-l", "-r", "10000000", "-I", strconv.Itoa(int(dur.Seconds())),
		"--active-connections", "2", "127.0.0.1", strconv.Itoa(port)}
	cctx, cancel := context.WithTimeout(ctx, dur+time.Minute)
	defer cancel()
	cmd := exec.CommandContext(cctx, bin, args...)
	cmd.Env = env
	var mu sync.Mutex
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &lockedWriter{mu: &mu, w: &out}, &lockedWriter{mu: &mu, w: &out}
	err = cmd.Run()
	mu.Lock()
	text := out.String()
	mu.Unlock()
	if err != nil {
		res.Why = fmt.Sprintf("loggen failed: %v: %s", err, lastLine([]byte(text)))
		return res
	}
	if mm := loggenCount.FindAllStringSubmatch(text, -1); len(mm) > 0 {
		res.Sent, _ = strconv.ParseInt(mm[len(mm)-1][1], 10, 64)
	}
	if res.Sent == 0 {
		res.Why = "could not read loggen's message count: " + lastLine([]byte(text))
		return res
	}
	res.GenRate = float64(res.Sent) / time.Since(t0).Seconds()
	var tRecv time.Time
	var m metrics
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m, err = scrape(ctx, base); err == nil && int64(m["cloudscout_source_received_total"]) >= res.Sent {
			tRecv = time.Now()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cpu1, _ := procCPU(pid)
	_, hwm, _ := procMem(pid)
	if m != nil {
		res.Received = int64(m["cloudscout_source_received_total"])
		res.Failed = int64(m["cloudscout_source_failed_total"])
	}
	if tRecv.IsZero() {
		res.Why = fmt.Sprintf("the collector counted %d of the %d messages loggen reports", res.Received, res.Sent)
		tRecv = time.Now()
	}
	res.RecvSeconds = tRecv.Sub(t0).Seconds()
	res.RecvMsgsPerSec = float64(res.Received) / res.RecvSeconds
	res.CPUSeconds = cpu1 - cpu0
	if res.CPUSeconds > 0 {
		res.MsgsPerCPUSec = float64(res.Received) / res.CPUSeconds
	}
	res.PeakRSSMB = mb(hwm)
	if err := col.stop(20 * time.Second); err != nil {
		res.Why = strings.TrimPrefix(res.Why+"; ", "; ") + "collector exit: " + err.Error()
	}
	if !h.keep {
		_ = os.RemoveAll(dir)
	}
	return res
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
