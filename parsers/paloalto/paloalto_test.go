package paloalto

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "paloalto") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "paloalto") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "paloalto") }

func parse(t *testing.T, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("paloalto", parsers.Options{})
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

// row builds a record of n columns with the given values set.
func row(n int, typ, sub string, set map[int]string) string {
	c := make([]string, n)
	c[0], c[1], c[2], c[3], c[4], c[6] = "1", "2026/01/15 10:00:02", "013201001234", typ, sub, "2026/01/15 10:00:01"
	c[7], c[8] = "10.0.0.1", "198.51.100.1"
	for k, v := range set {
		c[k] = v
	}
	return strings.Join(c, ",")
}

func TestTrafficLayouts(t *testing.T) {
	for _, n := range []int{54, 75, 115} {
		r := mustParse(t, row(n, "TRAFFIC", "end", map[int]string{
			colAction: "allow", colApp: "slack-base", colSrcUser: `corp\jdoe`, colProto: "tcp",
			tBytes: "300", tBytesSent: "100", tBytesRcvd: "200", tPktsSent: "1", tPktsRcvd: "2",
			35: "2026/01/15 09:00:00", tElapsed: "60",
		}))
		if r.SourceBytes != parsers.N(100) || r.DestinationBytes != parsers.N(200) || r.NetworkBytes.Set {
			t.Errorf("%d cols: bytes %v %v %v", n, r.SourceBytes, r.DestinationBytes, r.NetworkBytes)
		}
		if r.SourcePackets != parsers.N(1) || r.DestinationPackets != parsers.N(2) {
			t.Errorf("%d cols: packets %v %v", n, r.SourcePackets, r.DestinationPackets)
		}
		// Generated Time, never the session Start Time.
		if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:00:01Z" {
			t.Errorf("%d cols: time %s", n, got)
		}
		if r.Duration != parsers.N(60*int64(time.Second)) || r.NetworkApplication != "slack-base" ||
			r.UserName != "jdoe" || r.UserDomain != "corp" || r.Verdict != parsers.Allowed || r.Category != "network" {
			t.Errorf("%d cols: %+v", n, r)
		}
	}
	// Only the total: network.bytes, no direction.
	r := mustParse(t, row(32, "TRAFFIC", "end", map[int]string{colAction: "allow", tBytes: "300"}))
	if !r.NetworkBytes.Set || r.SourceBytes.Set || r.DestinationBytes.Set {
		t.Errorf("total only: %v %v %v", r.NetworkBytes, r.SourceBytes, r.DestinationBytes)
	}
}

func TestHighResolutionTimestamp(t *testing.T) {
	r := mustParse(t, row(115, "TRAFFIC", "end", map[int]string{colAction: "allow", tHighResTime: "2026-01-15T10:00:01.734-05:00"}))
	if got := r.Timestamp.Format(time.RFC3339Nano); got != "2026-01-15T10:00:01.734-05:00" {
		t.Errorf("high res: %s", got)
	}
	// The IETF header's offset is not applied to the CSV times.
	r = mustParse(t, "<14>1 2026-01-15T10:00:05+03:00 PA - - - - "+row(54, "TRAFFIC", "end", map[int]string{colAction: "allow"}))
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:00:01Z" {
		t.Errorf("generated time: %s", got)
	}
}

func TestActions(t *testing.T) {
	cases := map[string]parsers.Verdict{
		"allow": parsers.Allowed, "deny": parsers.Denied, "drop": parsers.Denied, "reset-both": parsers.Denied,
		"alert": parsers.Allowed, "continue": parsers.Allowed, "override": parsers.Allowed,
		"block-url": parsers.Denied, "block-continue": parsers.Denied, "sinkhole": parsers.Denied,
		"syncookie-sent": parsers.VerdictUnknown,
	}
	for a, want := range cases {
		r := mustParse(t, row(79, "THREAT", "url", map[int]string{colAction: a, thURL: "www.example.com/x"}))
		if r.Verdict != want || r.EventAction != a {
			t.Errorf("%s: %v", a, r.Verdict)
		}
	}
}

