package syslog

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"
)

type tlsFixture struct {
	server     *tls.Config // server certificate only
	roots      *x509.CertPool
	clientCert tls.Certificate // CN fw01, signed by the CA
	rogueCert  tls.Certificate // CN fw01, self-signed
}

var (
	tlsOnce sync.Once
	tlsFix  *tlsFixture
	tlsErr  error
)

// testTLS builds a test CA, a server certificate for DNS localhost (and 127.0.0.1) and
// client certificates, once per test binary.
func testTLS(t testing.TB) *tlsFixture {
	t.Helper()
	tlsOnce.Do(func() { tlsFix, tlsErr = newTLSFixture() })
	if tlsErr != nil {
		t.Fatalf("tls fixture: %v", tlsErr)
	}
	return tlsFix
}

func newTLSFixture() (*tlsFixture, error) {
	now := time.Now()
	newKey := func() (*ecdsa.PrivateKey, error) { return ecdsa.GenerateKey(elliptic.P256(), rand.Reader) }
	caKey, err := newKey()
	if err != nil {
		return nil, err
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "CloudScout test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, err
	}
	leaf := func(serial int64, tmpl *x509.Certificate, parent *x509.Certificate, parentKey *ecdsa.PrivateKey) (tls.Certificate, error) {
		key, err := newKey()
		if err != nil {
			return tls.Certificate{}, err
		}
		tmpl.SerialNumber = big.NewInt(serial)
		tmpl.NotBefore, tmpl.NotAfter = now.Add(-time.Hour), now.Add(time.Hour)
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		if parent == nil {
			parent, parentKey = tmpl, key
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, parentKey)
		if err != nil {
			return tls.Certificate{}, err
		}
		return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
	}
	server, err := leaf(2, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "localhost"},
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}, ca, caKey)
	if err != nil {
		return nil, err
	}
	client, err := leaf(3, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "fw01"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, ca, caKey)
	if err != nil {
		return nil, err
	}
	rogue, err := leaf(4, &x509.Certificate{
		Subject:     pkix.Name{CommonName: "fw01"},
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}, nil, nil)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca)
	return &tlsFixture{
		server:     &tls.Config{Certificates: []tls.Certificate{server}},
		roots:      roots,
		clientCert: client,
		rogueCert:  rogue,
	}, nil
}

// mtlsServer returns a server config that requires a client certificate from the CA.
func (f *tlsFixture) mtlsServer() *tls.Config {
	c := f.server.Clone()
	c.ClientAuth = tls.RequireAndVerifyClientCert
	c.ClientCAs = f.roots
	return c
}

func (f *tlsFixture) client(certs ...tls.Certificate) *tls.Config {
	return &tls.Config{RootCAs: f.roots, ServerName: "localhost", Certificates: certs}
}

// dialTLS connects and completes the handshake (from the client's view).
func dialTLS(t testing.TB, addr net.Addr, cfg *tls.Config) (*tls.Conn, error) {
	t.Helper()
	d := &tls.Dialer{NetDialer: &net.Dialer{Timeout: 5 * time.Second}, Config: cfg}
	c, err := d.Dial("tcp", addr.String())
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { _ = c.Close() })
	return c.(*tls.Conn), nil
}

func TestTLS(t *testing.T) {
	fix := testTLS(t)
	r, h := start(t, Config{Transport: TransportTLS, TLS: fix.server})
	c, err := dialTLS(t, r.Addr(), fix.client())
	if err != nil {
		t.Fatal(err)
	}
	// rsyslog's gtls driver sends LF framing, RFC 5425 senders octet counting.
	write(t, c, "<13>tls lf\n"+octet("<13>tls octet\n")+"<13>tls nul\x00")
	waitFor(t, "tls messages", func() bool { return h.count() == 3 })
	if got := h.datas(); got[0] != "<13>tls lf" || got[1] != "<13>tls octet" || got[2] != "<13>tls nul" {
		t.Errorf("got %q", got)
	}
	h.mu.Lock()
	info := h.opened[0]
	h.mu.Unlock()
	if info.Transport != TransportTLS || info.TLSPeerCN != "" {
		t.Errorf("stream info %+v", info)
	}
	if n := counter(r.cfg.Metrics.messages, "test", "tls"); n != 3 {
		t.Errorf("messages_total{tls} = %d", n)
	}
	if r.tlsConf.MinVersion != tls.VersionTLS12 || fix.server.MinVersion != 0 {
		t.Errorf("MinVersion %x (caller's config %x)", r.tlsConf.MinVersion, fix.server.MinVersion)
	}
}

