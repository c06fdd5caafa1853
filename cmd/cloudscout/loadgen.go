package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/urfave/cli/v2"
)

// Load generator limits: every loop it runs is bounded by a duration or a
// count, and these caps keep a typo from starting something endless.
const (
	loadgenMaxConns    = 1000
	loadgenMaxDuration = 24 * time.Hour
	loadgenMaxSize     = 64 << 10
	loadgenPoolSize    = 4096     // distinct lines per format
	loadgenWriteChunk  = 64 << 10 // stream writes are batched up to this size
	// loadgenStall bounds one blocked write: a receiver that stops reading for
	// this long ends the run with an error instead of hanging it.
	loadgenStall = 30 * time.Second
)

// loadgenFormats are the line generators, by name.
var loadgenFormats = []string{"fortigate", "paloalto", "cisco-asa", "squid", "mix", "raw"}

func loadgenCommand() *cli.Command {
	return &cli.Command{
		Name:      "loadgen",
		Usage:     "send realistic firewall/proxy syslog traffic to a collector, to size an appliance",
		ArgsUsage: " ",
		Description: `Sends generated log lines (FortiGate key=value, PAN-OS CSV, Cisco ASA,
Squid, a mix of them, or synthetic 'raw' lines) with varied users, hosts and
addresses over UDP, TCP (LF or octet-counted framing) or TLS, at a fixed rate or
as fast as the receiver takes them, on one or more connections, for a duration
or a number of messages. It reports what it sent.

Every line carries its send time in the format's own time fields (FortiGate
eventtime in ns, PAN-OS high resolution timestamp, Squid epoch.ms, RFC 5424
header for raw), so the time from sending to a shipped batch can be measured.
A file:// target writes the lines to a file instead (no syslog header), e.g. to
test the file-drop path.

Examples:
  cloudscout loadgen --target tcp://127.0.0.1:5514 --format fortigate --duration 30s
  cloudscout loadgen --target udp://127.0.0.1:5514 --format squid --size 300 --rate 100000 --duration 60s
  cloudscout loadgen --target tls://127.0.0.1:6514 --ca ca.pem --connections 4 --count 1000000 --json
  cloudscout loadgen --target file:///tmp/fw.log --format fortigate --count 1500000`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "target", Aliases: []string{"t"}, Value: "tcp://127.0.0.1:5514", Usage: "where to send: `URL` udp://, tcp://, tls:// HOST:PORT, or file:///path"},
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "fortigate", Usage: "line `FORMAT`: " + strings.Join(loadgenFormats, ", ")},
			&cli.StringFlag{Name: "framing", Value: "auto", Usage: "stream framing: lf, octet (RFC 6587 octet counting) or auto (octet for tls, lf otherwise)"},
			&cli.Float64Flag{Name: "rate", Aliases: []string{"r"}, Usage: "messages per second over all connections; 0 sends as fast as the receiver takes them"},
			&cli.IntFlag{Name: "connections", Aliases: []string{"c"}, Value: 1, Usage: "`N` parallel connections (UDP: sockets)"},
			&cli.DurationFlag{Name: "duration", Aliases: []string{"d"}, Usage: "stop after this long (default 10s when --count is not given)"},
			&cli.Int64Flag{Name: "count", Aliases: []string{"n"}, Usage: "stop after `N` messages in total"},
			&cli.IntFlag{Name: "size", Usage: "line length in `BYTES` for raw lines, and the length squid lines are padded to (a longer URL); other formats keep their natural size"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the generated users, hosts and addresses"},
			&cli.BoolFlag{Name: "insecure", Usage: "tls: do not verify the server certificate"},
			&cli.StringFlag{Name: "ca", Usage: "tls: verify the server against this CA bundle `FILE`"},
			&cli.StringFlag{Name: "server-name", Usage: "tls: expected server name (default: the target host)"},
			&cli.BoolFlag{Name: "json", Usage: "print the report as JSON"},
		},
		Action: func(c *cli.Context) error {
			cfg := loadgenConfig{
				Target:      c.String("target"),
				Format:      c.String("format"),
				Framing:     c.String("framing"),
				Rate:        c.Float64("rate"),
				Connections: c.Int("connections"),
				Duration:    c.Duration("duration"),
				Count:       c.Int64("count"),
				Size:        c.Int("size"),
				Seed:        c.Uint64("seed"),
				Insecure:    c.Bool("insecure"),
				CAFile:      c.String("ca"),
				ServerName:  c.String("server-name"),
			}
			if cfg.Duration == 0 && cfg.Count == 0 {
				cfg.Duration = 10 * time.Second
			}
			ctx, stop := signal.NotifyContext(c.Context, os.Interrupt, syscall.SIGTERM)
			defer stop()
			res, err := runLoadgen(ctx, cfg)
			if err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				if err := enc.Encode(res); err != nil {
					return err
				}
			} else {
				res.print(c.App.Writer)
			}
			if res.Errors > 0 {
				return exitError{code: 2, err: fmt.Errorf("%d connection(s) failed: %s", res.Errors, res.FirstError)}
			}
			return nil
		},
	}
}

