package parsers

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var jsonSamples = []string{
	"", "a", "plain ascii text of some length", `quote " and \ backslash`, "tab\tnl\nlf\rend",
	"\x00\x01\x1f\x7f", "caf\u00e9 \u65e5\u672c", "\u2028\u2029", "\xff\xfe", "bad \xc3\x28 utf8",
	"12345678", "1234567\"", "exactly8\x80", "\xe2\x80", "emoji \U0001F600 ok", "long/url/path?with=query&and=more_______________",
}

// appendStr and appendNum run putKeyStr and putKeyInt, with no key, the way AppendJSON does:
// into room grown for their worst case.
func appendStr(b []byte, s string) []byte {
	b = slices.Grow(b, 6*len(s)+2+jsonSlack)
	return b[:putKeyStr(b[:cap(b)], len(b), &jsonKey{}, s)]
}

func appendNum(b []byte, v int64) []byte {
	b = slices.Grow(b, 20+jsonSlack)
	return b[:putKeyInt(b[:cap(b)], len(b), &jsonKey{}, v)]
}

func TestPutKeyStrMatchesReference(t *testing.T) {
	for _, s := range jsonSamples {
		for _, prefix := range []string{"", "x", "1234567", "12345678"} {
			in := prefix + s
			got := appendStr([]byte("pre"), in)
			want := refAppendJSONString([]byte("pre"), in)
			if !bytes.Equal(got, want) {
				t.Errorf("putKeyStr(%q) = %s, want %s", in, got, want)
			}
		}
	}
}

