package fortigate

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)            { parsertest.Golden(t, "fortigate") }
func FuzzParse(f *testing.F)             { parsertest.Fuzz(f, "fortigate") }
func BenchmarkParse(b *testing.B)        { parsertest.Bench(b, "fortigate") }
func BenchmarkDetect(b *testing.B)       { benchDetect(b) }
func TestDetectIsAllocFree(t *testing.T) { detectAllocs(t) }

func parse(t *testing.T, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("fortigate", parsers.Options{})
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

const base = `date=2026-01-15 time=10:00:00 devname="FGT-A" devid="FGT60FTK21000001" logid="0000000013" type="traffic" subtype="forward" srcip=10.0.0.1 srcport=40000 dstip=198.51.100.1 dstport=443 proto=6 `

func TestBytesOrientation(t *testing.T) {
	r := mustParse(t, "<189>"+base+`action="close" sentbyte=111 rcvdbyte=2222 sentpkt=3 rcvdpkt=4`)
	if r.SourceBytes != parsers.N(111) || r.DestinationBytes != parsers.N(2222) {
		t.Fatalf("bytes: source %v destination %v", r.SourceBytes, r.DestinationBytes)
	}
	if r.SourcePackets != parsers.N(3) || r.DestinationPackets != parsers.N(4) {
		t.Fatalf("packets: %v %v", r.SourcePackets, r.DestinationPackets)
	}
	if r.NetworkBytes.Set {
		t.Fatal("network.bytes must stay unset when both directions are logged")
	}
	// CEF: out = sentbyte, in = rcvdbyte (FortiOS CEF mapping, not ArcSight's).
	r = mustParse(t, `CEF:0|Fortinet|Fortigate|v7.2|00013|traffic:forward close|3|cat=traffic:forward src=10.0.0.1 dst=198.51.100.1 act=close out=111 in=2222`)
	if r.SourceBytes != parsers.N(111) || r.DestinationBytes != parsers.N(2222) {
		t.Fatalf("cef bytes: source %v destination %v", r.SourceBytes, r.DestinationBytes)
	}
}

func TestActions(t *testing.T) {
	cases := map[string]parsers.Verdict{
		"accept": parsers.Allowed, "close": parsers.Allowed, "timeout": parsers.Allowed,
		"server-rst": parsers.Allowed, "client-rst": parsers.Allowed, "start": parsers.Allowed,
		"deny": parsers.Denied, "block": parsers.Denied, "blocked": parsers.Denied,
		"dropped": parsers.Denied, "passthrough": parsers.Allowed, "ip-conn": parsers.Allowed,
		// Traffic logs: every word but deny means the policy allowed the session.
		"dns": parsers.Allowed,
	}
	for action, want := range cases {
		r := mustParse(t, base+`action="`+action+`"`)
		if r.Verdict != want || r.EventAction != action {
			t.Errorf("action %q: verdict %v event.action %q, want %v", action, r.Verdict, r.EventAction, want)
		}
		if r.Category != "network" {
			t.Errorf("category %q", r.Category)
		}
	}
}

func TestTime(t *testing.T) {
	cases := []struct {
		name, kv, want string
	}{
		{"eventtime seconds", `eventtime=1768467600 tz="+0100"`, "2026-01-15T10:00:00+01:00"},
		{"eventtime micro", `eventtime=1768467600000001 tz="+0100"`, "2026-01-15T10:00:00.000001+01:00"},
		{"eventtime nano", `eventtime=1768467600000000001 tz="-0000"`, "2026-01-15T09:00:00.000000001Z"},
		{"date time tz", `tz="-0500"`, "2026-01-15T10:00:00-05:00"},
		{"tz UTC+h:mm", `tz="UTC+5:30"`, "2026-01-15T10:00:00+05:30"},
		{"no tz", ``, "2026-01-15T10:00:00Z"},
		{"bad tz", `tz="Mars"`, "2026-01-15T10:00:00Z"},
	}
	for _, c := range cases {
		r := mustParse(t, "<189>Jun 01 00:00:00 relay "+base+`action="close" `+c.kv)
		if got := r.Timestamp.Format(time.RFC3339Nano); got != c.want {
			t.Errorf("%s: got %s want %s", c.name, got, c.want)
		}
	}
	// Time without tz is read in the source's zone.
	p, _ := parsers.New("fortigate", parsers.Options{})
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	var r parsers.Record
	m := parsers.Meta{Location: berlin, Now: parsertest.DefaultNow}
	if err := parsers.ParseLine(p, base+`action="close"`, &m, &r); err != nil {
		t.Fatal(err)
	}
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:00:00+01:00" {
		t.Fatalf("local zone: %s", got)
	}
}

