package leef

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

func TestFields(t *testing.T) {
	r, err := parse(t, "<134>Jun 14 09:15:03 fw01.example.com LEEF:1.0|Acme|NetGuard|4.2|ConnAllowed|src=10.1.2.3\tsrcPort=51514\tdst=203.0.113.10\tdstPort=443\tproto=6\tusrName=CORP\\jdoe\tsrcBytes=1200\tdstBytes=56000\taction=allow\tdevTime=Jun 14 2026 11:15:03\tdevTimeFormat=MMM dd yyyy HH:mm:ss")
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case !r.Timestamp.Equal(time.Date(2026, 6, 14, 11, 15, 3, 0, time.UTC)):
		t.Errorf("devTime wins over the header: %v", r.Timestamp)
	case r.SourceBytes.V != 1200 || r.DestinationBytes.V != 56000:
		t.Errorf("srcBytes is sent by the source: %v %v", r.SourceBytes, r.DestinationBytes)
	case r.UserName != "jdoe" || r.UserDomain != "CORP":
		t.Errorf("user %q %q", r.UserName, r.UserDomain)
	case r.Verdict != parsers.Allowed || r.NetworkTransport != "tcp" || r.ObserverVendor != "Acme" || r.ObserverHostname != "fw01.example.com":
		t.Errorf("%+v", r)
	}
}

func TestDelimitersAndVerdictFromEventID(t *testing.T) {
	r, err := parse(t, "LEEF:2.0|Acme|NetGuard|4.2|deny|^|src=10.0.0.1^dst=203.0.113.1^url=https://a.example.com/?x=1^y=2")
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != parsers.Denied || r.EventAction != "deny" || r.URLOriginal != "https://a.example.com/?x=1" {
		t.Errorf("%+v", r)
	}
	r, err = parse(t, "LEEF:1.0|Acme|NetGuard|4.2|Conn|src=10.0.0.1#011dst=203.0.113.1#011totalBytes=77")
	if err != nil {
		t.Fatal(err)
	}
	if r.DestinationIP.String() != "203.0.113.1" || r.NetworkBytes.V != 77 || r.SourceBytes.Set {
		t.Errorf("#011 tabs / total: %+v", r)
	}
}

func TestSkipAndErrors(t *testing.T) {
	if _, err := parse(t, "LEEF:1.0|Acme|NetGuard|4.2|AdminLogin|usrName=admin\tmsg=ok"); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("admin login: %v", err)
	}
	for _, bad := range []string{"LEEF:2.0|Acme|NetGuard", "LEEF:2.0|A|B|1|E|zz|src=10.0.0.1", "plain text"} {
		if _, err := parse(t, bad); err == nil || errors.Is(err, parsers.ErrSkip) {
			t.Errorf("%q: want a parse error, got %v", bad, err)
		}
	}
}

func TestDetect(t *testing.T) {
	for _, l := range parsertest.Lines(t, Name) {
		hdr, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		if s := Detect(body, &hdr); s < 50 || s > 60 {
			t.Errorf("own line scored %d: %s", s, l)
		}
	}
	h := parsers.Header{Priority: -1}
	for _, other := range []string{
		`CEF:0|Acme|NetGuard|1|100|n|3|src=10.0.0.1`,
		`date=2025-01-15 time=10:00:00 devname="FG100" logid="0000000013" type="traffic"`,
		`McAfeeWG|time_stamp=[14/Jun/2026:09:15:03 +0000]|src_ip=10.0.0.1|`,
		`text mentioning LEEF: without a header`,
	} {
		if s := Detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
}

// Event IDs such as Forcepoint NGFW's "Connection_Allowed" carry the
// verdict; an administrator's login with only a source is not traffic.
func TestEventIDWordsAndAdminSkip(t *testing.T) {
	r, err := parse(t, "LEEF:1.0|FORCEPOINT|Firewall|6.10.6|Connection_Discarded|src=203.0.113.250\tsrcPort=61111\tdst=10.0.0.30\tdstPort=445\tproto=6")
	if err != nil {
		t.Fatal(err)
	}
	if r.Verdict != parsers.Denied || r.EventAction != "Connection_Discarded" {
		t.Errorf("verdict %v action %q", r.Verdict, r.EventAction)
	}
	if _, err := parse(t, "LEEF:1.0|Acme|NetGuard|4.2|AdminLogin|src=10.1.1.50\tusrName=admin\tmsg=administrator logged in"); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("admin login: %v", err)
	}
	r, err = parse(t, "LEEF:1.0|Acme|WebProxy|4.1|blocked|src=10.7.7.8\turl=https://files.example.org/share?id=9")
	if err != nil {
		t.Fatal(err)
	}
	if r.DestinationDomain != "files.example.org" || r.Verdict != parsers.Denied {
		t.Errorf("domain %q verdict %v", r.DestinationDomain, r.Verdict)
	}
}
