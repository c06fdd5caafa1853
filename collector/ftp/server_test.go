package ftp

import (
	"bytes"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jftp "github.com/jlaffaye/ftp"
)

func dialJ(t *testing.T, addr string, opts ...jftp.DialOption) *jftp.ServerConn {
	t.Helper()
	opts = append([]jftp.DialOption{jftp.DialWithTimeout(10 * time.Second)}, opts...)
	c, err := jftp.Dial(addr, opts...)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { _ = c.Quit() })
	return c
}

// The file appears in the drop folder only once the upload is complete, and
// its content is exact.
func TestUploadAppearsOnlyAfterCompletion(t *testing.T) {
	ts := startServer(t, nil)
	c := dialJ(t, ts.addr())
	if err := c.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- c.Stor("access.log", pr) }()

	first := strings.Repeat("2024-03-01 10:00:01 x\n", 2000)
	if _, err := pw.Write([]byte(first)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "bytes in .incoming", 10*time.Second, func() bool {
		entries, _ := os.ReadDir(filepath.Join(ts.drop, incomingDir))
		for _, e := range entries {
			if fi, err := e.Info(); err == nil && fi.Size() > 0 {
				return true
			}
		}
		return false
	})
	if files := dropFiles(t, ts.drop); len(files) != 0 {
		t.Fatalf("file visible before the upload finished: %v", files)
	}
	if _, err := pw.Write([]byte(blueCoatLog)); err != nil {
		t.Fatal(err)
	}
	_ = pw.Close()
	if err := <-errc; err != nil {
		t.Fatalf("Stor: %v", err)
	}
	files := dropFiles(t, ts.drop)
	if got := files["access.log"]; got != first+blueCoatLog {
		t.Fatalf("content mismatch: %d bytes, want %d (files %v)", len(got), len(first+blueCoatLog), len(files))
	}
	if n := incomingCount(t, ts.drop); n != 0 {
		t.Fatalf(".incoming holds %d files", n)
	}
	if got := counter(t, ts.srv.m.uploads.WithLabelValues("proxy1", "ok")); got != 1 {
		t.Fatalf("uploads ok = %v", got)
	}
	if got := counter(t, ts.srv.m.bytes.WithLabelValues("proxy1")); got != float64(len(first+blueCoatLog)) {
		t.Fatalf("bytes = %v", got)
	}

	// The device sees its file; SIZE works; downloads are not offered.
	entries, err := c.List("/")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name != "access.log" {
		t.Fatalf("LIST = %+v", entries)
	}
	if sz, err := c.FileSize("access.log"); err != nil || sz != int64(len(first+blueCoatLog)) {
		t.Fatalf("SIZE = %d, %v", sz, err)
	}
	if _, err := c.Retr("access.log"); err == nil {
		t.Fatal("RETR succeeded")
	}
}

// Uploading the same name twice keeps both files.
func TestSameNameTwiceKeepsBoth(t *testing.T) {
	ts := startServer(t, nil)
	c := dialJ(t, ts.addr())
	if err := c.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	for _, body := range []string{"first\n", "second\n"} {
		if err := c.Stor("squid.log.gz", strings.NewReader(body)); err != nil {
			t.Fatal(err)
		}
	}
	files := dropFiles(t, ts.drop)
	if files["squid.log.gz"] != "first\n" || files["squid~1.log.gz"] != "second\n" {
		t.Fatalf("files = %v", files)
	}
}

func TestExplicitAndImplicitTLS(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Accounts[0].TLSRequired = true })
	for _, tc := range []struct {
		name string
		addr string
		opt  jftp.DialOption
	}{
		{"explicit", ts.addr(), jftp.DialWithExplicitTLS(ts.pki.clientTLS())},
		{"implicit", ts.implAddr(), jftp.DialWithTLS(ts.pki.clientTLS())},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := dialJ(t, tc.addr, tc.opt)
			if err := c.Login(testUser, testPass); err != nil {
				t.Fatal(err)
			}
			name := tc.name + ".log"
			if err := c.Stor(name, strings.NewReader(squidLog)); err != nil {
				t.Fatal(err)
			}
			if got := dropFiles(t, ts.drop)[name]; got != squidLog {
				t.Fatalf("content %q", got)
			}
		})
	}
}

