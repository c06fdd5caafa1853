package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"
)

// scenario is one way of feeding the collector.
type scenario struct {
	Name        string  `json:"name"`
	Title       string  `json:"title"`
	Transport   string  `json:"transport"` // tcp, tls, udp
	Framing     string  `json:"framing,omitempty"`
	Format      string  `json:"format"`        // loadgen --format
	Source      string  `json:"source_format"` // the collector source's format
	Size        int     `json:"size,omitempty"`
	Rate        float64 `json:"rate,omitempty"` // 0 = flat out
	Conns       int     `json:"connections"`
	Duration    string  `json:"duration"`
	Runs        int     `json:"runs_planned"`
	Rsyslog     bool    `json:"rsyslog_baseline"`
	dur         time.Duration
	rawParserRE string
}

// sample is one point of a run's time series.
type sample struct {
	T        float64 `json:"t"` // seconds since the load started
	Received float64 `json:"received"`
	CPU      float64 `json:"cpu_seconds"`
	RSSMB    float64 `json:"rss_mb"`
}

// runResult is one run of a scenario against the collector.
type runResult struct {
	Sent      int64   `json:"sent"`
	SentBytes int64   `json:"sent_bytes"`
	GenRate   float64 `json:"generator_msgs_per_s"`
	GenCPU    float64 `json:"generator_cpu_seconds"`

	Received       int64   `json:"received"`
	ReceivedBytes  int64   `json:"received_bytes"`
	RecvSeconds    float64 `json:"receive_seconds"`
	RecvMsgsPerSec float64 `json:"recv_msgs_per_s"`
	RecvMBps       float64 `json:"recv_mb_per_s"`
	Records        int64   `json:"records"`
	Failed         int64   `json:"failed"`
	Skipped        int64   `json:"skipped"`
	Dropped        int64   `json:"dropped"`

	Shipped        int64   `json:"shipped_records"`
	Batches        int     `json:"batches"`
	ShippedBytes   int64   `json:"shipped_bytes"` // compressed
	ShippedRaw     int64   `json:"shipped_raw_bytes"`
	ShipSeconds    float64 `json:"ship_seconds"`
	ShipMsgsPerSec float64 `json:"ship_msgs_per_s"`
	ShipMBps       float64 `json:"ship_mb_per_s"` // compressed MB/s
	ShipRawMBps    float64 `json:"ship_raw_mb_per_s"`
	ManifestsOK    bool    `json:"manifests_match_batches"`

	CPUSeconds    float64 `json:"cpu_seconds"`
	MsgsPerCPUSec float64 `json:"msgs_per_cpu_second"`
	CPUPercent    float64 `json:"cpu_percent"` // of one core, over the receive+ship window
	IdleRSSMB     float64 `json:"idle_rss_mb"`
	PeakRSSMB     float64 `json:"peak_rss_mb"`

	UDPKernelDrops int64 `json:"udp_kernel_drops,omitempty"`
	UDPLost        int64 `json:"udp_lost,omitempty"` // sent - received

	LatencyP50 float64 `json:"latency_p50_ms"`
	LatencyP99 float64 `json:"latency_p99_ms"`
	LatencyMax float64 `json:"latency_max_ms"`

	ExitOK bool     `json:"clean_exit"`
	Series []sample `json:"series,omitempty"`
	Errors []string `json:"errors,omitempty"`
}

// loadgenOut is the JSON report of 'cloudscout loadgen'.
type loadgenOut struct {
	Messages   int64     `json:"messages"`
	Bytes      int64     `json:"bytes"`
	Seconds    float64   `json:"seconds"`
	Rate       float64   `json:"messages_per_second"`
	MBps       float64   `json:"mb_per_second"`
	Errors     int64     `json:"errors"`
	FirstError string    `json:"first_error"`
	Start      time.Time `json:"start"`
	End        time.Time `json:"end"`
}

const uploadInterval = 5 * time.Second

func collectorConfig(dir string, sc scenario, port, admin int, certs certFiles) string {
	var b strings.Builder
	fmt.Fprintf(&b, `collector:
  name: bench
  data_dir: %s
  admin: 127.0.0.1:%d
  log_level: warn
  log_format: json
`, filepath.Join(dir, "data"), admin)
	if sc.Transport == "tls" {
		fmt.Fprintf(&b, "syslog:\n  tls:\n    cert: %s\n    key: %s\n", certs.Cert, certs.Key)
	}
	fmt.Fprintf(&b, `anonymize:
  key_file: %s
upload:
  interval: %s
  targets:
    - name: outbox
      url: file://%s
`, filepath.Join(dir, "anonymize.key"), uploadInterval, filepath.Join(dir, "outbox"))
	if sc.rawParserRE != "" {
		fmt.Fprintf(&b, `parsers:
  - name: %s
    type: regex
    pattern: '%s'
    fields:
      event.action: seq
`, sc.Source, sc.rawParserRE)
	}
	fmt.Fprintf(&b, `sources:
  - name: bench
    format: %s
    timezone: UTC
    listen:
      - %s://127.0.0.1:%d
`, sc.Source, sc.Transport, port)
	return b.String()
}

