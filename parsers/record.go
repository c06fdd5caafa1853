// Package parsers turns vendor log lines into normalized records with Elastic
// Common Schema (ECS) field names.
//
// It is a leaf: no I/O, no logging, no clock reads. Vendor parsers live in
// sub-packages and register themselves from init().
package parsers

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
	"slices"
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

// AppendJSON appends r as one ECS JSON object (no trailing newline) to b.
// Objects with no members are left out.
//
// It grows b once to an upper bound of the output, then writes with
// indexed stores: constant member names go as whole words, strings are
// checked and copied a word at a time. Every member is written comma
// first, and an object's text opens with its name alone (`,"source":`):
// when the object ends, the comma of its first member becomes its '{', or,
// with no members, the name is dropped. So no writer state is kept.
func (r *Record) AppendJSON(b []byte) []byte {
	start := len(b)
	b = slices.Grow(b, r.jsonBound())
	d := b[:cap(b)]
	n := start
	if !r.Timestamp.IsZero() {
		n = kTimestamp.put(d, n)
		n = putTime(d, n, r.Timestamp)
	}

	o := n
	n = kEvent.put(d, n)
	conn := r.Category == "network"
	if r.Verdict != VerdictUnknown || conn {
		n = kType.put(d, n)
		v := min(r.Verdict, 3)
		if conn {
			n = eventTypeConn[v].put(d, n)
		} else {
			n = eventType[v].put(d, n)
		}
	}
	n = putStrField(d, n, &kAction, r.EventAction)
	if r.Category != "" {
		n = putKeyStr(d, n, &kCategory, r.Category)
		d[n] = ']'
		n++
	}
	n = putNumField(d, n, &kDuration, r.Duration)
	n = putStrField(d, n, &kOutcome, r.Outcome)
	n = closeObj(d, o, n, &kEvent)

	o = n
	n = kSource.put(d, n)
	n = putStrField(d, n, &kDomain, r.SourceDomain)
	n = putAddrField(d, n, &kIP, r.SourceIP, r.SourceIPToken)
	n = putStrField(d, n, &kMAC, r.SourceMAC)
	n = putNumField(d, n, &kPort, r.SourcePort)
	n = putNumField(d, n, &kBytes, r.SourceBytes)
	n = putNumField(d, n, &kPackets, r.SourcePackets)
	o2 := n
	n = kNAT.put(d, n)
	n = putAddrField(d, n, &kIP, r.SourceNATIP, r.SourceNATIPToken)
	n = putNumField(d, n, &kPort, r.SourceNATPort)
	n = closeObj(d, o2, n, &kNAT)
	n = closeObj(d, o, n, &kSource)

	o = n
	n = kDestination.put(d, n)
	n = putStrField(d, n, &kDomain, r.DestinationDomain)
	n = putAddrField(d, n, &kIP, r.DestinationIP, r.DestinationIPToken)
	n = putNumField(d, n, &kPort, r.DestinationPort)
	n = putNumField(d, n, &kBytes, r.DestinationBytes)
	n = putNumField(d, n, &kPackets, r.DestinationPackets)
	o2 = n
	n = kNAT.put(d, n)
	n = putAddrField(d, n, &kIP, r.DestinationNATIP, r.DestinationNATIPToken)
	n = putNumField(d, n, &kPort, r.DestinationNATPort)
	n = closeObj(d, o2, n, &kNAT)
	n = closeObj(d, o, n, &kDestination)

	o = n
	n = kNetwork.put(d, n)
	n = putStrField(d, n, &kTransport, r.NetworkTransport)
	n = putStrField(d, n, &kProtocol, r.NetworkProtocol)
	n = putStrField(d, n, &kApplication, r.NetworkApplication)
	n = putStrField(d, n, &kDirection, r.NetworkDirection)
	n = putNumField(d, n, &kBytes, r.NetworkBytes)
	n = putNumField(d, n, &kPackets, r.NetworkPackets)
	n = closeObj(d, o, n, &kNetwork)

	o = n
	n = kURL.put(d, n)
	n = putStrField(d, n, &kOriginal, r.URLOriginal)
	n = putStrField(d, n, &kScheme, r.URLScheme)
	n = putStrField(d, n, &kDomain, r.URLDomain)
	n = putNumField(d, n, &kPort, r.URLPort)
	n = putStrField(d, n, &kPath, r.URLPath)
	n = putStrField(d, n, &kQuery, r.URLQuery)
	n = closeObj(d, o, n, &kURL)

	o = n
	n = kHTTP.put(d, n)
	o2 = n
	n = kRequest.put(d, n)
	n = putStrField(d, n, &kMethod, r.HTTPMethod)
	n = putStrField(d, n, &kReferrer, r.HTTPReferrer)
	n = closeObj(d, o2, n, &kRequest)
	o2 = n
	n = kResponse.put(d, n)
	n = putNumField(d, n, &kStatusCode, r.HTTPStatus)
	n = putStrField(d, n, &kMIMEType, r.HTTPContentType)
	n = closeObj(d, o2, n, &kResponse)
	n = closeObj(d, o, n, &kHTTP)

	o = n
	n = kUserAgent.put(d, n)
	n = putStrField(d, n, &kOriginal, r.UserAgent)
	n = closeObj(d, o, n, &kUserAgent)

	o = n
	n = kUser.put(d, n)
	n = putStrField(d, n, &kName, r.UserName)
	n = putStrField(d, n, &kDomain, r.UserDomain)
	n = putStrField(d, n, &kEmail, r.UserEmail)
	n = closeObj(d, o, n, &kUser)

	o = n
	n = kObserver.put(d, n)
	n = putStrField(d, n, &kVendor, r.ObserverVendor)
	n = putStrField(d, n, &kProduct, r.ObserverProduct)
	n = putStrField(d, n, &kHostname, r.ObserverHostname)
	n = putStrField(d, n, &kSerialNumber, r.ObserverSerial)
	n = closeObj(d, o, n, &kObserver)

	o = n
	n = kRule.put(d, n)
	n = putStrField(d, n, &kName, r.RuleName)
	n = closeObj(d, o, n, &kRule)

	o = n
	n = kLog.put(d, n)
	n = putNumField(d, n, &kOffset, r.LogOffset)
	n = closeObj(d, o, n, &kLog)

	o = n
	n = kLabels.put(d, n)
	n = putStrField(d, n, &kSource2, r.DataSource)
	n = putStrField(d, n, &kURLCategory, r.URLCategory)
	n = putStrField(d, n, &kAppCategory, r.AppCategory)
	n = putStrField(d, n, &kAppRisk, r.AppRisk)
	n = putStrField(d, n, &kThreat, r.ThreatName)
	for _, l := range r.Labels {
		if l.Value == "" {
			continue
		}
		n = putKeyStr(d, n, &kComma, l.Key)
		n = putKeyStr(d, n, &kColon, l.Value)
	}
	n = closeObj(d, o, n, &kLabels)

	if n == start {
		d[n], d[n+1] = '{', '}'
		return d[:n+2]
	}
	d[start] = '{' // the comma of the first member
	d[n] = '}'
	return d[:n+1]
}