// TLS 1.0/1.1 clients are refused.
func TestOldTLSRefused(t *testing.T) {
	ts := startServer(t, nil)
	cfg := ts.pki.clientTLS()
	cfg.MinVersion, cfg.MaxVersion = tls10, tls11
	conn, err := net.DialTimeout("tcp", ts.implAddr(), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := tlsClientHandshake(conn, cfg); err == nil {
		t.Fatal("TLS 1.1 handshake succeeded")
	}
}

func TestTLSRequiredAccount(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.Accounts[0].TLSRequired = true })

	// Plain: refused at USER, before a password crosses the wire.
	c := dialRaw(t, ts.addr())
	code, msg := c.cmd("USER %s", testUser)
	if code != 530 || !strings.Contains(msg, "TLS") {
		t.Fatalf("plain USER: %d %s", code, msg)
	}
	if ts.rejected(t, reasonTLSRequired) != 1 {
		t.Fatal("tls_required not counted")
	}

	// TLS control, but a clear data channel (no PROT P): refused, nothing stored.
	c = dialRaw(t, ts.addr())
	c.authTLS(ts.pki.clientTLS())
	c.login(testUser, testPass)
	c.expect(200, "TYPE I")
	port := c.epsv()
	c.send("STOR clear.log")
	data, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err == nil {
		defer data.Close()
	}
	code, msg = c.read()
	if code < 400 {
		t.Fatalf("STOR without PROT P: %d %s", code, msg)
	}
	if files := dropFiles(t, ts.drop); len(files) != 0 {
		t.Fatalf("stored %v", files)
	}
	if n := incomingCount(t, ts.drop); n != 0 {
		t.Fatalf(".incoming holds %d files", n)
	}
}

// A temp name renamed by the device ends up once, under its final name.
func TestTempNameThenRename(t *testing.T) {
	ts := startServer(t, nil)
	c := dialJ(t, ts.addr())
	if err := c.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	if err := c.Stor("access.log.tmp", strings.NewReader(squidLog)); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename("access.log.tmp", "access.log"); err != nil {
		t.Fatal(err)
	}
	files := dropFiles(t, ts.drop)
	if len(files) != 1 || files["access.log"] != squidLog {
		t.Fatalf("files = %v", files)
	}
	// Renaming onto an existing name keeps both.
	if err := c.Stor("b.tmp", strings.NewReader("other\n")); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename("b.tmp", "access.log"); err != nil {
		t.Fatal(err)
	}
	files = dropFiles(t, ts.drop)
	if files["access.log"] != squidLog || files["access~1.log"] != "other\n" || len(files) != 2 {
		t.Fatalf("files = %v", files)
	}
	if err := c.Delete("access~1.log"); err != nil {
		t.Fatal(err)
	}
	if _, ok := dropFiles(t, ts.drop)["access~1.log"]; ok {
		t.Fatal("DELE did not delete")
	}
}

// ABOR during a transfer leaves nothing behind.
func TestAbortedUploadLeavesNothing(t *testing.T) {
	ts := startServer(t, nil)
	c := dialRaw(t, ts.addr())
	c.login(testUser, testPass)
	c.expect(200, "TYPE I")
	port := c.epsv()
	c.send("STOR aborted.log")
	data, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	if code, msg := c.read(); code != 150 {
		t.Fatalf("STOR: %d %s", code, msg)
	}
	if _, err := data.Write(bytes.Repeat([]byte("partial line\n"), 1000)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "partial data on disk", 10*time.Second, func() bool { return incomingBytes(ts.drop) > 0 })
	c.send("ABOR")
	// 426 for the aborted transfer (when the library saw it open) then 226 for ABOR.
	for {
		code, msg := c.read()
		if code == 226 && strings.Contains(msg, "ABOR") {
			break
		}
		if code != 426 && code != 451 && code != 550 {
			t.Fatalf("after ABOR: %d %s", code, msg)
		}
	}
	waitFor(t, "temp removed", 10*time.Second, func() bool { return incomingCount(t, ts.drop) == 0 })
	if files := dropFiles(t, ts.drop); len(files) != 0 {
		t.Fatalf("aborted upload stored: %v", files)
	}
	waitFor(t, "aborted counted", 5*time.Second, func() bool {
		return counter(t, ts.srv.m.uploads.WithLabelValues("proxy1", "aborted")) == 1
	})
}

