package parsers

import (
	"strings"
	"testing"
)

// scanKVRef is the straightforward byte-at-a-time ScanKV that the
// optimized one must agree with.
func scanKVRef(s string, sep byte, fn func(key, value string) bool) {
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == sep || s[i] == ' ') {
			i++
		}
		if i >= len(s) {
			return
		}
		ks := i
		for i < len(s) && s[i] != '=' && s[i] != sep {
			i++
		}
		if i >= len(s) {
			return
		}
		if s[i] != '=' {
			continue // a word without '=': skip it
		}
		key := s[ks:i]
		i++
		if i < len(s) && s[i] == '"' {
			val, n, ok := readQuotedRef(s[i+1:])
			if !ok {
				fn(key, s[i+1:])
				return
			}
			i += 1 + n
			if !fn(key, val) {
				return
			}
			continue
		}
		vs := i
		for i < len(s) && s[i] != sep {
			i++
		}
		if !fn(key, s[vs:i]) {
			return
		}
	}
}

// readQuotedRef is the reference for readQuoted.
func readQuotedRef(s string) (string, int, bool) {
	esc := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			esc = true
			i++
		case '"':
			if !esc {
				return s[:i], i + 1, true
			}
			return unescapeBackslash(s[:i]), i + 1, true
		}
	}
	return "", 0, false
}

// kvPairs records every pair ScanKV-like scan yields, stopping after limit
// pairs (exercising the early return).
func kvPairs(scan func(string, byte, func(k, v string) bool), s string, sep byte, limit int) []string {
	var out []string
	scan(s, sep, func(k, v string) bool {
		out = append(out, k, v)
		return len(out)/2 < limit
	})
	return out
}

var kvSamples = []string{
	``, ` `, `=`, `==`, `a`, `a=`, `=b`, `a=b`, `a="`, `a="b`, `a="b"`, `a="b\"c" d=e`,
	`a="b\\" c=d`, `a="x\]y"`, `a="C:\dir\" b=1`, `k="v"w=x`, `  a=1  b=2  `, `word a=1 another b=2 tail`,
	`a=1,b=2, c="x,y",d`, `x, y z=1,, w=2`, `a b=c`, `a=b=c`, `a=""`, `a="" b=`, `a=\"b c=d`,
	`date=2026-01-15 time=10:00:00 devname="FGT-HQ" user="CORP\\jdoe" msg="a \"quoted\" = word, here"`,
	"a=1\tb=2", `a="unterminated \" still`, `=== a==b`, `a="b"  "c" d=e`,
}

func TestScanKVMatchesReference(t *testing.T) {
	for _, s := range kvSamples {
		for _, sep := range []byte{' ', ',', '\t', '|', '=', '"'} {
			for _, limit := range []int{1, 2, 1 << 30} {
				got := kvPairs(ScanKV, s, sep, limit)
				want := kvPairs(scanKVRef, s, sep, limit)
				if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
					t.Errorf("ScanKV(%q, %q) limit %d = %q, want %q", s, sep, limit, got, want)
				}
			}
		}
	}
}

func FuzzScanKV(f *testing.F) {
	for _, s := range kvSamples {
		f.Add(s, byte(' '))
		f.Add(s, byte(','))
	}
	f.Fuzz(func(t *testing.T, s string, sep byte) {
		for _, limit := range []int{1, 3, 1 << 30} {
			got := kvPairs(ScanKV, s, sep, limit)
			want := kvPairs(scanKVRef, s, sep, limit)
			if strings.Join(got, "\x00") != strings.Join(want, "\x00") || len(got) != len(want) {
				t.Fatalf("ScanKV(%q, %q) limit %d = %q, want %q", s, sep, limit, got, want)
			}
		}
		gv, gn, gok := readQuoted(s)
		wv, wn, wok := readQuotedRef(s)
		if gv != wv || gn != wn || gok != wok {
			t.Fatalf("readQuoted(%q) = %q %d %v, want %q %d %v", s, gv, gn, gok, wv, wn, wok)
		}
	})
}

// kvBenchLine is a FortiGate traffic log, the busiest ScanKV input.
const kvBenchLine = `date=2026-02-10 time=08:30:05 devname="FGT-NYC-01" devid="FG200FTK23000101" eventtime=1770730205123456789 tz="-0500" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root" srcip=10.60.1.20 srcname="LT-0420" srcport=51234 srcintf="lan" srcintfrole="lan" dstip=203.0.113.45 dstport=443 dstintf="wan1" dstintfrole="wan" srccountry="Reserved" dstcountry="United States" sessionid=7012345 proto=6 action="close" policyid=4 policytype="policy" poluuid="0d6f3a52-1c2b-51ee-3f8e-9c2b1a0d0e0f" policyname="Internet access" service="HTTPS" trandisp="snat" transip=198.51.100.10 transport=61234 appid=41469 app="Microsoft.Portal" appcat="Collaboration" apprisk="elevated" applist="default" duration=64 sentbyte=9120 rcvdbyte=412500 sentpkt=60 rcvdpkt=310 user="CORP\\mlopez" group="Sales" vwlid=0 wanin=400000 wanout=8000 lanin=8000 lanout=400000 utmaction="allow" countapp=1 crscore=5 craction=262144 crlevel="low"`

// kvBenchUnquoted is the same kind of line as older FortiOS writes it.
const kvBenchUnquoted = `date=2026-02-10 time=08:32:10 devname=FGT-OLD devid=FGT80D3915000222 logid=0000000013 type=traffic subtype=forward level=notice vd=root srcip=10.62.0.5 srcport=40500 srcintf="port1" dstip=192.0.2.80 dstport=443 dstintf="port2" poluuid=1a2b3c4d-0000-51e5-0000-000000000000 sessionid=5566 proto=6 action=close policyid=1 dstcountry="Reserved" srccountry="Reserved" trandisp=snat transip=203.0.113.3 transport=40500 service="HTTPS" appid=40568 app="HTTPS.BROWSER" appcat="Web.Client" apprisk=medium applist="default" appact=detected duration=12 sentbyte=2100 rcvdbyte=33000 sentpkt=14 rcvdpkt=30 utmaction=allow countapp=1`

func benchScan(b *testing.B, scan func(string, byte, func(k, v string) bool)) {
	for _, c := range []struct{ name, line string }{{"quoted", kvBenchLine}, {"unquoted", kvBenchUnquoted}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(c.line)))
			b.ReportAllocs()
			for b.Loop() {
				scan(c.line, ' ', func(k, v string) bool { return len(k)+len(v) >= 0 })
			}
		})
	}
}

func BenchmarkScanKV(b *testing.B) { benchScan(b, ScanKV) }
