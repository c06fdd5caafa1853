package bluecoat

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"

	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "bluecoat") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "bluecoat") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "bluecoat") }

func feed(t *testing.T, lines ...string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("bluecoat", parsers.Options{})
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

// v1 builds a bcreportermain_v1 line (42 columns) from the given columns,
// "-" elsewhere.
func v1(cols map[string]string) string {
	names := reporterMainV1.Names()
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = "-"
		if v, ok := cols[n]; ok {
			out[i] = v
		}
	}
	return strings.Join(out, " ")
}

func TestDefaultLayouts(t *testing.T) {
	line := v1(map[string]string{"date": "2026-01-15", "time": "10:20:00", "time-taken": "84", "c-ip": "10.20.1.15",
		"cs-username": `CORP\jdoe`, "s-supplier-name": "www.example.com", "s-supplier-ip": "203.0.113.10",
		"sc-filter-result": "OBSERVED", "cs-categories": `"Technology/Internet;Web Ads"`, "sc-status": "200",
		"s-action": "TCP_NC_MISS", "cs-method": "GET", "cs-uri-scheme": "https", "cs-host": "www.example.com",
		"cs-uri-port": "443", "cs-uri-path": "/a", "cs-uri-query": "?b=c", "s-ip": "10.20.0.1",
		"sc-bytes": "15320", "cs-bytes": "812", "x-bluecoat-application-name": `"Example App"`})
	r := mustFeed(t, line)
	if r.URLOriginal != "https://www.example.com/a?b=c" || r.URLQuery != "b=c" || r.URLPort != parsers.N(443) {
		t.Fatalf("url %q query %q port %v", r.URLOriginal, r.URLQuery, r.URLPort)
	}
	// The proxy's own address (s-ip) is never the destination.
	if r.DestinationIP.String() != "203.0.113.10" || r.DestinationDomain != "www.example.com" || r.DestinationPort != parsers.N(443) {
		t.Fatalf("destination %v %q %v", r.DestinationIP, r.DestinationDomain, r.DestinationPort)
	}
	if r.SourceBytes != parsers.N(812) || r.DestinationBytes != parsers.N(15320) {
		t.Fatalf("bytes: source %v destination %v", r.SourceBytes, r.DestinationBytes)
	}
	if r.Verdict != parsers.Allowed || r.EventAction != "OBSERVED" || r.URLCategory != "Technology/Internet;Web Ads" || r.NetworkApplication != "Example App" {
		t.Fatalf("verdict %v action %q category %q app %q", r.Verdict, r.EventAction, r.URLCategory, r.NetworkApplication)
	}
	if r.UserName != "jdoe" || r.UserDomain != "CORP" || r.Duration != parsers.N(84*int64(time.Millisecond)) {
		t.Fatalf("user %q/%q duration %v", r.UserName, r.UserDomain, r.Duration)
	}
	// main (24 columns): non-default port kept in the URL.
	r = mustFeed(t, `2026-01-15 11:00:02 5 10.30.1.37 200 TCP_HIT 52311 402 GET http updates.example.com 8080 /feed.xml - - - updates.example.com text/xml - "Updater/1.0" PROXIED unavailable - 10.30.0.1`)
	if r.URLOriginal != "http://updates.example.com:8080/feed.xml" || r.Verdict != parsers.Allowed || r.URLCategory != "" {
		t.Fatalf("main: url %q verdict %v category %q", r.URLOriginal, r.Verdict, r.URLCategory)
	}
	if _, err := feed(t, "2026-01-15 11:00:02 5 10.30.1.37 200 TCP_HIT"); err == nil || errors.Is(err, parsers.ErrSkip) {
		t.Fatalf("unknown column count: %v", err)
	}
}

func TestVerdicts(t *testing.T) {
	const fields = "#Fields: date time c-ip cs-uri sc-filter-result x-exception-id s-action"
	cases := []struct {
		filter, exception, action string
		want                      parsers.Verdict
		event                     string
	}{
		{"OBSERVED", "-", "TCP_HIT", parsers.Allowed, "OBSERVED"},
		{"PROXIED", "-", "TCP_TUNNELED", parsers.Allowed, "PROXIED"},
		{"DENIED", "-", "TCP_DENIED", parsers.Denied, "DENIED"},
		{"DENIED", "policy_denied", "TCP_DENIED", parsers.Denied, "policy_denied"},
		{"OBSERVED", "authentication_required", "TCP_AUTH_MISS", parsers.Denied, "authentication_required"},
		{"-", "-", "TCP_NC_MISS", parsers.VerdictUnknown, "TCP_NC_MISS"},
		{"-", "-", "TCP_DENIED", parsers.Denied, "TCP_DENIED"},
	}
	for _, c := range cases {
		r := mustFeed(t, fields, "2026-01-15 10:00:00 10.0.0.1 http://www.example.com/ "+c.filter+" "+c.exception+" "+c.action)
		if r.Verdict != c.want || r.EventAction != c.event {
			t.Errorf("%s/%s/%s: verdict %v action %q, want %v %q", c.filter, c.exception, c.action, r.Verdict, r.EventAction, c.want, c.event)
		}
	}
	// Without a filter-result column, a cache action that is no denial
	// means the request was served.
	r := mustFeed(t, "#Fields: date time c-ip cs-uri s-action", "2026-01-15 10:00:00 10.0.0.1 http://www.example.com/ TCP_HIT")
	if r.Verdict != parsers.Allowed {
		t.Fatalf("TCP_HIT without sc-filter-result: %v", r.Verdict)
	}
}