// loadgenConfig is one load generator run.
type loadgenConfig struct {
	Target      string
	Format      string
	Framing     string // lf, octet or auto
	Rate        float64
	Connections int
	Duration    time.Duration
	Count       int64
	Size        int
	Seed        uint64
	Insecure    bool
	CAFile      string
	ServerName  string
}

// loadgenResult is what a run sent.
type loadgenResult struct {
	Target      string    `json:"target"`
	Transport   string    `json:"transport"`
	Format      string    `json:"format"`
	Framing     string    `json:"framing,omitempty"`
	Connections int       `json:"connections"`
	Messages    int64     `json:"messages"`
	Bytes       int64     `json:"bytes"` // on the wire, framing included (TLS overhead excluded)
	Seconds     float64   `json:"seconds"`
	Rate        float64   `json:"messages_per_second"`
	MBps        float64   `json:"mb_per_second"` // 10^6 bytes
	AvgSize     float64   `json:"avg_message_bytes"`
	TargetRate  float64   `json:"target_rate,omitempty"`
	Errors      int64     `json:"errors"` // connections that ended with an error
	FirstError  string    `json:"first_error,omitempty"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
}

func (r loadgenResult) print(w io.Writer) {
	framing := ""
	if r.Framing != "" {
		framing = ", " + r.Framing + " framing"
	}
	fmt.Fprintf(w, "loadgen: %s, %s lines%s, %d connection(s)\n", r.Target, r.Format, framing, r.Connections)
	fmt.Fprintf(w, "sent %d messages, %.1f MB in %.2f s: %.0f msg/s, %.1f MB/s (%.0f bytes/message)\n",
		r.Messages, float64(r.Bytes)/1e6, r.Seconds, r.Rate, r.MBps, r.AvgSize)
	if r.TargetRate > 0 {
		fmt.Fprintf(w, "target rate %.0f msg/s: reached %.1f%%\n", r.TargetRate, 100*r.Rate/r.TargetRate)
	}
	if r.Errors > 0 {
		fmt.Fprintf(w, "%d connection(s) failed; first error: %s\n", r.Errors, r.FirstError)
	}
}

// loadgenTarget is a parsed --target.
type loadgenTarget struct {
	scheme string // udp, tcp, tls, file
	addr   string // host:port, or the file path
	host   string
}

func parseLoadgenTarget(s string) (loadgenTarget, error) {
	u, err := url.Parse(s)
	if err != nil {
		return loadgenTarget{}, fmt.Errorf("--target: %w", err)
	}
	switch u.Scheme {
	case "udp", "tcp", "tls":
		if u.Port() == "" || u.Hostname() == "" {
			return loadgenTarget{}, fmt.Errorf("--target %q: give HOST:PORT", s)
		}
		if u.Path != "" || u.RawQuery != "" || u.User != nil {
			return loadgenTarget{}, fmt.Errorf("--target %q: only SCHEME://HOST:PORT", s)
		}
		return loadgenTarget{scheme: u.Scheme, addr: u.Host, host: u.Hostname()}, nil
	case "file":
		p := u.Path
		if u.Host == "." || u.Host == ".." {
			p = u.Host + p
		} else if u.Host != "" && u.Host != "localhost" {
			return loadgenTarget{}, fmt.Errorf("--target %q: use file:///abs/path or file://./relative", s)
		}
		if p == "" {
			return loadgenTarget{}, fmt.Errorf("--target %q: no path", s)
		}
		return loadgenTarget{scheme: "file", addr: p}, nil
	}
	return loadgenTarget{}, fmt.Errorf("--target %q: scheme must be udp, tcp, tls or file", s)
}

func (cfg *loadgenConfig) validate() (loadgenTarget, error) {
	t, err := parseLoadgenTarget(cfg.Target)
	if err != nil {
		return t, err
	}
	known := false
	for _, f := range loadgenFormats {
		known = known || f == cfg.Format
	}
	if !known {
		return t, fmt.Errorf("--format %q: one of %s", cfg.Format, strings.Join(loadgenFormats, ", "))
	}
	switch cfg.Framing {
	case "auto", "":
		cfg.Framing = "lf"
		if t.scheme == "tls" {
			cfg.Framing = "octet"
		}
	case "lf", "octet":
	default:
		return t, fmt.Errorf("--framing %q: lf, octet or auto", cfg.Framing)
	}
	if t.scheme == "udp" || t.scheme == "file" {
		cfg.Framing = ""
	}
	switch {
	case cfg.Connections < 1 || cfg.Connections > loadgenMaxConns:
		return t, fmt.Errorf("--connections must be 1..%d", loadgenMaxConns)
	case t.scheme == "file" && cfg.Connections != 1:
		return t, errors.New("a file target takes one connection")
	case cfg.Rate < 0:
		return t, errors.New("--rate must not be negative")
	case cfg.Count < 0 || cfg.Duration < 0:
		return t, errors.New("--count and --duration must not be negative")
	case cfg.Count == 0 && cfg.Duration == 0:
		return t, errors.New("give --duration or --count")
	case cfg.Duration > loadgenMaxDuration:
		return t, fmt.Errorf("--duration is at most %s", loadgenMaxDuration)
	case cfg.Size < 0 || cfg.Size > loadgenMaxSize:
		return t, fmt.Errorf("--size must be 0..%d", loadgenMaxSize)
	case t.scheme != "tls" && (cfg.Insecure || cfg.CAFile != "" || cfg.ServerName != ""):
		return t, errors.New("--insecure, --ca and --server-name apply to tls:// targets")
	case t.scheme == "tls" && !cfg.Insecure && cfg.CAFile == "":
		return t, errors.New("tls: give --ca FILE to verify the server, or --insecure")
	}
	return t, nil
}

// runLoadgen sends until the duration or count is reached, ctx is cancelled
// or every connection failed. Connection failures are reported in the
// result; an error means nothing could start.
func runLoadgen(ctx context.Context, cfg loadgenConfig) (loadgenResult, error) {
	t, err := cfg.validate()
	if err != nil {
		return loadgenResult{}, err
	}
	pool := newLinePool(cfg.Format, cfg.Size, cfg.Seed, t.scheme != "file")
	var tlsConf *tls.Config
	if t.scheme == "tls" {
		tlsConf = &tls.Config{ServerName: cfg.ServerName, InsecureSkipVerify: cfg.Insecure, MinVersion: tls.VersionTLS12}
		if tlsConf.ServerName == "" {
			tlsConf.ServerName = t.host
		}
		if cfg.CAFile != "" {
			pem, err := os.ReadFile(cfg.CAFile)
			if err != nil {
				return loadgenResult{}, fmt.Errorf("--ca: %w", err)
			}
			roots := x509.NewCertPool()
			if !roots.AppendCertsFromPEM(pem) {
				return loadgenResult{}, fmt.Errorf("--ca %s: no PEM certificate", cfg.CAFile)
			}
			tlsConf.RootCAs = roots
		}
	}

	// Connect everything first, so the clock measures sending only.
	conns := make([]io.WriteCloser, 0, cfg.Connections)
	closeAll := func() {
		for _, c := range conns {
			_ = c.Close()
		}
	}
	// Closing the connections unblocks writes stuck on a full receiver when
	// the run is cancelled. A file never blocks, and its writer is not safe
	// for a concurrent Close.
	closeNet := func() {
		if t.scheme != "file" {
			closeAll()
		}
	}
	for range cfg.Connections {
		c, err := dialLoadgen(ctx, t, tlsConf)
		if err != nil {
			closeAll()
			return loadgenResult{}, err
		}
		conns = append(conns, c)
	}
	res := loadgenResult{
		Target: cfg.Target, Transport: t.scheme, Format: cfg.Format, Framing: cfg.Framing,
		Connections: cfg.Connections, TargetRate: cfg.Rate,
	}
	start := time.Now()
	var deadline time.Time
	if cfg.Duration > 0 {
		deadline = start.Add(cfg.Duration)
	}
	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	stopClose := context.AfterFunc(runCtx, closeNet)
	defer stopClose()

	var (
		mu       sync.Mutex
		wg       sync.WaitGroup
		firstErr error
	)
	n := int64(len(conns))
	for i, c := range conns {
		s := &loadgenSender{
			w:        c,
			udp:      t.scheme == "udp",
			octet:    cfg.Framing == "octet",
			pool:     pool,
			next:     (i * len(pool.lines)) / len(conns),
			rate:     cfg.Rate / float64(n),
			deadline: deadline,
			start:    start,
		}
		if cfg.Count > 0 {
			// Spread the count; the first connections take the remainder.
			s.limit = cfg.Count / n
			if int64(i) < cfg.Count%n {
				s.limit++
			}
			if s.limit == 0 {
				continue
			}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := s.run(runCtx)
			if cerr := c.Close(); err == nil && cerr != nil && !errors.Is(cerr, net.ErrClosed) {
				err = cerr
			}
			mu.Lock()
			defer mu.Unlock()
			res.Messages += s.msgs
			res.Bytes += s.bytes
			if err != nil && runCtx.Err() == nil {
				res.Errors++
				if firstErr == nil {
					firstErr = err
				}
			}
		}()
	}
	wg.Wait()
	end := time.Now()
	res.Start, res.End = start, end
	res.Seconds = end.Sub(start).Seconds()
	if res.Seconds > 0 {
		res.Rate = float64(res.Messages) / res.Seconds
		res.MBps = float64(res.Bytes) / 1e6 / res.Seconds
	}
	if res.Messages > 0 {
		res.AvgSize = float64(res.Bytes) / float64(res.Messages)
	}
	if firstErr != nil {
		res.FirstError = firstErr.Error()
	}
	return res, nil
}

func dialLoadgen(ctx context.Context, t loadgenTarget, tlsConf *tls.Config) (io.WriteCloser, error) {
	d := net.Dialer{Timeout: 10 * time.Second}
	switch t.scheme {
	case "file":
		f, err := os.OpenFile(t.addr, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
		if err != nil {
			return nil, err
		}
		return &fileWriter{f: f}, nil
	case "tls":
		c, err := (&tls.Dialer{NetDialer: &d, Config: tlsConf}).DialContext(ctx, "tcp", t.addr)
		if err != nil {
			return nil, fmt.Errorf("tls %s: %w", t.addr, err)
		}
		return c, nil
	default:
		c, err := d.DialContext(ctx, t.scheme, t.addr)
		if err != nil {
			return nil, fmt.Errorf("%s %s: %w", t.scheme, t.addr, err)
		}
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.SetNoDelay(false) // writes are batched; let the kernel coalesce
		}
		return c, nil
	}
}

// fileWriter buffers a file target and syncs it on Close, so the file is
// complete when the run reports.
type fileWriter struct {
	f  *os.File
	bw *bufio.Writer
}

func (w *fileWriter) Write(p []byte) (int, error) {
	if w.bw == nil {
		w.bw = bufio.NewWriterSize(w.f, 1<<20)
	}
	return w.bw.Write(p)
}

func (w *fileWriter) Close() error {
	var err error
	if w.bw != nil {
		err = w.bw.Flush()
		w.bw = nil
	}
	if w.f == nil {
		return err
	}
	err = errors.Join(err, w.f.Sync(), w.f.Close())
	w.f = nil
	return err
}

// loadgenSender is one connection's sending loop.
type loadgenSender struct {
	w        io.Writer
	udp      bool
	octet    bool
	pool     *linePool
	next     int
	rate     float64 // this connection's share; 0 = flat out
	limit    int64   // 0 = until the deadline
	deadline time.Time
	start    time.Time

	msgs, bytes int64
	st          stamps
}

// run sends in batches: each batch is stamped with one clock reading and
// written at once (streams) or datagram by datagram (UDP).
func (s *loadgenSender) run(ctx context.Context) error {
	buf := make([]byte, 0, loadgenWriteChunk+loadgenMaxSize+16)
	setDeadline, _ := s.w.(interface{ SetWriteDeadline(time.Time) error })
	for {
		if ctx.Err() != nil {
			return nil
		}
		now := time.Now()
		if !s.deadline.IsZero() && !now.Before(s.deadline) {
			return nil
		}
		if s.limit > 0 && s.msgs >= s.limit {
			return nil
		}
		batch := int64(1 << 30)
		if s.rate > 0 {
			due := int64(s.rate*now.Sub(s.start).Seconds()) + 1
			batch = due - s.msgs
			if batch <= 0 {
				// Sleep until the next message is due (at least 100µs, so a
				// high rate sends in small bursts instead of spinning).
				wait := time.Duration(float64(time.Second) * float64(s.msgs+1-int64(s.rate*now.Sub(s.start).Seconds())) / s.rate)
				wait = min(max(wait, 100*time.Microsecond), 100*time.Millisecond)
				if !s.deadline.IsZero() {
					wait = min(wait, time.Until(s.deadline))
				}
				timer := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					timer.Stop()
					return nil
				case <-timer.C:
				}
				continue
			}
		}
		if s.limit > 0 {
			batch = min(batch, s.limit-s.msgs)
		}
		s.st.set(now)
		if setDeadline != nil {
			_ = setDeadline.SetWriteDeadline(now.Add(loadgenStall))
		}
		if s.udp {
			// One datagram per message; a batch is at most 1024 datagrams so
			// the clock is read often enough.
			for i := int64(0); i < batch && i < 1024; i++ {
				buf = s.pool.render(buf[:0], s.next, &s.st)
				s.advance()
				if _, err := s.w.Write(buf); err != nil {
					return fmt.Errorf("udp write: %w", err)
				}
				s.msgs++
				s.bytes += int64(len(buf))
			}
			continue
		}
		buf = buf[:0]
		var k int64
		for k < batch && len(buf) < loadgenWriteChunk {
			mark := len(buf)
			if s.octet {
				// Render first, then prefix the length (its digits vary).
				buf = s.pool.render(buf, s.next, &s.st)
				msg := len(buf) - mark
				var pfx [12]byte
				p := strconv.AppendInt(pfx[:0], int64(msg), 10)
				p = append(p, ' ')
				buf = append(buf, p...)
				copy(buf[mark+len(p):], buf[mark:mark+msg])
				copy(buf[mark:], p)
			} else {
				buf = s.pool.render(buf, s.next, &s.st)
				buf = append(buf, '\n')
			}
			s.advance()
			k++
		}
		if _, err := s.w.Write(buf); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("write: %w", err)
		}
		s.msgs += k
		s.bytes += int64(len(buf))
	}
}

func (s *loadgenSender) advance() {
	s.next++
	if s.next == len(s.pool.lines) {
		s.next = 0
	}
}

// ---- line templates ------------------------------------------------------

// stampKind is a time field of a line, rewritten with the send time.
type stampKind uint8

const (
	stDate     stampKind = iota // 2006-01-02
	stTime                      // 15:04:05
	stEventNS                   // FortiGate eventtime: Unix ns, 19 digits
	stPanTime                   // 2006/01/02 15:04:05
	stPanHiRes                  // 2006-01-02T15:04:05.000+00:00
	stBSD                       // Jan _2 15:04:05
	stASA                       // Jan 02 2006 15:04:05
	stSquid                     // Unix seconds.millis: 1772366400.123
	stRFC3339                   // 2006-01-02T15:04:05.000000Z
	numStampKinds
)

var stampWidth = [numStampKinds]int{10, 8, 19, 19, 29, 15, 20, 14, 27}

// stamps holds the rendered time fields for one clock reading. Every field
// has a fixed width (UTC, years 1000-9999, Unix seconds with 10 digits), so
// templates reserve the bytes and rendering patches them in place.
type stamps struct {
	sec  int64 // the second the second-resolution fields were rendered for
	ok   bool
	f    [numStampKinds][32]byte
	scra []byte
}

func (s *stamps) set(now time.Time) {
	t := now.UTC()
	if !s.ok || t.Unix() != s.sec {
		s.ok, s.sec = true, t.Unix()
		s.put(stDate, t.AppendFormat(s.scra[:0], "2006-01-02"))
		s.put(stTime, t.AppendFormat(s.scra[:0], "15:04:05"))
		s.put(stPanTime, t.AppendFormat(s.scra[:0], "2006/01/02 15:04:05"))
		s.put(stBSD, t.AppendFormat(s.scra[:0], "Jan _2 15:04:05"))
		s.put(stASA, t.AppendFormat(s.scra[:0], "Jan 02 2006 15:04:05"))
	}
	s.put(stEventNS, strconv.AppendInt(s.scra[:0], t.UnixNano(), 10))
	s.put(stPanHiRes, t.AppendFormat(s.scra[:0], "2006-01-02T15:04:05.000-07:00"))
	ms := t.UnixMilli()
	b := strconv.AppendInt(s.scra[:0], ms/1000, 10)
	b = append(b, '.', byte('0'+ms/100%10), byte('0'+ms/10%10), byte('0'+ms%10))
	s.put(stSquid, b)
	s.put(stRFC3339, t.AppendFormat(s.scra[:0], "2006-01-02T15:04:05.000000Z07:00"))
}

func (s *stamps) put(k stampKind, b []byte) {
	// A field whose width differs (a clock outside years 1000-9999) is left
	// as it was rather than misaligning the line.
	if len(b) == stampWidth[k] {
		copy(s.f[k][:], b)
	}
	s.scra = b[:0]
}

type patch struct {
	off  int
	kind stampKind
}

// lineTemplate is one line with reserved bytes for its time fields.
type lineTemplate struct {
	b       []byte
	patches []patch
}

type linePool struct {
	lines []lineTemplate
}

// render appends line i, stamped, to dst.
func (p *linePool) render(dst []byte, i int, st *stamps) []byte {
	t := &p.lines[i]
	base := len(dst)
	dst = append(dst, t.b...)
	for _, pt := range t.patches {
		copy(dst[base+pt.off:], st.f[pt.kind][:stampWidth[pt.kind]])
	}
	return dst
}

// lb builds a template.
type lb struct{ t lineTemplate }

func (l *lb) s(parts ...string) *lb {
	for _, p := range parts {
		l.t.b = append(l.t.b, p...)
	}
	return l
}

func (l *lb) i(v int64) *lb { l.t.b = strconv.AppendInt(l.t.b, v, 10); return l }

func (l *lb) stamp(k stampKind) *lb {
	l.t.patches = append(l.t.patches, patch{off: len(l.t.b), kind: k})
	for range stampWidth[k] {
		l.t.b = append(l.t.b, '0')
	}
	return l
}

// newLinePool pre-generates the lines of a format. syslog adds the header
// each device sends; without it lines look as in the device's log files.
func newLinePool(format string, size int, seed uint64, syslog bool) *linePool {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5c0075)), syslog: syslog, size: size}
	p := &linePool{lines: make([]lineTemplate, 0, loadgenPoolSize)}
	mix := []func() lineTemplate{g.fortigate, g.paloalto, g.ciscoASA, g.squid}
	for i := range loadgenPoolSize {
		var t lineTemplate
		switch format {
		case "fortigate":
			t = g.fortigate()
		case "paloalto":
			t = g.paloalto()
		case "cisco-asa":
			t = g.ciscoASA()
		case "squid":
			t = g.squid()
		case "mix":
			t = mix[i%len(mix)]()
		default:
			t = g.raw(i)
		}
		p.lines = append(p.lines, t)
	}
	return p
}

// gen draws realistic values: a population of internal clients (skewed), public servers from the
// documentation ranges (and 2001:db8::/32), users in the forms directories
// log them, and well-known cloud services.
type gen struct {
	r      *rand.Rand
	syslog bool
	size   int
	asaID  int64
	hosts  []lgHost
	zipf   *rand.Zipf
}

// lgHost is one workstation: its address, MAC and usual user. Traffic is
// skewed as in real networks (a Zipf draw): a few hosts send much of it.
type lgHost struct {
	ip, mac, name, user, hostname string
}

// loadgenHosts is the size of the simulated client population.
const loadgenHosts = 2000

// host draws a client of the population.
func (g *gen) host() *lgHost {
	if g.hosts == nil {
		g.hosts = make([]lgHost, loadgenHosts)
		for i := range g.hosts {
			h := &g.hosts[i]
			h.name, h.user = g.user()
			h.ip, h.mac = g.clientIP(), g.mac()
			h.hostname = "ws-" + strconv.Itoa(1000+i)
		}
		g.zipf = rand.NewZipf(g.r, 1.1, 4, loadgenHosts-1)
	}
	return &g.hosts[g.zipf.Uint64()]
}

var (
	lgFirst   = []string{"anna", "ben", "carla", "david", "emma", "felix", "gina", "hugo", "ines", "jonas", "kim", "lara", "max", "nina", "omar", "paula", "quinn", "rosa", "sven", "tara", "uwe", "vera", "wim", "yara", "zoe"}
	lgLast    = []string{"schmidt", "mueller", "weber", "fischer", "meyer", "wagner", "becker", "hoffmann", "koch", "richter", "klein", "wolf", "neumann", "braun", "zimmermann", "kruger", "hartmann", "lange", "werner", "krause"}
	lgDomains = []string{"CORP", "EMEA", "LAB"}
	lgSites   = []struct{ host, app, cat string }{
		{"www.dropbox.com", "Dropbox", "Storage.Backup"},
		{"drive.google.com", "Google.Drive", "Storage.Backup"},
		{"outlook.office365.com", "Microsoft.Outlook", "Collaboration"},
		{"teams.microsoft.com", "Microsoft.Teams", "Collaboration"},
		{"slack.com", "Slack", "Collaboration"},
		{"github.com", "GitHub", "Web.Client"},
		{"app.box.com", "Box", "Storage.Backup"},
		{"zoom.us", "Zoom", "Video/Audio"},
		{"s3.amazonaws.com", "Amazon.AWS", "Cloud.IT"},
		{"www.wetransfer.com", "WeTransfer", "Storage.Backup"},
		{"web.whatsapp.com", "WhatsApp", "Collaboration"},
		{"chat.openai.com", "ChatGPT", "Web.Client"},
		{"www.salesforce.com", "Salesforce", "Business"},
		{"mega.nz", "MEGA", "Storage.Backup"},
		{"intranet.example.com", "HTTPS.BROWSER", "Web.Client"},
		{"www.example.org", "HTTP.BROWSER", "Web.Client"},
	}
	lgPaths = []string{"/", "/index.html", "/api/v2/files/upload", "/s/abc123/report.pdf", "/login", "/v1/messages", "/assets/app.js", "/download/setup.exe", "/search?q=quarterly+report", "/rest/chat.postMessage"}
	lgUA    = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15", "Microsoft Office/16.0", "curl/8.5.0"}
)

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) user() (bare, qualified string) {
	u := g.pick(lgFirst) + "." + g.pick(lgLast)
	switch g.r.IntN(4) {
	case 0:
		return u, g.pick(lgDomains) + `\` + u
	case 1:
		return u, u + "@example.com"
	default:
		return u, u
	}
}

func (g *gen) clientIP() string {
	if g.r.IntN(5) == 0 {
		return fmt.Sprintf("192.168.%d.%d", g.r.IntN(32), 2+g.r.IntN(250))
	}
	return fmt.Sprintf("10.%d.%d.%d", g.r.IntN(64), g.r.IntN(256), 2+g.r.IntN(250))
}

func (g *gen) serverIP() string {
	switch g.r.IntN(8) {
	case 0:
		return fmt.Sprintf("2001:db8:%x::%x", g.r.IntN(0x1000), 1+g.r.IntN(0xfffe))
	case 1, 2:
		return fmt.Sprintf("192.0.2.%d", 1+g.r.IntN(254))
	case 3, 4:
		return fmt.Sprintf("198.51.100.%d", 1+g.r.IntN(254))
	default:
		return fmt.Sprintf("203.0.113.%d", 1+g.r.IntN(254))
	}
}

func (g *gen) site() (host, app, cat string) {
	s := lgSites[g.r.IntN(len(lgSites))]
	return s.host, s.app, s.cat
}

func (g *gen) port() int64 { return int64(1024 + g.r.IntN(64000)) }

func (g *gen) mac() string {
	return fmt.Sprintf("00:0c:29:%02x:%02x:%02x", g.r.IntN(256), g.r.IntN(256), g.r.IntN(256))
}

// fortigate: a FortiOS 7.x forward traffic log (about 700 bytes). Syslog
// form is FortiGate's default: <PRI> directly followed by the pairs.
func (g *gen) fortigate() lineTemplate {
	var l lb
	if g.syslog {
		l.s("<189>")
	}
	cl := g.host()
	user := cl.user
	host, app, cat := g.site()
	dport := int64(443)
	service := "HTTPS"
	if g.r.IntN(6) == 0 {
		dport, service = 80, "HTTP"
	}
	action := []string{"close", "close", "close", "accept", "timeout", "server-rst", "client-rst", "deny"}[g.r.IntN(8)]
	fw := g.r.IntN(4)
	l.s(`date=`).stamp(stDate).s(` time=`).stamp(stTime)
	l.s(fmt.Sprintf(` devname="FGT-BR%02d" devid="FG100FTK2290%04d" eventtime=`, fw, 1000+fw)).stamp(stEventNS)
	l.s(` tz="+0000" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root"`)
	l.s(` srcip=`, cl.ip, ` srcport=`).i(g.port()).s(` srcintf="port2" srcintfrole="lan"`)
	l.s(` dstip=`, g.serverIP(), ` dstport=`).i(dport).s(` dstintf="wan1" dstintfrole="wan"`)
	l.s(` sessionid=`).i(int64(1e8 + g.r.IntN(9e8)))
	l.s(` proto=6 action="`, action, `" policyid=`).i(int64(1 + g.r.IntN(40)))
	l.s(` policytype="policy" policyname="LAN-to-Internet" user="`, user, `" group="Staff"`)
	l.s(` service="`, service, `" trandisp="snat" transip=203.0.113.2 transport=`).i(g.port())
	l.s(` appid=`).i(int64(15000+g.r.IntN(30000))).s(` app="`, app, `" appcat="`, cat, `"`)
	l.s(` duration=`).i(int64(1 + g.r.IntN(900)))
	l.s(` sentbyte=`).i(int64(200 + g.r.IntN(2e6))).s(` rcvdbyte=`).i(int64(500 + g.r.IntN(2e7)))
	l.s(` sentpkt=`).i(int64(3 + g.r.IntN(2000))).s(` rcvdpkt=`).i(int64(3 + g.r.IntN(20000)))
	l.s(` hostname="`, host, `" srcmac="`, cl.mac, `"`)
	return l.t
}

