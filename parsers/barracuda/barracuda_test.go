package barracuda_test

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/barracuda"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, barracuda.Name) }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, barracuda.Name) }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, barracuda.Name) }

func parseIn(t *testing.T, line string, loc *time.Location) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New(barracuda.Name, parsers.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	var r parsers.Record
	err = parsers.ParseLine(p, line, &parsers.Meta{Location: loc, Now: parsertest.DefaultNow}, &r)
	return r, err
}

func parse(t *testing.T, line string) (parsers.Record, error) { return parseIn(t, line, time.UTC) }

func ip(s string) netip.Addr { return netip.MustParseAddr(s) }

func TestRemove(t *testing.T) {
	r, err := parse(t, `<14>Mar 12 09:17:45 cgf01 cgf01/box_Firewall_Activity:  Info     cgf01 Remove: type=FWD|proto=TCP|srcIF=eth1|srcIP=10.0.0.6|srcPort=51000|srcMAC=08:00:27:da:d7:9d|dstIP=203.0.113.80|dstPort=443|dstService=https|dstIF=eth0|rule=LAN-2-INTERNET|info=Normal Operation|srcNAT=198.51.100.1|dstNAT=203.0.113.80|duration=142512|count=1|receivedBytes=824113|sentBytes=20417|receivedPackets=611|sentPackets=302|user=CORP\jdoe|protocol=HTTPS|application=Microsoft Office 365|target=outlook.office365.com|content=|urlcat=Business`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP != ip("10.0.0.6") || r.SourcePort.V != 51000 || r.DestinationIP != ip("203.0.113.80") || r.DestinationPort.V != 443 {
		t.Errorf("%v:%v -> %v:%v", r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort)
	}
	// sentBytes: sent by the client (upload); receivedBytes: the download.
	if r.SourceBytes.V != 20417 || r.DestinationBytes.V != 824113 || r.SourcePackets.V != 302 || r.DestinationPackets.V != 611 || r.NetworkBytes.Set {
		t.Errorf("counters %v %v %v %v", r.SourceBytes, r.DestinationBytes, r.SourcePackets, r.DestinationPackets)
	}
	if r.Duration.V != 142512*int64(time.Millisecond) {
		t.Errorf("duration %v (milliseconds)", r.Duration)
	}
	if r.SourceNATIP != ip("198.51.100.1") || r.DestinationNATIP.IsValid() {
		t.Errorf("nat %v / %v", r.SourceNATIP, r.DestinationNATIP)
	}
	if r.UserName != "jdoe" || r.UserDomain != "CORP" || r.NetworkApplication != "Microsoft Office 365" || r.NetworkProtocol != "https" {
		t.Errorf("user %q %q app %q protocol %q", r.UserName, r.UserDomain, r.NetworkApplication, r.NetworkProtocol)
	}
	if r.DestinationDomain != "outlook.office365.com" || r.URLCategory != "Business" || r.RuleName != "LAN-2-INTERNET" {
		t.Errorf("target %q urlcat %q rule %q", r.DestinationDomain, r.URLCategory, r.RuleName)
	}
	if r.Verdict != parsers.Allowed || r.EventAction != "Remove" || r.NetworkTransport != "tcp" || r.ObserverHostname != "cgf01" {
		t.Errorf("verdict %v action %q transport %q host %q", r.Verdict, r.EventAction, r.NetworkTransport, r.ObserverHostname)
	}
	if want := time.Date(2026, 3, 12, 9, 17, 45, 0, time.UTC); !r.Timestamp.Equal(want) {
		t.Errorf("time %v", r.Timestamp)
	}
}

func TestActions(t *testing.T) {
	for _, c := range []struct {
		action  string
		verdict parsers.Verdict
	}{
		{"Allow", parsers.Allowed}, {"Remove", parsers.Allowed}, {"Block", parsers.Denied},
		{"Deny", parsers.Denied}, {"Drop", parsers.Denied}, {"Reset", parsers.Denied}, {"Fail", parsers.Allowed},
	} {
		r, err := parse(t, `<14>Mar 12 09:18:00 cgf01 cgf01/box_Firewall_Activity:  Info     cgf01 `+c.action+`: type=FWD|proto=UDP|srcIP=10.0.0.1|srcPort=1000|dstIP=203.0.113.1|dstPort=53|srcNAT=0.0.0.0|dstNAT=0.0.0.0|user=|application=`)
		if err != nil {
			t.Fatal(err)
		}
		if r.Verdict != c.verdict || r.EventAction != c.action || r.SourceNATIP.IsValid() || r.UserName != "" || r.NetworkApplication != "" {
			t.Errorf("%s: verdict %v action %q nat %v user %q app %q", c.action, r.Verdict, r.EventAction, r.SourceNATIP, r.UserName, r.NetworkApplication)
		}
	}
}

// The box's log file carries its own date and UTC offset.
func TestFileForm(t *testing.T) {
	r, err := parse(t, `2026 03 12 10:18:05 Info     +01:00  Remove: type=LOUT|proto=TCP|srcIP=203.0.113.2|srcPort=41000|dstIP=198.51.100.200|dstPort=443|receivedBytes=9000|sentBytes=1200`)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 3, 12, 9, 18, 5, 0, time.UTC); !r.Timestamp.Equal(want) {
		t.Errorf("time %v, want %v", r.Timestamp, want)
	}
	if _, off := r.Timestamp.Zone(); off != 3600 {
		t.Errorf("offset %d, want +01:00 kept", off)
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip(err)
	}
	r, err = parseIn(t, `2026 07 01 10:00:00 Info Allow: type=FWD|proto=TCP|srcIP=10.0.0.1|dstIP=203.0.113.1`, berlin)
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 7, 1, 8, 0, 0, 0, time.UTC); !r.Timestamp.Equal(want) {
		t.Errorf("no offset: time %v, want the source zone (%v)", r.Timestamp, want)
	}
}

