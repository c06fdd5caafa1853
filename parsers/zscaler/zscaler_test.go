package zscaler

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "zscaler") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "zscaler") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "zscaler") }

func parseIn(t *testing.T, loc *time.Location, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("zscaler", parsers.Options{Location: loc})
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

// csvLine builds a default-template CSV line from the given columns
// ("None" elsewhere).
func csvLine(names []string, cols map[string]string) string {
	out := make([]string, len(names))
	for i, n := range names {
		v, ok := cols[n]
		if !ok {
			v = "None"
		}
		out[i] = `"` + v + `"`
	}
	return strings.Join(out, ",")
}

func TestCSVTemplates(t *testing.T) {
	cols := map[string]string{"time": "Thu Jan 15 10:30:00 2026", "login": "jdoe@example.com", "proto": "HTTPS",
		"eurl": "drive.example.net:8443/up?a=1%2C2", "action": "Blocked", "appname": "Example Drive", "appclass": "File Sharing",
		"reqsize": "5000", "respsize": "120", "urlcat": "Online Storage", "cip": "10.40.1.15", "sip": "203.0.113.10",
		"reqmethod": "POST", "respcode": "403", "ua": `Agent "with","comma" inside`, "rulelabel": "Block Uploads",
		"contenttype": "Other", "devicehostname": "LAPTOP-1", "stime": "1", "ctime": "2"}
	for _, names := range [][]string{csvClassic, csvCurrent} {
		r := mustParse(t, csvLine(names, cols))
		if r.SourceBytes != parsers.N(5000) || r.DestinationBytes != parsers.N(120) {
			t.Fatalf("%d columns: bytes %v %v", len(names), r.SourceBytes, r.DestinationBytes)
		}
		if r.UserAgent != `Agent "with","comma" inside` {
			t.Fatalf("%d columns: raw quotes and commas: %q", len(names), r.UserAgent)
		}
		if r.Verdict != parsers.Denied || r.EventAction != "Blocked" || r.NetworkApplication != "Example Drive" || r.AppCategory != "File Sharing" {
			t.Fatalf("verdict %v action %q app %q/%q", r.Verdict, r.EventAction, r.NetworkApplication, r.AppCategory)
		}
		if r.URLDomain != "drive.example.net" || r.DestinationDomain != "drive.example.net" || r.DestinationPort != parsers.N(8443) || r.URLScheme != "https" {
			t.Fatalf("url %q %q port %v scheme %q", r.URLDomain, r.DestinationDomain, r.DestinationPort, r.URLScheme)
		}
		if r.HTTPContentType != "" || r.SourceDomain != "LAPTOP-1" || r.RuleName != "Block Uploads" || r.HTTPStatus != parsers.N(403) {
			t.Fatalf("content type %q host %q rule %q status %v", r.HTTPContentType, r.SourceDomain, r.RuleName, r.HTTPStatus)
		}
	}
	if _, err := parseIn(t, time.UTC, `"Thu Jan 15 10:30:00 2026","a","b"`); err == nil || errors.Is(err, parsers.ErrSkip) {
		t.Fatalf("3 columns: %v", err)
	}
}

func TestActionsAndApps(t *testing.T) {
	cases := map[string]parsers.Verdict{"Allowed": parsers.Allowed, "Blocked": parsers.Denied,
		"Isolated": parsers.Allowed, "Caution": parsers.Denied}
	for action, want := range cases {
		r := mustParse(t, csvLine(csvClassic, map[string]string{"time": "Thu Jan 15 10:30:00 2026", "cip": "10.0.0.1",
			"eurl": "www.example.com/", "action": action, "appname": "General Browsing", "appclass": "General Browsing", "respcode": "0"}))
		if r.Verdict != want || r.EventAction != action {
			t.Errorf("%s: verdict %v", action, r.Verdict)
		}
		if r.NetworkApplication != "" || r.AppCategory != "" || r.HTTPStatus.Set {
			t.Errorf("General Browsing taken as app %q/%q, status %v", r.NetworkApplication, r.AppCategory, r.HTTPStatus)
		}
	}
}

func TestTime(t *testing.T) {
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Skip("no tzdata")
	}
	line := csvLine(csvClassic, map[string]string{"time": "Mon Jun  1 09:05:00 2026", "cip": "10.0.0.1", "eurl": "www.example.com/"})
	r, err := parseIn(t, berlin, line)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-06-01T09:05:00+02:00" {
		t.Fatalf("feed zone: %s", got)
	}
	// The record's time wins over the syslog header.
	r, _ = parseIn(t, berlin, "<13>Jun 02 23:00:00 nss01 "+line)
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-06-01T09:05:00+02:00" {
		t.Fatalf("header won: %s", got)
	}
	// tz GMT and epochtime are exact whatever the source zone.
	r, _ = parseIn(t, berlin, "time=Mon Jun  1 09:05:00 2026\ttz=GMT\tcip=10.0.0.1\teurl=www.example.com/\treqsize=1\trespsize=2")
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-06-01T09:05:00Z" {
		t.Fatalf("tz=GMT: %s", got)
	}
	r, _ = parseIn(t, berlin, `{"epochtime":"1768471200","cip":"10.0.0.1","eurl":"www.example.com/","reqsize":"1","respsize":"2"}`)
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:00:00Z" {
		t.Fatalf("epochtime: %s", got)
	}
	for _, bad := range []string{"Mon Jun 31 09:05:00 2026", "Mon Foo  1 09:05:00 2026", "Mon Jun  1 9:05:00 2026"} {
		if _, err := parseIn(t, time.UTC, csvLine(csvClassic, map[string]string{"time": bad, "cip": "10.0.0.1"})); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestCEF(t *testing.T) {
	// The NSS CEF template puts respsize in "in" and reqsize in "out".
	r := mustParse(t, `CEF:0|Zscaler|NSSWeblog|5.7|Blocked|Malware|9|act=Blocked app=HTTP dhost=dl.example.net dst=198.51.100.77 src=10.40.1.18 in=1822 out=420 request=dl.example.net/a?b\=c outcome=403 requestMethod=GET suser=CORP\\mlee destinationServiceName=Example Files cat=Malicious Content cs5=Win32.Example cs5Label=threatname cs3=Sales and Marketing cs3Label=appclass rt=Jan 15 2026 10:32:01`)
	if r.SourceBytes != parsers.N(420) || r.DestinationBytes != parsers.N(1822) {
		t.Fatalf("bytes: source %v destination %v", r.SourceBytes, r.DestinationBytes)
	}
	if r.HTTPStatus != parsers.N(403) || r.Outcome != "" || r.Verdict != parsers.Denied {
		t.Fatalf("status %v outcome %q verdict %v", r.HTTPStatus, r.Outcome, r.Verdict)
	}
	if r.NetworkApplication != "Example Files" || r.AppCategory != "Sales and Marketing" || r.URLCategory != "Malicious Content" || r.ThreatName != "Win32.Example" {
		t.Fatalf("app %q/%q category %q threat %q", r.NetworkApplication, r.AppCategory, r.URLCategory, r.ThreatName)
	}
	if r.UserName != "mlee" || r.UserDomain != "CORP" || r.URLQuery != "b=c" || r.URLScheme != "http" {
		t.Fatalf("user %q/%q query %q scheme %q", r.UserName, r.UserDomain, r.URLQuery, r.URLScheme)
	}
	if _, err := parseIn(t, time.UTC, `CEF:0|Fortinet|Fortigate|7|13|x|3|src=10.0.0.1`); err == nil {
		t.Fatal("foreign CEF accepted")
	}
}

func TestJSON(t *testing.T) {
	r := mustParse(t, `{"sourcetype":"zscalernss-web","event":{"time":"Thu Jan 15 10:31:00 2026","login":"a\u00e9\"b@example.com","cip":"10.0.0.1","eurl":"www.example.com/","reqsize":12,"respsize":null,"nested":{"x":[1,{"y":"]"}]},"action":"Allowed"}}`)
	if r.UserName != `aé"b@example.com` || r.SourceBytes != parsers.N(12) || r.DestinationBytes.Set || r.Verdict != parsers.Allowed {
		t.Fatalf("user %q bytes %v %v verdict %v", r.UserName, r.SourceBytes, r.DestinationBytes, r.Verdict)
	}
	for _, bad := range []string{`{"a":}`, `{"a":"b"`, `{"a":"\x"}`, `{"a" "b"}`, `{}`, `{"a":"b"} x`, strings.Repeat(`{"a":`, 10) + `1` + strings.Repeat(`}`, 10)} {
		if _, err := parseIn(t, time.UTC, bad); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want an error, got %v", bad, err)
		}
	}
}

