// Command bench measures the CloudScout collector on loopback and compares
// it with rsyslog receiving the same stream. Run it with 'make bench' (about
// 15 minutes) or BENCH_QUICK=1 make bench (about 2 minutes).
//
// Each scenario starts a fresh collector (parse, pseudonymize, zstd spool,
// file:// upload every 5 s), feeds it with 'cloudscout loadgen', waits until
// every record received has shipped, and reads /proc for CPU time (utime +
// stime) and memory (VmRSS, VmHWM). Latency is measured per record: the
// generator writes its send time into the line's own time field, which the
// parser turns into @timestamp; the harness notes when each batch appeared
// in the outbox and subtracts. So latency includes the upload schedule
// (up to 5 s) by design.
//
// Output: a table on stdout and in OUT/report.txt, OUT/results.json, and
// OUT/throughput.svg (throughput and RSS over each scenario's median run).
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"syscall"
	"time"
)

// rawParserRE is the custom parser of raw lines: it reads one number.
const rawParserRE = `^raw seq=(?P<seq>[0-9]+)`

type harness struct {
	root     string // module root
	bin      string // collector binary under test
	genBin   string // binary with the loadgen command
	goBin    string
	out      string
	work     string
	certs    certFiles
	keep     bool
	quick    bool
	idleWait time.Duration
	rsyslogd string
	pprof    string // when set, runCollector saves the admin endpoint's CPU profile here
	perf     string // when set, runCollector records a perf profile into this file
	perfBin  string
}

// report is results.json.
type report struct {
	Started   time.Time        `json:"started"`
	Finished  time.Time        `json:"finished"`
	Mode      string           `json:"mode"` // full or quick
	Machine   machine          `json:"machine"`
	Notes     []string         `json:"notes,omitempty"`
	Scenarios []scenarioResult `json:"scenarios"`
	FileDrop  *fileSummary     `json:"file_drop,omitempty"`
	Loggen    *loggenResult    `json:"loggen,omitempty"`
	GoBench   []goBench        `json:"go_benchmarks,omitempty"`
	Targets   []targetCheck    `json:"targets"`
}

type scenarioResult struct {
	scenario
	Median         runResult        `json:"median"`
	Runs           []runResult      `json:"runs"`
	Rsyslog        *baselineResult  `json:"rsyslog_median,omitempty"`
	RsyslogRuns    []baselineResult `json:"rsyslog_runs,omitempty"`
	RatioVsRsyslog float64          `json:"ratio_msgs_per_cpu_vs_rsyslog,omitempty"`
	Error          string           `json:"error,omitempty"`
}

type fileSummary struct {
	Median fileResult   `json:"median"`
	Runs   []fileResult `json:"runs"`
	Error  string       `json:"error,omitempty"`
}

