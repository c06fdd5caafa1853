package squid

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "squid") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "squid") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "squid") }

func parse(t *testing.T, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("squid", parsers.Options{})
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
		t.Fatalf("parse %q: %v", line, err)
	}
	return r
}

func TestNative(t *testing.T) {
	r := mustParse(t, `1768467601.456  60012 10.10.1.25 TCP_TUNNEL/200 48213 CONNECT outlook.example.com:443 CORP%5Cjdoe HIER_DIRECT/203.0.113.44 -`)
	if got := r.Timestamp.Format(time.RFC3339Nano); got != "2026-01-15T09:00:01.456Z" {
		t.Errorf("time %s", got)
	}
	if r.Duration != parsers.N(60012*int64(time.Millisecond)) {
		t.Errorf("duration %v", r.Duration)
	}
	if r.SourceIP.String() != "10.10.1.25" || r.DestinationIP.String() != "203.0.113.44" {
		t.Errorf("addresses %v %v", r.SourceIP, r.DestinationIP)
	}
	if r.DestinationDomain != "outlook.example.com" || r.DestinationPort != parsers.N(443) || r.URLPort != parsers.N(443) {
		t.Errorf("destination %q %v", r.DestinationDomain, r.DestinationPort)
	}
	if r.UserName != "jdoe" || r.UserDomain != "CORP" {
		t.Errorf("user %q %q", r.UserName, r.UserDomain)
	}
	if r.DestinationBytes != parsers.N(48213) || r.SourceBytes.Set || r.NetworkBytes.Set {
		t.Errorf("bytes: %v %v %v", r.SourceBytes, r.DestinationBytes, r.NetworkBytes)
	}
	if r.Verdict != parsers.Allowed || r.EventAction != "TCP_TUNNEL" || r.HTTPStatus != parsers.N(200) || r.Category != "web" {
		t.Errorf("verdict %v action %q status %v category %q", r.Verdict, r.EventAction, r.HTTPStatus, r.Category)
	}
	if r.HTTPContentType != "" || r.HTTPMethod != "CONNECT" {
		t.Errorf("mime %q method %q", r.HTTPContentType, r.HTTPMethod)
	}
}

func TestVerdicts(t *testing.T) {
	cases := []struct {
		tag  string
		want parsers.Verdict
	}{
		{"TCP_MISS/200", parsers.Allowed},
		{"TCP_MISS/403", parsers.Allowed}, // the origin said 403, not the proxy
		{"TCP_DENIED/403", parsers.Denied},
		{"TCP_DENIED_REPLY/403", parsers.Denied},
		{"TCP_MISS/407", parsers.Denied},
		{"NONE_NONE/400", parsers.Denied},
		{"NONE_NONE/503", parsers.VerdictUnknown},
		{"TCP_REDIRECT/302", parsers.Denied},
	}
	for _, c := range cases {
		r := mustParse(t, `1768467600.000      1 10.0.0.1 `+c.tag+` 100 GET http://www.example.com/ - HIER_NONE/- text/html`)
		if r.Verdict != c.want {
			t.Errorf("%s: verdict %v want %v", c.tag, r.Verdict, c.want)
		}
	}
}

func TestHierarchy(t *testing.T) {
	r := mustParse(t, `1768467600.000 1 10.0.0.1 TCP_MISS/200 100 GET http://www.example.com/ - FIRST_UP_PARENT/192.168.1.2 text/html`)
	if r.DestinationIP.IsValid() {
		t.Errorf("parent proxy taken as destination: %v", r.DestinationIP)
	}
	r = mustParse(t, `1768467600.000 1 10.0.0.1 TCP_MISS/200 100 GET http://www.example.com/ - TIMEOUT_CLOSEST_DIRECT/198.51.100.7 text/html`)
	if r.DestinationIP.String() != "198.51.100.7" {
		t.Errorf("direct hop: %v", r.DestinationIP)
	}
}

func TestCommonAndCombined(t *testing.T) {
	r := mustParse(t, `10.10.1.32 jsmith - [15/Jan/2026:10:00:02 +0100] "GET http://news.example.com/ HTTP/1.1" 200 900 TCP_MISS:HIER_DIRECT`)
	if r.UserName != "jsmith" || r.Timestamp.Format(time.RFC3339) != "2026-01-15T10:00:02+01:00" {
		t.Errorf("ident user %q time %s", r.UserName, r.Timestamp)
	}
	r = mustParse(t, `10.10.1.26 - - [15/Jan/2026:10:00:01 +0100] "GET http://api.example.com/v2 HTTP/1.1" 200 2200 "http://ref.example.com/" "Weird "Agent" v1" TCP_MISS:HIER_DIRECT`)
	if r.UserAgent != `Weird "Agent" v1` || r.HTTPReferrer != "http://ref.example.com/" || r.EventAction != "TCP_MISS" {
		t.Errorf("combined: ua %q ref %q action %q", r.UserAgent, r.HTTPReferrer, r.EventAction)
	}
	r = mustParse(t, `10.10.1.31 - - [15/Jan/2026:10:00:01 +0100] "CONNECT www.example.org:443 HTTP/1.1" 407 4120 TCP_DENIED:HIER_NONE`)
	if r.Verdict != parsers.Denied || r.DestinationDomain != "www.example.org" || r.DestinationPort != parsers.N(443) {
		t.Errorf("407: %v %q %v", r.Verdict, r.DestinationDomain, r.DestinationPort)
	}
}

