package checkpoint

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, Name) }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, Name) }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, Name) }

func parseWith(t *testing.T, p parsers.Parser, line string) (parsers.Record, error) {
	t.Helper()
	var r parsers.Record
	m := parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow}
	err := parsers.ParseLine(p, line, &m, &r)
	return r, err
}

func newParser(t *testing.T) parsers.Parser {
	t.Helper()
	p, err := New(parsers.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestStructuredDataForm(t *testing.T) {
	line := `<134>1 2026-06-14T09:15:05Z mgmt01.example.com CheckPoint 2217 - [action:"Accept"; ifdir:"outbound"; loguid:"{0x1,0x2}"; origin:"192.0.2.1"; originsicname:"CN=gw-hq01,O=mgmt01.example.com.7hd2kq"; time:"1781428503"; __policy_id_tag:"product=VPN-1 & FireWall-1[db_tag={A};mgmt=m;policy_name=Standard\]"; dst:"203.0.113.10"; product:"VPN-1 & FireWall-1"; proto:"6"; rule_name:"Allow \"web\"; all"; s_port:"51514"; service:"443"; service_id:"https"; src:"10.1.2.3"; src_user_name:"Jane Doe (jdoe)"; client_outbound_bytes:"1200"; server_outbound_bytes:"56000"; bytes:"57200"; xlatesrc:"198.51.100.7"; xlatedst:"0.0.0.0"; xlatedport:"0"]`
	r, err := parseWith(t, newParser(t), line)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !r.Timestamp.Equal(time.Date(2026, 6, 14, 9, 15, 3, 0, time.UTC)):
		t.Errorf("time field wins over the header: %v", r.Timestamp)
	case r.SourceBytes.V != 1200 || r.DestinationBytes.V != 56000 || r.NetworkBytes.Set:
		t.Errorf("client_outbound is what the client sent: src=%v dst=%v total=%v", r.SourceBytes, r.DestinationBytes, r.NetworkBytes)
	case r.UserName != "jdoe" || r.RuleName != `Allow "web"; all`:
		t.Errorf("user %q rule %q", r.UserName, r.RuleName)
	case r.NetworkApplication != "":
		t.Errorf("service_id is a service, not an application: %q", r.NetworkApplication)
	case r.DestinationPort.V != 443 || r.SourcePort.V != 51514 || r.NetworkTransport != "tcp":
		t.Errorf("ports/transport %v %v %q", r.SourcePort, r.DestinationPort, r.NetworkTransport)
	case r.SourceNATIP.String() != "198.51.100.7" || r.DestinationNATIP.IsValid() || r.DestinationNATPort.Set:
		t.Errorf("nat %v %v %v", r.SourceNATIP, r.DestinationNATIP, r.DestinationNATPort)
	case r.Verdict != parsers.Allowed || r.Category != "network" || r.NetworkDirection != "outbound":
		t.Errorf("verdict %v category %q direction %q", r.Verdict, r.Category, r.NetworkDirection)
	case r.ObserverVendor != "Check Point" || r.ObserverProduct != "VPN-1 & FireWall-1" || r.ObserverHostname != "gw-hq01":
		t.Errorf("observer %q %q %q", r.ObserverVendor, r.ObserverProduct, r.ObserverHostname)
	}
}

func TestActions(t *testing.T) {
	cases := map[string]parsers.Verdict{
		"Accept": parsers.Allowed, "Allow": parsers.Allowed, "Detect": parsers.Allowed, "Inform": parsers.Allowed, "Ask": parsers.Allowed,
		"Drop": parsers.Denied, "Reject": parsers.Denied, "Block": parsers.Denied, "Prevent": parsers.Denied,
		"Redirect": parsers.VerdictUnknown,
	}
	for a, want := range cases {
		r, err := parseWith(t, newParser(t), `[action:"`+a+`"; src:"10.0.0.1"; dst:"203.0.113.1"; origin:"192.0.2.1"]`)
		if err != nil {
			t.Fatalf("%s: %v", a, err)
		}
		if r.Verdict != want || r.EventAction != a {
			t.Errorf("%s: verdict %v action %q", a, r.Verdict, r.EventAction)
		}
	}
	for _, a := range []string{"Key Install", "Log In", "Failed Log In"} {
		if _, err := parseWith(t, newParser(t), `[action:"`+a+`"; src:"10.0.0.1"; dst:"203.0.113.1"; origin:"192.0.2.1"]`); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v", a, err)
		}
	}
}