type machine struct {
	CPUs        int    `json:"cpus"`
	CPUModel    string `json:"cpu_model"`
	Kernel      string `json:"kernel"`
	MemTotalMB  int64  `json:"mem_total_mb"`
	GoVersion   string `json:"go_version"`
	LoadStart   string `json:"loadavg_start"`
	LoadEnd     string `json:"loadavg_end"`
	RsyslogVers string `json:"rsyslog_version,omitempty"`
	Shared      string `json:"note"`
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		bin      = flag.String("bin", "dist/cloudscout", "collector binary to measure (built with 'make build')")
		out      = flag.String("out", "bench/out", "output folder")
		quick    = flag.Bool("quick", os.Getenv("BENCH_QUICK") == "1", "short runs, one each (also BENCH_QUICK=1)")
		only     = flag.String("only", "", "comma-separated subset: tcp-lf,tcp-octet,tls,udp,raw,file,loggen,gobench")
		runs     = flag.Int("runs", 0, "runs per scenario (default 3, quick 1)")
		keep     = flag.Bool("keep", false, "keep the work folder (configs, logs, spools, outboxes)")
		profile  = flag.String("profile", "", "comma-separated scenarios to run once more with a CPU profile (pprof from the admin endpoint; and perf when installed), e.g. tcp-lf,udp")
		fileSize = flag.Int64("file-mb", 0, "size of the file-drop input in MB (default 1000, quick 100)")
		genBin   = flag.String("gen", "", "binary to run 'loadgen' from (default: -bin if it has the command, else a copy built with it)")
	)
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	root, err := moduleRoot()
	if err != nil {
		return err
	}
	h := &harness{root: root, quick: *quick, keep: *keep, idleWait: 2 * time.Second}
	if h.quick {
		h.idleWait = time.Second
	}
	h.out, _ = filepath.Abs(filepath.Join(root, *out))
	if filepath.IsAbs(*out) {
		h.out = *out
	}
	if err := os.MkdirAll(h.out, 0o755); err != nil {
		return err
	}
	h.work, err = os.MkdirTemp("", "cloudscout-bench-")
	if err != nil {
		return err
	}
	if !h.keep {
		defer os.RemoveAll(h.work)
	} else {
		fmt.Println("work folder:", h.work)
	}
	if h.goBin, err = exec.LookPath("go"); err != nil {
		h.goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	rep := &report{Started: time.Now(), Mode: "full", Machine: machineInfo()}
	if h.quick {
		rep.Mode = "quick"
	}
	note := func(format string, a ...any) {
		s := fmt.Sprintf(format, a...)
		rep.Notes = append(rep.Notes, s)
		fmt.Println("note:", s)
	}

	h.bin = *bin
	if !filepath.IsAbs(h.bin) {
		h.bin = filepath.Join(root, h.bin)
	}
	if _, err := os.Stat(h.bin); err != nil {
		note("%s missing: building it", h.bin)
		if err := h.build(ctx, h.bin, nil, true); err != nil {
			return err
		}
	}
	if *genBin != "" {
		h.genBin = *genBin
	} else if h.genBin, err = h.loadgenBinary(ctx); err != nil {
		return err
	} else if h.genBin != h.bin {
		note("'loadgen' is not registered in cmd/cloudscout/main.go yet: the generator runs from a copy built with it (the collector measured is %s)", *bin)
	}
	if h.certs, err = makeCerts(h.work); err != nil {
		return err
	}
	h.rsyslogd = rsyslogPath()
	if h.rsyslogd == "" {
		note("rsyslogd not found (make deps installs it): no baseline")
	} else if o, _, _, err := runCapture(ctx, 10*time.Second, h.work, h.rsyslogd, "-v"); err == nil {
		v := strings.SplitN(string(o), "\n", 2)[0]
		v, _, _ = strings.Cut(v, " compiled")
		rep.Machine.RsyslogVers = strings.Join(strings.Fields(v), " ")
	}
	formats := h.formats(ctx)

	want := func(name string) bool {
		if *only == "" {
			return true
		}
		for _, s := range strings.Split(*only, ",") {
			if strings.TrimSpace(s) == name {
				return true
			}
		}
		return false
	}
	nRuns := 3
	tcpDur, udpDur := 10*time.Second, 60*time.Second
	if h.quick {
		nRuns, tcpDur, udpDur = 1, 4*time.Second, 8*time.Second
	}
	if *runs > 0 {
		nRuns = *runs
	}
	scens := []scenario{
		{Name: "tcp-lf", Title: "TCP, LF framing, FortiGate ~700 B", Transport: "tcp", Framing: "lf", Format: "fortigate", Source: "fortigate", Conns: 2, dur: tcpDur, Rsyslog: true},
		{Name: "tcp-octet", Title: "TCP, octet counting, FortiGate ~700 B", Transport: "tcp", Framing: "octet", Format: "fortigate", Source: "fortigate", Conns: 2, dur: tcpDur, Rsyslog: !h.quick},
		{Name: "tls", Title: "TLS, octet counting, FortiGate ~700 B", Transport: "tls", Framing: "octet", Format: "fortigate", Source: "fortigate", Conns: 2, dur: tcpDur, Rsyslog: !h.quick},
		{Name: "udp", Title: "UDP 100k msg/s, Squid 300 B", Transport: "udp", Format: "squid", Source: "squid", Size: 300, Rate: 100000, Conns: 1, dur: udpDur},
		{Name: "raw", Title: "raw ingest: TCP LF, 300 B, regex custom parser", Transport: "tcp", Framing: "lf", Format: "raw", Source: "rawbench", Size: 300, Conns: 2, dur: tcpDur,
			rawParserRE: rawParserRE, Rsyslog: !h.quick},
	}
	for _, sc := range scens {
		if !want(sc.Name) {
			continue
		}
		sc.Runs, sc.Duration = nRuns, sc.dur.String()
		if sc.rawParserRE == "" && !formats[sc.Source] {
			if sc.Transport != "udp" {
				note("format %s is not built into the collector: scenario %s skipped", sc.Source, sc.Name)
				continue
			}
			// Loss is what UDP measures: fall back to raw 300-byte lines.
			note("format %s is not built into the collector yet: scenario %s sends raw %d-byte lines (regex custom parser) instead", sc.Source, sc.Name, sc.Size)
			sc.Format, sc.Source, sc.rawParserRE = "raw", "rawbench", rawParserRE
			sc.Title = strings.Replace(sc.Title, "Squid", "raw", 1)
		}
		sr := scenarioResult{scenario: sc}
		for i := range nRuns {
			fmt.Printf("== %s run %d/%d (%s)\n", sc.Name, i+1, nRuns, sc.dur)
			r, err := runCollector(ctx, h, sc, i)
			if err != nil {
				sr.Error = err.Error()
				fmt.Println("   error:", err)
				break
			}
			fmt.Printf("   sent %d, received %d (%.0f msg/s, %.1f MB/s), shipped %d, %.0f msg/CPU-s, peak RSS %.0f MB, p50 %.0f ms p99 %.0f ms\n",
				r.Sent, r.Received, r.RecvMsgsPerSec, r.RecvMBps, r.Shipped, r.MsgsPerCPUSec, r.PeakRSSMB, r.LatencyP50, r.LatencyP99)
			for _, e := range r.Errors {
				fmt.Println("   problem:", e)
			}
			sr.Runs = append(sr.Runs, r)
			if sc.Rsyslog && h.rsyslogd != "" {
				b, err := runRsyslog(ctx, h, sc, i)
				if err != nil {
					fmt.Println("   rsyslog error:", err)
					b.Errors = append(b.Errors, err.Error())
				} else {
					fmt.Printf("   rsyslog: received %d (%.0f msg/s), %.0f msg/CPU-s, peak RSS %.0f MB\n", b.Received, b.RecvMsgsPerSec, b.MsgsPerCPUSec, b.PeakRSSMB)
				}
				sr.RsyslogRuns = append(sr.RsyslogRuns, b)
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
		}
		if len(sr.Runs) > 0 {
			sr.Median = medianOf(sr.Runs)
			sr.Median.Series = representative(sr.Runs).Series
			for i := range sr.Runs {
				sr.Runs[i].Series = nil // the median run's series is kept
			}
		}
		if len(sr.RsyslogRuns) > 0 {
			m := medianOf(sr.RsyslogRuns)
			sr.Rsyslog = &m
			if m.MsgsPerCPUSec > 0 {
				sr.RatioVsRsyslog = sr.Median.MsgsPerCPUSec / m.MsgsPerCPUSec
			}
		}
		rep.Scenarios = append(rep.Scenarios, sr)
	}

	for _, name := range strings.Split(*profile, ",") {
		for _, sr := range rep.Scenarios {
			if sr.Name == strings.TrimSpace(name) {
				if err := h.profileRun(ctx, sr.scenario); err != nil {
					note("profile %s: %v", sr.Name, err)
				}
			}
		}
	}

	if want("file") {
		size := *fileSize
		if size == 0 {
			size = 1000
			if h.quick {
				size = 100
			}
		}
		fs := &fileSummary{}
		input := filepath.Join(h.work, "filedrop.log")
		fmt.Printf("== file drop: writing %d MB of FortiGate lines\n", size)
		lines, err := makeFortiFile(ctx, h, input, size*1e6)
		if err != nil {
			fs.Error = err.Error()
		}
		watch := true
		for i := 0; i < nRuns && err == nil; i++ {
			fmt.Printf("== file drop run %d/%d\n", i+1, nRuns)
			var r fileResult
			if watch {
				r, err = runWatchDrop(ctx, h, input, lines, i)
				if errors.Is(err, errWatchUnwired) {
					note("file drop: %v; measured through the proxy 'cloudscout parse | spool' instead", err)
					watch, err = false, nil
				}
			}
			if !watch {
				r, err = runFileDrop(ctx, h, input, i)
			}
			if err != nil {
				fs.Error = err.Error()
				fmt.Println("   error:", err)
				break
			}
			fmt.Printf("   %.0f MB in %.1f s: %.1f MB/s, %.1f MB per CPU-s, %d records\n", float64(r.InputBytes)/1e6, r.Seconds, r.MBps, r.MBperCPUSec, r.Records)
			fs.Runs = append(fs.Runs, r)
		}
		_ = os.Remove(input)
		if len(fs.Runs) > 0 {
			fs.Median = medianOf(fs.Runs)
			fs.Median.Proxy = fs.Runs[len(fs.Runs)-1].Proxy
		}
		rep.FileDrop = fs
	}

	if want("loggen") {
		fmt.Println("== syslog-ng loggen (second generator)")
		lines := filepath.Join(h.work, "loggen-input.log")
		dur := 10 * time.Second
		if h.quick {
			dur = 4 * time.Second
		}
		var lr loggenResult
		if _, _, _, err := runCapture(ctx, time.Minute, h.root, h.genBin, "loadgen", "--target", "file://"+lines, "--format", "fortigate", "--count", "20000"); err != nil {
			lr.Why = "writing loggen input: " + err.Error()
		} else {
			lr = runLoggen(ctx, h, lines, dur)
		}
		if lr.Why != "" {
			fmt.Println("   loggen:", lr.Why)
		} else {
			fmt.Printf("   loggen sent %d (%.0f msg/s), collector %.0f msg/s, %.0f msg/CPU-s\n", lr.Sent, lr.GenRate, lr.RecvMsgsPerSec, lr.MsgsPerCPUSec)
		}
		rep.Loggen = &lr
	}

	if want("gobench") {
		pkgs := []string{"./parsers/..."}
		bt := "1s"
		if h.quick {
			bt = "100ms"
		} else {
			pkgs = append(pkgs, "./collector/spool/", "./collector/syslog/")
		}
		fmt.Printf("== go test -bench (%s) %s\n", bt, strings.Join(pkgs, " "))
		res, out, err := runGoBenches(ctx, h, pkgs, bt)
		if err != nil {
			note("go test -bench failed: %v: %s", err, lastLine([]byte(out)))
		}
		rep.GoBench = res
	}

	rep.Machine.LoadEnd = loadavg()
	rep.Finished = time.Now()
	rep.Targets = checkTargets(rep)
	return writeOutputs(h, rep)
}

// loadgenBinary returns a binary that has the loadgen command: the one
// under test, or a copy built with loadgenCommand registered (through a
// build overlay, the tree is not touched) while main.go lacks it.
func (h *harness) loadgenBinary(ctx context.Context) (string, error) {
	if _, _, _, err := runCapture(ctx, 30*time.Second, h.root, h.bin, "loadgen", "--help"); err == nil {
		return h.bin, nil
	}
	mainGo := filepath.Join(h.root, "cmd", "cloudscout", "main.go")
	src, err := os.ReadFile(mainGo)
	if err != nil {
		return "", err
	}
	const anchor = "reloadCommand(),"
	if !strings.Contains(string(src), anchor) {
		return "", errors.New("cannot register loadgen in a copy of main.go (no reloadCommand() entry): register loadgenCommand() in newApp")
	}
	patched := strings.Replace(string(src), anchor, anchor+"\n\t\t\tloadgenCommand(),", 1)
	dir := filepath.Join(h.work, "overlay")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	pm := filepath.Join(dir, "main.go")
	if err := os.WriteFile(pm, []byte(patched), 0o644); err != nil {
		return "", err
	}
	ov, _ := json.Marshal(map[string]map[string]string{"Replace": {mainGo: pm}})
	ovFile := filepath.Join(dir, "overlay.json")
	if err := os.WriteFile(ovFile, ov, 0o644); err != nil {
		return "", err
	}
	bin := filepath.Join(h.work, "cloudscout-loadgen")
	return bin, h.build(ctx, bin, []string{"-overlay", ovFile}, true)
}

// build compiles the collector like 'make build' (stripped unless strip is
// false, as the profiler needs symbols).
func (h *harness) build(ctx context.Context, out string, extra []string, strip bool) error {
	args := []string{"build", "-tags", "urfave_cli_no_docs", "-trimpath"}
	if strip {
		args = append(args, "-ldflags", "-s -w")
	}
	args = append(append(args, extra...), "-o", out, "./cmd/cloudscout")
	cmd := exec.CommandContext(ctx, h.goBin, args...)
	cmd.Dir = h.root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if o, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build: %v: %s", err, o)
	}
	return nil
}

