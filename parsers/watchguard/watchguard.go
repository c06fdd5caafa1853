// Package watchguard parses WatchGuard Firebox (Fireware) traffic logs sent
// over syslog: packet filter connection logs (3000-*) and proxy logs
// (HTTP 1AFF-*, HTTPS 2CFF-*, ...).
package watchguard

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

const (
	vendor  = "WatchGuard"
	product = "Firebox"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        "watchguard",
		Vendor:      vendor,
		Product:     product,
		Description: "WatchGuard Fireware traffic and proxy logs (syslog)",
		New:         newParser,
		Detect:      detect,
	})
}

type parser struct{}

var _ parsers.Parser = (*parser)(nil)

func newParser(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

var errNotWatchGuard = errors.New("watchguard: not a Fireware log line")

const msgIDKey = `msg_id="`

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	body := strings.TrimLeft(line, " ")
	idx := strings.Index(body, msgIDKey)
	serial, isoTime, tag := prefix(body, idx)
	if idx < 0 {
		if tag || m.Header.AppName != "" {
			return fmt.Errorf("%w: watchguard line without msg_id", parsers.ErrSkip)
		}
		return fmt.Errorf("%w: no msg_id", errNotWatchGuard)
	}
	rest := body[idx+len(msgIDKey):]
	q := strings.IndexByte(rest, '"')
	if q < 0 {
		return fmt.Errorf("%w: unterminated msg_id", errNotWatchGuard)
	}
	msgID := rest[:q]
	rest = strings.TrimLeft(rest[q+1:], " ")
	disposition, rest := next(rest)
	switch disposition {
	case "Allow", "Deny":
		if err := p.traffic(rest, msgID, r); err != nil {
			return err
		}
	default:
		// The Traffic Monitor / Log Server text form puts the details
		// first and msg_id among the trailing key="value" pairs.
		d, ok, err := monitorForm(body[:idx], body[idx:], msgID, m, r)
		if !ok {
			// Authentication, VPN, system and management messages.
			return fmt.Errorf("%w: watchguard message %s", parsers.ErrSkip, msgID)
		}
		if err != nil {
			return err
		}
		disposition, isoTime = d, "" // its own date and time are set
	}
	verdict := parsers.Denied
	if disposition == "Allow" {
		verdict = parsers.Allowed
	}
	r.Verdict = verdict
	r.EventAction = disposition
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	switch {
	case serial != "":
	case isSerial(m.Header.AppName):
		// A relay's bare-tag heuristic took the serial for an APP-NAME.
		serial = m.Header.AppName
	case isSerial(m.Header.Hostname):
		// No host name in the header: the syslog parser took the serial
		// number that follows the timestamp for one.
		serial = m.Header.Hostname
	}
	r.ObserverSerial = serial
	r.Category = "network"
	if strings.HasPrefix(msgID, "1AFF-") || strings.HasPrefix(msgID, "2CFF-") || msgID == "3000-0175" || msgID == "3000-0176" {
		r.Category = "web"
	}
	if isoTime != "" {
		// The Firebox's own timestamp (local, no zone) beats the header's.
		if t, ok := parsers.ParseTime(isoTime, m.Location); ok {
			r.Timestamp = t
		}
	}
	return nil
}