func TestDetect(t *testing.T) {
	checked := 0
	for _, l := range parsertest.Lines(t, "bluecoat") {
		if _, err := feed(t, l); err != nil && !errors.Is(err, parsers.ErrSkip) {
			continue // the deliberately broken lines
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		own := strings.HasPrefix(body, "#Software: SGOS") ||
			strings.HasPrefix(body, "#Fields:") && strings.Contains(body, "sc-filter-result") ||
			!strings.HasPrefix(body, "#") && (strings.Contains(body, " OBSERVED ") || strings.Contains(body, " DENIED ") || strings.Contains(body, " PROXIED "))
		if !own {
			continue // generic directives and lines without ProxySG markers
		}
		checked++
		if s := detect(body, &h); s < 90 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	if checked < 12 {
		t.Fatalf("only %d own lines checked", checked)
	}
	h := parsers.Header{Priority: -1}
	for _, other := range []string{
		"2026-01-15 10:00:01 192.0.2.10 GET /index.html - 443 - 10.1.2.3 UA - 200 0 0 15",
		"#Software: Microsoft Internet Information Services 10.0",
		"#Fields: date time c-ip cs-method cs-uri-stem",
		"#Fields: timestamp c-ip x-acltag",
		"1768471200.123 45 10.1.5.20 TCP_DENIED/403 0 GET http://www.example.com/ - NONE/- - BLOCK_WEBCAT_12-AP-ID-NONE-NONE-NONE-DefaultGroup-NONE <-> -",
		`"Thu Jan 15 10:30:00 2026","jdoe@example.com","HTTPS","www.example.com/","Blocked"`,
	} {
		if s := detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
	body := "2026-01-15 10:20:04 150 10.20.1.18 CORP\\mlee - downloads.example.net 203.0.113.77 - 0 - DENIED - - 403 TCP_NC_MISS GET"
	if n := testing.AllocsPerRun(100, func() { detect(body, &h) }); n != 0 {
		t.Fatalf("detect allocates %v times", n)
	}
}

// BenchmarkStream measures traffic lines each parsed with the #Fields
// layout its file gave it: the shared Bench parses every line with the
// state the last file left, so lines of the other files fail.
func BenchmarkStream(b *testing.B) { parsertest.BenchStream(b, "bluecoat") }

func TestSGOS6MainAndErrorExceptions(t *testing.T) {
	// SGOS 5/6 main: 25 columns, s-hierarchy before s-supplier-name.
	r := mustFeed(t, `2026-03-03 14:22:13 66 10.50.8.17 200 TCP_MISS 5310 488 GET http updates.example.com 80 /v2/m.json - - - DIRECT updates.example.com application/json - "Updater/4.1" OBSERVED "Software Downloads" - 10.50.0.6`)
	if r.DestinationDomain != "updates.example.com" || r.HTTPContentType != "application/json" || r.UserAgent != "Updater/4.1" || r.Verdict != parsers.Allowed {
		t.Fatalf("main/25: %q %q %q %v", r.DestinationDomain, r.HTTPContentType, r.UserAgent, r.Verdict)
	}
	// A DNS failure is no policy decision: the filter result stands.
	r = mustFeed(t, v1(map[string]string{"date": "2026-03-03", "time": "14:22:14", "c-ip": "10.0.0.1", "x-exception-id": "dns_unresolved_hostname",
		"sc-filter-result": "OBSERVED", "cs-host": "nosuch.example.invalid", "s-action": "TCP_ERR_MISS"}))
	if r.Verdict != parsers.Allowed || r.EventAction != "dns_unresolved_hostname" {
		t.Fatalf("dns error: %v %q", r.Verdict, r.EventAction)
	}
	r = mustFeed(t, v1(map[string]string{"date": "2026-03-03", "time": "14:22:14", "c-ip": "10.0.0.1", "x-exception-id": "policy_denied",
		"sc-filter-result": "OBSERVED", "cs-host": "x.example.com", "x-bluecoat-application-name": "Example", "x-bluecoat-application-groups": `"Cloud Storage"`}))
	if r.Verdict != parsers.Denied || r.AppCategory != "Cloud Storage" {
		t.Fatalf("policy exception: %v app category %q", r.Verdict, r.AppCategory)
	}
}
