package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"
)

// baselineResult is one run of rsyslog receiving the same stream.
type baselineResult struct {
	Sent           int64    `json:"sent"`
	Received       int64    `json:"received"` // lines written to the output file
	RecvSeconds    float64  `json:"receive_seconds"`
	RecvMsgsPerSec float64  `json:"recv_msgs_per_s"`
	RecvMBps       float64  `json:"recv_mb_per_s"`
	CPUSeconds     float64  `json:"cpu_seconds"`
	MsgsPerCPUSec  float64  `json:"msgs_per_cpu_second"`
	CPUPercent     float64  `json:"cpu_percent"`
	PeakRSSMB      float64  `json:"peak_rss_mb"`
	Errors         []string `json:"errors,omitempty"`
}

func rsyslogPath() string {
	for _, p := range []string{"rsyslogd", "/usr/sbin/rsyslogd"} {
		if q, err := exec.LookPath(p); err == nil {
			return q
		}
	}
	return ""
}

// rsyslogConf receives on imtcp (plain or gtls) and writes every message to
// one file with the traditional file template.
func rsyslogConf(dir string, port int, tls bool, certs certFiles) string {
	var b strings.Builder
	fmt.Fprintf(&b, "global(workDirectory=%q maxMessageSize=\"64k\")\n", dir)
	if tls {
		fmt.Fprintf(&b, "global(defaultNetstreamDriver=\"gtls\" defaultNetstreamDriverCAFile=%q defaultNetstreamDriverCertFile=%q defaultNetstreamDriverKeyFile=%q)\n", certs.CA, certs.Cert, certs.Key)
		b.WriteString("module(load=\"imtcp\" streamDriver.name=\"gtls\" streamDriver.mode=\"1\" streamDriver.authMode=\"anon\" maxSessions=\"200\")\n")
	} else {
		b.WriteString("module(load=\"imtcp\" maxSessions=\"200\")\n")
	}
	fmt.Fprintf(&b, "input(type=\"imtcp\" address=\"127.0.0.1\" port=\"%d\")\n", port)
	fmt.Fprintf(&b, "action(type=\"omfile\" file=%q template=\"RSYSLOG_FileFormat\")\n", filepath.Join(dir, "out.log"))
	return b.String()
}

// lineCounter counts LFs appended to a growing file.
type lineCounter struct {
	f   *os.File
	n   int64
	buf []byte
}

func (c *lineCounter) update(path string) int64 {
	if c.f == nil {
		f, err := os.Open(path)
		if err != nil {
			return c.n
		}
		c.f, c.buf = f, make([]byte, 1<<20)
	}
	for {
		k, err := c.f.Read(c.buf)
		c.n += int64(bytes.Count(c.buf[:k], []byte{'\n'}))
		if err == io.EOF || k == 0 || err != nil {
			return c.n
		}
	}
}

func (c *lineCounter) close() {
	if c.f != nil {
		c.f.Close()
		c.f = nil
	}
}

func runRsyslog(ctx context.Context, h *harness, sc scenario, run int) (baselineResult, error) {
	var res baselineResult
	dir := filepath.Join(h.work, sc.Name, fmt.Sprintf("rsyslog%d", run))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	port, err := freePort("tcp")
	if err != nil {
		return res, err
	}
	conf := filepath.Join(dir, "rsyslog.conf")
	if err := os.WriteFile(conf, []byte(rsyslogConf(dir, port, sc.Transport == "tls", h.certs)), 0o644); err != nil {
		return res, err
	}
	rs, err := startChild(filepath.Join(dir, "rsyslogd.log"), dir, h.rsyslogd, "-n", "-f", conf, "-i", filepath.Join(dir, "rsyslogd.pid"))
	if err != nil {
		return res, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = rs.stop(10 * time.Second)
		}
	}()
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	if err := waitTCP(ctx, addr, rs.exited, 20*time.Second); err != nil {
		return res, fmt.Errorf("rsyslogd: %w (see %s)", err, filepath.Join(dir, "rsyslogd.log"))
	}
	pid := rs.pid()
	cpu0, err := procCPU(pid)
	if err != nil {
		return res, err
	}
	gen, _, err := runLoadgenChild(ctx, h, loadgenArgs(sc, sc.Transport+"://"+addr, h.certs), sc.dur)
	res.Sent = gen.Messages
	if err != nil {
		return res, err
	}
	lc := &lineCounter{}
	out := filepath.Join(dir, "out.log")
	var tDone time.Time
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if lc.update(out) >= res.Sent {
			tDone = time.Now()
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cpu1, _ := procCPU(pid)
	_, hwm, _ := procMem(pid)
	res.Received = lc.n
	if tDone.IsZero() {
		res.Errors = append(res.Errors, fmt.Sprintf("rsyslog wrote %d of %d messages after 60 s", lc.n, res.Sent))
		tDone = time.Now()
	}
	res.RecvSeconds = tDone.Sub(gen.Start).Seconds()
	res.RecvMsgsPerSec = float64(res.Received) / res.RecvSeconds
	res.RecvMBps = float64(gen.Bytes) / 1e6 / res.RecvSeconds
	res.CPUSeconds = cpu1 - cpu0
	if res.CPUSeconds > 0 {
		res.MsgsPerCPUSec = float64(res.Received) / res.CPUSeconds
	}
	res.CPUPercent = 100 * res.CPUSeconds / res.RecvSeconds
	res.PeakRSSMB = mb(hwm)
	lc.close()
	stopped = true
	if err := rs.stop(10 * time.Second); err != nil && !isSignalExit(err) {
		res.Errors = append(res.Errors, fmt.Sprintf("rsyslogd exit: %v", err))
	}
	if !h.keep {
		_ = os.RemoveAll(dir)
	}
	return res, nil
}
