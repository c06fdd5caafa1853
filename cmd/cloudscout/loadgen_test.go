package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// lineSink counts the messages a listener receives, by framing.
type lineSink struct {
	mu    sync.Mutex
	msgs  [][]byte
	conns int
}

func (s *lineSink) add(m []byte) {
	s.mu.Lock()
	s.msgs = append(s.msgs, append([]byte(nil), m...))
	s.mu.Unlock()
}

func (s *lineSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.msgs)
}

func (s *lineSink) all() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs...)
}

// serveStream accepts connections on ln and splits each into messages:
// octet-counted when octet is set, LF-terminated otherwise.
func serveStream(t *testing.T, ln net.Listener, octet bool, sink *lineSink) {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			sink.mu.Lock()
			sink.conns++
			sink.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					if !octet {
						line, err := br.ReadBytes('\n')
						if err != nil {
							return
						}
						sink.add(bytes.TrimSuffix(line, []byte("\n")))
						continue
					}
					lenStr, err := br.ReadString(' ')
					if err != nil {
						return
					}
					n, err := strconv.Atoi(strings.TrimSuffix(lenStr, " "))
					if err != nil || n <= 0 || n > loadgenMaxSize {
						t.Errorf("bad octet count %q", lenStr)
						return
					}
					msg := make([]byte, n)
					if _, err := io.ReadFull(br, msg); err != nil {
						t.Errorf("short frame: %v", err)
						return
					}
					sink.add(msg)
				}
			}()
		}
	}()
}

func waitCount(t *testing.T, sink *lineSink, want int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for sink.count() < want && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := sink.count(); got != want {
		t.Fatalf("listener received %d messages, want %d", got, want)
	}
}

func TestLoadgenTCPCount(t *testing.T) {
	for _, tc := range []struct {
		framing string
		format  string
	}{{"lf", "fortigate"}, {"octet", "mix"}, {"lf", "raw"}} {
		t.Run(tc.framing+"-"+tc.format, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			sink := &lineSink{}
			serveStream(t, ln, tc.framing == "octet", sink)
			const n = 2501 // not a multiple of the connection count
			res, err := runLoadgen(context.Background(), loadgenConfig{
				Target: "tcp://" + ln.Addr().String(), Format: tc.format, Framing: tc.framing,
				Connections: 3, Count: n, Seed: 7,
			})
			if err != nil {
				t.Fatal(err)
			}
			if res.Messages != n || res.Errors != 0 {
				t.Fatalf("sent %d messages with %d errors (%s), want %d", res.Messages, res.Errors, res.FirstError, n)
			}
			waitCount(t, sink, n)
			var total int64
			for _, m := range sink.all() {
				total += int64(len(m)) + 1 // LF, or the SP after the count
				if tc.framing == "octet" {
					total += int64(len(strconv.Itoa(len(m))))
				}
				if len(m) == 0 || m[0] != '<' {
					t.Fatalf("message without syslog priority: %q", m)
				}
			}
			if total != res.Bytes {
				t.Fatalf("reported %d bytes, listener got %d", res.Bytes, total)
			}
			if sink.conns != 3 {
				t.Fatalf("%d connections, want 3", sink.conns)
			}
		})
	}
}

func TestLoadgenUDPRate(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	sink := &lineSink{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		buf := make([]byte, 70000)
		for {
			n, _, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			sink.add(buf[:n])
		}
	}()
	// 100 small datagrams fit in the default receive buffer even if the
	// reader is descheduled, so the count is exact.
	const n = 100
	res, err := runLoadgen(context.Background(), loadgenConfig{
		Target: "udp://" + pc.LocalAddr().String(), Format: "raw", Size: 120,
		Connections: 2, Count: n, Rate: 5000, Seed: 1,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != n || res.Bytes != n*120 {
		t.Fatalf("sent %d messages / %d bytes, want %d / %d", res.Messages, res.Bytes, n, n*120)
	}
	waitCount(t, sink, n)
	for _, m := range sink.all() {
		if len(m) != 120 {
			t.Fatalf("datagram of %d bytes, want 120: %q", len(m), m)
		}
	}
	pc.Close()
	<-done
}

func TestLoadgenTLS(t *testing.T) {
	dir := t.TempDir()
	cert, caFile := testServerCert(t, dir)
	ln, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{cert}})
	if err != nil {
		t.Fatal(err)
	}
	sink := &lineSink{}
	serveStream(t, ln, true, sink)
	addr := "tls://localhost:" + strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	res, err := runLoadgen(context.Background(), loadgenConfig{Target: addr, Format: "paloalto", Framing: "auto", Connections: 2, Count: 300, CAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	if res.Messages != 300 || res.Errors != 0 || res.Framing != "octet" {
		t.Fatalf("result %+v", res)
	}
	waitCount(t, sink, 300)

	// A server the CA does not vouch for is refused.
	other, _ := testServerCert(t, t.TempDir())
	ln2, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{other}})
	if err != nil {
		t.Fatal(err)
	}
	serveStream(t, ln2, true, &lineSink{})
	addr2 := "tls://localhost:" + strconv.Itoa(ln2.Addr().(*net.TCPAddr).Port)
	if _, err := runLoadgen(context.Background(), loadgenConfig{Target: addr2, Format: "raw", Connections: 1, Count: 1, CAFile: caFile}); err == nil {
		t.Fatal("an unverified server was accepted")
	}
}

