package fortigate

import (
	"bufio"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"
	"unsafe"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

// fwLogPath holds realistic FortiGate traffic lines as the pipeline
// benchmark's load generator writes them; tests and benchmarks that use it
// skip when it is absent. CLOUDSCOUT_FW_LOG overrides the path.
func fwLogPath() string {
	if p := os.Getenv("CLOUDSCOUT_FW_LOG"); p != "" {
		return p
	}
	return "/tmp/fw.log"
}

// fwLines returns up to n lines of the realistic input, or nil without it.
func fwLines(tb testing.TB, n int) []string {
	tb.Helper()
	fh, err := os.Open(fwLogPath())
	if err != nil {
		return nil
	}
	defer fh.Close()
	var lines []string
	sc := bufio.NewScanner(fh)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for len(lines) < n && sc.Scan() {
		if l := sc.Text(); strings.TrimSpace(l) != "" {
			lines = append(lines, l)
		}
	}
	if err := sc.Err(); err != nil {
		tb.Fatal(err)
	}
	return lines
}

// refNew builds the pre-speed-work parser.
func refNew() parsers.Parser { return &refParser{loc: time.UTC} }

// equivLines are hand-made lines for the paths the test data reaches
// rarely: odd separators, escapes, repeated and unknown keys, every field
// the parser maps, number and address edge cases.
var equivLines = []string{
	base + `action="close" tz="+0100" tz="+0200" eventtime=1768467600`,
	base + `action=close sentbyte=18446744073709551615 rcvdbyte=9223372036854775807 sentpkt=9223372036854775808 rcvdpkt=-1 duration=8589934592`,
	base + `action="close" duration=8589934591 srcport=0 dstport=65536 transport=65535 tranport=1`,
	base + `action="close" srcname="10.0.0.9" dstname="198.51.100.7" hostname="" sni="a.example"`,
	base + `action="close" srcname="host-1" dstname="::1" hostname="1.2.3.4" sni=""`,
	base + `action="close" url="https://u:p@www.example.com:8443/x?y#z" httpmethod="get" agent="Mozilla/5.0 (X11)" referralurl="http://r.example/" catdesc="News and Media"`,
	base + `action="close" virus="EICAR" attack="x" qname="q.example" user="CN=Jane,OU=x" unauthuser="u"`,
	base + `action="close" app="HTTPS" appid=0 service="https" appcat="x" apprisk="high"`,
	base + `action="close" app="ssl" appid="" service="SSL"`,
	base + `action="" utmaction="block"`,
	base + `action="Deny" utmaction="allow" srcmac="00:11:22:33:44:55"`,
	`date=2026-01-15 time=10:00:00 logid="1" type="utm" subtype="dns" srcip=10.0.0.1 dstip=10.0.0.2 action="REDIRECT"`,
	`date=2026-01-15 time=10:00:00 logid="1" type="utm" subtype="virus" srcip=10.0.0.1 dstip=10.0.0.2 utmaction="blocked"`,
	`date=2026-01-15 time=10:00:00 logid="1" type="anomaly" subtype="anomaly" srcip=10.0.0.1 dstip=10.0.0.2 action="clear_session"`,
	`date=2026-01-15 time=10:00:00 logid="1" type="dns" subtype="dns-response" srcip=10.0.0.1 dstip=10.0.0.2 action="pass"`,
	`date=2026-01-15 time=10:00:00 logid="1" type="unknown" srcip=10.0.0.1`,
	`date=2026-01-15 time=10:00:00 logid="1" type="event" subtype="vpn"`,
	`date=2026-01-15 time=10:00:00 logid="1" type="traffic" srcip=nothost dstip=`,
	`date=2026-01-15 time=10:00:00 type="traffic" srcip=10.0.0.1 dstip=0.0.0.0`,
	`date=2026-01-15 time=10:00:00 type="traffic" srcip=[2001:db8::1] dstip=::ffff:10.0.0.1 transip=010.0.0.1 tranip=fe80::1%eth0`,
	`date=2026/01/15 time=23:59:60 tz="GMT-5" type="traffic" srcip=10.0.0.1 eventtime=946684799`,
	`date=2026-13-15 time=10:00:00 tz="utc" type="traffic" srcip=10.0.0.1 eventtime=99999999999999999999`,
	`date=2026-01-15 time=10:0:00 tz="+05:30" type="traffic" srcip=10.0.0.1 eventtime=1768467600123`,
	`date=2026-01-15 time=10:00:00 tz="+5" type="traffic" srcip=10.0.0.1 eventtime=12a`,
	`date=2026-01-15 time=10:00:00 tz="-1500" type="traffic" srcip=10.0.0.1 eventtime=9223372036854775808`,
	`date=2026-01-15,time=10:00:00,devname="FGT,1",logid="1",type="traffic",srcip=10.0.0.1,dstip=10.0.0.2,action="close",user="a b"`,
	`date="2026-01-15",time=10:00:00,type=traffic,srcip=10.0.0.1,dstip=10.0.0.2,action=deny`,
	`date=2026-01-15 time=10:00:00 type="traffic" srcip=10.0.0.1 dstip=10.0.0.2 action="clo\"se" policyname="a\\b \"c\"" user="D\\\\u"`,
	`date=2026-01-15 time=10:00:00 type="traffic" srcip=10.0.0.1 dstip=10.0.0.2 policyname="unterminated \" rest`,
	`date=2026-01-15 time=10:00:00 type="traffic" srcip=10.0.0.1 dstip=10.0.0.2 policyname="unterminated rest`,
	`date=2026-01-15  time=10:00:00 junk type="traffic" ==x srcip=10.0.0.1 =y dstip=10.0.0.2 DSTIP=1.1.1.1 Type=x action=close `,
	"date=2026-01-15\ttime=10:00:00 type=\"traffic\" srcip=10.0.0.1 dstip=10.0.0.2\taction=close",
	`date=2026-01-15 time=10:00:00 type="traffic" srcip="10.0.0.1" dstip="10.0.0.2" srcport="1" proto="17" service="DNS"`,
	`date=2026-01-15 time=10:00:00 type="traffic" srcip=10.0.0.1 dstip=10.0.0.2 proto=132 service=QUIC appid=1 app=quic`,
	`type=traffic`, `type=`, `logid=1`, `a=b`, `date=`, `x`, ``,
	`CEF:0|Fortinet|Fortigate|v7|00013|traffic:forward close|3|cat=traffic:forward src=10.0.0.1 dst=198.51.100.1 act=close deviceExternalId=FG1 dvchost=f`,
}

// TestMatchesReference checks the parser against its pre-speed-work copy
// on the test data, the hand-made lines and (when present) the realistic
// input: same error, same record, same JSON.
func TestMatchesReference(t *testing.T) {
	lines := append(parsertest.Lines(t, "fortigate"), equivLines...)
	n := 20000
	if testing.Short() {
		n = 2000
	}
	lines = append(lines, fwLines(t, n)...)
	p, err := parsers.New("fortigate", parsers.Options{Location: time.UTC})
	if err != nil {
		t.Fatal(err)
	}
	ref := refNew()
	for _, l := range lines {
		compareWithRef(t, p, ref, l)
	}
}

func FuzzMatchesReference(f *testing.F) {
	for _, l := range parsertest.Lines(f, "fortigate") {
		f.Add(l)
	}
	for _, l := range equivLines {
		f.Add(l)
	}
	f.Fuzz(func(t *testing.T, line string) {
		p, err := parsers.New("fortigate", parsers.Options{Location: time.UTC})
		if err != nil {
			t.Fatal(err)
		}
		ref := refNew()
		for range 2 { // twice: per-instance caches must not change results
			compareWithRef(t, p, ref, line)
		}
	})
}

func compareWithRef(t *testing.T, p, ref parsers.Parser, line string) {
	t.Helper()
	var got, want parsers.Record
	mg := parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow}
	mw := mg
	gerr := parsers.ParseLine(p, line, &mg, &got)
	werr := parsers.ParseLine(ref, line, &mw, &want)
	if (gerr == nil) != (werr == nil) || gerr != nil && gerr.Error() != werr.Error() {
		t.Fatalf("%q: error %v, reference %v", line, gerr, werr)
	}
	if gj, wj := string(got.AppendJSON(nil)), string(want.AppendJSON(nil)); gj != wj {
		t.Fatalf("%q:\n got  %s\n want %s", line, gj, wj)
	}
	if !got.Timestamp.Equal(want.Timestamp) || got.Timestamp.Location().String() != want.Timestamp.Location().String() {
		t.Fatalf("%q: time %v, reference %v", line, got.Timestamp, want.Timestamp)
	}
	got.Timestamp, want.Timestamp = time.Time{}, time.Time{} // zones are per-instance pointers
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%q: record\n got  %+v\n want %+v", line, got, want)
	}
}

