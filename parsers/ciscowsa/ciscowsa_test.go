package ciscowsa

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"

	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "cisco-wsa") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "cisco-wsa") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "cisco-wsa") }

func feed(t *testing.T, lines ...string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("cisco-wsa", parsers.Options{})
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

const verdicts = `<IW_comp,6.9,0,"Trojan Phisher",0,0,0,1,"-",-,-,-,"-",1,-,"-","-",-,-,IW_comp,-,"a > b","-","Unknown","Unknown","-","-",2722.77,0,->`

func native(result, method, url, user, hier, acl string) string {
	return "1768471200.123 45 10.1.5.20 " + result + " 15320 " + method + " " + url + " " + user + " " + hier + " text/html " + acl + " " + verdicts + " -"
}

func TestNativeFields(t *testing.T) {
	r := mustFeed(t, native("TCP_MISS/200", "GET", "http://www.example.com:8080/a?b=c", `"CORP\Jane Doe@NTLMRealm"`, "DIRECT/www.example.com", "DEFAULT_CASE_12-AP.Users-ID.Users-NONE-NONE-NONE-DefaultGroup-NONE"))
	if got := r.Timestamp.Format(time.RFC3339Nano); got != "2026-01-15T10:00:00.123Z" {
		t.Fatalf("time %s", got)
	}
	if r.Duration != parsers.N(45*int64(time.Millisecond)) || r.SourceIP.String() != "10.1.5.20" || r.HTTPStatus != parsers.N(200) {
		t.Fatalf("duration %v source %v status %v", r.Duration, r.SourceIP, r.HTTPStatus)
	}
	// The size is what the proxy sent to the client: one direction only.
	if r.DestinationBytes != parsers.N(15320) || r.SourceBytes.Set || r.NetworkBytes.Set {
		t.Fatalf("bytes: %v %v %v", r.SourceBytes, r.DestinationBytes, r.NetworkBytes)
	}
	if r.UserName != "Jane Doe" || r.UserDomain != "CORP" {
		t.Fatalf("user %q domain %q", r.UserName, r.UserDomain)
	}
	if r.URLDomain != "www.example.com" || r.URLPort != parsers.N(8080) || r.DestinationPort != parsers.N(8080) || r.DestinationDomain != "www.example.com" {
		t.Fatalf("url %+v", r)
	}
	if r.HTTPContentType != "text/html" || r.Category != "web" || r.EventAction != "DEFAULT_CASE_12" {
		t.Fatalf("mime %q category %q action %q", r.HTTPContentType, r.Category, r.EventAction)
	}
	// Transparent CONNECT: the URL is ip:port, the server name is in the hierarchy.
	r = mustFeed(t, native("TCP_MISS/200", "TCP_CONNECT", "203.0.113.50:443", "-", "DIRECT/files.example.com", "PASSTHRU_CUSTOMCAT_7-DP-ID-NONE-NONE-NONE-DefaultGroup-NONE"))
	if r.DestinationIP.String() != "203.0.113.50" || r.DestinationDomain != "files.example.com" || r.DestinationPort != parsers.N(443) || r.UserName != "" {
		t.Fatalf("connect: %v %q %v user %q", r.DestinationIP, r.DestinationDomain, r.DestinationPort, r.UserName)
	}
	// A parent proxy in the hierarchy is not the destination.
	r = mustFeed(t, native("TCP_MISS/200", "GET", "http://www.example.org/", "jdoe@example.com", "DEFAULT_PARENT/198.51.100.3", "DEFAULT_CASE_12-DefaultGroup-NONE"))
	if r.DestinationIP.IsValid() || r.DestinationDomain != "www.example.org" || r.UserName != "jdoe@example.com" {
		t.Fatalf("parent: %v %q user %q", r.DestinationIP, r.DestinationDomain, r.UserName)
	}
}

func TestVerdicts(t *testing.T) {
	cases := []struct {
		result, acl string
		want        parsers.Verdict
	}{
		{"TCP_MISS/200", "DEFAULT_CASE_12-DefaultGroup-NONE", parsers.Allowed},
		{"TCP_MISS/200", "ALLOW_WBRS_11-AP-NONE", parsers.Allowed},
		{"TCP_MISS/200", "PASSTHRU_WEBCAT_7-DP-NONE", parsers.Allowed},
		{"TCP_MISS/200", "MONITOR_AMW_RESP_11-AP-NONE", parsers.Allowed},
		{"TCP_MISS_SSL/200", "DECRYPT_WEBCAT_7-DP-NONE", parsers.Allowed},
		{"TCP_DENIED/403", "BLOCK_WEBCAT_12-AP-NONE", parsers.Denied},
		{"TCP_MISS/200", "BLOCK_AMW_RESP_11-AP-NONE", parsers.Denied},
		{"TCP_DENIED/407", "OTHER-NONE-NONE", parsers.Denied},
		{"NONE/407", "OTHER-NONE-NONE", parsers.Denied},
		{"NONE/503", "OTHER-NONE-NONE", parsers.VerdictUnknown},
	}
	for _, c := range cases {
		r := mustFeed(t, native(c.result, "GET", "http://www.example.com/", "-", "NONE/-", c.acl))
		if r.Verdict != c.want {
			t.Errorf("%s %s: verdict %v, want %v", c.result, c.acl, r.Verdict, c.want)
		}
	}
}

func TestW3CSubscription(t *testing.T) {
	r := mustFeed(t,
		"#Fields: timestamp x-elapsed-time c-ip x-resultcode-httpstatus sc-bytes cs-bytes cs-method cs-url cs-username x-hierarchy-origin x-acltag x-avc-app x-webcat-code-abbr",
		`1768474800.015 88 10.1.6.10 TCP_DENIED/403 0 1200 POST https://docs.example.com/edit CORP\mlee DIRECT/198.51.100.5 BLOCK_AVC_12-AP-ID-NONE "Example Docs" IW_comp`)
	if r.Verdict != parsers.Denied || r.EventAction != "BLOCK_AVC_12" || r.HTTPStatus != parsers.N(403) {
		t.Fatalf("verdict %v action %q status %v", r.Verdict, r.EventAction, r.HTTPStatus)
	}
	if r.SourceBytes != parsers.N(1200) || r.DestinationBytes != parsers.N(0) || r.DestinationIP.String() != "198.51.100.5" {
		t.Fatalf("bytes %v %v destination %v", r.SourceBytes, r.DestinationBytes, r.DestinationIP)
	}
	if r.NetworkApplication != "Example Docs" || r.URLCategory != "IW_comp" || r.UserName != "mlee" || r.Duration != parsers.N(88*int64(time.Millisecond)) {
		t.Fatalf("app %q category %q user %q duration %v", r.NetworkApplication, r.URLCategory, r.UserName, r.Duration)
	}
}

func TestErrors(t *testing.T) {
	for _, l := range []string{
		"1768471200.123 45 10.1.5.20 TCP_MISS/200",
		"hello world",
		"1768471200.123 45 10.1.5.999 TCP_MISS/200 1 GET http://x/ - NONE/- - DEFAULT_CASE_12-X <-> -",
		"1768471200.123 45 10.1.5.20 TCP_MISS 1 GET http://x/ - NONE/- - DEFAULT_CASE_12-X <-> -",
		`1768471200.123 45 10.1.5.20 TCP_MISS/200 1 GET http://x/ "unterminated NONE/- - DEFAULT_CASE_12-X`,
	} {
		if _, err := feed(t, l); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want an error, got %v", l, err)
		}
	}
	if _, err := feed(t, "#Version: 1.0"); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("directive: %v", err)
	}
}