func TestSkipAndErrors(t *testing.T) {
	for _, l := range []string{
		`<14>Mar 12 09:18:07 cgf01 cgf01/srv_S1_NGFW:  Info     cgf01 State:          REM(Balanced Session Idle Timeout,20) FWD UDP 10.0.0.5:35119 () -> 203.0.113.53:53`,
		`<14>Mar 12 09:18:08 cgf01 cgf01/box_Auth_access:  Info     cgf01 Login: user=admin from=10.0.0.5 method=ssh`,
	} {
		if _, err := parse(t, l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v, want ErrSkip", l, err)
		}
	}
	for _, l := range []string{
		`<14>Mar 12 09:18:10 cgf01 cgf01/box_Firewall_Activity:  Info     cgf01 Remove: type=FWD|proto=TCP|srcIF=eth1|srcIP=10.0.0.5`,
		`<14>Mar 12 09:18:11 cgf01 cgf01/box_Firewall_Activity:  Info     cgf01 Remove type=FWD|proto=TCP`,
		`<14>Mar 12 09:18:12 cgf01 cgf01/box_Firewall_Activity:  Info     cgf01 Remove: proto=TCP|srcIP=10.0.0.5|dstIP=203.0.113.5`,
		`<14>Mar 12 09:18:12 cgf01 cgf01/box_Firewall_Activity:  a b c d Remove: type=FWD|srcIP=10.0.0.5|dstIP=203.0.113.5`,
	} {
		if _, err := parse(t, l); !errors.Is(err, barracuda.ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	info, _ := parsers.Lookup(barracuda.Name)
	for _, l := range parsertest.Lines(t, barracuda.Name) {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := info.Detect(body, &h); s < 80 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	for _, l := range []string{
		`<134>Mar 12 09:15:21 filterlog[1]: 5,,,1000000103,igb1,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,198.51.100.23,203.0.113.2,40022,22,0,S,1,,64240,,mss`,
		`<14>Mar 12 09:20:00 srx2 RT_FLOW: RT_FLOW_SESSION_CREATE: session created 10.0.0.6/52000->203.0.113.20/443 0x0 junos-https`,
		`<13>Mar 12 09:20:00 host sshd[1]: Accepted password for root from 10.0.0.1 port 22 ssh2`,
		`<189>date=2026-01-15 time=10:00:00 devname="fw" devid="FG100E" logid="0000000013" type="traffic" srcip=10.0.0.1`,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := info.Detect(body, &h); s > 20 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
}

// ICMP sessions log an internal ICMP id as the port; NAT addresses may
// carry a port.
func TestICMPAndNATPort(t *testing.T) {
	r, err := parse(t, `<14>May 18 10:20:04 cgf cgf/box_Firewall_Activity:  Info     cgf Remove: type=FWD|proto=ICMP|srcIP=10.40.2.15|srcPort=0|dstIP=198.51.100.1|dstPort=4411|srcNAT=203.0.113.2|dstNAT=198.51.100.1|receivedBytes=84|sentBytes=84`)
	if err != nil || r.SourcePort.Set || r.DestinationPort.Set || r.NetworkTransport != "icmp" || r.SourceNATIP != ip("203.0.113.2") {
		t.Errorf("ICMP: %v ports %v %v %q nat %v", err, r.SourcePort, r.DestinationPort, r.NetworkTransport, r.SourceNATIP)
	}
	r, err = parse(t, `<14>May 18 10:20:07 cgf cgf/box_Firewall_Activity:  Info     cgf Remove: type=IFWD|proto=TCP|srcIP=198.51.100.90|srcPort=61000|dstIP=203.0.113.25|dstPort=443|srcNAT=198.51.100.90|dstNAT=172.16.5.25:8443`)
	if err != nil || r.DestinationNATIP != ip("172.16.5.25") || r.DestinationNATPort != parsers.N(8443) || r.SourceNATIP.IsValid() {
		t.Errorf("NAT port: %v %v:%v src nat %v", err, r.DestinationNATIP, r.DestinationNATPort, r.SourceNATIP)
	}
}
