package sonicwall

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "sonicwall") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "sonicwall") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "sonicwall") }

func parse(t *testing.T, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("sonicwall", parsers.Options{})
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

const head = `id=firewall sn=0017C5A1B2C3 time="2026-01-15 10:00:00 UTC" fw=203.0.113.1 pri=6 `

func TestEndpoints(t *testing.T) {
	r := mustParse(t, head+`m=537 msg="Connection Closed" src=10.0.0.1:5000:X0:pc1.example.com dst=198.51.100.1:443:X1:www.example.com natSrc=203.0.113.1:40000 proto=tcp/https sent=10 rcvd=20 spkt=1 rpkt=2 cdur=1500`)
	if r.SourceIP.String() != "10.0.0.1" || r.SourcePort != parsers.N(5000) || r.SourceDomain != "pc1.example.com" {
		t.Errorf("source %v %v %q", r.SourceIP, r.SourcePort, r.SourceDomain)
	}
	if r.DestinationIP.String() != "198.51.100.1" || r.DestinationPort != parsers.N(443) || r.DestinationDomain != "www.example.com" {
		t.Errorf("destination %v %v %q", r.DestinationIP, r.DestinationPort, r.DestinationDomain)
	}
	if r.SourceNATIP.String() != "203.0.113.1" || r.SourceNATPort != parsers.N(40000) {
		t.Errorf("nat %v %v", r.SourceNATIP, r.SourceNATPort)
	}
	if r.SourceBytes != parsers.N(10) || r.DestinationBytes != parsers.N(20) || r.SourcePackets != parsers.N(1) || r.DestinationPackets != parsers.N(2) {
		t.Errorf("counters %v %v %v %v", r.SourceBytes, r.DestinationBytes, r.SourcePackets, r.DestinationPackets)
	}
	if r.Duration != parsers.N(1500*int64(time.Millisecond)) || r.NetworkTransport != "tcp" || r.NetworkProtocol != "https" {
		t.Errorf("duration %v transport %q protocol %q", r.Duration, r.NetworkTransport, r.NetworkProtocol)
	}
	r = mustParse(t, head+`m=537 msg="Connection Closed" src=:5000:X0 srcV6=2001:db8::1 dst=::X1:host dstV6=2001:db8::2 proto=udp/53`)
	if r.SourceIP.String() != "2001:db8::1" || r.DestinationIP.String() != "2001:db8::2" || r.SourcePort != parsers.N(5000) ||
		r.DestinationPort.Set || r.NetworkProtocol != "" || r.NetworkTransport != "udp" {
		t.Errorf("ipv6: %+v", r)
	}
}

func TestVerdictsAndSkips(t *testing.T) {
	cases := map[string]parsers.Verdict{
		`m=537 msg="Connection Closed"`:       parsers.Allowed,
		`m=98 msg="Connection Opened"`:        parsers.Allowed,
		`m=36 msg="TCP packet dropped"`:       parsers.Denied,
		`m=14 msg="Web site access denied"`:   parsers.Denied,
		`m=97 msg="Web site hit"`:             parsers.Allowed,
		`m=9999 msg="x" fw_action="drop"`:     parsers.Denied,
		`m=9999 msg="x" fw_action="forward"`:  parsers.Allowed,
		`m=609 msg="IPS Prevention Alert: x"`: parsers.Denied,
		`m=608 msg="IPS Detection Alert: x"`:  parsers.Allowed,
	}
	for kv, want := range cases {
		r := mustParse(t, head+kv+` src=10.0.0.1:1:X0 dst=198.51.100.1:80:X1`)
		if r.Verdict != want {
			t.Errorf("%s: %v", kv, r.Verdict)
		}
	}
	for _, kv := range []string{
		`m=1197 msg="NAT Mapping"`,
		`m=1382 msg="Configuration succeeded"`,
		`m=526 msg="Web management request allowed" fw_action="mgmt"`,
		`msg="Unhandled link-local packet dropped"`,
	} {
		if _, err := parse(t, head+kv+` src=10.0.0.1:1:X0 dst=198.51.100.1:80:X1`); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v", kv, err)
		}
	}
	for _, bad := range []string{`hello`, `id=firewall sn=1 time="2026-01-15 10:0`, head + `m=537 msg="x" src=garbage`} {
		if _, err := parse(t, bad); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want error, got %v", bad, err)
		}
	}
}