// loadgenArgs builds the generator's command line for a target.
func loadgenArgs(sc scenario, target string, certs certFiles) []string {
	args := []string{"loadgen", "--target", target, "--format", sc.Format, "--connections", fmt.Sprint(sc.Conns), "--json"}
	if sc.Framing != "" {
		args = append(args, "--framing", sc.Framing)
	}
	if sc.Rate > 0 {
		args = append(args, "--rate", fmt.Sprint(sc.Rate))
	}
	if sc.Size > 0 {
		args = append(args, "--size", fmt.Sprint(sc.Size))
	}
	if strings.HasPrefix(target, "tls://") {
		args = append(args, "--ca", certs.CA, "--server-name", "localhost")
	}
	return append(args, "--duration", sc.dur.String())
}

func runLoadgenChild(ctx context.Context, h *harness, args []string, dur time.Duration) (loadgenOut, float64, error) {
	out, errOut, cpu, err := runCapture(ctx, dur+90*time.Second, h.root, h.genBin, args...)
	var res loadgenOut
	if jerr := json.Unmarshal(out, &res); jerr != nil {
		return res, cpu, fmt.Errorf("loadgen: %v (%s)", errOrJSON(err, jerr), strings.TrimSpace(string(errOut)))
	}
	if res.Errors > 0 {
		return res, cpu, fmt.Errorf("loadgen: %d connection(s) failed: %s", res.Errors, res.FirstError)
	}
	return res, cpu, nil
}

func errOrJSON(err, jerr error) error {
	if err != nil {
		return err
	}
	return jerr
}