// paloalto: a PAN-OS 10.x TRAFFIC end record (CSV), with the high
// resolution timestamp in column 102.
func (g *gen) paloalto() lineTemplate {
	var l lb
	if g.syslog {
		l.s("<14>").stamp(stBSD).s(" PA-3220-HQ ")
	}
	cl := g.host()
	user := cl.user
	if g.r.IntN(5) == 0 {
		user = ""
	}
	host, _, _ := g.site()
	apps := []string{"ssl", "web-browsing", "dropbox-base", "ms-office365-base", "slack-base", "github-base", "zoom-base", "google-drive-web"}
	acts := []string{"allow", "allow", "allow", "allow", "deny", "drop", "reset-both"}
	src, dst := cl.ip, g.serverIP()
	sent, rcvd := int64(200+g.r.IntN(1e6)), int64(500+g.r.IntN(1e7))
	c := make([]string, 114)
	c[0] = "1"
	c[2] = "013201012345"
	c[3], c[4] = "TRAFFIC", "end"
	c[5] = "2561"
	c[7], c[8], c[9], c[10] = src, dst, "203.0.113.2", "0.0.0.0"
	c[11], c[12], c[14] = "allow-web", strings.ToLower(user), apps[g.r.IntN(len(apps))]
	c[15], c[16], c[17], c[18], c[19], c[20] = "vsys1", "trust", "untrust", "ethernet1/2", "ethernet1/1", "log-forwarding-default"
	c[22], c[23] = strconv.Itoa(100000+g.r.IntN(900000)), "1"
	c[24], c[25], c[26], c[27] = strconv.FormatInt(g.port(), 10), "443", strconv.FormatInt(g.port(), 10), "443"
	c[28], c[29], c[30] = "0x40001c", "tcp", acts[g.r.IntN(len(acts))]
	c[31], c[32], c[33] = strconv.FormatInt(sent+rcvd, 10), strconv.FormatInt(sent, 10), strconv.FormatInt(rcvd, 10)
	c[34], c[36], c[37] = strconv.Itoa(10+g.r.IntN(5000)), strconv.Itoa(g.r.IntN(600)), "computer-and-internet-info"
	c[39], c[40], c[41], c[42] = strconv.FormatInt(7e9+int64(g.r.IntN(1e9)), 10), "0x8000000000000000", "10.0.0.0-10.255.255.255", "United States"
	c[44], c[45], c[46] = strconv.Itoa(5+g.r.IntN(2000)), strconv.Itoa(5+g.r.IntN(3000)), "tcp-fin"
	c[47], c[48], c[49], c[50] = "0", "0", "0", "0"
	c[52], c[53] = "PA-3220-HQ", "from-policy"
	c[58], c[62], c[63], c[64] = "0", "0", "0", "0"
	c[65] = "9a4e1c2b-5d3f-4e6a-8b7c-" + fmt.Sprintf("%012x", g.r.Uint64()&0xffffffffffff)
	c[66], c[67], c[68] = "0", "0", "0"
	c[82], c[83] = cl.hostname, cl.mac
	c[90] = host
	c[101] = "0"
	c[105], c[106], c[107], c[108] = "file-sharing", "general-internet", "browser-based", strconv.Itoa(1+g.r.IntN(5))
	c[112], c[113] = "yes", "no"
	for i, v := range c {
		if i > 0 {
			l.s(",")
		}
		switch i {
		case 1, 6, 35:
			l.stamp(stPanTime)
		case 102:
			l.stamp(stPanHiRes)
		default:
			l.s(v)
		}
	}
	return l.t
}

