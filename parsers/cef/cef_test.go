package cef

import (
	"errors"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, Name) }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, Name) }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, Name) }

func parse(t *testing.T, line string) (parsers.Record, error) {
	t.Helper()
	p, err := New(parsers.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	var r parsers.Record
	m := parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow}
	err = parsers.ParseLine(p, line, &m, &r)
	return r, err
}

func TestFields(t *testing.T) {
	r, err := parse(t, `<134>Jun 14 09:15:03 fw01.example.com CEF:0|Acme|NetGuard|4.2|100|Connection allowed|3|src=10.1.2.3 spt=51514 dst=203.0.113.10 dpt=443 proto=TCP act=allow in=1200 out=56000 rt=1781428503000 suser=CORP\\jdoe app=HTTPS msg=a \= b cs1Label=Rule Name cs1=allow-web`)
	if err != nil {
		t.Fatal(err)
	}
	want := time.Date(2026, 6, 14, 9, 15, 3, 0, time.UTC)
	switch {
	case !r.Timestamp.Equal(want):
		t.Errorf("timestamp %v", r.Timestamp)
	case r.SourceIP.String() != "10.1.2.3" || r.SourcePort.V != 51514 || r.DestinationIP.String() != "203.0.113.10" || r.DestinationPort.V != 443:
		t.Errorf("endpoints %v:%v -> %v:%v", r.SourceIP, r.SourcePort, r.DestinationIP, r.DestinationPort)
	case r.SourceBytes.V != 1200 || r.DestinationBytes.V != 56000:
		t.Errorf("bytes: ArcSight in is source->destination; got src=%v dst=%v", r.SourceBytes, r.DestinationBytes)
	case r.UserName != "jdoe" || r.UserDomain != "CORP":
		t.Errorf("user %q domain %q", r.UserName, r.UserDomain)
	case r.Verdict != parsers.Allowed || r.EventAction != "allow" || r.Category != "network":
		t.Errorf("verdict %v action %q category %q", r.Verdict, r.EventAction, r.Category)
	case r.NetworkTransport != "tcp" || r.NetworkProtocol != "https" || r.NetworkApplication != "":
		t.Errorf("transport %q protocol %q app %q", r.NetworkTransport, r.NetworkProtocol, r.NetworkApplication)
	case r.ObserverVendor != "Acme" || r.ObserverProduct != "NetGuard" || r.ObserverHostname != "fw01.example.com" || r.RuleName != "allow-web":
		t.Errorf("observer %q %q %q rule %q", r.ObserverVendor, r.ObserverProduct, r.ObserverHostname, r.RuleName)
	}
}

func TestWebAndTimes(t *testing.T) {
	r, err := parse(t, `CEF:0|Acme\|Labs|Proxy|1|200|Request denied|8|src=10.1.2.8 dst=203.0.113.14 act=denied request=https://files.example.net/up?x=1&y=2 requestMethod=POST rt=Jun 14 2026 07:17:00 start=1781431200000 end=1781431500000`)
	if err != nil {
		t.Fatal(err)
	}
	if r.ObserverVendor != "Acme|Labs" || r.URLDomain != "files.example.net" || r.URLQuery != "x=1&y=2" || r.HTTPMethod != "POST" || r.Category != "web" || r.Verdict != parsers.Denied {
		t.Errorf("%+v", r)
	}
	if !r.Timestamp.Equal(time.Date(2026, 6, 14, 7, 17, 0, 0, time.UTC)) {
		t.Errorf("rt wins over end: %v", r.Timestamp)
	}
	if r.Duration.V != int64(5*time.Minute) {
		t.Errorf("duration %v", r.Duration)
	}
}

func TestSkipAndErrors(t *testing.T) {
	if _, err := parse(t, `CEF:0|Acme|NetGuard|4.2|500|Administrator login|5|suser=admin msg=ok`); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("admin login: %v", err)
	}
	for _, bad := range []string{`CEF:0|Acme|truncated`, `hello world`, `<134>Jun 14 09:15:03 fw01 not cef at all`} {
		if _, err := parse(t, bad); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want a parse error, got %v", bad, err)
		}
	}
}