func TestApplicationIsNotService(t *testing.T) {
	r := mustParse(t, base+`action="close" service="HTTPS" app="HTTPS" appcat="unscanned"`)
	if r.NetworkApplication != "" || r.AppCategory != "" {
		t.Fatalf("service taken as app: %q %q", r.NetworkApplication, r.AppCategory)
	}
	if r.NetworkProtocol != "https" || r.NetworkTransport != "tcp" {
		t.Fatalf("protocol %q transport %q", r.NetworkProtocol, r.NetworkTransport)
	}
	r = mustParse(t, base+`action="close" service="HTTPS" appid=16177 app="Dropbox" appcat="Storage.Backup"`)
	if r.NetworkApplication != "Dropbox" || r.AppCategory != "Storage.Backup" {
		t.Fatalf("app %q cat %q", r.NetworkApplication, r.AppCategory)
	}
	r = mustParse(t, base+`action="close" service="my-custom-svc"`)
	if r.NetworkProtocol != "" || r.NetworkApplication != "" {
		t.Fatalf("custom service leaked: %q %q", r.NetworkProtocol, r.NetworkApplication)
	}
}

func TestUsersAndQuoting(t *testing.T) {
	r := mustParse(t, base+`action="close" user="CORP\jdoe" policyname="a b, c = \"d\""`)
	if r.UserName != "jdoe" || r.UserDomain != "CORP" {
		t.Fatalf("user %q domain %q", r.UserName, r.UserDomain)
	}
	if r.RuleName != `a b, c = "d"` {
		t.Fatalf("rule %q", r.RuleName)
	}
	r = mustParse(t, base+`action="close" user="" unauthuser="jdoe@example.com"`)
	if r.UserName != "jdoe@example.com" || r.UserDomain != "" {
		t.Fatalf("unauthuser %q %q", r.UserName, r.UserDomain)
	}
	r = mustParse(t, base+`action="close" user="N/A" srcname="N/A"`)
	if r.UserName != "" || r.SourceDomain != "" {
		t.Fatalf("empty markers kept: %q %q", r.UserName, r.SourceDomain)
	}
}

func TestWebfilterURL(t *testing.T) {
	r := mustParse(t, `date=2026-01-15 time=10:00:00 logid="0316013056" type="utm" subtype="webfilter" srcip=10.0.0.1 dstip=198.51.100.1 hostname="www.example.com" action="blocked" url="/a/b?c=d" catdesc="Games"`)
	if r.Category != "web" || r.Verdict != parsers.Denied {
		t.Fatalf("category %q verdict %v", r.Category, r.Verdict)
	}
	if r.URLOriginal != "/a/b?c=d" || r.URLDomain != "www.example.com" || r.URLPath != "/a/b" || r.URLQuery != "c=d" {
		t.Fatalf("url %+v", r)
	}
	if r.DestinationDomain != "www.example.com" || r.URLCategory != "Games" {
		t.Fatalf("domain %q category %q", r.DestinationDomain, r.URLCategory)
	}
	// An address in hostname is not a domain name.
	r = mustParse(t, `date=2026-01-15 time=10:00:00 logid="0316013056" type="utm" subtype="webfilter" srcip=10.0.0.1 dstip=198.51.100.1 hostname="198.51.100.1" action="passthrough" url="/"`)
	if r.DestinationDomain != "" || r.URLDomain != "198.51.100.1" {
		t.Fatalf("ip hostname: %q %q", r.DestinationDomain, r.URLDomain)
	}
}

