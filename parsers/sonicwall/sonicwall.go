// Package sonicwall parses SonicWall SonicOS syslog ("id=firewall"
// key=value, default and enhanced formats) connection, drop and web
// (content filter) events.
package sonicwall

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

const (
	vendor  = "SonicWall"
	product = "SonicOS"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        "sonicwall",
		Vendor:      vendor,
		Product:     product,
		Description: "SonicOS syslog (id=firewall key=value): connections, drops, content filter",
		New:         newParser,
		Detect:      detect,
	})
}

type parser struct{}

var _ parsers.Parser = (*parser)(nil)

func newParser(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

var errNotSonicWall = errors.New("sonicwall: not a SonicOS log line")

type fields struct {
	id, sn, tm, m, fwAction    string
	src, dst, srcV6, dstV6     string
	natSrc, natDst             string
	natSrcV6, natDstV6         string
	srcMac, proto, sent, rcvd  string
	spkt, rpkt, dur, cdur      string
	usr, appName, appcat, rule string
	dstname, arg, op, category string
	ipscat, msg                string
	hasM, hasMsg               bool
}

func (f *fields) set(k, v string) {
	switch k {
	case "id":
		f.id = v
	case "sn":
		f.sn = v
	case "time":
		f.tm = v
	case "m":
		f.m, f.hasM = v, true
	case "msg":
		if !f.hasMsg {
			f.msg = v
		}
		f.hasMsg = true
	case "fw_action":
		f.fwAction = v
	case "src":
		f.src = v
	case "dst":
		f.dst = v
	case "srcV6":
		f.srcV6 = v
	case "dstV6":
		f.dstV6 = v
	case "natSrc":
		f.natSrc = v
	case "natDst":
		f.natDst = v
	case "natSrcV6":
		f.natSrcV6 = v
	case "natDstV6":
		f.natDstV6 = v
	case "srcMac":
		f.srcMac = v
	case "proto":
		f.proto = v
	case "sent":
		f.sent = v
	case "rcvd":
		f.rcvd = v
	case "spkt":
		f.spkt = v
	case "rpkt":
		f.rpkt = v
	case "dur":
		f.dur = v
	case "cdur":
		f.cdur = v
	case "usr", "user":
		if f.usr == "" {
			f.usr = v
		}
	case "appName":
		f.appName = v
	case "appcat":
		f.appcat = v
	case "rule":
		f.rule = v
	case "dstname":
		f.dstname = v
	case "arg":
		f.arg = v
	case "op":
		f.op = v
	case "Category":
		f.category = v
	case "ipscat":
		f.ipscat = v
	}
}

// event classes of the SonicOS message ids (m=) that describe traffic,
// from the SonicOS log event reference. Other ids (admin, VPN, system,
// configuration) are not traffic.
type class uint8

const (
	notTraffic class = iota
	allowedConn
	deniedConn
	allowedWeb
	deniedWeb
)

func classify(m string) class {
	switch m {
	case "98", // Connection Opened
		"537",        // Connection Closed
		"597", "598", // ICMP packet allowed
		"1255", "1256", // ICMPv6 allowed
		"1153",              // SSL VPN Traffic
		"608", "789", "795", // IPS, IDP, Anti-Spyware Detection Alert (not blocked)
		"1154": // Application Control Detection Alert
		return allowedConn
	case "36", "37", "38", "41", // TCP/UDP/ICMP/unknown protocol packet dropped
		"173", "174", "175", // LAN TCP/UDP/ICMP deny
		"181", "580", // TCP FIN, SYN/FIN packet dropped
		"22", "23", "27", "267", "606", "1376", "1387", // attack packets dropped
		"590",        // LAN IP deny
		"646", "647", // connection limit reached
		"712", "713", "760", // TCP connection rejected/aborted/violation
		"797", "798", // connection to/from an RBL-listed SMTP server dropped
		"883", "884", "885", "886", "897", // checksum error, bad SYN cookie: dropped
		"1198", "1199", "1474", "1475", // Geo-IP initiator/responder blocked
		"1200", "1201", "1476", "1477", "1518", "1519", // Botnet initiator/responder blocked
		"1233",         // unhandled link-local or multicast IPv6 packet dropped
		"1254", "1257", // ICMPv6 dropped
		"609", "790", "794", // IPS, IDP, Anti-Spyware Prevention Alert
		"809",  // Gateway Anti-Virus Alert (the file was blocked)
		"1155": // Application Control Prevention Alert
		return deniedConn
	case "16", // Web site access allowed
		"97": // Web site hit
		return allowedWeb
	case "14", // Web site access denied
		"524": // Web request dropped
		return deniedWeb
	}
	return notTraffic
}

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	var f fields
	scanKV(line, f.set)
	if f.id == "" || (f.sn == "" && f.tm == "") {
		return fmt.Errorf("%w: no id/sn/time fields", errNotSonicWall)
	}
	c := classify(f.m)
	if c == notTraffic {
		// Ids not in the table still count when the firewall says it
		// forwarded or dropped the packet.
		switch {
		case !f.hasM && !f.hasMsg:
			return fmt.Errorf("%w: truncated line (no m or msg)", errNotSonicWall)
		case !f.hasM:
			return fmt.Errorf("%w: sonicwall event without message id", parsers.ErrSkip)
		case f.fwAction == "drop" && f.src != "":
			c = deniedConn
		case f.fwAction == "forward" && f.src != "":
			c = allowedConn
		default:
			return fmt.Errorf("%w: sonicwall message %s", parsers.ErrSkip, f.m)
		}
	}
	if f.fwAction == "drop" {
		// The enhanced format's own verdict beats the message's usual one.
		switch c {
		case allowedConn:
			c = deniedConn
		case allowedWeb:
			c = deniedWeb
		}
	}
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	r.ObserverSerial = parsers.Clean(f.sn)

	var srcHost, dstHost string
	r.SourceIP, r.SourcePort, srcHost = endpoint(f.src, f.srcV6)
	r.DestinationIP, r.DestinationPort, dstHost = endpoint(f.dst, f.dstV6)
	if !r.SourceIP.IsValid() && !r.DestinationIP.IsValid() {
		return fmt.Errorf("sonicwall: message %s without source/destination address", f.m)
	}
	r.SourceDomain = srcHost
	r.DestinationDomain = dstHost
	r.SourceNATIP, r.SourceNATPort = natEndpoint(f.natSrc, f.natSrcV6)
	r.DestinationNATIP, r.DestinationNATPort = natEndpoint(f.natDst, f.natDstV6)
	r.SourceMAC = parsers.Clean(f.srcMac)

	// sent/rcvd count from the initiator's side (Connection Opened logs the
	// SYN as sent).
	r.SourceBytes = parsers.ParseNum(f.sent)
	r.DestinationBytes = parsers.ParseNum(f.rcvd)
	r.SourcePackets = parsers.ParseNum(f.spkt)
	r.DestinationPackets = parsers.ParseNum(f.rpkt)
	if d := parsers.ParseNum(f.cdur); d.Set && d.V < 1<<40 {
		r.Duration = parsers.N(d.V * int64(time.Millisecond))
	} else if d := parsers.ParseNum(f.dur); d.Set && d.V < 1<<33 {
		r.Duration = parsers.N(d.V * int64(time.Second))
	}
	if tr, proto, ok := strings.Cut(f.proto, "/"); ok {
		r.NetworkTransport = parsers.Lower(tr)
		if proto != "" && (proto[0] < '0' || proto[0] > '9') {
			r.NetworkProtocol = parsers.Lower(proto)
		}
	} else {
		r.NetworkTransport = parsers.Lower(parsers.Clean(f.proto))
	}
	r.NetworkApplication = application(f.appName)
	r.AppCategory = parsers.Clean(f.appcat)
	r.RuleName = parsers.Clean(f.rule)
	r.ThreatName = parsers.Clean(f.ipscat)
	if u := f.usr; !strings.HasPrefix(u, "Unknown (") {
		parsers.SetUser(r, u)
	}

	switch c {
	case allowedConn, allowedWeb:
		r.Verdict = parsers.Allowed
	default:
		r.Verdict = parsers.Denied
	}
	r.Category = "network"
	if c == allowedWeb || c == deniedWeb {
		r.Category = "web"
		if d := parsers.Clean(f.dstname); d != "" {
			if !isAddr(d) {
				r.DestinationDomain = d
			}
			if arg := parsers.Clean(f.arg); arg != "" {
				parsers.SetURL(r, arg)
			}
			r.URLDomain = d
		}
		r.HTTPMethod = method(f.op)
		r.URLCategory = parsers.Clean(f.category)
	}
	r.EventAction = eventAction(f.fwAction, f.msg)
	if r.NetworkTransport == "icmp" || r.NetworkTransport == "icmpv6" {
		// SonicOS puts the ICMP type and code where the ports go.
		r.SourcePort, r.DestinationPort = parsers.Num{}, parsers.Num{}
	}

	if t, ok := parseTime(f.tm, m.Location); ok {
		r.Timestamp = t
	}
	return nil
}