// jsonFixedBound bounds what AppendJSON writes besides the bytes of its
// strings, with jsonSlack: member names, object openings and punctuation,
// 14 integers of at most 20 characters, 4 quoted addresses of at most 41, a
// quoted timestamp of at most 64 and event.type come to about 1200 bytes
// (TestJSONBoundWorstCase).
const jsonFixedBound = 2048

// jsonSlack is how far past the end of what they mean to write the word
// stores may reach.
const jsonSlack = 32

// jsonBound is an upper bound on AppendJSON's output for r, plus jsonSlack:
// an escaped string byte takes at most 6 bytes (`\u00XX`).
func (r *Record) jsonBound() int {
	s := len(r.EventAction) + len(r.Category) + len(r.Outcome) +
		len(r.SourceDomain) + len(r.SourceMAC) + len(r.SourceIPToken) + len(r.SourceNATIPToken) +
		len(r.DestinationDomain) + len(r.DestinationIPToken) + len(r.DestinationNATIPToken) +
		len(r.NetworkTransport) + len(r.NetworkProtocol) + len(r.NetworkApplication) + len(r.NetworkDirection) +
		len(r.URLOriginal) + len(r.URLScheme) + len(r.URLDomain) + len(r.URLPath) + len(r.URLQuery) +
		len(r.HTTPMethod) + len(r.HTTPReferrer) + len(r.HTTPContentType) + len(r.UserAgent) +
		len(r.UserName) + len(r.UserDomain) + len(r.UserEmail) +
		len(r.ObserverVendor) + len(r.ObserverProduct) + len(r.ObserverHostname) + len(r.ObserverSerial) +
		len(r.RuleName) + len(r.URLCategory) + len(r.AppCategory) + len(r.AppRisk) + len(r.ThreatName) +
		len(r.DataSource)
	for _, l := range r.Labels {
		s += len(l.Key) + len(l.Value) + 1 // +1: the 6 bytes of punctuation
	}
	return jsonFixedBound + 6*s
}