func TestDetect(t *testing.T) {
	h := parsers.Header{Priority: -1}
	for _, l := range parsertest.Lines(t, Name) {
		hdr, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := Detect(body, &hdr); s < 50 || s > 60 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	for _, other := range []string{
		`date=2025-01-15 time=10:00:00 devname="FG100" devid="FG100E" logid="0000000013" type="traffic"`,
		`LEEF:1.0|Acme|NetGuard|1|100|src=10.0.0.1`,
		`1,2025/01/15 10:00:00,001801000000,TRAFFIC,end,2561`,
		`%ASA-6-302013: Built outbound TCP connection`,
		`msg contains CEF: but no header`,
	} {
		if s := Detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
}

// A relay that parses "CEF: 0|..." as RFC 3164 takes "CEF:" as the TAG;
// the message is still CEF.
func TestTagTakenByRelay(t *testing.T) {
	line := `<134>Jun 14 10:20:00 fw-gw2.example.com CEF: 0|Hillstone Networks|StoneOS|5.5R9|0x4431|Session end|3|src=10.9.8.7 spt=61000 dst=203.0.113.33 dpt=53 proto=UDP act=permit in=74 out=190`
	r, err := parse(t, line)
	if err != nil {
		t.Fatal(err)
	}
	if r.ObserverVendor != "Hillstone Networks" || r.DestinationPort.V != 53 || r.SourceBytes.V != 74 || r.ObserverHostname != "fw-gw2.example.com" {
		t.Errorf("%+v", r)
	}
	h, body := parsers.SplitHeader(line, time.UTC, parsertest.DefaultNow)
	if s := Detect(body, &h); s < 50 {
		t.Errorf("detect %d", s)
	}
}

// Vendors that document in/out from the client's side: Palo Alto Networks
// (in = bytes_received, out = bytes_sent; app = App-ID).
func TestVendorByteDirection(t *testing.T) {
	r, err := parse(t, `CEF:0|Palo Alto Networks|PAN-OS|10.2|TRAFFIC|end|3|rt=Jun 14 2026 08:00:03 dtz=UTC src=10.20.30.40 dst=203.0.113.80 spt=51234 dpt=443 proto=TCP act=allow app=ssl in=88420 out=2310`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceBytes.V != 2310 || r.DestinationBytes.V != 88420 || r.NetworkApplication != "ssl" || r.NetworkProtocol != "" {
		t.Errorf("src %v dst %v app %q protocol %q", r.SourceBytes, r.DestinationBytes, r.NetworkApplication, r.NetworkProtocol)
	}
	r, err = parse(t, `CEF:0|Hillstone Networks|StoneOS|5.5|1|Session end|3|src=10.9.8.7 dst=203.0.113.33 dpt=53 act=permit in=74 out=190 app=DNS`)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceBytes.V != 74 || r.DestinationBytes.V != 190 || r.NetworkProtocol != "dns" || r.NetworkApplication != "" {
		t.Errorf("ArcSight default: src %v dst %v protocol %q app %q", r.SourceBytes, r.DestinationBytes, r.NetworkProtocol, r.NetworkApplication)
	}
}

// dtz gives the zone of rt values written without one.
func TestDeviceTimeZone(t *testing.T) {
	r, err := parse(t, `CEF:0|Acme|FW|1|1|Conn|3|rt=Jun 14 2026 14:45:00 dtz=+02:00 src=10.0.0.1 dst=203.0.113.1 act=allow`)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Timestamp.Equal(time.Date(2026, 6, 14, 12, 45, 0, 0, time.UTC)) {
		t.Errorf("timestamp %v", r.Timestamp)
	}
}

// Events that name no destination, or name an administrative event, are
// not traffic even with a source address; a verdict word in the name is
// used when act is missing.
func TestNonTrafficAndNameVerdict(t *testing.T) {
	for _, l := range []string{
		`CEF:0|Trend Micro|Deep Security Manager|20.0|600|User Signed In|3|src=10.10.1.5 suser=MasterAdmin`,
		`CEF:0|Acme|FW|1|2001|Admin login|5|src=10.1.1.50 dst=10.1.1.1 dpt=443 suser=admin act=success`,
		`CEF:0|Acme|FW|1|2002|Configuration changed|5|src=10.1.1.50 dst=10.1.1.1 suser=admin`,
	} {
		if _, err := parse(t, l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v", l, err)
		}
	}
	r, err := parse(t, `CEF:0|Acme|FW|1|3|Connection blocked|5|src=10.0.0.1 dst=203.0.113.1 dpt=22`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != parsers.Denied || r.EventAction != "blocked" {
		t.Errorf("verdict %v action %q", r.Verdict, r.EventAction)
	}
}