func TestLogUpdate(t *testing.T) {
	p := newParser(t)
	first := `[action:"Accept"; loguid:"{0xa,0xb}"; origin:"192.0.2.1"; time:"1781428740"; src:"10.1.2.5"; dst:"203.0.113.50"; s_port:"53001"; service:"53"; proto:"17"; src_user_name:"Jane Doe (jdoe)"; product:"VPN-1 & FireWall-1"]`
	update := `[loguid:"{0xa,0xb}"; origin:"192.0.2.1"; time:"1781429040"; client_outbound_bytes:"512"; server_outbound_bytes:"1536"; product:"Log Update"; start_time:"1781428740"]`
	if _, err := parseWith(t, p, update); !errors.Is(err, parsers.ErrSkip) {
		t.Fatalf("update before its connection: %v", err)
	}
	if _, err := parseWith(t, p, first); err != nil {
		t.Fatal(err)
	}
	r, err := parseWith(t, p, update)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP.String() != "10.1.2.5" || r.DestinationPort.V != 53 || r.UserName != "jdoe" || r.SourceBytes.V != 512 || r.DestinationBytes.V != 1536 || r.Verdict != parsers.Allowed || r.ObserverProduct != "VPN-1 & FireWall-1" {
		t.Errorf("merged update %+v", r)
	}
	if !r.Timestamp.Equal(time.Unix(1781429040, 0)) {
		t.Errorf("update time, not start_time: %v", r.Timestamp)
	}
}

func TestConnTableBounded(t *testing.T) {
	p := newParser(t).(*parser)
	for i := 0; i < maxConns*2+10; i++ {
		line := `[action:"Accept"; loguid:"{0x` + parsers.Itoa(int64(i)) + `}"; src:"10.0.0.1"; dst:"203.0.113.1"]`
		if _, err := parseWith(t, p, line); err != nil {
			t.Fatal(err)
		}
		if len(p.conns) > maxConns {
			t.Fatalf("table grew to %d", len(p.conns))
		}
	}
}

func TestSyntaxes(t *testing.T) {
	cases := []struct{ name, line, src, user string }{
		{"pipe", `time=1781428800|hostname=gw-hq01|product=Firewall|action=Accept|originsicname=cn\=gw-hq01,o\=m|src=10.1.2.6|dst=203.0.113.60|s_port=50333|service=8443|user=CORP\\carol|`, "10.1.2.6", "carol"},
		{"fields-sd", `<85>1 2026-06-14T09:27:00+02:00 192.0.2.3 CP-GW - Log [Fields@1.3.6.1.4.1.2620 src="10.30.0.15" dst="203.0.113.70" proto="6" src_user_name="Erin Example (erin)" svc="443" sport_svc="56530"]`, "10.30.0.15", "erin"},
		{"spaced-5424", `<134>1 2026-06-14 09:30:00 mgmt01 CheckPoint 13752 - [action:"Reject"; src:"203.0.113.90"; dst:"10.1.2.80";]`, "203.0.113.90", ""},
		{"cef", `CEF:0|Check Point|VPN-1 & FireWall-1|Check Point|Log|https|Unknown|act=Accept src=10.1.2.9 dst=203.0.113.93 suser=CORP\\dave in=2200 out=48000 rt=1781430000000`, "10.1.2.9", "dave"},
		{"leef", "LEEF:2.0|Check Point|VPN-1 & FireWall-1|1.0|Accept|src=10.1.2.10\tdst=203.0.113.94\tusrName=frank@example.com\tdevTime=1781430120", "10.1.2.10", "frank@example.com"},
	}
	for _, c := range cases {
		r, err := parseWith(t, newParser(t), c.line)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		if r.SourceIP.String() != c.src || r.UserName != c.user || r.ObserverVendor != "Check Point" {
			t.Errorf("%s: src %v user %q vendor %q", c.name, r.SourceIP, r.UserName, r.ObserverVendor)
		}
	}
	r, _ := parseWith(t, newParser(t), cases[3].line)
	if r.SourceBytes.V != 2200 || r.DestinationBytes.V != 48000 || !r.Timestamp.Equal(time.UnixMilli(1781430000000)) {
		t.Errorf("cef bytes/time: %v %v %v", r.SourceBytes, r.DestinationBytes, r.Timestamp)
	}
}

func TestUnstrippedTagAndSpacedHeaderTime(t *testing.T) {
	p := newParser(t).(*parser)
	var r parsers.Record
	m := parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow, Header: parsers.Header{Priority: -1}}
	if err := p.Parse(`CheckPoint[2217]: [action:"Accept"; src:"10.0.0.1"; dst:"203.0.113.1"]`, &m, &r); err != nil {
		t.Fatal(err)
	}
	if r.EventAction != "Accept" || r.SourceIP.String() != "10.0.0.1" {
		t.Errorf("tag before the list: %+v", r)
	}
	r, err := parseWith(t, newParser(t), `<134>1 2026-06-14 09:30:00 mgmt01 CheckPoint 13752 - [action:"Drop"; src:"203.0.113.90"; dst:"10.1.2.80"]`)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Timestamp.Equal(time.Date(2026, 6, 14, 9, 30, 0, 0, time.UTC)) || r.ObserverHostname != "mgmt01" {
		t.Errorf("spaced header: time %v host %q", r.Timestamp, r.ObserverHostname)
	}
}

