package forcepoint

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

func TestCEF(t *testing.T) {
	r, err := parse(t, `<159>Jun 14 09:15:03 10.10.10.121 CEF:0|Forcepoint|Security|8.5.5|153|Transaction permitted|1| act=permitted app=https dst=203.0.113.10 dhost=www.example.com dpt=443 src=10.1.2.3 spt=51514 suser=LDAP://10.0.0.5 OU\=Staff,DC\=corp,DC\=example,DC\=com/Jane Doe loginID=jdoe destinationTranslatedPort=62000 rt=1781428503 in=56000 out=1200 requestMethod=CONNECT cs1Label=Policy cs1=role-8**Default cs3Label=ContentType cs3=text/html request=https://www.example.com/`)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.SourceBytes.V != 1200 || r.DestinationBytes.V != 56000:
		t.Errorf("out is bytes sent by the client, in bytes received: src=%v dst=%v", r.SourceBytes, r.DestinationBytes)
	case r.UserName != "jdoe" || r.UserDomain != "corp.example.com":
		t.Errorf("user %q domain %q", r.UserName, r.UserDomain)
	case !r.Timestamp.Equal(time.Unix(1781428503, 0)):
		t.Errorf("rt in seconds: %v", r.Timestamp)
	case r.Verdict != parsers.Allowed || r.Category != "web" || r.RuleName != "role-8**Default" || r.HTTPContentType != "text/html":
		t.Errorf("%+v", r)
	case r.SourceNATPort.V != 62000 || r.DestinationNATPort.Set:
		t.Errorf("proxy source port: %v %v", r.SourceNATPort, r.DestinationNATPort)
	case r.ObserverVendor != "Forcepoint" || r.ObserverHostname != "10.10.10.121" || r.NetworkProtocol != "https":
		t.Errorf("observer %q %q protocol %q", r.ObserverVendor, r.ObserverHostname, r.NetworkProtocol)
	}
}

func TestUserPaths(t *testing.T) {
	cases := []struct{ path, name, domain string }{
		{"WinNT://CORP/bsmith", "bsmith", "CORP"},
		{"LDAP://10.0.0.5 CN=Users,DC=forcepoint,DC=local/win7", "win7", "forcepoint.local"},
		{"LDAP://10.0.0.5:389 OU=A,OU=B,DC=corp,DC=example/Jane Doe", "Jane Doe", "corp.example"},
		{"carol", "carol", ""},
		{"-", "", ""},
	}
	for _, c := range cases {
		n, d := splitUserPath(c.path)
		if n != c.name || d != c.domain {
			t.Errorf("%q: %q %q", c.path, n, d)
		}
	}
}

func TestLEEF(t *testing.T) {
	r, err := parse(t, "LEEF:1.0|Forcepoint|Security|8.5.5|transaction:blocked|sev=7\tcat=Gambling\tusrName=WinNT://CORP/bsmith\tsrc=10.1.2.4\tsrcBytes=10\tdstBytes=20\tdst=198.51.100.26\tproxyStatus-code=403\tserverStatus-code=0\tmethod=CONNECT\turl=https://bets.example.net/")
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != parsers.Denied || r.EventAction != "blocked" || r.UserName != "bsmith" || r.UserDomain != "CORP" || r.URLCategory != "Gambling" || r.HTTPStatus.V != 403 || r.SourceBytes.V != 10 || r.DestinationBytes.V != 20 {
		t.Errorf("%+v", r)
	}
}

