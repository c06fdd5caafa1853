package sophosxg

import (
	"errors"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

func TestGolden(t *testing.T)     { parsertest.Golden(t, "sophos-xg") }
func FuzzParse(f *testing.F)      { parsertest.Fuzz(f, "sophos-xg") }
func BenchmarkParse(b *testing.B) { parsertest.Bench(b, "sophos-xg") }

func parseIn(t *testing.T, loc *time.Location, line string) (parsers.Record, error) {
	t.Helper()
	p, err := parsers.New("sophos-xg", parsers.Options{Location: loc})
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

const (
	old = `device="SFW" date=2026-01-15 time=10:00:00 timezone="CET" device_name="XG230" device_id=C2300ABC log_id=010101600001 log_type="Firewall" log_component="Firewall Rule" `
	neu = `device_name="SFW" timestamp="2026-01-15T10:40:00+0530" device_model="XGS2100" device_serial_id="X21000ABC" log_id="010101600001" log_type="Firewall" log_component="Firewall Rule" `
)

func TestBothReleases(t *testing.T) {
	r := mustParse(t, old+`log_subtype="Allowed" status="Allow" user_name="CORP\jdoe" ether_type=Unknown (0x0000) src_ip=10.0.0.1 dst_ip=203.0.113.5 protocol="TCP" src_port=5000 dst_port=443 sent_pkts=3 recv_pkts=4 sent_bytes=100 recv_bytes=2000 tran_src_ip=198.51.100.1 tran_src_port=40000 tran_dst_ip= tran_dst_port=0 duration=7 application="Slack" application_category="Collaboration" application_risk=0`)
	if r.SourceBytes != parsers.N(100) || r.DestinationBytes != parsers.N(2000) || r.SourcePackets != parsers.N(3) || r.DestinationPackets != parsers.N(4) {
		t.Fatalf("old bytes/packets: %v %v %v %v", r.SourceBytes, r.DestinationBytes, r.SourcePackets, r.DestinationPackets)
	}
	if r.SourceNATIP.String() != "198.51.100.1" || r.SourceNATPort != parsers.N(40000) || r.DestinationNATIP.IsValid() || r.DestinationNATPort.Set {
		t.Fatalf("old nat: %v %v %v %v", r.SourceNATIP, r.SourceNATPort, r.DestinationNATIP, r.DestinationNATPort)
	}
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:00:00+01:00" {
		t.Fatalf("CET: %s", got)
	}
	if r.UserName != "jdoe" || r.UserDomain != "CORP" || r.NetworkApplication != "Slack" || r.AppCategory != "Collaboration" || r.AppRisk != "" {
		t.Fatalf("user %q/%q app %q %q risk %q", r.UserName, r.UserDomain, r.NetworkApplication, r.AppCategory, r.AppRisk)
	}
	if r.Verdict != parsers.Allowed || r.Category != "network" || r.NetworkTransport != "tcp" || r.Duration != parsers.N(7*int64(time.Second)) || r.ObserverSerial != "C2300ABC" {
		t.Fatalf("verdict %v category %q transport %q duration %v serial %q", r.Verdict, r.Category, r.NetworkTransport, r.Duration, r.ObserverSerial)
	}
	r = mustParse(t, neu+`log_subtype="Denied" src_ip="2001:db8::1" dst_ip="2001:db8::2" protocol="UDP" src_port=5000 dst_port=53 bytes_sent=10 bytes_received=20 packets_sent=1  packets_received=2 src_trans_ip="192.0.2.1" src_trans_port=40001 app_name="DNS" app_category="Network Services" app_risk=1 fw_rule_name="Block DNS"`)
	if r.SourceBytes != parsers.N(10) || r.DestinationBytes != parsers.N(20) || r.DestinationPackets != parsers.N(2) || r.SourceNATIP.String() != "192.0.2.1" {
		t.Fatalf("new bytes/nat: %v %v %v %v", r.SourceBytes, r.DestinationBytes, r.DestinationPackets, r.SourceNATIP)
	}
	if got := r.Timestamp.Format(time.RFC3339); got != "2026-01-15T10:40:00+05:30" {
		t.Fatalf("timestamp: %s", got)
	}
	if r.Verdict != parsers.Denied || r.RuleName != "Block DNS" || r.AppRisk != "1" || r.ObserverSerial != "X21000ABC" {
		t.Fatalf("verdict %v rule %q risk %q serial %q", r.Verdict, r.RuleName, r.AppRisk, r.ObserverSerial)
	}
}

func TestZoneAbbreviations(t *testing.T) {
	kolkata, err := time.LoadLocation("Asia/Kolkata")
	if err != nil {
		t.Skip("no tzdata")
	}
	line := func(tz string) string {
		return `device="SFW" date=2026-01-15 time=10:00:00 timezone="` + tz + `" log_type="Firewall" log_component="Firewall Rule" log_subtype="Allowed" src_ip=10.0.0.1 dst_ip=203.0.113.5`
	}
	cases := map[string]string{
		"UTC": "2026-01-15T10:00:00Z", "EST": "2026-01-15T10:00:00-05:00", "CEST": "2026-01-15T10:00:00+02:00",
		// Ambiguous (India, Ireland, Israel) or unknown: the source's zone.
		"IST": "2026-01-15T10:00:00+05:30", "CST": "2026-01-15T10:00:00+05:30", "": "2026-01-15T10:00:00+05:30",
	}
	for tz, want := range cases {
		r, err := parseIn(t, kolkata, line(tz))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.Timestamp.Format(time.RFC3339); got != want {
			t.Errorf("%q: got %s want %s", tz, got, want)
		}
	}
}

func TestContentFiltering(t *testing.T) {
	r := mustParse(t, `device="SFW" date=2026-01-15 time=10:00:03 timezone="UTC" log_type="Content Filtering" log_component="HTTP" log_subtype="Allowed" user_name="jane@example.com" category="Online Storage" url="https://files.example.net/up?a=b,c d=e" contenttype="application/json" src_ip=10.0.0.2 dst_ip=203.0.113.9 protocol="TCP" src_port=1 dst_port=443 sent_bytes=5000 recv_bytes=10 domain=files.example.net user_agent="Agent/1.0 (x=y)" status_code="201" httpresponsecode=""`)
	if r.Category != "web" || r.URLOriginal != "https://files.example.net/up?a=b,c d=e" || r.DestinationDomain != "files.example.net" {
		t.Fatalf("category %q url %q domain %q", r.Category, r.URLOriginal, r.DestinationDomain)
	}
	if r.HTTPStatus != parsers.N(201) || r.UserAgent != "Agent/1.0 (x=y)" || r.URLCategory != "Online Storage" || r.HTTPContentType != "application/json" {
		t.Fatalf("status %v ua %q category %q ct %q", r.HTTPStatus, r.UserAgent, r.URLCategory, r.HTTPContentType)
	}
	if r.UserName != "jane@example.com" || r.UserDomain != "" || r.NetworkProtocol != "https" {
		t.Fatalf("user %q/%q protocol %q", r.UserName, r.UserDomain, r.NetworkProtocol)
	}
	// Application control is content filtering without a URL: a session.
	r = mustParse(t, neu[:len(neu)-len(`log_type="Firewall" log_component="Firewall Rule" `)]+`log_type="Content Filtering" log_component="Application" log_subtype="Denied" app_name="Torrent Clients P2P" src_ip="10.0.0.3" dst_ip="198.51.100.99" protocol="UDP"`)
	if r.Category != "network" || r.Verdict != parsers.Denied || r.NetworkApplication != "Torrent Clients P2P" {
		t.Fatalf("application: category %q verdict %v app %q", r.Category, r.Verdict, r.NetworkApplication)
	}
	r = mustParse(t, `device="SFW" date=2026-01-15 time=10:00:03 timezone="UTC" log_type="Content Filtering" log_component="HTTP" log_subtype="Warned" url="http://x.example.com/" src_ip=10.0.0.2`)
	if r.Verdict != parsers.Denied || r.EventAction != "Warned" {
		t.Fatalf("warned: %v %q", r.Verdict, r.EventAction)
	}
}

func TestSkipsAndErrors(t *testing.T) {
	for _, l := range []string{
		`device="SFW" date=2026-01-15 time=10:00:06 timezone="UTC" log_type="Event" log_component="GUI" log_subtype="Admin" user_name="admin" src_ip=10.0.0.5`,
		`device_name="SFW" timestamp="2026-01-15T10:40:05+0100" log_type="Event" log_component="DHCP Server" log_subtype="System"`,
		`device="SFW" date=2026-01-15 time=10:00:07 timezone="UTC" log_type="System Health" log_component="CPU"`,
		`device="SFW" date=2026-01-15 time=10:00:07 timezone="UTC" log_type="Anti-Virus" log_component="HTTP" src_ip=10.0.0.5`,
		old + `log_subtype="Denied" src_ip=0.0.0.0 dst_ip=0.0.0.0`,
	} {
		if _, err := parseIn(t, time.UTC, l); !errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want ErrSkip, got %v", l, err)
		}
	}
	for _, l := range []string{
		`device="SFW" date=2026-01-15 time=10:00:10 log_id=010101600001`,
		`device="SFW" date=2026-01-15 time=25:00:00 log_type="Firewall" src_ip=10.0.0.1`,
		`device_name="SFW" timestamp="yesterday" log_type="Firewall" src_ip=10.0.0.1`,
		`not sophos at all`,
		``,
	} {
		if _, err := parseIn(t, time.UTC, l); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want an error, got %v", l, err)
		}
	}
}

