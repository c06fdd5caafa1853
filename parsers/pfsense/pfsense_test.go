package pfsense_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
	"github.com/cloudscout/cloudscout/parsers/pfsense"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, pfsense.Name) }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, pfsense.Name) }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, pfsense.Name) }

func parse(t *testing.T, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New(pfsense.Name, parsers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r parsers.Record
	err = parsers.ParseLine(p, line, &parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow}, &r)
	return r, err
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestLayouts(t *testing.T) {
	cases := []struct {
		line         string
		verdict      parsers.Verdict
		action, tr   string
		src, dst     string
		sport, dport int64
		dir, product string
	}{
		{`<134>Mar 12 09:15:21 filterlog[1]: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,54321,0,DF,6,tcp,60,198.51.100.23,203.0.113.2,40022,22,0,S,1234567890,,64240,,mss`,
			parsers.Denied, "block", "tcp", "198.51.100.23", "203.0.113.2", 40022, 22, "ingress", "pfSense"},
		{`<134>Mar 12 09:15:22 pf.example.com filterlog[1]: 6,,,1000000105,igb0,match,pass,out,4,0x0,,63,11111,0,DF,17,udp,76,10.0.0.5,203.0.113.53,53000,53,56`,
			parsers.Allowed, "pass", "udp", "10.0.0.5", "203.0.113.53", 53000, 53, "egress", "pfSense"},
		// IPv6 swaps the order of protocol text and id
		{`<134>Mar 12 09:15:24 filterlog[1]: 7,,,1000000106,igb0,match,pass,out,6,0x00,0x0a1b2,64,tcp,6,40,2001:db8:1::25,2001:db8:abcd::80,50000,443,0,S,987654321,,65535,,mss`,
			parsers.Allowed, "pass", "tcp", "2001:db8:1::25", "2001:db8:abcd::80", 50000, 443, "egress", "pfSense"},
		{`<134>Mar 12 09:15:25 filterlog[1]: 8,,,1000000107,igb0,match,pass,out,4,0x0,,64,22222,0,none,1,icmp,84,10.0.0.5,203.0.113.5,request,4242,1`,
			parsers.Allowed, "pass", "icmp", "10.0.0.5", "203.0.113.5", 0, 0, "egress", "pfSense"},
		{`<134>Mar 12 09:15:26 filterlog[1]: 9,,,1000000108,igb1,match,block,in,6,0x00,0x00000,255,ipv6-icmp,58,16,2001:db8:ffff::9,2001:db8:1::1,unreach`,
			parsers.Denied, "block", "ipv6-icmp", "2001:db8:ffff::9", "2001:db8:1::1", 0, 0, "ingress", "pfSense"},
		// reject is a deny
		{`<134>Mar 12 09:15:27 filterlog[1]: 10,,,1000000109,igb1,match,reject,in,4,0x0,,52,33333,0,DF,6,tcp,60,198.51.100.99,203.0.113.2,51515,3389,0,S,111,,1024,,mss`,
			parsers.Denied, "reject", "tcp", "198.51.100.99", "203.0.113.2", 51515, 3389, "ingress", "pfSense"},
		{`<134>1 2026-03-12T09:15:28+01:00 fw.example.com filterlog 4242 - [meta sequenceId="17"] 82,,,fae559338f65e11c53669fc3642c93c2,vtnet0,match,pass,out,4,0x0,,64,0,0,DF,17,udp,60,10.0.0.5,203.0.113.53,53000,53,40`,
			parsers.Allowed, "pass", "udp", "10.0.0.5", "203.0.113.53", 53000, 53, "egress", "OPNsense"},
		{`5,,,1000000103,igb1,match,block,in,4,0x0,,64,1,0,none,17,udp,40,198.51.100.77,203.0.113.2,5060,5060,20`,
			parsers.Denied, "block", "udp", "198.51.100.77", "203.0.113.2", 5060, 5060, "ingress", "pfSense"},
	}
	for _, c := range cases {
		r, err := parse(t, c.line)
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		if r.Verdict != c.verdict || r.EventAction != c.action || r.NetworkTransport != c.tr {
			t.Errorf("%s:\n verdict %v action %q transport %q", c.line, r.Verdict, r.EventAction, r.NetworkTransport)
		}
		if r.SourceIP != ip(c.src) || r.DestinationIP != ip(c.dst) || r.SourcePort.V != c.sport || r.DestinationPort.V != c.dport {
			t.Errorf("%s:\n %v:%v -> %v:%v", c.line, r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort)
		}
		if r.NetworkDirection != c.dir || r.ObserverProduct != c.product || r.Category != "network" {
			t.Errorf("%s:\n direction %q product %q category %q", c.line, r.NetworkDirection, r.ObserverProduct, r.Category)
		}
		if r.SourceBytes.Set || r.DestinationBytes.Set || r.NetworkBytes.Set || r.UserName != "" || r.NetworkApplication != "" {
			t.Errorf("%s:\n filterlog has no bytes, user or app", c.line)
		}
	}
}

func TestTime(t *testing.T) {
	r, err := parse(t, `<134>Mar 12 09:15:22 pf.example.com filterlog[1]: 6,,,1000000105,igb0,match,pass,out,4,0x0,,63,11111,0,DF,17,udp,76,10.0.0.5,203.0.113.53,53000,53,56`)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 12, 9, 15, 22, 0, time.UTC); !r.Timestamp.Equal(want) || r.ObserverHostname != "pf.example.com" {
		t.Errorf("time %v host %q", r.Timestamp, r.ObserverHostname)
	}
}

