package ftp

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	ftpserver "github.com/fclairamb/ftpserverlib"
)

// maxCommandLine matches the library's command buffer: longer lines are passed
// through untouched and the library disconnects the client.
const maxCommandLine = 4096

var errProtocol = errors.New("client sent data before the TLS handshake")

// session is the state this package keeps for one control connection.
type session struct {
	srv  *Server
	key  string
	ip   net.IP
	ctrl *ctrlConn

	tls       atomic.Bool  // control connection is encrypted
	want452   atomic.Bool  // rewrite the next 5xx reply to 452 (disk full / quota, temporary)
	uploading atomic.Int32 // upload handles open
	dataConns atomic.Int32 // passive data connections open
	lastData  atomic.Int64 // unix nanos of the last data movement

	mu   sync.Mutex
	cc   ftpserver.ClientContext
	user string
}

func (s *session) context() ftpserver.ClientContext {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.cc
}

// transferActive reports whether a transfer of this session moved data within d:
// the control connection must not time out while the data connection is busy.
func (s *session) transferActive(d time.Duration) bool {
	return (s.uploading.Load() > 0 || s.dataConns.Load() > 0) && time.Since(time.Unix(0, s.lastData.Load())) < d
}

func connKey(local, remote net.Addr) string {
	return local.String() + "|" + remote.String()
}

func addrIP(a net.Addr) net.IP {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.IP
	}
	host, _, err := net.SplitHostPort(a.String())
	if err != nil {
		return nil
	}
	return net.ParseIP(host)
}

// ctrlListener accepts control connections, refusing banned addresses and
// connections beyond MaxConnections before the library sees them.
type ctrlListener struct {
	net.Listener
	srv      *Server
	implicit bool
}

func (l *ctrlListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		tc, ok := conn.(*net.TCPConn)
		if !ok {
			_ = conn.Close()
			continue
		}
		ip := addrIP(tc.RemoteAddr())
		if l.srv.bans.banned(ip, time.Now()) {
			l.srv.reject(reasonBanned)
			l.refuse(tc, "421 Too many failed logins from your address; try again later.\r\n")
			continue
		}
		c := l.srv.newConn(tc, ip, l.implicit)
		if c == nil {
			l.srv.log.Warn().Stringer("remote", tc.RemoteAddr()).Int("max", l.srv.cfg.MaxConnections).Msg("connection refused: too many connections")
			l.refuse(tc, "421 Too many connections; try again later.\r\n")
			continue
		}
		return c, nil
	}
}

func (l *ctrlListener) refuse(tc *net.TCPConn, msg string) {
	if !l.implicit {
		// A fresh socket's send buffer is empty: this write does not block.
		_ = tc.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = tc.Write([]byte(msg))
	}
	_ = tc.Close()
}

func (s *Server) newConn(tc *net.TCPConn, ip net.IP, implicit bool) *ctrlConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing || len(s.conns) >= s.cfg.MaxConnections {
		return nil
	}
	c := &ctrlConn{srv: s, raw: tc, implicit: implicit, wAtLineStart: true}
	c.sess = &session{srv: s, key: connKey(tc.LocalAddr(), tc.RemoteAddr()), ip: ip, ctrl: c}
	if implicit {
		tlsConn := tls.Server(tc, s.tlsConf)
		c.cur = tlsConn
		c.br = bufio.NewReaderSize(tlsConn, maxCommandLine)
		c.sess.tls.Store(true)
	} else {
		c.cur = tc
		c.br = bufio.NewReaderSize(tc, maxCommandLine)
	}
	s.conns[c] = struct{}{}
	s.sessions[c.sess.key] = c.sess
	s.connWG.Add(1)
	s.m.conns.Inc()
	return c
}

func (s *Server) removeConn(c *ctrlConn) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.conns[c]; !ok {
		return
	}
	delete(s.conns, c)
	delete(s.sessions, c.sess.key)
	s.m.conns.Dec()
	s.connWG.Done()
}

func (s *Server) sessionOf(cc ftpserver.ClientContext) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sessions[connKey(cc.LocalAddr(), cc.RemoteAddr())]
}

func (s *Server) reject(reason string) {
	s.m.rejected.WithLabelValues(reason).Inc()
}

// ctrlConn is the control connection as the library sees it. It terminates
// TLS itself, filters commands and adjusts replies; see the package comment.
type ctrlConn struct {
	srv      *Server
	raw      *net.TCPConn
	sess     *session
	implicit bool

	cmu sync.Mutex
	cur net.Conn // raw, or the TLS connection over it

	// Read side, used only by the library's command-reading goroutine.
	br       *bufio.Reader
	acc      []byte
	pending  []byte
	pendErr  error
	longLine bool

	wmu          sync.Mutex
	wAtLineStart bool
	handshaken   bool
	handshakeErr error

	closed    atomic.Bool
	closeOnce sync.Once
}