// eventAction keeps the device's fw_action word; when it wrote none
// ("NA") the message name says what happened ("Connection Closed"), without
// the variable detail after ':' or ',' (signature names, reasons).
func eventAction(fwAction, msg string) string {
	if a := parsers.Clean(fwAction); a != "" && a != "NA" {
		return a
	}
	if i := strings.IndexAny(msg, ":,"); i >= 0 {
		msg = msg[:i]
	}
	return strings.TrimSpace(msg)
}

// application drops SonicOS's names for unidentified traffic, which are
// protocol or service names ("General HTTPS", "Service iMesh").
func application(a string) string {
	a = parsers.Clean(a)
	if strings.HasPrefix(a, "General ") || strings.HasPrefix(a, "Service ") {
		return ""
	}
	return a
}

// method maps the content filter op code: 1 GET, 2 POST, 3 HEAD.
func method(op string) string {
	switch op {
	case "1":
		return "GET"
	case "2":
		return "POST"
	case "3":
		return "HEAD"
	}
	return ""
}

func isAddr(s string) bool {
	if strings.IndexByte(s, ':') < 0 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; (c < '0' || c > '9') && c != '.' {
				return false
			}
		}
	}
	return parsers.ParseIP(s).IsValid()
}

// endpoint splits "ip:port:iface:host" (any part may be empty); for IPv6
// the address is in srcV6/dstV6 and src/dst start with ':'.
func endpoint(v, v6 string) (a netip.Addr, port parsers.Num, host string) {
	a = parsers.ParseIP(v6)
	if v == "" {
		return a, port, ""
	}
	if !a.IsValid() && strings.Count(v, ":") > 3 {
		// An IPv6 address written in place ("2001:db8::5:443:X0"):
		// split where a numeric port and an interface name follow.
		if a6, rest, ok := splitV6(v); ok {
			a = a6
			v = ":" + rest
		}
	}
	addr, rest, _ := strings.Cut(v, ":")
	p, rest, _ := strings.Cut(rest, ":")
	_, h, _ := strings.Cut(rest, ":") // interface, then host name
	if !a.IsValid() {
		a = parsers.ParseIP(addr)
	}
	port = parsers.ParsePort(p)
	if h != "" && !isAddr(h) {
		host = parsers.Clean(h)
	}
	return a, port, host
}

