package w3c

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"

	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "w3c") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "w3c") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "w3c") }

// feed parses lines in order through one parser (one stream) and returns
// the record and error of the last.
func feed(t *testing.T, lines ...string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("w3c", parsers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var r parsers.Record
	for _, l := range lines {
		r.Reset()
		m := parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow}
		err = parsers.ParseLine(p, l, &m, &r)
	}
	return r, err
}

func mustFeed(t *testing.T, lines ...string) parsers.Record {
	t.Helper()
	r, err := feed(t, lines...)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return r
}

func TestSplit(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{`a b  c`, []string{"a", "b", "c"}},
		{"a\tb \t c", []string{"a", "b", "c"}},
		{`"a b" - "c ""d"" e"`, []string{"a b", "-", `c "d" e`}},
		// A lone quote not followed by a separator is literal (raw quotes
		// some writers leave in user agents).
		{`"Mozilla "X"(Y)" next`, []string{`Mozilla "X"(Y)`, "next"}},
		{`"" x`, []string{"", "x"}},
		{`  lead trail  `, []string{"lead", "trail"}},
	}
	for _, c := range cases {
		got, err := Split(c.in, nil)
		if err != nil {
			t.Errorf("%q: %v", c.in, err)
			continue
		}
		if strings.Join(got, "|") != strings.Join(c.want, "|") || len(got) != len(c.want) {
			t.Errorf("%q: got %q want %q", c.in, got, c.want)
		}
	}
	if _, err := Split(`a "open`, nil); err == nil {
		t.Error("unterminated quote accepted")
	}
	if _, err := Split(strings.Repeat("x ", MaxFields+1), nil); err == nil {
		t.Error("more than MaxFields fields accepted")
	}
}

func TestIISDefaultLayouts(t *testing.T) {
	// No #Fields yet: the IIS 8.5+ default (15 columns) and IIS 7 (14).
	r := mustFeed(t, `2026-01-15 10:00:01 192.0.2.10 GET /a.aspx x=1 443 CORP\jdoe 10.1.2.3 UA+1 https://r.example.com/ 200 0 0 15`)
	if r.SourceIP.String() != "10.1.2.3" || r.DestinationIP.String() != "192.0.2.10" || r.DestinationPort != parsers.N(443) {
		t.Fatalf("addresses: %v %v %v", r.SourceIP, r.DestinationIP, r.DestinationPort)
	}
	if r.UserName != "jdoe" || r.UserDomain != "CORP" || r.HTTPReferrer != "https://r.example.com/" {
		t.Fatalf("user %q %q referrer %q", r.UserName, r.UserDomain, r.HTTPReferrer)
	}
	if r.URLOriginal != "/a.aspx?x=1" || r.URLPath != "/a.aspx" || r.URLQuery != "x=1" {
		t.Fatalf("url %q %q %q", r.URLOriginal, r.URLPath, r.URLQuery)
	}
	if r.Duration != parsers.N(15*int64(time.Millisecond)) || r.Category != "web" || r.Verdict != parsers.VerdictUnknown {
		t.Fatalf("duration %v category %q verdict %v", r.Duration, r.Category, r.Verdict)
	}
	r = mustFeed(t, `2026-01-15 10:00:01 192.0.2.10 GET /a - 80 - 10.1.2.3 UA 404 0 2 3`)
	if r.HTTPStatus != parsers.N(404) || r.UserAgent != "UA" || r.HTTPReferrer != "" {
		t.Fatalf("iis7: status %v ua %q", r.HTTPStatus, r.UserAgent)
	}
	if _, err := feed(t, `2026-01-15 10:00:01 192.0.2.10 GET /a`); err == nil || errors.Is(err, parsers.ErrSkip) {
		t.Fatalf("short line without #Fields: %v", err)
	}
}

