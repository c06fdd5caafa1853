// Package parsers turns vendor log lines into normalized records with Elastic
// Common Schema (ECS) field names.
//
// It is a leaf: no I/O, no logging, no clock reads. Vendor parsers live in
// sub-packages and register themselves from init().
package parsers

import (
	"net/netip"
	"strconv"
	"time"
	"unicode/utf8"
)

// Verdict is the normalized outcome of a traffic event.
type Verdict uint8

// Verdicts; VerdictUnknown leaves event.type without allowed/denied.
const (
	VerdictUnknown Verdict = iota
	Allowed
	Denied
)

func (v Verdict) String() string {
	switch v {
	case Allowed:
		return "allowed"
	case Denied:
		return "denied"
	}
	return ""
}

// Num is an optional integer: a device that logs no value leaves Set false.
type Num struct {
	V   int64
	Set bool
}

// N returns a set Num.
func N(v int64) Num { return Num{V: v, Set: true} }

// Label is one extra key/value emitted under "labels".
type Label struct{ Key, Value string }

// Record is one normalized traffic event. String fields that are empty and
// Nums that are not Set are absent from the JSON.
type Record struct {
	Timestamp time.Time

	Verdict     Verdict
	EventAction string // the vendor's own action word
	Category    string // "network" (firewall session) or "web" (proxy request)
	Duration    Num    // event.duration in nanoseconds
	Outcome     string // event.outcome (success/failure) when the device says

	SourceIP      netip.Addr
	SourcePort    Num
	SourceBytes   Num // client -> server
	SourcePackets Num
	SourceDomain  string // client host name, when the device logs one
	SourceMAC     string
	SourceNATIP   netip.Addr
	SourceNATPort Num

	DestinationIP      netip.Addr
	DestinationPort    Num
	DestinationBytes   Num // server -> client
	DestinationPackets Num
	DestinationDomain  string
	DestinationNATIP   netip.Addr
	DestinationNATPort Num

	NetworkBytes       Num // total, when only a total is logged
	NetworkPackets     Num
	NetworkTransport   string // tcp, udp, icmp
	NetworkProtocol    string // http, https, dns ...
	NetworkApplication string // the application the device named
	NetworkDirection   string // inbound/outbound/internal/external when known

	URLOriginal string
	URLScheme   string
	URLDomain   string
	URLPath     string
	URLQuery    string
	URLPort     Num

	HTTPMethod      string
	HTTPStatus      Num
	HTTPReferrer    string
	HTTPContentType string // http.response.mime_type
	UserAgent       string

	UserName   string
	UserDomain string
	UserEmail  string

	ObserverVendor   string
	ObserverProduct  string
	ObserverHostname string
	ObserverSerial   string

	RuleName    string
	URLCategory string // emitted as labels.url_category
	AppCategory string // emitted as labels.app_category
	AppRisk     string // emitted as labels.app_risk
	ThreatName  string // emitted as labels.threat

	// Pseudonyms that replace an address field in the JSON (the anonymizer
	// sets them and clears the address, so the raw value cannot leak).
	SourceIPToken         string
	SourceNATIPToken      string
	DestinationIPToken    string
	DestinationNATIPToken string

	LogOffset  Num    // byte offset of the line in its file
	DataSource string // labels.source: the data source name
	Labels     []Label
}

// Reset clears r for reuse, keeping the Labels backing array.
func (r *Record) Reset() {
	l := r.Labels[:0]
	*r = Record{}
	r.Labels = l
}

