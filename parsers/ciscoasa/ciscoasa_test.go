package ciscoasa_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/ciscoasa"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, ciscoasa.Name) }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, ciscoasa.Name) }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, ciscoasa.Name) }
func newASA() *ciscoasa.Parser {
	return ciscoasa.New(ciscoasa.Config{Name: "cisco-asa", Prefix: "%ASA-", Product: "ASA"})
}
func ip(s string) netip.Addr  { return netip.MustParseAddr(s) }
func meta() *parsers.Meta     { return &parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow} }
func num(n int64) parsers.Num { return parsers.N(n) }
func parse(p parsers.Parser, line string) (parsers.Record, error) {
	var r parsers.Record
	err := parsers.ParseLine(p, line, meta(), &r)
	return r, err
}

// Outbound: the "to" side (inside client) is the source, its mapped socket
// the source NAT; the teardown inherits that orientation and logs a total.
func TestOutboundBuiltAndTeardown(t *testing.T) {
	p := newASA()
	r, err := parse(p, `<166>Mar 12 2026 09:15:03 fw01 : %ASA-6-302013: Built outbound TCP connection 7 for outside:203.0.113.10/443 (203.0.113.10/443) to inside:10.0.0.5/51000 (198.51.100.1/51000)`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.0.0.5") || r.SourcePort != num(51000) || r.DestinationIP != ip("203.0.113.10") || r.DestinationPort != num(443) {
		t.Errorf("built: source %v:%v destination %v:%v", r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort)
	}
	if r.SourceNATIP != ip("198.51.100.1") || r.SourceNATPort != num(51000) || r.DestinationNATIP.IsValid() {
		t.Errorf("built: source NAT %v:%v destination NAT %v", r.SourceNATIP, r.SourceNATPort, r.DestinationNATIP)
	}
	if r.Verdict != parsers.Allowed || r.NetworkDirection != "outbound" || r.NetworkTransport != "tcp" || r.EventAction != "built" {
		t.Errorf("built: verdict %v direction %q transport %q action %q", r.Verdict, r.NetworkDirection, r.NetworkTransport, r.EventAction)
	}
	if r.ObserverHostname != "fw01" || r.ObserverVendor != "Cisco" || r.ObserverProduct != "ASA" {
		t.Errorf("built: observer %q %q %q", r.ObserverHostname, r.ObserverVendor, r.ObserverProduct)
	}
	if want := time.Date(2026, 3, 12, 9, 15, 3, 0, time.UTC); !r.Timestamp.Equal(want) {
		t.Errorf("built: time %v", r.Timestamp)
	}
	if p.OpenConns() != 1 {
		t.Errorf("open connections %d after Built", p.OpenConns())
	}

	r, err = parse(p, `<166>Mar 12 2026 09:15:33: %ASA-6-302014: Teardown TCP connection 7 for outside:203.0.113.10/443 to inside:10.0.0.5/51000 duration 1:00:30 bytes 48213 TCP FINs`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.0.0.5") || r.DestinationIP != ip("203.0.113.10") || r.DestinationPort != num(443) {
		t.Errorf("teardown: source %v destination %v:%v", r.SourceIP, r.DestinationIP, r.DestinationPort)
	}
	if r.NetworkBytes != num(48213) || r.SourceBytes.Set || r.DestinationBytes.Set {
		t.Errorf("teardown: total %v, per direction %v/%v (must stay unset)", r.NetworkBytes, r.SourceBytes, r.DestinationBytes)
	}
	if r.Duration != num(3630*int64(time.Second)) || r.EventAction != "teardown" {
		t.Errorf("teardown: duration %v action %q", r.Duration, r.EventAction)
	}
	if p.OpenConns() != 0 {
		t.Errorf("open connections %d after Teardown", p.OpenConns())
	}
}