func TestDirectivesAndState(t *testing.T) {
	for _, d := range []string{"#Software: Microsoft Internet Information Services 10.0", "#Version: 1.0", "#Date: 2026-01-15 00:00:00", "#Remark: x", "#Fields: date time c-ip"} {
		if _, err := feed(t, d); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v", d, err)
		}
	}
	if _, err := feed(t, "#Fields:"); err == nil || errors.Is(err, parsers.ErrSkip) {
		t.Errorf("empty #Fields: %v", err)
	}
	// #Fields changes mid-stream; a time-only layout takes the #Date date;
	// r-ip names the server, so the logging host's s-ip is not the destination.
	r := mustFeed(t,
		"#Fields: date time c-ip cs-method cs-uri-stem sc-status",
		"2026-01-15 10:00:00 10.0.0.1 GET /x 200",
		"#Date: 2026-03-02 00:00:00",
		"#Fields: time c-ip s-ip r-ip r-port cs-uri time-taken",
		"08:30:00.25 10.0.0.2 192.0.2.1 198.51.100.7 8080 http://news.example.org/a 0.5")
	if got := r.Timestamp.Format(time.RFC3339Nano); got != "2026-03-02T08:30:00.25Z" {
		t.Fatalf("time %s", got)
	}
	if r.DestinationIP.String() != "198.51.100.7" || r.DestinationPort != parsers.N(8080) {
		t.Fatalf("destination %v:%v", r.DestinationIP, r.DestinationPort)
	}
	if r.Duration != parsers.N(500*int64(time.Millisecond)) || r.DestinationDomain != "news.example.org" {
		t.Fatalf("duration %v domain %q", r.Duration, r.DestinationDomain)
	}
	// Streams are independent: a fresh parser starts from the IIS default.
	if _, err := feed(t, "08:30:00 10.0.0.2 192.0.2.1 198.51.100.7 8080 http://x/ 1"); err == nil {
		t.Fatal("a new stream inherited another stream's #Fields")
	}
}

func TestBytesHostAndUsers(t *testing.T) {
	const fields = "#Fields: date time c-ip cs-username cs-host cs-uri-stem cs-uri-query sc-bytes cs-bytes"
	r := mustFeed(t, fields, `2026-01-15 10:00:00 2001:db8::5 "EXAMPLE\Jane Doe@NTLMRealm" files.example.com:8443 /up ?a=1 300 9000`)
	if r.SourceBytes != parsers.N(9000) || r.DestinationBytes != parsers.N(300) || r.NetworkBytes.Set {
		t.Fatalf("bytes: source %v destination %v network %v", r.SourceBytes, r.DestinationBytes, r.NetworkBytes)
	}
	if r.SourceIP.String() != "2001:db8::5" || r.DestinationDomain != "files.example.com" || r.URLDomain != "files.example.com" {
		t.Fatalf("source %v domain %q url domain %q", r.SourceIP, r.DestinationDomain, r.URLDomain)
	}
	if r.UserName != "Jane Doe" || r.UserDomain != "EXAMPLE" {
		t.Fatalf("user %q domain %q", r.UserName, r.UserDomain)
	}
	if r.URLQuery != "a=1" || r.URLOriginal != "/up?a=1" {
		t.Fatalf("query %q original %q", r.URLQuery, r.URLOriginal)
	}
	r = mustFeed(t, fields, `2026-01-15 10:00:00 10.0.0.1 jdoe@example.com 192.0.2.80 / - - -`)
	if r.UserName != "jdoe@example.com" || r.UserDomain != "" || r.DestinationIP.String() != "192.0.2.80" || r.DestinationDomain != "" {
		t.Fatalf("user %q/%q destination %v %q", r.UserName, r.UserDomain, r.DestinationIP, r.DestinationDomain)
	}
	if r.SourceBytes.Set || r.DestinationBytes.Set {
		t.Fatal("'-' byte counts must stay unset")
	}
}

func TestErrors(t *testing.T) {
	const fields = "#Fields: date time c-ip cs-uri-stem"
	for _, l := range []string{
		"2026-01-15 10:00:00 10.0.0.1",          // too few columns
		"2026-01-15 10:00:00 10.0.0.1 /a extra", // too many
		"2026-13-15 10:00:00 10.0.0.1 /a",       // bad date
		"2026-01-15 10:61:00 10.0.0.1 /a",       // bad clock
		"2026-01-15 10:00:00 10.0.0.999 /a",     // bad client
		`2026-01-15 10:00:00 10.0.0.1 "/a`,      // unterminated quote
	} {
		if _, err := feed(t, fields, l); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want an error, got %v", l, err)
		}
	}
}

// A header without hostname before a body that starts with the W3C date
// makes SplitHeader take the date for a hostname; the fields still align.
func TestDateTakenForHostname(t *testing.T) {
	r := mustFeed(t, "<134>Jan 15 10:10:01 2026-01-15 10:10:01 192.0.2.10 GET /a - 443 - 10.1.3.4 UA - 200 0 0 46")
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:10:01Z" || r.SourceIP.String() != "10.1.3.4" || r.URLPath != "/a" {
		t.Fatalf("time %s source %v path %q", got, r.SourceIP, r.URLPath)
	}
}

func TestDetect(t *testing.T) {
	h := parsers.Header{Priority: -1}
	cases := []struct {
		body     string
		min, max int
	}{
		{"#Software: Microsoft Internet Information Services 10.0", 90, 100},
		{"#Fields: date time c-ip cs-method cs-uri-stem", 55, 65},
		{"#Fields: date time c-ip sc-filter-result cs-categories", 0, 0},
		{"#Fields: timestamp c-ip x-acltag", 0, 0},
		{"#Version: 1.0", 0, 0},
		{"2026-01-15 10:00:01 192.0.2.10 GET /index.html - 443 - 10.1.2.3 UA - 200 0 0 15", 40, 50},
		{`date=2026-01-15 time=10:00:00 devname="FGT" devid="FGT60F" logid="0000000013" type="traffic"`, 0, 0},
		{`1768471200.123 45 10.1.5.20 TCP_MISS/200 15320 GET http://www.example.com/ - DIRECT/www.example.com text/html`, 0, 0},
		{`CEF:0|Zscaler|NSSWeblog|5.7|Allowed|None|3|act=Allowed`, 0, 0},
	}
	for _, c := range cases {
		if s := detect(c.body, &h); s < c.min || s > c.max {
			t.Errorf("%q scored %d, want %d..%d", c.body, s, c.min, c.max)
		}
	}
	if n := testing.AllocsPerRun(100, func() {
		for _, c := range cases {
			detect(c.body, &h)
		}
	}); n != 0 {
		t.Fatalf("detect allocates %v times", n)
	}
}

// BenchmarkStream measures traffic lines each parsed with the #Fields
// layout its file gave it: the shared Bench parses every line with the
// state the last file left, so lines of the other files fail.
func BenchmarkStream(b *testing.B) { parsertest.BenchStream(b, "w3c") }

func TestIISUserAgentPlus(t *testing.T) {
	r := mustFeed(t, `2026-01-15 10:00:01 192.0.2.10 GET /a - 443 - 10.1.2.3 Mozilla/5.0+(Windows+NT+10.0;+Win64;+x64) - 200 0 0 15`)
	if r.UserAgent != "Mozilla/5.0 (Windows NT 10.0; Win64; x64)" {
		t.Fatalf("ua %q", r.UserAgent)
	}
	r = mustFeed(t, "#Fields: date time c-ip cs-uri cs(User-Agent)", `2026-01-15 10:00:01 10.1.2.3 /a "Agent a+b (x)"`)
	if r.UserAgent != "Agent a+b (x)" {
		t.Fatalf("quoted ua with spaces changed: %q", r.UserAgent)
	}
}

// The hand-written IPv4 reader must agree with the general parser.
func TestIPv4FastPath(t *testing.T) {
	for _, s := range []string{"10.1.2.3", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5",
		"1..2.3", "1.2.3.", ".1.2.3", "192.0.2.010", "0.0.0.1", "10.0.0.1x", "1.2.3.4%eth0"} {
		if got, want := HostIP(s), parsers.ParseIP(s); got != want {
			t.Errorf("%q: fast %v, general %v", s, got, want)
		}
	}
}