// A client that dies mid-upload (control and data connections closed, as the
// kernel does for a killed process) leaves nothing to parse, even though its
// data connection ended with a normal FIN.
func TestClientDiesMidUpload(t *testing.T) {
	ts := startServer(t, nil)
	c := dialRaw(t, ts.addr())
	c.login(testUser, testPass)
	c.expect(200, "TYPE I")
	port := c.epsv()
	c.send("STOR died.log")
	data, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := c.read(); code != 150 {
		t.Fatalf("STOR: %d %s", code, msg)
	}
	if _, err := data.Write([]byte("half a file\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "partial data on disk", 10*time.Second, func() bool { return incomingBytes(ts.drop) > 0 })
	// A dying process's sockets close together; here the control connection
	// first, and data once the server has seen that.
	_ = c.conn.Close()
	waitFor(t, "control connection closed", 10*time.Second, func() bool { return counter(t, ts.srv.m.conns) == 0 })
	_ = data.Close()
	waitFor(t, "upload discarded", 10*time.Second, func() bool {
		return counter(t, ts.srv.m.uploads.WithLabelValues("proxy1", "aborted")) == 1
	})
	if files := dropFiles(t, ts.drop); len(files) != 0 {
		t.Fatalf("partial upload stored: %v", files)
	}
	if n := incomingCount(t, ts.drop); n != 0 {
		t.Fatalf(".incoming holds %d files", n)
	}
}

func incomingBytes(drop string) int64 {
	entries, _ := os.ReadDir(filepath.Join(drop, incomingDir))
	var n int64
	for _, e := range entries {
		if fi, err := e.Info(); err == nil {
			n += fi.Size()
		}
	}
	return n
}

func TestFileSizeLimitAndQuota(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.Accounts[0].MaxFileBytes = 1000
		c.Accounts[0].QuotaBytes = 1500
	})
	c := dialJ(t, ts.addr())
	if err := c.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	err := c.Stor("big.log", bytes.NewReader(bytes.Repeat([]byte("x"), 5000)))
	if err == nil || !strings.Contains(err.Error(), "552") {
		t.Fatalf("oversized upload: %v", err)
	}
	if err := c.Stor("ok.log", bytes.NewReader(bytes.Repeat([]byte("y"), 900))); err != nil {
		t.Fatal(err)
	}
	// 900 stored + 900 more exceeds the 1500-byte quota: temporary refusal.
	err = c.Stor("over.log", bytes.NewReader(bytes.Repeat([]byte("z"), 900)))
	if err == nil || !strings.Contains(err.Error(), "452") {
		t.Fatalf("over-quota upload: %v", err)
	}
	files := dropFiles(t, ts.drop)
	if len(files) != 1 || len(files["ok.log"]) != 900 {
		t.Fatalf("files = %v", len(files))
	}
	if n := incomingCount(t, ts.drop); n != 0 {
		t.Fatalf(".incoming holds %d files", n)
	}
	if got := ts.rejected(t, reasonQuota); got != 2 {
		t.Fatalf("quota rejections = %v", got)
	}
}

func TestDiskFullAnswers452(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MinFreeDiskBytes = 1 << 60 })
	c := dialJ(t, ts.addr())
	if err := c.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	err := c.Stor("a.log", strings.NewReader(squidLog))
	if err == nil || !strings.Contains(err.Error(), "452") {
		t.Fatalf("upload on a full disk: %v", err)
	}
	if ts.rejected(t, reasonDiskFull) != 1 {
		t.Fatal("disk_full not counted")
	}
	if files := dropFiles(t, ts.drop); len(files) != 0 {
		t.Fatalf("stored %v", files)
	}
	// The session is still usable.
	if err := c.NoOp(); err != nil {
		t.Fatal(err)
	}
}

func TestMaxConnections(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.MaxConnections = 2 })
	dialRaw(t, ts.addr())
	dialRaw(t, ts.addr())
	conn, err := net.Dial("tcp", ts.addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(conn)
	if !strings.HasPrefix(string(b), "421") {
		t.Fatalf("third connection got %q", b)
	}
}

