package uploader_test

import (
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/uploader"
)

func TestClassify(t *testing.T) {
	now := time.Now()
	cases := []struct {
		err   error
		class string
		words string
	}{
		{&net.DNSError{Name: "upload.example", Err: "no such host", IsNotFound: true}, "dns", "does not resolve"},
		{&net.DNSError{Name: "upload.example", Err: "server misbehaving"}, "dns", "DNS lookup"},
		{fmt.Errorf("put: %w", x509.UnknownAuthorityError{}), "tls", "unknown authority"},
		{x509.HostnameError{Host: "10.0.0.1", Certificate: &x509.Certificate{}}, "tls", "does not cover the name"},
		{x509.CertificateInvalidError{Reason: x509.Expired, Cert: &x509.Certificate{}}, "tls", "expired"},
		{&uploader.ProxyError{Proxy: "http://p:3128", Status: 407, Text: "Proxy Authentication Required"}, "proxy_auth", "requires authentication"},
		{&uploader.ProxyError{Proxy: "http://p:3128", Status: 403, Text: "Forbidden"}, "network", "refused to open a tunnel"},
		{&uploader.StatusError{Status: 407}, "proxy_auth", "proxy requires authentication"},
		{&uploader.StatusError{Status: 401}, "auth", "rejected the credentials"},
		{&uploader.StatusError{Status: 403}, "auth", "access denied"},
		{&uploader.StatusError{Status: 403, Code: "RequestTimeTooSkewed"}, "auth", "clock skew"},
		{&uploader.StatusError{Status: 403, Code: "SignatureDoesNotMatch"}, "auth", "secret key"},
		{&uploader.StatusError{Status: 401, ServerDate: now.Add(time.Hour), Local: now}, "auth", "server's clock differs from ours by 1h0m0s"},
		{&uploader.StatusError{Status: 404, Code: "NoSuchBucket"}, "http_4xx", "bucket does not exist"},
		{&uploader.StatusError{Status: 503}, "http_5xx", "server-side error"},
		{&uploader.StatusError{Status: 429}, "http_4xx", "throttling"},
		{&uploader.StatusError{Status: 302}, "redirect", "redirect"},
		{uploader.Permanent(&uploader.StatusError{Status: 400, Message: "bad json"}), "rejected", "bad json"},
		{fmt.Errorf("x: %w", context.DeadlineExceeded), "timeout", "longer than the timeout"},
		{refused(), "network", "connection refused by 127.0.0.1:9"},
		{&net.OpError{Op: "proxyconnect", Net: "tcp", Err: refused()}, "network", "proxy"},
		{io.ErrUnexpectedEOF, "network", "closed before the target answered"},
		{fmt.Errorf("%w: read token file: boom", uploader.ErrCredentials), "auth", "could not be read"},
		{&fs.PathError{Op: "open", Path: "/x", Err: fs.ErrPermission}, "io", "file system"},
		{context.Canceled, "canceled", "cancelled"},
		{errors.New("something odd"), "network", "something odd"},
	}
	for _, c := range cases {
		class, expl := uploader.Classify(c.err)
		if class != c.class || !strings.Contains(expl, c.words) {
			t.Errorf("Classify(%v) = %q, %q; want %q containing %q", c.err, class, expl, c.class, c.words)
		}
	}
	if c, e := uploader.Classify(nil); c != "" || e != "" {
		t.Errorf("Classify(nil) = %q %q", c, e)
	}
}

func TestHTTPStatusError(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	resp := func(status int, hdr ...string) *http.Response {
		h := http.Header{}
		for i := 0; i+1 < len(hdr); i += 2 {
			h.Set(hdr[i], hdr[i+1])
		}
		return &http.Response{StatusCode: status, Header: h}
	}
	if err := uploader.HTTPStatusError("PUT u", resp(400), []byte("bad\x00input"), now); !uploader.IsPermanent(err) ||
		!strings.Contains(err.Error(), "bad input") {
		t.Errorf("400: %v", err)
	}
	for _, s := range []int{401, 403, 404, 407, 408, 409, 429, 500, 503} {
		if err := uploader.HTTPStatusError("PUT u", resp(s), nil, now); uploader.IsPermanent(err) {
			t.Errorf("%d classified permanent", s)
		}
	}
	err := uploader.HTTPStatusError("PUT u", resp(429, "Retry-After", "7"), nil, now)
	if uploader.RetryAfter(err) != 7*time.Second {
		t.Errorf("retry-after seconds: %v", uploader.RetryAfter(err))
	}
	err = uploader.HTTPStatusError("PUT u", resp(503, "Retry-After", now.Add(90*time.Second).Format(http.TimeFormat)), nil, now)
	if uploader.RetryAfter(err) != 90*time.Second {
		t.Errorf("retry-after date: %v", uploader.RetryAfter(err))
	}
	if d := uploader.ParseRetryAfter("999999999", now); d != time.Hour {
		t.Errorf("retry-after cap: %v", d)
	}
	if d := uploader.ParseRetryAfter("soon", now); d != 0 {
		t.Errorf("retry-after garbage: %v", d)
	}
	big := strings.Repeat("x", 10000)
	if se := uploader.HTTPStatusError("PUT u", resp(503), []byte(big), now); len(se.Error()) > 5000 {
		t.Errorf("body excerpt not bounded: %d", len(se.Error()))
	}
}

func TestValidKey(t *testing.T) {
	for _, k := range []string{"a", "c1/fw/2026/11/28/x.jsonl.zst", "a.b/c-d_e"} {
		if err := uploader.ValidKey(k); err != nil {
			t.Errorf("%q: %v", k, err)
		}
	}
	for _, k := range []string{"", "/abs", "a/../b", "..", "a//b", "a/./b", "a\\b", "a\nb", "a/", strings.Repeat("a", 1025)} {
		if err := uploader.ValidKey(k); err == nil {
			t.Errorf("%q accepted", k)
		}
	}
}

func TestNewSinkRegistry(t *testing.T) {
	if _, err := uploader.NewSink("nope://x", uploader.SinkOptions{}); err == nil || !strings.Contains(err.Error(), "unknown scheme") {
		t.Fatalf("unknown scheme: %v", err)
	}
	if _, err := uploader.NewSink("https://user:s3cret@[::1", uploader.SinkOptions{}); err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("bad URL error leaks or is missing: %v", err)
	}
	o := uploader.SinkOptions{ProxyURL: "http://u:hunter2@proxy:3128"}
	if strings.Contains(o.String(), "hunter2") {
		t.Fatalf("options String leaks the proxy password: %s", o)
	}
	if err := (uploader.SinkOptions{ManifestMode: "x"}).Validate(); err == nil {
		t.Fatal("bad manifest mode accepted")
	}
}
