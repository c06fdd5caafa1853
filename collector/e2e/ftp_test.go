package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/collector/ftp"
)

// freeRange finds n consecutive free TCP ports on 127.0.0.1.
func freeRange(t *testing.T, n int) int {
	t.Helper()
	for base := 41000 + os.Getpid()%5000; base < 64000; base += n {
		ok := true
		for p := base; p < base+n; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				break
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free port range")
	return 0
}

// Issue 4 acceptance 1: curl and lftp upload Squid logs over FTP and over
// explicit and implicit FTPS to a running collector; the records appear in
// the next shipped batch and the files move to the archive.
func TestFTPUploadsShip(t *testing.T) {
	curl := needTool(t, "curl")
	lftp := needTool(t, "lftp")
	hash, err := ftp.HashPassword("s3cret-pass")
	if err != nil {
		t.Fatal(err)
	}
	ftpPort, implicitPort := freePort(t), freePort(t)
	pasv := freeRange(t, 10)
	probe := t.TempDir()
	cert, key := writeCert(t, probe)
	in := newInstance(t, opts{
		top: fmt.Sprintf(`ftp:
  listen: 127.0.0.1:%d
  implicit_tls: 127.0.0.1:%d
  cert: %s
  key: %s
  passive_ports: %d-%d
  public_host: 127.0.0.1
`, ftpPort, implicitPort, cert, key, pasv, pasv+9),
		extraSources: fmt.Sprintf(`  - name: proxy
    format: squid
    ftp:
      user: proxyftp
      tls: optional
      password_hash: "%s"
`, hash),
	})
	in.start()
	src := filepath.Join(in.dir, "upload")
	os.MkdirAll(src, 0o755)
	lines := []string{
		"1768467600.123    245 10.10.1.25 TCP_MISS/200 5123 GET http://www.example.com/index.html jdoe HIER_DIRECT/198.51.100.10 text/html",
		"1768467601.456  60012 10.10.1.26 TCP_TUNNEL/200 48213 CONNECT outlook.office.example.com:443 CORP%5Cjdoe HIER_DIRECT/203.0.113.44 -",
		"1768467602.001      0 10.10.1.30 TCP_DENIED/403 3850 GET http://games.example.net/play?level=3 - HIER_NONE/- text/html",
	}
	files := map[string]int{}
	write := func(name string, n int) string {
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(lines[i%len(lines)] + "\n")
		}
		p := filepath.Join(src, name)
		os.WriteFile(p, []byte(b.String()), 0o644)
		files[name] = n
		return p
	}
	run := func(name string, args ...string) {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %v: %v\n%s", name, args, err, out)
		}
	}
	user := "proxyftp:s3cret-pass"
	run(curl, "-sS", "-T", write("plain.log", 30), fmt.Sprintf("ftp://%s@127.0.0.1:%d/", user, ftpPort))
	run(curl, "-sS", "--ssl-reqd", "-k", "-T", write("explicit.log", 40), fmt.Sprintf("ftp://%s@127.0.0.1:%d/", user, ftpPort))
	run(curl, "-sS", "-k", "-T", write("implicit.log", 50), fmt.Sprintf("ftps://%s@127.0.0.1:%d/", user, implicitPort))
	run(lftp, "-c", fmt.Sprintf("set ftp:ssl-force true; set ssl:verify-certificate no; set net:max-retries 1; open -u proxyftp,s3cret-pass -p %d 127.0.0.1; put %s", ftpPort, write("lftp.log", 60)))
	total := 0
	for _, n := range files {
		total += n
	}
	in.waitFor("all uploaded lines spooled", 60*time.Second, func() bool {
		return in.metric("cloudscout_source_records_total", `source="proxy"`) >= float64(total)
	})
	in.upload()
	recs, _, _ := in.shipped()
	n := 0
	for _, r := range recs {
		if get(r, "labels.source") == "proxy" {
			n++
			if u, ok := get(r, "user.name").(string); ok && !strings.HasPrefix(u, "tok:") {
				t.Fatalf("user not pseudonymized: %v", r)
			}
		}
	}
	if n != total {
		t.Fatalf("%d proxy records shipped, %d lines uploaded", n, total)
	}
	archive := filepath.Join(in.dir, "data", "archive", "proxy")
	in.waitFor("files archived", 20*time.Second, func() bool {
		ents, _ := os.ReadDir(archive)
		return len(ents) >= len(files)
	})
	if ents, _ := os.ReadDir(filepath.Join(in.dir, "data", "drop", "proxy")); len(visible(ents)) != 0 {
		t.Fatalf("drop folder not emptied: %v", ents)
	}
	in.stop()
}

func visible(ents []os.DirEntry) []string {
	var out []string
	for _, e := range ents {
		if !strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}