// runCollector runs one scenario once: start the collector, send, wait
// until everything received has shipped, stop, read the batches back.
func runCollector(ctx context.Context, h *harness, sc scenario, run int) (runResult, error) {
	var res runResult
	dir := filepath.Join(h.work, sc.Name, fmt.Sprintf("run%d", run))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return res, err
	}
	port, err := freePort(sc.Transport)
	if err != nil {
		return res, err
	}
	admin, err := freePort("tcp")
	if err != nil {
		return res, err
	}
	cfgPath := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(collectorConfig(dir, sc, port, admin, h.certs)), 0o644); err != nil {
		return res, err
	}
	col, err := startChild(filepath.Join(dir, "collector.log"), dir, h.bin, "run", "--config", cfgPath)
	if err != nil {
		return res, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = col.stop(20 * time.Second)
		}
	}()
	base := fmt.Sprintf("http://127.0.0.1:%d", admin)
	if err := waitReady(ctx, base, col.exited, 30*time.Second); err != nil {
		return res, fmt.Errorf("collector: %w (see %s)", err, filepath.Join(dir, "collector.log"))
	}
	pid := col.pid()
	// Let start-up garbage settle before calling the footprint idle.
	time.Sleep(h.idleWait)
	rss, _, _ := procMem(pid)
	res.IdleRSSMB = mb(rss)

	w := newOutboxWatcher(filepath.Join(dir, "outbox"))
	wctx, stopWatch := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); w.run(wctx, 50*time.Millisecond) }()

	var prof *child
	if h.perf != "" {
		if prof, err = h.startPerf(pid, dir); err != nil {
			stopWatch()
			wg.Wait()
			return res, err
		}
		time.Sleep(500 * time.Millisecond) // perf attaches
	}
	cpu0, err := procCPU(pid)
	if err != nil {
		stopWatch()
		wg.Wait()
		return res, err
	}
	t0 := time.Now()
	tSeries := t0 // the sampler's clock origin; t0 moves to the generator's start below
	var smu sync.Mutex
	series := []sample{{T: 0, RSSMB: res.IdleRSSMB}}
	wg.Add(1)
	go func() {
		defer wg.Done()
		tk := time.NewTicker(500 * time.Millisecond)
		defer tk.Stop()
		for {
			select {
			case <-wctx.Done():
				return
			case <-tk.C:
			}
			m, err := scrape(wctx, base)
			c, _ := procCPU(pid)
			r, _, _ := procMem(pid)
			if err != nil {
				continue
			}
			smu.Lock()
			series = append(series, sample{T: time.Since(tSeries).Seconds(), Received: m["cloudscout_source_received_total"], CPU: c - cpu0, RSSMB: mb(r)})
			smu.Unlock()
		}
	}()
	finish := func() {
		stopWatch()
		wg.Wait()
		if prof != nil {
			_ = prof.stop(time.Minute)
			prof = nil
		}
	}

	pprofDone := make(chan error, 1)
	if h.pprof != "" {
		// The admin endpoint's CPU profile, over the sending time.
		go func() { pprofDone <- fetchProfile(ctx, base, h.pprof, sc.dur) }()
	} else {
		pprofDone <- nil
	}
	target := fmt.Sprintf("%s://127.0.0.1:%d", sc.Transport, port)
	gen, genCPU, gerr := runLoadgenChild(ctx, h, loadgenArgs(sc, target, h.certs), sc.dur)
	if perr := <-pprofDone; perr != nil {
		res.Errors = append(res.Errors, "pprof: "+perr.Error())
	}
	res.Sent, res.SentBytes, res.GenRate, res.GenCPU = gen.Messages, gen.Bytes, gen.Rate, genCPU
	if gerr != nil {
		finish()
		return res, gerr
	}
	if !gen.Start.IsZero() {
		t0 = gen.Start
	}

	// Received: TCP/TLS until every message sent is counted; UDP until the
	// count stops moving for a second.
	var m metrics
	var tRecv time.Time
	lastChange, lastVal := time.Now(), -1.0
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if m, err = scrape(ctx, base); err == nil {
			v := m["cloudscout_source_received_total"]
			now := time.Now()
			if v != lastVal {
				lastChange, lastVal = now, v
			}
			if sc.Transport != "udp" && int64(v) >= res.Sent {
				tRecv = now
				break
			}
			if sc.Transport == "udp" && now.Sub(lastChange) > time.Second {
				tRecv = lastChange
				break
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	if m == nil {
		finish()
		return res, fmt.Errorf("collector metrics unreachable: %v", err)
	}
	if tRecv.IsZero() {
		res.Errors = append(res.Errors, fmt.Sprintf("received %d of %d messages after 60 s", int64(m["cloudscout_source_received_total"]), res.Sent))
		tRecv = time.Now()
	}
	res.Received = int64(m["cloudscout_source_received_total"])
	res.ReceivedBytes = int64(m["cloudscout_syslog_bytes_total"])
	res.Records = int64(m["cloudscout_source_records_total"])
	res.Failed = int64(m["cloudscout_source_failed_total"])
	res.Skipped = int64(m["cloudscout_source_skipped_total"])
	res.Dropped = int64(m["cloudscout_source_dropped_total"])
	res.RecvSeconds = tRecv.Sub(t0).Seconds()
	res.RecvMsgsPerSec = float64(res.Received) / res.RecvSeconds
	res.RecvMBps = float64(res.ReceivedBytes) / 1e6 / res.RecvSeconds
	if sc.Transport == "udp" {
		if d, ok := udpDrops(port); ok {
			res.UDPKernelDrops = d
		}
		res.UDPLost = res.Sent - res.Received
	}

	// Shipped: every record spooled must reach the outbox.
	shipDeadline := time.Now().Add(3*uploadInterval + 60*time.Second)
	var shipped int64
	var tShip time.Time
	for time.Now().Before(shipDeadline) {
		shipped, tShip = w.shipped()
		if shipped >= res.Records {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	cpu1, _ := procCPU(pid)
	_, hwm, _ := procMem(pid)
	finish()
	if shipped < res.Records {
		res.Errors = append(res.Errors, fmt.Sprintf("shipped %d of %d records before the deadline", shipped, res.Records))
		tShip = time.Now()
	}
	res.CPUSeconds = cpu1 - cpu0
	res.PeakRSSMB = mb(hwm)
	window := tShip.Sub(t0).Seconds()
	if window <= 0 {
		window = res.RecvSeconds
	}
	res.ShipSeconds = window
	if res.CPUSeconds > 0 {
		res.MsgsPerCPUSec = float64(res.Received) / res.CPUSeconds
	}
	res.CPUPercent = 100 * res.CPUSeconds / window

	stopped = true
	if err := col.stop(20 * time.Second); err != nil {
		res.Errors = append(res.Errors, fmt.Sprintf("collector exit: %v", err))
	} else {
		res.ExitOK = true
	}

	st, err := readShipped(w.sightings())
	if err != nil {
		res.Errors = append(res.Errors, fmt.Sprintf("reading batches: %v", err))
	}
	res.Shipped, res.Batches = st.Records, st.Batches
	res.ShippedBytes, res.ShippedRaw = st.Bytes, st.RawBytes
	res.ManifestsOK = st.ManifestOK
	res.ShipMsgsPerSec = float64(st.Records) / window
	res.ShipMBps = float64(st.Bytes) / 1e6 / window
	res.ShipRawMBps = float64(st.RawBytes) / 1e6 / window
	res.LatencyP50 = st.Latency.quantile(0.50)
	res.LatencyP99 = st.Latency.quantile(0.99)
	res.LatencyMax = float64(st.Latency.max.Milliseconds())
	if st.Unstamped > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%d shipped records without @timestamp", st.Unstamped))
	}
	if res.Failed > 0 {
		res.Errors = append(res.Errors, fmt.Sprintf("%d lines failed to parse (is the %s parser built in?)", res.Failed, sc.Source))
	}
	smu.Lock()
	res.Series = series
	smu.Unlock()
	if !h.keep {
		_ = os.RemoveAll(dir)
	}
	return res, nil
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }
