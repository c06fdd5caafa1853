package watchguard

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "watchguard") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "watchguard") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "watchguard") }

func parse(t *testing.T, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("watchguard", parsers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r parsers.Record
	m := parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow}
	err = parsers.ParseLine(p, line, &m, &r)
	return r, err
}

func mustParse(t *testing.T, line string) parsers.Record {
	t.Helper()
	r, err := parse(t, line)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return r
}

const hdr = `<142>Jan 15 10:00:00 fbx 801B0A1B2C3D4 (2026-01-15T10:00:00) firewall: `

// TestCounterDirection pins the byte orientation: Fireware counts from the
// initiator, as WatchGuard's own example of a denied ping shows (one
// 84-byte echo request: sent_bytes=84, rcvd_bytes=0).
func TestCounterDirection(t *testing.T) {
	r := mustParse(t, hdr+`msg_id="3000-0148" Deny 3-Trusted Firebox 84 icmp 20 64 10.0.1.131 10.0.1.1 8 0 duration="0" sent_pkts="1" rcvd_pkts="0" sent_bytes="84" rcvd_bytes="0" (Ping-00)`)
	if r.SourceBytes != parsers.N(84) || r.DestinationBytes != parsers.N(0) || r.SourcePackets != parsers.N(1) {
		t.Fatalf("ping: source %v destination %v packets %v", r.SourceBytes, r.DestinationBytes, r.SourcePackets)
	}
	if r.SourcePort.Set || r.DestinationPort.Set || r.NetworkTransport != "icmp" || r.Verdict != parsers.Denied {
		t.Fatalf("icmp: %+v", r)
	}
	r = mustParse(t, hdr+`msg_id="1AFF-0024" Allow 1-Trusted 0-External tcp 10.0.1.2 198.51.100.1 40000 80 msg="HTTP request" op="GET" dstname="www.example.com" arg="/index.html" sent_bytes="176" rcvd_bytes="51700" (HTTP-proxy-00)`)
	if r.SourceBytes != parsers.N(176) || r.DestinationBytes != parsers.N(51700) {
		t.Fatalf("proxy: source %v destination %v", r.SourceBytes, r.DestinationBytes)
	}
	if r.Category != "web" || r.URLDomain != "www.example.com" || r.URLPath != "/index.html" || r.HTTPMethod != "GET" || r.DestinationDomain != "www.example.com" {
		t.Fatalf("proxy fields: %+v", r)
	}
}

func TestPositionalForms(t *testing.T) {
	cases := []struct{ body, src, dst, proto, rule string }{
		{`Allow 1-Trusted 0-External 60 tcp 20 64 10.0.0.1 198.51.100.1 5000 443 offset 10 S 1 win 2 (HTTPS-00)`, "10.0.0.1", "198.51.100.1", "tcp", "HTTPS-00"},
		{`Allow 1-Trusted 0-External tcp 10.0.0.1 198.51.100.1 5000 443 (Any policy-00)`, "10.0.0.1", "198.51.100.1", "tcp", "Any policy-00"},
		{`Allow Trusted External 40 udp 10.0.0.1 198.51.100.1 5000 443`, "10.0.0.1", "198.51.100.1", "udp", ""},
		{`Allow Trusted External tcp 2001:db8::1 2001:db8::2 5000 443 (v6-00)`, "2001:db8::1", "2001:db8::2", "tcp", "v6-00"},
	}
	for _, c := range cases {
		r := mustParse(t, hdr+`msg_id="3000-0148" `+c.body)
		if r.SourceIP.String() != c.src || r.DestinationIP.String() != c.dst || r.NetworkTransport != c.proto || r.RuleName != c.rule {
			t.Errorf("%s: %v %v %q %q", c.body, r.SourceIP, r.DestinationIP, r.NetworkTransport, r.RuleName)
		}
		if r.SourcePort != parsers.N(5000) || r.DestinationPort != parsers.N(443) {
			t.Errorf("%s: ports %v %v", c.body, r.SourcePort, r.DestinationPort)
		}
	}
}

func TestHeaderForms(t *testing.T) {
	body := `msg_id="3000-0151" Allow 1-Trusted 0-External tcp 10.0.0.1 198.51.100.1 5000 443 sent_bytes="1" rcvd_bytes="2" (X-00)`
	r := mustParse(t, `<142>Jan 15 10:00:00 fbx 801B0A1B2C3D4 Member2 (2026-01-14T23:59:59) firewall[12]: `+body)
	if r.ObserverSerial != "801B0A1B2C3D4" || r.ObserverHostname != "fbx" || r.Timestamp.Format(time.RFC3339) != "2026-01-14T23:59:59Z" {
		t.Errorf("cluster form: %q %q %s", r.ObserverSerial, r.ObserverHostname, r.Timestamp)
	}
	r = mustParse(t, `<142>Jan 15 10:00:00 fbx firewall: `+body)
	if r.ObserverSerial != "" || r.Timestamp.Format(time.RFC3339) != "2026-01-15T10:00:00Z" {
		t.Errorf("short form: %q %s", r.ObserverSerial, r.Timestamp)
	}
	mustParse(t, body) // bare body
}

func TestUsersAndQuotes(t *testing.T) {
	r := mustParse(t, hdr+`msg_id="3000-0151" Allow A B tcp 10.0.0.1 198.51.100.1 1 2 src_user="CORP\jdoe" msg="say \"hi\" now" app_name="Slack" (P-00)`)
	if r.UserName != "jdoe" || r.UserDomain != "CORP" || r.NetworkApplication != "Slack" {
		t.Errorf("user %q/%q app %q", r.UserName, r.UserDomain, r.NetworkApplication)
	}
	r = mustParse(t, hdr+`msg_id="3000-0151" Allow A B tcp 10.0.0.1 198.51.100.1 1 2 src_user="jdoe@example.com" (P-00)`)
	if r.UserName != "jdoe@example.com" || r.UserDomain != "" {
		t.Errorf("upn %q %q", r.UserName, r.UserDomain)
	}
}

