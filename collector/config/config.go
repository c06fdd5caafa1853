// Package config defines the collector's YAML configuration: its defaults,
// validation and environment overrides. cmd/cloudscout reads the file; the
// rest of the collector receives a validated Config.
package config

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/cloudscout/cloudscout/collector/anonymize"
	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/custom"
)

//go:embed default.yaml
var defaultYAML []byte

// DefaultYAML returns the embedded default configuration, annotated.
func DefaultYAML() []byte { return append([]byte(nil), defaultYAML...) }

// Config is the whole configuration.
type Config struct {
	Collector Collector `yaml:"collector"`
	Syslog    Syslog    `yaml:"syslog"`
	FTP       FTP       `yaml:"ftp"`
	Anonymize Anonymize `yaml:"anonymize"`
	Spool     Spool     `yaml:"spool"`
	Upload    Upload    `yaml:"upload"`
	Sources   []Source  `yaml:"sources"`
	// Parsers declares custom formats (kv, csv, regex, json) for devices no
	// built-in format covers; a source names one in its format.
	Parsers   []custom.Spec `yaml:"parsers,omitempty"`
	path      string        // file it was read from, "" for defaults
	warnings  []string      // non-fatal findings of Validate
	listeners []Listener    // resolved by Validate
}

// Collector holds appliance-wide settings.
type Collector struct {
	Name          string   `yaml:"name"`           // names this collector in batch keys
	DataDir       string   `yaml:"data_dir"`       // spool, key, state, drop folders
	Admin         string   `yaml:"admin"`          // admin HTTP endpoint (metrics, health, API)
	LogLevel      string   `yaml:"log_level"`      // debug, info, warn, error
	LogFormat     string   `yaml:"log_format"`     // auto (console on a terminal, else JSON), json, console
	ShutdownGrace Duration `yaml:"shutdown_grace"` // time allowed for a clean stop
	MemoryLimit   Size     `yaml:"memory_limit"`   // soft heap ceiling (GOMEMLIMIT); 0 = unset
}

// Syslog holds limits shared by every syslog listener, and its TLS settings.
type Syslog struct {
	MaxMessageSize          Size     `yaml:"max_message_size"`
	IdleTimeout             Duration `yaml:"idle_timeout"`
	MaxConnections          int      `yaml:"max_connections"`
	MaxConnectionsPerSender int      `yaml:"max_connections_per_sender"`
	UDPReadBuffer           Size     `yaml:"udp_read_buffer"`
	TLS                     TLS      `yaml:"tls"`
}

// TLS names certificate files for the TLS syslog listener.
type TLS struct {
	Cert              string `yaml:"cert"`
	Key               string `yaml:"key"`
	ClientCA          string `yaml:"client_ca"`           // verify client certificates against this CA bundle
	RequireClientCert bool   `yaml:"require_client_cert"` // refuse clients without a valid certificate
}

// FTP configures the embedded FTP/FTPS server (used by sources with an ftp account).
type FTP struct {
	Listen       string   `yaml:"listen"`          // control port, e.g. ":2121" (21 in the container)
	ImplicitTLS  string   `yaml:"implicit_tls"`    // optional implicit-FTPS port, e.g. ":9990"
	Cert         string   `yaml:"cert"`            // enables explicit FTPS (AUTH TLS)
	Key          string   `yaml:"key"`             //
	PassivePorts string   `yaml:"passive_ports"`   // "30000-30009": publish these in the container
	PublicHost   string   `yaml:"public_host"`     // address announced in PASV replies (NAT)
	ActiveMode   bool     `yaml:"active_mode"`     // PORT/EPRT, only to the client's own address
	MaxConns     int      `yaml:"max_connections"` //
	IdleTimeout  Duration `yaml:"idle_timeout"`    //
	BanAfter     int      `yaml:"ban_after"`       // failed logins from one address before a ban
	BanDuration  Duration `yaml:"ban_duration"`    //
	MaxFileSize  Size     `yaml:"max_file_size"`   // per upload
	MinFreeDisk  Size     `yaml:"min_free_disk"`   // below this uploads get 452
	// Archive keeps processed uploads under <data_dir>/archive/<source>
	// (deleted after ArchiveRetention; 0 keeps them); false deletes them.
	Archive          bool     `yaml:"archive"`
	ArchiveRetention Duration `yaml:"archive_retention"`
}

// Anonymize configures pseudonymization; sources may override the policy.
type Anonymize struct {
	KeyFile          string `yaml:"key_file"` // created (0600) on first start if missing
	anonymize.Policy `yaml:",inline"`
}

