package cefleef

import (
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

var now = time.Date(2026, 6, 15, 12, 0, 0, 0, time.UTC)

func pairs(ext string) [][2]string {
	var out [][2]string
	it := NewExt(ext)
	for it.Next() {
		out = append(out, [2]string{it.Key(), it.Value()})
	}
	return out
}

func TestSplitCEFHeaderEscapes(t *testing.T) {
	c, err := SplitCEF(`<13>junk CEF:0|Acme\|Corp|Fire\\wall|1.0|100|Name with = sign|5| src=10.0.0.1`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Version != "0" || c.Vendor != "Acme|Corp" || c.Product != `Fire\wall` || c.Name != "Name with = sign" || c.Severity != "5" {
		t.Fatalf("header %+v", c)
	}
	if c.Ext != "src=10.0.0.1" {
		t.Fatalf("ext %q", c.Ext)
	}
	for _, bad := range []string{"CEF:0|a|b|c|d|e", "CEF:0|a|b|c\\|d|e|f", "hello", "xCEF:0|a|b|c|d|e|f|", "CEF:x|a|b|c|d|e|f|"} {
		if _, err := SplitCEF(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestExtIter(t *testing.T) {
	cases := []struct {
		ext  string
		want [][2]string
	}{
		{`src=10.0.0.1 msg=hello world dst=10.0.0.2`, [][2]string{{"src", "10.0.0.1"}, {"msg", "hello world"}, {"dst", "10.0.0.2"}}},
		{`request=http://example.com/p?a=1&b=2 requestMethod=GET`, [][2]string{{"request", "http://example.com/p?a=1&b=2"}, {"requestMethod", "GET"}}},
		{`suser=LDAP://10.0.0.9 CN\=Users,DC\=corp/Jane Doe cs1=a\\b\nc`, [][2]string{{"suser", "LDAP://10.0.0.9 CN=Users,DC=corp/Jane Doe"}, {"cs1", "a\\b\nc"}}},
		{`msg=a \= b   act=blocked  `, [][2]string{{"msg", "a = b"}, {"act", "blocked"}}},
		{`cs1= cs1Label=Virus Name cn1=0`, [][2]string{{"cs1", ""}, {"cs1Label", "Virus Name"}, {"cn1", "0"}}},
		{`requestClientApplication=Mozilla/5.0 (Windows NT 10.0; x64) q=1 act=x`, [][2]string{{"requestClientApplication", "Mozilla/5.0 (Windows NT 10.0; x64)"}, {"q", "1"}, {"act", "x"}}},
		{`garbage words src=1.2.3.4`, [][2]string{{"src", "1.2.3.4"}}},
		{`request="http://a/ b"`, [][2]string{{"request", "http://a/ b"}}},
		{`no pairs here`, nil},
		{``, nil},
		{`=x y=1`, [][2]string{{"", "x"}, {"y", "1"}}},
	}
	for _, c := range cases {
		got := pairs(c.ext)
		if len(got) != len(c.want) {
			t.Errorf("%q: got %q want %q", c.ext, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: pair %d got %q want %q", c.ext, i, got[i], c.want[i])
			}
		}
	}
}

func TestExtIterLinear(t *testing.T) {
	// Many '=' and spaces in one value must not make the scan quadratic or
	// loop: every call must consume input.
	ext := "msg=" + strings.Repeat("a=b c=d? ", 20000) + "act=x"
	n := 0
	it := NewExt(ext)
	for it.Next() {
		n++
		if n > 100000 {
			t.Fatal("iterator does not advance")
		}
	}
	if n == 0 {
		t.Fatal("no pairs")
	}
}

func TestSplitLEEF(t *testing.T) {
	cases := []struct {
		body, vendor, event, delim string
		want                       [][2]string
	}{
		{"LEEF:1.0|Forcepoint|Security|8.5|transaction:permitted|sev=1\tsrc=10.0.0.1\turl=http://a/?x=1", "Forcepoint", "transaction:permitted", "\t",
			[][2]string{{"sev", "1"}, {"src", "10.0.0.1"}, {"url", "http://a/?x=1"}}},
		{"LEEF:2.0|Lancope|StealthWatch|1.0|41|^|src=10.0.0.1^dst=10.0.0.2", "Lancope", "41", "^", [][2]string{{"src", "10.0.0.1"}, {"dst", "10.0.0.2"}}},
		{"LEEF:2.0|V|P|1|E|x5E|a=1^b=2", "V", "E", "^", [][2]string{{"a", "1"}, {"b", "2"}}},
		{"LEEF:2.0|V|P|1|E|0x09|a=1\tb=2", "V", "E", "\t", [][2]string{{"a", "1"}, {"b", "2"}}},
		{"LEEF:2.0|Check Point|VPN-1 & FireWall-1|1.0|Accept|src=10.0.0.1\taction=Accept", "Check Point", "Accept", "\t", [][2]string{{"src", "10.0.0.1"}, {"action", "Accept"}}},
		{"LEEF: 1.0|V|P|1|E|a=1#011b=x y", "V", "E", "#011", [][2]string{{"a", "1"}, {"b", "x y"}}},
		{"LEEF:1.0|V|P|1|E|5|a=1\tb=2", "V", "E", "\t", [][2]string{{"a", "1"}, {"b", "2"}}},
		{"LEEF:1.0|V|P|1|E|a=1 msg=two words b=2", "V", "E", "", [][2]string{{"a", "1"}, {"msg", "two words"}, {"b", "2"}}},
		{"LEEF:1.0|V\\|W|P|1|E", "V|W", "E", "", nil},
	}
	for _, c := range cases {
		l, err := SplitLEEF(c.body)
		if err != nil {
			t.Errorf("%q: %v", c.body, err)
			continue
		}
		if l.Vendor != c.vendor || l.EventID != c.event || l.Delim != c.delim {
			t.Errorf("%q: vendor=%q event=%q delim=%q", c.body, l.Vendor, l.EventID, l.Delim)
		}
		var got [][2]string
		it := l.Iter()
		for it.Next() {
			got = append(got, [2]string{it.Key(), it.Value()})
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: got %q want %q", c.body, got, c.want)
			continue
		}
		for i := range got {
			if got[i] != c.want[i] {
				t.Errorf("%q: pair %d got %q want %q", c.body, i, got[i], c.want[i])
			}
		}
	}
	for _, bad := range []string{"LEEF:1.0|V|P", "LEEF:2.0|V|P|1|E|zz|a=1", "CEF:0|a|b|c|d|e|f|"} {
		if _, err := SplitLEEF(bad); err == nil {
			t.Errorf("%q: no error", bad)
		}
	}
}

func TestParseTime(t *testing.T) {
	berlin := time.FixedZone("CET", 3600)
	cases := []struct {
		in   string
		want string
	}{
		{"1767225600000", "2026-01-01T00:00:00Z"},
		{"1767225600", "2026-01-01T00:00:00Z"},
		{"Jan 05 2026 10:00:00", "2026-01-05T10:00:00+01:00"},
		{"Jan 5 2026 10:00:00.250 UTC", "2026-01-05T10:00:00.25Z"},
		{"Mar 09 2026 17:05:21 GMT+00:00", "2026-03-09T17:05:21Z"},
		{"Mar 09 2026 17:05:21 +0200", "2026-03-09T17:05:21+02:00"},
		{"Mar 09 2026 17:05:21 EST", "2026-03-09T17:05:21+01:00"},
		{"Jun 14 23:00:00", "2026-06-14T23:00:00+01:00"},
		{"2026-01-05 10:00:00", "2026-01-05T10:00:00+01:00"},
		{"2026-01-05T10:00:00Z", "2026-01-05T10:00:00Z"},
	}
	for _, c := range cases {
		got, ok := ParseTime(c.in, berlin, now)
		if !ok || got.Format(time.RFC3339Nano) != c.want {
			t.Errorf("%q: got %v %v want %s", c.in, got, ok, c.want)
		}
	}
	for _, bad := range []string{"", "0", "yesterday", "Jan 45 2026 10:00:00", "Jan 05 2026 25:00:00", "Jan 05 2026 10:00:00 +9999"} {
		if got, ok := ParseTime(bad, time.UTC, now); ok {
			t.Errorf("%q: parsed as %v", bad, got)
		}
	}
}

func TestParseJavaTime(t *testing.T) {
	cases := []struct{ in, layout, want string }{
		{"Jan 05 2026 10:00:00.123 UTC", "MMM dd yyyy HH:mm:ss.SSS z", "2026-01-05T10:00:00.123Z"},
		{"2026-01-05T10:00:00+02:00", "yyyy-MM-dd'T'HH:mm:ssXXX", "2026-01-05T10:00:00+02:00"},
		{"20260105 101500", "yyyyMMdd HHmmss", "2026-01-05T10:15:00Z"},
		{"05/01/26 01:15:00 PM", "dd/MM/yy hh:mm:ss a", "2026-01-05T13:15:00Z"},
		{"Mon, 05 Jan 2026 10:00:00 GMT", "EEE, dd MMM yyyy HH:mm:ss z", "2026-01-05T10:00:00Z"},
		{"1767607200", "MMM dd yyyy HH:mm:ss", "2026-01-05T10:00:00Z"},
	}
	for _, c := range cases {
		got, ok := ParseJavaTime(c.in, c.layout, time.UTC, now)
		if !ok || got.Format(time.RFC3339Nano) != c.want {
			t.Errorf("%q with %q: got %v %v want %s", c.in, c.layout, got, ok, c.want)
		}
	}
	if _, ok := ParseJavaTime("Jan 05 2026", "MMM dd yyyy QQ", time.UTC, now); ok {
		t.Error("unknown pattern letter accepted")
	}
}

func TestVerdictAndTransport(t *testing.T) {
	for w, v := range map[string]parsers.Verdict{
		"Accept": parsers.Allowed, "permitted": parsers.Allowed, " Detect ": parsers.Allowed,
		"BLOCKED": parsers.Denied, "Drop": parsers.Denied, "reset-both": parsers.Denied,
		"Key Install": parsers.VerdictUnknown, "": parsers.VerdictUnknown,
	} {
		if got := Verdict(w); got != v {
			t.Errorf("Verdict(%q) = %v want %v", w, got, v)
		}
	}
	for in, want := range map[string]string{"6": "tcp", "TCP": "tcp", "17": "udp", "58": "ipv6-icmp", "99": "", "-": "", "QUIC": "quic"} {
		if got := Transport(in); got != want {
			t.Errorf("Transport(%q) = %q want %q", in, got, want)
		}
	}
}

func TestEventBytesAndLabels(t *testing.T) {
	var e Event
	var r parsers.Record
	for _, kv := range [][2]string{{"in", "100"}, {"out", "2000"}, {"cs2Label", "URL Category"}, {"cs2", "News"}, {"deviceCustomString5Label", "Rule Name"}, {"deviceCustomString5", "web-out"}, {"c6a2", "2001:db8::1"}, {"c6a2Label", "Source IPv6 Address"}} {
		if !e.ApplyCEF(&r, kv[0], kv[1]) {
			t.Fatalf("%s not applied", kv[0])
		}
	}
	m := parsers.Meta{Location: time.UTC, Now: now}
	e.Finish(&r, &m, InFromSource)
	if r.SourceBytes.V != 100 || r.DestinationBytes.V != 2000 || r.URLCategory != "News" || r.RuleName != "web-out" || r.SourceIP.String() != "2001:db8::1" {
		t.Fatalf("record %+v", r)
	}
	r = parsers.Record{}
	e.Finish(&r, &m, InToClient)
	if r.SourceBytes.V != 2000 || r.DestinationBytes.V != 100 {
		t.Fatalf("client-centric bytes %+v %+v", r.SourceBytes, r.DestinationBytes)
	}
	e.Reset()
	r = parsers.Record{}
	e.ApplyLEEF(&r, "totalBytes", "500")
	e.Finish(&r, &m, InFromSource)
	if r.NetworkBytes.V != 500 || r.SourceBytes.Set || r.DestinationBytes.Set {
		t.Fatalf("total only: %+v", r)
	}
}

func TestNoAllocs(t *testing.T) {
	body := "CEF:0|V|P|1|100|n|5|src=10.0.0.1 dst=198.51.100.2 spt=50000 dpt=443 act=allowed msg=a b c rt=1767225600000 request=https://example.com/x?y=1"
	var e Event
	var r parsers.Record
	m := parsers.Meta{Location: time.UTC, Now: now}
	allocs := testing.AllocsPerRun(100, func() {
		c, err := SplitCEF(body)
		if err != nil {
			t.Fatal(err)
		}
		e.Reset()
		r = parsers.Record{}
		it := NewExt(c.Ext)
		for it.Next() {
			e.ApplyCEF(&r, it.Key(), it.Value())
		}
		e.Finish(&r, &m, InFromSource)
	})
	if allocs > 0 {
		t.Errorf("%v allocations per message", allocs)
	}
}

func TestIPDropsZone(t *testing.T) {
	if got := IP(`fe80::1%eth0"x`); got.String() != "fe80::1" {
		t.Errorf("zone kept: %v", got)
	}
	if got := IP("not an ip"); got.IsValid() {
		t.Errorf("garbage parsed: %v", got)
	}
}

func TestVerdictWord(t *testing.T) {
	cases := []struct {
		name, word string
		v          parsers.Verdict
	}{
		{"Connection_Allowed", "Allowed", parsers.Allowed},
		{"transaction:blocked", "blocked", parsers.Denied},
		{"Web Request Blocked", "Blocked", parsers.Denied},
		{"Connection_Discarded", "Discarded", parsers.Denied},
		{"Log for TCP Port 80", "", parsers.VerdictUnknown},
		{"allowed then blocked", "", parsers.VerdictUnknown},
		{"", "", parsers.VerdictUnknown},
	}
	for _, c := range cases {
		if w, v := VerdictWord(c.name); w != c.word || v != c.v {
			t.Errorf("%q: %q %v", c.name, w, v)
		}
	}
	for _, a := range []string{"block-url", "discard", "drop-icmp", "sinkhole"} {
		if Verdict(a) != parsers.Denied {
			t.Errorf("%q not denied", a)
		}
	}
}

func TestNonTrafficName(t *testing.T) {
	for _, n := range []string{"User Signed In", "Admin login", "AdminLogin", "SYSTEM_CPU usage high", "Configuration changed", "License expired", "admin"} {
		if !NonTrafficName(n) {
			t.Errorf("%q not recognized", n)
		}
	}
	for _, n := range []string{"Transaction permitted", "Connection_Allowed", "Log for TCP Port 80", "Session end", "Web Request", "https", "deny", "sysadmin tools download"} {
		if NonTrafficName(n) {
			t.Errorf("%q taken for an administrative event", n)
		}
	}
}

// A relay's RFC 3164 parser takes "CEF:" of "CEF: 0|..." (and "LEEF:") as
// the TAG and forwards it as the RFC 5424 APP-NAME.
func TestTagTaken(t *testing.T) {
	h, body := parsers.SplitHeader("<134>1 2026-06-14T10:20:00Z fw CEF - - - 0|V|P|1|100|n|5|src=10.0.0.1", time.UTC, now)
	if IndexCEF(body) >= 0 || LocateCEF(body, &h) != 0 {
		t.Fatalf("body %q app %q", body, h.AppName)
	}
	if v, ok := HeaderField(body, LocateCEF(body, &h), 0); !ok || v != "V" {
		t.Errorf("vendor %q", v)
	}
	c, err := SplitCEFHeader(body, &h)
	if err != nil || c.Vendor != "V" || c.Ext != "src=10.0.0.1" {
		t.Errorf("%+v %v", c, err)
	}
	h, body = parsers.SplitHeader("<134>1 2026-06-14T10:20:00Z fw LEEF - - - 1.0|V|P|1|E|src=10.0.0.1\tdst=10.0.0.2", time.UTC, now)
	l, err := SplitLEEFHeader(body, &h)
	if err != nil || LocateLEEF(body, &h) != 0 || l.Vendor != "V" || l.EventID != "E" {
		t.Errorf("%+v %v", l, err)
	}
	// Without the header's word, a bare "0|..." is nothing.
	if LocateCEF("0|V|P|1|100|n|5|x=1", &parsers.Header{Priority: -1}) >= 0 {
		t.Error("bare version taken for CEF")
	}
	allocs := testing.AllocsPerRun(50, func() { LocateCEF(body, &h); NonTrafficName("Transaction permitted") })
	if allocs > 0 {
		t.Errorf("%v allocations", allocs)
	}
}

func TestDestinationFromURL(t *testing.T) {
	var r parsers.Record
	parsers.SetURL(&r, "vpn.example.net:443")
	DestinationFromURL(&r)
	if r.DestinationDomain != "vpn.example.net" || r.DestinationPort.V != 443 {
		t.Errorf("%q %v", r.DestinationDomain, r.DestinationPort)
	}
	r = parsers.Record{}
	parsers.SetURL(&r, "https://[2001:db8::1]:8443/x")
	DestinationFromURL(&r)
	if r.DestinationDomain != "" || r.DestinationIP.String() != "2001:db8::1" || r.DestinationPort.V != 8443 {
		t.Errorf("%q %v %v", r.DestinationDomain, r.DestinationIP, r.DestinationPort)
	}
}
