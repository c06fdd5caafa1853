// Package e2e runs the cloudscout binary as a user would: real listeners,
// real clients (logger, rsyslog), kill -9, full disks, hostile senders.
package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "cloudscout-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "cloudscout")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	build := exec.Command("go", "build", "-o", binary, "./cmd/cloudscout")
	build.Dir = root
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// freePort returns a port free on 127.0.0.1 for both TCP and UDP.
func freePort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// instance is one collector process.
type instance struct {
	t       *testing.T
	dir     string
	cfgPath string
	syslog  int // udp+tcp port
	tls     int
	admin   int
	outbox  string
	cmd     *exec.Cmd
	logs    *bytes.Buffer
	logMu   *sync.Mutex
	starts  int
	exited  chan struct{} // closed when the process has exited; err then holds Wait's result
	err     error
}

type opts struct {
	extraSources string // YAML list items appended to sources
	spool        string // YAML under spool:
	upload       string // YAML under upload: (besides targets)
	syslog       string // YAML under syslog:
	tls          bool
	top          string // extra top-level YAML sections (e.g. ftp:)
	relative     bool   // data_dir and key relative to the working directory, as in the defaults
}

func newInstance(t *testing.T, o opts) *instance {
	t.Helper()
	dir := t.TempDir()
	in := &instance{t: t, dir: dir, syslog: freePort(t), admin: freePort(t), outbox: filepath.Join(dir, "outbox"), logMu: &sync.Mutex{}, logs: &bytes.Buffer{}}
	listen := fmt.Sprintf("[udp://127.0.0.1:%d, tcp://127.0.0.1:%d", in.syslog, in.syslog)
	tlsYAML := ""
	if o.tls {
		in.tls = freePort(t)
		listen += fmt.Sprintf(", tls://127.0.0.1:%d", in.tls)
		cert, key := writeCert(t, dir)
		tlsYAML = fmt.Sprintf("  tls:\n    cert: %s\n    key: %s\n", cert, key)
	}
	listen += "]"
	if o.spool == "" {
		o.spool = "  segment_age: 1h\n"
	}
	if o.upload == "" {
		o.upload = "  interval: 1h\n"
	}
	cfg := fmt.Sprintf(`collector:
  name: e2e
  data_dir: %s/data
  admin: 127.0.0.1:%d
  log_format: json
  log_level: debug
  shutdown_grace: 20s
anonymize:
  key_file: %s/data/anonymize.key
syslog:
%s%s
spool:
%s
upload:
%s  targets:
    - name: outbox
      url: file://%s
%s
sources:
  - name: fw
    format: auto
    timezone: UTC
    listen: %s
%s`, dir, in.admin, dir, o.syslog, tlsYAML, o.spool, o.upload, in.outbox, o.top, listen, o.extraSources)
	if o.relative {
		cfg = strings.ReplaceAll(cfg, dir+"/data", "./data")
	}
	in.cfgPath = filepath.Join(dir, "cloudscout.yaml")
	if err := os.WriteFile(in.cfgPath, []byte(cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	return in
}

func (in *instance) start() {
	t := in.t
	t.Helper()
	cmd := exec.Command(binary, "run", "--config", in.cfgPath)
	cmd.Dir = in.dir
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			in.logMu.Lock()
			in.logs.WriteString(sc.Text() + "\n")
			in.logMu.Unlock()
		}
	}()
	in.cmd = cmd
	exited := make(chan struct{})
	in.exited = exited
	go func() { in.err = cmd.Wait(); pw.Close(); close(exited) }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("collector log:\n%s", in.logText())
		}
	})
	in.starts++
	in.waitFor("collector up", 30*time.Second, func() bool {
		resp, err := http.Get(in.url("/healthz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200 && strings.Count(in.logText(), "CloudScout collector running") >= in.starts
	})
}

func (in *instance) logText() string {
	in.logMu.Lock()
	defer in.logMu.Unlock()
	return in.logs.String()
}

func (in *instance) url(p string) string { return fmt.Sprintf("http://127.0.0.1:%d%s", in.admin, p) }

// stop sends SIGTERM and waits for a clean exit.
func (in *instance) stop() {
	in.t.Helper()
	in.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-in.exited:
		if in.err != nil {
			in.t.Fatalf("collector exit: %v\n%s", in.err, in.logText())
		}
	case <-time.After(40 * time.Second):
		in.t.Fatal("collector did not stop on SIGTERM")
	}
	in.cmd = nil
}

