package https_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/uploader"
	"github.com/cloudscout/cloudscout/uploader/internal/uptest"
)

// startTinyproxy runs the real tinyproxy (apt package tinyproxy) with basic
// auth on 127.0.0.1; the test is skipped where it is not installed.
func startTinyproxy(t *testing.T, user, pwd string) string {
	t.Helper()
	bin, err := exec.LookPath("tinyproxy")
	if err != nil {
		t.Skip("tinyproxy not installed (apt-get install tinyproxy)")
	}
	dir := t.TempDir()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	conf := fmt.Sprintf(`Port %d
Listen 127.0.0.1
Timeout 30
MaxClients 20
Allow 127.0.0.1
BasicAuth %s %s
LogLevel Info
DisableViaHeader Yes
`, port, user, pwd)
	confPath := filepath.Join(dir, "tinyproxy.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-d", "-c", confPath)
	var out syncBuffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("tinyproxy output:\n%s", out.String())
		}
	})
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("tinyproxy did not start: %v\n%s", err, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestTinyproxy(t *testing.T) {
	addr := startTinyproxy(t, "svc", "pr0xy-pw")
	ca := uptest.NewCA(t, "test-ca")
	caFile := ca.WriteFile(t, t.TempDir())
	rv := newReceiver(t, nil)
	srv := tlsServer(t, ca, rv, nil)
	mk := func(name, proxy string) uploader.Target {
		s, err := uploader.NewSink(srv.URL+"/in", uploader.SinkOptions{CAFile: caFile, TokenFile: tokenFile(t), ProxyURL: proxy})
		if err != nil {
			t.Fatal(err)
		}
		return uploader.Target{Name: name, Sink: s}
	}
	pwFile := filepath.Join(t.TempDir(), "proxy-pw")
	if err := os.WriteFile(pwFile, []byte("pr0xy-pw\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	fromFile, err := uploader.NewSink(srv.URL+"/in", uploader.SinkOptions{CAFile: caFile, TokenFile: tokenFile(t),
		ProxyURL: "http://svc@" + addr, ProxyPasswordFile: pwFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := uploader.TestTargets(ctx, "c1", []uploader.Target{
		mk("good", "http://svc:pr0xy-pw@"+addr),
		mk("bad", "http://svc:wrong@"+addr),
		{Name: "pwfile", Sink: fromFile},
	})
	for _, r := range res {
		t.Logf("%s ok=%v class=%s: %s", r.Target, r.OK, r.Class, r.Explanation)
		if strings.Contains(r.Explanation+r.Error+r.Sink, "pr0xy-pw") {
			t.Errorf("%s: proxy password leaked", r.Target)
		}
	}
	if !res[0].OK || !res[2].OK {
		t.Fatalf("upload through tinyproxy failed: %+v / %+v", res[0], res[2])
	}
	// tinyproxy 1.11 answers a CONNECT with bad credentials 401, not 407.
	if res[1].OK || res[1].Class != "proxy_auth" || !strings.Contains(res[1].Explanation, "requires authentication") {
		t.Fatalf("wrong proxy password: %+v", res[1])
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if len(rv.stored) != 2 {
		t.Fatalf("receiver stored %d test batches, want 2", len(rv.stored))
	}
}
