package parsers

import (
	"encoding/json"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/leodido/go-syslog/v4/rfc5424"
)

var testNow = time.Date(2026, 1, 2, 0, 0, 0, 0, time.UTC)

func TestSplitHeader(t *testing.T) {
	cases := []struct {
		line, body, host, app, time string
		pri                         int
	}{
		{`<189>date=2025-01-15 time=10:00:00 devname="fw"`, `date=2025-01-15 time=10:00:00 devname="fw"`, "", "", "", 189},
		{`<189>Jan 15 10:00:00 fw01 date=2025-01-15`, `date=2025-01-15`, "fw01", "", "2025-01-15T10:00:00Z", 189},
		{`<166>Jan 15 2025 10:00:00 fw01 : %ASA-6-302013: Built`, `%ASA-6-302013: Built`, "fw01", "", "2025-01-15T10:00:00Z", 166},
		{`<166>Jan 15 2025 10:00:00: %ASA-6-302013: Built`, `%ASA-6-302013: Built`, "", "", "2025-01-15T10:00:00Z", 166},
		{`<166>%ASA-6-302013: Built`, `%ASA-6-302013: Built`, "", "", "", 166},
		{`<134>Dec 31 23:59:00 filterlog[1234]: 5,,,1000`, `5,,,1000`, "", "filterlog", "2025-12-31T23:59:00Z", 134},
		{`<134>1 2025-01-15T10:00:00.5+01:00 pf.home filterlog 12345 - - 5,,,1000`, `5,,,1000`, "pf.home", "filterlog", "2025-01-15T10:00:00.5+01:00", 134},
		{`<14>1 2025-01-15T10:00:00Z srx1 RT_FLOW - RT_FLOW_SESSION_CREATE [junos@2636 a="1"] session created`, `session created`, "srx1", "RT_FLOW", "2025-01-15T10:00:00Z", 14},
		{`<134>1 1374543213.342705328 MX84 flows src=192.168.1.186`, `flows src=192.168.1.186`, "MX84", "", "2013-07-23T01:33:33.342705328Z", 134},
		{`<30>2025:01:15-10:00:00 utm httpproxy[1234]: id="0001"`, `id="0001"`, "utm", "httpproxy", "2025-01-15T10:00:00Z", 30},
		{`2025-01-15T10:00:00+00:00 host sshd[1]: hello`, `hello`, "host", "sshd", "2025-01-15T10:00:00Z", -1},
		{`Jan  5 10:00:00 host tag: hello`, `hello`, "host", "tag", "2025-01-05T10:00:00Z", -1},
		{`1700000000.123    100 10.0.0.1 TCP_MISS/200`, `1700000000.123    100 10.0.0.1 TCP_MISS/200`, "", "", "", -1},
		{`2025-01-15 10:00:00 100 10.0.0.1 200`, `2025-01-15 10:00:00 100 10.0.0.1 200`, "", "", "", -1},
		{`<14>Jan 15 10:00:00 PA-VM 1,2025/01/15 10:00:00,001`, `1,2025/01/15 10:00:00,001`, "PA-VM", "", "2025-01-15T10:00:00Z", 14},
		{`<13>Nov 28 09:58:47 vm fgt date=2026-11-27 time=10:10:00`, `date=2026-11-27 time=10:10:00`, "vm", "fgt", "2025-11-28T09:58:47Z", 13},
		{`<13>Nov 28 09:58:47 vm fgt CEF:0|a|b|1|2|n|3|x=y`, `CEF:0|a|b|1|2|n|3|x=y`, "vm", "fgt", "2025-11-28T09:58:47Z", 13},
		{`<134>1 2018-03-21 17:25:25 gw CheckPoint 2 - [action:"Accept"] x`, `x`, "gw", "CheckPoint", "2018-03-21T17:25:25Z", 134},
		{`<166>Mar 12 2026 09:15:03 UTC: %ASA-6-302013: Built`, `%ASA-6-302013: Built`, "", "", "2026-03-12T09:15:03Z", 166},
		{`<14>Jan 15 10:00:00 2026-01-15 10:00:00 45 10.0.0.1`, `2026-01-15 10:00:00 45 10.0.0.1`, "", "", "2025-01-15T10:00:00Z", 14},
		{`<999>Jan 15 10:00:00 x y`, `<999>Jan 15 10:00:00 x y`, "", "", "", -1},
	}
	for _, c := range cases {
		h, body := SplitHeader(c.line, time.UTC, testNow)
		got := ""
		if !h.Time.IsZero() {
			got = h.Time.Format(time.RFC3339Nano)
		}
		if body != c.body || h.Hostname != c.host || h.AppName != c.app || got != c.time || h.Priority != c.pri {
			t.Errorf("%q:\n got body=%q host=%q app=%q time=%q pri=%d\nwant body=%q host=%q app=%q time=%q pri=%d",
				c.line, body, h.Hostname, h.AppName, got, h.Priority, c.body, c.host, c.app, c.time, c.pri)
		}
	}
}