// splitV6 finds the IPv6 address at the start of "addr:port:iface[:host]"
// and returns it with "port:iface[:host]". The split is the one where the
// address parses, a numeric port follows and then a non-numeric interface.
func splitV6(v string) (netip.Addr, string, bool) {
	if strings.HasPrefix(v, "[") {
		if end := strings.IndexByte(v, ']'); end > 0 && end+1 < len(v) && v[end+1] == ':' {
			if a := parsers.ParseIP(v[1:end]); a.IsValid() {
				return a, v[end+2:], true
			}
		}
		return netip.Addr{}, "", false
	}
	for i := len(v) - 1; i > 0; i-- {
		if v[i] != ':' {
			continue
		}
		rest := v[i+1:]
		port, after, ok := strings.Cut(rest, ":")
		if !ok || !parsers.ParsePort(port).Set {
			continue
		}
		iface, _, _ := strings.Cut(after, ":")
		if iface == "" || parsers.ParseNum(iface).Set {
			continue
		}
		if a := parsers.ParseIP(v[:i]); a.IsValid() && a.Is6() {
			return a, rest, true
		}
	}
	return netip.Addr{}, "", false
}

// natEndpoint reads natSrc/natDst: "ip", "ip:port" or "[v6]:port".
func natEndpoint(v, v6 string) (netip.Addr, parsers.Num) {
	if a := parsers.ParseIP(v6); a.IsValid() {
		return a, parsers.Num{}
	}
	if strings.HasPrefix(v, "[") {
		if end := strings.IndexByte(v, ']'); end > 0 {
			port := parsers.Num{}
			if len(v) > end+2 && v[end+1] == ':' {
				port = parsers.ParsePort(v[end+2:])
			}
			return parsers.ParseIP(v[1:end]), port
		}
	}
	if strings.Count(v, ":") == 1 {
		a, p, _ := strings.Cut(v, ":")
		return parsers.ParseIP(a), parsers.ParsePort(p)
	}
	return parsers.ParseIP(v), parsers.Num{}
}

// parseTime reads time="YYYY-MM-DD HH:MM:SS[ UTC]"; without "UTC" it is
// the firewall's local time.
func parseTime(s string, loc *time.Location) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	if strings.HasSuffix(s, " UTC") {
		s = s[:len(s)-4]
		loc = time.UTC
	}
	if len(s) != 19 || s[4] != '-' || s[7] != '-' || s[10] != ' ' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	hh, ok4 := digits(s[11:13])
	mm, ok5 := digits(s[14:16])
	ss, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, hh, mm, ss, 0, loc), true
}

func digits(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, s != ""
}

// scanKV walks SonicOS pairs. Values may be double- or single-quoted
// (appName='General HTTPS') and are not escaped; words without '=' (a
// relay's address in front of "id=") are skipped.
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
			// A word without '=' (or a stray '='): skip it.
			for i < len(s) && s[i] != ' ' {
				i++
			}
			continue
		}
		key := s[ks:i]
		i++ // '='
		if i < len(s) && (s[i] == '"' || s[i] == '\'') {
			q := s[i]
			end := closingQuote(s, i+1, q)
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

// closingQuote finds the quote that closes a value: the next q followed by
// a space or the end (so an apostrophe inside 'It's' does not end it), or
// failing that the next q, or the end of the line.
func closingQuote(s string, from int, q byte) int {
	first := -1
	for j := from; j < len(s); j++ {
		if s[j] != q {
			continue
		}
		if first < 0 {
			first = j
		}
		if j+1 == len(s) || s[j+1] == ' ' {
			return j
		}
	}
	if first >= 0 {
		return first
	}
	return len(s)
}

// detect scores SonicOS lines by their fixed leading keys.
func detect(body string, _ *parsers.Header) int {
	if !parsers.HasKVKeys(body, "id", "sn", "time", "fw", "pri") {
		return 0
	}
	if strings.Contains(body, "id=firewall ") {
		return 95
	}
	return 85
}
