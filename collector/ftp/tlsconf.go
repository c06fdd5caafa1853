package ftp

import (
	"crypto/tls"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// certCheckInterval bounds how often the certificate files are stat'ed.
const certCheckInterval = 10 * time.Second

// certReloader serves the certificate from CertFile/KeyFile and reloads it
// when either file changes, so a renewed certificate needs no restart.
type certReloader struct {
	certFile, keyFile string
	log               zerolog.Logger

	mu        sync.Mutex
	cert      *tls.Certificate
	certStamp fileStamp
	keyStamp  fileStamp
	checked   time.Time
}

type fileStamp struct {
	size  int64
	mtime time.Time
}

func stampOf(path string) (fileStamp, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return fileStamp{}, err
	}
	return fileStamp{size: fi.Size(), mtime: fi.ModTime()}, nil
}

func newCertReloader(certFile, keyFile string, log zerolog.Logger) (*certReloader, error) {
	r := &certReloader{certFile: certFile, keyFile: keyFile, log: log}
	if err := r.load(); err != nil {
		return nil, err
	}
	return r, nil
}

func (r *certReloader) load() error {
	cs, err := stampOf(r.certFile)
	if err != nil {
		return fmt.Errorf("certificate: %w", err)
	}
	ks, err := stampOf(r.keyFile)
	if err != nil {
		return fmt.Errorf("key: %w", err)
	}
	cert, err := tls.LoadX509KeyPair(r.certFile, r.keyFile)
	if err != nil {
		return fmt.Errorf("load certificate: %w", err)
	}
	r.cert, r.certStamp, r.keyStamp, r.checked = &cert, cs, ks, time.Now()
	return nil
}

func (r *certReloader) getCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if time.Since(r.checked) < certCheckInterval {
		return r.cert, nil
	}
	r.checked = time.Now()
	cs, err1 := stampOf(r.certFile)
	ks, err2 := stampOf(r.keyFile)
	if err1 != nil || err2 != nil || (cs == r.certStamp && ks == r.keyStamp) {
		return r.cert, nil
	}
	old := r.cert
	if err := r.load(); err != nil {
		// Keep serving the previous certificate; a half-written pair is retried later.
		r.cert = old
		r.log.Warn().Err(err).Msg("certificate files changed but could not be loaded; keeping the previous one")
		return r.cert, nil
	}
	r.log.Info().Str("cert", r.certFile).Msg("certificate reloaded")
	return r.cert, nil
}