func TestSkipsAndErrors(t *testing.T) {
	skips := []string{
		`[action:"Accept"; origin:"192.0.2.10"; administrator:"admin"; operation:"Install Policy"; product:"SmartConsole"]`,
		`[origin:"192.0.2.10"; product:"System Monitor"; package_action:"Download"]`,
		`[origin:"192.0.2.1"; stormagentaction:"Agent is up"]`,
	}
	for _, l := range skips {
		if _, err := parseWith(t, newParser(t), l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%s: %v", l, err)
		}
	}
	for _, l := range []string{`[action:"Accept"; src:"10.1.2.3`, `hello world`, `CEF:0|Check Point|x`, ``} {
		if _, err := parseWith(t, newParser(t), l); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want an error, got %v", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, l := range parsertest.Lines(t, Name) {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := Detect(body, &h); s < 90 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	h := parsers.Header{Priority: -1}
	for _, other := range []string{
		`CEF:0|Acme|NetGuard|1|100|n|3|src=10.0.0.1`,
		`CEF:0|Forcepoint|Security|8.5|148|Transaction permitted|1| act=permitted src=10.0.0.1`,
		"LEEF:1.0|Forcepoint|Security|8.5|transaction:permitted|src=10.0.0.1",
		`date=2025-01-15 time=10:00:00 devname="FG100" logid="0000000013" type="traffic"`,
		`McAfeeWG|time_stamp=[14/Jun/2026:09:15:03 +0000]|src_ip=10.0.0.1|`,
		`{"action":"allow","src":"10.0.0.1"}`,
	} {
		if s := Detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
}

// Check Point's CEF export maps domain_name (a DNS query) to sntdom: it is
// not the user's domain. "CEF: 0|" with a space is still CEF.
func TestCEFDomainNameAndSpacedHeader(t *testing.T) {
	p := newParser(t)
	r, err := parseWith(t, p, `CEF:0|Check Point|VPN-1 & FireWall-1|Check Point|Log|https|Unknown|act=Accept rt=1781431500000 spt=61001 dpt=443 src=10.60.1.17 dst=203.0.113.151 proto=6 suser=gina sntdom=www.example.com origin=198.51.100.1`)
	if err != nil {
		t.Fatal(err)
	}
	if r.UserName != "gina" || r.UserDomain != "" {
		t.Errorf("user %q domain %q", r.UserName, r.UserDomain)
	}
	r, err = parseWith(t, p, `Jun 14 10:04:00 198.51.100.1 CEF: 0|Check Point|VPN-1 & FireWall-1|Check Point|geo_protection|Log|Unknown|act=Drop deviceDirection=0 rt=1781431440000 spt=58429 dpt=27016 originsicname=cn\=gw-dc01,o\=mgmt02..abc123 dst=198.51.100.1 proto=17 src=203.0.113.201`)
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != parsers.Denied || r.ObserverHostname != "gw-dc01" || r.NetworkTransport != "udp" || r.NetworkDirection != "inbound" {
		t.Errorf("%+v", r)
	}
	// URL Filtering without http_host: the destination domain is the URL's.
	r, err = parseWith(t, p, "<134>Jun 14 10:06:00 mgmt02 LEEF:2.0|Check Point|URL Filtering|1.0|Block|src=10.60.1.18\tdst=198.51.100.45\tdstPort=80\tproto=6\tresource=http://games.example.net/")
	if err != nil {
		t.Fatal(err)
	}
	if r.DestinationDomain != "games.example.net" || r.Verdict != parsers.Denied {
		t.Errorf("domain %q verdict %v", r.DestinationDomain, r.Verdict)
	}
}

// The connection a Log Update completes is kept across lines, which the
// caller hands over in one reused buffer: it must not alias the line (the
// transport is the logged word itself when it is an unlisted lower-case
// protocol name).
func TestLogUpdateOutlivesLineBuffer(t *testing.T) {
	in := `<134>1 2026-06-14T09:19:01Z gw CheckPoint 2217 - [action:"Accept"; loguid:"{0x7,0x1}"; origin:"192.0.2.1"; time:"1781428740"; dst:"203.0.113.50"; product:"VPN-1 & FireWall-1"; proto:"carp"; rule_name:"Allow carp"; src:"10.1.2.5"]
<134>1 2026-06-14T09:24:01Z gw CheckPoint 2217 - [action:"Accept"; loguid:"{0x7,0x1}"; origin:"192.0.2.1"; time:"1781429040"; bytes:"2048"; product:"Log Update"]
`
	out := strings.Split(string(parsertest.Render(t, Name, []byte(in), time.UTC, parsertest.DefaultNow)), "\n")
	if len(out) < 2 || !strings.Contains(out[1], `"transport":"carp"`) || !strings.Contains(out[1], `"name":"Allow carp"`) {
		t.Errorf("log update lost its connection's fields:\n%s", strings.Join(out, "\n"))
	}
}