// Spool configures the on-disk queue.
type Spool struct {
	Compression  string   `yaml:"compression"`   // zstd or gzip
	SegmentSize  Size     `yaml:"segment_size"`  // seal a batch at this raw size
	SegmentAge   Duration `yaml:"segment_age"`   // or at this age
	Quota        Size     `yaml:"quota"`         // disk the spool may use
	SyncInterval Duration `yaml:"sync_interval"` // group-commit fsync period
}

// Upload configures the schedule and the targets.
type Upload struct {
	Interval      Duration `yaml:"interval"`        // ship every ...
	SizeTrigger   Size     `yaml:"size_trigger"`    // ... or when this much waits
	MaxBacklogAge Duration `yaml:"max_backlog_age"` // /readyz goes red past this
	RetryMax      Duration `yaml:"retry_max"`       // cap of the retry backoff
	Targets       []Target `yaml:"targets"`
}

// Source is one device or group of identical devices.
type Source struct {
	Name      string            `yaml:"name"`
	Format    string            `yaml:"format"`   // a name from 'cloudscout formats', or a custom parser name
	Timezone  string            `yaml:"timezone"` // for logs whose times carry no zone
	Listen    []string          `yaml:"listen"`   // udp://:5514, tcp://:5514, tls://:6514
	Allowed   []string          `yaml:"allowed"`  // sender CIDRs; empty = any
	Anonymize *anonymize.Policy `yaml:"anonymize,omitempty"`
	FTP       *SourceFTP        `yaml:"ftp,omitempty"`
	Watch     []Watch           `yaml:"watch,omitempty"`

	location *time.Location
	prefixes []netip.Prefix
}

// SourceFTP is a source's FTP account.
type SourceFTP struct {
	User         string `yaml:"user"`
	PasswordHash string `yaml:"password_hash"` // set with 'cloudscout source passwd NAME'
	TLS          string `yaml:"tls"`           // required or optional; default required when ftp.cert is set
	Quota        Size   `yaml:"quota"`         // bytes waiting in the drop folder
}

// Watch is a folder whose files feed a source.
type Watch struct {
	Dir              string   `yaml:"dir"`
	Pattern          string   `yaml:"pattern"`           // glob, default "*"
	Archive          string   `yaml:"archive"`           // move processed files here; "" = delete
	ArchiveRetention Duration `yaml:"archive_retention"` // delete archived files after this; 0 = keep
}

// Listener is one resolved network listener and the sources it feeds.
type Listener struct {
	Transport string // udp, tcp, tls
	Address   string // host:port
	Sources   []*Source
}

// Key returns "transport://address".
func (l Listener) Key() string { return l.Transport + "://" + l.Address }

// Location returns the source's time zone (valid after Validate).
func (s *Source) Location() *time.Location {
	if s.location == nil {
		return time.UTC
	}
	return s.location
}