func TestDetect(t *testing.T) {
	checked := 0
	for _, l := range parsertest.Lines(t, "zscaler") {
		if _, err := parseIn(t, time.UTC, l); err != nil {
			continue
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		checked++
		if s := detect(body, &h); s < 85 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	if checked < 15 {
		t.Fatalf("only %d lines checked", checked)
	}
	h := parsers.Header{Priority: -1}
	for _, other := range []string{
		`CEF:0|Fortinet|Fortigate|v7|00013|traffic:forward close|3|src=10.0.0.1`,
		`"2026-01-15 10:00:00","a","b"`,
		`{"time":"x","src":"10.0.0.1"}`,
		`date=2026-01-15 time=10:00:00 type="traffic" srcip=10.0.0.1`,
		"2026-01-15 10:00:01 192.0.2.10 GET /index.html - 443 - 10.1.2.3 UA - 200 0 0 15",
	} {
		if s := detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
	lines := parsertest.Lines(t, "zscaler")
	if n := testing.AllocsPerRun(20, func() {
		for _, l := range lines {
			detect(l, &h)
		}
	}); n != 0 {
		t.Fatalf("detect allocates %v times", n)
	}
}

// The JSON templates Zscaler publishes for SIEMs rename the NSS fields:
// Splunk/Datadog/Sumo Logic ("datetime" as 2006-01-02 15:04:05, ClientIP,
// refererURL, transactionsize) and Elastic (cltip, cltsourceport, urlsubcat).
func TestSIEMTemplates(t *testing.T) {
	r := mustParse(t, `{"sourcetype":"zscalernss-web","event":{"datetime":"2026-02-16 09:12:47","protocol":"HTTPS","action":"Allowed","transactionsize":"3000","responsesize":"2000","requestsize":"1000","serverip":"203.0.113.41","requestmethod":"POST","refererURL":"https://a.example.net/","ClientIP":"10.0.0.16","clientpublicIP":"198.51.100.200","status":"200","user":"jdoe@example.com","url":"a.example.net/up","hostname":"a.example.net"}}`)
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-02-16T09:12:47Z" {
		t.Fatalf("time %s", got)
	}
	if r.SourceIP.String() != "10.0.0.16" || r.SourceNATIP.String() != "198.51.100.200" || r.HTTPReferrer != "https://a.example.net/" {
		t.Fatalf("client %v nat %v referrer %q", r.SourceIP, r.SourceNATIP, r.HTTPReferrer)
	}
	if r.SourceBytes != parsers.N(1000) || r.DestinationBytes != parsers.N(2000) || r.NetworkBytes != parsers.N(3000) {
		t.Fatalf("bytes %v %v %v", r.SourceBytes, r.DestinationBytes, r.NetworkBytes)
	}
	r = mustParse(t, `{"sourcetype":"zscalernss-web","event":{"time":"Mon Feb 16 09:12:48 2026","tz":"GMT","host":"api.example.org","serverip":"2001:db8:ff::80","action":"Blocked","cltip":"2001:db8:60::25","cltintip":"2001:db8:60::25","cltsourceport":"51544","eurl":"api.example.org:443","urlsubcat":"Anonymizer","reqmethod":"CONNECT","respcode":"403"}}`)
	if r.SourceIP.String() != "2001:db8:60::25" || r.SourcePort != parsers.N(51544) || r.SourceNATIP.IsValid() {
		t.Fatalf("client %v:%v nat %v (cintip equal to cip is no translation)", r.SourceIP, r.SourcePort, r.SourceNATIP)
	}
	if r.URLCategory != "Anonymizer" || r.DestinationPort != parsers.N(443) || r.Verdict != parsers.Denied {
		t.Fatalf("category %q port %v verdict %v", r.URLCategory, r.DestinationPort, r.Verdict)
	}
	if s := detect("datetime=2026-02-16 09:12:49\trequestsize=1\tresponsesize=2\tClientIP=10.0.0.1", nil); s < 80 {
		t.Fatalf("Splunk name=value template scored %d", s)
	}
}