// TestPutKeyStrEveryPosition puts each kind of byte that needs care at every
// position of strings of every length the word paths treat differently.
func TestPutKeyStrEveryPosition(t *testing.T) {
	for _, bad := range []string{`"`, `\`, "\x00", "\x1f", "\x80", "\xff", "\u00e9", "\u2028", "\U0001F600", "\x7f", " "} {
		for n := 0; n <= 40; n++ {
			for pos := 0; pos <= n; pos++ {
				in := strings.Repeat("a", pos) + bad + strings.Repeat("b", n-pos)
				got := appendStr([]byte("pre"), in)
				if want := refAppendJSONString([]byte("pre"), in); !bytes.Equal(got, want) {
					t.Fatalf("putKeyStr(%q) = %s, want %s", in, got, want)
				}
			}
		}
	}
}

func TestPutKeyIntMatchesStrconv(t *testing.T) {
	vs := []int64{0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 1<<31 - 1, 1 << 40, 1<<63 - 1, -1, -10, -1 << 63}
	for p := uint64(1); p < 1e19; p *= 10 {
		vs = append(vs, int64(p-1), int64(p), int64(p+1), -int64(p), -int64(p-1))
	}
	for i := range 63 { // every bit length, for decimalLen
		vs = append(vs, 1<<i, 1<<(i+1)-1, -1<<i)
	}
	for _, v := range vs {
		if got, want := string(appendNum([]byte("x"), v)), "x"+strconv.FormatInt(v, 10); got != want {
			t.Errorf("putKeyInt(%d) = %s", v, got)
		}
	}
}

// fuzzRecord fills a record from fuzz input: s for every string, n for
// every number, bits choosing which fields are set.
func fuzzRecord(s string, n int64, bits uint64, verdict uint8) *Record {
	on := func(i uint) bool { return bits&(1<<i) != 0 }
	str := func(i uint) string {
		if on(i) {
			return s
		}
		return ""
	}
	num := func(i uint) Num {
		if on(i) {
			return N(n + int64(i))
		}
		return Num{}
	}
	ip := func(i uint) netip.Addr {
		if !on(i) {
			return netip.Addr{}
		}
		u := uint64(n) * 0x9e3779b97f4a7c15 // spread n over every byte
		if on(i + 1) {
			switch u % 3 {
			case 0:
				return netip.MustParseAddr("2001:db8::1%eth0")
			case 1:
				return netip.AddrFrom16([16]byte{0x20, 1, 0xd, 0xb8, 15: byte(u)})
			}
			var a [16]byte
			binary.BigEndian.PutUint64(a[:], u)
			binary.BigEndian.PutUint64(a[8:], ^u)
			return netip.AddrFrom16(a).WithZone("z")
		}
		var a [4]byte
		binary.BigEndian.PutUint32(a[:], uint32(u>>16))
		switch u % 3 {
		case 0:
			return netip.MustParseAddr("::ffff:192.0.2.7")
		case 1:
			return netip.AddrFrom16(netip.AddrFrom4(a).As16())
		}
		return netip.AddrFrom4(a)
	}
	r := &Record{
		Verdict: Verdict(verdict), EventAction: str(0), Duration: num(1), Outcome: str(2),
		SourceIP: ip(3), SourcePort: num(5), SourceBytes: num(6), SourcePackets: num(7), SourceDomain: str(8), SourceMAC: str(9),
		SourceNATIP: ip(10), SourceNATPort: num(12), DestinationIP: ip(13), DestinationPort: num(15), DestinationBytes: num(16),
		DestinationPackets: num(17), DestinationDomain: str(18), DestinationNATIP: ip(19), DestinationNATPort: num(21),
		NetworkBytes: num(22), NetworkPackets: num(23), NetworkTransport: str(24), NetworkProtocol: str(25),
		NetworkApplication: str(26), NetworkDirection: str(27), URLOriginal: str(28), URLScheme: str(29), URLDomain: str(30),
		URLPath: str(31), URLQuery: str(32), URLPort: num(33), HTTPMethod: str(34), HTTPStatus: num(35), HTTPReferrer: str(36),
		HTTPContentType: str(37), UserAgent: str(38), UserName: str(39), UserDomain: str(40), UserEmail: str(41),
		ObserverVendor: str(42), ObserverProduct: str(43), ObserverHostname: str(44), ObserverSerial: str(45),
		RuleName: str(46), URLCategory: str(47), AppCategory: str(48), AppRisk: str(49), ThreatName: str(50),
		SourceIPToken: str(51), DestinationNATIPToken: str(52), LogOffset: num(53), DataSource: str(54),
	}
	if on(55) {
		zone := int(n % 86400)
		if on(59) { // past the 100 hours putTime formats by hand
			zone = int(n % (200 * 3600))
		}
		r.Timestamp = time.Unix(n, n).In(time.FixedZone("", zone))
	}
	if on(56) {
		r.Category = "network"
	} else if on(57) {
		r.Category = s
	}
	if on(58) {
		r.Labels = []Label{{s, "v"}, {"k", s}, {"empty", ""}}
	}
	return r
}

func FuzzAppendJSON(f *testing.F) {
	for i, s := range jsonSamples {
		f.Add(s, int64(i*7919), uint64(0x5555_5555_5555_5555)>>i, uint8(i))
		f.Add(s, int64(-i), ^uint64(0)>>i, uint8(i+1))
	}
	f.Fuzz(func(t *testing.T, s string, n int64, bits uint64, verdict uint8) {
		r := fuzzRecord(s, n, bits, verdict)
		got := r.AppendJSON([]byte("x"))
		want := refAppendJSON(r, []byte("x"))
		if !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON differs\n got: %s\nwant: %s", got, want)
		}
		if !utf8.Valid(got) {
			t.Fatalf("invalid UTF-8: %q", got)
		}
		checkBound(t, r, len(got)-1)
	})
}

// checkBound fails unless jsonBound left room for n bytes and jsonSlack.
func checkBound(t *testing.T, r *Record, n int) {
	t.Helper()
	if b := r.jsonBound(); n+jsonSlack > b {
		t.Fatalf("%d bytes written, bound %d", n, b)
	}
}

// TestJSONBoundWorstCase sets every member to its longest form per string
// byte: one-byte strings that escape to six bytes, the longest integers,
// IPv6 addresses and timestamp.
func TestJSONBoundWorstCase(t *testing.T) {
	r := fuzzRecord("\x01", -1<<63, ^uint64(0), 3)
	v6 := netip.MustParseAddr("ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe")
	r.SourceIP, r.SourceNATIP, r.DestinationIP, r.DestinationNATIP = v6, v6, v6, v6
	r.SourceIPToken, r.DestinationNATIPToken = "", ""
	for _, n := range []*Num{&r.Duration, &r.SourcePort, &r.SourceBytes, &r.SourcePackets, &r.SourceNATPort,
		&r.DestinationPort, &r.DestinationBytes, &r.DestinationPackets, &r.DestinationNATPort,
		&r.NetworkBytes, &r.NetworkPackets, &r.URLPort, &r.HTTPStatus, &r.LogOffset} {
		*n = N(-1 << 63)
	}
	r.Category = "network"
	for _, ts := range []time.Time{
		time.Unix(-1<<63, -1).In(time.FixedZone("", -1<<63)),
		time.Unix(1<<63-1, 999999999).In(time.FixedZone("", 1<<63-1)),
		time.Unix(-1<<62, 1).In(time.FixedZone("", -1<<62)),
	} {
		r.Timestamp = ts
		got := r.AppendJSON(nil)
		if want := refAppendJSON(r, nil); !bytes.Equal(got, want) {
			t.Fatalf("AppendJSON differs\n got: %s\nwant: %s", got, want)
		}
		checkBound(t, r, len(got))
		// The bound stays within reach of the truth: what the strings
		// may take plus a few hundred bytes.
		if b := r.jsonBound(); b > len(got)+jsonFixedBound {
			t.Errorf("bound %d for %d bytes", b, len(got))
		}
		t.Logf("%d bytes, bound %d", len(got), r.jsonBound())
	}
}

func TestAppendJSONMatchesReference(t *testing.T) {
	for i, s := range jsonSamples {
		for _, bits := range []uint64{0, ^uint64(0), 0x5555_5555_5555_5555, 0xaaaa_aaaa_aaaa_aaaa, 1 << 55, 1<<56 | 1<<3, 1 << 58, 1<<12 | 1<<21} {
			for v := uint8(0); v < 4; v++ {
				r := fuzzRecord(s, int64(i)*1e9+123, bits, v)
				got, want := r.AppendJSON(nil), refAppendJSON(r, nil)
				if !bytes.Equal(got, want) {
					t.Fatalf("AppendJSON differs\n got: %s\nwant: %s", got, want)
				}
				checkBound(t, r, len(got))
			}
		}
	}
}

// jsonPath names an object a field lives in: top-level object in the high
// bits, nested object (source.nat, http.request...) in the low four.
type jsonPath uint16

const (
	pRoot           jsonPath = 0
	pEvent          jsonPath = 16
	pSource         jsonPath = 32
	pSourceNat      jsonPath = 33
	pDestination    jsonPath = 48
	pDestinationNat jsonPath = 49
	pNetwork        jsonPath = 64
	pUrl            jsonPath = 80
	pHttpRequest    jsonPath = 97
	pHttpResponse   jsonPath = 98
	pUserAgent      jsonPath = 112
	pUser           jsonPath = 128
	pObserver       jsonPath = 144
	pRule           jsonPath = 160
	pLog            jsonPath = 176
	pLabels         jsonPath = 192
)

// refJSONOpen holds the opening text of every object, by path.
var refJSONOpen = [...]string{
	1:  `"event":{`,
	2:  `"source":{`,
	3:  `"destination":{`,
	4:  `"network":{`,
	5:  `"url":{`,
	6:  `"http":{`,
	7:  `"user_agent":{`,
	8:  `"user":{`,
	9:  `"observer":{`,
	10: `"rule":{`,
	11: `"log":{`,
	12: `"labels":{`,
}

// refJSONOpenSub holds the opening text of nested objects, by full path.
var refJSONOpenSub = map[jsonPath]string{
	33: `"nat":{`,
	49: `"nat":{`,
	97: `"request":{`,
	98: `"response":{`,
}

// refJSONWriter builds nested ECS JSON with objects opened lazily, so empty
// objects never appear. Fields must come grouped by object.
type refJSONWriter struct {
	b     []byte
	cur   jsonPath // object the last field went into
	first bool     // nothing written yet in the current innermost object
}

// refAppendJSON is the straightforward writer AppendJSON must match byte
// for byte: keys quoted one by one, strings escaped a byte at a time.
func refAppendJSON(r *Record, b []byte) []byte {
	w := refJSONWriter{b: append(b, '{'), first: true}
	if !r.Timestamp.IsZero() {
		w.key(pRoot, "@timestamp")
		w.b = append(w.b, '"')
		w.b = r.Timestamp.AppendFormat(w.b, time.RFC3339Nano)
		w.b = append(w.b, '"')
	}
	// event
	if r.Verdict != VerdictUnknown || r.Category == "network" {
		w.key(pEvent, "type")
		w.b = append(w.b, '[')
		n := 0
		if r.Verdict != VerdictUnknown {
			w.b = strconv.AppendQuote(w.b, r.Verdict.String())
			n++
		}
		if r.Category == "network" {
			if n > 0 {
				w.b = append(w.b, ',')
			}
			w.b = append(w.b, `"connection"`...)
		}
		w.b = append(w.b, ']')
	}
	w.str(pEvent, "action", r.EventAction)
	if r.Category != "" {
		w.key(pEvent, "category")
		w.b = append(w.b, '[')
		w.b = refAppendJSONString(w.b, r.Category)
		w.b = append(w.b, ']')
	}
	w.num(pEvent, "duration", r.Duration)
	w.str(pEvent, "outcome", r.Outcome)

	w.str(pSource, "domain", r.SourceDomain)
	w.addr(pSource, "ip", r.SourceIP, r.SourceIPToken)
	w.str(pSource, "mac", r.SourceMAC)
	w.num(pSource, "port", r.SourcePort)
	w.num(pSource, "bytes", r.SourceBytes)
	w.num(pSource, "packets", r.SourcePackets)
	w.addr(pSourceNat, "ip", r.SourceNATIP, r.SourceNATIPToken)
	w.num(pSourceNat, "port", r.SourceNATPort)

	w.str(pDestination, "domain", r.DestinationDomain)
	w.addr(pDestination, "ip", r.DestinationIP, r.DestinationIPToken)
	w.num(pDestination, "port", r.DestinationPort)
	w.num(pDestination, "bytes", r.DestinationBytes)
	w.num(pDestination, "packets", r.DestinationPackets)
	w.addr(pDestinationNat, "ip", r.DestinationNATIP, r.DestinationNATIPToken)
	w.num(pDestinationNat, "port", r.DestinationNATPort)

	w.str(pNetwork, "transport", r.NetworkTransport)
	w.str(pNetwork, "protocol", r.NetworkProtocol)
	w.str(pNetwork, "application", r.NetworkApplication)
	w.str(pNetwork, "direction", r.NetworkDirection)
	w.num(pNetwork, "bytes", r.NetworkBytes)
	w.num(pNetwork, "packets", r.NetworkPackets)

	w.str(pUrl, "original", r.URLOriginal)
	w.str(pUrl, "scheme", r.URLScheme)
	w.str(pUrl, "domain", r.URLDomain)
	w.num(pUrl, "port", r.URLPort)
	w.str(pUrl, "path", r.URLPath)
	w.str(pUrl, "query", r.URLQuery)

	w.str(pHttpRequest, "method", r.HTTPMethod)
	w.str(pHttpRequest, "referrer", r.HTTPReferrer)
	w.num(pHttpResponse, "status_code", r.HTTPStatus)
	w.str(pHttpResponse, "mime_type", r.HTTPContentType)
	w.str(pUserAgent, "original", r.UserAgent)

	w.str(pUser, "name", r.UserName)
	w.str(pUser, "domain", r.UserDomain)
	w.str(pUser, "email", r.UserEmail)

	w.str(pObserver, "vendor", r.ObserverVendor)
	w.str(pObserver, "product", r.ObserverProduct)
	w.str(pObserver, "hostname", r.ObserverHostname)
	w.str(pObserver, "serial_number", r.ObserverSerial)

	w.str(pRule, "name", r.RuleName)
	w.num(pLog, "offset", r.LogOffset)

	w.str(pLabels, "source", r.DataSource)
	w.str(pLabels, "url_category", r.URLCategory)
	w.str(pLabels, "app_category", r.AppCategory)
	w.str(pLabels, "app_risk", r.AppRisk)
	w.str(pLabels, "threat", r.ThreatName)
	for _, l := range r.Labels {
		w.str(pLabels, l.Key, l.Value)
	}
	w.close()
	return append(w.b, '}')
}

// close ends the open objects.
func (w *refJSONWriter) close() {
	if w.cur&0xf != 0 {
		w.b = append(w.b, '}')
	}
	if w.cur&^0xf != 0 {
		w.b = append(w.b, '}')
	}
	w.cur = pRoot
}

// key positions the writer inside path and writes `"name":`.
func (w *refJSONWriter) key(path jsonPath, name string) {
	if path != w.cur {
		top, sub := path&^0xf, path&0xf
		curTop, curSub := w.cur&^0xf, w.cur&0xf
		if curSub != 0 && (top != curTop || sub != curSub) {
			w.b = append(w.b, '}') // leave the nested object
			w.first = false
		}
		if top != curTop {
			if curTop != 0 {
				w.b = append(w.b, '}')
				w.first = false
			}
			if top != 0 {
				if !w.first {
					w.b = append(w.b, ',')
				}
				w.b = append(w.b, refJSONOpen[top>>4]...)
				w.first = true
			}
		}
		if sub != 0 {
			if !w.first {
				w.b = append(w.b, ',')
			}
			w.b = append(w.b, refJSONOpenSub[path]...)
			w.first = true
		}
		w.cur = path
	}
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = refAppendJSONString(w.b, name)
	w.b = append(w.b, ':')
}

func (w *refJSONWriter) str(path jsonPath, name, v string) {
	if v == "" {
		return
	}
	w.key(path, name)
	w.b = refAppendJSONString(w.b, v)
}

func (w *refJSONWriter) num(path jsonPath, name string, v Num) {
	if !v.Set {
		return
	}
	w.key(path, name)
	w.b = strconv.AppendInt(w.b, v.V, 10)
}

func (w *refJSONWriter) addr(path jsonPath, name string, a netip.Addr, token string) {
	if token != "" {
		w.str(path, name, token)
		return
	}
	if !a.IsValid() {
		return
	}
	w.key(path, name)
	w.b = append(w.b, '"')
	w.b = a.Unmap().WithZone("").AppendTo(w.b)
	w.b = append(w.b, '"')
}

const refHexDigits = "0123456789abcdef"

// refAppendJSONString quotes s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// every emitted line is valid JSON whatever the device sent.
func refAppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', refHexDigits[c>>4], refHexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', refHexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// TestPutTimeMatchesTime compares the hand-formatted timestamps with
// time.Time.AppendFormat around every edge of the fast path and the
// calendar, and over a spread of instants and zones.
func TestPutTimeMatchesTime(t *testing.T) {
	zones := []*time.Location{time.UTC, time.FixedZone("", 0), time.FixedZone("", 30), time.FixedZone("", -30),
		time.FixedZone("", 5*3600+45*60), time.FixedZone("", -9*3600-30*60), time.FixedZone("", 100*3600-1),
		time.FixedZone("", 100*3600), time.FixedZone("", -100*3600+1), time.FixedZone("", -100*3600)}
	if berlin, err := time.LoadLocation("Europe/Berlin"); err == nil {
		zones = append(zones, berlin)
	}
	var secs []int64
	for _, s := range []int64{0, 86399, 86400, maxFastUnix, 951782400 /* 2000-02-29 */, 4107542400 /* 2100-02-28 */, 1795882382} {
		for d := int64(-2); d <= 2; d++ {
			secs = append(secs, s+d, s+d*86400)
		}
	}
	for s := uint64(1); len(secs) < 20000; s = s*6364136223846793005 + 1442695040888963407 {
		secs = append(secs, int64(s>>20)%(maxFastUnix+2e9)-1e9)
	}
	nanos := []int{0, 1, 10, 100000, 120000000, 999999999, 601612289, 500000000}
	buf := make([]byte, 0, 128)
	for i, s := range secs {
		for j, z := range zones {
			ts := time.Unix(s, int64(nanos[(i+j)%len(nanos)])).In(z)
			d := buf[:cap(buf)]
			got := d[:putTime(d, 0, ts)]
			want := append(ts.AppendFormat(nil, time.RFC3339Nano), '"')
			if !bytes.Equal(got, want) {
				t.Fatalf("%d in %v: %s, want %s", s, z, got, want)
			}
		}
	}
}
