// Package ftp is CloudScout's embedded FTP/FTPS server. Each data source gets
// an account whose uploads land, complete and fsynced, in that source's drop
// folder and nowhere else; collector/filedrop picks them up from there.
//
// Completion: an upload is written to <drop>/.incoming/<random>. When the
// transfer ends, the library (fclairamb/ftpserverlib v0.25.0, see
// client_handler.go transferFile) calls Close on the file handle before it
// writes the final reply, and passes a Close error to that reply. Close fsyncs
// the file, checks that the client is still connected, renames the file into
// the drop folder without replacing anything, and fsyncs the folder; only then
// does the library send 226. A failed, aborted or abandoned transfer removes
// the temporary file, so the watcher never sees it.
//
// The control connection is wrapped so that this package, not the library,
// terminates TLS (explicit AUTH TLS and implicit), sees the plaintext commands
// and replies. That lets it refuse traversal and bounce attempts before the
// library normalizes them, bind passive data connections to the control peer,
// keep a control connection alive while an upload is flowing, and answer 452
// (not the library's fixed 550) when the disk is full.
package ftp

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode"

	ftpserver "github.com/fclairamb/ftpserverlib"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"
)

// Defaults applied to zero Config/Account fields.
const (
	DefaultIdleTimeout      = 5 * time.Minute
	DefaultMaxConnections   = 64
	DefaultBanAfter         = 10
	DefaultBanWindow        = 15 * time.Minute
	DefaultBanDuration      = 15 * time.Minute
	DefaultMinFreeDiskBytes = 64 << 20
	DefaultMaxFileBytes     = 4 << 30

	// incomingDir is the hidden folder inside each drop folder where uploads
	// are written until they are complete.
	incomingDir = ".incoming"

	handshakeTimeout = 15 * time.Second
	writeTimeout     = 60 * time.Second
	dataConnTimeout  = 30 // seconds, to establish a data connection
	maxVerifications = 4  // concurrent password hash computations
)

// Account is one FTP login. Its uploads land in DropDir, which belongs to Source.
type Account struct {
	Source       string
	User         string
	PasswordHash string // Argon2id PHC string (HashPassword) or bcrypt
	DropDir      string // absolute path
	// TLSRequired refuses plain logins and plain data connections. The
	// configuration layer should default it to true when a certificate is set.
	TLSRequired  bool
	MaxFileBytes int64 // largest accepted file; 0 = DefaultMaxFileBytes
	QuotaBytes   int64 // bytes the drop folder may hold, uploads included; 0 = no quota
}

// Config configures the server. Zero durations and counts take the defaults above.
type Config struct {
	Address            string // plain/explicit-TLS listener, e.g. ":2121"; "" = none
	ImplicitTLSAddress string // optional implicit-FTPS listener, e.g. ":990"
	CertFile, KeyFile  string // PEM; required for any TLS; re-read when they change
	PassivePortMin     int    // passive data ports; both 0 = any free port
	PassivePortMax     int
	PublicHost         string // IPv4 address announced in PASV replies (NAT); "" = the local address
	ActiveMode         bool   // allow PORT/EPRT (to the control peer's address only)
	MaxConnections     int
	IdleTimeout        time.Duration
	BanAfter           int           // failed logins per address within BanWindow that trigger a ban
	BanWindow          time.Duration //
	BanDuration        time.Duration //
	MinFreeDiskBytes   int64         // refuse (452) uploads below this much free space; <0 = only on ENOSPC
	Accounts           []Account
	Logger             zerolog.Logger
	Registerer         prometheus.Registerer
}

// Server is the FTP/FTPS server. Create it with New and start it with Run.
type Server struct {
	cfg     Config
	log     zerolog.Logger
	m       *metrics
	bans    *banList
	tlsConf *tls.Config
	certs   *certReloader
	verify  chan struct{}

	accounts atomic.Pointer[accountSet]
	started  atomic.Bool
	ready    chan struct{}

	mu        sync.Mutex
	running   bool
	closing   bool
	addr      net.Addr
	implAddr  net.Addr
	dirs      map[string]*dirState
	sessions  map[string]*session
	conns     map[*ctrlConn]struct{}
	pasvPeers map[int]*session
	pasvLs    map[*pasvListener]struct{}

	connWG   sync.WaitGroup
	uploadWG sync.WaitGroup
}

