package uploader

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Defaults applied by SinkOptions.WithDefaults.
const (
	DefaultTimeout            = 5 * time.Minute
	DefaultConnectTimeout     = 30 * time.Second
	DefaultMultipartThreshold = 64 << 20
	DefaultPartSize           = 16 << 20
	MinPartSize               = 5 << 20 // S3 minimum for all parts but the last
)

// Manifest modes.
const (
	// ManifestHeaders sends the manifest as request headers (HTTPS) or object
	// metadata (S3). The file sink always writes a sidecar.
	ManifestHeaders = "headers"
	// ManifestSidecar additionally stores <key>.manifest.json after the batch.
	ManifestSidecar = "sidecar"
)

// SinkOptions holds the per-target settings. The lead fills it from the
// YAML configuration; secrets are never inline, only file or variable names.
type SinkOptions struct {
	// Timeout bounds one request (one PUT/POST, one S3 call) from start to
	// answer. Default 5m. With a bandwidth limit, size/limit is added so a big
	// batch at a low rate is not cut off.
	Timeout time.Duration `yaml:"timeout"`
	// ConnectTimeout bounds the TCP connect and the TLS handshake. Default 30s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// BandwidthLimit caps upload bytes per second for this target (0 = none).
	BandwidthLimit int64 `yaml:"bandwidth_limit"`
	// ManifestMode is "headers" (default) or "sidecar".
	ManifestMode string `yaml:"manifest_mode"`
	// Headers are extra request headers (HTTPS only).
	Headers map[string]string `yaml:"headers"`

	// CAFile is a PEM bundle added to the system trust store.
	CAFile string `yaml:"ca_file"`
	// ClientCert and ClientKey are PEM files for mutual TLS; both or neither.
	ClientCert string `yaml:"client_cert"`
	ClientKey  string `yaml:"client_key"`
	// ProxyURL is http://[user@]host:port of a forward proxy. Empty means
	// HTTPS_PROXY/HTTP_PROXY/NO_PROXY from the environment.
	ProxyURL string `yaml:"proxy_url"`
	// ProxyPasswordFile holds the proxy password for the user in ProxyURL,
	// read at each connection; it overrides a password inside ProxyURL.
	ProxyPasswordFile string `yaml:"proxy_password_file"`
	// ProxyCAFile is the CA of a TLS-inspecting proxy (added to the trust store).
	ProxyCAFile string `yaml:"proxy_ca_file"`

	// Method is PUT (default: body to <url>/<key>) or POST (body to <url>).
	Method string `yaml:"method"`
	// TokenFile or TokenEnv names where the bearer token is read at send
	// time. The token itself never appears in configuration, logs or errors.
	TokenFile string `yaml:"token_file"`
	TokenEnv  string `yaml:"token_env"`

	// Region, Endpoint and PathStyle address an S3-compatible store.
	Region    string `yaml:"region"`
	Endpoint  string `yaml:"endpoint"`
	PathStyle bool   `yaml:"path_style"`
	// AccessKeyFile and SecretKeyFile hold static S3 keys; when empty the
	// AWS SDK default chain (environment, shared config, instance role) is used.
	AccessKeyFile string `yaml:"access_key_file"`
	SecretKeyFile string `yaml:"secret_key_file"`
	// InstanceRole lets the default chain ask the EC2/ECS instance metadata
	// service for credentials. Off by default: an appliance at the network
	// edge has no instance role, and the lookup would probe a link-local
	// address on every start.
	InstanceRole bool `yaml:"instance_role"`
	// SSE is "", "AES256" or "aws:kms"; SSEKMSKeyID optionally names the KMS key.
	SSE         string `yaml:"sse"`
	SSEKMSKeyID string `yaml:"sse_kms_key_id"`
	// MultipartThreshold switches to multipart upload from this size on
	// (default 64 MiB); PartSize is the part size (default 16 MiB, min 5 MiB).
	MultipartThreshold int64 `yaml:"multipart_threshold"`
	PartSize           int64 `yaml:"part_size"`
}

// WithDefaults returns o with zero durations and sizes replaced by defaults.
func (o SinkOptions) WithDefaults() SinkOptions {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.ConnectTimeout <= 0 {
		o.ConnectTimeout = DefaultConnectTimeout
	}
	if o.ManifestMode == "" {
		o.ManifestMode = ManifestHeaders
	}
	if o.MultipartThreshold <= 0 {
		o.MultipartThreshold = DefaultMultipartThreshold
	}
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}
	return o
}

