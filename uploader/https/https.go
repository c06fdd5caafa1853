// Package https is the https:// sink: it sends each batch to an HTTPS
// endpoint.
//
// With method PUT (default) the body goes to <url>/<key>; with POST to
// <url> itself. Every request carries the manifest as headers
// (X-CloudScout-Batch-Id, -Key, -Collector, -Source, -Records, -Raw-Bytes,
// -Sha256, -Compression, -First-Time, -Last-Time, -Sealed), Content-Type,
// Content-Encoding (the batch compression), Content-Digest and
// Idempotency-Key: <batch id>, so a receiver can drop a batch it already
// has. In sidecar mode (PUT only) <url>/<key>.manifest.json follows the
// batch. A bearer token is read from token_file or token_env at each
// request; it never appears in String(), errors or logs.
//
// Any 2xx is success. Other answers become uploader.StatusError values
// (retryable) or uploader.PermanentError (the batch was refused). Each
// attempt is one request; the uploader retries with a freshly opened body.
package https

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/textproto"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/uploader"
	"github.com/cloudscout/cloudscout/uploader/internal/transport"
	"github.com/cloudscout/cloudscout/uploader/internal/wire"
)

func init() {
	uploader.RegisterSink("https", func(u *url.URL, o uploader.SinkOptions) (uploader.Sink, error) {
		return New(u, o)
	})
}

// Sink uploads batches to one HTTPS endpoint.
type Sink struct {
	base    *url.URL
	method  string
	opts    uploader.SinkOptions
	client  *http.Client
	headers http.Header
}

var _ uploader.Sink = (*Sink)(nil)

// reserved headers are set by the sink or the HTTP stack.
var reserved = map[string]bool{
	"Host": true, "Content-Length": true, "Transfer-Encoding": true, "Connection": true,
	"Content-Type": true, "Content-Encoding": true, "Idempotency-Key": true, "Content-Digest": true,
}

