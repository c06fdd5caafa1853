package meraki_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/meraki"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, meraki.Name) }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, meraki.Name) }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, meraki.Name) }

func parse(t *testing.T, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New(meraki.Name, parsers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r parsers.Record
	err = parsers.ParseLine(p, line, &parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow}, &r)
	return r, err
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestFlowVerdicts(t *testing.T) {
	cases := []struct {
		line    string
		verdict parsers.Verdict
		rule    string
	}{
		{`<134>1 1773306900.123456789 MX84 flows src=10.0.0.5 dst=203.0.113.53 mac=58:1F:AA:CE:61:F2 protocol=udp sport=55719 dport=53 pattern: allow all`, parsers.Allowed, "all"},
		// inbound rules: 1 = deny, 0 = allow (Meraki syslog documentation)
		{`<134>1 1773306901.2 MX84 flows src=198.51.100.7 dst=203.0.113.2 protocol=tcp sport=42644 dport=3389 pattern: 1 all`, parsers.Denied, "all"},
		{`<134>1 1773306902.3 MX84 flows src=198.51.100.8 dst=203.0.113.2 protocol=tcp sport=39247 dport=443 pattern: 0 (tcp || udp) && dst port 443`, parsers.Allowed, "(tcp || udp) && dst port 443"},
		{`<134>1 1773306903.4 MX84 flows allow src=10.0.0.6 dst=203.0.113.80 protocol=tcp sport=51000 dport=443`, parsers.Allowed, ""},
		{`<134>1 1773306904.5 MX84 firewall deny src=10.0.0.7 dst=198.51.100.99 protocol=tcp sport=61822 dport=8080`, parsers.Denied, ""},
		{`<134>1 1773306906.7 MX84 vpn_firewall src=10.0.0.5 dst=10.20.0.9 protocol=tcp sport=50123 dport=445 pattern: deny (dst 10.20.0.0/16)`, parsers.Denied, "(dst 10.20.0.0/16)"},
	}
	for _, c := range cases {
		r, err := parse(t, c.line)
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		if r.Verdict != c.verdict || r.RuleName != c.rule || r.Category != "network" {
			t.Errorf("%s:\n verdict %v rule %q category %q", c.line, r.Verdict, r.RuleName, r.Category)
		}
		if !r.SourceIP.IsValid() || !r.DestinationIP.IsValid() || !r.SourcePort.Set || !r.DestinationPort.Set {
			t.Errorf("%s: endpoints missing", c.line)
		}
	}
}

func TestFlowFields(t *testing.T) {
	r, err := parse(t, `<134>1 1773306900.123456789 MX84-HQ flows src=10.0.0.5 dst=203.0.113.53 mac=58:1F:AA:CE:61:F2 protocol=udp sport=55719 dport=53 pattern: allow all`)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Unix(1773306900, 123456789).UTC(); !r.Timestamp.Equal(want) {
		t.Errorf("time %v, want %v (epoch, UTC)", r.Timestamp, want)
	}
	if r.SourceIP != ip("10.0.0.5") || r.SourcePort.V != 55719 || r.DestinationIP != ip("203.0.113.53") || r.DestinationPort.V != 53 || r.NetworkTransport != "udp" {
		t.Errorf("%v:%v -> %v:%v %q", r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort, r.NetworkTransport)
	}
	if r.SourceMAC != "58:1F:AA:CE:61:F2" || r.ObserverHostname != "MX84-HQ" || r.ObserverProduct != "Meraki MX" {
		t.Errorf("mac %q host %q product %q", r.SourceMAC, r.ObserverHostname, r.ObserverProduct)
	}
	if r.SourceBytes.Set || r.DestinationBytes.Set || r.NetworkBytes.Set || r.NetworkApplication != "" {
		t.Error("Meraki flows carry no bytes or application")
	}
	r, err = parse(t, `<134>1 1773306910.1 MX84 ip_flow_end src=198.51.100.20 dst=10.0.0.30 protocol=udp sport=56391 dport=53 translated_dst_ip=203.0.113.2 translated_port=53`)
	if err != nil || r.DestinationNATIP != ip("203.0.113.2") || r.DestinationNATPort.V != 53 || r.SourceNATIP.IsValid() || r.Verdict != parsers.Allowed || r.EventAction != "ip_flow_end" {
		t.Errorf("ip_flow_end: %v nat %v:%v src nat %v verdict %v action %q", err, r.DestinationNATIP, r.DestinationNATPort, r.SourceNATIP, r.Verdict, r.EventAction)
	}
	r, err = parse(t, `<134>1 1773306909.0 MX84 ip_flow_start src=10.0.0.5 dst=203.0.113.40 protocol=tcp sport=64365 dport=443 translated_src_ip=198.51.100.1 translated_port=40000`)
	if err != nil || r.SourceNATIP != ip("198.51.100.1") || r.SourceNATPort.V != 40000 || r.DestinationNATIP.IsValid() {
		t.Errorf("ip_flow_start: %v nat %v:%v", err, r.SourceNATIP, r.SourceNATPort)
	}
}

func TestURLs(t *testing.T) {
	r, err := parse(t, `<134>1 1773306912.3 MX84 urls src=10.0.0.6:55566 dst=203.0.113.81:443 mac=00:18:0A:12:34:56 agent='Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0' request: UNKNOWN https://docs.example.com/a?b=c`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.0.0.6") || r.SourcePort.V != 55566 || r.DestinationIP != ip("203.0.113.81") || r.DestinationPort.V != 443 {
		t.Errorf("%v:%v -> %v:%v", r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort)
	}
	if r.UserAgent != "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0" {
		t.Errorf("agent %q", r.UserAgent)
	}
	if r.HTTPMethod != "" || r.URLDomain != "docs.example.com" || r.URLQuery != "b=c" || r.Category != "web" || r.Verdict != parsers.Allowed {
		t.Errorf("method %q domain %q query %q category %q verdict %v", r.HTTPMethod, r.URLDomain, r.URLQuery, r.Category, r.Verdict)
	}
	for _, c := range []struct{ line, src, dst string }{
		{`<134>1 1773306913.4 MX84 urls src=[2001:db8:1::25]:51000 dst=[2001:db8:abcd::80]:80 mac=58:1F:AA:CE:61:F2 request: POST http://api.example.com/v1/upload`, "2001:db8:1::25", "2001:db8:abcd::80"},
		{`<134>1 1773306914.5 MX84 urls src=2001:db8:1::26:51001 dst=2001:db8:abcd::81:80 mac=58:1F:AA:CE:61:F2 request: GET http://www.example.com/`, "2001:db8:1::26", "2001:db8:abcd::81"},
	} {
		r, err := parse(t, c.line)
		if err != nil || r.SourceIP != ip(c.src) || r.DestinationIP != ip(c.dst) || !r.SourcePort.Set || r.DestinationPort.V != 80 {
			t.Errorf("%s: %v %v:%v -> %v:%v", c.line, err, r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort)
		}
	}
}

// Without a syslog header, or behind a relay's BSD header, the epoch and
// device stay in the body.
func TestHeaderForms(t *testing.T) {
	for _, l := range []string{
		`1773306916.723456789 MX84-BRANCH flows src=192.168.10.254 dst=203.0.113.53 protocol=udp sport=9562 dport=53 pattern: allow all`,
		`<134>Mar 12 09:15:15 192.0.2.10 1 1773306916.723456789 MX84-BRANCH flows src=192.168.10.254 dst=203.0.113.53 protocol=udp sport=9562 dport=53 pattern: allow all`,
	} {
		r, err := parse(t, l)
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if want := time.Unix(1773306916, 723456789).UTC(); !r.Timestamp.Equal(want) || r.ObserverHostname != "MX84-BRANCH" {
			t.Errorf("%s: time %v host %q", l, r.Timestamp, r.ObserverHostname)
		}
	}
}

func TestSkipAndErrors(t *testing.T) {
	for _, l := range []string{
		`<134>1 1773306920.0 MX84 events type=vpn_connectivity_change vpn_type='site-to-site' connectivity='true'`,
		`<134>1 1773306921.0 MX84 events dhcp lease of ip 10.0.0.77 from mx mac 58:1F:AA:CE:61:F2`,
		`<134>1 1773306922.0 MX84 security_event ids_alerted signature=1:41944:2 src=198.51.100.5:80 dst=10.0.0.5:61019`,
		`<134>1 1773306923.0 MX84 airmarshal_events type=ssid_spoofing_detected ssid='Guest'`,
		// A type this parser does not know, after Meraki's header: skipped.
		`<134>1 1773306926.0 MX84 strange_type foo=bar`,
		`<134>Original Address=192.0.2.44 1 1773306926.0 MX84 appliance_uplink_change uplink='wan2'`,
	} {
		if _, err := parse(t, l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v, want ErrSkip", l, err)
		}
	}
	for _, l := range []string{
		`<134>1 1773306924.0 MX84 flows src=10.0.0.5 protocol=tcp sport=1 dport=2 pattern: allow all`,
		`<134>1 1773306925.0 MX84 urls src=10.0.0.5:1 dst=203.0.113.1:80 mac=58:1F:AA:CE:61:F2`,
		`hello world`,
		`strange_type foo=bar`,
	} {
		if _, err := parse(t, l); !errors.Is(err, meraki.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	info, _ := parsers.Lookup(meraki.Name)
	for _, l := range parsertest.Lines(t, meraki.Name) {
		if _, err := parse(t, l); errors.Is(err, meraki.ErrMalformed) {
			continue
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		min := 80
		if strings.Contains(l, "strange_type") || strings.Contains(l, "appliance_uplink_change") {
			min = 40 // unknown types: claimed weakly, then skipped
		}
		if s := info.Detect(body, &h); s < min {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	for _, l := range []string{
		`<14>1 2026-03-12T09:15:00Z srx1 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 source-address="10.0.0.1"]`,
		`<189>date=2026-01-15 time=10:00:00 devname="fw" devid="FG100E" logid="0000000013" type="traffic" src=10.0.0.1`,
		`1700000000.123    100 10.0.0.1 TCP_MISS/200 1234 GET http://example.com/ - DIRECT/203.0.113.5 text/html`,
		`<134>1 2026-03-12T09:15:28+01:00 fw.example.com filterlog 4242 - - 82,,,x,vtnet0,match,pass,out,4`,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := info.Detect(body, &h); s > 20 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
}