type benchLine struct {
	h    parsers.Header
	body string
}

// benchLines splits the syslog header off as ParseLine does, so the
// benchmarks time Parse alone.
func benchLines(lines []string) ([]benchLine, int) {
	out := make([]benchLine, 0, len(lines))
	size := 0
	for _, l := range lines {
		h, body := parsers.SplitHeader(l, time.UTC, parsertest.DefaultNow)
		out = append(out, benchLine{h, body})
		size += len(l)
	}
	return out, size
}

func benchParsers(b *testing.B, lines []string) {
	if len(lines) == 0 {
		b.Skip("no input lines")
	}
	bl, size := benchLines(lines)
	cur, err := parsers.New("fortigate", parsers.Options{Location: time.UTC})
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		p    parsers.Parser
	}{{"new", cur}, {"ref", refNew()}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(size / len(bl)))
			b.ReportAllocs()
			var r parsers.Record
			var m parsers.Meta
			// Like the collector, parse each line from one reused buffer it
			// was just copied to (so it is in the cache, as a line just
			// read from a socket is), not from a 14 MB array.
			buf := make([]byte, 64<<10)
			i := 0
			for b.Loop() {
				l := &bl[i]
				if i++; i == len(bl) {
					i = 0
				}
				body := unsafe.String(&buf[0], copy(buf, l.body))
				r.Reset()
				m = parsers.Meta{Location: time.UTC, Now: parsertest.DefaultNow, Header: l.h}
				_ = c.p.Parse(body, &m, &r)
			}
		})
	}
}

// BenchmarkFwLog parses the realistic input (the first 20000 lines) with
// the parser and its pre-speed-work reference.
func BenchmarkFwLog(b *testing.B) { benchParsers(b, fwLines(b, 20000)) }

// BenchmarkFwLogMixed is BenchmarkFwLog with every third line one of the
// test data's lines (other log types, other key orders), as from a device
// that logs more than traffic.
func BenchmarkFwLogMixed(b *testing.B) {
	fw := fwLines(b, 20000)
	other := parsertest.Lines(b, "fortigate")
	var lines []string
	for i, l := range fw {
		lines = append(lines, l)
		if i%2 == 1 {
			lines = append(lines, other[(i/2)%len(other)])
		}
	}
	benchParsers(b, lines)
}

// BenchmarkParseVsRef does the same over the test data's lines, every one
// unlike the one before.
func BenchmarkParseVsRef(b *testing.B) { benchParsers(b, parsertest.Lines(b, "fortigate")) }