func TestDetect(t *testing.T) {
	checked := 0
	for _, l := range parsertest.Lines(t, "cisco-wsa") {
		if _, err := feed(t, l); err != nil && !errors.Is(err, parsers.ErrSkip) {
			continue
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if strings.HasPrefix(body, "#") && !strings.Contains(body, "x-acltag") {
			continue // generic directives
		}
		checked++
		if s := detect(body, &h); s < 93 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	if checked < 10 {
		t.Fatalf("only %d own lines checked", checked)
	}
	h := parsers.Header{Priority: -1}
	for _, other := range []string{
		// Squid's native log shares the leading columns but has no ACL tag.
		"1768467600.123    245 10.0.0.1 TCP_MISS/200 5120 GET http://www.example.com/ - HIER_DIRECT/198.51.100.1 text/html",
		"2026-01-15 10:00:01 192.0.2.10 GET /index.html - 443 - 10.1.2.3 UA - 200 0 0 15",
		"#Fields: date time c-ip sc-filter-result",
		`device="SFW" date=2026-01-15 time=10:00:00 log_type="Firewall" log_component="Firewall Rule"`,
	} {
		if s := detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
	body := native("TCP_MISS/200", "GET", "http://www.example.com/", "-", "DIRECT/www.example.com", "DEFAULT_CASE_12-DefaultGroup-NONE")
	if n := testing.AllocsPerRun(100, func() { detect(body, &h) }); n != 0 {
		t.Fatalf("detect allocates %v times", n)
	}
}

// BenchmarkStream measures traffic lines each parsed with the #Fields
// layout its file gave it: the shared Bench parses every line with the
// state the last file left, so lines of the other files fail.
func BenchmarkStream(b *testing.B) { parsertest.BenchStream(b, "cisco-wsa") }

// On the WSA, s-ip, s-port and s-computername describe the server the
// proxy contacted, not the appliance.
func TestW3CServerFields(t *testing.T) {
	r := mustFeed(t, "#Fields: timestamp c-ip x-resultcode-httpstatus cs-url x-acltag s-ip s-port s-computername",
		`1771233600.115 10.70.2.10 TCP_MISS/200 https://mail.example.org/inbox DEFAULT_CASE_12-P-ID-NONE 203.0.113.25 443 "mail.example.org"`)
	if r.DestinationIP.String() != "203.0.113.25" || r.DestinationPort != parsers.N(443) || r.DestinationDomain != "mail.example.org" || r.ObserverHostname != "" {
		t.Fatalf("destination %v:%v %q observer %q", r.DestinationIP, r.DestinationPort, r.DestinationDomain, r.ObserverHostname)
	}
}

func TestNativeVerdictBlockAndTags(t *testing.T) {
	r := mustFeed(t, `1771233170.412 215 10.70.1.14 TCP_MISS/200 48211 GET https://docs.example.com/ - DIRECT/docs.example.com text/html DEFAULT_CASE_12-P-ID-NONE <"IW_comp",6.2,0,"-",0,0,0,1,"-",-,-,-,"-",1,-,"-","-",-,-,"IW_comp",-,"-","-","Example Docs","Collaboration","Viewing","-",1.0,0> "Wget/1.24.5"`)
	if r.NetworkApplication != "Example Docs" || r.AppCategory != "Collaboration" || r.UserAgent != "Wget/1.24.5" {
		t.Fatalf("app %q/%q ua %q", r.NetworkApplication, r.AppCategory, r.UserAgent)
	}
	for tag, want := range map[string]parsers.Verdict{"DROP_ADMIN_12": parsers.Denied, "NO_PASSWORD": parsers.Denied,
		"REDIRECT_CUSTOMCAT_11": parsers.Denied, "DECRYPT_WEBCAT_7": parsers.Allowed} {
		r := mustFeed(t, `1771233170.412 1 10.70.1.14 TCP_MISS/200 1 GET http://x.example.com/ - DIRECT/x.example.com - `+tag+`-P-ID-NONE <-> -`)
		if r.Verdict != want {
			t.Errorf("%s: verdict %v", tag, r.Verdict)
		}
	}
	r = mustFeed(t, `1771233173.000 1 10.70.1.16 TCP_DENIED/407 1721 GET http://x.example.com/ - NONE/- text/html OTHER-NONE-NONE <-> -`)
	if r.EventAction != "TCP_DENIED" || r.Verdict != parsers.Denied {
		t.Fatalf("OTHER tag: %q %v", r.EventAction, r.Verdict)
	}
}