// ciscoASA: connection teardowns (with byte totals), builds and ACL denies,
// with the "logging timestamp" header and a device id.
func (g *gen) ciscoASA() lineTemplate {
	var l lb
	if g.syslog {
		l.s("<166>").stamp(stASA).s(" ASA-FW-01 : ")
	} else {
		l.stamp(stASA).s(" ASA-FW-01 : ")
	}
	g.asaID++
	id := 80000000 + g.asaID
	cl := g.host()
	src, dst := cl.ip, g.serverIP()
	sp, dp := g.port(), []int64{443, 443, 80, 53, 8443}[g.r.IntN(5)]
	bare := cl.name
	switch g.r.IntN(6) {
	case 0, 1, 2:
		l.s("%ASA-6-302014: Teardown TCP connection ").i(id).s(" for outside:", dst, "/").i(dp)
		l.s(" to inside:", src, "/").i(sp).s(" duration ")
		d := g.r.IntN(7200)
		l.s(fmt.Sprintf("%d:%02d:%02d", d/3600, d/60%60, d%60)).s(" bytes ").i(int64(100 + g.r.IntN(5e6)))
		l.s([]string{" TCP FINs", " TCP Reset-I", " TCP Reset-O", " Flow closed by inspection"}[g.r.IntN(4)])
		l.s(" (CORP\\", bare, ")")
	case 3, 4:
		l.s("%ASA-6-302013: Built outbound TCP connection ").i(id).s(" for outside:", dst, "/").i(dp)
		l.s(" (", dst, "/").i(dp).s(") to inside:", src, "/").i(sp).s(" (203.0.113.2/").i(g.port()).s(")")
		l.s(" (CORP\\", bare, ")")
	default:
		l.s(`%ASA-4-106023: Deny tcp src inside:`, src, "/").i(sp).s(" dst outside:", dst, "/").i(dp)
		l.s(` by access-group "inside_access_in" [0x5a3c1d2e, 0x0]`)
	}
	return l.t
}