func TestSkipAndErrors(t *testing.T) {
	if _, err := parse(t, `CEF:0|Forcepoint|Security|8.5.5|0|Audit|1| suser=admin src=10.9.9.9 act=Logon`); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("audit: %v", err)
	}
	for _, bad := range []string{`CEF:0|Forcepoint|Security|8.5.5|153`, `LEEF:1.0|Forcepoint`, `plain`} {
		if _, err := parse(t, bad); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, l := range parsertest.Lines(t, Name) {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := Detect(body, &h); s != 95 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	h := parsers.Header{Priority: -1}
	for _, other := range []string{
		`CEF:0|FORCEPOINT|Firewall|6.10|70018|Connection_Allowed|0|src=10.0.0.1`,
		`CEF:0|Forcepoint|Email Security|8.5|1|Message|5|src=10.0.0.1`,
		`CEF:0|Check Point|VPN-1 & FireWall-1|Check Point|Log|https|Unknown|act=Accept`,
		"LEEF:1.0|McAfee|Web Gateway|12.2|0|src=10.0.0.1",
		`date=2025-01-15 time=10:00:00 devname="FG100" logid="0000000013" type="traffic"`,
	} {
		if s := Detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
}

// The predefined syslog/key-value pairs format: unquoted values, a user
// path with spaces and '=', bytes_out sent by the client.
func TestKeyValue(t *testing.T) {
	line := `<159>Jun 14 12:06:00 10.20.0.5 vendor=Forcepoint product=Security product_version=8.5.5 action=blocked severity=7 category=67 user=LDAP://10.20.0.2 OU=Eng,DC=example,DC=local/Xavier Example src_host=10.90.1.16 src_port=50500 dst_host=bets.example.org dst_ip=198.51.100.152 dst_port=443 bytes_out=2048 bytes_in=65000 http_response=0 http_method=POST http_content_type=- http_user_agent=git/2.45.0_(linux) http_proxy_status_code=403 reason=- disposition=1025 policy=Super Administrator**Default role=8 duration=2 url=https://bets.example.org/odds?a=1&b=2`
	r, err := parse(t, line)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.UserName != "Xavier Example" || r.UserDomain != "example.local":
		t.Errorf("user %q domain %q", r.UserName, r.UserDomain)
	case r.SourceIP.String() != "10.90.1.16" || r.SourcePort.V != 50500 || r.DestinationIP.String() != "198.51.100.152" || r.DestinationPort.V != 443 || r.DestinationDomain != "bets.example.org":
		t.Errorf("endpoints %+v", r)
	case r.SourceBytes.V != 2048 || r.DestinationBytes.V != 65000:
		t.Errorf("bytes src %v dst %v", r.SourceBytes, r.DestinationBytes)
	case r.Verdict != parsers.Denied || r.EventAction != "blocked" || r.HTTPStatus.V != 403 || r.HTTPContentType != "":
		t.Errorf("verdict %v action %q status %v type %q", r.Verdict, r.EventAction, r.HTTPStatus, r.HTTPContentType)
	case r.RuleName != "Super Administrator**Default" || r.URLQuery != "a=1&b=2" || r.UserAgent != "git/2.45.0_(linux)" || r.ObserverHostname != "10.20.0.5":
		t.Errorf("rule %q query %q ua %q host %q", r.RuleName, r.URLQuery, r.UserAgent, r.ObserverHostname)
	}
	h, body := parsers.SplitHeader(line, time.UTC, parsertest.DefaultNow)
	if s := Detect(body, &h); s < 90 {
		t.Errorf("detect %d", s)
	}
	// Older headers carry a zone name where the host would be.
	r, err = parse(t, `<159>Dec 19 10:48:57 EST 10.20.0.5 vendor=Websense product=Security product_version=7.7.0 action=permitted severity=1 category=153 user=- src_host=10.90.1.15 src_port=51000 dst_host=example.com dst_ip=198.51.100.1 dst_port=443 bytes_out=197 bytes_in=76 http_response=200 http_method=CONNECT url=https://example.com`)
	if err != nil {
		t.Fatal(err)
	}
	if r.ObserverHostname != "10.20.0.5" || r.UserName != "" || r.Verdict != parsers.Allowed {
		t.Errorf("host %q user %q verdict %v", r.ObserverHostname, r.UserName, r.Verdict)
	}
}

// loginID can be written "domain/userID".
func TestLoginDomainSlash(t *testing.T) {
	r, err := parse(t, `CEF:0|Forcepoint|Security|8.5.5|67|Transaction blocked|7| act=blocked dst=203.0.113.160 dhost=x.example.net src=10.90.1.11 suser=WinNT://EXAMPLE/tara loginID=EXAMPLE/tara request=https://x.example.net/`)
	if err != nil {
		t.Fatal(err)
	}
	if r.UserName != "tara" || r.UserDomain != "EXAMPLE" {
		t.Errorf("user %q domain %q", r.UserName, r.UserDomain)
	}
}