// Inbound: the "for" side (outside client) is the source; the server's
// mapped address is its NAT address.
func TestInboundBuilt(t *testing.T) {
	p := newASA()
	r, err := parse(p, `%ASA-6-302015: Built inbound UDP connection 8 for outside:198.51.100.7/5353 (198.51.100.7/5353) to dmz:10.1.1.5/53 (203.0.113.53/53)`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("198.51.100.7") || r.SourcePort != num(5353) || r.SourceNATIP.IsValid() {
		t.Errorf("source %v:%v nat %v", r.SourceIP, r.SourcePort, r.SourceNATIP)
	}
	if r.DestinationIP != ip("10.1.1.5") || r.DestinationNATIP != ip("203.0.113.53") || r.DestinationNATPort != num(53) {
		t.Errorf("destination %v nat %v:%v", r.DestinationIP, r.DestinationNATIP, r.DestinationNATPort)
	}
	if r.NetworkDirection != "inbound" || r.NetworkTransport != "udp" {
		t.Errorf("direction %q transport %q", r.NetworkDirection, r.NetworkTransport)
	}
	// Same id, same stream: the teardown is oriented like its Built.
	r, err = parse(p, `%ASA-6-302016: Teardown UDP connection 8 for outside:198.51.100.7/5353 to dmz:10.1.1.5/53 duration 0:00:01 bytes 99`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("198.51.100.7") || r.DestinationIP != ip("10.1.1.5") || r.NetworkDirection != "inbound" {
		t.Errorf("teardown source %v destination %v direction %q", r.SourceIP, r.DestinationIP, r.NetworkDirection)
	}
}

// A teardown whose Built this stream never saw is skipped, never guessed;
// another stream's state does not leak in.
func TestTeardownWithoutBuilt(t *testing.T) {
	built := `%ASA-6-302013: Built outbound TCP connection 9 for outside:203.0.113.10/443 (203.0.113.10/443) to inside:10.0.0.5/51000 (10.0.0.5/51000)`
	teardown := `%ASA-6-302014: Teardown TCP connection 9 for outside:203.0.113.10/443 to inside:10.0.0.5/51000 duration 0:00:30 bytes 5 TCP FINs`
	a, b := newASA(), newASA()
	if _, err := parse(a, built); err != nil {
		t.Fatal(err)
	}
	if _, err := parse(b, teardown); !errors.Is(err, parsers.ErrSkip) || !errors.Is(err, ciscoasa.ErrUnpairedTeardown) {
		t.Errorf("teardown on a fresh stream: %v, want ErrUnpairedTeardown (an ErrSkip)", err)
	}
	icmp := `%ASA-6-302021: Teardown ICMP connection for faddr 203.0.113.5/0 gaddr 198.51.100.1/7 laddr 10.0.0.5/7 type 8 code 0`
	if _, err := parse(b, icmp); !errors.Is(err, ciscoasa.ErrUnpairedTeardown) {
		t.Errorf("ICMP teardown on a fresh stream: %v, want ErrUnpairedTeardown", err)
	}
	if _, err := parse(b, `%ASA-5-111008: User 'admin' executed the 'write memory' command.`); errors.Is(err, ciscoasa.ErrUnpairedTeardown) {
		t.Errorf("housekeeping skip reported as an unpaired teardown: %v", err)
	}
	if _, err := parse(a, teardown); err != nil {
		t.Errorf("teardown on the Built's stream: %v", err)
	}
	if _, err := parse(a, teardown); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("second teardown of the same id: %v, want ErrSkip", err)
	}
}

// The per-stream table stays bounded and keeps the newest connections.
func TestStateBounded(t *testing.T) {
	p := ciscoasa.New(ciscoasa.Config{Name: "cisco-asa", Prefix: "%ASA-", Product: "ASA", MaxConns: 100})
	var r parsers.Record
	for i := range 1000 {
		r.Reset()
		line := "%ASA-6-302013: Built outbound TCP connection " + parsers.Itoa(int64(i)) + " for outside:203.0.113.10/443 (203.0.113.10/443) to inside:10.0.0.5/1000 (10.0.0.5/1000)"
		if err := p.Parse(line, meta(), &r); err != nil {
			t.Fatal(err)
		}
		if p.OpenConns() > 100 {
			t.Fatalf("%d open connections with a limit of 100", p.OpenConns())
		}
	}
	r.Reset()
	if err := p.Parse("%ASA-6-302014: Teardown TCP connection 999 for outside:203.0.113.10/443 to inside:10.0.0.5/1000 duration 0:00:01 bytes 1 TCP FINs", meta(), &r); err != nil {
		t.Errorf("newest connection forgotten: %v", err)
	}
	r.Reset()
	if err := p.Parse("%ASA-6-302014: Teardown TCP connection 0 for outside:203.0.113.10/443 to inside:10.0.0.5/1000 duration 0:00:01 bytes 1 TCP FINs", meta(), &r); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("oldest connection still known: %v", err)
	}
}

