package ftp

import (
	"io"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jftp "github.com/jlaffaye/ftp"
)

// snapshot lists every path under root with its size, to prove nothing was
// written outside the drop folder.
func snapshot(t *testing.T, root string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		out[p] = fi.Size()
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPathTraversalRefused(t *testing.T) {
	base := t.TempDir()
	drop := filepath.Join(base, "drop")
	outside := filepath.Join(base, "outside")
	if err := os.MkdirAll(outside, 0o755); err != nil {
		t.Fatal(err)
	}
	secret := filepath.Join(outside, "secret.txt")
	if err := os.WriteFile(secret, []byte("do not touch\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ts := startServer(t, func(c *Config) { c.Accounts[0].DropDir = drop })
	// A symlink planted in the drop folder (by someone with shell access) must not be followed.
	if err := os.Symlink(secret, filepath.Join(drop, "link.log")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(drop, "linkdir")); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, base)

	c := dialRaw(t, ts.addr())
	c.login(testUser, testPass)
	c.expect(200, "TYPE I")
	for _, tc := range []struct {
		cmd  string
		want int
	}{
		{"STOR ../x", 553},
		{"STOR ../../etc/x", 553},
		{"STOR /etc/x", 553},
		{`STOR ..\x`, 553},
		{`STOR ..\..\x`, 553},
		{"STOR a/../../x", 553},
		{"APPE ../x", 553},
		{"STOR linkdir/x", 553},
		{"STOR /linkdir/x", 553},
		{"STOR link.log", 553},
		{"APPE link.log", 550},
		{"STOR .incoming", 553},
		{"STOR .incoming/x", 553},
		{"STOR x\x00y", 553},
		{"MKD ../d", 553},
		{"MKD d", 550},
		{"CWD ../..", 550},
		{"CWD /etc", 550},
		{"CWD linkdir", 550},
		{"DELE ../outside/secret.txt", 550},
		{"DELE link.log", 550},
		{"SIZE link.log", 550},
		{"SIZE ../outside/secret.txt", 550},
		{"RETR ../outside/secret.txt", 550},
		{"RNFR ../outside/secret.txt", 550},
		{"RNFR link.log", 550},
		{"SITE SYMLINK /etc/passwd p", 500},
		{"MFMT 20200101000000 link.log", 550},
	} {
		code, msg := c.cmd("%s", tc.cmd)
		if code != tc.want {
			t.Errorf("%q: got %d %q, want %d", tc.cmd, code, msg, tc.want)
		}
	}
	// RNFR of a real file, RNTO outside.
	if err := os.WriteFile(filepath.Join(drop, "mine.log"), []byte("mine\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before[filepath.Join(drop, "mine.log")] = 5
	c.expect(350, "RNFR mine.log")
	c.expect(553, "RNTO ../stolen.log")
	c.expect(350, "RNFR mine.log")
	c.expect(553, "RNTO /etc/stolen.log")
	c.expect(350, "RNFR mine.log")
	c.expect(553, `RNTO ..\stolen.log`)

	after := snapshot(t, base)
	for p, size := range after {
		if strings.HasPrefix(p, filepath.Join(drop, incomingDir)+"/") {
			t.Errorf("leftover upload %s", p)
			continue
		}
		if b, ok := before[p]; !ok || b != size {
			t.Errorf("changed: %s (%d -> %d)", p, b, size)
		}
	}
	if b, _ := os.ReadFile(secret); string(b) != "do not touch\n" {
		t.Fatalf("secret modified: %q", b)
	}
	if got := ts.rejected(t, reasonTraversal); got < 15 {
		t.Fatalf("traversal rejections = %v", got)
	}
	// The listing shows neither symlinks nor .incoming.
	j := dialJ(t, ts.addr())
	if err := j.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	entries, err := j.List("/")
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Name != "mine.log" {
		t.Fatalf("LIST = %v", entryNames(entries))
	}
}

func entryNames(es []*jftp.Entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Name)
	}
	return out
}

func TestBounceRefused(t *testing.T) {
	for _, active := range []bool{false, true} {
		ts := startServer(t, func(c *Config) { c.ActiveMode = active })
		c := dialRaw(t, ts.addr())
		c.login(testUser, testPass)
		for _, cmd := range []string{
			"PORT 127,0,0,2,39,16",     // another address
			"PORT 10,0,0,9,0,25",       // a third-party host, SMTP
			"PORT 127,0,0,1,0,22",      // own address, privileged port
			"EPRT |1|127.0.0.2|10000|", // another address
			"EPRT |2|::1|10000|",       // another address family
			"EPRT |1|127.0.0.1|25|",    // privileged port
		} {
			if code, msg := c.cmd("%s", cmd); code != 504 {
				t.Errorf("active=%v %q: %d %s", active, cmd, code, msg)
			}
		}
		if got := ts.rejected(t, reasonBounce); got != 6 {
			t.Errorf("active=%v: bounce rejections = %v", active, got)
		}
		code, _ := c.cmd("PORT 127,0,0,1,195,80")
		if active && code != 200 || !active && code != 502 {
			t.Errorf("active=%v: PORT to own address: %d", active, code)
		}
	}
}

// With active mode on, a real client uploads over PORT to its own address.
func TestActiveModeUpload(t *testing.T) {
	curl := lookPath(t, "curl")
	ts := startServer(t, func(c *Config) { c.ActiveMode = true })
	src := writeTemp(t, "squid.log", squidLog)
	runCmd(t, curl, "-sS", "--max-time", "20", "-P", "127.0.0.1", "-T", src,
		"ftp://"+testUser+":"+testPass+"@"+ts.addr()+"/active.log")
	if got := dropFiles(t, ts.drop)["active.log"]; got != squidLog {
		t.Fatalf("content %q", got)
	}
}

// A data connection from another address to a passive port is dropped; the
// real client still gets its transfer.
func TestPassiveFromOtherAddressRefused(t *testing.T) {
	ts := startServer(t, nil)
	c := dialRaw(t, ts.addr())
	c.login(testUser, testPass)
	c.expect(200, "TYPE I")
	port := c.epsv()
	c.send("STOR hijack.log")

	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 2)}, Timeout: 5 * time.Second}
	thief, err := d.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatalf("hijacker dial: %v", err)
	}
	defer thief.Close()
	_, _ = thief.Write([]byte("injected\n"))
	_ = thief.SetReadDeadline(time.Now().Add(10 * time.Second))
	if b, err := io.ReadAll(thief); isTimeout(err) || len(b) > 0 {
		t.Fatalf("hijacker connection not closed: %q %v", b, err)
	}
	waitFor(t, "passive_peer counted", 10*time.Second, func() bool { return ts.rejected(t, reasonPassivePeer) == 1 })

	data, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", itoa(port)))
	if err != nil {
		t.Fatal(err)
	}
	if code, msg := c.read(); code != 150 {
		t.Fatalf("STOR: %d %s", code, msg)
	}
	if _, err := data.Write([]byte(squidLog)); err != nil {
		t.Fatal(err)
	}
	_ = data.Close()
	if code, msg := c.read(); code != 226 {
		t.Fatalf("after upload: %d %s", code, msg)
	}
	if got := dropFiles(t, ts.drop)["hijack.log"]; got != squidLog {
		t.Fatalf("content %q", got)
	}
}

