package fortigate

import (
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/parsertest"
)

// refScan reads s as the parser did before the key-guessing scanner: with
// parsers.ScanKV.
func refScan(s string, sep byte) refFields {
	var r refFields
	parsers.ScanKV(s, sep, r.set)
	return r
}

// checkScan scans lines in turn with one keySeq (so later lines are read
// with guesses from earlier ones) and compares each with the old scanner.
func checkScan(t *testing.T, lines []string, seps []byte) {
	t.Helper()
	var q keySeq
	for i, l := range lines {
		sep := seps[i%len(seps)]
		var f fields
		q.scan(l, sep, &f)
		want := refScan(l, sep)
		if !sameFields(&f, &want) {
			t.Fatalf("line %d %q sep %q:\n got  %q\n want %+v", i, l, sep, f.v, want)
		}
	}
}

var scanKeys = []string{
	"date", "time", "devname", "devid", "eventtime", "tz", "logid", "type", "subtype", "level", "vd",
	"srcip", "srcport", "srcintf", "srcintfrole", "dstip", "dstport", "dstintf", "sessionid", "proto",
	"action", "policyid", "policyname", "user", "unauthuser", "group", "service", "transip", "transport",
	"tranip", "tranport", "appid", "app", "appcat", "apprisk", "duration", "sentbyte", "rcvdbyte",
	"sentpkt", "rcvdpkt", "hostname", "srcmac", "srcname", "dstname", "url", "httpmethod", "agent",
	"referralurl", "catdesc", "qname", "virus", "attack", "sni", "utmaction",
	// Odd ones: empty, with a space or comma (keys under the other
	// separator), long around the 15-byte guess limit, non-ASCII.
	"", "a b", "k,k", "x", "abcdefghijklmno", "abcdefghijklmnop", "abcdefghijklmnopq", "clé", "srcip2",
}