// formats lists the formats built into the collector.
func (h *harness) formats(ctx context.Context) map[string]bool {
	out, _, _, err := runCapture(ctx, 30*time.Second, h.root, h.bin, "formats")
	m := map[string]bool{}
	if err != nil {
		return m
	}
	for _, l := range strings.Split(string(out), "\n")[1:] {
		if f := strings.Fields(l); len(f) > 0 {
			m[f[0]] = true
		}
	}
	return m
}

func moduleRoot() (string, error) {
	d, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/cloudscout/cloudscout") {
			return d, nil
		}
		p := filepath.Dir(d)
		if p == d {
			return "", errors.New("run from inside the cloudscout module")
		}
		d = p
	}
}

func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadStart: loadavg(),
		Shared: "numbers are as measured on this machine, which may be shared; compare the ratios against rsyslog from the same run"}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		if _, err := fmt.Sscanf(string(b), "MemTotal: %d kB", &kb); err == nil {
			m.MemTotalMB = kb >> 10
		}
	}
	return m
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return ""
	}
	return strings.Join(f[:3], " ")
}

// representative returns the run with the median throughput.
func representative(runs []runResult) runResult {
	s := append([]runResult(nil), runs...)
	sort.Slice(s, func(i, j int) bool { return s[i].RecvMsgsPerSec < s[j].RecvMsgsPerSec })
	return s[len(s)/2]
}