func TestBruteForceBan(t *testing.T) {
	ts := startServer(t, func(c *Config) {
		c.BanAfter = 3
		c.BanWindow = time.Minute
		c.BanDuration = 2 * time.Second
	})
	for i := 0; i < 3; i++ {
		c := dialRaw(t, ts.addr())
		c.expect(331, "USER %s", testUser)
		c.expect(530, "PASS wrong-%d", i)
	}
	if got := counter(t, ts.srv.m.bans); got != 1 {
		t.Fatalf("bans = %v", got)
	}
	bannedAt := time.Now()
	// Banned: refused at connect, even with the right password.
	conn, err := net.Dial("tcp", ts.addr())
	if err != nil {
		t.Fatal(err)
	}
	_ = conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	b, _ := io.ReadAll(conn)
	conn.Close()
	if !strings.HasPrefix(string(b), "421") {
		t.Fatalf("banned connect got %q", b)
	}
	j, err := jftp.Dial(ts.addr(), jftp.DialWithTimeout(5*time.Second))
	if err == nil {
		err = j.Login(testUser, testPass)
		_ = j.Quit()
	}
	if err == nil && time.Since(bannedAt) < 2*time.Second {
		t.Fatal("right password accepted during the ban")
	}
	if ts.rejected(t, reasonBanned) < 1 {
		t.Fatal("banned not counted")
	}
	if got := counter(t, ts.srv.m.logins.WithLabelValues("failure")); got != 3 {
		t.Fatalf("failed logins = %v", got)
	}
	// After the ban, the right password works again.
	waitFor(t, "ban to expire", 10*time.Second, func() bool { return time.Since(bannedAt) > 2*time.Second })
	c := dialRaw(t, ts.addr())
	c.login(testUser, testPass)
}
