package ftp

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// A renewed certificate is served without a restart; a half-written one is not.
func TestCertificateReload(t *testing.T) {
	first := newTestPKI(t)
	r, err := newCertReloader(first.certFile, first.keyFile, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	c1, _ := r.getCertificate(nil)

	second := newTestPKI(t)
	copyFile(t, second.certFile, first.certFile)
	copyFile(t, second.keyFile, first.keyFile)
	future := time.Now().Add(time.Minute)
	_ = os.Chtimes(first.certFile, future, future)
	r.mu.Lock()
	r.checked = time.Time{}
	r.mu.Unlock()
	c2, _ := r.getCertificate(nil)
	if bytes.Equal(c1.Certificate[0], c2.Certificate[0]) {
		t.Fatal("certificate not reloaded")
	}

	if err := os.WriteFile(first.keyFile, []byte("garbage"), 0o600); err != nil {
		t.Fatal(err)
	}
	r.mu.Lock()
	r.checked = time.Time{}
	r.mu.Unlock()
	c3, _ := r.getCertificate(nil)
	if !bytes.Equal(c2.Certificate[0], c3.Certificate[0]) {
		t.Fatal("broken key replaced the served certificate")
	}
}

func copyFile(t *testing.T, src, dst string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, b, 0o600); err != nil {
		t.Fatal(err)
	}
}