// AddLabel appends an extra label; empty values are ignored.
func (r *Record) AddLabel(k, v string) {
	if v == "" {
		return
	}
	r.Labels = append(r.Labels, Label{k, v})
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

// jsonOpen holds the opening text of every object, by path, with the comma
// that separates it from a previous member: one append per object.
var jsonOpen = [...]string{
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

// jsonOpenSub returns the opening text of a nested object, comma first.
func jsonOpenSub(path jsonPath) string {
	switch path {
	case pHttpRequest:
		return `,"request":{`
	case pHttpResponse:
		return `,"response":{`
	}
	return `,"nat":{` // pSourceNat, pDestinationNat
}

// jsonWriter builds nested ECS JSON with objects opened lazily, so empty
// objects never appear. Fields must come grouped by object.
type jsonWriter struct {
	b     []byte
	cur   jsonPath // object the last field went into
	first bool     // nothing written yet in the current innermost object
}

// AppendJSON appends r as one ECS JSON object (no trailing newline) to b.
func (r *Record) AppendJSON(b []byte) []byte {
	// Member names are constants rendered comma first (`,"name":`): the
	// writer drops the comma for the first member of an object, so a key
	// costs one append instead of quoting and escaping it per record.
	w := jsonWriter{b: append(b, '{'), first: true}
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
		w.b = appendJSONString(w.b, r.Category)
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
		w.b = appendJSONString(w.b, l.Key)
		w.b = append(w.b, ':')
		w.b = appendJSONString(w.b, l.Value)
	}
	w.close()
	return append(w.b, '}')
}

// close ends the open objects.
func (w *jsonWriter) close() {
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
func (w *jsonWriter) key(path jsonPath, k string) {
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
func (w *jsonWriter) enter(path jsonPath) {
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
			w.open(jsonOpen[top>>4])
		}
	}
	if sub != 0 {
		w.open(jsonOpenSub(path))
	}
	w.cur = path
}

// open writes an object's pre-rendered `,"name":{`.
func (w *jsonWriter) open(o string) {
	if w.first {
		o = o[1:]
	}
	w.b = append(w.b, o...)
	w.first = true
}

func (w *jsonWriter) str(path jsonPath, k, v string) {
	if v == "" {
		return
	}
	w.key(path, k)
	w.b = appendJSONString(w.b, v)
}

func (w *jsonWriter) num(path jsonPath, k string, v Num) {
	if !v.Set {
		return
	}
	w.key(path, k)
	w.b = appendInt(w.b, v.V)
}

func (w *jsonWriter) addr(path jsonPath, k string, a netip.Addr, token string) {
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

// digitPairs holds "00" to "99", for two digits per division.
const digitPairs = "00010203040506070809" +
	"10111213141516171819" +
	"20212223242526272829" +
	"30313233343536373839" +
	"40414243444546474849" +
	"50515253545556575859" +
	"60616263646566676869" +
	"70717273747576777879" +
	"80818283848586878889" +
	"90919293949596979899"

// appendInt is strconv.AppendInt(b, v, 10) for the counters, ports and
// durations of a record, formatted in place without strconv's call chain.
func appendInt(b []byte, v int64) []byte {
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
		buf[i], buf[i+1] = digitPairs[d], digitPairs[d+1]
		u = q
	}
	if u >= 10 {
		i -= 2
		buf[i], buf[i+1] = digitPairs[u*2], digitPairs[u*2+1]
	} else {
		i--
		buf[i] = byte('0' + u)
	}
	return append(b, buf[i:]...)
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks the bytes a JSON string holds as they are: printable ASCII
// other than '"' and '\\'. Control bytes are escaped and bytes from 0x80 up
// are validated as UTF-8, both on the slow path.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// Word-at-a-time constants: every byte 0x01, 0x80, 0x20, '"' and '\\'.
const (
	lsbs   = 0x0101010101010101
	msbs   = 0x8080808080808080
	spaces = 0x20 * lsbs
	quotes = '"' * lsbs
	bslash = '\\' * lsbs
)

// cleanRun returns the length of the prefix of s that needs no escaping,
// eight bytes at a time while the words are clean.
func cleanRun(s string) int {
	i := 0
	for ; i+8 <= len(s); i += 8 {
		w := s[i : i+8]
		x := uint64(w[0]) | uint64(w[1])<<8 | uint64(w[2])<<16 | uint64(w[3])<<24 |
			uint64(w[4])<<32 | uint64(w[5])<<40 | uint64(w[6])<<48 | uint64(w[7])<<56
		// A byte below 0x20, a '"' or '\\' (a zero byte after the xor), or
		// a byte from 0x80 up sets the high bit of some byte of m.
		q, bs := x^quotes, x^bslash
		m := ((x - spaces) &^ x) | ((q - lsbs) &^ q) | ((bs - lsbs) &^ bs) | x
		if m&msbs != 0 {
			break
		}
	}
	for i < len(s) && jsonSafe[s[i]] {
		i++
	}
	return i
}

// appendJSONString quotes s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// every emitted line is valid JSON whatever the device sent.
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	i := cleanRun(s)
	if i == len(s) {
		b = append(b, s...)
		return append(b, '"')
	}
	return appendJSONEscaped(b, s, i)
}

// appendJSONEscaped continues appendJSONString from s[i], the first byte
// that is not plain ASCII, after an opening quote already in b.
func appendJSONEscaped(b []byte, s string, i int) []byte {
	start := 0
	for i < len(s) {
		c := s[i]
		if jsonSafe[c] {
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
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
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
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
