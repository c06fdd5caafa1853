package e2e

import (
	"bufio"
	"crypto/rand"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Acceptance 2: kill -9 while 200k records stream over TCP, then restart:
// no corrupt segment, no crash loop, every record that reached the spool
// ships once.
func TestKill9WhileStreaming(t *testing.T) {
	in := newInstance(t, opts{spool: "  segment_size: 4MiB\n  segment_age: 1h\n"})
	in.start()
	const total = 200000
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", in.syslog))
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(conn, 256<<10)
	sent := 0
	killed := false
	for sent < total {
		fmt.Fprintf(w, "<189>%s\n", fortiLine(sent, "jdoe", "10.0.0.1"))
		sent++
		if !killed && sent == total/2 {
			w.Flush()
			// Let part of it reach the spool, then pull the plug.
			in.waitFor("records flowing", 30*time.Second, func() bool {
				return in.metric("cloudscout_source_records_total") > total/4
			})
			in.kill9()
			killed = true
			break
		}
	}
	conn.Close()
	in.start()
	// What was in the spool before the kill is recovered; no crash loop.
	in.upload()
	recs, _, _ := in.shipped()
	got := seqs(t, recs)
	if len(got) == 0 {
		t.Fatal("nothing recovered from the spool")
	}
	// TCP is ordered: what reached the spool is a prefix, each record once.
	max := -1
	for s, n := range got {
		if n != 1 {
			t.Fatalf("record %d shipped %d times", s, n)
		}
		if s > max {
			max = s
		}
	}
	for s := 0; s <= max; s++ {
		if got[s] != 1 {
			t.Fatalf("record %d missing although %d reached the spool (gap)", s, max)
		}
	}
	t.Logf("%d records sent before kill -9, %d recovered and shipped once", total/2, len(got))
	if out, err := in.cli("spool", "verify"); err != nil {
		t.Fatalf("spool verify after recovery: %v\n%s", err, out)
	}
	in.stop()
}

// Acceptance 3: at the disk quota TCP senders are slowed (not dropped), UDP
// drops are counted, readiness goes red, and all recovers without restart.
func TestQuotaBackpressure(t *testing.T) {
	in := newInstance(t, opts{spool: "  quota: 1MiB\n  segment_size: 256KiB\n  segment_age: 1h\n"})
	in.start()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", in.syslog))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Random users make records compress badly, so the quota fills fast.
	const total = 60000
	done := make(chan error, 1)
	go func() {
		w := bufio.NewWriterSize(conn, 64<<10)
		for i := 0; i < total; i++ {
			b := make([]byte, 12)
			rand.Read(b)
			if _, err := fmt.Fprintf(w, "<189>%s\n", fortiLine(i, fmt.Sprintf("u%x", b), "10.0.0.1")); err != nil {
				done <- err
				return
			}
		}
		done <- w.Flush()
	}()
	in.waitFor("spool full", 60*time.Second, func() bool {
		resp, err := http.Get(in.url("/readyz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	})
	select {
	case err := <-done:
		t.Fatalf("sender finished (%v) although the spool is full: it was not slowed", err)
	case <-time.After(500 * time.Millisecond):
	}
	// UDP while full: dropped and counted.
	u, _ := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", in.syslog))
	for i := 0; i < 50; i++ {
		fmt.Fprintf(u, "<189>%s", fortiLine(900000+i, "udp", "10.0.0.2"))
	}
	u.Close()
	in.waitFor("udp drops counted", 10*time.Second, func() bool {
		return in.metric("cloudscout_source_dropped_total", `reason="spool_full"`) > 0
	})
	// Ship until the sender gets through; readiness recovers without restart.
	deadline := time.Now().Add(3 * time.Minute)
	finished := false
	for !finished && time.Now().Before(deadline) {
		in.upload()
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
			finished = true
		case <-time.After(200 * time.Millisecond):
		}
	}
	if !finished {
		t.Fatal("TCP sender never completed after uploads freed space")
	}
	in.waitFor("all TCP records accepted", 60*time.Second, func() bool {
		in.upload()
		return in.metric("cloudscout_source_records_total") >= total
	})
	in.upload()
	in.waitFor("ready again", 20*time.Second, func() bool {
		resp, err := http.Get(in.url("/readyz"))
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	recs, _, _ := in.shipped()
	got := seqs(t, recs)
	for i := 0; i < total; i++ {
		if got[i] != 1 {
			t.Fatalf("TCP record %d shipped %d times (TCP must be slowed, never dropped)", i, got[i])
		}
	}
	in.stop()
}

// rss returns the collector's resident set size in bytes.
func rss(t *testing.T, pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmRSS:") {
			f := strings.Fields(l)
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb << 10
		}
	}
	return 0
}

// Acceptance 4: hostile input leaves it running with bounded memory, each
// case counted.
func TestHostileInput(t *testing.T) {
	in := newInstance(t, opts{syslog: "  max_connections: 3000\n  max_connections_per_sender: 3000\n  idle_timeout: 1m\n"})
	in.start()
	addr := fmt.Sprintf("127.0.0.1:%d", in.syslog)
	send := func(b []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write(b)
		c.Close()
	}
	junk := make([]byte, 1<<20)
	rand.Read(junk)
	send(junk)                                                                           // random bytes
	send([]byte("<189>date=2026-01-01 \xff\xfe\xfd user=\"\xc3\x28\" x=\xed\xa0\x80\n")) // invalid UTF-8
	big := make([]byte, 10<<20)                                                          // a 10 MiB line without LF
	for i := range big {
		big[i] = 'A'
	}
	send(big)
	send([]byte("99999999999 short\n00012 abc\n5 ab\n-3 x\n")) // bad octet counts
	u, _ := net.Dial("udp", addr)
	u.Write(junk[:60000])
	u.Close()
	// 2,000 idle connections.
	var idle []net.Conn
	for i := 0; i < 2000; i++ {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("connection %d: %v", i, err)
		}
		idle = append(idle, c)
	}
	in.waitFor("connections counted", 20*time.Second, func() bool {
		return in.metric("cloudscout_syslog_connections_active") >= 2000
	})
	mem := rss(t, in.cmd.Process.Pid)
	for _, c := range idle {
		c.Close()
	}
	// Still serving: a good line after all that is parsed.
	c, _ := net.Dial("tcp", addr)
	fmt.Fprintf(c, "<189>%s\n", fortiLine(777, "alice", "10.9.9.9"))
	c.Close()
	in.waitFor("good record after hostile input", 20*time.Second, func() bool {
		return in.metric("cloudscout_source_records_total") >= 1
	})
	if in.metric("cloudscout_syslog_truncated_total") < 1 {
		t.Error("the 10 MiB line was not counted as truncated")
	}
	if in.metric("cloudscout_source_failed_total") < 1 {
		t.Error("garbage lines not counted as failed")
	}
	if mem > 400<<20 {
		t.Errorf("RSS %d MiB with 2,000 idle connections and a 10 MiB line", mem>>20)
	}
	t.Logf("RSS with 2,000 idle connections: %d MiB", mem>>20)
	in.stop()
}
