package ftp

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	jftp "github.com/jlaffaye/ftp"
	"golang.org/x/crypto/bcrypt"
)

// Environment of the re-executed child server.
const (
	childDropEnv = "CLOUDSCOUT_FTP_CHILD_DROP"
	childAddrEnv = "CLOUDSCOUT_FTP_CHILD_ADDR"
)

func TestMain(m *testing.M) {
	if os.Getenv(childDropEnv) != "" {
		os.Exit(runChildServer())
	}
	os.Exit(m.Run())
}

// runChildServer serves one account until killed, after publishing its address.
func runChildServer() int {
	h, err := bcrypt.GenerateFromPassword([]byte(testPass), bcrypt.MinCost)
	if err != nil {
		return 2
	}
	srv, err := New(Config{
		Address:          "127.0.0.1:0",
		MinFreeDiskBytes: -1,
		Accounts:         []Account{{Source: "proxy1", User: testUser, PasswordHash: string(h), DropDir: os.Getenv(childDropEnv)}},
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Run(context.Background()) }()
	select {
	case <-srv.Ready():
	case err := <-errc:
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	addrFile := os.Getenv(childAddrEnv)
	if err := os.WriteFile(addrFile+".tmp", []byte(srv.Addr().String()), 0o600); err != nil {
		return 2
	}
	if err := os.Rename(addrFile+".tmp", addrFile); err != nil {
		return 2
	}
	fmt.Fprintln(os.Stderr, <-errc)
	return 1
}

func startChild(t *testing.T, drop string) (*exec.Cmd, string) {
	t.Helper()
	addrFile := filepath.Join(t.TempDir(), "addr")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childDropEnv+"="+drop, childAddrEnv+"="+addrFile)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var addr string
	waitFor(t, "child server address", 20*time.Second, func() bool {
		b, err := os.ReadFile(addrFile)
		addr = string(b)
		return err == nil
	})
	return cmd, addr
}

// kill -9 of the server during an upload: the files that got 226 are intact,
// the interrupted one never appears, and the restart clears its remains.
func TestServerKilledMidUpload(t *testing.T) {
	drop := filepath.Join(t.TempDir(), "drop")
	child, addr := startChild(t, drop)
	defer func() { _ = child.Process.Kill() }()

	c, err := jftp.Dial(addr, jftp.DialWithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	done := strings.Repeat(squidLog, 1000)
	if err := c.Stor("done.log", strings.NewReader(done)); err != nil {
		t.Fatal(err)
	}
	pr, pw := io.Pipe()
	errc := make(chan error, 1)
	go func() { errc <- c.Stor("partial.log", pr) }()
	go func() {
		for {
			if _, err := pw.Write([]byte(squidLog)); err != nil {
				return
			}
		}
	}()
	waitFor(t, "upload in progress", 20*time.Second, func() bool { return incomingBytes(drop) > 64<<10 })
	if err := child.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = child.Wait()
	if err := <-errc; err == nil {
		t.Fatal("interrupted upload reported success")
	}
	_ = pw.Close()

	files := dropFiles(t, drop)
	if len(files) != 1 || files["done.log"] != done {
		t.Fatalf("after kill: %v", keys(files))
	}

	child2, addr2 := startChild(t, drop)
	defer func() { _ = child2.Process.Kill(); _ = child2.Wait() }()
	if n := incomingCount(t, drop); n != 0 {
		t.Fatalf(".incoming holds %d files after restart", n)
	}
	c2, err := jftp.Dial(addr2, jftp.DialWithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c2.Quit() }()
	if err := c2.Login(testUser, testPass); err != nil {
		t.Fatal(err)
	}
	if err := c2.Stor("partial.log", strings.NewReader(squidLog)); err != nil {
		t.Fatal(err)
	}
	files = dropFiles(t, drop)
	if len(files) != 2 || files["done.log"] != done || files["partial.log"] != squidLog {
		t.Fatalf("after retry: %v", keys(files))
	}
}