func TestInferYear(t *testing.T) {
	now := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	if y := InferYear(12, 31, 23, 0, 0, 0, time.UTC, now).Year(); y != 2025 {
		t.Errorf("Dec 31 seen on Jan 1: year %d, want 2025", y)
	}
	if y := InferYear(1, 2, 9, 0, 0, 0, time.UTC, now).Year(); y != 2026 {
		t.Errorf("Jan 2 (within a day ahead): year %d, want 2026", y)
	}
	if y := InferYear(1, 3, 11, 0, 0, 0, time.UTC, now).Year(); y != 2025 {
		t.Errorf("Jan 3 (more than a day ahead): year %d, want 2025", y)
	}
	if d := InferYear(2, 29, 0, 0, 0, 0, time.UTC, now); d.Month() != 2 || d.Day() != 29 {
		t.Errorf("Feb 29 landed on %v", d)
	}
}

// The header splitter agrees with go-syslog's RFC 5424 parser on valid messages.
func TestSplitHeaderMatchesGoSyslog(t *testing.T) {
	p := rfc5424.NewParser()
	for _, line := range []string{
		`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event`,
		`<34>1 2003-10-11T22:14:15.003Z mymachine.example.com su - ID47 - 'su root' failed`,
		`<14>1 2025-01-15T10:00:00+02:00 host app 123 msg [a@1 k="v\]x"][b@2 z="1"] body text`,
	} {
		m, err := p.Parse([]byte(line))
		if err != nil {
			t.Fatal(err)
		}
		sm := m.(*rfc5424.SyslogMessage)
		h, body := SplitHeader(line, time.UTC, testNow)
		if sm.Hostname != nil && *sm.Hostname != h.Hostname || sm.Appname != nil && *sm.Appname != h.AppName ||
			sm.MsgID != nil && *sm.MsgID != h.MsgID || sm.Message != nil && *sm.Message != body || !sm.Timestamp.Equal(h.Time) {
			t.Errorf("%q: disagree with go-syslog: %+v body=%q", line, h, body)
		}
		got := map[string]string{}
		ParseSD(h.SD, func(id, k, v string) { got[id+"."+k] = v })
		if sm.StructuredData != nil {
			for id, params := range *sm.StructuredData {
				for k, v := range params {
					if got[id+"."+k] != v {
						t.Errorf("%q: SD %s.%s = %q, go-syslog %q", line, id, k, got[id+"."+k], v)
					}
				}
			}
		}
	}
}

func TestScanKV(t *testing.T) {
	var got []string
	ScanKV(`a=1 b="two words" c="x=y, z" d= e="esc \"q\"" f="CORP\jdoe" g`, ' ', func(k, v string) bool {
		got = append(got, k+"="+v)
		return true
	})
	want := []string{"a=1", "b=two words", "c=x=y, z", "d=", `e=esc "q"`, `f=CORP\jdoe`}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("got %q\nwant %q", got, want)
	}
	if v, ok := KVGet(`x=1 type="traffic"`, ' ', "type"); !ok || v != "traffic" {
		t.Fatal("KVGet")
	}
	if !HasKVKeys(`devid=FG100 logid=1 type=traffic`, "devid", "logid") || HasKVKeys(`xdevid=1`, "devid") {
		t.Fatal("HasKVKeys")
	}
}