func TestWeb(t *testing.T) {
	r := mustParse(t, head+`m=97 msg="Web site hit" src=10.0.0.1:1:X0 dst=198.51.100.1:80:X1 dstname=www.example.com arg=/a/b?c=1 op=2 Category="News and Media" usr="Unknown (SSO failed)" appName='General HTTP'`)
	if r.Category != "web" || r.URLDomain != "www.example.com" || r.URLPath != "/a/b" || r.URLQuery != "c=1" || r.URLOriginal != "/a/b?c=1" {
		t.Errorf("url %+v", r)
	}
	if r.HTTPMethod != "POST" || r.URLCategory != "News and Media" || r.DestinationDomain != "www.example.com" {
		t.Errorf("method %q category %q domain %q", r.HTTPMethod, r.URLCategory, r.DestinationDomain)
	}
	if r.UserName != "" || r.NetworkApplication != "" {
		t.Errorf("sentinels kept: user %q app %q", r.UserName, r.NetworkApplication)
	}
}

func TestQuotingAndUsers(t *testing.T) {
	r := mustParse(t, `10.0.0.9 `+head+`m=537 msg="Connection Closed" appName='Microsoft Teams' usr="CORP\jdoe" rule="5 (LAN->WAN)" note="a=b c=d" src=10.0.0.1:1:X0 dst=198.51.100.1:80:X1`)
	if r.NetworkApplication != "Microsoft Teams" || r.UserName != "jdoe" || r.UserDomain != "CORP" || r.RuleName != "5 (LAN->WAN)" {
		t.Errorf("app %q user %q/%q rule %q", r.NetworkApplication, r.UserName, r.UserDomain, r.RuleName)
	}
	if r.SourceIP.String() != "10.0.0.1" {
		t.Errorf("quoted note leaked into keys: %v", r.SourceIP)
	}
	r = mustParse(t, head+`m=537 msg="x" usr='O'Brien' src=10.0.0.1:1:X0 dst=198.51.100.1:80:X1`)
	if r.UserName != "O'Brien" {
		t.Errorf("apostrophe: %q", r.UserName)
	}
}

func TestLocalTime(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Skip("no tzdata")
	}
	p, _ := parsers.New("sonicwall", parsers.Options{})
	var r parsers.Record
	m := parsers.Meta{Location: ny, Now: parsertest.DefaultNow}
	line := `id=firewall sn=1 time="2026-01-15 10:00:00" fw=203.0.113.1 pri=6 m=537 msg="x" src=10.0.0.1:1:X0 dst=198.51.100.1:80:X1`
	if err := parsers.ParseLine(p, line, &m, &r); err != nil {
		t.Fatal(err)
	}
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:00:00-05:00" {
		t.Errorf("local: %s", got)
	}
}