var _ net.Conn = (*ctrlConn)(nil)

func (c *ctrlConn) current() net.Conn {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	return c.cur
}

func (c *ctrlConn) setCurrent(n net.Conn) {
	c.cmu.Lock()
	defer c.cmu.Unlock()
	c.cur = n
}

// handshakeLocked completes an implicit-TLS handshake under a deadline, so a
// client that connects and stays silent cannot hold the connection. wmu held.
func (c *ctrlConn) handshakeLocked() error {
	if !c.implicit || c.handshaken {
		return c.handshakeErr
	}
	c.handshaken = true
	tc := c.current().(*tls.Conn)
	_ = c.raw.SetDeadline(time.Now().Add(handshakeTimeout))
	if err := tc.Handshake(); err != nil {
		c.handshakeErr = fmt.Errorf("tls handshake: %w", err)
		c.srv.log.Debug().Err(err).Stringer("remote", c.raw.RemoteAddr()).Msg("implicit TLS handshake failed")
	}
	_ = c.raw.SetDeadline(time.Time{})
	return c.handshakeErr
}

func (c *ctrlConn) Read(p []byte) (int, error) {
	if c.implicit {
		c.wmu.Lock()
		err := c.handshakeLocked()
		c.wmu.Unlock()
		if err != nil {
			return 0, err
		}
	}
	for len(c.pending) == 0 {
		if c.pendErr != nil {
			err := c.pendErr
			c.pendErr = nil
			return 0, err
		}
		chunk, err := c.readChunk()
		if len(chunk) > 0 {
			out, ferr := c.filter(chunk)
			if ferr != nil {
				return 0, ferr
			}
			c.pending = out
		}
		if err != nil {
			if len(c.pending) == 0 {
				return 0, err
			}
			c.pendErr = err
		}
	}
	n := copy(p, c.pending)
	c.pending = c.pending[n:]
	return n, nil
}

// readChunk returns one command line (with its terminator) or, for an
// over-long line, a piece of it.
func (c *ctrlConn) readChunk() ([]byte, error) {
	for {
		b, err := c.br.ReadSlice('\n')
		c.acc = append(c.acc, b...)
		switch {
		case err == nil:
			return c.takeAcc(), nil
		case errors.Is(err, bufio.ErrBufferFull) || len(c.acc) >= maxCommandLine:
			c.longLine = true
			return c.takeAcc(), nil
		case isTimeout(err) && c.sess.transferActive(c.srv.cfg.IdleTimeout):
			// A transfer is flowing on the data connection: not idle.
			_ = c.raw.SetReadDeadline(time.Now().Add(c.srv.cfg.IdleTimeout))
			continue
		case isTimeout(err):
			// The library would write its timeout reply from this goroutine
			// while a transfer goroutine may write too, on an unsynchronized
			// buffer. Reply and close here instead; the library sees EOF.
			c.srv.log.Debug().Stringer("remote", c.raw.RemoteAddr()).Msg("idle timeout")
			c.reply(421, "Idle timeout; closing control connection.")
			_ = c.Close()
			c.acc = nil
			return nil, io.EOF
		default:
			return c.takeAcc(), err
		}
	}
}