func TestSetURLAndUser(t *testing.T) {
	cases := []struct {
		in, scheme, domain, path, query string
		port                            int64
	}{
		{"https://user:pw@app.example.com:8443/a/b?c=d#f", "https", "app.example.com", "/a/b", "c=d", 8443},
		{"login.example.net:443", "", "login.example.net", "", "", 443},
		{"/only/path?q=1", "", "", "/only/path", "q=1", 0},
		{"http://[2001:db8::1]:8080/x", "http", "2001:db8::1", "/x", "", 8080},
		{"www.example.org/dl", "", "www.example.org", "/dl", "", 0},
	}
	for _, c := range cases {
		var r Record
		SetURL(&r, c.in)
		if r.URLOriginal != c.in || r.URLScheme != c.scheme || r.URLDomain != c.domain || r.URLPath != c.path || r.URLQuery != c.query || r.URLPort.V != c.port {
			t.Errorf("%q → %+v", c.in, r)
		}
	}
	for in, want := range map[string][2]string{`CORP\jdoe`: {"jdoe", "CORP"}, "jdoe@corp.com": {"jdoe@corp.com", ""}, "-": {"", ""}, "CN=John Doe,OU=x": {"John Doe", ""}} {
		var r Record
		SetUser(&r, in)
		if r.UserName != want[0] || r.UserDomain != want[1] {
			t.Errorf("%q → %q %q", in, r.UserName, r.UserDomain)
		}
	}
}

func TestAppendJSON(t *testing.T) {
	r := Record{
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Verdict: Denied, Category: "network", EventAction: "deny",
		SourceIP: netip.MustParseAddr("::ffff:10.0.0.1"), SourcePort: N(1234), SourceBytes: N(0),
		DestinationIP: netip.MustParseAddr("2001:db8::5"), UserName: "a\"b\x01\xff", DataSource: "fw",
		Labels: []Label{{"k", "v"}},
	}
	b := r.AppendJSON(nil)
	if !json.Valid(b) {
		t.Fatalf("invalid: %s", b)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	src := m["source"].(map[string]any)
	if src["ip"] != "10.0.0.1" || src["bytes"].(float64) != 0 {
		t.Errorf("source: %v", src)
	}
	if et := m["event"].(map[string]any)["type"].([]any); len(et) != 2 || et[0] != "denied" {
		t.Errorf("event.type %v", et)
	}
	if _, ok := m["url"]; ok {
		t.Error("empty object emitted")
	}
	if m["user"].(map[string]any)["name"] != "a\"b\x01\ufffd" {
		t.Errorf("user.name %q", m["user"].(map[string]any)["name"])
	}
	if m["labels"].(map[string]any)["source"] != "fw" || m["labels"].(map[string]any)["k"] != "v" {
		t.Errorf("labels %v", m["labels"])
	}
}

func FuzzSplitHeader(f *testing.F) {
	for _, s := range []string{`<189>Jan 15 10:00:00 fw01 a=b`, `<14>1 2025-01-15T10:00:00Z h a p m [x@1 a="\]"] b`, `<1>`, `Jan  1 00:00:00.123456789 h t[1]: m`, `2025:01:15-10:00:00 x`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		h, body := SplitHeader(line, time.UTC, testNow)
		if len(body) > len(line) {
			t.Fatalf("body longer than line")
		}
		ParseSD(h.SD, func(string, string, string) {})
		ScanKV(line, ' ', func(string, string) bool { return true })
		var r Record
		SetURL(&r, line)
		SetUser(&r, line)
		if !json.Valid(r.AppendJSON(nil)) {
			t.Fatal("invalid json")
		}
	})
}

func TestParseEpochUnits(t *testing.T) {
	for in, want := range map[string]int64{
		"1768471200":          1768471200,
		"1768471200123":       1768471200,
		"1768471200123456":    1768471200,
		"1768471200123456789": 1768471200,
		"1768471200.5":        1768471200,
	} {
		got, ok := ParseEpoch(in)
		if !ok || got.Unix() != want {
			t.Errorf("%s → %v %v", in, got, ok)
		}
	}
	if _, ok := ParseEpoch("99999999999999999999"); ok {
		t.Error("overflow accepted")
	}
}

func BenchmarkAppendJSON(b *testing.B) {
	r := Record{
		Timestamp: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), Verdict: Allowed, Category: "network", EventAction: "close",
		SourceIP: netip.MustParseAddr("10.0.0.1"), SourcePort: N(51234), SourceBytes: N(1200),
		DestinationIP: netip.MustParseAddr("203.0.113.10"), DestinationPort: N(443), DestinationBytes: N(45000), DestinationDomain: "www.dropbox.com",
		NetworkTransport: "tcp", NetworkProtocol: "https", NetworkApplication: "Dropbox", UserName: "tok:abcdefghijklmnop", UserDomain: "CORP",
		ObserverVendor: "Fortinet", ObserverProduct: "FortiGate", ObserverHostname: "FGT-HQ", DataSource: "fw",
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		buf = r.AppendJSON(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}