func TestSkipAndErrors(t *testing.T) {
	for _, l := range []string{
		`<38>Mar 12 09:16:00 php-fpm[333]: /index.php: Successful login for user 'admin' from: 10.0.0.5 (Local Database)`,
		`<46>Mar 12 09:16:01 pf.example.com sshd[444]: Accepted publickey for admin from 10.0.0.5 port 50000 ssh2`,
	} {
		if _, err := parse(t, l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v, want ErrSkip", l, err)
		}
	}
	for _, l := range []string{
		`<134>Mar 12 09:16:02 filterlog[1]: 5,,,1000000103,igb1,match,block,in,4,0x0`,
		`<134>Mar 12 09:16:03 filterlog[1]: 5,,,1000000103,igb1,match,block,in,9,0x0,,64,1,0,none,17,udp,40,198.51.100.77,203.0.113.2,5060,5060,20`,
		`<134>Mar 12 09:16:04 filterlog[1]: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,1,0,none,17,udp,40,198.51.100.777,203.0.113.2,5060,5060,20`,
		`<134>Mar 12 09:16:05 filterlog[1]: 5,,,1000000103,igb1,match,block,in,6,0x00,0x0`,
		`hello`,
	} {
		_, err := parse(t, l)
		if err == nil || !errors.Is(err, pfsense.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	info, _ := parsers.Lookup(pfsense.Name)
	for _, l := range parsertest.Lines(t, pfsense.Name) {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if h.AppName != "" && h.AppName != "filterlog" {
			continue
		}
		if _, err := parse(t, l); err != nil {
			continue
		}
		if s := info.Detect(body, &h); s < 80 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	for _, l := range []string{
		`<14>Jan 15 10:00:00 PA-VM 1,2026/01/15 10:00:00,001606001785,TRAFFIC,end,2561,2026/01/15 10:00:00,10.0.0.5,203.0.113.5`,
		`<166>Mar 12 2026 09:15:03 fw01 : %ASA-6-302013: Built outbound TCP connection 1 for outside:203.0.113.10/443 (203.0.113.10/443) to inside:10.0.0.5/1 (10.0.0.5/1)`,
		`1700000000.123    100 10.0.0.1 TCP_MISS/200 1234 GET http://example.com/ - DIRECT/203.0.113.5 text/html`,
		`a,b,c,d,e,f,g,h,i,j`,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := info.Detect(body, &h); s > 20 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
}

// The firewall's own daemons on the filterlog stream are claimed weakly
// and skipped; generic daemons are left to others.
func TestOwnDaemons(t *testing.T) {
	info, _ := parsers.Lookup(pfsense.Name)
	for l, claimed := range map[string]bool{
		`<13>May 20 07:30:15 fw-edge check_reload_status[412]: Syncing firewall`:                                                           true,
		`<134>1 2026-05-20T07:30:16+00:00 opn-fw.example.com configd.py 221 - [meta sequenceId="4413"] [] Executing action: filter reload`: true,
		`<30>May 20 07:30:13 dhcpd: DHCPACK on 10.80.1.77 to 00:11:22:33:44:55 (laptop-77) via ix0`:                                        false,
		`<190>Apr 10 11:13:00 host sshd[2211]: Accepted password for admin from 10.60.1.5 port 55123 ssh2`:                                 false,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		s := info.Detect(body, &h)
		if claimed && (s < 30 || s > 50) || !claimed && s != 0 {
			t.Errorf("scored %d: %s", s, l)
		}
		if _, err := parse(t, l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v, want ErrSkip", l, err)
		}
	}
}
