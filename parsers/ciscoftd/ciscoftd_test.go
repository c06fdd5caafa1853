package ciscoftd_test

import (
	"errors"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/ciscoasa"
	"github.com/cloudscout/cloudscout/parsers/ciscoftd"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, ciscoftd.Name) }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, ciscoftd.Name) }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, ciscoftd.Name) }

func parse(t *testing.T, p parsers.Parser, line string) (parsers.Record, error) {
	t.Helper()
	var r parsers.Record
	err := parsers.ParseLine(p, line, &parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow}, &r)
	return r, err
}

func newFTD(t *testing.T) parsers.Parser {
	t.Helper()
	p, err := parsers.New(ciscoftd.Name, parsers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestConnectionEnd(t *testing.T) {
	line := `<166>Mar 12 2026 09:21:44 ftd01 : %FTD-6-430003: DeviceUUID: 5c1f0a2e, FirstPacketSecond: 2026-03-12T09:20:05Z, AccessControlRuleAction: Allow, SrcIP: 10.0.0.5, DstIP: 203.0.113.40, SrcPort: 51800, DstPort: 443, Protocol: tcp, ACPolicy: HQ, Policy, AccessControlRuleName: Allow Web, Prefilter Policy: Default Prefilter Policy, User: CORP\jdoe, UserAgent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0, Client: Chrome, ApplicationProtocol: HTTPS, WebApplication: Microsoft Office 365, ConnectionDuration: 99, InitiatorPackets: 40, ResponderPackets: 52, InitiatorBytes: 5210, ResponderBytes: 64820, ReferencedHost: outlook.office365.com, URLCategory: Business and Economy, URL: https://outlook.office365.com/mail/inbox, NAT_InitiatorIP: 198.51.100.1, NAT_InitiatorPort: 40222, NAT_ResponderIP: 203.0.113.40, NAT_ResponderPort: 443`
	r, err := parse(t, newFTD(t), line)
	if err != nil {
		t.Fatal(err)
	}
	// The header time wins over FirstPacketSecond (session start).
	if want := time.Date(2026, 3, 12, 9, 21, 44, 0, time.UTC); !r.Timestamp.Equal(want) {
		t.Errorf("time %v, want %v", r.Timestamp, want)
	}
	if r.SourceIP != ip("10.0.0.5") || r.SourcePort.V != 51800 || r.DestinationIP != ip("203.0.113.40") || r.DestinationPort.V != 443 {
		t.Errorf("endpoints %v:%v -> %v:%v", r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort)
	}
	if r.SourceBytes.V != 5210 || r.DestinationBytes.V != 64820 || r.SourcePackets.V != 40 || r.DestinationPackets.V != 52 || r.NetworkBytes.Set {
		t.Errorf("counters %v %v %v %v total %v", r.SourceBytes, r.DestinationBytes, r.SourcePackets, r.DestinationPackets, r.NetworkBytes)
	}
	if r.SourceNATIP != ip("198.51.100.1") || r.SourceNATPort.V != 40222 || r.DestinationNATIP.IsValid() {
		t.Errorf("nat %v:%v / %v", r.SourceNATIP, r.SourceNATPort, r.DestinationNATIP)
	}
	if r.Verdict != parsers.Allowed || r.EventAction != "Allow" || r.RuleName != "Allow Web" {
		t.Errorf("verdict %v action %q rule %q", r.Verdict, r.EventAction, r.RuleName)
	}
	if r.UserName != "jdoe" || r.UserDomain != "CORP" {
		t.Errorf("user %q %q", r.UserName, r.UserDomain)
	}
	if r.NetworkApplication != "Microsoft Office 365" || r.NetworkProtocol != "https" || r.NetworkTransport != "tcp" {
		t.Errorf("app %q protocol %q transport %q", r.NetworkApplication, r.NetworkProtocol, r.NetworkTransport)
	}
	if r.UserAgent != "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0" {
		t.Errorf("user agent %q", r.UserAgent)
	}
	if r.URLDomain != "outlook.office365.com" || r.URLPath != "/mail/inbox" || r.DestinationDomain != "outlook.office365.com" || r.URLCategory != "Business and Economy" {
		t.Errorf("url %q %q host %q category %q", r.URLDomain, r.URLPath, r.DestinationDomain, r.URLCategory)
	}
	if r.Duration.V != 99*int64(time.Second) || r.ObserverProduct != "FTD" || r.ObserverHostname != "ftd01" {
		t.Errorf("duration %v product %q host %q", r.Duration, r.ObserverProduct, r.ObserverHostname)
	}
}

func TestActionsUsersApps(t *testing.T) {
	cases := []struct {
		action  string
		verdict parsers.Verdict
	}{
		{"Allow", parsers.Allowed}, {"Trust", parsers.Allowed}, {"Fastpath", parsers.Allowed},
		{"Block", parsers.Denied}, {"Block with reset", parsers.Denied},
		{"Interactive Block", parsers.Denied}, {"Interactive Block with reset", parsers.Denied},
		{"Monitor", parsers.VerdictUnknown},
	}
	for _, c := range cases {
		r, err := parse(t, newFTD(t), `%FTD-6-430003: AccessControlRuleAction: `+c.action+`, SrcIP: 10.0.0.1, DstIP: 203.0.113.1, User: No Authentication Required, ApplicationProtocol: DNS, Client: DNS client`)
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != c.verdict || r.EventAction != c.action {
			t.Errorf("%s: verdict %v action %q", c.action, r.Verdict, r.EventAction)
		}
		if r.UserName != "" || r.NetworkApplication != "DNS" {
			t.Errorf("%s: user %q app %q", c.action, r.UserName, r.NetworkApplication)
		}
	}
	r, err := parse(t, newFTD(t), `%FTD-6-430003: AccessControlRuleAction: Allow, SrcIP: 10.0.0.1, DstIP: 203.0.113.1, User: alice@example.com, WebApplication: Unknown, ApplicationProtocol: Unknown, Client: SSL client`)
	if err != nil || r.UserName != "alice@example.com" || r.NetworkApplication != "SSL client" {
		t.Errorf("fallbacks: %v user %q app %q", err, r.UserName, r.NetworkApplication)
	}
}

// LINA messages share the ASA code, including per-stream orientation.
func TestLINA(t *testing.T) {
	p := newFTD(t)
	if _, err := parse(t, p, `%FTD-6-302013: Built outbound TCP connection 77 for outside:203.0.113.40/443 (203.0.113.40/443) to inside:10.0.0.5/51801 (198.51.100.1/51801)`); err != nil {
		t.Fatal(err)
	}
	r, err := parse(t, p, `%FTD-6-302014: Teardown TCP connection 77 for outside:203.0.113.40/443 to inside:10.0.0.5/51801 duration 0:00:30 bytes 12000 TCP FINs`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.0.0.5") || r.NetworkBytes.V != 12000 || r.ObserverProduct != "FTD" {
		t.Errorf("teardown %v bytes %v product %q", r.SourceIP, r.NetworkBytes, r.ObserverProduct)
	}
}

func TestSFIMS(t *testing.T) {
	r, err := parse(t, newFTD(t), `<134>Oct 17 2026 05:54:19 fmc01 SFIMS: Protocol: TCP, SrcIP: 10.0.0.30, OriginalClientIP: ::, DstIP: 203.0.113.88, SrcPort: 61360, DstPort: 443, DE: Primary Detection Engine (96f4547e), Policy: HQ IDS, ConnectType: End, AccessControlRuleAction: Allow, UserName: EXAMPLE\dave, ApplicationProtocol: HTTPS, WebApplication: Dropbox, InitiatorBytes: 1216, ResponderBytes: 630`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.0.0.30") || r.NetworkTransport != "tcp" || r.UserName != "dave" || r.NetworkApplication != "Dropbox" || r.SourceBytes.V != 1216 {
		t.Errorf("%v %q %q %q %v", r.SourceIP, r.NetworkTransport, r.UserName, r.NetworkApplication, r.SourceBytes)
	}
	if _, err := parse(t, newFTD(t), `<134>Oct 17 2026 05:54:20 fmc01 SFIMS: [1:1000001:1] "Test" {TCP} 198.51.100.5:4444 -> 10.0.0.30:445`); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("SFIMS intrusion event: %v, want ErrSkip", err)
	}
}

func TestSkipAndErrors(t *testing.T) {
	for _, l := range []string{
		`%FTD-1-430001: SrcIP: 198.51.100.5, DstIP: 10.0.0.30`,
		`%FTD-6-430005: SrcIP: 203.0.113.88, DstIP: 10.0.0.30, FileName: x.pdf`,
		`%FTD-5-111008: User 'admin' executed the 'configure' command.`,
	} {
		if _, err := parse(t, newFTD(t), l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v, want ErrSkip", l, err)
		}
	}
	for _, l := range []string{
		`%FTD-6-430003: AccessControlRuleAction: Allow, Protocol: tcp`,
		`%ASA-6-302013: Built outbound TCP connection`,
		`hello world`,
	} {
		_, err := parse(t, newFTD(t), l)
		if err == nil || errors.Is(err, parsers.ErrSkip) || !errors.Is(err, ciscoasa.ErrMalformed) {
			t.Errorf("%s: %v, want a malformed-message error", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	info, _ := parsers.Lookup(ciscoftd.Name)
	asa, _ := parsers.Lookup(ciscoasa.Name)
	for _, l := range parsertest.Lines(t, ciscoftd.Name) {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		own, other := info.Detect(body, &h), asa.Detect(body, &h)
		switch {
		case strings.Contains(body, "%ASA-6-43000"): // pre-6.3 Firepower event
			if own <= other {
				t.Errorf("pre-6.3 FTD event: ftd %d asa %d: %s", own, other, l)
			}
		case ciscoasa.HasID(body, "%ASA-"):
			if own != 0 || other < 90 {
				t.Errorf("ASA line: ftd %d asa %d: %s", own, other, l)
			}
		case h.AppName == "SFIMS" && !strings.Contains(body, "SrcIP: "):
			if own < 80 || other != 0 { // claimed, then skipped
				t.Errorf("SFIMS event: ftd %d asa %d: %s", own, other, l)
			}
		default:
			if own < 90 || other != 0 {
				t.Errorf("FTD line: ftd %d asa %d: %s", own, other, l)
			}
		}
	}
	for _, l := range []string{
		`<189>date=2026-01-15 time=10:00:00 devname="fw" devid="FG100E" logid="0000000013" type="traffic" srcip=10.0.0.1`,
		`<134>1 1374543213.342705328 MX84 flows src=192.168.1.186 dst=8.8.8.8 protocol=udp sport=1 dport=53 pattern: allow all`,
		`SrcIP: 10.0.0.1, DstIP: 10.0.0.2 from some other product`,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := info.Detect(body, &h); s > 20 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
}

// Before 6.3 FTD wrote its messages under the ASA prefix; the Firepower
// connection events then belong to FTD even under auto-detection.
func TestPre63ASAPrefix(t *testing.T) {
	line := `<166>May 04 2026 08:10:00 ftd-old : %ASA-6-430003: AccessControlRuleAction: Allow, SrcIP: 10.30.1.25, DstIP: 203.0.113.5, SrcPort: 50000, DstPort: 443, Protocol: tcp, InitiatorBytes: 10, ResponderBytes: 20`
	r, err := parse(t, newFTD(t), line)
	if err != nil || r.SourceIP != ip("10.30.1.25") || r.SourceBytes != parsers.N(10) || r.ObserverProduct != "FTD" {
		t.Errorf("%v: %v bytes %v product %q", err, r.SourceIP, r.SourceBytes, r.ObserverProduct)
	}
	info, _ := parsers.Lookup(ciscoftd.Name)
	asa, _ := parsers.Lookup(ciscoasa.Name)
	h, body := parsers.SplitHeader(line, time.UTC, parsertest.DefaultNow)
	if own, other := info.Detect(body, &h), asa.Detect(body, &h); own <= other {
		t.Errorf("pre-6.3 Firepower event: ftd %d <= asa %d", own, other)
	}
	if _, err := parse(t, newFTD(t), `%ASA-6-106015: Deny TCP (no connection) from 10.0.0.5/1 to 203.0.113.10/443 flags RST  on interface inside`); err != nil {
		t.Errorf("pre-6.3 LINA message: %v", err)
	}
}

// ReferencedHost is the HTTP Host value: its port and address forms are not
// a domain; ICMP events carry no ports.
func TestHostAndICMP(t *testing.T) {
	for host, want := range map[string]string{"files.example.com:8443": "files.example.com", "www.example.com": "www.example.com", "10.0.0.5:8000": "", "10.0.0.5": "", "[2001:db8::1]:443": ""} {
		r, err := parse(t, newFTD(t), `%FTD-6-430003: AccessControlRuleAction: Allow, SrcIP: 10.0.0.1, DstIP: 203.0.113.5, SrcPort: 1, DstPort: 2, Protocol: tcp, ReferencedHost: `+host)
		if err != nil || r.DestinationDomain != want {
			t.Errorf("ReferencedHost %q: %v domain %q, want %q", host, err, r.DestinationDomain, want)
		}
	}
	r, err := parse(t, newFTD(t), `%FTD-6-430002: AccessControlRuleAction: Allow, SrcIP: 10.0.0.1, DstIP: 203.0.113.5, SrcPort: 8, DstPort: 0, ICMPType: Echo Request, Protocol: icmp`)
	if err != nil || r.SourcePort.Set || r.DestinationPort.Set || r.NetworkTransport != "icmp" {
		t.Errorf("ICMP: %v ports %v %v transport %q", err, r.SourcePort, r.DestinationPort, r.NetworkTransport)
	}
}

// On an auto-detected stream of ASA-prefixed lines, a pre-6.3 Firepower
// event still goes to this parser (ASA's score drops below the sticky bar).
func TestPre63InASAStream(t *testing.T) {
	auto, err := parsers.New(parsers.AutoName, parsers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := parse(t, auto, `%ASA-6-106015: Deny TCP (no connection) from 10.0.0.5/1 to 203.0.113.10/443 flags RST  on interface inside`); err != nil {
		t.Fatal(err)
	}
	r, err := parse(t, auto, `%ASA-6-430003: AccessControlRuleAction: Allow, SrcIP: 10.30.1.25, DstIP: 203.0.113.5, SrcPort: 50000, DstPort: 443, Protocol: tcp, InitiatorBytes: 10, ResponderBytes: 20`)
	if err != nil || r.ObserverProduct != "FTD" || r.DestinationBytes != parsers.N(20) {
		t.Errorf("%v: product %q bytes %v", err, r.ObserverProduct, r.DestinationBytes)
	}
}
