package iboss

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
	r, err := parse(t, `<134>Jun 14 09:15:03 gw01.example.com CEF:0|iboss|iboss Cloud|10.2|web|Web Request|3|rt=1781428503000 src=10.1.2.3 spt=51514 dst=203.0.113.10 dpt=443 dhost=www.example.com suser=CORP\\jdoe request=https://www.example.com/ requestMethod=GET act=Blocked cat=Business in=1200 out=56000`)
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case r.SourceBytes.V != 1200 || r.DestinationBytes.V != 56000:
		t.Errorf("standard CEF in/out: %v %v", r.SourceBytes, r.DestinationBytes)
	case r.UserName != "jdoe" || r.UserDomain != "CORP" || r.URLCategory != "Business":
		t.Errorf("user %q %q category %q", r.UserName, r.UserDomain, r.URLCategory)
	case r.Verdict != parsers.Denied || r.Category != "web" || r.ObserverVendor != "iboss" || r.ObserverProduct != "iboss Cloud":
		t.Errorf("%+v", r)
	case !r.Timestamp.Equal(time.UnixMilli(1781428503000)):
		t.Errorf("time %v", r.Timestamp)
	}
}

func TestSkipAndErrors(t *testing.T) {
	if _, err := parse(t, `CEF:0|iboss|iboss Cloud|10.2|admin|Administrator Login|5|suser=admin`); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("admin: %v", err)
	}
	for _, bad := range []string{`CEF:0|iboss|iboss Cloud|10.2`, `LEEF:2.0|iboss|x|1|E|zz|src=10.0.0.1`, `hello`} {
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
		`CEF:0|Acme|NetGuard|1|100|n|3|src=10.0.0.1`,
		`CEF:0|Forcepoint|Security|8.5|148|Transaction permitted|1| act=permitted`,
		"LEEF:1.0|McAfee|Web Gateway|12.2|0|src=10.0.0.1",
		`iboss says hello src=10.0.0.1`,
	} {
		if s := Detect(other, &h); s != 0 {
			t.Errorf("foreign line scored %d: %s", s, other)
		}
	}
}

// An administrator's login names a source address but no destination.
func TestAdminWithSourceSkipped(t *testing.T) {
	if _, err := parse(t, `<134>Jun 14 13:07:00 ibcloud-node7.example.com CEF:0|iboss|iboss Cloud|10.3|admin|Administrator Login|5|rt=1781442420000 src=10.9.9.20 suser=admin msg=login from console`); !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("admin login: %v", err)
	}
	r, err := parse(t, "LEEF:2.0|iboss|iboss Cloud|10.3|web|^|src=10.100.1.15^dst=198.51.100.175^dstPort=443^url=https://games.example.com/play^action=Blocked")
	if err != nil {
		t.Fatal(err)
	}
	if r.DestinationDomain != "games.example.com" || r.Verdict != parsers.Denied {
		t.Errorf("domain %q verdict %v", r.DestinationDomain, r.Verdict)
	}
}
