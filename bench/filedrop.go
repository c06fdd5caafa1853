package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/cloudscout/cloudscout/collector/anonymize"
	"github.com/cloudscout/cloudscout/collector/spool"
)

// fileResult is the file-drop path, measured through a proxy while the
// watched-folder input is not wired into the collector: 'cloudscout parse'
// (parse + pseudonymize + JSON, one process) piped into the collector's own
// spool package in the harness (zstd blocks, segment writes, fsync, seal).
type fileResult struct {
	Proxy         string  `json:"proxy"`
	InputBytes    int64   `json:"input_bytes"`
	Lines         int64   `json:"lines"`
	Records       int64   `json:"records"`
	Seconds       float64 `json:"seconds"`                  // processing time
	SettleSeconds float64 `json:"settle_seconds,omitempty"` // watched folder: drop to first line
	MBps          float64 `json:"mb_per_s"`
	LinesPerSec   float64 `json:"lines_per_s"`
	ParseCPU      float64 `json:"parse_cpu_seconds"`
	SpoolCPU      float64 `json:"spool_cpu_seconds"`
	MBperCPUSec   float64 `json:"mb_per_cpu_second"`
	SpooledBytes  int64   `json:"spooled_bytes"` // compressed batches
	Ratio         float64 `json:"compression_ratio"`
	Fsyncs        int64   `json:"spool_fsyncs,omitempty"`        // watched folder: group commits during the file
	FsyncSeconds  float64 `json:"spool_fsync_seconds,omitempty"` // and the time they took
	Error         string  `json:"error,omitempty"`
}

// makeFortiFile writes about size bytes of FortiGate lines (file form).
// It returns the number of lines.
func makeFortiFile(ctx context.Context, h *harness, path string, size int64) (int64, error) {
	count := size / 710
	out, e, _, err := runCapture(ctx, 10*time.Minute, h.root, h.genBin, "loadgen", "--target", "file://"+path,
		"--format", "fortigate", "--count", fmt.Sprint(count), "--json")
	if err != nil {
		return 0, fmt.Errorf("loadgen file: %v: %s %s", err, out, lastLine(e))
	}
	var res loadgenOut
	if err := json.Unmarshal(out, &res); err != nil {
		return 0, err
	}
	return res.Messages, nil
}

func runFileDrop(ctx context.Context, h *harness, input string, run int) (fileResult, error) {
	res := fileResult{Proxy: "cloudscout parse --anonymize-key | spool (in the harness)"}
	dir := filepath.Join(h.work, "filedrop", fmt.Sprintf("run%d", run))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	defer func() {
		if !h.keep {
			_ = os.RemoveAll(dir)
		}
	}()
	keyFile := filepath.Join(dir, "anonymize.key")
	if _, _, err := anonymize.LoadOrCreateKey(keyFile); err != nil {
		return res, err
	}
	st, err := os.Stat(input)
	if err != nil {
		return res, err
	}
	res.InputBytes = st.Size()
	sp, err := spool.Open(spool.Config{Dir: filepath.Join(dir, "spool"), Collector: "bench", Compression: "zstd"})
	if err != nil {
		return res, err
	}
	sctx, stopSpool := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); _ = sp.Run(sctx) }()
	defer func() { stopSpool(); wg.Wait() }()

	cpu0 := selfCPU()
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, h.bin, "parse", "--format", "fortigate", "--timezone", "UTC", "--anonymize-key", keyFile, input)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return res, err
	}
	if err := cmd.Start(); err != nil {
		return res, err
	}
	key := []byte(`"@timestamp":"`)
	br := bufio.NewReaderSize(stdout, 1<<20)
	var appendErr error
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 1 {
			rec := line[:len(line)-1]
			var ts time.Time
			if i := bytes.Index(rec, key); i >= 0 {
				if j := bytes.IndexByte(rec[i+len(key):], '"'); j >= 0 {
					ts, _ = time.Parse(time.RFC3339Nano, string(rec[i+len(key):i+len(key)+j]))
				}
			}
			for {
				aerr := sp.Append("bench", rec, ts)
				if aerr == nil {
					res.Records++
					break
				}
				if !errors.Is(aerr, spool.ErrFull) {
					appendErr = aerr
					break
				}
				if werr := sp.Wait(ctx); werr != nil {
					appendErr = werr
					break
				}
			}
		}
		if err != nil || appendErr != nil {
			break
		}
	}
	werr := cmd.Wait()
	if appendErr != nil {
		return res, appendErr
	}
	if werr != nil {
		return res, fmt.Errorf("parse: %v: %s", werr, lastLine(stderr.Bytes()))
	}
	if err := sp.SealAll(); err != nil {
		return res, err
	}
	res.Seconds = time.Since(t0).Seconds()
	res.SpoolCPU = selfCPU() - cpu0
	res.ParseCPU = (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	// "lines read: N  records: M ..."
	if f := strings.Fields(stderr.String()); len(f) > 2 && f[0] == "lines" {
		fmt.Sscan(f[2], &res.Lines)
	}
	res.MBps = float64(res.InputBytes) / 1e6 / res.Seconds
	res.LinesPerSec = float64(res.Lines) / res.Seconds
	if cpu := res.ParseCPU + res.SpoolCPU; cpu > 0 {
		res.MBperCPUSec = float64(res.InputBytes) / 1e6 / cpu
	}
	_ = filepath.WalkDir(filepath.Join(dir, "spool", "batches"), func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".zst") {
			if info, err := d.Info(); err == nil {
				res.SpooledBytes += info.Size()
			}
		}
		return nil
	})
	if res.SpooledBytes > 0 {
		res.Ratio = float64(res.InputBytes) / float64(res.SpooledBytes)
	}
	return res, nil
}