func TestDetect(t *testing.T) {
	for _, l := range parsertest.Lines(t, "sonicwall") {
		if _, err := parse(t, l); err != nil && !errors.Is(err, parsers.ErrSkip) {
			continue
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := detect(body, &h); s < 85 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	for _, l := range []string{
		`date=2026-01-15 time=10:00:00 devid="FGT60F" logid="0000000013" type="traffic" subtype="forward"`,
		`1768467600.123    245 10.0.0.1 TCP_MISS/200 5120 GET http://www.example.com/ - HIER_DIRECT/198.51.100.1 text/html`,
		`CEF:0|SonicWall|SonicOS|7.0|537|Connection Closed|3|src=10.0.0.1 dst=198.51.100.1`,
		`device="SFW" date=2026-01-15 time=10:00:00 timezone="UTC" device_name="XG" device_id=C01 log_id=010101600001`,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := detect(body, &h); s >= 50 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
	h := parsers.Header{Priority: 134}
	line := head + `m=537 msg="Connection Closed" src=10.0.0.1:1:X0 dst=198.51.100.1:80:X1`
	if s := detect(line, &h); s != 95 {
		t.Errorf("score %d", s)
	}
	if n := testing.AllocsPerRun(100, func() { detect(line, &h) }); n != 0 {
		t.Errorf("detect allocates %v", n)
	}
}

// TestZoneNotWritten: an IPv6 zone is not part of a logged address (and
// would reach the JSON unescaped).
func TestZoneNotWritten(t *testing.T) {
	r, err := parse(t, `id=firewall sn=1 time="2026-01-15 10:00:00" m=537 msg="x" src=10.0.0.1:1:X0 srcV6=fe80::1%a"b dst=198.51.100.1:1:X1`)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.AppendJSON(nil); !json.Valid(b) || r.SourceIP.Zone() != "" || r.SourceNATIP.Zone() != "" {
		t.Fatalf("zone kept: %s", b)
	}
}

// TestReviewIDs covers message ids from the SonicOS log event reference
// that describe traffic, IPv6 addresses written in place, and fw_action
// overriding the message's usual verdict.
func TestReviewIDs(t *testing.T) {
	cases := []struct {
		line string
		want parsers.Verdict
	}{
		{head + `c=1024 m=1153 msg="SSL VPN Traffic" usr="ops@example.com" src=10.99.0.5:3080:X6-V80 dst=192.168.10.20:445:X0 proto=tcp/445 rcvd=392`, parsers.Allowed},
		{head + `c=32 m=1155 msg="Application Control Prevention Alert: P2P BitTorrent" src=192.168.10.90:51413:X0 dst=203.0.113.180:6881:X1`, parsers.Denied},
		{head + `c=32 m=1154 msg="Application Control Detection Alert: PROTOCOLS HTTP -- GET" src=192.168.10.91:50000:X0 dst=203.0.113.181:80:X1`, parsers.Allowed},
		{head + `c=512 m=1233 msg="Unhandled link-local or multicast IPv6 packet dropped" srcV6=fe80::1 src=:5353:X0 dstV6=ff02::fb dst=:5353 proto=udp/5353`, parsers.Denied},
		{head + `c=16 m=1199 msg="Responder from country blocked: Narnia" src=192.168.10.92:50001:X0 dst=203.0.113.182:443:X1 proto=tcp/https`, parsers.Denied},
		{head + `c=1024 m=537 msg="Connection Closed" src=192.168.10.93:50002:X0 dst=203.0.113.183:443:X1 fw_action="drop"`, parsers.Denied},
	}
	for _, c := range cases {
		r := mustParse(t, c.line)
		if r.Verdict != c.want {
			t.Errorf("%s: verdict %v want %v", c.line[len(head):len(head)+30], r.Verdict, c.want)
		}
	}
	r := mustParse(t, head+`c=1024 m=537 msg="Connection Closed" src=2001:db8:100::51:50601:X0:ws-1 dst=2001:db8:ab::2:443:X1 proto=tcp/https sent=1 rcvd=2`)
	if r.SourceIP.String() != "2001:db8:100::51" || r.SourcePort != parsers.N(50601) || r.SourceDomain != "ws-1" ||
		r.DestinationIP.String() != "2001:db8:ab::2" || r.DestinationPort != parsers.N(443) {
		t.Fatalf("in-place IPv6: %v %v %q %v %v", r.SourceIP, r.SourcePort, r.SourceDomain, r.DestinationIP, r.DestinationPort)
	}
	if _, err := parse(t, head+`c=16 m=1080 msg="SSL VPN zone remote user login allowed" src=198.51.100.9:5000:X1 dst=203.0.113.1:4433:X1 usr="bob"`); !errors.Is(err, parsers.ErrSkip) {
		t.Fatalf("login: %v", err)
	}
}