// accountSet is an immutable snapshot of the accounts, swapped by SetAccounts.
type accountSet struct {
	byUser map[string]*accountEntry
}

type accountEntry struct {
	Account
	dir *dirState
}

// dirState tracks the bytes held by one drop folder for the per-source quota.
type dirState struct {
	path     string
	stored   atomic.Int64 // completed files, refreshed by a scan at each upload start
	inflight atomic.Int64 // bytes of uploads in progress
	prepared bool         // guarded by Server.mu
}

// New validates cfg and returns a server. It binds nothing; Run does.
func New(cfg Config) (*Server, error) {
	if cfg.Address == "" && cfg.ImplicitTLSAddress == "" {
		return nil, errors.New("ftp: no listen address")
	}
	if cfg.IdleTimeout == 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.MaxConnections == 0 {
		cfg.MaxConnections = DefaultMaxConnections
	}
	if cfg.BanAfter == 0 {
		cfg.BanAfter = DefaultBanAfter
	}
	if cfg.BanWindow == 0 {
		cfg.BanWindow = DefaultBanWindow
	}
	if cfg.BanDuration == 0 {
		cfg.BanDuration = DefaultBanDuration
	}
	if cfg.MinFreeDiskBytes == 0 {
		cfg.MinFreeDiskBytes = DefaultMinFreeDiskBytes
	}
	switch {
	case cfg.IdleTimeout < time.Second:
		return nil, fmt.Errorf("ftp: idle timeout %v below 1s", cfg.IdleTimeout)
	case cfg.MaxConnections < 0 || cfg.BanAfter < 0 || cfg.BanWindow < 0 || cfg.BanDuration < 0:
		return nil, errors.New("ftp: negative limit")
	}
	if cfg.PassivePortMin != 0 || cfg.PassivePortMax != 0 {
		if cfg.PassivePortMin < 1024 || cfg.PassivePortMax > 65535 || cfg.PassivePortMin > cfg.PassivePortMax {
			return nil, fmt.Errorf("ftp: bad passive port range %d-%d", cfg.PassivePortMin, cfg.PassivePortMax)
		}
	}
	if cfg.PublicHost != "" {
		if ip := net.ParseIP(cfg.PublicHost); ip == nil || ip.To4() == nil {
			return nil, fmt.Errorf("ftp: public host %q is not an IPv4 address", cfg.PublicHost)
		}
	}
	s := &Server{
		cfg:       cfg,
		log:       cfg.Logger.With().Str("component", "ftp").Logger(),
		bans:      newBanList(cfg.BanAfter, cfg.BanWindow, cfg.BanDuration),
		verify:    make(chan struct{}, maxVerifications),
		ready:     make(chan struct{}),
		dirs:      make(map[string]*dirState),
		sessions:  make(map[string]*session),
		conns:     make(map[*ctrlConn]struct{}),
		pasvPeers: make(map[int]*session),
		pasvLs:    make(map[*pasvListener]struct{}),
	}
	if (cfg.CertFile == "") != (cfg.KeyFile == "") {
		return nil, errors.New("ftp: cert and key files go together")
	}
	if cfg.CertFile != "" {
		cr, err := newCertReloader(cfg.CertFile, cfg.KeyFile, s.log)
		if err != nil {
			return nil, fmt.Errorf("ftp: %w", err)
		}
		s.certs = cr
		s.tlsConf = &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: cr.getCertificate,
		}
	} else if cfg.ImplicitTLSAddress != "" {
		return nil, errors.New("ftp: implicit TLS needs a certificate")
	}
	set, err := s.buildAccounts(cfg.Accounts)
	if err != nil {
		return nil, err
	}
	s.accounts.Store(set)
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("ftp: %w", err)
	}
	s.m = m
	return s, nil
}