func TestURLLog(t *testing.T) {
	line := row(79, "THREAT", "url", map[int]string{colAction: "alert", thURL: `"www.example.com/a,b?c=""d"""`,
		thCategory: "news", thHTTPMethod: "get", thUserAgent: `"Mozilla/5.0 (X11, Linux)"`, thThreatID: "(9999)"})
	r := mustParse(t, line)
	if r.Category != "web" || r.URLOriginal != `www.example.com/a,b?c="d"` || r.URLDomain != "www.example.com" ||
		r.DestinationDomain != "www.example.com" || r.URLPath != "/a,b" {
		t.Errorf("url: %+v", r)
	}
	if r.HTTPMethod != "GET" || r.UserAgent != "Mozilla/5.0 (X11, Linux)" || r.URLCategory != "news" || r.ThreatName != "" {
		t.Errorf("fields: %q %q %q %q", r.HTTPMethod, r.UserAgent, r.URLCategory, r.ThreatName)
	}
}

func TestLinkSwitchesBraces(t *testing.T) {
	c := row(75, "TRAFFIC", "end", map[int]string{colAction: "allow", 69: "{a,b,c}", 52: "PA-X"})
	r := mustParse(t, c)
	if r.ObserverHostname != "PA-X" {
		t.Errorf("braces shifted the columns: %q", r.ObserverHostname)
	}
}

func TestAppSentinels(t *testing.T) {
	for _, a := range []string{"incomplete", "insufficient-data", "not-applicable", "unknown-tcp"} {
		r := mustParse(t, row(54, "TRAFFIC", "end", map[int]string{colAction: "allow", colApp: a}))
		if r.NetworkApplication != "" {
			t.Errorf("%s kept", a)
		}
	}
}

func TestSkipsAndErrors(t *testing.T) {
	for _, typ := range []string{"SYSTEM", "CONFIG", "GLOBALPROTECT", "USERID", "HIPMATCH"} {
		if _, err := parse(t, row(30, typ, "general", nil)); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v", typ, err)
		}
	}
	for _, bad := range []string{
		row(20, "TRAFFIC", "end", nil),
		"1,hello,world",
		`1,2026/01/15 10:00:00,0132,TRAFFIC,end,1,2026/01/15 10:00:00,10.0.0.1,"unterminated`,
		row(40, "TRAFFIC", "end", map[int]string{colSrc: "", colDst: "", colAction: "allow"}),
	} {
		if _, err := parse(t, bad); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%.40q: want error, got %v", bad, err)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, l := range parsertest.Lines(t, "paloalto") {
		if _, err := parse(t, l); err != nil && !errors.Is(err, parsers.ErrSkip) {
			continue
		}
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := detect(body, &h); s < 90 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	for _, l := range []string{
		`date=2026-01-15 time=10:00:00 devid="FGT60F" logid="0000000013" type="traffic" subtype="forward"`,
		`1768467600.123    245 10.0.0.1 TCP_MISS/200 5120 GET http://www.example.com/ - HIER_DIRECT/198.51.100.1 text/html`,
		`2026-01-15T10:00:00Z,10.0.0.1,TRAFFIC,allow`,
		`filterlog: 5,,,1000000103,igb0,match,block,in,4,0x0,,64,0,0,DF,6,tcp,60,198.51.100.1,10.0.0.1,443,51000,0,S`,
	} {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := detect(body, &h); s >= 50 {
			t.Errorf("foreign line scored %d: %s", s, l)
		}
	}
	h := parsers.Header{Priority: -1}
	line := row(115, "TRAFFIC", "end", nil)
	if n := testing.AllocsPerRun(100, func() { detect(line, &h) }); n != 0 {
		t.Errorf("detect allocates %v", n)
	}
}

// TestZoneNotWritten: an IPv6 zone is not part of a logged address (and
// would reach the JSON unescaped).
func TestZoneNotWritten(t *testing.T) {
	r, err := parse(t, `1,2026/01/15 10:00:00,1,TRAFFIC,end,1,2026/01/15 10:00:00,fe80::1%a"b,198.51.100.1,,,r,,,app,v,z,z,i,i,l,,1,1,1,2,0,0,0,tcp,allow`)
	if err != nil {
		t.Fatal(err)
	}
	if b := r.AppendJSON(nil); !json.Valid(b) || r.SourceIP.Zone() != "" || r.SourceNATIP.Zone() != "" {
		t.Fatalf("zone kept: %s", b)
	}
}
