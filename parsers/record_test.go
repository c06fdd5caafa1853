package parsers

import (
	"bytes"
	"net/netip"
	"strconv"
	"testing"
	"time"
	"unicode/utf8"
)

var jsonSamples = []string{
	"", "a", "plain ascii text of some length", `quote " and \ backslash`, "tab\tnl\nlf\rend",
	"\x00\x01\x1f\x7f", "caf\u00e9 \u65e5\u672c", "\u2028\u2029", "\xff\xfe", "bad \xc3\x28 utf8",
	"12345678", "1234567\"", "exactly8\x80", "\xe2\x80", "emoji \U0001F600 ok", "long/url/path?with=query&and=more_______________",
}

func TestAppendJSONStringMatchesReference(t *testing.T) {
	for _, s := range jsonSamples {
		for _, prefix := range []string{"", "x", "1234567", "12345678"} {
			in := prefix + s
			got := appendJSONString([]byte("pre"), in)
			want := refAppendJSONString([]byte("pre"), in)
			if !bytes.Equal(got, want) {
				t.Errorf("appendJSONString(%q) = %s, want %s", in, got, want)
			}
		}
	}
}

func TestAppendIntMatchesStrconv(t *testing.T) {
	for _, v := range []int64{0, 1, 9, 10, 11, 99, 100, 101, 999, 1000, 65535, 1<<31 - 1, 1 << 40, 1<<63 - 1, -1, -10, -1 << 63} {
		if got, want := string(appendInt(nil, v)), strconv.FormatInt(v, 10); got != want {
			t.Errorf("appendInt(%d) = %s", v, got)
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
		if on(i + 1) {
			return netip.MustParseAddr("2001:db8::1%eth0")
		}
		return netip.MustParseAddr("::ffff:192.0.2.7")
	}
	r := &Record{
		Verdict: Verdict(verdict % 4), EventAction: str(0), Duration: num(1), Outcome: str(2),
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
		r.Timestamp = time.Unix(n, n).In(time.FixedZone("", int(n%86400)))
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
	})
}

func TestAppendJSONMatchesReference(t *testing.T) {
	for i, s := range jsonSamples {
		for _, bits := range []uint64{0, ^uint64(0), 0x5555_5555_5555_5555, 0xaaaa_aaaa_aaaa_aaaa, 1 << 55, 1<<56 | 1<<3, 1 << 58, 1<<12 | 1<<21} {
			for v := uint8(0); v < 4; v++ {
				r := fuzzRecord(s, int64(i)*1e9+123, bits, v)
				if got, want := r.AppendJSON(nil), refAppendJSON(r, nil); !bytes.Equal(got, want) {
					t.Fatalf("AppendJSON differs\n got: %s\nwant: %s", got, want)
				}
			}
		}
	}
}

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
