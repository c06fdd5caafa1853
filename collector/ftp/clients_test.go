package ftp

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func lookPath(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		t.Skipf("%s not installed", name)
	}
	return p
}

func writeTemp(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func runCmd(t *testing.T, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
	done := make(chan struct{})
	timer := time.AfterFunc(60*time.Second, func() {
		if cmd.Process != nil {
			_ = cmd.Process.Kill()
		}
		close(done)
	})
	out, err := cmd.CombinedOutput()
	if !timer.Stop() {
		<-done
	}
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestCurlUploads(t *testing.T) {
	curl := lookPath(t, "curl")
	ts := startServer(t, nil)
	bc := writeTemp(t, "bluecoat.log", blueCoatLog)
	sq := writeTemp(t, "squid.log", squidLog)
	userpass := testUser + ":" + testPass
	cafile := ts.pki.certFile

	runCmd(t, curl, "-sS", "--max-time", "20", "-T", bc, "ftp://"+userpass+"@"+ts.addr()+"/")
	runCmd(t, curl, "-sS", "--max-time", "20", "--ssl-reqd", "--cacert", cafile, "-T", sq,
		"ftp://"+userpass+"@"+ts.addr()+"/explicit-squid.log")
	runCmd(t, curl, "-sS", "--max-time", "20", "--ssl-reqd", "-k", "-T", bc,
		"ftp://"+userpass+"@"+ts.addr()+"/explicit-bluecoat.log")
	runCmd(t, curl, "-sS", "--max-time", "20", "--cacert", cafile, "-T", sq,
		"ftps://"+userpass+"@"+ts.implAddr()+"/implicit-squid.log")

	files := dropFiles(t, ts.drop)
	want := map[string]string{
		"bluecoat.log":          blueCoatLog,
		"explicit-squid.log":    squidLog,
		"explicit-bluecoat.log": blueCoatLog,
		"implicit-squid.log":    squidLog,
	}
	for name, content := range want {
		if files[name] != content {
			t.Errorf("%s: got %q", name, files[name])
		}
	}
	if len(files) != len(want) {
		t.Errorf("files = %v", len(files))
	}
}

func TestCurlRefusesPlainOnTLSOnlyAccount(t *testing.T) {
	curl := lookPath(t, "curl")
	ts := startServer(t, func(c *Config) { c.Accounts[0].TLSRequired = true })
	src := writeTemp(t, "a.log", squidLog)
	cmd := exec.Command(curl, "-sS", "--max-time", "20", "-T", src, "ftp://"+testUser+":"+testPass+"@"+ts.addr()+"/")
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Fatalf("plain upload to a TLS-only account succeeded: %s", out)
	}
	if files := dropFiles(t, ts.drop); len(files) != 0 {
		t.Fatalf("stored %v", files)
	}
}

func TestLftpUploads(t *testing.T) {
	lftp := lookPath(t, "lftp")
	ts := startServer(t, nil)
	bc := writeTemp(t, "bluecoat.log", blueCoatLog)
	sq := writeTemp(t, "squid.log", squidLog)
	common := "set net:max-retries 1; set net:timeout 15; set cmd:fail-exit true; "
	auth := testUser + "," + testPass

	runCmd(t, lftp, "-c", common+"set ftp:ssl-allow false; open -u "+auth+" -p "+ts.port()+" 127.0.0.1; put "+bc+" -o plain-bluecoat.log")
	runCmd(t, lftp, "-c", common+"set ftp:ssl-force true; set ftp:ssl-protect-data true; set ssl:verify-certificate no; open -u "+auth+" -p "+ts.port()+" 127.0.0.1; put "+sq+" -o explicit-squid.log; put "+bc+" -o explicit-bluecoat.log")
	runCmd(t, lftp, "-c", common+"set ssl:ca-file "+ts.pki.certFile+"; set ssl:check-hostname false; open -u "+auth+" ftps://"+ts.implAddr()+"; put "+sq+" -o implicit-squid.log")
	// Temp name then rename, as some firewalls do.
	runCmd(t, lftp, "-c", common+"set ftp:ssl-force true; set ssl:verify-certificate no; open -u "+auth+" -p "+ts.port()+" 127.0.0.1; put "+sq+" -o renamed.log.part; mv renamed.log.part renamed.log")

	files := dropFiles(t, ts.drop)
	want := map[string]string{
		"plain-bluecoat.log":    blueCoatLog,
		"explicit-squid.log":    squidLog,
		"explicit-bluecoat.log": blueCoatLog,
		"implicit-squid.log":    squidLog,
		"renamed.log":           squidLog,
	}
	for name, content := range want {
		if files[name] != content {
			t.Errorf("%s: got %q", name, files[name])
		}
	}
	if len(files) != len(want) {
		t.Errorf("files: %v", keys(files))
	}
}

func keys(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// A curl killed with SIGKILL in the middle of an upload leaves nothing to parse.
func TestCurlKilledMidUpload(t *testing.T) {
	curl := lookPath(t, "curl")
	ts := startServer(t, nil)
	src := writeTemp(t, "big.log", strings.Repeat(squidLog, 20000))
	cmd := exec.Command(curl, "-sS", "--limit-rate", "200k", "-T", src,
		"ftp://"+testUser+":"+testPass+"@"+ts.addr()+"/killed.log")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "upload in progress", 15*time.Second, func() bool { return incomingBytes(ts.drop) > 0 })
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	waitFor(t, "upload discarded", 15*time.Second, func() bool {
		return counter(t, ts.srv.m.uploads.WithLabelValues("proxy1", "aborted")) == 1
	})
	if files := dropFiles(t, ts.drop); len(files) != 0 {
		t.Fatalf("partial upload stored: %v", keys(files))
	}
	if n := incomingCount(t, ts.drop); n != 0 {
		t.Fatalf(".incoming holds %d files", n)
	}
}
