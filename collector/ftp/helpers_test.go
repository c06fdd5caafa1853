package ftp

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"golang.org/x/crypto/bcrypt"
)

const (
	testUser = "bluecoat"
	testPass = "s3cret-pw"
)

// Sample uploads: a Blue Coat ELFF access log and a Squid native access log.
const blueCoatLog = `#Software: SGOS 6.7.5.1
#Version: 1.0
#Start-Date: 2024-03-01 10:00:00
#Date: 2024-03-01 10:00:00
#Fields: date time time-taken c-ip cs-username s-action sc-status cs-method cs-uri-scheme cs-host cs-uri-path sc-bytes cs-bytes
2024-03-01 10:00:01 120 10.1.2.3 jdoe TCP_NC_MISS 200 GET https www.example.com /index.html 5120 512
2024-03-01 10:00:02 80 10.1.2.4 - TCP_DENIED 403 GET http ads.example.net /banner 0 300
`

const squidLog = `1709287201.123    120 10.1.2.3 TCP_MISS/200 5120 GET http://www.example.com/index.html jdoe HIER_DIRECT/93.184.216.34 text/html
1709287202.456     80 10.1.2.4 TCP_DENIED/403 300 GET http://ads.example.net/banner - HIER_NONE/- text/html
`

// testPKI writes a self-signed certificate for localhost/127.0.0.1.
type testPKI struct {
	certFile, keyFile string
	pool              *x509.CertPool
}

func newTestPKI(t *testing.T) testPKI {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: "localhost"},
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := testPKI{certFile: filepath.Join(dir, "cert.pem"), keyFile: filepath.Join(dir, "key.pem"), pool: x509.NewCertPool()}
	if err := os.WriteFile(p.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p.keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	p.pool.AddCert(cert)
	return p
}

func (p testPKI) clientTLS() *tls.Config {
	return &tls.Config{RootCAs: p.pool, ServerName: "127.0.0.1", MinVersion: tls.VersionTLS12}
}

// fastHash is a bcrypt hash at minimum cost: Argon2id under -race is slow and
// the hash function is not what most tests exercise.
func fastHash(t *testing.T, pw string) string {
	t.Helper()
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	return string(h)
}

type testServer struct {
	srv  *Server
	reg  *prometheus.Registry
	drop string
	pki  testPKI
}

func (ts *testServer) addr() string     { return ts.srv.Addr().String() }
func (ts *testServer) implAddr() string { return ts.srv.ImplicitAddr().String() }
func (ts *testServer) port() string {
	_, p, _ := net.SplitHostPort(ts.addr())
	return p
}

// startServer runs a server on 127.0.0.1:0 (and an implicit-TLS listener) with
// one account; mod adjusts the config before New.
func startServer(t *testing.T, mod func(*Config)) *testServer {
	t.Helper()
	pki := newTestPKI(t)
	drop := filepath.Join(t.TempDir(), "drop")
	reg := prometheus.NewRegistry()
	cfg := Config{
		Address:            "127.0.0.1:0",
		ImplicitTLSAddress: "127.0.0.1:0",
		CertFile:           pki.certFile,
		KeyFile:            pki.keyFile,
		MinFreeDiskBytes:   -1,
		Accounts: []Account{{
			Source: "proxy1", User: testUser, PasswordHash: fastHash(t, testPass), DropDir: drop,
		}},
		Registerer: reg,
	}
	if mod != nil {
		mod(&cfg)
	}
	if len(cfg.Accounts) > 0 {
		drop = cfg.Accounts[0].DropDir
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	select {
	case <-srv.Ready():
	case err := <-done:
		cancel()
		t.Fatalf("Run: %v", err)
	case <-time.After(10 * time.Second):
		cancel()
		t.Fatal("server not ready")
	}
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Run returned %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return &testServer{srv: srv, reg: reg, drop: drop, pki: pki}
}

func counter(t *testing.T, c prometheus.Collector) float64 {
	t.Helper()
	return testutil.ToFloat64(c)
}

func (ts *testServer) rejected(t *testing.T, reason string) float64 {
	return counter(t, ts.srv.m.rejected.WithLabelValues(reason))
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dropFiles lists the regular files in the drop folder (not .incoming).
func dropFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Type().IsRegular() {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			out[e.Name()] = string(b)
		}
	}
	return out
}

func incomingCount(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, incomingDir))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

// rawClient speaks FTP by hand, for commands no client library would send.
type rawClient struct {
	t    *testing.T
	conn net.Conn
	r    *bufio.Reader
}

func dialRaw(t *testing.T, addr string) *rawClient {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := &rawClient{t: t, conn: conn, r: bufio.NewReader(conn)}
	t.Cleanup(func() { _ = conn.Close() })
	if code, msg := c.read(); code != 220 {
		t.Fatalf("banner: %d %s", code, msg)
	}
	return c
}

func (c *rawClient) read() (int, string) {
	c.t.Helper()
	code, msg, err := c.tryRead()
	if err != nil {
		c.t.Fatalf("read reply: %v", err)
	}
	return code, msg
}

func (c *rawClient) tryRead() (int, string, error) {
	_ = c.conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	var all []string
	for {
		line, err := c.r.ReadString('\n')
		if err != nil {
			return 0, strings.Join(all, "\n"), err
		}
		line = strings.TrimRight(line, "\r\n")
		all = append(all, line)
		if len(line) >= 4 && line[3] == ' ' {
			code, err := strconv.Atoi(line[:3])
			if err != nil {
				return 0, line, err
			}
			return code, strings.Join(all, "\n"), nil
		}
		if len(all) > 1000 {
			return 0, "", errors.New("reply too long")
		}
	}
}

func (c *rawClient) send(format string, args ...any) {
	c.t.Helper()
	_ = c.conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := fmt.Fprintf(c.conn, format+"\r\n", args...); err != nil {
		c.t.Fatalf("send: %v", err)
	}
}

func (c *rawClient) cmd(format string, args ...any) (int, string) {
	c.t.Helper()
	c.send(format, args...)
	return c.read()
}

func (c *rawClient) expect(want int, format string, args ...any) string {
	c.t.Helper()
	code, msg := c.cmd(format, args...)
	if code != want {
		c.t.Fatalf("%s: got %d %q, want %d", fmt.Sprintf(format, args...), code, msg, want)
	}
	return msg
}

func (c *rawClient) authTLS(cfg *tls.Config) {
	c.t.Helper()
	c.expect(234, "AUTH TLS")
	tc := tls.Client(c.conn, cfg)
	if err := tc.Handshake(); err != nil {
		c.t.Fatalf("handshake: %v", err)
	}
	c.conn = tc
	c.r = bufio.NewReader(tc)
}

func (c *rawClient) login(user, pass string) {
	c.t.Helper()
	c.expect(331, "USER %s", user)
	c.expect(230, "PASS %s", pass)
}

// epsv returns the passive data port.
func (c *rawClient) epsv() int {
	c.t.Helper()
	msg := c.expect(229, "EPSV")
	i, j := strings.Index(msg, "(|||"), strings.LastIndex(msg, "|)")
	port, err := strconv.Atoi(msg[i+4 : j])
	if err != nil {
		c.t.Fatalf("EPSV reply %q", msg)
	}
	return port
}
