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

	"github.com/cloudscout/cloudscout/internal/loadgen"
)

// Load generator limits: every loop it runs is bounded by a duration or a
// count, and these caps keep a typo from starting something endless.
const (
	loadgenMaxConns    = 1000
	loadgenMaxDuration = 24 * time.Hour
	loadgenMaxSize     = 64 << 10
	loadgenWriteChunk  = 64 << 10 // stream writes are batched up to this size
	// loadgenStall bounds one blocked write: a receiver that stops reading for
	// this long ends the run with an error instead of hanging it.
	loadgenStall = 30 * time.Second
)

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
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "fortigate", Usage: "line `FORMAT`: " + strings.Join(loadgen.Formats, ", ")},
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
	for _, f := range loadgen.Formats {
		known = known || f == cfg.Format
	}
	if !known {
		return t, fmt.Errorf("--format %q: one of %s", cfg.Format, strings.Join(loadgen.Formats, ", "))
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
	pool := loadgen.NewPool(cfg.Format, cfg.Size, cfg.Seed, t.scheme != "file")
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
			next:     (i * pool.Len()) / len(conns),
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
	pool     *loadgen.Pool
	next     int
	rate     float64 // this connection's share; 0 = flat out
	limit    int64   // 0 = until the deadline
	deadline time.Time
	start    time.Time

	msgs, bytes int64
	st          loadgen.Stamps
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
		s.st.Set(now)
		if setDeadline != nil {
			_ = setDeadline.SetWriteDeadline(now.Add(loadgenStall))
		}
		if s.udp {
			// One datagram per message; a batch is at most 1024 datagrams so
			// the clock is read often enough.
			for i := int64(0); i < batch && i < 1024; i++ {
				buf = s.pool.Render(buf[:0], s.next, &s.st)
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
				buf = s.pool.Render(buf, s.next, &s.st)
				msg := len(buf) - mark
				var pfx [12]byte
				p := strconv.AppendInt(pfx[:0], int64(msg), 10)
				p = append(p, ' ')
				buf = append(buf, p...)
				copy(buf[mark+len(p):], buf[mark:mark+msg])
				copy(buf[mark:], p)
			} else {
				buf = s.pool.Render(buf, s.next, &s.st)
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
	if s.next == s.pool.Len() {
		s.next = 0
	}
}
