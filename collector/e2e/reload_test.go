package e2e

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// Issue 4: the running collector picks up source changes on 'cloudscout
// reload' without dropping connections of unchanged sources.
func TestReloadKeepsConnections(t *testing.T) {
	in := newInstance(t, opts{})
	in.start()
	conn, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", in.syslog))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "<189>%s\n", fortiLine(1, "alice", "10.0.0.1"))
	in.waitFor("first record", 20*time.Second, func() bool {
		return in.metric("cloudscout_source_records_total", `source="fw"`) >= 1
	})
	newPort := freePort(t)
	out, err := in.cli("source", "add", "--config", in.cfgPath, "--format", "fortigate", "--listen", fmt.Sprintf("udp://127.0.0.1:%d", newPort), "branch")
	if err != nil {
		t.Fatalf("source add: %v\n%s", err, out)
	}
	out, err = in.cli("reload")
	if err != nil || !strings.Contains(out, "started listener udp://127.0.0.1:") {
		t.Fatalf("reload: %v\n%s", err, out)
	}
	// The old connection still works, and the new listener feeds the new source.
	fmt.Fprintf(conn, "<189>%s\n", fortiLine(2, "alice", "10.0.0.1"))
	u, err := net.Dial("udp", fmt.Sprintf("127.0.0.1:%d", newPort))
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(u, "<189>%s", fortiLine(3, "bob", "10.0.0.2"))
	u.Close()
	in.waitFor("records after reload", 20*time.Second, func() bool {
		return in.metric("cloudscout_source_records_total", `source="fw"`) >= 2 &&
			in.metric("cloudscout_source_records_total", `source="branch"`) >= 1
	})
	// A broken file is refused; the running configuration stays.
	out, err = in.cli("source", "add", "--config", in.cfgPath, "--format", "nosuchformat", "--listen", "udp://127.0.0.1:1", "bad")
	if err == nil || !strings.Contains(out, "nosuchformat") {
		t.Fatalf("invalid source accepted: %s", out)
	}
	fmt.Fprintf(conn, "<189>%s\n", fortiLine(4, "alice", "10.0.0.1"))
	in.waitFor("old connection alive", 20*time.Second, func() bool {
		return in.metric("cloudscout_source_records_total", `source="fw"`) >= 3
	})
	in.stop()
}