// TestLoadgenStamps checks the latency design: every line carries its send
// time in the format's own time field, with sub-second precision where the
// format has it.
func TestLoadgenStamps(t *testing.T) {
	dir := t.TempDir()
	for _, format := range []string{"fortigate", "paloalto", "squid", "raw", "cisco-asa"} {
		path := filepath.Join(dir, format+".log")
		before := time.Now()
		res, err := runLoadgen(context.Background(), loadgenConfig{Target: "file://" + path, Format: format, Connections: 1, Count: 5000})
		if err != nil {
			t.Fatal(err)
		}
		after := time.Now()
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if int64(len(data)) != res.Bytes {
			t.Fatalf("%s: file has %d bytes, reported %d", format, len(data), res.Bytes)
		}
		lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
		if len(lines) != 5000 {
			t.Fatalf("%s: %d lines, want 5000", format, len(lines))
		}
		distinct := map[string]bool{}
		sizes := 0
		for _, l := range lines {
			if strings.HasPrefix(l, "<") {
				t.Fatalf("%s: file lines carry no syslog priority: %q", format, l)
			}
			sizes += len(l)
			ts, err := stampOf(format, l)
			if err != nil {
				t.Fatalf("%s: %v in %q", format, err, l)
			}
			if ts.Before(before.Truncate(time.Second)) || ts.After(after) {
				t.Fatalf("%s: stamp %s outside the run [%s, %s]", format, ts, before, after)
			}
			distinct[l] = true
		}
		if len(distinct) < 1000 {
			t.Fatalf("%s: only %d distinct lines", format, len(distinct))
		}
		avg := sizes / len(lines)
		t.Logf("%s: average %d bytes", format, avg)
		if format == "fortigate" && (avg < 600 || avg > 800) {
			t.Fatalf("fortigate lines average %d bytes, want about 700", avg)
		}
	}
}

// stampOf reads back the send time a line carries.
func stampOf(format, l string) (time.Time, error) {
	field := func(key, end string) string {
		i := strings.Index(l, key)
		if i < 0 {
			return ""
		}
		v := l[i+len(key):]
		if j := strings.Index(v, end); j >= 0 {
			v = v[:j]
		}
		return v
	}
	switch format {
	case "fortigate":
		ns, err := strconv.ParseInt(field("eventtime=", " "), 10, 64)
		if err != nil {
			return time.Time{}, err
		}
		d, err := time.Parse("2006-01-02 15:04:05", field("date=", " ")+" "+field("time=", " "))
		if err != nil {
			return time.Time{}, err
		}
		if d.Unix() != ns/1e9 {
			return time.Time{}, errors.New("date/time and eventtime disagree")
		}
		return time.Unix(0, ns), nil
	case "paloalto":
		cols := strings.Split(l, ",")
		if len(cols) != 114 {
			return time.Time{}, errors.New("not 114 columns")
		}
		return time.Parse("2006-01-02T15:04:05.000-07:00", cols[102])
	case "squid":
		sec, err := strconv.ParseFloat(strings.Fields(l)[0], 64)
		return time.UnixMilli(int64(sec * 1000)), err
	case "raw":
		return time.Parse(time.RFC3339Nano, strings.Fields(l)[0])
	default:
		return time.Parse("Jan 02 2006 15:04:05", l[:20])
	}
}

func TestLoadgenValidate(t *testing.T) {
	for _, c := range []loadgenConfig{
		{Target: "tcp://127.0.0.1", Format: "raw", Connections: 1, Count: 1},
		{Target: "http://127.0.0.1:80", Format: "raw", Connections: 1, Count: 1},
		{Target: "tcp://127.0.0.1:1", Format: "nope", Connections: 1, Count: 1},
		{Target: "tcp://127.0.0.1:1", Format: "raw", Connections: 0, Count: 1},
		{Target: "tcp://127.0.0.1:1", Format: "raw", Connections: 1},
		{Target: "tcp://127.0.0.1:1", Format: "raw", Connections: 1, Count: 1, Framing: "nul"},
		{Target: "tls://127.0.0.1:1", Format: "raw", Connections: 1, Count: 1},
		{Target: "tcp://127.0.0.1:1", Format: "raw", Connections: 1, Count: 1, Insecure: true},
		{Target: "file:///tmp/x", Format: "raw", Connections: 2, Count: 1},
		{Target: "tcp://127.0.0.1:1", Format: "raw", Connections: 1, Count: 1, Size: loadgenMaxSize + 1},
	} {
		if _, err := c.validate(); err == nil {
			t.Errorf("%+v: accepted", c)
		}
	}
}

func TestLoadgenDuration(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sink := &lineSink{}
	serveStream(t, ln, false, sink)
	res, err := runLoadgen(context.Background(), loadgenConfig{
		Target: "tcp://" + ln.Addr().String(), Format: "squid", Connections: 1,
		Duration: 300 * time.Millisecond, Rate: 1000,
	})
	if err != nil {
		t.Fatal(err)
	}
	// The rate caps what is sent: at most rate x duration plus one batch.
	if res.Messages == 0 || float64(res.Messages) > 1000*res.Seconds+2 {
		t.Fatalf("sent %d messages in %.2fs at 1000/s", res.Messages, res.Seconds)
	}
	waitCount(t, sink, int(res.Messages))
}

func testServerCert(t *testing.T, dir string) (tls.Certificate, string) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "loadgen test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		DNSNames: []string{"localhost"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, KeyUsage: x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, caFile
}
