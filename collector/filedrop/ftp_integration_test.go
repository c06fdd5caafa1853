package filedrop

import (
	"context"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/collector/ftp"
	jftp "github.com/jlaffaye/ftp"
	"golang.org/x/crypto/bcrypt"
)

// Devices upload over FTP (curl, lftp, jlaffaye/ftp); the watcher delivers
// each completed file once and archives it. Temporary names and an aborted
// upload are never read.
func TestFTPUploadsAreProcessedOnce(t *testing.T) {
	d := newDirs(t)
	hash, err := bcrypt.GenerateFromPassword([]byte("pw"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := ftp.New(ftp.Config{
		Address:          "127.0.0.1:0",
		MinFreeDiskBytes: -1,
		Accounts:         []ftp.Account{{Source: "proxy1", User: "dev", PasswordHash: string(hash), DropDir: d.in}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("ftp Run: %v", err)
		}
	})
	select {
	case <-srv.Ready():
	case err := <-done:
		t.Fatal(err)
	}
	addr := srv.Addr().String()

	sink := &recSink{}
	f := d.folder() // StableFor -1: FTP files appear complete
	startWatcher(t, Config{Folders: []Folder{f}, StateDir: d.state, Sink: sink})

	squid := strings.Repeat("1709287201.123    120 10.1.2.3 TCP_MISS/200 5120 GET http://www.example.com/ jdoe HIER_DIRECT/93.184.216.34 text/html\n", 300)
	c, err := jftp.Dial(addr, jftp.DialWithTimeout(10*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Quit() }()
	if err := c.Login("dev", "pw"); err != nil {
		t.Fatal(err)
	}
	// Temporary name, then rename: read once, under the final name.
	if err := c.Stor("squid.log.part", strings.NewReader(squid)); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename("squid.log.part", "squid.log"); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"squid.log": squid}
	if curl, err := exec.LookPath("curl"); err == nil {
		src := filepath.Join(t.TempDir(), "bluecoat.log")
		writeFile(t, src, []byte(w3cSample))
		out, err := exec.Command(curl, "-sS", "--max-time", "20", "-T", src, "ftp://dev:pw@"+addr+"/").CombinedOutput()
		if err != nil {
			t.Fatalf("curl: %v %s", err, out)
		}
		want["bluecoat.log"] = w3cSample
	}
	if lftp, err := exec.LookPath("lftp"); err == nil {
		src := filepath.Join(t.TempDir(), "lftp.log")
		writeFile(t, src, []byte(squid))
		_, port, _ := net.SplitHostPort(addr)
		cmd := exec.Command(lftp, "-c", "set net:max-retries 1; set cmd:fail-exit true; set ftp:ssl-allow false; open -u dev,pw -p "+port+" 127.0.0.1; put "+src+" -o lftp.log")
		cmd.Env = append(os.Environ(), "HOME="+t.TempDir())
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("lftp: %v %s", err, out)
		}
		want["lftp.log"] = squid
	}
	// An aborted upload: data connection opened, some bytes, then the client vanishes.
	abortUpload(t, addr)

	// Once .incoming is empty the aborted upload's fate is sealed; had it
	// been kept, the folder or the archive would hold one file too many.
	waitFor(t, "uploads archived", 20*time.Second, func() bool {
		return len(listDir(t, filepath.Join(d.in, ".incoming"))) == 0 &&
			len(listDir(t, d.archive)) == len(want) && len(listDir(t, d.in)) == 1 // only .incoming
	})
	opens, _, committed := sink.snapshot()
	if len(opens) != len(want) {
		t.Fatalf("opened %v", opens)
	}
	for name, content := range want {
		sameLines(t, linesOf(committed, filepath.Join(d.in, name)), expectLines(content, 0))
	}
}

func abortUpload(t *testing.T, addr string) {
	t.Helper()
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	buf := make([]byte, 4096)
	read := func() string {
		n, _ := conn.Read(buf)
		return string(buf[:n])
	}
	send := func(s string) string {
		_, _ = conn.Write([]byte(s + "\r\n"))
		return read()
	}
	read()
	send("USER dev")
	send("PASS pw")
	send("TYPE I")
	reply := send("EPSV")
	i, j := strings.Index(reply, "(|||"), strings.LastIndex(reply, "|)")
	if i < 0 || j < i {
		t.Fatalf("EPSV: %q", reply)
	}
	data, err := net.Dial("tcp", "127.0.0.1:"+reply[i+4:j])
	if err != nil {
		t.Fatal(err)
	}
	if r := send("STOR aborted.log"); !strings.HasPrefix(r, "150") {
		t.Fatalf("STOR: %q", r)
	}
	_, _ = data.Write([]byte("partial line without end"))
	_ = conn.Close()
	_ = data.Close()
}