// SetAccounts replaces the accounts. Connected sessions stay up; each of
// their operations uses the account as it is now, and a removed account can
// no longer upload.
func (s *Server) SetAccounts(accounts []Account) error {
	set, err := s.buildAccounts(accounts)
	if err != nil {
		return err
	}
	s.mu.Lock()
	running := s.running
	s.mu.Unlock()
	if running {
		if err := s.prepareDirs(set); err != nil {
			return err
		}
	}
	s.accounts.Store(set)
	return nil
}

func (s *Server) buildAccounts(accounts []Account) (*accountSet, error) {
	set := &accountSet{byUser: make(map[string]*accountEntry, len(accounts))}
	dirSource := make(map[string]string)
	for i, a := range accounts {
		switch {
		case a.User == "" || strings.IndexFunc(a.User, func(r rune) bool { return unicode.IsControl(r) || unicode.IsSpace(r) }) >= 0:
			return nil, fmt.Errorf("ftp: account %d: bad user name %q", i, a.User)
		case a.Source == "":
			return nil, fmt.Errorf("ftp: account %q: no source", a.User)
		case !filepath.IsAbs(a.DropDir):
			return nil, fmt.Errorf("ftp: account %q: drop folder %q is not an absolute path", a.User, a.DropDir)
		case a.MaxFileBytes < 0 || a.QuotaBytes < 0:
			return nil, fmt.Errorf("ftp: account %q: negative size limit", a.User)
		case a.TLSRequired && s.tlsConf == nil:
			return nil, fmt.Errorf("ftp: account %q requires TLS but no certificate is configured", a.User)
		}
		if _, dup := set.byUser[a.User]; dup {
			return nil, fmt.Errorf("ftp: duplicate user %q", a.User)
		}
		if err := validateHash(a.PasswordHash); err != nil {
			return nil, fmt.Errorf("ftp: account %q: %w", a.User, err)
		}
		a.DropDir = filepath.Clean(a.DropDir)
		if src, ok := dirSource[a.DropDir]; ok && src != a.Source {
			return nil, fmt.Errorf("ftp: drop folder %s is shared by sources %q and %q", a.DropDir, src, a.Source)
		}
		dirSource[a.DropDir] = a.Source
		if a.MaxFileBytes == 0 {
			a.MaxFileBytes = DefaultMaxFileBytes
		}
		set.byUser[a.User] = &accountEntry{Account: a, dir: s.dirFor(a.DropDir)}
	}
	return set, nil
}

func (s *Server) dirFor(path string) *dirState {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.dirs[path]
	if d == nil {
		d = &dirState{path: path}
		s.dirs[path] = d
	}
	return d
}

func (s *Server) account(user string) *accountEntry {
	return s.accounts.Load().byUser[user]
}

// prepareDirs creates each drop folder and its .incoming folder. Leftover
// temporary files (from a crash or kill) are removed from folders this
// process has not used yet: no upload can be in progress there.
func (s *Server) prepareDirs(set *accountSet) error {
	for _, a := range set.byUser {
		s.mu.Lock()
		prepared := a.dir.prepared
		s.mu.Unlock()
		if prepared {
			continue
		}
		if err := prepareDropDir(a.DropDir); err != nil {
			return fmt.Errorf("ftp: account %q: %w", a.User, err)
		}
		if n, err := cleanIncoming(a.DropDir); err != nil {
			return fmt.Errorf("ftp: account %q: %w", a.User, err)
		} else if n > 0 {
			s.log.Warn().Str("dir", a.DropDir).Int("files", n).Msg("removed incomplete uploads left by an earlier run")
		}
		s.mu.Lock()
		a.dir.prepared = true
		s.mu.Unlock()
	}
	return nil
}

func prepareDropDir(dir string) error {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("create drop folder: %w", err)
	}
	inc := filepath.Join(dir, incomingDir)
	if err := os.Mkdir(inc, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("create %s: %w", inc, err)
	}
	fi, err := os.Lstat(inc)
	if err != nil {
		return fmt.Errorf("stat %s: %w", inc, err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("%s is not a directory (symlink?)", inc)
	}
	return nil
}