func TestDetect(t *testing.T) {
	h := parsers.Header{Priority: 30}
	for _, l := range []string{old + `log_subtype="Allowed"`, neu + `log_subtype="Allowed"`, `log_id=010101600001 log_type="Firewall" log_component="Firewall Rule"`} {
		if s := detect(l, &h); s < 90 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	for _, other := range []string{
		`date=2026-01-15 time=10:00:00 devname="FGT" devid="FGT60F" logid="0000000013" type="traffic" subtype="forward"`,
		`id="2001" severity="info" sys="SecureNet" sub="packetfilter" name="Packet dropped" action="drop"`,
		`id=firewall sn=0017C5A1B2C3 time="2026-01-15 10:00:00" fw=203.0.113.1 pri=6 c=1024 m=537`,
		`CEF:0|Sophos|XG|18|1|x|3|src=10.0.0.1`,
	} {
		if s := detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
	body := old + `log_subtype="Allowed" src_ip=10.0.0.1`
	if n := testing.AllocsPerRun(100, func() { detect(body, &h) }); n != 0 {
		t.Fatalf("detect allocates %v times", n)
	}
}

func TestApplicationAndContentPolicy(t *testing.T) {
	r := mustParse(t, `device="SFW" date=2026-02-16 time=10:05:06 timezone="UTC" log_id=054402617051 log_type="Content Filtering" log_component="Application" log_subtype="Denied" category="P2P" application_name="BitTorrent" application_risk=5 application_category="P2P" src_ip=10.80.1.16 dst_ip=203.0.113.160 protocol="UDP" src_port=51413 dst_port=6881`)
	if r.NetworkApplication != "BitTorrent" || r.AppCategory != "P2P" || r.AppRisk != "5" || r.URLCategory != "" || r.Category != "network" {
		t.Fatalf("app %q/%q/%q url category %q category %q", r.NetworkApplication, r.AppCategory, r.AppRisk, r.URLCategory, r.Category)
	}
	r = mustParse(t, `device="SFW" date=2026-02-16 time=10:05:13 timezone="UTC" log_type="Content Filtering" log_component="Web Content Policy" log_subtype="Alert" user="kmueller" src_ip=10.80.1.18 site_category=Finance website="bank.example.com" action="Deny"`)
	if r.Verdict != parsers.Denied || r.EventAction != "Deny" || r.UserName != "kmueller" || r.DestinationDomain != "bank.example.com" || r.URLCategory != "Finance" {
		t.Fatalf("web content policy: %v %q user %q domain %q category %q", r.Verdict, r.EventAction, r.UserName, r.DestinationDomain, r.URLCategory)
	}
	// A Unix timestamp= next to date= and time= (older releases).
	r = mustParse(t, `device="SFW" date=2026-02-16 time=10:05:14 timezone="UTC" log_type="Firewall" log_component="Firewall Rule" log_subtype="Allowed" src_ip=10.0.0.1 dst_ip=203.0.113.1 timestamp=1771236314`)
	if got := r.Timestamp.UTC().Format(time.RFC3339); got != "2026-02-16T10:05:14Z" {
		t.Fatalf("epoch timestamp: %s", got)
	}
}