func TestUsers(t *testing.T) {
	cases := []struct{ line, name, domain string }{
		// identity-firewall user on the client side (outbound: "to" side)
		{`%ASA-6-302013: Built outbound TCP connection 1 for outside:203.0.113.10/443 (203.0.113.10/443) to inside:10.0.0.5/51000 (198.51.100.1/51000)(CORP\jdoe)`, "jdoe", "CORP"},
		// a user attached to the server side is not the client's
		{`%ASA-6-302013: Built outbound TCP connection 2 for outside:203.0.113.10/443 (203.0.113.10/443)(CORP\svc) to inside:10.0.0.5/51000 (198.51.100.1/51000)`, "", ""},
		// cut-through proxy (AAA) user at the end
		{`%ASA-6-302013: Built inbound TCP connection 3 for outside:198.51.100.50/61000 (198.51.100.50/61000) to dmz:10.1.1.20/80 (203.0.113.20/80) (bob)`, "bob", ""},
		{`%ASA-4-106023: Deny udp src inside:10.0.0.5/53000(LOCAL\alice) dst outside:203.0.113.99/3389 by access-group "in" [0x0, 0x0]`, "alice", "LOCAL"},
		{`%ASA-6-106100: access-list in permitted tcp inside/10.0.0.5(51515)(CORP\jdoe, 12) -> outside/203.0.113.20(443) hit-cnt 1 first hit [0x0, 0x0]`, "jdoe", "CORP"},
		{`%ASA-5-304001: carol@example.com@10.0.0.6 Accessed URL 203.0.113.81:/x`, "carol@example.com", ""},
	}
	for _, c := range cases {
		r, err := parse(newASA(), c.line)
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		if r.UserName != c.name || r.UserDomain != c.domain {
			t.Errorf("%s: user %q domain %q, want %q %q", c.line, r.UserName, r.UserDomain, c.name, c.domain)
		}
	}
}

func TestDenies(t *testing.T) {
	cases := []struct {
		line, src, dst string
		sport, dport   int64
		transport      string
		rule           string
	}{
		{`%ASA-4-106023: Deny tcp src outside:198.51.100.23/40022 dst inside:10.0.0.8/22 by access-group "outside_access_in" [0x0, 0x0]`, "198.51.100.23", "10.0.0.8", 40022, 22, "tcp", "outside_access_in"},
		{`%ASA-4-106023: Deny icmp src outside:2001:db8::23 dst inside:2001:db8:1::8 (type 128, code 0) by access-group "v6_in" [0x0, 0x0]`, "2001:db8::23", "2001:db8:1::8", 0, 0, "icmp", "v6_in"},
		{`%ASA-4-106023: Deny protocol 47 src outside:198.51.100.24 dst inside:10.0.0.8 by access-group "outside_access_in" [0x0, 0x0]`, "198.51.100.24", "10.0.0.8", 0, 0, "gre", "outside_access_in"},
		{`%ASA-6-106100: access-list outside_in denied udp outside/2001:db8::99(123) -> inside/2001:db8:1::5(123) hit-cnt 3 300-second interval [0x0, 0x0]`, "2001:db8::99", "2001:db8:1::5", 123, 123, "udp", "outside_in"},
		{`%ASA-6-106100: access-list outside_in denied icmp outside/198.51.100.9(8) -> inside/10.0.0.1(0) hit-cnt 1 first hit [0x0, 0x0]`, "198.51.100.9", "10.0.0.1", 0, 0, "icmp", "outside_in"},
		{`%ASA-2-106001: Inbound TCP connection denied from 198.51.100.40/51234 to 10.0.0.10/445 flags SYN  on interface outside`, "198.51.100.40", "10.0.0.10", 51234, 445, "tcp", ""},
		{`%ASA-2-106006: Deny inbound UDP from 198.51.100.41/5060 to 10.0.0.11/5060 on interface outside`, "198.51.100.41", "10.0.0.11", 5060, 5060, "udp", ""},
		{`%ASA-2-106007: Deny inbound UDP from 198.51.100.41/53 to 10.0.0.11/5353 due to DNS Response`, "198.51.100.41", "10.0.0.11", 53, 5353, "udp", ""},
		{`%ASA-6-106015: Deny TCP (no connection) from 10.0.0.5/51000 to 203.0.113.10/443 flags RST ACK  on interface inside`, "10.0.0.5", "203.0.113.10", 51000, 443, "tcp", ""},
		{`%ASA-3-710003: TCP access denied by ACL from 2001:db8::42/40000 to outside:2001:db8:1::1/22`, "2001:db8::42", "2001:db8:1::1", 40000, 22, "tcp", ""},
	}
	for _, c := range cases {
		r, err := parse(newASA(), c.line)
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		if r.Verdict != parsers.Denied || r.Category != "network" {
			t.Errorf("%s: verdict %v category %q", c.line, r.Verdict, r.Category)
		}
		if r.SourceIP != ip(c.src) || r.DestinationIP != ip(c.dst) || r.SourcePort.V != c.sport || r.DestinationPort.V != c.dport {
			t.Errorf("%s: %v:%v -> %v:%v", c.line, r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort)
		}
		if r.NetworkTransport != c.transport || r.RuleName != c.rule {
			t.Errorf("%s: transport %q rule %q", c.line, r.NetworkTransport, r.RuleName)
		}
	}
	r, err := parse(newASA(), `%ASA-6-106100: access-list in est-allowed tcp inside/10.0.0.5(51515) -> outside/203.0.113.20(443) hit-cnt 1 first hit [0x0, 0x0]`)
	if err != nil || r.Verdict != parsers.Allowed || r.EventAction != "est-allowed" {
		t.Errorf("est-allowed: %v %v %q", err, r.Verdict, r.EventAction)
	}
}