// New builds an HTTPS sink. Credentials in the URL are refused: tokens
// belong in a file or variable, not in configuration or argv.
func New(u *url.URL, o uploader.SinkOptions) (*Sink, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o = o.WithDefaults()
	if u.Scheme != "https" {
		return nil, fmt.Errorf("https sink: scheme %q, want https", u.Scheme)
	}
	if u.User != nil {
		return nil, errors.New("https sink: credentials in the URL are not allowed; use token_file or token_env")
	}
	if u.Host == "" {
		return nil, errors.New("https sink: URL has no host")
	}
	if u.Fragment != "" {
		return nil, errors.New("https sink: URL must not have a fragment")
	}
	method := strings.ToUpper(o.Method)
	switch method {
	case "":
		method = http.MethodPut
	case http.MethodPut, http.MethodPost:
	default:
		return nil, fmt.Errorf("https sink: method %q, want PUT or POST", o.Method)
	}
	if method == http.MethodPost && o.ManifestMode == uploader.ManifestSidecar {
		return nil, errors.New("https sink: manifest_mode sidecar needs method PUT")
	}
	h := http.Header{}
	for k, v := range o.Headers {
		ck := textproto.CanonicalMIMEHeaderKey(k)
		if k == "" || strings.ContainsAny(k, " \t\r\n:") {
			return nil, fmt.Errorf("https sink: invalid header name %q", k)
		}
		if reserved[ck] || strings.HasPrefix(ck, "X-Cloudscout-") ||
			ck == "Authorization" && (o.TokenFile != "" || o.TokenEnv != "") {
			return nil, fmt.Errorf("https sink: header %s is set by the sink", ck)
		}
		if strings.ContainsAny(v, "\r\n\x00") {
			return nil, fmt.Errorf("https sink: header %s: value has a line break", ck)
		}
		h.Set(ck, v)
	}
	tr, err := transport.New(o)
	if err != nil {
		return nil, fmt.Errorf("https sink: %w", err)
	}
	base := *u
	return &Sink{
		base:    &base,
		method:  method,
		opts:    o,
		headers: h,
		client: &http.Client{
			Transport: tr,
			// A redirected upload would resend the body to an unchecked
			// place; report it instead.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}, nil
}

// String names the endpoint without query (which may hold a signature).
func (s *Sink) String() string {
	return redact(s.base) + " (" + s.method + ")"
}

func redact(u *url.URL) string {
	c := *u
	c.User = nil
	if c.RawQuery != "" {
		c.RawQuery = ""
		return c.String() + "?[redacted]"
	}
	return c.String()
}

// urlFor is where key goes: appended to the base path for PUT.
func (s *Sink) urlFor(key string, method string) *url.URL {
	u := *s.base
	if method != http.MethodPut {
		return &u
	}
	segs := strings.Split(key, "/")
	esc := make([]string, len(segs))
	for i, seg := range segs {
		esc[i] = url.PathEscape(seg)
	}
	u.Path = strings.TrimRight(s.base.Path, "/") + "/" + key
	u.RawPath = strings.TrimRight(s.base.EscapedPath(), "/") + "/" + strings.Join(esc, "/")
	return &u
}

// token reads the bearer token now, so a rotated file takes effect at once.
func (s *Sink) token() (string, error) {
	switch {
	case s.opts.TokenFile != "":
		b, err := os.ReadFile(s.opts.TokenFile)
		if err != nil {
			return "", fmt.Errorf("%w: read token file: %w", uploader.ErrCredentials, err)
		}
		t := strings.TrimSpace(string(b))
		if t == "" {
			return "", fmt.Errorf("%w: token file %s is empty", uploader.ErrCredentials, s.opts.TokenFile)
		}
		return t, nil
	case s.opts.TokenEnv != "":
		t := strings.TrimSpace(os.Getenv(s.opts.TokenEnv))
		if t == "" {
			return "", fmt.Errorf("%w: variable %s is empty or unset", uploader.ErrCredentials, s.opts.TokenEnv)
		}
		return t, nil
	}
	return "", nil
}

// Put sends one batch (and in sidecar mode its manifest).
func (s *Sink) Put(ctx context.Context, key string, body io.Reader, size int64, m uploader.Manifest) error {
	if err := uploader.ValidKey(key); err != nil {
		return uploader.Permanent(err)
	}
	tok, err := s.token()
	if err != nil {
		return err
	}
	hdr := s.batchHeaders(m)
	if err := s.send(ctx, s.method, s.urlFor(key, s.method), body, size, hdr, tok); err != nil {
		return err
	}
	if s.opts.ManifestMode != uploader.ManifestSidecar {
		return nil
	}
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	side := http.Header{}
	side.Set("Content-Type", "application/json")
	side.Set("Idempotency-Key", wire.Value(idOf(m, key)+".manifest"))
	side.Set("X-CloudScout-Manifest-For", wire.Value(key))
	return s.send(ctx, http.MethodPut, s.urlFor(key+".manifest.json", http.MethodPut), bytes.NewReader(data), int64(len(data)), side, tok)
}

func idOf(m uploader.Manifest, key string) string {
	if m.ID != "" {
		return m.ID
	}
	return key
}

func (s *Sink) batchHeaders(m uploader.Manifest) http.Header {
	h := http.Header{}
	h.Set("Content-Type", wire.ContentType(m))
	if enc := wire.ContentEncoding(m); enc != "" {
		h.Set("Content-Encoding", enc)
	}
	h.Set("Idempotency-Key", wire.Value(idOf(m, m.Key)))
	for _, f := range wire.Fields(m) {
		h.Set("X-CloudScout-"+f.Name, f.Value)
	}
	if raw, err := hex.DecodeString(m.SHA256); err == nil && len(raw) == 32 {
		h.Set("Content-Digest", "sha-256=:"+base64.StdEncoding.EncodeToString(raw)+":")
	}
	return h
}

func (s *Sink) send(ctx context.Context, method string, u *url.URL, body io.Reader, size int64, hdr http.Header, tok string) error {
	ctx, cancel := context.WithTimeout(ctx, s.opts.RequestTimeout(size))
	defer cancel()
	if size == 0 {
		body = http.NoBody
	}
	req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
	if err != nil {
		return fmt.Errorf("build request for %s: %w", redact(u), err)
	}
	req.ContentLength = size
	for k, v := range s.headers {
		req.Header[k] = v
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("User-Agent", "cloudscout-uploader")
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redact(u)
		}
		return err
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	// Drain a little more so the connection can be reused; never unbounded.
	_, _ = io.CopyN(io.Discard, resp.Body, 64<<10)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return nil
	}
	return uploader.HTTPStatusError(method+" "+redact(u), resp, excerpt, time.Now())
}