func TestSkipsAndErrors(t *testing.T) {
	for _, l := range []string{
		`1768467606.000      0 10.10.1.40 NONE_NONE/000 0 - error:transaction-end-before-headers - HIER_NONE/- -`,
		`2026/01/15 10:00:14 kid1| Starting Squid Cache version 6.6`,
	} {
		if _, err := parse(t, l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want skip, got %v", l, err)
		}
	}
	for _, l := range []string{
		`1768467615.000    245 10.10.1.25 TCP_MISS/200`,
		`1768467615.000    245 not-an-ip TCP_MISS/200 1 GET http://a/ - HIER_NONE/- -`,
		`10.0.0.1 - - [15/Jan/2026:10:00:06 +0100 "GET http://a/ HTTP/1.1" 200 10 TCP_MISS:HIER_DIRECT`,
		`10.0.0.1 - - [15/Jan/2026:10:00:06 +0100] "GET http://a/ HTTP/1.1" 200 10`,
		`garbage`,
	} {
		if _, err := parse(t, l); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want error, got %v", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, l := range parsertest.Lines(t, "squid") {
		if _, err := parse(t, l); err != nil {
			continue
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := detect(body, &h); s < 90 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	for _, l := range []string{
		`date=2026-01-15 time=10:00:00 devid="FGT60F" logid="0000000013" type="traffic" subtype="forward"`,
		`192.0.2.1 - - [15/Jan/2026:10:00:00 +0100] "GET / HTTP/1.1" 200 512 "-" "curl/8.5.0"`,
		`1,2026/01/15 10:00:00,012801000001,TRAFFIC,end,2561,2026/01/15 10:00:00,10.0.0.1,198.51.100.1`,
		`id=firewall sn=0017C5A1B2C3 time="2026-01-15 10:00:00" m=537 src=10.0.0.1:1:X0`,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := detect(body, &h); s >= 50 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
	h := parsers.Header{Priority: -1}
	if s := detect(`2026/01/15 10:00:14 kid1| Starting Squid Cache version 6.6`, &h); s < 50 || s >= 90 {
		t.Errorf("cache.log line scored %d", s)
	}
	line := `1768467600.123    245 10.10.1.25 TCP_MISS/200 5123 GET http://www.example.com/index.html jdoe HIER_DIRECT/198.51.100.10 text/html`
	if n := testing.AllocsPerRun(100, func() { detect(line, &h) }); n != 0 {
		t.Errorf("detect allocates %v", n)
	}
}

// TestZoneNotWritten: an IPv6 zone is not part of a logged address (and
// would reach the JSON unescaped).
func TestZoneNotWritten(t *testing.T) {
	r, err := parse(t, `1768467600.123 1 fe80::1%a"b TCP_MISS/200 1 GET http://a/ - HIER_NONE/- -`)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.AppendJSON(nil); !json.Valid(b) || r.SourceIP.Zone() != "" || r.SourceNATIP.Zone() != "" {
		t.Fatalf("zone kept: %s", b)
	}
}

// TestWorkerTag: SMP Squid logs through syslog as "(squid-1)[pid]:", a tag
// the syslog header parser leaves in the body.
func TestWorkerTag(t *testing.T) {
	line := `<134>Feb 11 09:53:38 proxy01 (squid-1)[2301]: 1770800018.000     20 10.80.1.32 TCP_MISS/200 900 GET http://status.example.net/ - HIER_DIRECT/198.51.100.71 text/plain`
	r := mustParse(t, line)
	if r.SourceIP.String() != "10.80.1.32" || r.DestinationIP.String() != "198.51.100.71" || r.ObserverHostname != "proxy01" {
		t.Fatalf("worker tag: %+v", r)
	}
	h, body := parsers.SplitHeader(line, time.UTC, parsertest.DefaultNow)
	if s := detect(body, &h); s < 90 {
		t.Fatalf("detect scored %d", s)
	}
	// cache.log of a Squid without SMP workers: still Squid's, and skipped.
	cache := `2026/02/11 09:53:31| WARNING: HTTP: Invalid Response: Bad header encountered`
	if s := detect(cache, &parsers.Header{Priority: -1}); s < 30 {
		t.Fatalf("cache.log detect scored %d", s)
	}
	if _, err := parse(t, cache); !errors.Is(err, parsers.ErrSkip) {
		t.Fatalf("cache.log: %v", err)
	}
}
