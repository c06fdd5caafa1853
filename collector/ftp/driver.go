package ftp

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"
)

var (
	errBanned      = errors.New("too many failed logins from your address; try again later")
	errLogin       = errors.New("login incorrect")
	errTLSRequired = errors.New("this account requires TLS (AUTH TLS, or implicit FTPS)")
	errNoSession   = errors.New("unknown connection")
	errShutdown    = errors.New("server shutting down")
)

// mainDriver is the library's MainDriver for one listener.
type mainDriver struct {
	srv      *Server
	listener *ctrlListener
	implicit bool
}

var (
	_ ftpserver.MainDriver                        = (*mainDriver)(nil)
	_ ftpserver.MainDriverExtensionUserVerifier   = (*mainDriver)(nil)
	_ ftpserver.MainDriverExtensionPassiveWrapper = (*mainDriver)(nil)
)

func (d *mainDriver) GetSettings() (*ftpserver.Settings, error) {
	cfg := d.srv.cfg
	st := &ftpserver.Settings{
		Listener:                d.listener,
		PublicHost:              cfg.PublicHost,
		ActiveTransferPortNon20: true, // never bind port 20: we run unprivileged
		IdleTimeout:             idleSeconds(cfg.IdleTimeout),
		ConnectionTimeout:       dataConnTimeout,
		Banner:                  "CloudScout FTP",
		DisableSite:             true,
		DisableActiveMode:       !cfg.ActiveMode,
		DefaultTransferType:     ftpserver.TransferTypeBinary,
		// Both checks are also done by this package (conn.go); the library's
		// own checks stay on as a second line.
		ActiveConnectionsCheck: ftpserver.IPMatchRequired,
		PasvConnectionsCheck:   ftpserver.IPMatchRequired,
		TLSRequired:            ftpserver.ClearOrEncrypted,
	}
	if d.implicit {
		st.TLSRequired = ftpserver.ImplicitEncryption
	}
	if cfg.PassivePortMin > 0 {
		st.PassiveTransferPortRange = &ftpserver.PortRange{Start: cfg.PassivePortMin, End: cfg.PassivePortMax}
	}
	return st, nil
}

func (d *mainDriver) GetTLSConfig() (*tls.Config, error) {
	if d.srv.tlsConf == nil {
		return nil, errors.New("TLS is not configured")
	}
	return d.srv.tlsConf, nil
}

func (d *mainDriver) ClientConnected(cc ftpserver.ClientContext) (string, error) {
	sess := d.srv.sessionOf(cc)
	if sess == nil {
		return "Service not available", errNoSession
	}
	sess.mu.Lock()
	sess.cc = cc
	sess.mu.Unlock()
	return "CloudScout FTP ready", nil
}

func (d *mainDriver) ClientDisconnected(cc ftpserver.ClientContext) {
	if sess := d.srv.sessionOf(cc); sess != nil {
		_ = sess.ctrl.Close()
	}
}

// PreAuthUser refuses, before any password is sent, a TLS-only account on a
// plain connection and a banned address.
func (d *mainDriver) PreAuthUser(cc ftpserver.ClientContext, user string) error {
	sess := d.srv.sessionOf(cc)
	if sess == nil {
		return errNoSession
	}
	if d.srv.bans.banned(sess.ip, time.Now()) {
		d.srv.reject(reasonBanned)
		return errBanned
	}
	if a := d.srv.account(user); a != nil && a.TLSRequired && !sess.tls.Load() {
		d.srv.reject(reasonTLSRequired)
		d.srv.log.Warn().Str("user", user).Str("ip", sess.ip.String()).Msg("refused plain login for a TLS-only account")
		return errTLSRequired
	}
	return nil
}

func (d *mainDriver) AuthUser(cc ftpserver.ClientContext, user, pass string) (ftpserver.ClientDriver, error) {
	s := d.srv
	sess := s.sessionOf(cc)
	if sess == nil {
		return nil, errNoSession
	}
	now := time.Now()
	if s.bans.banned(sess.ip, now) {
		s.reject(reasonBanned)
		return nil, errBanned
	}
	a := s.account(user)
	hash := dummyHash
	if a != nil {
		hash = a.PasswordHash
	}
	// Bound the concurrent hash computations: each Argon2id run takes 19 MiB.
	s.verify <- struct{}{}
	ok := CheckPassword(hash, pass) && a != nil
	<-s.verify
	if !ok {
		s.m.logins.WithLabelValues("failure").Inc()
		ev := s.log.Warn().Str("user", user).Str("ip", sess.ip.String())
		if s.bans.fail(sess.ip, time.Now()) {
			s.m.bans.Inc()
			ev.Dur("ban", s.cfg.BanDuration).Msg("login failed; address banned")
		} else {
			ev.Msg("login failed")
		}
		return nil, errLogin
	}
	if a.TLSRequired && !sess.tls.Load() {
		s.reject(reasonTLSRequired)
		return nil, errTLSRequired
	}
	if a.TLSRequired {
		// Makes the library refuse data connections without PROT P.
		if err := cc.SetTLSRequirement(ftpserver.MandatoryEncryption); err != nil {
			return nil, fmt.Errorf("set TLS requirement: %w", err)
		}
	}
	s.bans.success(sess.ip)
	s.m.logins.WithLabelValues("success").Inc()
	sess.mu.Lock()
	sess.user = user
	sess.mu.Unlock()
	s.log.Info().Str("user", user).Str("source", a.Source).Str("ip", sess.ip.String()).Bool("tls", sess.tls.Load()).Msg("login")
	return &sessionFs{srv: s, sess: sess, user: user}, nil
}

func (d *mainDriver) WrapPassiveListener(l net.Listener) (net.Listener, error) {
	ta, ok := l.Addr().(*net.TCPAddr)
	if !ok {
		return nil, errors.New("passive listener is not TCP")
	}
	pl := &pasvListener{Listener: l, srv: d.srv, port: ta.Port}
	d.srv.mu.Lock()
	defer d.srv.mu.Unlock()
	if d.srv.closing {
		return nil, errShutdown
	}
	d.srv.pasvLs[pl] = struct{}{}
	return pl, nil
}
