// Package transport builds the HTTP transport the https and s3 sinks share:
// trust store with extra CAs, client certificate, forward proxy with basic
// auth, and connect/handshake/response timeouts.
package transport

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/uploader"
)

// Settings is a validated transport configuration.
type Settings struct {
	proxy   func(*http.Request) (*url.URL, error)
	tls     *tls.Config
	dialer  *net.Dialer
	connect time.Duration
	timeout time.Duration
}

// New returns a transport configured from o.
func New(o uploader.SinkOptions) (*http.Transport, error) {
	s, err := Build(o)
	if err != nil {
		return nil, err
	}
	t := &http.Transport{}
	s.Apply(t)
	return t, nil
}

// Build reads the CA and certificate files and validates the proxy, so
// errors surface when the sink is built, not at the first upload.
func Build(o uploader.SinkOptions) (*Settings, error) {
	o = o.WithDefaults()
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	for _, f := range []string{o.CAFile, o.ProxyCAFile} {
		if f == "" {
			continue
		}
		pem, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("read CA bundle: %w", err)
		}
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("no PEM certificates in %s", f)
		}
	}
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, RootCAs: pool}
	if o.ClientCert != "" || o.ClientKey != "" {
		if o.ClientCert == "" || o.ClientKey == "" {
			return nil, errors.New("client_cert and client_key go together")
		}
		if _, err := tls.LoadX509KeyPair(o.ClientCert, o.ClientKey); err != nil {
			return nil, fmt.Errorf("load client certificate: %w", err)
		}
		cert, key := o.ClientCert, o.ClientKey
		// Loaded at each handshake so a renewed certificate is used without restart.
		tlsConf.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			c, err := tls.LoadX509KeyPair(cert, key)
			if err != nil {
				return nil, fmt.Errorf("load client certificate: %w", err)
			}
			return &c, nil
		}
	}
	proxy, err := proxyFunc(o)
	if err != nil {
		return nil, err
	}
	return &Settings{
		proxy:   proxy,
		tls:     tlsConf,
		dialer:  &net.Dialer{Timeout: o.ConnectTimeout, KeepAlive: 30 * time.Second},
		connect: o.ConnectTimeout,
		timeout: o.Timeout,
	}, nil
}

// Apply configures t. It may run more than once (the AWS SDK builds its
// transport lazily and may add its own CA bundle); each call gets its own
// copy of the TLS settings.
func (s *Settings) Apply(t *http.Transport) {
	tc := s.tls.Clone()
	tc.RootCAs = s.tls.RootCAs.Clone()
	t.Proxy = s.proxy
	t.DialContext = s.dialer.DialContext
	t.TLSClientConfig = tc
	t.TLSHandshakeTimeout = s.connect
	t.ResponseHeaderTimeout = s.timeout
	t.ExpectContinueTimeout = time.Second
	t.MaxIdleConns = 16
	t.MaxIdleConnsPerHost = 4
	t.IdleConnTimeout = 90 * time.Second
	t.MaxResponseHeaderBytes = 64 << 10
	t.ForceAttemptHTTP2 = true
	t.OnProxyConnectResponse = onProxyConnect
}

// onProxyConnect turns a refused CONNECT into a typed error, so a 407 is
// classified as proxy_auth rather than an opaque message.
func onProxyConnect(_ context.Context, proxyURL *url.URL, _ *http.Request, resp *http.Response) error {
	if resp.StatusCode == http.StatusOK {
		return nil
	}
	_, text, _ := strings.Cut(resp.Status, " ")
	return &uploader.ProxyError{Proxy: proxyURL.Redacted(), Status: resp.StatusCode, Text: text}
}

func proxyFunc(o uploader.SinkOptions) (func(*http.Request) (*url.URL, error), error) {
	if o.ProxyURL == "" {
		if o.ProxyPasswordFile != "" {
			return nil, errors.New("proxy_password_file needs proxy_url with a user name")
		}
		return http.ProxyFromEnvironment, nil
	}
	u, err := url.Parse(o.ProxyURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL and its password
		}
		return nil, fmt.Errorf("invalid proxy_url: %w", err)
	}
	switch u.Scheme {
	case "http", "https", "socks5", "socks5h":
	default:
		return nil, fmt.Errorf("proxy_url %s: scheme must be http, https, socks5 or socks5h", u.Redacted())
	}
	if u.Host == "" {
		return nil, fmt.Errorf("proxy_url %s: no host", u.Redacted())
	}
	if o.ProxyPasswordFile == "" {
		return http.ProxyURL(u), nil
	}
	if u.User == nil || u.User.Username() == "" {
		return nil, errors.New("proxy_password_file needs proxy_url with a user name")
	}
	file, user := o.ProxyPasswordFile, u.User.Username()
	if _, err := os.Stat(file); err != nil {
		return nil, fmt.Errorf("proxy password file: %w", err)
	}
	return func(*http.Request) (*url.URL, error) {
		pw, err := os.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("%w: read proxy password file: %w", uploader.ErrCredentials, err)
		}
		p := *u
		p.User = url.UserPassword(user, strings.TrimRight(string(pw), "\r\n"))
		return &p, nil
	}, nil
}