// watchConfig is a collector with one source fed by a watched folder.
func watchConfig(dir string, admin int) string {
	return fmt.Sprintf(`collector:
  name: bench
  data_dir: %[1]s/data
  admin: 127.0.0.1:%[2]d
  log_level: warn
  log_format: json
anonymize:
  key_file: %[1]s/anonymize.key
upload:
  interval: %[3]s
  targets:
    - name: outbox
      url: file://%[1]s/outbox
sources:
  - name: bench
    format: fortigate
    timezone: UTC
    watch:
      - dir: %[1]s/in
        pattern: "*.log"
        archive: %[1]s/archive
`, dir, admin, uploadInterval)
}

// errWatchUnwired means the collector accepted a watch: source but read
// nothing from it: the watched-folder input is not wired in yet.
var errWatchUnwired = errors.New("the collector does not read watched folders yet")

// dropFile moves src into dir under name (temp name first, as devices do).
func dropFile(src, dir, name string) error {
	tmp := filepath.Join(dir, "."+name+".part")
	if err := os.Rename(src, tmp); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(dir, name))
}

// runWatchDrop measures the real file-drop path: a collector watching a
// folder, the file moved into it, until every record has shipped. A small
// probe file first tells whether the input is wired at all.
func runWatchDrop(ctx context.Context, h *harness, input string, lines int64, run int) (fileResult, error) {
	res := fileResult{Proxy: "collector watched folder (real path)"}
	dir := filepath.Join(h.work, "watch", fmt.Sprintf("run%d", run))
	for _, d := range []string{"in", "archive", "outbox"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return res, err
		}
	}
	defer func() {
		if !h.keep {
			_ = os.RemoveAll(dir)
		}
	}()
	admin, err := freePort("tcp")
	if err != nil {
		return res, err
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(watchConfig(dir, admin)), 0o644); err != nil {
		return res, err
	}
	col, err := startChild(filepath.Join(dir, "collector.log"), dir, h.bin, "run", "--config", cfgPath)
	if err != nil {
		return res, err
	}
	defer col.stop(20 * time.Second)
	base := fmt.Sprintf("http://127.0.0.1:%d", admin)
	if err := waitReady(ctx, base, col.exited, 30*time.Second); err != nil {
		return res, fmt.Errorf("collector with a watched folder: %w (see %s)", err, filepath.Join(dir, "collector.log"))
	}
	received := func() float64 {
		m, err := scrape(ctx, base)
		if err != nil {
			return -1
		}
		return m["cloudscout_source_received_total"]
	}
	// Probe: 1000 lines must be read within 15 s.
	probe := filepath.Join(dir, "probe.src")
	if _, _, _, err := runCapture(ctx, time.Minute, h.root, h.genBin, "loadgen", "--target", "file://"+probe, "--format", "fortigate", "--count", "1000"); err != nil {
		return res, err
	}
	if err := dropFile(probe, filepath.Join(dir, "in"), "probe.log"); err != nil {
		return res, err
	}
	deadline := time.Now().Add(15 * time.Second)
	for received() < 1000 {
		if time.Now().After(deadline) {
			return res, errWatchUnwired
		}
		time.Sleep(100 * time.Millisecond)
	}
	st, err := os.Stat(input)
	if err != nil {
		return res, err
	}
	res.InputBytes = st.Size()
	w := newOutboxWatcher(filepath.Join(dir, "outbox"))
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(wctx, 50*time.Millisecond) }()
	defer func() { stopWatch(); wg.Wait() }()

	pid := col.pid()
	m0, err := scrape(ctx, base)
	if err != nil {
		return res, err
	}
	cpu0, _ := procCPU(pid) // includes the settle wait, an idle time
	t0 := time.Now()
	moved := filepath.Join(dir, "in", "big.log")
	if err := dropFile(input, filepath.Join(dir, "in"), "big.log"); err != nil {
		return res, err
	}
	// The input goes back where it was for the next run, wherever the
	// collector put it (archive folder), once it is done with it.
	defer func() {
		_ = col.stop(20 * time.Second)
		restoreInput(input, moved, filepath.Join(dir, "archive"))
	}()
	// Processing ends when every line is counted and every record spooled.
	// Processing runs from the first line counted (shares wait until a file
	// has stopped changing: that settle time is reported apart) to the last.
	var m metrics
	var tFirst time.Time
	deadline = time.Now().Add(10 * time.Minute)
	for {
		if m, err = scrape(ctx, base); err == nil {
			n := int64(m["cloudscout_source_received_total"])
			if n > 1000 && tFirst.IsZero() {
				tFirst = time.Now()
			}
			if n >= 1000+lines {
				break
			}
		}
		if time.Now().After(deadline) {
			return res, errors.New("the watched file was not processed within 10 minutes")
		}
		time.Sleep(50 * time.Millisecond)
	}
	res.SettleSeconds = tFirst.Sub(t0).Seconds()
	res.Seconds = time.Since(tFirst).Seconds()
	cpu1, _ := procCPU(pid)
	res.SpoolCPU = cpu1 - cpu0
	// A file is committed (spool fsync) every few thousand lines: the time
	// spent waiting there bounds a single folder's speed.
	res.Fsyncs = int64(m["cloudscout_spool_fsync_duration_seconds_count"] - m0["cloudscout_spool_fsync_duration_seconds_count"])
	res.FsyncSeconds = m["cloudscout_spool_fsync_duration_seconds_sum"] - m0["cloudscout_spool_fsync_duration_seconds_sum"]
	res.Records = int64(m["cloudscout_source_records_total"]) - 1000
	res.Lines = int64(m["cloudscout_source_received_total"]) - 1000
	res.MBps = float64(res.InputBytes) / 1e6 / res.Seconds
	res.LinesPerSec = float64(res.Lines) / res.Seconds
	if res.SpoolCPU > 0 {
		res.MBperCPUSec = float64(res.InputBytes) / 1e6 / res.SpoolCPU
	}
	// Then the batches ship (for the compression ratio).
	for time.Now().Before(deadline) {
		if n, _ := w.shipped(); n >= int64(m["cloudscout_source_records_total"]) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	stopWatch()
	wg.Wait()
	if sh, err := readShipped(w.sightings()); err == nil && sh.Bytes > 0 {
		res.SpooledBytes = sh.Bytes
		res.Ratio = float64(res.InputBytes) / float64(sh.Bytes)
	}
	return res, nil
}

func restoreInput(input, moved, archive string) {
	if _, err := os.Stat(input); err == nil {
		return
	}
	if os.Rename(moved, input) == nil {
		return
	}
	var best string
	var size int64
	_ = filepath.WalkDir(archive, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil && info.Size() > size {
				best, size = p, info.Size()
			}
		}
		return nil
	})
	if best != "" {
		_ = os.Rename(best, input)
	}
}
