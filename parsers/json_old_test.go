package parsers

// The encoder AppendJSON replaced in session 10, kept verbatim (renamed) so
// benchmarks compare old and new in the same run and tests check it still
// agrees with both.

import (
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

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

// oldJSONOpen holds the opening text of every object, by path, with the comma
// that separates it from a previous member: one append per object.
var oldJSONOpen = [...]string{
	1:  `,"event":{`,
	2:  `,"source":{`,
	3:  `,"destination":{`,
	4:  `,"network":{`,
	5:  `,"url":{`,
	6:  `,"http":{`,
	7:  `,"user_agent":{`,
	8:  `,"user":{`,
	9:  `,"observer":{`,
	10: `,"rule":{`,
	11: `,"log":{`,
	12: `,"labels":{`,
}

// oldJSONOpenSub returns the opening text of a nested object, comma first.
func oldJSONOpenSub(path jsonPath) string {
	switch path {
	case pHttpRequest:
		return `,"request":{`
	case pHttpResponse:
		return `,"response":{`
	}
	return `,"nat":{` // pSourceNat, pDestinationNat
}

// oldJSONWriter builds nested ECS JSON with objects opened lazily, so empty
// objects never appear. Fields must come grouped by object.
type oldJSONWriter struct {
	b     []byte
	cur   jsonPath // object the last field went into
	first bool     // nothing written yet in the current innermost object
}

// oldAppendJSON appends r as one ECS JSON object (no trailing newline) to b.
func oldAppendJSON(r *Record, b []byte) []byte {
	// Member names are constants rendered comma first (`,"name":`): the
	// writer drops the comma for the first member of an object, so a key
	// costs one append instead of quoting and escaping it per record.
	w := oldJSONWriter{b: append(b, '{'), first: true}
	if !r.Timestamp.IsZero() {
		w.key(pRoot, `,"@timestamp":"`)
		w.b = r.Timestamp.AppendFormat(w.b, time.RFC3339Nano)
		w.b = append(w.b, '"')
	}
	// event
	if r.Verdict != VerdictUnknown || r.Category == "network" {
		w.key(pEvent, `,"type":`)
		conn := r.Category == "network"
		switch {
		case r.Verdict == Allowed && conn:
			w.b = append(w.b, `["allowed","connection"]`...)
		case r.Verdict == Allowed:
			w.b = append(w.b, `["allowed"]`...)
		case r.Verdict == Denied && conn:
			w.b = append(w.b, `["denied","connection"]`...)
		case r.Verdict == Denied:
			w.b = append(w.b, `["denied"]`...)
		case conn && r.Verdict == VerdictUnknown:
			w.b = append(w.b, `["connection"]`...)
		default: // a Verdict value outside the named ones
			w.b = append(w.b, '[')
			w.b = strconv.AppendQuote(w.b, r.Verdict.String())
			if conn {
				w.b = append(w.b, `,"connection"`...)
			}
			w.b = append(w.b, ']')
		}
	}
	w.str(pEvent, `,"action":`, r.EventAction)
	if r.Category != "" {
		w.key(pEvent, `,"category":[`)
		w.b = oldAppendJSONString(w.b, r.Category)
		w.b = append(w.b, ']')
	}
	w.num(pEvent, `,"duration":`, r.Duration)
	w.str(pEvent, `,"outcome":`, r.Outcome)

	w.str(pSource, `,"domain":`, r.SourceDomain)
	w.addr(pSource, `,"ip":`, r.SourceIP, r.SourceIPToken)
	w.str(pSource, `,"mac":`, r.SourceMAC)
	w.num(pSource, `,"port":`, r.SourcePort)
	w.num(pSource, `,"bytes":`, r.SourceBytes)
	w.num(pSource, `,"packets":`, r.SourcePackets)
	w.addr(pSourceNat, `,"ip":`, r.SourceNATIP, r.SourceNATIPToken)
	w.num(pSourceNat, `,"port":`, r.SourceNATPort)

	w.str(pDestination, `,"domain":`, r.DestinationDomain)
	w.addr(pDestination, `,"ip":`, r.DestinationIP, r.DestinationIPToken)
	w.num(pDestination, `,"port":`, r.DestinationPort)
	w.num(pDestination, `,"bytes":`, r.DestinationBytes)
	w.num(pDestination, `,"packets":`, r.DestinationPackets)
	w.addr(pDestinationNat, `,"ip":`, r.DestinationNATIP, r.DestinationNATIPToken)
	w.num(pDestinationNat, `,"port":`, r.DestinationNATPort)

	w.str(pNetwork, `,"transport":`, r.NetworkTransport)
	w.str(pNetwork, `,"protocol":`, r.NetworkProtocol)
	w.str(pNetwork, `,"application":`, r.NetworkApplication)
	w.str(pNetwork, `,"direction":`, r.NetworkDirection)
	w.num(pNetwork, `,"bytes":`, r.NetworkBytes)
	w.num(pNetwork, `,"packets":`, r.NetworkPackets)

	w.str(pUrl, `,"original":`, r.URLOriginal)
	w.str(pUrl, `,"scheme":`, r.URLScheme)
	w.str(pUrl, `,"domain":`, r.URLDomain)
	w.num(pUrl, `,"port":`, r.URLPort)
	w.str(pUrl, `,"path":`, r.URLPath)
	w.str(pUrl, `,"query":`, r.URLQuery)

	w.str(pHttpRequest, `,"method":`, r.HTTPMethod)
	w.str(pHttpRequest, `,"referrer":`, r.HTTPReferrer)
	w.num(pHttpResponse, `,"status_code":`, r.HTTPStatus)
	w.str(pHttpResponse, `,"mime_type":`, r.HTTPContentType)
	w.str(pUserAgent, `,"original":`, r.UserAgent)

	w.str(pUser, `,"name":`, r.UserName)
	w.str(pUser, `,"domain":`, r.UserDomain)
	w.str(pUser, `,"email":`, r.UserEmail)

	w.str(pObserver, `,"vendor":`, r.ObserverVendor)
	w.str(pObserver, `,"product":`, r.ObserverProduct)
	w.str(pObserver, `,"hostname":`, r.ObserverHostname)
	w.str(pObserver, `,"serial_number":`, r.ObserverSerial)

	w.str(pRule, `,"name":`, r.RuleName)
	w.num(pLog, `,"offset":`, r.LogOffset)

	w.str(pLabels, `,"source":`, r.DataSource)
	w.str(pLabels, `,"url_category":`, r.URLCategory)
	w.str(pLabels, `,"app_category":`, r.AppCategory)
	w.str(pLabels, `,"app_risk":`, r.AppRisk)
	w.str(pLabels, `,"threat":`, r.ThreatName)
	for _, l := range r.Labels {
		if l.Value == "" {
			continue
		}
		w.key(pLabels, ",")
		w.b = oldAppendJSONString(w.b, l.Key)
		w.b = append(w.b, ':')
		w.b = oldAppendJSONString(w.b, l.Value)
	}
	w.close()
	return append(w.b, '}')
}

// close ends the open objects.
func (w *oldJSONWriter) close() {
	if w.cur&0xf != 0 {
		w.b = append(w.b, '}')
	}
	if w.cur&^0xf != 0 {
		w.b = append(w.b, '}')
	}
	w.cur = pRoot
}

// key positions the writer inside path and writes k, a pre-rendered
// `,"name":` whose comma is dropped for an object's first member.
func (w *oldJSONWriter) key(path jsonPath, k string) {
	if path != w.cur {
		w.enter(path)
	}
	if w.first {
		k = k[1:]
		w.first = false
	}
	w.b = append(w.b, k...)
}

// enter leaves the current objects and opens the ones of path.
func (w *oldJSONWriter) enter(path jsonPath) {
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
			w.open(oldJSONOpen[top>>4])
		}
	}
	if sub != 0 {
		w.open(oldJSONOpenSub(path))
	}
	w.cur = path
}