func TestURL(t *testing.T) {
	r, err := parse(newASA(), `%ASA-5-304001: 10.0.0.5 Accessed URL 203.0.113.80:http://www.example.com/docs/index.html?lang=en`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Category != "web" || r.Verdict != parsers.Allowed || r.SourceIP != ip("10.0.0.5") || r.DestinationIP != ip("203.0.113.80") {
		t.Errorf("304001: %q %v %v %v", r.Category, r.Verdict, r.SourceIP, r.DestinationIP)
	}
	if r.URLOriginal != "http://www.example.com/docs/index.html?lang=en" || r.URLDomain != "www.example.com" || r.URLPath != "/docs/index.html" || r.URLQuery != "lang=en" {
		t.Errorf("304001 url: %q %q %q %q", r.URLOriginal, r.URLDomain, r.URLPath, r.URLQuery)
	}
	r, err = parse(newASA(), `%ASA-5-304001: 2001:db8:1::5 Accessed JAVA URL 2001:db8::80:/applet.jar`)
	if err != nil || r.DestinationIP != ip("2001:db8::80") || r.URLPath != "/applet.jar" {
		t.Errorf("304001 IPv6: %v %v %q", err, r.DestinationIP, r.URLPath)
	}
	r, err = parse(newASA(), `%ASA-5-304002: Access denied URL http://blocked.example.net/games SRC 10.0.0.7 DEST 203.0.113.90 on interface inside`)
	if err != nil || r.Verdict != parsers.Denied || r.URLDomain != "blocked.example.net" || r.SourceIP != ip("10.0.0.7") {
		t.Errorf("304002: %v %v %q %v", err, r.Verdict, r.URLDomain, r.SourceIP)
	}
}

func TestICMP(t *testing.T) {
	p := newASA()
	r, err := parse(p, `%ASA-6-302020: Built outbound ICMP connection for faddr 203.0.113.5/0 gaddr 198.51.100.1/4242 laddr 10.0.0.5/4242 type 8 code 0`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.0.0.5") || r.SourceNATIP != ip("198.51.100.1") || r.DestinationIP != ip("203.0.113.5") || r.SourcePort.Set || r.NetworkTransport != "icmp" {
		t.Errorf("built: %v (nat %v) -> %v, port %v, %q", r.SourceIP, r.SourceNATIP, r.DestinationIP, r.SourcePort, r.NetworkTransport)
	}
	r, err = parse(p, `%ASA-6-302021: Teardown ICMP connection for faddr 203.0.113.5/0 gaddr 198.51.100.1/4242 laddr 10.0.0.5/4242 type 8 code 0`)
	if err != nil || r.SourceIP != ip("10.0.0.5") || r.DestinationIP != ip("203.0.113.5") {
		t.Errorf("teardown: %v %v -> %v", err, r.SourceIP, r.DestinationIP)
	}
	r, err = parse(p, `%ASA-6-302020: Built inbound ICMP connection for faddr 2001:db8::7/1 gaddr 2001:db8:5::1/0 laddr 2001:db8:1::1/0 type 128 code 0`)
	if err != nil || r.SourceIP != ip("2001:db8::7") || r.DestinationIP != ip("2001:db8:1::1") || r.DestinationNATIP != ip("2001:db8:5::1") {
		t.Errorf("inbound IPv6: %v %v -> %v (nat %v)", err, r.SourceIP, r.DestinationIP, r.DestinationNATIP)
	}
}

func TestSkipAndErrors(t *testing.T) {
	skips := []string{
		`%ASA-5-111008: User 'admin' executed the 'write memory' command.`,
		`%ASA-6-305011: Built dynamic TCP translation from inside:10.0.0.5/51000 to outside:198.51.100.1/51000`,
		`%ASA-6-113004: AAA user authentication Successful : server =  10.0.0.2 : user = jdoe`,
	}
	for _, l := range skips {
		if _, err := parse(newASA(), l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v, want ErrSkip", l, err)
		}
	}
	bad := []string{
		`%ASA-6-302013: Built outbound TCP connection`,
		`%ASA-6-302013: Built sideways TCP connection 1 for outside:203.0.113.10/443 (203.0.113.10/443) to inside:10.0.0.5/1 (10.0.0.5/1)`,
		`%ASA-6-302014: Teardown TCP connection 1 for outside:203.0.113.10/443 to inside:10.0.0.5/1 duration x bytes 1`,
		`%ASA-4-106023: Deny tcp src outside:not-an-ip/1 dst inside:10.0.0.8/22`,
		`%ASA-6-106100: access-list x allowed tcp a/1.2.3.4(1) -> b/1.2.3.5(2)`,
		`%ASA-6-30201`,
		`%FTD-6-302013: Built outbound TCP connection 1 for outside:203.0.113.10/443 (203.0.113.10/443) to inside:10.0.0.5/1 (10.0.0.5/1)`,
		`date=2026-01-01 devname=fgt`,
	}
	for _, l := range bad {
		_, err := parse(newASA(), l)
		if err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v, want a parse error", l, err)
		}
		if err != nil && !errors.Is(err, ciscoasa.ErrMalformed) {
			t.Errorf("%s: %v does not wrap ErrMalformed", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	info, ok := parsers.Lookup(ciscoasa.Name)
	if !ok {
		t.Fatal("cisco-asa not registered")
	}
	for _, l := range parsertest.Lines(t, ciscoasa.Name) {
		if _, err := parse(newASA(), l); errors.Is(err, ciscoasa.ErrMalformed) {
			continue // garbled test lines need not be recognized
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := info.Detect(body, &h); s < 90 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	others := []string{
		`<166>Mar 12 2026 09:15:03 ftd01 : %FTD-6-302013: Built outbound TCP connection 1 for outside:203.0.113.10/443 (203.0.113.10/443) to inside:10.0.0.5/1 (10.0.0.5/1)`,
		`<189>date=2026-01-15 time=10:00:00 devname="fw" devid="FG100E" logid="0000000013" type="traffic"`,
		`<134>Mar 12 09:15:21 filterlog[1234]: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,0,0,DF,17,udp,84,198.51.100.1,203.0.113.1,55311,53,64`,
		`<14>1 2026-03-12T09:15:00Z srx1 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636.1.1.1.2.129 source-address="10.0.0.1"]`,
		`The %ASA- string mentioned in prose: nothing follows`,
	}
	for _, l := range others {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := info.Detect(body, &h); s > 20 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
}

// What precedes the message id in the body is the device's own header: a
// relay's header was split off, or the device sent only its device id.
func TestBodyPrefix(t *testing.T) {
	r, err := parse(newASA(), `<13>Apr  2 14:06:00 relay01 Apr 02 2026 14:05:59 asa-edge : %ASA-4-106023: Deny tcp src outside:198.51.100.66/41000 dst dmz:192.168.50.20/3306 by access-group "in" [0x0, 0x0]`)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 4, 2, 14, 5, 59, 0, time.UTC); !r.Timestamp.Equal(want) || r.ObserverHostname != "asa-edge" {
		t.Errorf("relayed: time %v host %q, want %v asa-edge", r.Timestamp, r.ObserverHostname, want)
	}
	r, err = parse(newASA(), `<166>asa-edge : %ASA-6-106015: Deny TCP (no connection) from 10.0.0.5/1 to 203.0.113.10/443 flags RST  on interface inside`)
	if err != nil {
		t.Fatal(err)
	}
	if r.ObserverHostname != "asa-edge" || !r.Timestamp.Equal(parsertest.DefaultNow) {
		t.Errorf("device id only: host %q time %v", r.ObserverHostname, r.Timestamp)
	}
	r, err = parse(newASA(), `<166>1 2026-03-12T09:18:07Z fw02 - - - %ASA-6-106015: Deny TCP (no connection) from 10.0.0.5/1 to 203.0.113.10/443 flags RST  on interface inside`)
	if err != nil || r.ObserverHostname != "fw02" {
		t.Errorf("5424 with dashes: %v host %q", err, r.ObserverHostname)
	}
}

// Interface names may hold spaces ("NP Identity Ifc" for to-the-box traffic).
func TestInterfaceWithSpaces(t *testing.T) {
	p := newASA()
	r, err := parse(p, `%ASA-6-302013: Built inbound TCP connection 8 for inside:10.1.1.2/12523 (10.1.1.2/12523) to NP Identity Ifc:10.1.1.1/22 (10.1.1.1/22)`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.1.1.2") || r.DestinationIP != ip("10.1.1.1") || r.DestinationPort != num(22) || r.DestinationNATIP.IsValid() {
		t.Errorf("built: %v -> %v:%v nat %v", r.SourceIP, r.DestinationIP, r.DestinationPort, r.DestinationNATIP)
	}
	r, err = parse(p, `%ASA-6-302014: Teardown TCP connection 8 for inside:10.1.1.2/12523 to NP Identity Ifc:2001:db8::1/22 duration 0:00:53 bytes 2436 TCP FINs`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.1.1.2") || r.DestinationIP != ip("2001:db8::1") || r.NetworkBytes != num(2436) {
		t.Errorf("teardown: %v -> %v bytes %v", r.SourceIP, r.DestinationIP, r.NetworkBytes)
	}
}

// Denies that log bare addresses, per-user ACL hits, and DNS-guard denies.
func TestMoreDenies(t *testing.T) {
	cases := []struct {
		line, src, dst, transport, user, action string
		sport, dport                            int64
	}{
		{`%ASA-2-106016: Deny IP spoof from (10.0.0.99) to 198.51.100.10 on interface outside`, "10.0.0.99", "198.51.100.10", "", "", "deny", 0, 0},
		{`%ASA-1-106021: Deny TCP reverse path check from 10.0.0.99 to 198.51.100.10 on interface outside`, "10.0.0.99", "198.51.100.10", "tcp", "", "deny", 0, 0},
		{`%ASA-1-106022: Deny UDP connection spoof from 10.0.0.98 to 198.51.100.11 on interface inside`, "10.0.0.98", "198.51.100.11", "udp", "", "deny", 0, 0},
		{`%ASA-6-106012: Deny IP from 198.51.100.5 to 203.0.113.1, IP options: "Router Alert"`, "198.51.100.5", "203.0.113.1", "", "", "deny", 0, 0},
		{`%ASA-2-106017: Deny IP due to Land Attack from 203.0.113.1 to 203.0.113.1`, "203.0.113.1", "203.0.113.1", "", "", "deny", 0, 0},
		{`%ASA-2-106020: Deny IP teardrop fragment (size = 20, offset = 0) from 198.51.100.5 to 203.0.113.1`, "198.51.100.5", "203.0.113.1", "", "", "deny", 0, 0},
		{`%ASA-3-313004: Denied ICMP type=0, from laddr 10.0.0.5 on interface inside to 198.51.100.1: no matching session`, "10.0.0.5", "198.51.100.1", "icmp", "", "denied", 0, 0},
		{`%ASA-4-106103: access-list in denied tcp for user EXAMPLE\jsmith inside/10.0.0.77(50112) -> outside/198.51.100.99(25) hit-cnt 1 first hit [0x0, 0x0]`, "10.0.0.77", "198.51.100.99", "tcp", "jsmith", "denied", 50112, 25},
		{`%ASA-6-106102: access-list in permitted udp for user 'bob' inside/10.0.0.78(5353) -> outside/198.51.100.98(53) hit-cnt 1 first hit [0x0, 0x0]`, "10.0.0.78", "198.51.100.98", "udp", "bob", "permitted", 5353, 53},
		{`%ASA-6-710005: TCP request discarded from 198.51.100.5/40000 to outside:203.0.113.1/23`, "198.51.100.5", "203.0.113.1", "tcp", "", "discarded", 40000, 23},
	}
	for _, c := range cases {
		r, err := parse(newASA(), c.line)
		if err != nil {
			t.Errorf("%s: %v", c.line, err)
			continue
		}
		if r.SourceIP != ip(c.src) || r.DestinationIP != ip(c.dst) || r.NetworkTransport != c.transport || r.UserName != c.user || r.EventAction != c.action {
			t.Errorf("%s: %v -> %v %q user %q action %q", c.line, r.SourceIP, r.DestinationIP, r.NetworkTransport, r.UserName, r.EventAction)
		}
		if r.SourcePort != parsers.ParsePort(parsers.Itoa(c.sport)) || r.DestinationPort != parsers.ParsePort(parsers.Itoa(c.dport)) {
			t.Errorf("%s: ports %v %v", c.line, r.SourcePort, r.DestinationPort)
		}
		if r.Verdict != parsers.Allowed && c.action == "permitted" || r.Verdict != parsers.Denied && c.action != "permitted" {
			t.Errorf("%s: verdict %v", c.line, r.Verdict)
		}
	}
	r, err := parse(newASA(), `%ASA-2-106007: Deny inbound UDP from 198.51.100.53/53 to 10.0.0.15/61003 due to DNS Response`)
	if err != nil || r.NetworkProtocol != "dns" || r.NetworkDirection != "inbound" {
		t.Errorf("106007: %v protocol %q direction %q", err, r.NetworkProtocol, r.NetworkDirection)
	}
	// A security group tag is not a user.
	r, err = parse(newASA(), `%ASA-6-302013: Built inbound TCP connection 5 for outside:198.51.100.5/1000 (198.51.100.5/1000) to inside:10.0.0.5/443 (10.0.0.5/443) (12)`)
	if err != nil || r.UserName != "" {
		t.Errorf("SGT group: %v user %q", err, r.UserName)
	}
}

// "... 09:15:03 UTC: %ASA-..." is UTC whatever the source's zone.
func TestUTCHeader(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	var r parsers.Record
	m := parsers.Meta{Location: berlin, Now: parsertest.DefaultNow}
	line := `<164>Mar 12 2026 09:15:03 UTC: %ASA-4-106023: Deny tcp src outside:198.51.100.23/1 dst inside:10.0.0.8/22 by access-group "in" [0x0, 0x0]`
	if err := parsers.ParseLine(newASA(), line, &m, &r); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 12, 9, 15, 3, 0, time.UTC); !r.Timestamp.Equal(want) {
		t.Errorf("time %v, want %v", r.Timestamp, want)
	}
	r.Reset()
	m = parsers.Meta{Location: berlin, Now: parsertest.DefaultNow}
	if err := parsers.ParseLine(newASA(), `<164>Mar 12 2026 09:15:03 fw01 : %ASA-4-106023: Deny tcp src outside:198.51.100.23/1 dst inside:10.0.0.8/22`, &m, &r); err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 12, 8, 15, 3, 0, time.UTC); !r.Timestamp.Equal(want) {
		t.Errorf("zoneless header: time %v, want %v (source zone)", r.Timestamp, want)
	}
}
