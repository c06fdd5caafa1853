package sophosutm

import (
	"errors"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "sophos-utm") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "sophos-utm") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "sophos-utm") }

func parseIn(t *testing.T, loc *time.Location, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("sophos-utm", parsers.Options{Location: loc})
	if err != nil {
		t.Fatal(err)
	}
	var r parsers.Record
	m := parsers.Meta{Location: loc, Now: parsertest.DefaultNow}
	err = parsers.ParseLine(p, line, &m, &r)
	return r, err
}

func mustParse(t *testing.T, line string) parsers.Record {
	t.Helper()
	r, err := parseIn(t, time.UTC, line)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return r
}

const httpHead = `<30>2026:01:15-10:00:00 utm-hq httpproxy[6267]: id="0001" severity="info" sys="SecureWeb" sub="http" name="http access" `

func TestWeb(t *testing.T) {
	r := mustParse(t, httpHead+`action="pass" method="GET" srcip="10.0.0.1" dstip="203.0.113.5" user="jdoe" group="Web Users" ad_domain="CORP" statuscode="200" size="15320" url="https://www.example.com:8443/a?b=c d" referer="https://r.example.com/" ua="Mozilla/5.0 (x=y, z)" categoryname="Internet Services" application="examplecdn" content-type="text/html"`)
	if r.Verdict != parsers.Allowed || r.EventAction != "pass" || r.Category != "web" {
		t.Fatalf("verdict %v action %q category %q", r.Verdict, r.EventAction, r.Category)
	}
	// size is what the proxy delivered to the client.
	if r.DestinationBytes != parsers.N(15320) || r.SourceBytes.Set || r.NetworkBytes.Set {
		t.Fatalf("bytes %v %v %v", r.SourceBytes, r.DestinationBytes, r.NetworkBytes)
	}
	if r.UserName != "jdoe" || r.UserDomain != "CORP" {
		t.Fatalf("user %q domain %q", r.UserName, r.UserDomain)
	}
	if r.DestinationDomain != "www.example.com" || r.DestinationPort != parsers.N(8443) || r.DestinationIP.String() != "203.0.113.5" || r.URLQuery != "b=c d" {
		t.Fatalf("destination %q %v %v query %q", r.DestinationDomain, r.DestinationPort, r.DestinationIP, r.URLQuery)
	}
	if r.UserAgent != "Mozilla/5.0 (x=y, z)" || r.URLCategory != "Internet Services" || r.NetworkApplication != "examplecdn" || r.HTTPContentType != "text/html" {
		t.Fatalf("ua %q category %q app %q ct %q", r.UserAgent, r.URLCategory, r.NetworkApplication, r.HTTPContentType)
	}
	// The header time, device-local, is the event time.
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:00:00Z" || r.ObserverHostname != "utm-hq" {
		t.Fatalf("time %s host %q", got, r.ObserverHostname)
	}
	cases := map[string]parsers.Verdict{"block": parsers.Denied, "warn": parsers.Denied}
	for action, want := range cases {
		r := mustParse(t, httpHead+`action="`+action+`" method="GET" srcip="10.0.0.1" url="http://x.example.com/" user="CORP\mlee" ad_domain="OTHER"`)
		if r.Verdict != want || r.UserName != "mlee" || r.UserDomain != "CORP" {
			t.Errorf("%s: verdict %v user %q/%q", action, r.Verdict, r.UserName, r.UserDomain)
		}
	}
}

func TestPacketFilter(t *testing.T) {
	const head = `<30>2026:01:15-10:00:06 utm-hq ulogd[12511]: id="2001" severity="info" sys="SecureNet" sub="packetfilter" name="x" `
	cases := map[string]parsers.Verdict{"drop": parsers.Denied, "reject": parsers.Denied, "accept": parsers.Allowed, "DNS request": parsers.Allowed}
	for action, want := range cases {
		r := mustParse(t, head+`action="`+action+`" fwrule="60001" srcmac="00:11:22:33:44:55" srcip="2001:db8::1" dstip="2001:db8::2" proto="6" length="60" srcport="51234" dstport="443"`)
		if r.Verdict != want || r.EventAction != action || r.Category != "network" {
			t.Errorf("%s: verdict %v action %q category %q", action, r.Verdict, r.EventAction, r.Category)
		}
		if r.SourcePort != parsers.N(51234) || r.DestinationPort != parsers.N(443) || r.NetworkTransport != "tcp" || r.SourceMAC != "00:11:22:33:44:55" {
			t.Errorf("ports %v %v transport %q mac %q", r.SourcePort, r.DestinationPort, r.NetworkTransport, r.SourceMAC)
		}
		if r.SourceBytes.Set || r.DestinationBytes.Set || r.NetworkBytes.Set {
			t.Errorf("a packet length is not a byte count of the session")
		}
	}
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	r, err := parseIn(t, berlin, head+`action="drop" srcip="10.0.0.1" dstip="10.0.0.2" proto="17"`)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:00:06+01:00" || r.NetworkTransport != "udp" {
		t.Fatalf("local header time %s transport %q", got, r.NetworkTransport)
	}
}

