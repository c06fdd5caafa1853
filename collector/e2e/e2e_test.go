package e2e

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is required in CI (scripts/install-test-deps.sh installs it)", name)
		}
		t.Skipf("%s not installed (make deps)", name)
	}
	return p
}

func runLogger(t *testing.T, args ...string) {
	t.Helper()
	out, err := exec.Command(needTool(t, "logger"), args...).CombinedOutput()
	if err != nil {
		t.Fatalf("logger %v: %v\n%s", args, err, out)
	}
}

// seqs collects source.bytes (the sequence number) of every shipped record.
func seqs(t *testing.T, recs []map[string]any) map[int]int {
	t.Helper()
	out := map[int]int{}
	for _, r := range recs {
		v, ok := get(r, "source.bytes").(float64)
		if !ok {
			t.Fatalf("record without source.bytes: %v", r)
		}
		out[int(v)]++
	}
	return out
}

// startRsyslog runs rsyslogd in the foreground with two inputs: port A
// forwards octet-counted TCP (RFC 5424 template), port B forwards over TLS.
func startRsyslog(t *testing.T, in *instance) (portA, portB int) {
	t.Helper()
	rsyslogd := needTool(t, "rsyslogd")
	dir := filepath.Join(in.dir, "rsyslog")
	os.MkdirAll(filepath.Join(dir, "work"), 0o755)
	portA, portB = freePort(t), freePort(t)
	conf := fmt.Sprintf(`global(workDirectory="%[1]s/work" defaultNetstreamDriverCAFile="%[2]s/ca.pem")
module(load="imtcp")
input(type="imtcp" port="%[3]d" address="127.0.0.1" ruleset="octet")
input(type="imtcp" port="%[4]d" address="127.0.0.1" ruleset="tls")
ruleset(name="octet") {
  action(type="omfwd" target="127.0.0.1" port="%[5]d" protocol="tcp" TCP_Framing="octet-counted"
         template="RSYSLOG_SyslogProtocol23Format" action.resumeRetryCount="-1")
}
ruleset(name="tls") {
  action(type="omfwd" target="localhost" port="%[6]d" protocol="tcp"
         StreamDriver="gtls" StreamDriverMode="1" StreamDriverAuthMode="x509/name"
         StreamDriverPermittedPeers="localhost" action.resumeRetryCount="-1")
}
`, dir, in.dir, portA, portB, in.syslog, in.tls)
	cf := filepath.Join(dir, "rsyslog.conf")
	os.WriteFile(cf, []byte(conf), 0o644)
	cmd := exec.Command(rsyslogd, "-n", "-f", cf, "-i", filepath.Join(dir, "pid"))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("rsyslog output:\n%s", out.String())
		}
	})
	for _, p := range []int{portA, portB} {
		in.waitFor("rsyslog input", 20*time.Second, func() bool {
			c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err == nil {
				c.Close()
			}
			return err == nil
		})
	}
	return portA, portB
}

// Acceptance 1: logger over UDP and TCP (RFC 3164 and 5424), rsyslog over
// octet-counted TCP and TLS; after 'cloudscout upload' the outbox holds zstd
// batches whose records match what was sent, users and internal addresses
// tokenized, counts equal to the manifests and to /metrics.
func TestRealClientsEndToEnd(t *testing.T) {
	in := newInstance(t, opts{tls: true})
	in.start()
	port := fmt.Sprint(in.syslog)
	want := map[int]bool{}
	send := func(seq int, args ...string) {
		want[seq] = true
		line := fortiLine(seq, "CORP\\jdoe", "10.20.30.40")
		runLogger(t, append(append([]string{"-n", "127.0.0.1", "-P", port, "--size", "4096", "-t", "fgt"}, args...), line)...)
	}
	for i := 0; i < 5; i++ {
		send(100+i, "--udp", "--rfc3164")
		send(200+i, "--udp", "--rfc5424")
		send(300+i, "--tcp", "--rfc3164")
		send(400+i, "--tcp", "--rfc5424", "--octet-count")
	}
	a, b := startRsyslog(t, in)
	for i := 0; i < 5; i++ {
		want[500+i], want[600+i] = true, true
		runLogger(t, "-n", "127.0.0.1", "-P", fmt.Sprint(a), "--tcp", "--size", "4096", "-t", "fgt", fortiLine(500+i, "CORP\\jdoe", "10.20.30.40"))
		runLogger(t, "-n", "127.0.0.1", "-P", fmt.Sprint(b), "--tcp", "--size", "4096", "-t", "fgt", fortiLine(600+i, "CORP\\jdoe", "10.20.30.40"))
	}
	in.waitFor("all records received", 30*time.Second, func() bool {
		return in.metric("cloudscout_source_records_total", `source="fw"`) >= float64(len(want))
	})
	in.upload()
	recs, mans, raw := in.shipped()
	got := seqs(t, recs)
	for s := range want {
		if got[s] != 1 {
			t.Errorf("record %d shipped %d times", s, got[s])
		}
	}
	if len(recs) != len(want) {
		t.Errorf("%d records shipped, %d sent", len(recs), len(want))
	}
	var manTotal int64
	for _, m := range mans {
		manTotal += m.Records
		if !strings.HasPrefix(m.Key, "e2e/fw/") {
			t.Errorf("batch key %q not laid out by collector/source", m.Key)
		}
	}
	if manTotal != int64(len(recs)) || in.metric("cloudscout_source_records_total", `source="fw"`) != float64(len(recs)) {
		t.Errorf("manifests say %d, metrics %v, batches hold %d", manTotal, in.metric("cloudscout_source_records_total"), len(recs))
	}
	for i, r := range recs {
		if u, _ := get(r, "user.name").(string); !strings.HasPrefix(u, "tok:") {
			t.Fatalf("user.name not tokenized: %v", r)
		}
		if ip, _ := get(r, "source.ip").(string); !strings.HasPrefix(ip, "tok:") {
			t.Fatalf("internal source.ip not tokenized: %v", r)
		}
		if get(r, "destination.ip") != "203.0.113.10" || get(r, "user.domain") != "CORP" || get(r, "labels.source") != "fw" {
			t.Fatalf("record fields: %v", r)
		}
		if bytes.Contains(raw[i], []byte("jdoe")) || bytes.Contains(raw[i], []byte("10.20.30.40")) {
			t.Fatalf("raw identifier leaked: %s", raw[i])
		}
	}
	// status reads the same figures
	out, err := in.cli("status")
	if err != nil || !strings.Contains(out, "fw") {
		t.Fatalf("status: %v\n%s", err, out)
	}
	in.stop()
}

// The embedded defaults use a data dir relative to the working directory.
func TestRelativeDataDir(t *testing.T) {
	in := newInstance(t, opts{relative: true})
	in.start()
	c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", in.syslog))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(c, "<189>%s\n", fortiLine(1, "alice", "10.0.0.1"))
	c.Close()
	in.waitFor("record", 20*time.Second, func() bool {
		return in.metric("cloudscout_source_records_total") >= 1
	})
	in.upload()
	if recs, _, _ := in.shipped(); len(recs) != 1 {
		t.Fatalf("%d records shipped", len(recs))
	}
	if _, err := os.Stat(filepath.Join(in.dir, "data", "anonymize.key")); err != nil {
		t.Fatal(err)
	}
	in.stop()
}
