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

// jsonWriter builds nested ECS JSON with objects opened lazily, so empty
// objects never appear.
type jsonWriter struct {
	b     []byte
	stack []string // open object names, outermost first
	first []bool   // per open level (plus root): no member written yet
	path  [3]string
}

// AppendJSON appends r as one ECS JSON object (no trailing newline) to b.
func (r *Record) AppendJSON(b []byte) []byte {
	w := jsonWriter{b: append(b, '{'), first: make([]bool, 1, 4)}
	w.first[0] = true
	if !r.Timestamp.IsZero() {
		w.key(nil, "@timestamp")
		w.b = append(w.b, '"')
		w.b = r.Timestamp.AppendFormat(w.b, time.RFC3339Nano)
		w.b = append(w.b, '"')
	}
	// event
	if r.Verdict != VerdictUnknown || r.Category == "network" {
		w.key([]string{"event"}, "type")
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
	w.str([]string{"event"}, "action", r.EventAction)
	if r.Category != "" {
		w.key([]string{"event"}, "category")
		w.b = append(w.b, '[')
		w.b = appendJSONString(w.b, r.Category)
		w.b = append(w.b, ']')
	}
	w.num([]string{"event"}, "duration", r.Duration)
	w.str([]string{"event"}, "outcome", r.Outcome)

	w.str([]string{"source"}, "domain", r.SourceDomain)
	w.addr([]string{"source"}, "ip", r.SourceIP, r.SourceIPToken)
	w.str([]string{"source"}, "mac", r.SourceMAC)
	w.num([]string{"source"}, "port", r.SourcePort)
	w.num([]string{"source"}, "bytes", r.SourceBytes)
	w.num([]string{"source"}, "packets", r.SourcePackets)
	w.addr([]string{"source", "nat"}, "ip", r.SourceNATIP, r.SourceNATIPToken)
	w.num([]string{"source", "nat"}, "port", r.SourceNATPort)

	w.str([]string{"destination"}, "domain", r.DestinationDomain)
	w.addr([]string{"destination"}, "ip", r.DestinationIP, r.DestinationIPToken)
	w.num([]string{"destination"}, "port", r.DestinationPort)
	w.num([]string{"destination"}, "bytes", r.DestinationBytes)
	w.num([]string{"destination"}, "packets", r.DestinationPackets)
	w.addr([]string{"destination", "nat"}, "ip", r.DestinationNATIP, r.DestinationNATIPToken)
	w.num([]string{"destination", "nat"}, "port", r.DestinationNATPort)

	w.str([]string{"network"}, "transport", r.NetworkTransport)
	w.str([]string{"network"}, "protocol", r.NetworkProtocol)
	w.str([]string{"network"}, "application", r.NetworkApplication)
	w.str([]string{"network"}, "direction", r.NetworkDirection)
	w.num([]string{"network"}, "bytes", r.NetworkBytes)
	w.num([]string{"network"}, "packets", r.NetworkPackets)

	w.str([]string{"url"}, "original", r.URLOriginal)
	w.str([]string{"url"}, "scheme", r.URLScheme)
	w.str([]string{"url"}, "domain", r.URLDomain)
	w.num([]string{"url"}, "port", r.URLPort)
	w.str([]string{"url"}, "path", r.URLPath)
	w.str([]string{"url"}, "query", r.URLQuery)

	w.str([]string{"http", "request"}, "method", r.HTTPMethod)
	w.str([]string{"http", "request"}, "referrer", r.HTTPReferrer)
	w.num([]string{"http", "response"}, "status_code", r.HTTPStatus)
	w.str([]string{"http", "response"}, "mime_type", r.HTTPContentType)
	w.str([]string{"user_agent"}, "original", r.UserAgent)

	w.str([]string{"user"}, "name", r.UserName)
	w.str([]string{"user"}, "domain", r.UserDomain)
	w.str([]string{"user"}, "email", r.UserEmail)

	w.str([]string{"observer"}, "vendor", r.ObserverVendor)
	w.str([]string{"observer"}, "product", r.ObserverProduct)
	w.str([]string{"observer"}, "hostname", r.ObserverHostname)
	w.str([]string{"observer"}, "serial_number", r.ObserverSerial)

	w.str([]string{"rule"}, "name", r.RuleName)
	w.num([]string{"log"}, "offset", r.LogOffset)

	w.str([]string{"labels"}, "source", r.DataSource)
	w.str([]string{"labels"}, "url_category", r.URLCategory)
	w.str([]string{"labels"}, "app_category", r.AppCategory)
	w.str([]string{"labels"}, "app_risk", r.AppRisk)
	w.str([]string{"labels"}, "threat", r.ThreatName)
	for _, l := range r.Labels {
		w.str([]string{"labels"}, l.Key, l.Value)
	}
	w.closeTo(0)
	return append(w.b, '}')
}

// key positions the writer inside the object path and writes `"name":`.
func (w *jsonWriter) key(path []string, name string) {
	// common prefix with the open stack
	n := 0
	for n < len(path) && n < len(w.stack) && w.stack[n] == path[n] {
		n++
	}
	w.closeTo(n)
	for _, p := range path[n:] {
		w.sep()
		w.b = appendJSONString(w.b, p)
		w.b = append(w.b, ':', '{')
		w.stack = append(w.stack, p)
		w.first = append(w.first, true)
	}
	w.sep()
	w.b = appendJSONString(w.b, name)
	w.b = append(w.b, ':')
}

func (w *jsonWriter) sep() {
	i := len(w.first) - 1
	if w.first[i] {
		w.first[i] = false
		return
	}
	w.b = append(w.b, ',')
}

func (w *jsonWriter) closeTo(n int) {
	for len(w.stack) > n {
		w.b = append(w.b, '}')
		w.stack = w.stack[:len(w.stack)-1]
		w.first = w.first[:len(w.first)-1]
	}
}

func (w *jsonWriter) str(path []string, name, v string) {
	if v == "" {
		return
	}
	w.key(path, name)
	w.b = appendJSONString(w.b, v)
}

func (w *jsonWriter) num(path []string, name string, v Num) {
	if !v.Set {
		return
	}
	w.key(path, name)
	w.b = strconv.AppendInt(w.b, v.V, 10)
}

func (w *jsonWriter) addr(path []string, name string, a netip.Addr, token string) {
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

const hexDigits = "0123456789abcdef"

// appendJSONString quotes s as a JSON string. Invalid UTF-8 becomes U+FFFD so
// every emitted line is valid JSON whatever the device sent.
func appendJSONString(b []byte, s string) []byte {
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