func TestSkipsAndErrors(t *testing.T) {
	for _, l := range []string{
		httpHead[:len(httpHead)-len(`name="http access" `)] + `request="0x1" function="ssl_raw_read" file="ssl.c" line="1012" message="SSL error"`,
		`<30>2026:01:15-10:00:04 utm-hq httpproxy[6267]: id="0072" severity="info" sys="SecureWeb" sub="http" name="Contentfilter warned and proceeded" url="http://x.example.com/" srcip="10.0.0.1"`,
		`<30>2026:01:15-10:00:11 utm-hq confd[4321]: id="0118" severity="info" sys="System" sub="confd" name="Object changed" user="admin" srcip="10.0.0.5"`,
		`<30>2026:01:15-10:00:12 utm-hq snort[2201]: id="2101" severity="warn" sys="SecureNet" sub="ips" action="drop" srcip="203.0.113.1" dstip="10.0.0.1"`,
	} {
		if _, err := parseIn(t, time.UTC, l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want ErrSkip, got %v", l, err)
		}
	}
	for _, l := range []string{
		`<30>2026:01:15-10:00:14 utm-hq ulogd[1]: id="2001" severity="info" sys="SecureNet" sub="packetfilter" action="drop" srcip="" dstip=""`,
		`<30>2026:01:15-10:00:14 utm-hq httpproxy[1]: id="0001" severity="info" sys="SecureWeb" sub="http" action="pass" method="GET" srcip="10.0.0.999"`,
		`<30>2026:01:15-10:00:15 utm-hq httpproxy[1]: severity="info" url="http://x.example.com/"`,
		`<30>2026:01:15-10:00:16 utm-hq httpproxy[1]: id="0001" severity="info" action="pass"`,
		`plain text`,
	} {
		if _, err := parseIn(t, time.UTC, l); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want an error, got %v", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	checked := 0
	for _, l := range parsertest.Lines(t, "sophos-utm") {
		if _, err := parseIn(t, time.UTC, l); err != nil && !errors.Is(err, parsers.ErrSkip) {
			continue
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		checked++
		if s := detect(body, &h); s < 90 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	if checked < 12 {
		t.Fatalf("only %d lines checked", checked)
	}
	h := parsers.Header{Priority: 30}
	for _, other := range []string{
		`device="SFW" date=2026-01-15 time=10:00:00 log_type="Firewall" log_component="Firewall Rule"`,
		`id=firewall sn=0017C5A1B2C3 time="2026-01-15 10:00:00" fw=203.0.113.1 pri=6 c=1024 m=537`,
		`date=2026-01-15 time=10:00:00 devname="FGT" devid="FGT60F" logid="0000000013" type="traffic"`,
	} {
		if s := detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
	body := `id="0001" severity="info" sys="SecureWeb" sub="http" name="http access" action="pass" method="GET" srcip="10.0.0.1"`
	if n := testing.AllocsPerRun(100, func() { detect(body, &h) }); n != 0 {
		t.Fatalf("detect allocates %v times", n)
	}
}

func TestCategoryRepeats(t *testing.T) {
	r := mustParse(t, `<30>2026:01:15-10:00:02 utm-hq httpproxy[6267]: id="0064" severity="info" sys="SecureWeb" sub="http" name="web request blocked" action="block" method="GET" srcip="10.0.0.1" url="http://x.example.com/" categoryname="Business,Business,Business"`)
	if r.URLCategory != "Business" {
		t.Fatalf("repeated category: %q", r.URLCategory)
	}
	r = mustParse(t, `<30>2026:01:15-10:00:02 utm-hq httpproxy[6267]: id="0001" severity="info" sys="SecureWeb" sub="http" name="http access" action="pass" method="GET" srcip="10.0.0.1" url="http://x.example.com/" categoryname="News,Business,News"`)
	if r.URLCategory != "News,Business" {
		t.Fatalf("mixed categories: %q", r.URLCategory)
	}
}