func TestSkipsAndErrors(t *testing.T) {
	_, err := parse(t, `<189>date=2026-01-15 time=10:00:00 logid="0100032001" type="event" subtype="system" user="admin" srcip=10.0.0.5 action="login"`)
	if !errors.Is(err, parsers.ErrSkip) {
		t.Fatalf("event log: %v", err)
	}
	_, err = parse(t, `CEF:0|Fortinet|Fortigate|v7|32001|event:system login success|2|cat=event:system duser=admin`)
	if !errors.Is(err, parsers.ErrSkip) {
		t.Fatalf("cef event: %v", err)
	}
	for _, bad := range []string{
		`<189>date=2026-01-15 time=10:00:00 logid="0000000013"`,
		`<189>date=2026-01-15 type="traffic" srcip=`,
		`hello world`,
		`CEF:0|Fortinet|Fortigate|v7|00013`,
	} {
		if _, err := parse(t, bad); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want a parse error, got %v", bad, err)
		}
	}
}

func TestCEFHeaderForms(t *testing.T) {
	ext := `cat=traffic:forward src=10.0.0.1 dst=198.51.100.1 act=close app=HTTPS FTNTFGTapp=Slack FTNTFGTappid=1 msg=a b=c requestContext=x y duser=A\\b request=/p?q\=1`
	for _, line := range []string{
		`CEF:0|Fortinet|Fortigate|v7|00013|traffic:forward close|3|` + ext,
		`Jan 15 10:10:00 FGT-HQ-01 CEF: 0|Fortinet|Fortigate|v7|00013|traffic:forward close|3|` + ext,
		`<189>1 2026-01-15T09:00:00Z FGT-HQ-01 - - - - CEF:0|Fortinet|Fortigate|v7|00013|traffic:forward close|3|` + ext,
	} {
		r := mustParse(t, line)
		if r.NetworkApplication != "Slack" || r.NetworkProtocol != "https" {
			t.Errorf("%s: app %q proto %q", line[:20], r.NetworkApplication, r.NetworkProtocol)
		}
		if r.UserName != "b" || r.UserDomain != "A" || r.URLCategory != "x y" || r.URLQuery != "q=1" {
			t.Errorf("%s: user %q/%q cat %q query %q", line[:20], r.UserName, r.UserDomain, r.URLCategory, r.URLQuery)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, l := range parsertest.Lines(t, "fortigate") {
		if _, err := parse(t, l); err != nil && !errors.Is(err, parsers.ErrSkip) {
			continue // the deliberately broken lines
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if !strings.Contains(body, "devid") && !strings.Contains(body, "Fortigate") {
			continue
		}
		if s := detect(body, &h); s < 90 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	others := []string{
		`1,2026/01/15 10:00:00,012801000001,TRAFFIC,end,2561,2026/01/15 10:00:00,10.0.0.1,198.51.100.1,,,rule1,,,ssl,vsys1,trust,untrust,ethernet1/1,ethernet1/2,fwd,,1,1,40000,443,0,0,0x0,tcp,allow,100,50,50,2,2026/01/15 09:59:59,1,any,,1,0x0,10.0.0.0-10.255.255.255,United States,,1,1,tcp-fin`,
		`id=firewall sn=0017C5A1B2C3 time="2026-01-15 10:00:00" fw=203.0.113.1 pri=6 c=1024 m=537 msg="Connection Closed" src=10.0.0.1:40000:X0 dst=198.51.100.1:443:X1 proto=tcp/https sent=100 rcvd=200`,
		`1768467600.123    245 10.0.0.1 TCP_MISS/200 5120 GET http://www.example.com/ - HIER_DIRECT/198.51.100.1 text/html`,
		`CEF:0|Palo Alto Networks|PAN-OS|10.2|end|TRAFFIC|1|src=10.0.0.1 dst=198.51.100.1`,
		`devid="FPX4HETB21000001" logid="0000000013" type="traffic" subtype="forward" srcip=10.0.0.1`,
	}
	for _, l := range others {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := detect(body, &h); s >= 80 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
	h, body := parsers.SplitHeader("<189>"+base+`action="close"`, time.UTC, parsertest.DefaultNow)
	if s := detect(body, &h); s < 90 {
		t.Errorf("native line scored %d", s)
	}
}

var detectLine = `date=2026-01-15 time=10:00:00 devname="FGT-HQ-01" devid="FGT60FTK21000001" eventtime=1768467600 tz="+0100" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.10.1.25 srcport=52344 dstip=198.51.100.20 dstport=443 proto=6 action="close"`

func benchDetect(b *testing.B) {
	h := parsers.Header{Priority: 189}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		detect(detectLine, &h)
	}
}

func detectAllocs(t *testing.T) {
	h := parsers.Header{Priority: 189}
	cef := `CEF:0|Fortinet|Fortigate|v7|00013|traffic:forward close|3|src=10.0.0.1`
	if n := testing.AllocsPerRun(100, func() { detect(detectLine, &h); detect(cef, &h) }); n != 0 {
		t.Fatalf("detect allocates %v times", n)
	}
}

// TestZoneNotWritten: an IPv6 zone is not part of a logged address (and
// would reach the JSON unescaped).
func TestZoneNotWritten(t *testing.T) {
	r, err := parse(t, `date=2026-01-15 time=10:00:00 logid="1" type="traffic" srcip=fe80::1%a"b dstip=198.51.100.1 action=close`)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.AppendJSON(nil); !json.Valid(b) || r.SourceIP.Zone() != "" || r.SourceNATIP.Zone() != "" {
		t.Fatalf("zone kept: %s", b)
	}
}

// TestReviewRules covers the FortiOS Log Message Reference rules the review
// checked: any traffic action but deny means the policy allowed the
// session, a DNS filter redirect is a block, SSL logs name the server by
// SNI, the first tz wins, and FortiOS 5.6 CEF counters come labelled.
func TestReviewRules(t *testing.T) {
	r := mustParse(t, base+`action="ip-conn"`)
	if r.Verdict != parsers.Allowed {
		t.Errorf("traffic ip-conn: %v", r.Verdict)
	}
	r = mustParse(t, base+`action="close" utmaction="block"`)
	if r.Verdict != parsers.Allowed || r.EventAction != "close" {
		t.Errorf("traffic close with utmaction block: %v %q", r.Verdict, r.EventAction)
	}
	r = mustParse(t, `date=2026-01-15 time=10:00:00 logid="1501054601" type="utm" subtype="dns" srcip=10.0.0.1 dstip=192.0.2.53 dstport=53 proto=17 qname="bad.example.net" action="redirect"`)
	if r.Verdict != parsers.Denied || r.EventAction != "redirect" {
		t.Errorf("dns redirect: %v %q", r.Verdict, r.EventAction)
	}
	r = mustParse(t, `date=2026-01-15 time=10:00:00 logid="1700062300" type="utm" subtype="ssl" srcip=10.0.0.1 dstip=203.0.113.1 action="blocked" sni="expired.example.net"`)
	if r.DestinationDomain != "expired.example.net" || r.Verdict != parsers.Denied {
		t.Errorf("ssl sni: %q %v", r.DestinationDomain, r.Verdict)
	}
	r = mustParse(t, `logver=700 timestamp=1768471200 tz="UTC+1:00" `+base+`action="close" tz="+0000"`)
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:00:00+01:00" {
		t.Errorf("first tz: %s", got)
	}
	r = mustParse(t, `CEF:0|Fortinet|Fortigate|v5.6.3|00013|traffic:forward close|3|cat=traffic:forward src=10.0.0.1 dst=198.51.100.1 act=close cn1=7 cn1Label=Duration out=712 in=20480 cn2=5 cn2Label=Packets Sent cn3=6 cn3Label=Packets Received`)
	if r.Duration != parsers.N(7*int64(time.Second)) || r.SourcePackets != parsers.N(5) || r.DestinationPackets != parsers.N(6) {
		t.Errorf("cef counters: %v %v %v", r.Duration, r.SourcePackets, r.DestinationPackets)
	}
	h, body := parsers.SplitHeader("<189> "+base+`action="close"`, time.UTC, parsertest.DefaultNow)
	if s := detect(body, &h); s < 90 {
		t.Errorf("body after a space scored %d", s)
	}
}