// open writes an object's pre-rendered `,"name":{`.
func (w *oldJSONWriter) open(o string) {
	if w.first {
		o = o[1:]
	}
	w.b = append(w.b, o...)
	w.first = true
}

func (w *oldJSONWriter) str(path jsonPath, k, v string) {
	if v == "" {
		return
	}
	w.key(path, k)
	w.b = oldAppendJSONString(w.b, v)
}

func (w *oldJSONWriter) num(path jsonPath, k string, v Num) {
	if !v.Set {
		return
	}
	w.key(path, k)
	w.b = oldAppendInt(w.b, v.V)
}

func (w *oldJSONWriter) addr(path jsonPath, k string, a netip.Addr, token string) {
	if token != "" {
		w.str(path, k, token)
		return
	}
	if !a.IsValid() {
		return
	}
	w.key(path, k)
	w.b = append(w.b, '"')
	w.b = a.Unmap().WithZone("").AppendTo(w.b)
	w.b = append(w.b, '"')
}

// oldDigitPairs holds "00" to "99", for two digits per division.
const oldDigitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// oldAppendInt is strconv.AppendInt(b, v, 10) for the counters, ports and
// durations of a record, formatted in place without strconv's call chain.
func oldAppendInt(b []byte, v int64) []byte {
	if v < 0 {
		return strconv.AppendInt(b, v, 10)
	}
	if v < 10 {
		return append(b, byte('0'+v))
	}
	var buf [20]byte // max uint64 has 20 digits
	i := len(buf)
	u := uint64(v)
	for u >= 100 {
		q := u / 100
		d := (u - q*100) * 2
		i -= 2
		buf[i], buf[i+1] = oldDigitPairs[d], oldDigitPairs[d+1]
		u = q
	}
	if u >= 10 {
		i -= 2
		buf[i], buf[i+1] = oldDigitPairs[u*2], oldDigitPairs[u*2+1]
	} else {
		i--
		buf[i] = byte('0' + u)
	}
	return append(b, buf[i:]...)
}