func cleanIncoming(dir string) (int, error) {
	inc := filepath.Join(dir, incomingDir)
	entries, err := os.ReadDir(inc)
	if err != nil {
		return 0, fmt.Errorf("read %s: %w", inc, err)
	}
	for _, e := range entries {
		if err := os.RemoveAll(filepath.Join(inc, e.Name())); err != nil {
			return 0, fmt.Errorf("remove stale upload: %w", err)
		}
	}
	return len(entries), nil
}

// Ready is closed once Run has bound its listeners.
func (s *Server) Ready() <-chan struct{} { return s.ready }

// Addr is the plain/explicit-TLS listener's address, nil before Run bound it.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// ImplicitAddr is the implicit-TLS listener's address, nil if none or not bound yet.
func (s *Server) ImplicitAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.implAddr
}

// Run binds the listeners and serves until ctx is cancelled. On return every
// connection is closed and every upload finished or removed.
func (s *Server) Run(ctx context.Context) error {
	if !s.started.CompareAndSwap(false, true) {
		return errors.New("ftp: Run called twice")
	}
	if err := s.prepareDirs(s.accounts.Load()); err != nil {
		return err
	}
	var listeners []*ctrlListener
	closeAll := func() {
		for _, l := range listeners {
			_ = l.Listener.Close()
		}
	}
	for _, spec := range []struct {
		addr     string
		implicit bool
	}{{s.cfg.Address, false}, {s.cfg.ImplicitTLSAddress, true}} {
		if spec.addr == "" {
			continue
		}
		l, err := net.Listen("tcp", spec.addr)
		if err != nil {
			closeAll()
			return fmt.Errorf("ftp: listen %s: %w", spec.addr, err)
		}
		listeners = append(listeners, &ctrlListener{Listener: l, srv: s, implicit: spec.implicit})
	}
	var servers []*ftpserver.FtpServer
	for _, l := range listeners {
		fs := ftpserver.NewFtpServer(&mainDriver{srv: s, listener: l, implicit: l.implicit})
		fs.Logger = libLogger{l: s.log}
		if err := fs.Listen(); err != nil {
			closeAll()
			return fmt.Errorf("ftp: %w", err)
		}
		servers = append(servers, fs)
	}
	s.mu.Lock()
	s.running = true
	for _, l := range listeners {
		if l.implicit {
			s.implAddr = l.Addr()
		} else {
			s.addr = l.Addr()
		}
	}
	s.mu.Unlock()
	close(s.ready)
	s.log.Info().Stringer("addr", s.Addr()).Stringer("implicit_addr", s.ImplicitAddr()).Msg("ftp server listening")

	errc := make(chan error, len(servers))
	var serveWG sync.WaitGroup
	for _, fs := range servers {
		serveWG.Add(1)
		go func() {
			defer serveWG.Done()
			errc <- fs.Serve()
		}()
	}
	var runErr error
	select {
	case <-ctx.Done():
	case err := <-errc:
		if err != nil {
			runErr = fmt.Errorf("ftp: serve: %w", err)
		} else {
			runErr = errors.New("ftp: listener closed unexpectedly")
		}
	}
	closeAll()
	serveWG.Wait()
	s.shutdownConns()
	s.connWG.Wait()
	s.uploadWG.Wait()
	s.mu.Lock()
	s.running = false
	s.mu.Unlock()
	return runErr
}

func (s *Server) shutdownConns() {
	s.mu.Lock()
	s.closing = true
	conns := make([]*ctrlConn, 0, len(s.conns))
	for c := range s.conns {
		conns = append(conns, c)
	}
	pls := make([]*pasvListener, 0, len(s.pasvLs))
	for l := range s.pasvLs {
		pls = append(pls, l)
	}
	s.mu.Unlock()
	for _, l := range pls {
		_ = l.Close()
	}
	for _, c := range conns {
		_ = c.Close()
	}
}

func idleSeconds(d time.Duration) int {
	return int(math.Ceil(d.Seconds()))
}