func TestTLSRejectsOldVersions(t *testing.T) {
	fix := testTLS(t)
	r, _ := start(t, Config{Transport: TransportTLS, TLS: fix.server})
	cfg := fix.client()
	cfg.MinVersion, cfg.MaxVersion = tls.VersionTLS10, tls.VersionTLS11
	if _, err := dialTLS(t, r.Addr(), cfg); err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}
	m := r.cfg.Metrics
	waitFor(t, "handshake failure counted", func() bool { return counter(m.connRejected, "test", "tls_handshake") == 1 })
	if n := counter(m.tlsFailures, "test", "version"); n != 1 {
		t.Errorf("tls_handshake_failures_total{version} = %d", n)
	}
}

func TestTLSClientCertificates(t *testing.T) {
	fix := testTLS(t)
	r, h := start(t, Config{Transport: TransportTLS, TLS: fix.mtlsServer()})
	m := r.cfg.Metrics

	// Without a certificate: with TLS 1.3 the client learns of the rejection on its
	// first read.
	if c, err := dialTLS(t, r.Addr(), fix.client()); err == nil {
		expectClosed(t, c)
	}
	waitFor(t, "no_client_cert counted", func() bool { return counter(m.tlsFailures, "test", "no_client_cert") == 1 })

	// A certificate from another CA (the Go client would not offer it on its own, as
	// its issuer is not among the server's acceptable CAs).
	rogue := fix.client()
	rogue.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &fix.rogueCert, nil }
	if c, err := dialTLS(t, r.Addr(), rogue); err == nil {
		expectClosed(t, c)
	}
	waitFor(t, "bad_client_cert counted", func() bool { return counter(m.tlsFailures, "test", "bad_client_cert") == 1 })
	if n := counter(m.connRejected, "test", "tls_handshake"); n != 2 {
		t.Errorf("rejected tls_handshake = %d", n)
	}

	c, err := dialTLS(t, r.Addr(), fix.client(fix.clientCert))
	if err != nil {
		t.Fatal(err)
	}
	write(t, c, "<13>from fw01\n")
	waitFor(t, "message", func() bool { return h.count() == 1 })
	h.mu.Lock()
	opened := append([]StreamInfo(nil), h.opened...)
	h.mu.Unlock()
	if len(opened) != 1 || opened[0].TLSPeerCN != "fw01" {
		t.Errorf("opened streams %+v (refused clients must not reach the handler)", opened)
	}
}

func TestTLSHandshakeTimeout(t *testing.T) {
	fix := testTLS(t)
	r, h := start(t, Config{Transport: TransportTLS, TLS: fix.server, HandshakeTimeout: 200 * time.Millisecond})
	silent := dial(t, r.Addr())
	expectClosed(t, silent)
	m := r.cfg.Metrics
	waitFor(t, "timeout counted", func() bool { return counter(m.tlsFailures, "test", "timeout") == 1 })
	waitFor(t, "slot released", func() bool { return gauge(m.connActive, "test") == 0 })
	// Plain text on a TLS port.
	plain := dial(t, r.Addr())
	write(t, plain, "<13>not tls at all\n")
	expectClosed(t, plain)
	waitFor(t, "not_tls counted", func() bool { return counter(m.tlsFailures, "test", "not_tls") == 1 })
	if h.count() != 0 {
		t.Error("plain text delivered from a TLS port")
	}
}
