package collector

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/rs/zerolog"
	"golang.org/x/sys/unix"

	"github.com/cloudscout/cloudscout/collector/anonymize"
	"github.com/cloudscout/cloudscout/collector/config"
	"github.com/cloudscout/cloudscout/collector/spool"
	"github.com/cloudscout/cloudscout/collector/syslog"
	"github.com/cloudscout/cloudscout/uploader"
)

// Options are the runtime's dependencies that do not come from the config.
type Options struct {
	Logger  zerolog.Logger
	Version string
	// Started, if set, is called once every listener is bound, with what a
	// person needs to know: where it listens and where batches go.
	Started func(Endpoints)
}

// Endpoints says where a running collector listens and ships.
type Endpoints struct {
	Listeners []string // "udp 0.0.0.0:5514 → default"
	Admin     string
	Targets   []string
	DataDir   string
}

// Collector is one running appliance.
type Collector struct {
	cfg      *config.Config
	opts     Options
	log      zerolog.Logger
	reg      *prometheus.Registry
	spool    *spool.Spool
	pipe     *Pipeline
	uploader *uploader.Uploader
	recv     []*syslog.Receiver
	started  time.Time

	mu      sync.Mutex
	running bool
}

// New checks cfg and prepares a collector; it binds and opens nothing.
func New(cfg *config.Config, o Options) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Collector{cfg: cfg, opts: o, log: o.Logger}, nil
}

// dataPath resolves a path inside the data dir.
func (c *Collector) dataPath(parts ...string) string {
	return filepath.Join(append([]string{c.cfg.Collector.DataDir}, parts...)...)
}

// Run starts everything, serves until ctx is cancelled, then shuts down
// within the configured grace period: receivers stop first, in-flight
// records reach the spool, the spool is synced, then uploads stop.
func (c *Collector) Run(ctx context.Context) error {
	if err := os.MkdirAll(c.cfg.Collector.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir: %w", err)
	}
	unlock, err := lockDir(c.cfg.Collector.DataDir)
	if err != nil {
		return err
	}
	defer unlock()

	key, created, err := anonymize.LoadOrCreateKey(c.cfg.Anonymize.KeyFile)
	if err != nil {
		return err
	}
	if created {
		c.log.Warn().Str("key_file", c.cfg.Anonymize.KeyFile).Msg("created a new anonymization key: back it up; without it encrypted values cannot be reversed and tokens change")
	}

	c.reg = prometheus.NewRegistry()
	c.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))

	var pipe *Pipeline
	sp, err := spool.Open(spool.Config{
		Dir:             c.dataPath("spool"),
		Collector:       c.cfg.Collector.Name,
		Compression:     c.cfg.Spool.Compression,
		SegmentMaxBytes: int64(c.cfg.Spool.SegmentSize),
		SegmentMaxAge:   c.cfg.Spool.SegmentAge.D(),
		QuotaBytes:      int64(c.cfg.Spool.Quota),
		SyncInterval:    c.cfg.Spool.SyncInterval.D(),
		SealHook: func(source string) map[string]int64 {
			if pipe == nil {
				return nil
			}
			return pipe.SealHook(source)
		},
		Logger:     c.log.With().Str("component", "spool").Logger(),
		Registerer: c.reg,
	})
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	c.spool = sp
	pipe, err = newPipeline(c.cfg, sp, key, c.reg, c.log.With().Str("component", "pipeline").Logger())
	if err != nil {
		return err
	}
	c.pipe = pipe

	up, err := c.newUploader()
	if err != nil {
		return err
	}
	c.uploader = up

	recvMetrics := syslog.NewMetrics(c.reg)
	var tlsCfg *tls.Config
	if c.cfg.Syslog.TLS.Cert != "" {
		if tlsCfg, err = serverTLS(c.cfg.Syslog.TLS); err != nil {
			return fmt.Errorf("syslog tls: %w", err)
		}
	}
	for _, l := range c.cfg.Listeners() {
		rc := syslog.Config{
			Name:                    l.Key(),
			Transport:               l.Transport,
			Address:                 l.Address,
			MaxMessageSize:          int(c.cfg.Syslog.MaxMessageSize),
			IdleTimeout:             c.cfg.Syslog.IdleTimeout.D(),
			MaxConnections:          c.cfg.Syslog.MaxConnections,
			MaxConnectionsPerSender: c.cfg.Syslog.MaxConnectionsPerSender,
			ReadBuffer:              int(c.cfg.Syslog.UDPReadBuffer),
			Allow:                   pipe.Allow(l.Key()),
			Handler:                 pipe,
			Logger:                  c.log,
			Metrics:                 recvMetrics,
		}
		if l.Transport == "tls" {
			rc.TLS = tlsCfg
		}
		r, err := syslog.New(rc)
		if err != nil {
			return fmt.Errorf("listener %s: %w", l.Key(), err)
		}
		c.recv = append(c.recv, r)
	}

	var admin net.Listener
	if c.cfg.Collector.Admin != "" {
		if admin, err = net.Listen("tcp", c.cfg.Collector.Admin); err != nil {
			return fmt.Errorf("admin endpoint: %w", err)
		}
	}

	c.started = time.Now()
	// Three stages with their own contexts, stopped in order.
	inCtx, stopIn := context.WithCancel(context.Background())
	defer stopIn()
	upCtx, stopUp := context.WithCancel(context.Background())
	defer stopUp()
	spoolCtx, stopSpool := context.WithCancel(context.Background())
	defer stopSpool()

	errc := make(chan error, len(c.recv)+8)
	var inWG, upWG, spoolWG sync.WaitGroup
	run := func(wg *sync.WaitGroup, name string, f func(context.Context) error, ctx context.Context) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errc <- fmt.Errorf("%s: %w", name, err)
			}
		}()
	}
	run(&spoolWG, "spool", sp.Run, spoolCtx)
	run(&upWG, "uploader", up.Run, upCtx)
	for _, r := range c.recv {
		run(&inWG, "listener", r.Run, inCtx)
	}
	var srv *http.Server
	if admin != nil {
		srv = &http.Server{Handler: c.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
		inWG.Add(1)
		go func() {
			defer inWG.Done()
			if err := srv.Serve(admin); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- fmt.Errorf("admin endpoint: %w", err)
			}
		}()
	}

	// Wait until every receiver is bound (or one fails), then announce.
	var runErr error
	for _, r := range c.recv {
		select {
		case <-r.Ready():
		case runErr = <-errc:
		case <-ctx.Done():
		}
		if runErr != nil || ctx.Err() != nil {
			break
		}
	}
	if runErr == nil && ctx.Err() == nil {
		c.mu.Lock()
		c.running = true
		c.mu.Unlock()
		if c.opts.Started != nil {
			c.opts.Started(c.endpoints(admin))
		}
		select {
		case <-ctx.Done():
		case runErr = <-errc:
		}
	}

	grace := c.cfg.Collector.ShutdownGrace.D()
	if grace <= 0 {
		grace = 15 * time.Second
	}
	deadline := time.Now().Add(grace)
	c.log.Info().Dur("grace", grace).Msg("shutting down: receivers first, then spool sync, then uploads")
	stopIn()
	if srv != nil {
		sctx, cancel := context.WithDeadline(context.Background(), deadline)
		_ = srv.Shutdown(sctx)
		cancel()
	}
	if !waitUntil(&inWG, deadline) {
		runErr = errors.Join(runErr, errors.New("receivers did not stop within the shutdown grace period"))
	}
	if err := sp.Sync(); err != nil {
		runErr = errors.Join(runErr, fmt.Errorf("final spool sync: %w", err))
	}
	stopUp()
	if !waitUntil(&upWG, deadline) {
		runErr = errors.Join(runErr, errors.New("uploads did not stop within the shutdown grace period"))
	}
	stopSpool()
	spoolWG.Wait()
	c.mu.Lock()
	c.running = false
	c.mu.Unlock()
	// Drain errors that arrived during shutdown.
	for {
		select {
		case err := <-errc:
			runErr = errors.Join(runErr, err)
			continue
		default:
		}
		break
	}
	return runErr
}