var scanValues = []string{
	"", "1", "10.0.0.1", "2026-01-15", "close", "-", "N/A", `"quoted"`, `""`, `"a b, c = d"`,
	`"esc \" quote"`, `"C:\dir\"`, `"x\\"`, `"br\]"`, `"a\qb"`, `"key=v other=w"`, "v=w", "a,b",
	`"unterminated`, `"ends with backslash\`, "\t", "0123456789abcdef0123", `"0123456789abcdef0123"`,
}

// genStream returns lines of one simulated device: a fixed key order,
// with keys sometimes left out, added, renamed or repeated, values of every
// kind and junk between pairs.
func genStream(r *rand.Rand, n int) []string {
	base := make([]string, 5+r.IntN(40))
	for i := range base {
		base[i] = scanKeys[r.IntN(len(scanKeys))]
	}
	var lines []string
	for range n {
		var b strings.Builder
		sep := " ,"[r.IntN(2):][:1]
		if r.IntN(4) != 0 {
			sep = " "
		}
		for _, k := range base {
			switch r.IntN(30) {
			case 0:
				continue
			case 1:
				k = scanKeys[r.IntN(len(scanKeys))]
			case 2:
				b.WriteString(scanKeys[r.IntN(len(scanKeys))] + "=" + scanValues[r.IntN(len(scanValues))] + sep)
			case 3:
				b.WriteString("junk" + sep)
			case 4:
				b.WriteString(sep + " ")
			}
			v := scanValues[r.IntN(len(scanValues))]
			if r.IntN(3) == 0 {
				v = scanValues[r.IntN(3)]
			}
			b.WriteString(k + "=" + v + sep)
		}
		l := b.String()
		if r.IntN(3) == 0 {
			l = strings.TrimSuffix(l, sep)
		}
		if r.IntN(10) == 0 {
			l = l[:r.IntN(len(l)+1)]
		}
		lines = append(lines, l)
	}
	return lines
}

func TestScanMatchesOld(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	streams := 3000
	if testing.Short() {
		streams = 300
	}
	for range streams {
		lines := genStream(r, 1+r.IntN(12))
		checkScan(t, lines, []byte{' '})
		checkScan(t, lines, []byte{','})
		checkScan(t, lines, []byte{' ', ',', ' ', ' '})
	}
	checkScan(t, parsertest.Lines(t, "fortigate"), []byte{' '})
	checkScan(t, append(equivLines, equivLines...), []byte{' ', ','})
	if fw := fwLines(t, 2000); len(fw) > 0 {
		checkScan(t, fw, []byte{' '})
	}
}

// FuzzScan reads each '\n'-separated line of the input with one keySeq,
// the separator changing as sepMask's bits say.
func FuzzScan(f *testing.F) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 50 {
		f.Add(strings.Join(genStream(r, 3), "\n"), uint8(r.IntN(256)))
	}
	for _, l := range equivLines {
		f.Add(l+"\n"+l+"\n"+l, uint8(2))
	}
	f.Fuzz(func(t *testing.T, in string, sepMask uint8) {
		lines := strings.Split(in, "\n")
		seps := make([]byte, 8)
		for i := range seps {
			seps[i] = " ,"[sepMask>>i&1]
		}
		checkScan(t, lines, seps)
	})
}

// sameFields reports whether the scanner's fields hold what the old
// scanner's named fields do. The new logid slot keeps the value the old
// one dropped, so it is left out.
func sameFields(f *fields, r *refFields) bool {
	return f.hasLogID == r.hasLogID &&
		f.v[fTZ] == r.tz &&
		f.v[fDate] == r.date &&
		f.v[fClock] == r.clock &&
		f.v[fEventTime] == r.eventtime &&
		f.v[fType] == r.typ &&
		f.v[fSubtype] == r.subtype &&
		f.v[fAction] == r.action &&
		f.v[fUTMAction] == r.utmaction &&
		f.v[fSrcIP] == r.srcip &&
		f.v[fSrcPort] == r.srcport &&
		f.v[fDstIP] == r.dstip &&
		f.v[fDstPort] == r.dstport &&
		f.v[fSrcName] == r.srcname &&
		f.v[fSrcMAC] == r.srcmac &&
		f.v[fDstName] == r.dstname &&
		f.v[fHostname] == r.hostname &&
		f.v[fProto] == r.proto &&
		f.v[fService] == r.service &&
		f.v[fApp] == r.app &&
		f.v[fAppID] == r.appid &&
		f.v[fAppCat] == r.appcat &&
		f.v[fAppRisk] == r.apprisk &&
		f.v[fURL] == r.url &&
		f.v[fHTTPMethod] == r.httpmethod &&
		f.v[fUser] == r.user &&
		f.v[fUnauthUser] == r.unauthuser &&
		f.v[fDevName] == r.devname &&
		f.v[fDevID] == r.devid &&
		f.v[fSentByte] == r.sentbyte &&
		f.v[fRcvdByte] == r.rcvdbyte &&
		f.v[fSentPkt] == r.sentpkt &&
		f.v[fRcvdPkt] == r.rcvdpkt &&
		f.v[fDuration] == r.duration &&
		f.v[fTransIP] == r.transip &&
		f.v[fTransPort] == r.transport &&
		f.v[fTranIP] == r.tranip &&
		f.v[fTranPort] == r.tranport &&
		f.v[fPolicyName] == r.policyname &&
		f.v[fCatDesc] == r.catdesc &&
		f.v[fAgent] == r.agent &&
		f.v[fReferralURL] == r.referralurl &&
		f.v[fQName] == r.qname &&
		f.v[fVirus] == r.virus &&
		f.v[fAttack] == r.attack &&
		f.v[fSNI] == r.sni
}

// TestTimeHelpersMatchOld holds parseTZ and parseEventTime, which gained
// fast paths, to their old versions: every short string over the tz
// alphabet, and event times around 2000-01-01 (where the Local zone
// decides) in every unit FortiOS uses.
func TestTimeHelpersMatchOld(t *testing.T) {
	const alphabet = "+-0159:UTCg"
	var tz func(prefix string)
	tz = func(prefix string) {
		got, gok := parseTZ(prefix)
		want, wok := refParseTZ(prefix)
		if got != want || gok != wok {
			t.Fatalf("parseTZ(%q) = %d %v, old %d %v", prefix, got, gok, want, wok)
		}
		if len(prefix) < 6 {
			for i := range len(alphabet) {
				tz(prefix + alphabet[i:i+1])
			}
		}
	}
	tz("")
	for _, s := range []string{"+2400", "-1459", "+1460", "+1500", "+0a00", "+00\xff0", "UTC+14:00", "utc-5"} {
		tz(s)
	}

	var times []string
	for h := int64(-60); h <= 60; h++ {
		sec := y2000 + h*3600
		for _, scale := range []int64{1, 1e3, 1e6, 1e9} {
			times = append(times, strconv.FormatInt(sec*scale, 10), strconv.FormatInt(sec*scale-1, 10))
		}
	}
	times = append(times, "", "0", "1", "99999999999", "9223372036854775807", "9223372036854775808",
		"9999999999999999999", "12345678901234567890", "1768467600", "17684676O0", "-1768467600")
	for _, s := range times {
		got, gok := parseEventTime(s)
		want, wok := refParseEventTime(s)
		if got != want || gok != wok {
			t.Fatalf("parseEventTime(%q) = %v %v, old %v %v", s, got, gok, want, wok)
		}
	}
}