// jsonKey is constant text of up to 24 bytes, a member name rendered comma
// first (`,"name":`) or an object's opening (`,"name":`), held as words so
// that writing it is three stores rather than a call to memmove.
type jsonKey struct {
	w [3]uint64
	n int
}

func mkKey(s string) jsonKey {
	var b [24]byte
	if len(s) > len(b) {
		panic("parsers: JSON key too long: " + s)
	}
	copy(b[:], s)
	k := jsonKey{n: len(s)}
	for i := range k.w {
		k.w[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return k
}

// put writes k at d[n:] and returns the new end; it stores 24 bytes.
func (k *jsonKey) put(d []byte, n int) int {
	p := (*[24]byte)(d[n:])
	binary.LittleEndian.PutUint64(p[0:], k.w[0])
	binary.LittleEndian.PutUint64(p[8:], k.w[1])
	binary.LittleEndian.PutUint64(p[16:], k.w[2])
	return n + k.n
}

// Member names and object openings, in the order AppendJSON writes them.
var (
	kTimestamp = mkKey(`,"@timestamp":"`)

	kEvent    = mkKey(`,"event":`)
	kType     = mkKey(`,"type":`)
	kAction   = mkKey(`,"action":`)
	kCategory = mkKey(`,"category":[`)
	kDuration = mkKey(`,"duration":`)
	kOutcome  = mkKey(`,"outcome":`)

	kSource      = mkKey(`,"source":`)
	kDestination = mkKey(`,"destination":`)
	kNAT         = mkKey(`,"nat":`)
	kDomain      = mkKey(`,"domain":`)
	kIP          = mkKey(`,"ip":`)
	kMAC         = mkKey(`,"mac":`)
	kPort        = mkKey(`,"port":`)
	kBytes       = mkKey(`,"bytes":`)
	kPackets     = mkKey(`,"packets":`)

	kNetwork     = mkKey(`,"network":`)
	kTransport   = mkKey(`,"transport":`)
	kProtocol    = mkKey(`,"protocol":`)
	kApplication = mkKey(`,"application":`)
	kDirection   = mkKey(`,"direction":`)

	kURL      = mkKey(`,"url":`)
	kOriginal = mkKey(`,"original":`)
	kScheme   = mkKey(`,"scheme":`)
	kPath     = mkKey(`,"path":`)
	kQuery    = mkKey(`,"query":`)

	kHTTP       = mkKey(`,"http":`)
	kRequest    = mkKey(`,"request":`)
	kMethod     = mkKey(`,"method":`)
	kReferrer   = mkKey(`,"referrer":`)
	kResponse   = mkKey(`,"response":`)
	kStatusCode = mkKey(`,"status_code":`)
	kMIMEType   = mkKey(`,"mime_type":`)
	kUserAgent  = mkKey(`,"user_agent":`)

	kUser  = mkKey(`,"user":`)
	kName  = mkKey(`,"name":`)
	kEmail = mkKey(`,"email":`)

	kObserver     = mkKey(`,"observer":`)
	kVendor       = mkKey(`,"vendor":`)
	kProduct      = mkKey(`,"product":`)
	kHostname     = mkKey(`,"hostname":`)
	kSerialNumber = mkKey(`,"serial_number":`)

	kRule   = mkKey(`,"rule":`)
	kLog    = mkKey(`,"log":`)
	kOffset = mkKey(`,"offset":`)

	kLabels      = mkKey(`,"labels":`)
	kSource2     = mkKey(`,"source":`)
	kURLCategory = mkKey(`,"url_category":`)
	kAppCategory = mkKey(`,"app_category":`)
	kAppRisk     = mkKey(`,"app_risk":`)
	kThreat      = mkKey(`,"threat":`)
	kComma       = mkKey(`,`)
	kColon       = mkKey(`:`)
)

// eventType and eventTypeConn hold the event.type arrays by Verdict (3 for
// a value outside the named ones, whose String is empty), without and with
// "connection".
var (
	eventType = [4]jsonKey{
		Allowed: mkKey(`["allowed"]`),
		Denied:  mkKey(`["denied"]`),
		3:       mkKey(`[""]`),
	}
	eventTypeConn = [4]jsonKey{
		VerdictUnknown: mkKey(`["connection"]`),
		Allowed:        mkKey(`["allowed","connection"]`),
		Denied:         mkKey(`["denied","connection"]`),
		3:              mkKey(`["","connection"]`),
	}
)

// closeObj ends the object whose opening k was written at d[o:]: with no
// members it is dropped; otherwise the comma of its first member becomes
// its '{'.
func closeObj(d []byte, o, n int, k *jsonKey) int {
	at := o + k.n
	if n == at {
		return o
	}
	d[at] = '{'
	d[n] = '}'
	return n + 1
}

// putStrField, putNumField and putAddrField write a member when it is set.
// They are small enough to inline, so an absent member costs a test, not a
// call.
func putStrField(d []byte, n int, k *jsonKey, v string) int {
	if v == "" {
		return n
	}
	return putKeyStr(d, n, k, v)
}

func putNumField(d []byte, n int, k *jsonKey, v Num) int {
	if !v.Set {
		return n
	}
	return putKeyInt(d, n, k, v.V)
}

func putAddrField(d []byte, n int, k *jsonKey, a netip.Addr, token string) int {
	if token == "" && !a.IsValid() {
		return n
	}
	return putKeyAddr(d, n, k, a, token)
}

// putKeyAddr writes k and then the token, or else the address quoted,
// without its zone, an IPv4-mapped IPv6 address as IPv4.
func putKeyAddr(d []byte, n int, k *jsonKey, a netip.Addr, token string) int {
	if token != "" {
		return putKeyStr(d, n, k, token)
	}
	n = k.put(d, n)
	if a.Is4() || a.Is4In6() {
		ip := a.Unmap().As4()
		d[n] = '"'
		n++
		for _, o := range ip {
			// Each octet with a dot after it; the last dot becomes the
			// closing quote.
			binary.LittleEndian.PutUint32(d[n:], octetDot[o])
			n += int(octetLen[o])
		}
		d[n-1] = '"'
		return n
	}
	var tmp [64]byte
	s := a.WithZone("").AppendTo(tmp[:0])
	p := d[n : n+len(s)+2]
	p[0] = '"'
	copy(p[1:], s)
	p[len(p)-1] = '"'
	return n + len(p)
}

// octetDot holds every byte value in decimal followed by a dot, as the
// little-endian word putKeyAddr stores, and octetLen its length.
var octetDot, octetLen = func() (w [256]uint32, l [256]uint8) {
	for i := range w {
		s := strconv.Itoa(i) + "."
		var b [4]byte
		copy(b[:], s)
		w[i] = binary.LittleEndian.Uint32(b[:])
		l[i] = uint8(len(s))
	}
	return w, l
}()

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

// pow10 holds 10^i, for decimalLen.
var pow10 = [20]uint64{
	1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
	1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19,
}

// decimalLen returns the number of decimal digits of u.
func decimalLen(u uint64) int {
	// 1233/4096 is log10(2) to five places: with u's bit length, it gives
	// t, the digit count of u or one less.
	t := bits.Len64(u|1) * 1233 >> 12
	if u < pow10[t] {
		return t
	}
	return t + 1
}

// putKeyInt writes k and v in decimal, as strconv.FormatInt(v, 10).
func putKeyInt(d []byte, n int, k *jsonKey, v int64) int {
	n = k.put(d, n)
	u := uint64(v)
	if v < 0 {
		d[n] = '-'
		n++
		u = -u
	}
	if u < 10 {
		d[n] = byte('0' + u)
		return n + 1
	}
	end := n + decimalLen(u)
	p := d[n:end]
	i := len(p)
	// Four digits per division by 10000, so the chain of dependent
	// divisions is half as long; the two pairs of each are independent.
	for u >= 10000 {
		q := u / 10000
		r := u - q*10000
		i -= 4
		put2(p[i:], r/100)
		put2(p[i+2:], r%100)
		u = q
	}
	if u >= 100 {
		q := u / 100
		i -= 2
		put2(p[i:], u-q*100)
		u = q
	}
	if u >= 10 {
		put2(p, u)
	} else {
		p[0] = byte('0' + u)
	}
	return end
}

// put2 writes v (below 100) as two digits.
func put2(p []byte, v uint64) {
	binary.LittleEndian.PutUint16(p, uint16(digitPairs[v*2])|uint16(digitPairs[v*2+1])<<8)
}

// maxFastUnix is 10000-01-01T00:00:00Z: up to it putTime formats by hand.
const maxFastUnix = 253402300800

// putTime writes t as time.RFC3339Nano and the closing quote. Times
// from 1970 to 9999 with zone offsets under 100 hours are formatted by
// hand, the rest by time.Time.AppendFormat.
func putTime(d []byte, n int, t time.Time) int {
	_, off := t.Zone()
	sec := t.Unix() + int64(off)
	if sec < 0 || sec >= maxFastUnix || off <= -100*3600 || off >= 100*3600 {
		var tmp [64]byte
		s := t.AppendFormat(tmp[:0], time.RFC3339Nano)
		n += copy(d[n:n+len(s)], s)
		d[n] = '"'
		return n + 1
	}
	// Civil date from days since 1970-01-01 in the proleptic Gregorian
	// calendar, by eras of 400 years starting on March 1 (Howard Hinnant's
	// days_from_civil, inverted).
	u := uint64(sec)
	z := u/86400 + 719468
	secOfDay := u % 86400
	era := z / 146097
	doe := z - era*146097
	yoe := (doe - doe/1460 + doe/36524 - doe/146096) / 365
	doy := doe - (365*yoe + yoe/4 - yoe/100)
	mp := (5*doy + 2) / 153
	day := doy - (153*mp+2)/5 + 1
	month := mp + 3
	year := yoe + era*400
	if month > 12 {
		month -= 12
		year++
	}
	p := (*[19]byte)(d[n:])
	put2(p[0:], year/100)
	put2(p[2:], year%100)
	p[4] = '-'
	put2(p[5:], month)
	p[7] = '-'
	put2(p[8:], day)
	p[10] = 'T'
	put2(p[11:], secOfDay/3600)
	p[13] = ':'
	put2(p[14:], secOfDay/60%60)
	p[16] = ':'
	put2(p[17:], secOfDay%60)
	n += len(p)

	if ns := uint64(t.Nanosecond()); ns != 0 {
		f := (*[10]byte)(d[n:])
		f[0] = '.'
		ms := ns / 1e6
		f[1] = byte('0' + ms/100)
		put2(f[2:], ms%100)
		us := ns % 1e6
		put2(f[4:], us/1e4)
		put2(f[6:], us/100%100)
		put2(f[8:], us%100)
		n += len(f)
		for d[n-1] == '0' { // .999999999 drops trailing zeros
			n--
		}
	}

	if off == 0 {
		d[n], d[n+1] = 'Z', '"'
		return n + 2
	}
	zone := off / 60 // minutes, as time does it
	p6 := (*[7]byte)(d[n:])
	p6[0] = '+'
	if zone < 0 {
		p6[0] = '-'
		zone = -zone
	}
	put2(p6[1:], uint64(zone/60))
	p6[3] = ':'
	put2(p6[4:], uint64(zone%60))
	p6[6] = '"'
	return n + len(p6)
}

// Word-at-a-time constants: every byte 0x01, 0x80, 0x20, '"' and '\\'.
const (
	lsbs   = 0x0101010101010101
	msbs   = 0x8080808080808080
	spaces = 0x20 * lsbs
	quotes = '"' * lsbs
	bslash = '\\' * lsbs
)

// dirty reports the high bit of every byte of x that may need escaping:
// below 0x20, '"', '\\' (a zero byte after the xor) or from 0x80 up. A
// borrow may also mark a clean byte above a marked one, never a byte of a
// clean word.
func dirty(x uint64) uint64 {
	q, bs := x^quotes, x^bslash
	return (((x - spaces) &^ x) | ((q - lsbs) &^ q) | ((bs - lsbs) &^ bs) | x) & msbs
}

// putKeyStr writes k and s as a quoted JSON string. Clean text is checked and copied
// eight bytes at a time (two overlapping words for the tail, or for strings
// of 4 to 7 bytes); putEscaped takes over at the first word that is not.
func putKeyStr(d []byte, n int, k *jsonKey, s string) int {
	n = k.put(d, n)
	d[n] = '"'
	n++
	switch {
	case len(s) >= 8:
		i := 0
		for ; i+8 < len(s); i += 8 {
			x := le64(s[i:])
			if dirty(x) != 0 {
				return putEscaped(d, n, s, i)
			}
			binary.LittleEndian.PutUint64(d[n+i:], x)
		}
		x := le64(s[len(s)-8:])
		if dirty(x) != 0 {
			return putEscaped(d, n, s, i)
		}
		binary.LittleEndian.PutUint64(d[n+len(s)-8:], x)
	case len(s) >= 4:
		lo := le32(s)
		hi := le32(s[len(s)-4:])
		if dirty(uint64(lo)|uint64(hi)<<32) != 0 {
			return putEscaped(d, n, s, 0)
		}
		binary.LittleEndian.PutUint32(d[n:], lo)
		binary.LittleEndian.PutUint32(d[n+len(s)-4:], hi)
	case len(s) > 0:
		a, b, c := s[0], s[len(s)/2], s[len(s)-1]
		if dirty(uint64(a)|uint64(b)<<8|uint64(c)<<16)&0x808080 != 0 {
			return putEscaped(d, n, s, 0)
		}
		d[n], d[n+len(s)/2], d[n+len(s)-1] = a, b, c
	}
	n += len(s)
	d[n] = '"'
	return n + 1
}

// le64 and le32 load the first 8 or 4 bytes of s as a little-endian word
// (the compiler makes each one load).
func le64(s string) uint64 {
	_ = s[7]
	return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
}

func le32(s string) uint32 {
	_ = s[3]
	return uint32(s[0]) | uint32(s[1])<<8 | uint32(s[2])<<16 | uint32(s[3])<<24
}

const hexDigits = "0123456789abcdef"

// jsonSafe marks the bytes a JSON string holds as they are: printable ASCII
// other than '"' and '\\'.
var jsonSafe = func() (t [256]bool) {
	for c := 0x20; c < 0x80; c++ {
		t[c] = c != '"' && c != '\\'
	}
	return t
}()

// putEscaped finishes putKeyStr from s[i], with s[:i] already at d[n:]:
// control bytes, '"' and '\\' are escaped, as are U+2028 and U+2029 (for
// JavaScript), and invalid UTF-8 becomes U+FFFD so every emitted line is
// valid JSON whatever the device sent.
func putEscaped(d []byte, n int, s string, i int) int {
	n += i
	for i < len(s) {
		c := s[i]
		if jsonSafe[c] {
			d[n] = c
			n++
			i++
			continue
		}
		if c < utf8.RuneSelf {
			var e byte
			switch c {
			case '"', '\\':
				e = c
			case '\n':
				e = 'n'
			case '\r':
				e = 'r'
			case '\t':
				e = 't'
			default:
				n += copy(d[n:], `\u00`)
				d[n], d[n+1] = hexDigits[c>>4], hexDigits[c&0xf]
				n += 2
				i++
				continue
			}
			d[n], d[n+1] = '\\', e
			n += 2
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += copy(d[n:], "\ufffd")
		case r == '\u2028' || r == '\u2029':
			n += copy(d[n:], `\u202`)
			d[n] = hexDigits[r&0xf]
			n++
		default:
			n += copy(d[n:n+size], s[i:i+size])
		}
		i += size
	}
	d[n] = '"'
	return n + 1
}