// monitorForm parses the form Traffic Monitor and the Log Server show
// (WatchGuard "Read a Log Message"):
//
//	[date time] [MemberN] Allow|Deny src dst service/proto [sport dport]
//	in-if out-if Allowed|Denied [len ttl] (policy) key="value"... msg_id=...
//
// pre is the text before msg_id, tail the text from it. ok is false when
// pre does not have that shape.
func monitorForm(pre, tail, msgID string, m *parsers.Meta, r *parsers.Record) (disposition string, ok bool, err error) {
	s := pre
	var date, clock string
	for i := 0; i < 5; i++ {
		tok, rest := next(s)
		if tok == "Allow" || tok == "Deny" {
			disposition, s = tok, rest
			break
		}
		switch {
		case len(tok) == 10 && tok[4] == '-' && tok[7] == '-':
			date = tok
		case len(tok) == 8 && tok[2] == ':' && tok[5] == ':':
			clock = tok
		case tok == "" || strings.IndexByte(tok, '=') >= 0:
			return "", false, nil
		}
		s = rest
	}
	if disposition == "" {
		return "", false, nil
	}
	srcTok, s := next(s)
	dstTok, s := next(s)
	src, dst := addr(srcTok), addr(dstTok)
	if !src.IsValid() || !dst.IsValid() {
		return disposition, true, fmt.Errorf("watchguard: %s record without source/destination address", msgID)
	}
	r.SourceIP, r.DestinationIP = src, dst
	svc, s := next(s)
	if _, proto, found := strings.Cut(svc, "/"); found {
		r.NetworkTransport = parsers.Lower(proto)
	}
	if a, rest := next(s); isNum(a) {
		if b, rest2 := next(rest); isNum(b) {
			r.SourcePort, r.DestinationPort = parsers.ParsePort(a), parsers.ParsePort(b)
			s = rest2
		}
	}
	if r.NetworkTransport == "icmp" || r.NetworkTransport == "ipv6-icmp" {
		r.SourcePort, r.DestinationPort = parsers.Num{}, parsers.Num{}
	}
	if open := strings.IndexByte(s, '('); open >= 0 {
		if end := strings.IndexByte(s[open:], ')'); end > 0 {
			r.RuleName = s[open+1 : open+end]
			s = s[open+end+1:]
		}
	}
	var f kv
	scanKV(s, f.set)
	scanKV(tail, f.set)
	f.apply(r)
	if date != "" && clock != "" {
		// The Firebox's local time, without a zone.
		if t, ok := parsers.ParseTime(date+" "+clock, m.Location); ok {
			r.Timestamp = t
		}
	}
	return disposition, true, nil
}

// prefix reads what precedes msg_id: "[serial] [member] [(ISO time)]
// process[pid]:". SplitHeader has already taken the syslog header and host.
func prefix(body string, idx int) (serial, isoTime string, tag bool) {
	s := body
	if idx >= 0 {
		s = body[:idx]
	}
	first := true
	for s != "" {
		tok, rest := next(s)
		s = rest
		if tok == "" {
			break
		}
		switch {
		case len(tok) > 2 && tok[0] == '(' && tok[len(tok)-1] == ')':
			isoTime = tok[1 : len(tok)-1]
		case tok[len(tok)-1] == ':':
			tag = true
			if idx < 0 {
				return serial, isoTime, tag
			}
		case first && isSerial(tok):
			serial = tok
		}
		first = false
	}
	return serial, isoTime, tag
}