// Validate checks the settings every sink shares.
func (o SinkOptions) Validate() error {
	var errs []error
	switch o.ManifestMode {
	case "", ManifestHeaders, ManifestSidecar:
	default:
		errs = append(errs, fmt.Errorf("manifest_mode %q: want %q or %q", o.ManifestMode, ManifestHeaders, ManifestSidecar))
	}
	if o.BandwidthLimit < 0 {
		errs = append(errs, errors.New("bandwidth_limit must not be negative"))
	}
	if o.Timeout < 0 || o.ConnectTimeout < 0 {
		errs = append(errs, errors.New("timeouts must not be negative"))
	}
	if (o.ClientCert == "") != (o.ClientKey == "") {
		errs = append(errs, errors.New("client_cert and client_key go together"))
	}
	if o.TokenFile != "" && o.TokenEnv != "" {
		errs = append(errs, errors.New("set token_file or token_env, not both"))
	}
	return errors.Join(errs...)
}

// RequestTimeout is the time allowed for one request carrying size bytes:
// Timeout plus the transfer time the bandwidth limit imposes.
func (o SinkOptions) RequestTimeout(size int64) time.Duration {
	t := o.Timeout
	if t <= 0 {
		t = DefaultTimeout
	}
	if o.BandwidthLimit > 0 && size > 0 {
		t += time.Duration(float64(size) / float64(o.BandwidthLimit) * float64(time.Second))
	}
	return t
}

// String describes the options without secrets (the proxy password is
// redacted; tokens and keys are only ever file or variable names).
func (o SinkOptions) String() string {
	p := o.ProxyURL
	if u, err := url.Parse(p); err == nil && p != "" {
		p = u.Redacted()
	} else if p != "" {
		p = "[unparsable]"
	}
	return fmt.Sprintf("method=%s proxy=%s ca_file=%s token_file=%s token_env=%s region=%s endpoint=%s bandwidth_limit=%d manifest_mode=%s",
		o.Method, p, o.CAFile, o.TokenFile, o.TokenEnv, o.Region, o.Endpoint, o.BandwidthLimit, o.ManifestMode)
}

// SinkFactory builds a Sink for a parsed URL.
type SinkFactory func(u *url.URL, o SinkOptions) (Sink, error)

var registry = struct {
	sync.RWMutex
	m map[string]SinkFactory
}{m: map[string]SinkFactory{}}

// RegisterSink makes a URL scheme available to NewSink. Sink packages call it
// from init(); registering a scheme twice is a programming error and panics.
func RegisterSink(scheme string, f func(u *url.URL, o SinkOptions) (Sink, error)) {
	scheme = strings.ToLower(scheme)
	if scheme == "" || f == nil {
		panic("uploader: RegisterSink needs a scheme and a factory")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[scheme]; dup {
		panic("uploader: sink scheme registered twice: " + scheme)
	}
	registry.m[scheme] = f
}

// Schemes lists the registered URL schemes.
func Schemes() []string {
	registry.RLock()
	defer registry.RUnlock()
	s := make([]string, 0, len(registry.m))
	for k := range registry.m {
		s = append(s, k)
	}
	sort.Strings(s)
	return s
}

// NewSink builds the sink for rawURL through the factory registered for its
// scheme, applying defaults and, when set, the bandwidth limit.
func NewSink(rawURL string, o SinkOptions) (Sink, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		// url.Error repeats the raw URL, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid target URL: %w", err)
	}
	scheme := strings.ToLower(u.Scheme)
	registry.RLock()
	f := registry.m[scheme]
	registry.RUnlock()
	if f == nil {
		return nil, fmt.Errorf("target %s: unknown scheme %q (known: %s)", u.Redacted(), u.Scheme, strings.Join(Schemes(), ", "))
	}
	if err := o.Validate(); err != nil {
		return nil, fmt.Errorf("target %s: %w", u.Redacted(), err)
	}
	o = o.WithDefaults()
	s, err := f(u, o)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", u.Redacted(), err)
	}
	if o.BandwidthLimit > 0 {
		s = &limitedSink{Sink: s, lim: NewLimiter(o.BandwidthLimit)}
	}
	return s, nil
}

// limitedSink throttles every body it passes on with one limiter, so all
// uploads to a target share its bandwidth.
type limitedSink struct {
	Sink
	lim *rate.Limiter
}

var _ Sink = (*limitedSink)(nil)

func (s *limitedSink) Put(ctx context.Context, key string, body io.Reader, size int64, m Manifest) error {
	return s.Sink.Put(ctx, key, LimitReader(ctx, body, s.lim), size, m)
}