func waitUntil(wg *sync.WaitGroup, deadline time.Time) bool {
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
		return true
	case <-time.After(time.Until(deadline)):
		return false
	}
}

func (c *Collector) endpoints(admin net.Listener) Endpoints {
	e := Endpoints{DataDir: c.cfg.Collector.DataDir}
	for i, l := range c.cfg.Listeners() {
		names := ""
		for j, s := range l.Sources {
			if j > 0 {
				names += ","
			}
			names += s.Name
		}
		addr := l.Address
		if a := c.recv[i].Addr(); a != nil {
			addr = a.String()
		}
		e.Listeners = append(e.Listeners, fmt.Sprintf("%s %s → source %s", l.Transport, addr, names))
	}
	if admin != nil {
		e.Admin = "http://" + admin.Addr().String()
	}
	for _, t := range c.cfg.Upload.Targets {
		e.Targets = append(e.Targets, t.Name+" "+t.URL)
	}
	return e
}

// lockDir takes an exclusive lock on dir/.lock so that two collectors never
// share a spool.
func lockDir(dir string) (func(), error) {
	f, err := os.OpenFile(filepath.Join(dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o640)
	if err != nil {
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, fmt.Errorf("data dir %s is in use by another running collector", dir)
		}
		return nil, fmt.Errorf("lock data dir: %w", err)
	}
	return func() { f.Close() }, nil
}

func serverTLS(t config.TLS) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(t.Cert, t.Key)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if t.ClientCA != "" {
		pem, err := os.ReadFile(t.ClientCA)
		if err != nil {
			return nil, err
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("client_ca %s holds no PEM certificate", t.ClientCA)
		}
		cfg.ClientCAs = pool
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if t.RequireClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	}
	return cfg, nil
}