func (in *instance) kill9() {
	in.cmd.Process.Signal(syscall.SIGKILL)
	<-in.exited
	in.cmd = nil
}

func (in *instance) waitFor(what string, d time.Duration, f func() bool) {
	in.t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if f() {
			return
		}
		if in.cmd != nil && in.hasExited() {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	in.t.Fatalf("timed out waiting for %s\n%s", what, in.logText())
}

// cli runs a cloudscout subcommand against this instance.
func (in *instance) cli(args ...string) (string, error) {
	cmd := exec.Command(binary, args...)
	cmd.Dir = in.dir
	cmd.Env = append(os.Environ(), "CLOUDSCOUT_CONFIG="+in.cfgPath)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (in *instance) upload() {
	in.t.Helper()
	out, err := in.cli("upload")
	if err != nil {
		in.t.Fatalf("cloudscout upload: %v\n%s", err, out)
	}
}

// metric returns the sum of a metric's samples whose labels contain all of match.
func (in *instance) metric(name string, match ...string) float64 {
	resp, err := http.Get(in.url("/metrics"))
	if err != nil {
		in.t.Fatal(err)
	}
	defer resp.Body.Close()
	sum := 0.0
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name) || (len(l) > len(name) && l[len(name)] != '{' && l[len(name)] != ' ') {
			continue
		}
		ok := true
		for _, m := range match {
			if !strings.Contains(l, m) {
				ok = false
			}
		}
		if !ok {
			continue
		}
		var v float64
		fmt.Sscanf(l[strings.LastIndexByte(l, ' ')+1:], "%g", &v)
		sum += v
	}
	return sum
}

type manifest struct {
	Key     string           `json:"key"`
	ID      string           `json:"id"`
	Records int64            `json:"records"`
	SHA256  string           `json:"sha256"`
	Source  string           `json:"source"`
	Parse   map[string]int64 `json:"parse"`
}

// shipped reads every batch in the outbox: records (decoded JSON) and manifests.
func (in *instance) shipped() ([]map[string]any, []manifest, [][]byte) {
	in.t.Helper()
	var recs []map[string]any
	var mans []manifest
	var raw [][]byte
	var files []string
	filepath.Walk(in.outbox, func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".jsonl.zst") {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	dec, _ := zstd.NewReader(nil)
	defer dec.Close()
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			in.t.Fatal(err)
		}
		plain, err := dec.DecodeAll(b, nil)
		if err != nil {
			in.t.Fatalf("%s: not a valid zstd stream: %v", f, err)
		}
		mb, err := os.ReadFile(f + ".manifest.json")
		if err != nil {
			in.t.Fatalf("manifest for %s: %v", f, err)
		}
		var m manifest
		if err := json.Unmarshal(mb, &m); err != nil {
			in.t.Fatal(err)
		}
		mans = append(mans, m)
		n := int64(0)
		for _, line := range bytes.Split(bytes.TrimSpace(plain), []byte("\n")) {
			if len(line) == 0 {
				continue
			}
			var r map[string]any
			if err := json.Unmarshal(line, &r); err != nil {
				in.t.Fatalf("%s: invalid JSON line %q: %v", f, line, err)
			}
			recs = append(recs, r)
			raw = append(raw, line)
			n++
		}
		if n != m.Records {
			in.t.Fatalf("%s: %d records, manifest says %d", f, n, m.Records)
		}
	}
	return recs, mans, raw
}

// get digs a dotted path out of a decoded record.
func get(r map[string]any, path string) any {
	var cur any = r
	for _, p := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = m[p]
	}
	return cur
}

// fortiLine builds a FortiGate traffic log body; seq is carried in sentbyte.
func fortiLine(seq int, user, src string) string {
	return fmt.Sprintf(`date=2026-11-27 time=10:%02d:%02d devname="FGT-HQ" devid="FGT60F0000000001" eventtime=%d tz="+0000" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=%s srcport=%d srcintf="port1" dstip=203.0.113.10 dstport=443 dstintf="wan1" sessionid=%d proto=6 action="close" policyid=1 service="HTTPS" app="Dropbox" user="%s" sentbyte=%d rcvdbyte=4500 duration=30 hostname="www.dropbox.com"`,
		(seq/60)%60, seq%60, time.Date(2026, 11, 27, 10, (seq/60)%60, seq%60, 0, time.UTC).UnixNano(), src, 1024+seq%60000, seq, user, seq)
}

func (in *instance) hasExited() bool {
	select {
	case <-in.exited:
		return true
	default:
		return false
	}
}
