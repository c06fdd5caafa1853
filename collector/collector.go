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
	"github.com/cloudscout/cloudscout/collector/filedrop"
	"github.com/cloudscout/cloudscout/collector/ftp"
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
	// LoadConfig, if set, reads the configuration again for a reload
	// (SIGHUP or 'cloudscout reload').
	LoadConfig func() (*config.Config, error)
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
	ftp      *ftp.Server // nil when no source has an FTP account
	watcher  *filedrop.Watcher
	started  time.Time

	recvMetrics *syslog.Metrics
	inCtx       context.Context // parent of every input; cancelled first at shutdown
	inWG        sync.WaitGroup
	errc        chan error

	mu      sync.Mutex // guards the fields below
	cfgCur  *config.Config
	recv    map[string]*receiver // by listener key
	running bool
}

// receiver is one running syslog listener.
type receiver struct {
	r      *syslog.Receiver
	cancel context.CancelFunc
	done   chan struct{}
}

// New checks cfg and prepares a collector; it binds and opens nothing.
func New(cfg *config.Config, o Options) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Collector{cfg: cfg, cfgCur: cfg, opts: o, log: o.Logger, recv: map[string]*receiver{}}, nil
}

// dataPath resolves a path inside the data dir, absolute: components such
// as the file-drop state must not depend on the working directory.
func (c *Collector) dataPath(parts ...string) string {
	return absPath("", filepath.Join(append([]string{c.cfg.Collector.DataDir}, parts...)...))
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

	if hasFTP(c.cfg) {
		if c.ftp, err = c.newFTP(); err != nil {
			return fmt.Errorf("ftp: %w", err)
		}
	}
	if c.watcher, err = c.newWatcher(); err != nil {
		return fmt.Errorf("file drop: %w", err)
	}

	c.recvMetrics = syslog.NewMetrics(c.reg)
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
	c.inCtx = inCtx
	upCtx, stopUp := context.WithCancel(context.Background())
	defer stopUp()
	spoolCtx, stopSpool := context.WithCancel(context.Background())
	defer stopSpool()

	c.errc = make(chan error, 64)
	errc := c.errc
	var upWG, spoolWG sync.WaitGroup
	run := func(wg *sync.WaitGroup, name string, f func(context.Context) error, ctx context.Context) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := f(ctx); err != nil && !errors.Is(err, context.Canceled) {
				c.reportErr(fmt.Errorf("%s: %w", name, err))
			}
		}()
	}
	run(&spoolWG, "spool", sp.Run, spoolCtx)
	run(&upWG, "uploader", up.Run, upCtx)
	var runErr error
	c.mu.Lock()
	for _, l := range c.cfg.Listeners() {
		if err := c.startListenerLocked(l, true); err != nil {
			runErr = err
			break
		}
	}
	ready := make([]<-chan struct{}, 0, len(c.recv)+1)
	for _, r := range c.recv {
		ready = append(ready, r.r.Ready())
	}
	c.mu.Unlock()
	run(&c.inWG, "file drop", c.watcher.Run, inCtx)
	if c.ftp != nil {
		run(&c.inWG, "ftp", c.ftp.Run, inCtx)
		ready = append(ready, c.ftp.Ready())
	}
	var srv *http.Server
	if admin != nil {
		srv = &http.Server{Handler: c.adminHandler(), ReadHeaderTimeout: 10 * time.Second}
		c.inWG.Add(1)
		go func() {
			defer c.inWG.Done()
			if err := srv.Serve(admin); err != nil && !errors.Is(err, http.ErrServerClosed) {
				c.reportErr(fmt.Errorf("admin endpoint: %w", err))
			}
		}()
	}

	// Wait until every receiver is bound (or one fails), then announce.
	for _, r := range ready {
		if runErr != nil {
			break
		}
		select {
		case <-r:
		case runErr = <-errc:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
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
	if !waitUntil(&c.inWG, deadline) {
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
	c.mu.Lock()
	defer c.mu.Unlock()
	cfg := c.cfgCur
	e := Endpoints{DataDir: cfg.Collector.DataDir}
	for _, l := range cfg.Listeners() {
		names := ""
		for j, s := range l.Sources {
			if j > 0 {
				names += ","
			}
			names += s.Name
		}
		addr := l.Address
		if r, ok := c.recv[l.Key()]; ok {
			if a := r.r.Addr(); a != nil {
				addr = a.String()
			}
		}
		e.Listeners = append(e.Listeners, fmt.Sprintf("%s %s → source %s", l.Transport, addr, names))
	}
	if c.ftp != nil {
		if a := c.ftp.Addr(); a != nil {
			e.Listeners = append(e.Listeners, fmt.Sprintf("ftp %s (explicit FTPS when a certificate is set) → %d account(s), passive ports %s", a, len(ftpAccounts(cfg)), cfg.FTP.PassivePorts))
		}
		if a := c.ftp.ImplicitAddr(); a != nil {
			e.Listeners = append(e.Listeners, fmt.Sprintf("ftps (implicit) %s", a))
		}
	}
	for _, f := range watchFolders(cfg) {
		e.Listeners = append(e.Listeners, fmt.Sprintf("folder %s → source %s", f.Dir, f.Source))
	}
	if admin != nil {
		e.Admin = "http://" + admin.Addr().String()
	}
	for _, t := range cfg.Upload.Targets {
		e.Targets = append(e.Targets, t.Name+" "+t.URL)
	}
	return e
}

// reportErr hands a fatal runtime error to Run without blocking.
func (c *Collector) reportErr(err error) {
	select {
	case c.errc <- err:
	default:
		c.log.Error().Err(err).Msg("runtime error")
	}
}

// startListenerLocked creates and starts one syslog listener.
// A listener that fails at start-up stops the collector; one started by a
// reload only logs, so a bad reload cannot take the appliance down.
func (c *Collector) startListenerLocked(l config.Listener, fatal bool) error {
	cfg := c.cfgCur
	rc := syslog.Config{
		Name:                    l.Key(),
		Transport:               l.Transport,
		Address:                 l.Address,
		MaxMessageSize:          int(cfg.Syslog.MaxMessageSize),
		IdleTimeout:             cfg.Syslog.IdleTimeout.D(),
		MaxConnections:          cfg.Syslog.MaxConnections,
		MaxConnectionsPerSender: cfg.Syslog.MaxConnectionsPerSender,
		ReadBuffer:              int(cfg.Syslog.UDPReadBuffer),
		Allow:                   c.pipe.Allow(l.Key()),
		Handler:                 c.pipe,
		Logger:                  c.log,
		Metrics:                 c.recvMetrics,
	}
	if l.Transport == "tls" {
		t, err := serverTLS(cfg.Syslog.TLS)
		if err != nil {
			return fmt.Errorf("syslog tls: %w", err)
		}
		rc.TLS = t
	}
	r, err := syslog.New(rc)
	if err != nil {
		return fmt.Errorf("listener %s: %w", l.Key(), err)
	}
	ctx, cancel := context.WithCancel(c.inCtx)
	h := &receiver{r: r, cancel: cancel, done: make(chan struct{})}
	c.recv[l.Key()] = h
	c.inWG.Add(1)
	go func() {
		defer c.inWG.Done()
		defer close(h.done)
		if err := r.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			if fatal {
				c.reportErr(fmt.Errorf("listener %s: %w", l.Key(), err))
			} else {
				c.log.Error().Err(err).Str("listener", l.Key()).Msg("listener failed")
			}
		}
	}()
	return nil
}

// Reload switches to a new configuration without a restart: sources,
// parsers and anonymization apply to the next message of every stream;
// listeners that stay are untouched (their connections keep going), new
// ones start, removed ones stop. Settings that need a restart (data_dir,
// spool, admin, upload) are reported and kept.
func (c *Collector) Reload(cfg *config.Config) ([]string, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.running {
		return nil, errors.New("the collector is not running")
	}
	var notes []string
	old := c.cfgCur
	if cfg.Collector != old.Collector || cfg.Spool != old.Spool || cfg.Anonymize.KeyFile != old.Anonymize.KeyFile || cfg.Syslog != old.Syslog {
		notes = append(notes, "changes to collector, spool, syslog limits/TLS or the key file take effect after a restart")
	}
	if err := c.pipe.Apply(cfg); err != nil {
		return nil, err
	}
	if c.ftp != nil {
		if err := c.ftp.SetAccounts(ftpAccounts(cfg)); err != nil {
			return nil, fmt.Errorf("ftp accounts: %w", err)
		}
	} else if hasFTP(cfg) {
		notes = append(notes, "FTP accounts were added but no FTP server was running: restart to start it")
	}
	if err := c.watcher.SetFolders(watchFolders(cfg)); err != nil {
		return nil, fmt.Errorf("watched folders: %w", err)
	}
	c.cfgCur = cfg
	want := map[string]config.Listener{}
	for _, l := range cfg.Listeners() {
		want[l.Key()] = l
	}
	for k, r := range c.recv {
		if _, ok := want[k]; !ok {
			r.cancel()
			<-r.done
			delete(c.recv, k)
			notes = append(notes, "stopped listener "+k)
		}
	}
	var errs []error
	for k, l := range want {
		if _, ok := c.recv[k]; ok {
			continue
		}
		if err := c.startListenerLocked(l, false); err != nil {
			errs = append(errs, err)
			continue
		}
		select {
		case <-c.recv[k].r.Ready():
			if c.recv[k].r.Addr() == nil {
				errs = append(errs, fmt.Errorf("listener %s could not bind (see log)", k))
				continue
			}
		case <-time.After(5 * time.Second):
			errs = append(errs, fmt.Errorf("listener %s did not start", k))
			continue
		}
		notes = append(notes, "started listener "+k)
	}
	c.log.Info().Strs("changes", notes).Msg("configuration reloaded")
	return notes, errors.Join(errs...)
}

// config returns the configuration in force.
func (c *Collector) config() *config.Config {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cfgCur
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