func (c *ctrlConn) takeAcc() []byte {
	b := c.acc
	c.acc = nil
	return b
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// pathCommands take a path argument. Their raw argument is checked before the
// library cleans it (it would turn "../x" into "/x" silently).
var pathCommands = map[string]bool{
	"STOR": true, "STOU": true, "APPE": true, "RETR": true, "RNFR": true, "RNTO": true,
	"DELE": true, "SIZE": true, "MDTM": true, "MFMT": true, "CWD": true, "XCWD": true,
	"MKD": true, "XMKD": true, "RMD": true, "XRMD": true, "LIST": true, "NLST": true,
	"MLSD": true, "MLST": true, "STAT": true, "SITE": true, "HASH": true, "XCRC": true,
	"MD5": true, "XMD5": true, "XSHA": true, "XSHA1": true, "XSHA256": true, "XSHA512": true,
	"COMB": true, "AVBL": true,
}

// libraryCommands are the commands ftpserverlib v0.25.0 knows (server.go commandsMap).
var libraryCommands = map[string]bool{
	"USER": true, "PASS": true, "ACCT": true, "ADAT": true, "AUTH": true, "PROT": true, "PBSZ": true,
	"CCC": true, "CONF": true, "ENC": true, "MIC": true, "CLNT": true, "FEAT": true, "SYST": true,
	"NOOP": true, "OPTS": true, "QUIT": true, "AVBL": true, "ABOR": true, "CSID": true, "HELP": true,
	"HOST": true, "LANG": true, "XRSQ": true, "XSEM": true, "XSEN": true, "SIZE": true, "DSIZ": true,
	"STAT": true, "MDTM": true, "MFMT": true, "MFF": true, "MFCT": true, "RETR": true, "STOR": true,
	"STOU": true, "STRU": true, "APPE": true, "DELE": true, "RNFR": true, "RNTO": true, "ALLO": true,
	"REST": true, "SITE": true, "HASH": true, "XCRC": true, "MD5": true, "XMD5": true, "XSHA": true,
	"XSHA1": true, "XSHA256": true, "XSHA512": true, "COMB": true, "THMB": true, "XRCP": true,
	"CWD": true, "PWD": true, "XCWD": true, "XPWD": true, "CDUP": true, "NLST": true, "LIST": true,
	"MLSD": true, "MLST": true, "MKD": true, "RMD": true, "RMDA": true, "XMKD": true, "XRMD": true,
	"SMNT": true, "XCUP": true, "TYPE": true, "MODE": true, "PASV": true, "EPSV": true, "LPSV": true,
	"SPSV": true, "PORT": true, "LRPT": true, "EPRT": true, "REIN": true,
}

// knownCommand accepts the library's commands, and ABOR/STAT/QUIT preceded by
// Telnet IP/Synch bytes, which the library recognizes by suffix.
func knownCommand(cmd string) bool {
	if libraryCommands[cmd] {
		return true
	}
	return strings.HasSuffix(cmd, "ABOR") || strings.HasSuffix(cmd, "STAT") || strings.HasSuffix(cmd, "QUIT")
}

// nameCommands reply 553 (file name not allowed) rather than 550.
var nameCommands = map[string]bool{"STOR": true, "STOU": true, "APPE": true, "RNTO": true, "MKD": true, "XMKD": true}

// badPath reports a backslash, a control byte or a ".." segment.
func badPath(arg string) bool {
	for i := 0; i < len(arg); i++ {
		if b := arg[i]; b == '\\' || b < 0x20 || b == 0x7f {
			return true
		}
	}
	for _, seg := range strings.FieldsFunc(arg, func(r rune) bool { return r == '/' || r == ' ' }) {
		if seg == ".." {
			return true
		}
	}
	return false
}

// filter inspects one command line. It returns the bytes to hand to the
// library, or nil when it answered the command itself.
func (c *ctrlConn) filter(chunk []byte) ([]byte, error) {
	if c.longLine {
		if chunk[len(chunk)-1] == '\n' {
			c.longLine = false
		}
		return chunk, nil
	}
	line := strings.TrimRight(string(chunk), "\r\n")
	cmd, param, _ := strings.Cut(line, " ")
	cmd = strings.ToUpper(cmd)
	switch {
	case !knownCommand(cmd):
		// Answered here: the library answers unknown commands at once from
		// the reading goroutine, racing a running transfer's replies.
		c.reply(500, "Unknown command.")
		return nil, nil
	case cmd == "AUTH":
		return nil, c.handleAUTH(param)
	case (cmd == "PROT" || cmd == "PBSZ") && !c.sess.tls.Load():
		c.reply(503, "Use AUTH TLS first.")
		return nil, nil
	case cmd == "PORT" || cmd == "EPRT":
		if c.refuseActive(cmd, param) {
			return nil, nil
		}
	case pathCommands[cmd] && badPath(param):
		c.srv.reject(reasonTraversal)
		c.srv.log.Warn().Stringer("remote", c.raw.RemoteAddr()).Str("command", cmd).
			Str("arg", truncate(param, 200)).Msg("refused path outside the drop folder")
		code := 550
		if nameCommands[cmd] {
			code = 553
		}
		c.reply(code, "File name not allowed.")
		return nil, nil
	}
	return chunk, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

// refuseActive answers PORT/EPRT itself unless the target is the control
// peer's own address on an unprivileged port and active mode is enabled.
func (c *ctrlConn) refuseActive(cmd, param string) bool {
	ip, port, ok := parseActiveTarget(cmd, param)
	if !ok {
		return false // the library answers 501
	}
	if !ip.Equal(c.sess.ip) || port < 1024 {
		c.srv.reject(reasonBounce)
		c.srv.log.Warn().Stringer("remote", c.raw.RemoteAddr()).Str("target", net.JoinHostPort(ip.String(), strconv.Itoa(port))).
			Msg("refused active-mode data connection to another address or a privileged port (FTP bounce)")
		c.reply(504, "Refused: data connections go only to your own address and an unprivileged port.")
		return true
	}
	if !c.srv.cfg.ActiveMode {
		c.reply(502, "Active mode is disabled; use passive mode (PASV/EPSV).")
		return true
	}
	return false
}

func parseActiveTarget(cmd, param string) (net.IP, int, bool) {
	param = strings.TrimSpace(param)
	if cmd == "PORT" {
		f := strings.Split(param, ",")
		if len(f) != 6 {
			return nil, 0, false
		}
		var b [6]int
		for i, s := range f {
			v, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil || v < 0 || v > 255 {
				return nil, 0, false
			}
			b[i] = v
		}
		return net.IPv4(byte(b[0]), byte(b[1]), byte(b[2]), byte(b[3])), b[4]<<8 | b[5], true
	}
	if len(param) < 2 {
		return nil, 0, false
	}
	f := strings.Split(param, param[:1])
	if len(f) != 5 {
		return nil, 0, false
	}
	ip := net.ParseIP(f[2])
	port, err := strconv.Atoi(f[3])
	if ip == nil || err != nil || port <= 0 || port > 65535 {
		return nil, 0, false
	}
	return ip, port, true
}

func (c *ctrlConn) handleAUTH(param string) error {
	mech := strings.ToUpper(strings.TrimSpace(param))
	switch {
	case c.sess.tls.Load():
		c.reply(503, "TLS is already active.")
		return nil
	case c.srv.tlsConf == nil:
		c.reply(502, "TLS is not configured on this server.")
		return nil
	case mech != "TLS" && mech != "TLS-C" && mech != "SSL" && mech != "TLS-P":
		c.reply(504, "Unsupported security mechanism; use AUTH TLS.")
		return nil
	case c.br.Buffered() > 0:
		c.reply(503, "Commands after AUTH before the TLS handshake.")
		return errProtocol
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.writeLocked([]byte("234 AUTH command ok; expecting TLS negotiation.\r\n")); err != nil {
		return err
	}
	tc := tls.Server(c.raw, c.srv.tlsConf)
	_ = c.raw.SetDeadline(time.Now().Add(handshakeTimeout))
	err := tc.Handshake()
	_ = c.raw.SetDeadline(time.Time{})
	_ = c.raw.SetReadDeadline(time.Now().Add(c.srv.cfg.IdleTimeout))
	if err != nil {
		c.srv.log.Debug().Err(err).Stringer("remote", c.raw.RemoteAddr()).Msg("explicit TLS handshake failed")
		return fmt.Errorf("tls handshake: %w", err)
	}
	c.setCurrent(tc)
	c.br = bufio.NewReaderSize(tc, maxCommandLine)
	c.sess.tls.Store(true)
	return nil
}

// reply writes a reply of this package's own, bypassing the inspection.
func (c *ctrlConn) reply(code int, msg string) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.writeLocked([]byte(strconv.Itoa(code) + " " + msg + "\r\n"))
}

func (c *ctrlConn) writeLocked(b []byte) error {
	_ = c.raw.SetWriteDeadline(time.Now().Add(writeTimeout))
	_, err := c.current().Write(b)
	return err
}

func (c *ctrlConn) Write(p []byte) (int, error) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if err := c.handshakeLocked(); err != nil {
		return 0, err
	}
	if err := c.writeLocked(c.inspectReplies(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// inspectReplies looks at each reply line the library writes: passive-mode
// replies register the port for the control peer, and a failure reply that
// follows a disk-full or quota error becomes 452. wmu held.
func (c *ctrlConn) inspectReplies(p []byte) []byte {
	out := p
	copied := false
	atStart := c.wAtLineStart
	for i := 0; i < len(p); {
		end := bytes.IndexByte(p[i:], '\n')
		next := len(p)
		if end >= 0 {
			next = i + end + 1
		}
		if atStart {
			line := p[i:next]
			if isFinalReply(line) {
				code := string(line[:3])
				switch code {
				case "227", "229":
					if port, ok := passivePort(code, string(line)); ok {
						c.srv.expectPassive(port, c.sess)
					}
				case "550", "552", "451":
					if c.sess.want452.Load() {
						if !copied {
							out = append([]byte(nil), p...)
							copied = true
						}
						copy(out[i:], "452")
					}
				}
				c.sess.want452.Store(false)
			}
		}
		atStart = end >= 0
		i = next
	}
	c.wAtLineStart = atStart
	return out
}

func isFinalReply(line []byte) bool {
	return len(line) >= 4 && line[0] >= '1' && line[0] <= '5' &&
		line[1] >= '0' && line[1] <= '9' && line[2] >= '0' && line[2] <= '9' && line[3] == ' '
}

func passivePort(code, line string) (int, bool) {
	open := strings.IndexByte(line, '(')
	closing := strings.LastIndexByte(line, ')')
	if open < 0 || closing < open {
		return 0, false
	}
	inner := line[open+1 : closing]
	if code == "229" {
		f := strings.Split(inner, "|")
		if len(f) != 5 {
			return 0, false
		}
		p, err := strconv.Atoi(f[3])
		return p, err == nil && p > 0 && p <= 65535
	}
	f := strings.Split(inner, ",")
	if len(f) != 6 {
		return 0, false
	}
	hi, err1 := strconv.Atoi(f[4])
	lo, err2 := strconv.Atoi(f[5])
	if err1 != nil || err2 != nil || hi < 0 || hi > 255 || lo < 0 || lo > 255 {
		return 0, false
	}
	return hi<<8 | lo, true
}

// peerGone reports whether the client closed or reset the control connection.
func (c *ctrlConn) peerGone() bool {
	return c.closed.Load() || tcpPeerGone(c.raw)
}

// Close closes the socket (not a TLS close_notify: that write could block
// behind a stuck writer).
func (c *ctrlConn) Close() error {
	var err error
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		err = c.raw.Close()
		c.srv.removeConn(c)
	})
	return err
}

func (c *ctrlConn) LocalAddr() net.Addr  { return c.raw.LocalAddr() }
func (c *ctrlConn) RemoteAddr() net.Addr { return c.raw.RemoteAddr() }

// SetDeadline is what the library uses for its idle timeout: it governs reads
// only; every write gets its own deadline.
func (c *ctrlConn) SetDeadline(t time.Time) error      { return c.raw.SetReadDeadline(t) }
func (c *ctrlConn) SetReadDeadline(t time.Time) error  { return c.raw.SetReadDeadline(t) }
func (c *ctrlConn) SetWriteDeadline(_ time.Time) error { return nil }

func (s *Server) expectPassive(port int, sess *session) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pasvPeers[port] = sess
}

func (s *Server) passivePeer(port int) *session {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.pasvPeers[port]
}

// pasvListener accepts a passive data connection only from the address of the
// control connection that was told the port, and drops any other connection
// without disturbing the transfer.
type pasvListener struct {
	net.Listener
	srv       *Server
	port      int
	closeOnce sync.Once
}

func (l *pasvListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := addrIP(conn.RemoteAddr())
		sess := l.srv.passivePeer(l.port)
		if sess == nil || ip == nil || !sess.ip.Equal(ip) {
			l.srv.reject(reasonPassivePeer)
			l.srv.log.Warn().Stringer("remote", conn.RemoteAddr()).Int("port", l.port).
				Msg("refused passive data connection from an address other than the control connection's")
			_ = conn.Close()
			continue
		}
		sess.dataConns.Add(1)
		sess.lastData.Store(time.Now().UnixNano())
		return &idleConn{Conn: conn, idle: l.srv.cfg.IdleTimeout, sess: sess}, nil
	}
}