// An idle control connection is closed; an upload that keeps sending data
// outlives the idle timeout; a stalled upload is aborted and removed.
func TestIdleTimeouts(t *testing.T) {
	ts := startServer(t, func(c *Config) { c.IdleTimeout = time.Second })

	idle := dialRaw(t, ts.addr())
	code, _, err := idle.tryRead()
	if err != nil || code != 421 {
		t.Fatalf("idle connection: %d %v", code, err)
	}

	c := dialJ(t, ts.addr())
	if err := c.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	go func() {
		for i := 0; i < 8; i++ {
			if _, err := pw.Write([]byte("slow line\n")); err != nil {
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
		_ = pw.Close()
	}()
	if err := c.Stor("slow.log", pr); err != nil {
		t.Fatalf("slow upload: %v", err)
	}
	if got := dropFiles(t, ts.drop)["slow.log"]; got != strings.Repeat("slow line\n", 8) {
		t.Fatalf("slow upload content %q", got)
	}

	r := dialRaw(t, ts.addr())
	r.login(testUser, testPass)
	r.expect(200, "TYPE I")
	port := r.epsv()
	r.send("STOR stalled.log")
	data, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	defer data.Close()
	if _, err := data.Write([]byte("then nothing\n")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "stalled upload discarded", 15*time.Second, func() bool {
		return counter(t, ts.srv.m.uploads.WithLabelValues("proxy1", "aborted")) == 1
	})
	if _, ok := dropFiles(t, ts.drop)["stalled.log"]; ok {
		t.Fatal("stalled upload stored")
	}
}

// Accounts change without dropping sessions; a removed account cannot upload.
func TestSetAccountsHotReload(t *testing.T) {
	ts := startServer(t, nil)
	c := dialJ(t, ts.addr())
	if err := c.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	drop2 := filepath.Join(t.TempDir(), "drop2")
	err := ts.srv.SetAccounts([]Account{{Source: "fw2", User: "fw2", PasswordHash: fastHash(t, "pw2"), DropDir: drop2}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.NoOp(); err != nil {
		t.Fatalf("session dropped by reload: %v", err)
	}
	if err := c.Stor("after.log", strings.NewReader("x\n")); err == nil {
		t.Fatal("removed account could still upload")
	}
	c2 := dialJ(t, ts.addr())
	if err := c2.Login("fw2", "pw2"); err != nil {
		t.Fatal(err)
	}
	if err := c2.Stor("fw2.log", strings.NewReader("y\n")); err != nil {
		t.Fatal(err)
	}
	if got := dropFiles(t, drop2)["fw2.log"]; got != "y\n" {
		t.Fatalf("fw2 upload %q", got)
	}
	if err := ts.srv.SetAccounts([]Account{{Source: "a", User: "x", PasswordHash: "plaintext", DropDir: drop2}}); err == nil {
		t.Fatal("plaintext password accepted")
	}
}

func TestStaleIncomingRemovedAtStart(t *testing.T) {
	drop := filepath.Join(t.TempDir(), "drop")
	if err := os.MkdirAll(filepath.Join(drop, incomingDir), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(drop, incomingDir, "leftover"), []byte("torn"), 0o600); err != nil {
		t.Fatal(err)
	}
	startServer(t, func(c *Config) { c.Accounts[0].DropDir = drop })
	if n := incomingCount(t, drop); n != 0 {
		t.Fatalf(".incoming holds %d files after start", n)
	}
}

func TestConfigValidation(t *testing.T) {
	pki := newTestPKI(t)
	good := Account{Source: "s", User: "u", PasswordHash: fastHash(t, "p"), DropDir: "/tmp/x"}
	for name, cfg := range map[string]Config{
		"no address":         {Accounts: []Account{good}},
		"plaintext password": {Address: ":0", Accounts: []Account{{Source: "s", User: "u", PasswordHash: "hunter2", DropDir: "/tmp/x"}}},
		"relative dir":       {Address: ":0", Accounts: []Account{{Source: "s", User: "u", PasswordHash: good.PasswordHash, DropDir: "x"}}},
		"duplicate user":     {Address: ":0", Accounts: []Account{good, good}},
		"tls without cert":   {Address: ":0", Accounts: []Account{{Source: "s", User: "u", PasswordHash: good.PasswordHash, DropDir: "/x", TLSRequired: true}}},
		"implicit no cert":   {Address: ":0", ImplicitTLSAddress: ":0"},
		"shared dir":         {Address: ":0", Accounts: []Account{good, {Source: "t", User: "v", PasswordHash: good.PasswordHash, DropDir: "/tmp/x"}}},
		"bad passive range":  {Address: ":0", PassivePortMin: 60000, PassivePortMax: 50000},
		"ipv6 public host":   {Address: ":0", PublicHost: "::1"},
		"bad cert":           {Address: ":0", CertFile: pki.keyFile, KeyFile: pki.keyFile},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

func TestPassivePortRangeAndPublicHost(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.PassivePortMin, c.PassivePortMax = 47310, 47329
		c.PublicHost = "192.0.2.10" // only announced; no connection goes there
	})
	c := dialRaw(t, ts.addr())
	c.login(testUser, testPass)
	for i := 0; i < 5; i++ {
		if p := c.epsv(); p < 47310 || p > 47329 {
			t.Fatalf("EPSV port %d outside the range", p)
		}
	}
	if msg := c.expect(227, "PASV"); !strings.Contains(msg, "(192,0,2,10,") {
		t.Fatalf("PASV reply %q does not announce the public host", msg)
	}
}