func TestSkipsAndErrors(t *testing.T) {
	for _, l := range []string{
		hdr + `msg_id="3E00-0002" Authentication of Firebox-DB user [admin@Firebox-DB] from 10.0.1.5 was accepted`,
		`<134>Jan 15 10:01:50 fbx 801B0A1B2C3D4 (2026-01-15T10:01:50) kernel: eth0: link up`,
	} {
		if _, err := parse(t, l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: %v", l, err)
		}
	}
	for _, l := range []string{
		`hello world`,
		hdr + `msg_id="3000-0151" Allow 1-Trusted 0-External tcp 10.0.1.`,
		hdr + `msg_id="3000-0151`,
		hdr + `msg_id="3000-0151" Allow a b c d e f g h i`,
	} {
		if _, err := parse(t, l); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want error, got %v", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, l := range parsertest.Lines(t, "watchguard") {
		if _, err := parse(t, l); err != nil && !errors.Is(err, parsers.ErrSkip) {
			continue
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := detect(body, &h); s < 90 && strings.Contains(l, "msg_id") {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	for _, l := range []string{
		`date=2026-01-15 time=10:00:00 devid="FGT60F" logid="0000000013" type="traffic" subtype="forward"`,
		`id=firewall sn=0017C5A1B2C3 time="2026-01-15 10:00:00" fw=203.0.113.1 pri=6 m=537 msg="Connection Closed"`,
		`msg_id="hello" Allow`,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := detect(body, &h); s >= 50 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
	h := parsers.Header{Priority: 142}
	if s := detect(`801B0A1B2C3D4 (2026-01-15T10:01:50) kernel: eth0: link up`, &h); s < 50 || s >= 90 {
		t.Errorf("kernel line scored %d", s)
	}
	if s := detect(`HELLOWORLD12 is not a firebox`, &h); s != 0 {
		t.Errorf("serial-like word scored %d", s)
	}
	line := `801B0A1B2C3D4 (2026-01-15T10:00:00) firewall: msg_id="3000-0148" Allow 1-Trusted 0-External 60 tcp 20 64 10.0.1.20 203.0.113.10 52344 443`
	if n := testing.AllocsPerRun(100, func() { detect(line, &h) }); n != 0 {
		t.Errorf("detect allocates %v", n)
	}
}

// TestZoneNotWritten: an IPv6 zone is not part of a logged address (and
// would reach the JSON unescaped).
func TestZoneNotWritten(t *testing.T) {
	r, err := parse(t, `msg_id="3000-0151" Allow a b tcp fe80::1 198.51.100.1 1 2 src_ip_nat="fe80::2%x\"y"`)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.AppendJSON(nil); !json.Valid(b) || r.SourceIP.Zone() != "" || r.SourceNATIP.Zone() != "" {
		t.Fatalf("zone kept: %s", b)
	}
}

// TestMonitorForm: the Traffic Monitor / Log Server text form (WatchGuard
// "Read a Log Message") carries the same facts in another order.
func TestMonitorForm(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	p, _ := parsers.New("watchguard", parsers.Options{})
	var r parsers.Record
	m := parsers.Meta{Location: berlin, Now: parsertest.DefaultNow}
	line := `2026-03-29 18:00:54 Member1 Allow 10.0.4.7 198.51.100.11 http/tcp 50333 80 Trusted External Allowed (HTTP-proxy.2-00) proc_id="firewall" rc="406" msg_id="3000-0176" src_ip_nat="198.51.100.10" flags="SDdF" duration="9" sent_pkts="12" rcvd_pkts="30" sent_bytes="901" rcvd_bytes="40210"`
	if err := parsers.ParseLine(p, line, &m, &r); err != nil {
		t.Fatal(err)
	}
	if r.Verdict != parsers.Allowed || r.SourceIP.String() != "10.0.4.7" || r.SourcePort != parsers.N(50333) ||
		r.DestinationIP.String() != "198.51.100.11" || r.DestinationPort != parsers.N(80) || r.NetworkTransport != "tcp" ||
		r.SourceNATIP.String() != "198.51.100.10" || r.SourceBytes != parsers.N(901) || r.DestinationBytes != parsers.N(40210) ||
		r.RuleName != "HTTP-proxy.2-00" || r.Category != "web" {
		t.Fatalf("monitor form: %s", r.AppendJSON(nil))
	}
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-03-29T18:00:54+02:00" {
		t.Fatalf("time %s", got)
	}
	r = mustParse(t, `2026-04-02 07:12:03 Deny 10.0.4.9 10.0.4.1 echo-request/icmp Trusted Firebox Denied 84 63 (Ping-00) proc_id="firewall" rc="101" msg_id="3000-0148" type="8" duration="0" sent_pkts="1" rcvd_pkts="0" sent_bytes="84" rcvd_bytes="0"`)
	if r.Verdict != parsers.Denied || r.NetworkTransport != "icmp" || r.SourcePort.Set || r.SourceBytes != parsers.N(84) || r.RuleName != "Ping-00" {
		t.Fatalf("monitor icmp: %s", r.AppendJSON(nil))
	}
	if _, err := parse(t, `2026-04-02 07:12:03 Deny 10.0.4.9 msg_id="3000-0148"`); err == nil || errors.Is(err, parsers.ErrSkip) {
		t.Fatalf("truncated monitor line: %v", err)
	}
}