func (l *pasvListener) Close() error {
	var err error
	l.closeOnce.Do(func() {
		// Forget the port before releasing it, so a later listener on the same
		// port never sees this entry.
		l.srv.mu.Lock()
		delete(l.srv.pasvPeers, l.port)
		delete(l.srv.pasvLs, l)
		l.srv.mu.Unlock()
		err = l.Listener.Close()
	})
	return err
}

// idleConn is a data connection that fails after idle of silence, so a
// stalled upload is aborted (and its temporary file removed).
type idleConn struct {
	net.Conn
	idle      time.Duration
	sess      *session
	closeOnce sync.Once
}

func (c *idleConn) Read(p []byte) (int, error) {
	_ = c.Conn.SetReadDeadline(time.Now().Add(c.idle))
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.sess.lastData.Store(time.Now().UnixNano())
	}
	return n, err
}

func (c *idleConn) Write(p []byte) (int, error) {
	_ = c.Conn.SetWriteDeadline(time.Now().Add(c.idle))
	n, err := c.Conn.Write(p)
	if n > 0 {
		c.sess.lastData.Store(time.Now().UnixNano())
	}
	return n, err
}

func (c *idleConn) Close() error {
	c.closeOnce.Do(func() { c.sess.dataConns.Add(-1) })
	return c.Conn.Close()
}
