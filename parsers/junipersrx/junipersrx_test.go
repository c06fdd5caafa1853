package junipersrx_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/junipersrx"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, junipersrx.Name) }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, junipersrx.Name) }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, junipersrx.Name) }

func parse(t *testing.T, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New(junipersrx.Name, parsers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r parsers.Record
	err = parsers.ParseLine(p, line, &parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow}, &r)
	return r, err
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestStructuredClose(t *testing.T) {
	r, err := parse(t, `<14>1 2026-03-12T09:17:30.456+01:00 srx1 RT_FLOW - RT_FLOW_SESSION_CLOSE [junos@2636.1.1.1.2.129 reason="TCP FIN" source-address="10.0.0.5" source-port="51000" destination-address="203.0.113.10" destination-port="443" service-name="junos-https" nat-source-address="198.51.100.1" nat-source-port="40001" nat-destination-address="203.0.113.10" nat-destination-port="443" protocol-id="6" policy-name="allow-web" packets-from-client="42" bytes-from-client="6120" packets-from-server="57" bytes-from-server="71480" elapsed-time="150" application="SSL" nested-application="OFFICE365-CREATE-CONVERSATION" username="CORP\\jdoe" roles="N/A" application-category="Web" application-risk="2"]`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.0.0.5") || r.SourcePort.V != 51000 || r.DestinationIP != ip("203.0.113.10") || r.DestinationPort.V != 443 {
		t.Errorf("endpoints %v:%v -> %v:%v", r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort)
	}
	if r.SourceNATIP != ip("198.51.100.1") || r.SourceNATPort.V != 40001 || r.DestinationNATIP.IsValid() {
		t.Errorf("nat %v:%v / %v", r.SourceNATIP, r.SourceNATPort, r.DestinationNATIP)
	}
	// bytes-from-client is the upload, bytes-from-server the download.
	if r.SourceBytes.V != 6120 || r.DestinationBytes.V != 71480 || r.SourcePackets.V != 42 || r.DestinationPackets.V != 57 || r.NetworkBytes.Set {
		t.Errorf("counters %v %v %v %v", r.SourceBytes, r.DestinationBytes, r.SourcePackets, r.DestinationPackets)
	}
	if r.UserName != "jdoe" || r.UserDomain != "CORP" {
		t.Errorf("user %q %q (SD escape \\\\ not undone?)", r.UserName, r.UserDomain)
	}
	if r.NetworkApplication != "OFFICE365-CREATE-CONVERSATION" || r.NetworkTransport != "tcp" || r.RuleName != "allow-web" {
		t.Errorf("app %q transport %q rule %q", r.NetworkApplication, r.NetworkTransport, r.RuleName)
	}
	if r.Verdict != parsers.Allowed || r.EventAction != "close" || r.Duration.V != 150*int64(time.Second) {
		t.Errorf("verdict %v action %q duration %v", r.Verdict, r.EventAction, r.Duration)
	}
	if want := time.Date(2026, 3, 12, 8, 17, 30, 456e6, time.UTC); !r.Timestamp.Equal(want) {
		t.Errorf("time %v", r.Timestamp)
	}
	if r.ObserverHostname != "srx1" || r.AppCategory != "Web" || r.AppRisk != "2" {
		t.Errorf("host %q category %q risk %q", r.ObserverHostname, r.AppCategory, r.AppRisk)
	}
}

// junos-https is a service (a port); UNKNOWN/None applications are absent.
func TestServiceIsNotApp(t *testing.T) {
	r, err := parse(t, `<14>1 2026-03-12T09:15:00Z srx1 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 source-address="10.0.0.5" source-port="51000" destination-address="203.0.113.10" destination-port="443" service-name="junos-https" protocol-id="6" policy-name="p" username="N/A" application="UNKNOWN" nested-application="None"]`)
	if err != nil {
		t.Fatal(err)
	}
	if r.NetworkApplication != "" || r.NetworkProtocol != "" || r.UserName != "" {
		t.Errorf("app %q protocol %q user %q", r.NetworkApplication, r.NetworkProtocol, r.UserName)
	}
	r, err = parse(t, `<14>1 2026-03-12T09:15:00Z srx1 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 source-address="10.0.0.5" destination-address="203.0.113.10" protocol-id="17" application="DNS" nested-application="UNKNOWN"]`)
	if err != nil || r.NetworkApplication != "DNS" || r.NetworkTransport != "udp" {
		t.Errorf("application fallback: %v %q %q", err, r.NetworkApplication, r.NetworkTransport)
	}
}

func TestBrief(t *testing.T) {
	cases := []struct {
		line           string
		action         string
		src, dst, nat  string
		sport, dport   int64
		up, down       int64
		user, app, pol string
	}{
		{`<14>Mar 12 09:20:00 srx2 RT_FLOW: RT_FLOW_SESSION_CREATE: session created 10.0.0.6/52000->203.0.113.20/443 0x0 junos-https 198.51.100.1/40002->203.0.113.20/443 0x0 source rule internet-pat N/A N/A 6 allow-web trust untrust 400300 EXAMPLE\bob(N/A) ge-0/0/1.0 UNKNOWN UNKNOWN UNKNOWN N/A N/A -1 N/A`,
			"create", "10.0.0.6", "203.0.113.20", "198.51.100.1", 52000, 443, -1, -1, "bob", "", "allow-web"},
		{`<14>Mar 12 09:22:00 srx2 RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed TCP FIN: 10.0.0.6/52000->203.0.113.20/443 0x0 junos-https 198.51.100.1/40002->203.0.113.20/443 0x0 source rule internet-pat N/A N/A 6 allow-web trust untrust 400300 25(3120) 31(45210) 120 SSL SLACK EXAMPLE\bob(N/A) ge-0/0/1.0 Yes`,
			"close", "10.0.0.6", "203.0.113.20", "198.51.100.1", 52000, 443, 3120, 45210, "bob", "SLACK", "allow-web"},
		{`<14>Mar 12 09:24:00 srx2 RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed TCP RST: 2001:db8:1::30/50000->2001:db8:abcd::80/80 0x0 junos-http 2001:db8:1::30/50000->2001:db8:abcd::80/80 0x0 N/A N/A N/A N/A 6 allow-web trust untrust 400400 5(600) 4(1200) 2 HTTP FACEBOOK-ACCESS N/A(N/A) ge-0/0/1.0 No`,
			"close", "2001:db8:1::30", "2001:db8:abcd::80", "", 50000, 80, 600, 1200, "", "FACEBOOK-ACCESS", "allow-web"},
		// Junos 11.4/12.x: no connection tags, two rule names, no apps
		{`Mar 12 09:25:00 RT_FLOW: RT_FLOW_SESSION_CREATE: session created 10.10.10.2/53836->10.10.10.1/22 junos-ssh 10.10.10.2/53836->10.10.10.1/22 None None 6 log-host-traffic untrust junos-host 5 N/A(N/A) ge-0/0/1.0`,
			"create", "10.10.10.2", "10.10.10.1", "", 53836, 22, -1, -1, "", "", "log-host-traffic"},
		{`<14>Mar 12 09:25:00 srx RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed response received: 10.0.0.7/5353->203.0.113.53/53 junos-dns-udp 198.51.100.1/7000->203.0.113.53/53 dnsrule None 17 allow-dns trust untrust 77 1(70) 1(140) 1`,
			"close", "10.0.0.7", "203.0.113.53", "198.51.100.1", 5353, 53, 70, 140, "", "", "allow-dns"},
		{`<14>Mar 12 09:22:30 srx2 RT_FLOW: RT_FLOW_SESSION_DENY: session denied 198.51.100.30/61000->10.0.0.9/3389 0x0 junos-rdp 6(0) deny-all untrust trust UNKNOWN UNKNOWN CORP\eve(N/A) ge-0/0/0.0 No policy deny`,
			"deny", "198.51.100.30", "10.0.0.9", "", 61000, 3389, -1, -1, "eve", "", "deny-all"},
	}
	for _, c := range cases {
		r, err := parse(t, c.line)
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		if r.EventAction != c.action || r.SourceIP != ip(c.src) || r.DestinationIP != ip(c.dst) || r.SourcePort.V != c.sport || r.DestinationPort.V != c.dport {
			t.Errorf("%s:\n %q %v:%v -> %v:%v", c.line, r.EventAction, r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort)
		}
		if (c.nat == "" && r.SourceNATIP.IsValid()) || (c.nat != "" && r.SourceNATIP != ip(c.nat)) {
			t.Errorf("%s:\n source nat %v, want %q", c.line, r.SourceNATIP, c.nat)
		}
		if (c.up < 0 && (r.SourceBytes.Set || r.DestinationBytes.Set)) || (c.up >= 0 && (r.SourceBytes.V != c.up || r.DestinationBytes.V != c.down)) {
			t.Errorf("%s:\n bytes %v/%v, want %d/%d", c.line, r.SourceBytes, r.DestinationBytes, c.up, c.down)
		}
		if r.UserName != c.user || r.NetworkApplication != c.app || r.RuleName != c.pol {
			t.Errorf("%s:\n user %q app %q policy %q", c.line, r.UserName, r.NetworkApplication, r.RuleName)
		}
		wantVerdict := parsers.Allowed
		if c.action == "deny" {
			wantVerdict = parsers.Denied
		}
		if r.Verdict != wantVerdict {
			t.Errorf("%s: verdict %v", c.line, r.Verdict)
		}
	}
}

func TestSkipAndErrors(t *testing.T) {
	for _, l := range []string{
		`<14>1 2026-03-12T09:27:00Z srx1 RT_FLOW - APPTRACK_SESSION_CLOSE [junos@2636.1.1.1.2.129 source-address="10.0.0.5" destination-address="203.0.113.10"]`,
		`<28>1 2026-03-12T09:28:00Z srx1 RT_IDP - RT_IDP_ATTACK_LOG [junos@2636.1.1.1.2.129 source-address="198.51.100.5"]`,
		`<190>Mar 12 09:29:00 srx2 mgd[4242]: UI_COMMIT: User 'admin' requested 'commit' operation`,
	} {
		if _, err := parse(t, l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v, want ErrSkip", l, err)
		}
	}
	for _, l := range []string{
		`<14>Mar 12 09:30:00 srx2 RT_FLOW: RT_FLOW_SESSION_CLOSE: session closed TCP FIN: 10.0.0.6/52000->203.0.113.20/443 0x0 junos-https`,
		`<14>Mar 12 09:31:00 srx2 RT_FLOW: RT_FLOW_SESSION_CREATE: session created garbage`,
		`<14>1 2026-03-12T09:15:00Z srx1 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 service-name="junos-https"]`,
		`<14>Mar 12 09:31:00 srx2 RT_FLOW: RT_FLOW_SESSION_DENY: session denied 1.2.3.4/1->5.6.7.8/2 svc`,
		`just text`,
	} {
		_, err := parse(t, l)
		if err == nil || errors.Is(err, parsers.ErrSkip) || !errors.Is(err, junipersrx.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	info, _ := parsers.Lookup(junipersrx.Name)
	for _, l := range parsertest.Lines(t, junipersrx.Name) {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if h.AppName != "RT_FLOW" && h.AppName != "" {
			continue // other Junos daemons are not claimed
		}
		if s := info.Detect(body, &h); s < 90 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	for _, l := range []string{
		`<166>Mar 12 2026 09:15:03 fw01 : %ASA-6-302013: Built outbound TCP connection 1 for outside:203.0.113.10/443 (203.0.113.10/443) to inside:10.0.0.5/1 (10.0.0.5/1)`,
		`<134>1 2026-03-12T09:15:21+01:00 fw.example.com filterlog 12345 - [meta sequenceId="1"] 82,,,fae559338f65e11c53669fc3642c93c2,vtnet0,match,pass,out,4,0x0,,64,0,0,DF,17,udp,60,10.0.0.5,203.0.113.53,53000,53,40`,
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3"] An application event`,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := info.Detect(body, &h); s > 20 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
}

// Structured data relayed inside a BSD message body, ICMP "ports", and
// other Junos security logs (claimed, then skipped).
func TestRelayedSDAndICMP(t *testing.T) {
	r, err := parse(t, `<14>Apr 10 11:08:00 srx-br2 RT_FLOW: RT_FLOW_SESSION_CLOSE [junos@2636.1.1.1.2.26 reason="TCP RST" source-address="10.60.1.11" source-port="50111" destination-address="203.0.113.44" destination-port="993" nat-source-address="203.0.113.5" nat-source-port="40111" protocol-id="6" policy-name="allow-mail" bytes-from-client="1102" bytes-from-server="6123" username="lpark@example.com"]`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.60.1.11") || r.DestinationPort != parsers.N(993) || r.SourceNATIP != ip("203.0.113.5") || r.SourceBytes != parsers.N(1102) || r.DestinationBytes != parsers.N(6123) || r.UserName != "lpark@example.com" || r.EventAction != "close" {
		t.Errorf("relayed SD: %+v", r)
	}
	r, err = parse(t, `<14>1 2026-04-10T11:09:00Z srx RT_FLOW - RT_FLOW_SESSION_CLOSE [junos@2636.1.1.1.2.135 source-address="10.50.1.9" source-port="3310" destination-address="198.51.100.1" destination-port="2048" nat-source-address="203.0.113.10" nat-source-port="21001" nat-destination-address="198.51.100.1" nat-destination-port="2048" protocol-id="1"]`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourcePort.Set || r.DestinationPort.Set || r.SourceNATPort.Set || r.SourceNATIP != ip("203.0.113.10") || r.DestinationNATIP.IsValid() || r.NetworkTransport != "icmp" {
		t.Errorf("ICMP: ports %v %v nat %v:%v dnat %v %q", r.SourcePort, r.DestinationPort, r.SourceNATIP, r.SourceNATPort, r.DestinationNATIP, r.NetworkTransport)
	}
	screen := `<28>Apr 10 11:11:00 srx-br2 RT_SCREEN: RT_SCREEN_TCP: SYN flood! source: 198.51.100.200:40000, destination: 203.0.113.5:443, zone name: untrust, interface name: ge-0/0/0.0, action: drop`
	if _, err := parse(t, screen); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("RT_SCREEN: %v, want ErrSkip", err)
	}
	info, _ := parsers.Lookup(junipersrx.Name)
	h, body := parsers.SplitHeader(screen, time.UTC, parsertest.DefaultNow)
	if s := info.Detect(body, &h); s < 80 {
		t.Errorf("RT_SCREEN scored %d", s)
	}
	// Junos daemons' own events: claimed weakly and skipped; a generic
	// daemon line is not claimed.
	for l, want := range map[string]bool{
		`<190>Mar 12 09:29:00 srx2 mgd[4242]: UI_COMMIT: User 'admin' requested 'commit' operation`: true,
		`<30>Mar 12 09:29:01 srx2 kmd[1801]: KMD_PM_SA_ESTABLISHED: Local gateway: 203.0.113.5`:     true,
		`<190>Apr 10 11:13:00 host sshd[2211]: Accepted password for admin from 10.60.1.5 port 22`:  false,
		`<190>Apr 10 11:13:00 host app: NOTICE: something`:                                          false,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		s := info.Detect(body, &h)
		if want && (s < 30 || s >= 80) || !want && s != 0 {
			t.Errorf("scored %d: %s", s, l)
		}
		if want {
			if _, err := parse(t, l); !errors.Is(err, parsers.ErrSkip) {
				t.Errorf("%s: %v, want ErrSkip", l, err)
			}
		}
	}
}