// squid: the native access.log format; over syslog with the tag squid.
// With --size the URL's query is lengthened to reach the size.
func (g *gen) squid() lineTemplate {
	var l lb
	if g.syslog {
		l.s("<150>").stamp(stBSD).s(" proxy01 squid[2211]: ")
	}
	start := len(l.t.b)
	cl := g.host()
	user := cl.user
	if g.r.IntN(3) == 0 {
		user = "-"
	}
	host, _, _ := g.site()
	l.stamp(stSquid).s(fmt.Sprintf(" %6d ", 5+g.r.IntN(60000)), cl.ip, " ")
	bytes := strconv.Itoa(300 + g.r.IntN(3e6))
	dst := g.serverIP()
	var tail lb
	if g.r.IntN(2) == 0 {
		l.s([]string{"TCP_TUNNEL/200", "TCP_TUNNEL/200", "TCP_DENIED/403"}[g.r.IntN(3)], " ", bytes, " CONNECT ", host, ":443 ", user, " HIER_DIRECT/", dst, " -")
	} else {
		path := g.pick(lgPaths)
		status := []string{"TCP_MISS/200", "TCP_MISS/200", "TCP_MISS/304", "TCP_HIT/200", "TCP_DENIED/403", "TCP_MISS/404"}[g.r.IntN(6)]
		l.s(status, " ", bytes, " ", []string{"GET", "GET", "POST", "PUT"}[g.r.IntN(4)], " http://", host, path)
		tail.s(" ", user, " HIER_DIRECT/", dst, " ", []string{"text/html", "application/json", "image/png", "application/octet-stream"}[g.r.IntN(4)])
		if pad := g.size - (len(l.t.b) - start) - len(tail.t.b); g.size > 0 && pad > 0 {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			if pad > len(sep)+3 {
				l.s(sep, "sid=", strings.Repeat("x", pad-len(sep)-4))
			}
		}
		l.s(string(tail.t.b))
	}
	return l.t
}

// raw: a synthetic RFC 5424 message padded to --size (default 300) bytes,
// for measuring ingest without vendor parsing.
func (g *gen) raw(i int) lineTemplate {
	var l lb
	size := g.size
	if size == 0 {
		size = 300
	}
	if g.syslog {
		l.s("<134>1 ").stamp(stRFC3339).s(" bench01 rawgen - - - ")
	} else {
		l.stamp(stRFC3339).s(" ")
	}
	l.s("raw seq=").i(int64(i)).s(" ")
	for n := len(l.t.b); n < size; n++ {
		l.t.b = append(l.t.b, byte('a'+(n+i)%26))
	}
	return l.t
}
