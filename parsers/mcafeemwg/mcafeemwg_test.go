package mcafeemwg

import (
	"errors"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, Name) }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, Name) }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, Name) }

func parse(t *testing.T, line string) (parsers.Record, error) {
	t.Helper()
	p, err := New(parsers.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	var r parsers.Record
	m := parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow}
	err = parsers.ParseLine(p, line, &m, &r)
	return r, err
}

func TestKeyValue(t *testing.T) {
	r, err := parse(t, `<30>Jun 14 09:17:00 mwg01 mwg: McAfeeWG|time_stamp=[14/Jun/2026:11:17:00 +0200]|auth_user=CORP\jdoe|src_ip=10.1.2.4|server_ip=198.51.100.25|host=files.example.net|url_port=443|status_code=403|bytes_from_client=297|bytes_to_client=4134|categories=Games|method=GET|url=https://files.example.net/get?name=a|b.txt|application_name=Example App|block_res=10|block_reason=Blocked by URL filtering|filename=a|b.txt|filesize=0|`)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !r.Timestamp.Equal(time.Date(2026, 6, 14, 9, 17, 0, 0, time.UTC)):
		t.Errorf("time_stamp wins: %v", r.Timestamp)
	case r.URLOriginal != "https://files.example.net/get?name=a|b.txt":
		t.Errorf("'|' inside a value: %q", r.URLOriginal)
	case r.SourceBytes.V != 297 || r.DestinationBytes.V != 4134:
		t.Errorf("bytes_from_client is the upload: %v %v", r.SourceBytes, r.DestinationBytes)
	case r.UserName != "jdoe" || r.UserDomain != "CORP" || r.NetworkApplication != "Example App":
		t.Errorf("user %q %q app %q", r.UserName, r.UserDomain, r.NetworkApplication)
	case r.Verdict != parsers.Denied || r.EventAction != "Blocked by URL filtering" || r.HTTPStatus.V != 403:
		t.Errorf("verdict %v action %q status %v", r.Verdict, r.EventAction, r.HTTPStatus)
	case r.ObserverHostname != "mwg01" || r.ObserverVendor != "McAfee" || r.Category != "web":
		t.Errorf("observer %q %q %q", r.ObserverHostname, r.ObserverVendor, r.Category)
	}
}

func TestAccessLog(t *testing.T) {
	r, err := parse(t, `[14/Jun/2026:09:21:00 +0100] "dave@example.com" 10.1.2.8 200 "CONNECT login.example.com:443 HTTP/1.1" "Business" "Minimal Risk" "" 1500 "Agent "x"/1" "" "0"`)
	if err != nil {
		t.Fatal(err)
	}
	if r.HTTPMethod != "CONNECT" || r.URLDomain != "login.example.com" || r.URLPort.V != 443 || r.DestinationBytes.V != 1500 || r.SourceBytes.Set ||
		r.UserAgent != `Agent "x"/1` || r.Verdict != parsers.Allowed || !r.Timestamp.Equal(time.Date(2026, 6, 14, 8, 21, 0, 0, time.UTC)) {
		t.Errorf("%+v", r)
	}
	if _, err := parse(t, `#time_stamp "auth_user" src_ip status_code`); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("header: %v", err)
	}
	for _, bad := range []string{`[14/Jun/2026:09:24:00 +0000] "erin" 10.1.2.10 200 "GET http://a/ HTTP/1.1"`, `[garbage`, `McAfeeWG|`, `hello`} {
		if _, err := parse(t, bad); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestCEF(t *testing.T) {
	r, err := parse(t, `CEF:0|McAfee|Web Gateway|12.2.7|403|Block URLs|6|rt=1781428560000 dst=198.51.100.40 dhost=bets.example.net suser=grace@example.com src=10.1.2.12 request=https://bets.example.net/ cs4=Gambling cs4Label=URL Categories in=520 out=3100 cn1=10 cn1Label=Block Reason`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != parsers.Denied || r.HTTPStatus.V != 403 || r.RuleName != "Block URLs" || r.URLCategory != "Gambling" || r.SourceBytes.V != 520 || r.DestinationBytes.V != 3100 {
		t.Errorf("%+v", r)
	}
}

func TestDetect(t *testing.T) {
	for _, l := range parsertest.Lines(t, Name) {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := Detect(body, &h); s < 60 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	h := parsers.Header{Priority: -1}
	for _, other := range []string{
		`CEF:0|Forcepoint|Security|8.5|148|Transaction permitted|1| act=permitted`,
		`CEF:0|McAfee|ePolicy Orchestrator|5.10|1|Threat|5|src=10.0.0.1`,
		`192.168.1.10 - - [14/Jun/2026:09:15:03 +0000] "GET / HTTP/1.1" 200 512`,
		`1781428503.123    120 10.1.2.3 TCP_MISS/200 512 GET http://example.com/ - DIRECT/203.0.113.1 text/html`,
		`date=2025-01-15 time=10:00:00 devname="FG100" logid="0000000013" type="traffic"`,
	} {
		if s := Detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
}

// The appliance's own messages share the stream and are skipped; a
// CONNECT request's port is the destination port.
func TestSystemMessageAndConnectPort(t *testing.T) {
	if _, err := parse(t, `<30>Jun 14 11:10:00 mwg04.example.com mwg: Starting MWG log rotation for access.log`); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("system message: %v", err)
	}
	if _, err := parse(t, `<30>Jun 14 11:10:00 host01 sshd: something else`); err == nil || errors.Is(err, parsers.ErrSkip) {
		t.Errorf("foreign line: %v", err)
	}
	r, err := parse(t, `[14/Jun/2026:11:05:00 +0200] "olga@example.com" 2001:db8:80::14 403 "CONNECT vpn.example.net:443 HTTP/1.1" "Anonymizers" "High Risk" "" 0 "Mozilla/5.0" "" "10"`)
	if err != nil {
		t.Fatal(err)
	}
	if r.DestinationPort.V != 443 || r.DestinationDomain != "vpn.example.net" || r.Verdict != parsers.Denied {
		t.Errorf("port %v domain %q verdict %v", r.DestinationPort, r.DestinationDomain, r.Verdict)
	}
}