// Allows reports whether a sender address may feed this source.
func (s *Source) Allows(a netip.Addr) bool {
	if len(s.prefixes) == 0 {
		return true
	}
	a = a.Unmap()
	for _, p := range s.prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Path returns the file the configuration came from ("" for defaults).
func (c *Config) Path() string { return c.path }

// Warnings returns non-fatal findings of Validate.
func (c *Config) Warnings() []string { return c.warnings }

// Listeners returns the resolved listeners (valid after Validate).
func (c *Config) Listeners() []Listener { return c.listeners }

// Custom returns the custom parser spec called name.
func (c *Config) Custom(name string) (custom.Spec, bool) {
	for _, p := range c.Parsers {
		if p.Name == name {
			return p, true
		}
	}
	return custom.Spec{}, false
}

// Source returns the named source.
func (c *Config) Source(name string) (*Source, bool) {
	for i := range c.Sources {
		if c.Sources[i].Name == name {
			return &c.Sources[i], true
		}
	}
	return nil, false
}

// Default returns the embedded defaults.
func Default() (*Config, error) {
	c, err := parse(bytes.NewReader(defaultYAML), "")
	if err != nil {
		return nil, fmt.Errorf("embedded defaults: %w", err)
	}
	return c, nil
}

// Load reads a config file over the defaults: settings the file leaves out
// keep their default; a file with sources replaces the default source.
// Unknown keys are errors.
func Load(path string) (*Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open config: %w", err)
	}
	defer f.Close()
	c, err := parse(f, path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

func parse(r io.Reader, path string) (*Config, error) {
	c := &Config{}
	if err := decodeStrict(bytes.NewReader(defaultYAML), c); err != nil {
		return nil, err
	}
	if path == "" {
		c.path = ""
		return c, nil
	}
	// Sources and targets from the file replace the defaults rather than
	// add to them; a file without any keeps the defaults.
	defSources, defTargets := c.Sources, c.Upload.Targets
	c.Sources, c.Upload.Targets = nil, nil
	if err := decodeStrict(r, c); err != nil {
		return nil, err
	}
	if c.Sources == nil {
		c.Sources = defSources
	}
	if c.Upload.Targets == nil {
		c.Upload.Targets = defTargets
	}
	c.path = path
	return c, nil
}

func decodeStrict(r io.Reader, c *Config) error {
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(c); err != nil && !errors.Is(err, io.EOF) {
		return err
	}
	return nil
}

// ApplyEnv applies environment overrides, for containers:
// CLOUDSCOUT_NAME, CLOUDSCOUT_DATA_DIR, CLOUDSCOUT_ADMIN, CLOUDSCOUT_LOG_LEVEL,
// CLOUDSCOUT_LOG_FORMAT, CLOUDSCOUT_UPLOAD_URL (replaces the targets with
// one), CLOUDSCOUT_UPLOAD_INTERVAL, CLOUDSCOUT_SPOOL_QUOTA,
// CLOUDSCOUT_FTP_PUBLIC_HOST, CLOUDSCOUT_FTP_PASSIVE_PORTS,
// CLOUDSCOUT_MEMORY_LIMIT.
func (c *Config) ApplyEnv(getenv func(string) string) error {
	set := func(name string, f func(v string) error) error {
		if v := getenv(name); v != "" {
			if err := f(v); err != nil {
				return fmt.Errorf("%s: %w", name, err)
			}
		}
		return nil
	}
	str := func(p *string) func(string) error { return func(v string) error { *p = v; return nil } }
	size := func(p *Size) func(string) error {
		return func(v string) error { s, err := ParseSize(v); *p = s; return err }
	}
	return errors.Join(
		set("CLOUDSCOUT_NAME", str(&c.Collector.Name)),
		set("CLOUDSCOUT_DATA_DIR", str(&c.Collector.DataDir)),
		set("CLOUDSCOUT_ADMIN", str(&c.Collector.Admin)),
		set("CLOUDSCOUT_LOG_LEVEL", str(&c.Collector.LogLevel)),
		set("CLOUDSCOUT_LOG_FORMAT", str(&c.Collector.LogFormat)),
		set("CLOUDSCOUT_FTP_PUBLIC_HOST", str(&c.FTP.PublicHost)),
		set("CLOUDSCOUT_FTP_PASSIVE_PORTS", str(&c.FTP.PassivePorts)),
		set("CLOUDSCOUT_SPOOL_QUOTA", size(&c.Spool.Quota)),
		set("CLOUDSCOUT_MEMORY_LIMIT", size(&c.Collector.MemoryLimit)),
		set("CLOUDSCOUT_UPLOAD_URL", func(v string) error {
			c.Upload.Targets = []Target{{Name: "env", URL: v}}
			return nil
		}),
		set("CLOUDSCOUT_UPLOAD_INTERVAL", func(v string) error {
			d, err := time.ParseDuration(v)
			c.Upload.Interval = Duration(d)
			return err
		}),
	)
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$`)

// Validate checks the whole configuration and resolves listeners. It reports
// every problem it finds, not only the first.
func (c *Config) Validate() error {
	var errs []error
	bad := func(format string, a ...any) { errs = append(errs, fmt.Errorf(format, a...)) }
	c.warnings = nil

	if !nameRE.MatchString(c.Collector.Name) {
		bad("collector.name %q: use letters, digits, '.', '_' or '-' (it names batch keys)", c.Collector.Name)
	}
	if c.Collector.DataDir == "" {
		bad("collector.data_dir is empty")
	}
	if c.Collector.Admin != "" {
		if _, _, err := net.SplitHostPort(c.Collector.Admin); err != nil {
			bad("collector.admin %q: %v", c.Collector.Admin, err)
		}
	}
	switch c.Collector.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		bad("collector.log_level %q: use debug, info, warn or error", c.Collector.LogLevel)
	}
	switch c.Collector.LogFormat {
	case "auto", "json", "console":
	default:
		bad("collector.log_format %q: use auto, json or console", c.Collector.LogFormat)
	}
	if c.Syslog.MaxMessageSize < 480 || c.Syslog.MaxMessageSize > 64<<20 {
		bad("syslog.max_message_size %v: must be between 480 bytes and 64MiB", c.Syslog.MaxMessageSize)
	}
	if (c.Syslog.TLS.Cert == "") != (c.Syslog.TLS.Key == "") {
		bad("syslog.tls: cert and key go together")
	}
	if c.Syslog.TLS.RequireClientCert && c.Syslog.TLS.ClientCA == "" {
		bad("syslog.tls.require_client_cert needs client_ca")
	}
	switch c.Spool.Compression {
	case "zstd", "gzip":
	default:
		bad("spool.compression %q: use zstd or gzip", c.Spool.Compression)
	}
	if c.Spool.Quota < 1<<20 {
		bad("spool.quota %v: at least 1MiB", c.Spool.Quota)
	}
	if c.Upload.Interval.D() < time.Second {
		bad("upload.interval %v: at least 1s", c.Upload.Interval.D())
	}
	if len(c.Upload.Targets) == 0 {
		bad("upload.targets: at least one target is needed (e.g. url: file://./data/outbox)")
	}
	tnames := map[string]bool{}
	for i, t := range c.Upload.Targets {
		if t.Name == "" {
			c.Upload.Targets[i].Name = fmt.Sprintf("target%d", i+1)
			t.Name = c.Upload.Targets[i].Name
		}
		if tnames[t.Name] {
			bad("upload.targets: name %q used twice", t.Name)
		}
		tnames[t.Name] = true
		if err := t.validate(); err != nil {
			bad("upload.targets[%s]: %v", t.Name, err)
		}
	}
	if err := c.Anonymize.Policy.Validate(); err != nil {
		bad("anonymize: %v", err)
	}
	if c.Anonymize.KeyFile == "" {
		bad("anonymize.key_file is empty")
	}
	customs := map[string]bool{}
	for _, p := range c.Parsers {
		if err := p.Validate(); err != nil {
			bad("parsers[%s]: %v", p.Name, err)
		}
		if customs[p.Name] {
			bad("parsers: %q is defined twice", p.Name)
		}
		customs[p.Name] = true
	}

	if len(c.Sources) == 0 {
		bad("sources: at least one source is needed")
	}
	names := map[string]bool{}
	ftpUsers := map[string]string{}
	byListener := map[string]*Listener{}
	var order []string
	for i := range c.Sources {
		s := &c.Sources[i]
		if !nameRE.MatchString(s.Name) {
			bad("source %q: name must be letters, digits, '.', '_' or '-'", s.Name)
		}
		if names[s.Name] {
			bad("source %q is defined twice", s.Name)
		}
		names[s.Name] = true
		if _, ok := parsers.Lookup(s.Format); !ok && !customs[s.Format] {
			bad("source %s: unknown format %q (see 'cloudscout formats')", s.Name, s.Format)
		}
		s.location = time.UTC
		if s.Timezone != "" {
			loc, err := time.LoadLocation(s.Timezone)
			if err != nil {
				bad("source %s: timezone %q: %v", s.Name, s.Timezone, err)
			} else {
				s.location = loc
			}
		}
		s.prefixes = nil
		for _, a := range s.Allowed {
			p, err := parsePrefix(a)
			if err != nil {
				bad("source %s: allowed %q: %v", s.Name, a, err)
				continue
			}
			s.prefixes = append(s.prefixes, p)
		}
		if s.Anonymize != nil {
			if err := c.Anonymize.Policy.Merge(*s.Anonymize).Validate(); err != nil {
				bad("source %s: anonymize: %v", s.Name, err)
			}
		}
		if len(s.Listen) == 0 && s.FTP == nil && len(s.Watch) == 0 {
			bad("source %s: no input (listen, ftp or watch)", s.Name)
		}
		for _, l := range s.Listen {
			tr, addr, err := parseListen(l)
			if err != nil {
				bad("source %s: listen %q: %v", s.Name, l, err)
				continue
			}
			if tr == "tls" && c.Syslog.TLS.Cert == "" {
				bad("source %s: listen %s needs syslog.tls.cert and key", s.Name, l)
			}
			k := tr + "://" + addr
			li, ok := byListener[k]
			if !ok {
				li = &Listener{Transport: tr, Address: addr}
				byListener[k] = li
				order = append(order, k)
			}
			for _, other := range li.Sources {
				if overlap(other, s) {
					bad("sources %s and %s both claim %s for the same senders: give them disjoint 'allowed' ranges or use one source with format auto", other.Name, s.Name, k)
				}
			}
			li.Sources = append(li.Sources, s)
		}
		if s.FTP != nil {
			if s.FTP.User == "" {
				bad("source %s: ftp.user is empty", s.Name)
			} else if prev, dup := ftpUsers[s.FTP.User]; dup {
				bad("sources %s and %s share the FTP user %q", prev, s.Name, s.FTP.User)
			}
			ftpUsers[s.FTP.User] = s.Name
			switch s.FTP.TLS {
			case "", "required", "optional":
			default:
				bad("source %s: ftp.tls %q: use required or optional", s.Name, s.FTP.TLS)
			}
			if s.FTP.TLS == "required" && c.FTP.Cert == "" {
				bad("source %s: ftp.tls required but ftp.cert is not set", s.Name)
			}
			if s.FTP.PasswordHash == "" {
				c.warnings = append(c.warnings, fmt.Sprintf("source %s: no FTP password set yet (cloudscout source passwd %s); the account refuses logins", s.Name, s.Name))
			}
		}
		for _, w := range s.Watch {
			if w.Dir == "" {
				bad("source %s: watch.dir is empty", s.Name)
			}
			if w.Pattern != "" {
				if _, err := filepath.Match(w.Pattern, "x"); err != nil {
					bad("source %s: watch.pattern %q: %v", s.Name, w.Pattern, err)
				}
			}
		}
	}
	if len(ftpUsers) > 0 {
		if c.FTP.Listen == "" {
			bad("ftp.listen is empty but sources have ftp accounts")
		}
		if _, _, err := ParsePortRange(c.FTP.PassivePorts); err != nil {
			bad("ftp.passive_ports: %v", err)
		}
		if (c.FTP.Cert == "") != (c.FTP.Key == "") {
			bad("ftp: cert and key go together")
		}
		if c.FTP.ImplicitTLS != "" && c.FTP.Cert == "" {
			bad("ftp.implicit_tls needs ftp.cert and ftp.key")
		}
	}
	// Ports shared across transports are fine (udp and tcp 5514); the same
	// TCP port for syslog and FTP is not.
	ports := map[string]string{}
	claim := func(proto, addr, what string) {
		if addr == "" {
			return
		}
		_, port, err := net.SplitHostPort(addr)
		if err != nil {
			return
		}
		k := proto + "/" + port
		if prev, ok := ports[k]; ok && prev != what {
			bad("%s and %s both use %s port %s", prev, what, proto, port)
		}
		ports[k] = what
	}
	for _, k := range order {
		li := byListener[k]
		proto := "tcp"
		if li.Transport == "udp" {
			proto = "udp"
		}
		claim(proto, li.Address, "syslog "+k)
	}
	if len(ftpUsers) > 0 {
		claim("tcp", c.FTP.Listen, "ftp")
		claim("tcp", c.FTP.ImplicitTLS, "ftp implicit TLS")
	}
	claim("tcp", c.Collector.Admin, "admin endpoint")

	c.listeners = nil
	sort.Strings(order)
	for _, k := range order {
		c.listeners = append(c.listeners, *byListener[k])
	}
	return errors.Join(errs...)
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// overlap reports whether two sources accept a common sender address.
func overlap(a, b *Source) bool {
	if len(a.prefixes) == 0 || len(b.prefixes) == 0 {
		return true
	}
	for _, p := range a.prefixes {
		for _, q := range b.prefixes {
			if p.Overlaps(q) {
				return true
			}
		}
	}
	return false
}

// parseListen parses "udp://host:port" (tcp, tls likewise).
func parseListen(s string) (transport, addr string, err error) {
	tr, addr, ok := strings.Cut(s, "://")
	if !ok {
		return "", "", errors.New("write it as udp://[host]:port, tcp://[host]:port or tls://[host]:port")
	}
	switch tr {
	case "udp", "tcp", "tls":
	default:
		return "", "", fmt.Errorf("unknown transport %q (udp, tcp, tls)", tr)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", "", err
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("port %q out of range", port)
	}
	if host != "" {
		if _, err := netip.ParseAddr(host); err != nil && host != "localhost" {
			return "", "", fmt.Errorf("host %q: use an IP address", host)
		}
	}
	return tr, addr, nil
}

// ParsePortRange parses "30000-30009".
func ParsePortRange(s string) (lo, hi int, err error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q: write it as first-last, e.g. 30000-30009", s)
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1024 || hi > 65535 || lo > hi {
		return 0, 0, fmt.Errorf("%q: need 1024 <= first <= last <= 65535", s)
	}
	return lo, hi, nil
}

// Marshal renders the configuration as YAML (comments are not kept).
func (c *Config) Marshal() ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}