const oldHexDigits = "0123456789abcdef"

// oldJSONSafe marks the bytes a JSON string holds as they are: printable ASCII
// other than '"' and '\\'. Control bytes are escaped and bytes from 0x80 up
// are validated as UTF-8, both on the slow path.
var oldJSONSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Word-at-a-time constants: every byte 0x01, 0x80, 0x20, '"' and '\\'.
const (
	oldLsbs   = 0x0101010101010101
	oldMsbs   = 0x8080808080808080
	oldSpaces = 0x20 * oldLsbs
	oldQuotes = '"' * oldLsbs
	oldBslash = '\\' * oldLsbs
)

// oldCleanRun returns the length of the prefix of s that needs no escaping,
// eight bytes at a time while the words are clean.
func oldCleanRun(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// A byte below 0x20, a '"' or '\\' (a zero byte after the xor), or
		// a byte from 0x80 up sets the high bit of some byte of m.
		q, bs := x^oldQuotes, x^oldBslash
		m := ((x - oldSpaces) &^ x) | ((q - oldLsbs) &^ q) | ((bs - oldLsbs) &^ bs) | x
		if m&oldMsbs != 0 {
			break
		}
	}
	for i < len(s) && oldJSONSafe[s[i]] {
		i++
	}
	return i
}

// oldAppendJSONString oldQuotes s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// every emitted line is valid JSON whatever the device sent.
func oldAppendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	i := oldCleanRun(s)
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	return oldAppendJSONEscaped(b, s, i)
}

// oldAppendJSONEscaped continues oldAppendJSONString from s[i], the first byte
// that is not plain ASCII, after an opening quote already in b.
func oldAppendJSONEscaped(b []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		c := s[i]
		if oldJSONSafe[c] {
			i++
			continue
		}
		if c < utf8.RuneSelf {
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
				b = append(b, '\\', 'u', '0', '0', oldHexDigits[c>>4], oldHexDigits[c&0xf])
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
			b = append(b, '\\', 'u', '2', '0', '2', oldHexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