// isSerial reports whether tok looks like a Firebox serial number
// (12-13 upper-case letters and digits, e.g. 801B0A1B2C3D4).
func isSerial(tok string) bool {
	if len(tok) < 10 || len(tok) > 16 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// traffic parses the positional part after the disposition:
//
//	in-if out-if [len] proto [hdr-len ttl] src dst [sport dport]
//	[offset N flags seq win W] [key="value" ...] [(policy)]
func (p *parser) traffic(s, msgID string, r *parsers.Record) error {
	var pre [6]string
	n := 0
	for {
		tok, rest := next(s)
		if tok == "" {
			return fmt.Errorf("watchguard: %s record without source/destination address", msgID)
		}
		if a := addr(tok); a.IsValid() {
			d, rest2 := next(rest)
			b := addr(d)
			if !b.IsValid() {
				return fmt.Errorf("watchguard: %s record without destination address", msgID)
			}
			r.SourceIP, r.DestinationIP, s = a, b, rest2
			break
		}
		if n == len(pre) || strings.IndexByte(tok, '=') >= 0 {
			return fmt.Errorf("watchguard: %s record without source/destination address", msgID)
		}
		pre[n] = tok
		n++
		s = rest
	}
	if n < 3 {
		return fmt.Errorf("watchguard: %s record too short before the addresses", msgID)
	}
	// pre = in-if, out-if, then [len] proto [hdr-len ttl]: the protocol is
	// the first word that is not a number.
	proto := ""
	for _, t := range pre[2:n] {
		if !isNum(t) {
			proto = t
			break
		}
	}
	if proto == "" {
		proto = pre[n-1]
		if n == 4 || n == 6 {
			proto = pre[3] // len proto [hdr ttl] with a numeric protocol
		}
	}
	r.NetworkTransport = parsers.Lower(proto)
	if r.NetworkTransport == "tcp" || r.NetworkTransport == "udp" {
		a, rest := next(s)
		b, rest2 := next(rest)
		if isNum(a) && isNum(b) {
			r.SourcePort = parsers.ParsePort(a)
			r.DestinationPort = parsers.ParsePort(b)
			s = rest2
		}
	}
	if tok, rest := next(s); tok == "offset" {
		// offset N flags seq win W
		s = rest
		for i := 0; i < 5; i++ {
			_, s = next(s)
		}
	}
	s = strings.TrimRight(s, " ")
	if strings.HasSuffix(s, ")") {
		if i := strings.LastIndex(s, " ("); i >= 0 {
			r.RuleName = s[i+2 : len(s)-1]
			s = s[:i]
		} else if s[0] == '(' {
			r.RuleName = s[1 : len(s)-1]
			s = ""
		}
	}
	var f kv
	scanKV(s, f.set)
	f.apply(r)
	return nil
}

// kv holds the key="value" details Fireware appends.
type kv struct {
	srcUser, sentBytes, rcvdBytes, sentPkts, rcvdPkts string
	duration, elapsed, op, method, dstname, sni, host string
	arg, path, appName, appCat, cats, srcNAT, dstNAT  string
	virus, signature, contentType                     string
}

func (f *kv) set(k, v string) {
	switch k {
	case "src_user":
		f.srcUser = v
	case "sent_bytes":
		f.sentBytes = v
	case "rcvd_bytes":
		f.rcvdBytes = v
	case "sent_pkts":
		f.sentPkts = v
	case "rcvd_pkts":
		f.rcvdPkts = v
	case "duration":
		f.duration = v
	case "elapsed_time":
		f.elapsed = v
	case "op":
		f.op = v
	case "method":
		f.method = v
	case "dstname":
		f.dstname = v
	case "sni":
		f.sni = v
	case "host":
		f.host = v
	case "arg":
		f.arg = v
	case "path":
		f.path = v
	case "app_name":
		f.appName = v
	case "cat_name", "app_cat_name":
		f.appCat = v
	case "cats":
		f.cats = v
	case "src_ip_nat":
		f.srcNAT = v
	case "dst_ip_nat":
		f.dstNAT = v
	case "virus":
		f.virus = v
	case "signature_name":
		f.signature = v
	case "content_type":
		f.contentType = v
	}
}

func (f *kv) apply(r *parsers.Record) {
	parsers.SetUser(r, f.srcUser)
	// Fireware counts from the initiator's side: a denied 84-byte ping is
	// logged sent_pkts=1 sent_bytes=84 rcvd_bytes=0 (WatchGuard "Read a Log
	// Message"), and an HTTP request's sent_bytes is the request.
	r.SourceBytes = parsers.ParseNum(f.sentBytes)
	r.DestinationBytes = parsers.ParseNum(f.rcvdBytes)
	r.SourcePackets = parsers.ParseNum(f.sentPkts)
	r.DestinationPackets = parsers.ParseNum(f.rcvdPkts)
	if d := parsers.ParseNum(f.duration); d.Set && d.V < 1<<33 {
		r.Duration = parsers.N(d.V * int64(time.Second))
	} else if d, ok := seconds(f.elapsed); ok {
		r.Duration = parsers.N(d)
	}
	if m := parsers.Clean(f.op); m != "" {
		r.HTTPMethod = strings.ToUpper(m)
	} else if m := parsers.Clean(f.method); m != "" {
		r.HTTPMethod = strings.ToUpper(m)
	}
	host := parsers.Clean(f.dstname)
	if host == "" {
		host = parsers.Clean(f.sni)
	}
	if host == "" {
		host = parsers.Clean(f.host)
	}
	if host != "" && !addr(host).IsValid() {
		r.DestinationDomain = host
	}
	if u := parsers.Clean(f.arg); u != "" {
		parsers.SetURL(r, u)
	} else if u := parsers.Clean(f.path); u != "" {
		parsers.SetURL(r, u)
	}
	if r.URLOriginal != "" && r.URLDomain == "" {
		r.URLDomain = host
	}
	r.NetworkApplication = parsers.Clean(f.appName)
	r.AppCategory = parsers.Clean(f.appCat)
	r.URLCategory = parsers.Clean(f.cats)
	r.SourceNATIP = parsers.ParseIP(f.srcNAT)
	r.DestinationNATIP = parsers.ParseIP(f.dstNAT)
	if t := parsers.Clean(f.virus); t != "" {
		r.ThreatName = t
	} else {
		r.ThreatName = parsers.Clean(f.signature)
	}
	r.HTTPContentType = parsers.Clean(f.contentType)
}

// seconds reads elapsed_time="0.812 sec(s)" as nanoseconds.
func seconds(s string) (int64, bool) {
	num, _, _ := strings.Cut(s, " ")
	whole, frac, _ := strings.Cut(num, ".")
	w := parsers.ParseNum(whole)
	if !w.Set || w.V > 1<<33 {
		return 0, false
	}
	ns := w.V * int64(time.Second)
	scale := int64(100000000)
	for i := 0; i < len(frac) && scale > 0; i++ {
		c := frac[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		ns += int64(c-'0') * scale
		scale /= 10
	}
	return ns, true
}

func next(s string) (tok, rest string) {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	for j := i; j < len(s); j++ {
		if s[j] == ' ' {
			return s[i:j], s[j+1:]
		}
	}
	return s[i:], ""
}

func isNum(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// addr parses tok if it is an IPv4 or IPv6 address; the character check
// keeps interface and protocol names away from netip (whose errors
// allocate).
func addr(tok string) netip.Addr {
	if tok == "" || (strings.IndexByte(tok, '.') < 0 && strings.IndexByte(tok, ':') < 0) {
		return netip.Addr{}
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == ':' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return netip.Addr{}
		}
	}
	return parsers.ParseIP(tok)
}

// scanKV walks key="value" pairs. A quote ends a value only when a space
// or the end follows it, so values may contain quotes; words without '='
// ("blocked sites") are skipped.
func scanKV(s string, fn func(k, v string)) {
	i := 0
	for i < len(s) {
		for i < len(s) && s[i] == ' ' {
			i++
		}
		ks := i
		for i < len(s) && s[i] != '=' && s[i] != ' ' {
			i++
		}
		if i >= len(s) {
			return
		}
		if s[i] == ' ' || i == ks {
			for i < len(s) && s[i] != ' ' {
				i++
			}
			continue
		}
		key := s[ks:i]
		i++
		if i < len(s) && s[i] == '"' {
			end := len(s)
			for j := i + 1; j < len(s); j++ {
				if s[j] == '"' && (j+1 == len(s) || s[j+1] == ' ') {
					end = j
					break
				}
			}
			fn(key, s[i+1:end])
			i = end + 1
			continue
		}
		vs := i
		for i < len(s) && s[i] != ' ' {
			i++
		}
		fn(key, s[vs:i])
	}
}

// detect looks for Fireware's msg_id="XXXX-XXXX" (hex digits); lines
// without one (kernel, system) are still the Firebox's when they start with
// its serial number and "(ISO time)", so they are skipped, not unknown.
func detect(body string, _ *parsers.Header) int {
	i := strings.Index(body, msgIDKey)
	if i < 0 || len(body) < i+len(msgIDKey)+10 {
		if tok, rest := next(body); isSerial(tok) && len(rest) > 12 && rest[0] == '(' && rest[5] == '-' && rest[11] == 'T' {
			return 80
		}
		return 0
	}
	id := body[i+len(msgIDKey):]
	if id[4] != '-' || id[9] != '"' {
		return 0
	}
	for j := 0; j < 9; j++ {
		if j == 4 {
			continue
		}
		c := id[j]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'F') {
			return 0
		}
	}
	return 90
}
