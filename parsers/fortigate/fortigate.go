// Package fortigate parses Fortinet FortiGate (FortiOS) logs: the native
// key=value syslog form (space- or comma-separated, quoted or not) and the
// CEF form FortiOS emits with "set format cef".
package fortigate

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

const (
	vendor  = "Fortinet"
	product = "FortiGate"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        "fortigate",
		Vendor:      vendor,
		Product:     product,
		Description: "FortiOS traffic and UTM logs (key=value syslog, CSV or CEF)",
		New:         newParser,
		Detect:      detect,
	})
}

// errNotFortiGate is wrapped for lines that are not FortiOS logs at all.
var errNotFortiGate = errors.New("fortigate: not a FortiOS log line")

type parser struct {
	loc   *time.Location
	zones parsers.ZoneCache
}

var _ parsers.Parser = (*parser)(nil)

func newParser(o parsers.Options) (parsers.Parser, error) {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	return &parser{loc: loc}, nil
}

// fields holds the raw values of one line; the native and CEF forms both
// fill it, so the mapping rules live in one place (build).
type fields struct {
	date, clock, tz, eventtime           string
	typ, subtype, action, utmaction      string
	srcip, srcport, dstip, dstport       string
	srcname, srcmac, dstname, hostname   string
	proto, service, app, appid           string
	appcat, apprisk, url, httpmethod     string
	user, unauthuser, devname, devid     string
	sentbyte, rcvdbyte, sentpkt, rcvdpkt string
	duration, transip, transport         string
	tranip, tranport, policyname         string
	catdesc, agent, referralurl, qname   string
	virus, attack, sni                   string
	hasLogID                             bool
}

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	var f fields
	body := strings.TrimLeft(line, " \t")
	switch {
	case isCEF(body, &m.Header):
		if err := scanCEFLine(body, &f); err != nil {
			return err
		}
	default:
		if !looksKV(body) {
			return fmt.Errorf("%w: no key=value pairs", errNotFortiGate)
		}
		scanNative(body, &f)
	}
	return p.build(&f, m, r)
}

// looksKV reports whether body starts with a key=value pair.
func looksKV(s string) bool {
	for i := 0; i < len(s) && i < 64; i++ {
		c := s[i]
		if c == '=' {
			return i > 0
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return false
}

// separator tells the default space-separated form from "set format csv",
// which separates the same pairs with commas.
func separator(s string) byte {
	eq := strings.IndexByte(s, '=')
	if eq < 0 || eq+1 >= len(s) {
		return ' '
	}
	v := s[eq+1:]
	if len(v) > 0 && v[0] == '"' {
		if end := strings.IndexByte(v[1:], '"'); end >= 0 && end+2 < len(v) {
			if v[end+2] == ',' {
				return ','
			}
		}
		return ' '
	}
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case ' ':
			return ' '
		case ',':
			return ','
		}
	}
	return ' '
}

func scanNative(body string, f *fields) {
	// The method value is ScanKV's callback itself: no wrapper call per pair.
	parsers.ScanKV(body, separator(body), f.set)
}

// set stores one native FortiOS key; unknown keys are ignored. It always
// asks ScanKV for the next pair.
func (f *fields) set(k, v string) bool {
	switch k {
	case "date":
		f.date = v
	case "time":
		f.clock = v
	case "tz":
		// FortiAnalyzer-relayed logs may carry tz twice; the first is the
		// device's.
		if f.tz == "" {
			f.tz = v
		}
	case "eventtime":
		f.eventtime = v
	case "logid":
		f.hasLogID = true
	case "type":
		f.typ = v
	case "subtype":
		f.subtype = v
	case "action":
		f.action = v
	case "utmaction":
		f.utmaction = v
	case "srcip":
		f.srcip = v
	case "srcport":
		f.srcport = v
	case "dstip":
		f.dstip = v
	case "dstport":
		f.dstport = v
	case "srcname":
		f.srcname = v
	case "srcmac":
		f.srcmac = v
	case "dstname":
		f.dstname = v
	case "hostname":
		f.hostname = v
	case "proto":
		f.proto = v
	case "service":
		f.service = v
	case "app":
		f.app = v
	case "appid":
		f.appid = v
	case "appcat":
		f.appcat = v
	case "apprisk":
		f.apprisk = v
	case "url":
		f.url = v
	case "httpmethod":
		f.httpmethod = v
	case "user":
		f.user = v
	case "unauthuser":
		f.unauthuser = v
	case "devname":
		f.devname = v
	case "devid":
		f.devid = v
	case "sentbyte":
		f.sentbyte = v
	case "rcvdbyte":
		f.rcvdbyte = v
	case "sentpkt":
		f.sentpkt = v
	case "rcvdpkt":
		f.rcvdpkt = v
	case "duration":
		f.duration = v
	case "transip":
		f.transip = v
	case "transport":
		f.transport = v // the source NAT port, not a protocol
	case "tranip":
		f.tranip = v
	case "tranport":
		f.tranport = v
	case "policyname":
		f.policyname = v
	case "catdesc":
		f.catdesc = v
	case "agent":
		f.agent = v
	case "referralurl":
		f.referralurl = v
	case "qname":
		f.qname = v
	case "virus":
		f.virus = v
	case "attack":
		f.attack = v
	case "sni":
		f.sni = v
	}
	return true
}

func (p *parser) build(f *fields, m *parsers.Meta, r *parsers.Record) error {
	if f.typ == "" {
		if !f.hasLogID {
			return fmt.Errorf("%w: no type or logid field", errNotFortiGate)
		}
		return errors.New("fortigate: log without a type field")
	}
	switch f.typ {
	case "traffic":
		r.Category = "network"
	case "utm", "dns", "anomaly":
		r.Category = "network"
		if f.subtype == "webfilter" {
			r.Category = "web"
		}
	case "event":
		return fmt.Errorf("%w: fortigate event log (subtype %s)", parsers.ErrSkip, f.subtype)
	default:
		return fmt.Errorf("%w: fortigate %s log", parsers.ErrSkip, f.typ)
	}
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	r.ObserverHostname = parsers.Clean(f.devname)
	r.ObserverSerial = parsers.Clean(f.devid)

	r.SourceIP = parsers.ParseIP(f.srcip)
	r.DestinationIP = parsers.ParseIP(f.dstip)
	if !r.SourceIP.IsValid() && !r.DestinationIP.IsValid() {
		return fmt.Errorf("fortigate: %s log without srcip/dstip", f.typ)
	}
	r.SourcePort = parsers.ParsePort(f.srcport)
	r.DestinationPort = parsers.ParsePort(f.dstport)
	r.SourceMAC = parsers.Clean(f.srcmac)
	if !isAddr(f.srcname) {
		r.SourceDomain = parsers.Clean(f.srcname)
	}
	r.SourceNATIP = parsers.ParseIP(f.transip)
	r.SourceNATPort = parsers.ParsePort(f.transport)
	r.DestinationNATIP = parsers.ParseIP(f.tranip)
	r.DestinationNATPort = parsers.ParsePort(f.tranport)

	// sentbyte is what the source (the initiator) sent.
	r.SourceBytes = parsers.ParseNum(f.sentbyte)
	r.DestinationBytes = parsers.ParseNum(f.rcvdbyte)
	r.SourcePackets = parsers.ParseNum(f.sentpkt)
	r.DestinationPackets = parsers.ParseNum(f.rcvdpkt)
	if d := parsers.ParseNum(f.duration); d.Set && d.V < 1<<33 {
		r.Duration = parsers.N(d.V * int64(time.Second))
	}

	r.NetworkTransport = transport(f.proto)
	r.NetworkProtocol = serviceProtocol(f.service)
	if app := parsers.Clean(f.app); app != "" && f.appcat != "unscanned" &&
		!(strings.EqualFold(app, f.service) && (f.appid == "" || f.appid == "0")) {
		r.NetworkApplication = app
	}
	if f.appcat != "unscanned" {
		r.AppCategory = parsers.Clean(f.appcat)
	}
	r.AppRisk = parsers.Clean(f.apprisk)

	host := parsers.Clean(f.hostname)
	if host == "" {
		host = parsers.Clean(f.sni) // SSL inspection logs name the server by SNI
	}
	if host == "" && !isAddr(f.dstname) {
		host = parsers.Clean(f.dstname)
	}
	if host != "" && !isAddr(host) {
		r.DestinationDomain = host
	}
	if u := parsers.Clean(f.url); u != "" {
		parsers.SetURL(r, u)
		if r.URLDomain == "" && host != "" {
			// Webfilter logs carry the path in url and the host in hostname.
			r.URLDomain = host
		}
	}
	if m := parsers.Clean(f.httpmethod); m != "" {
		r.HTTPMethod = strings.ToUpper(m)
	}
	r.UserAgent = parsers.Clean(f.agent)
	r.HTTPReferrer = parsers.Clean(f.referralurl)
	r.URLCategory = parsers.Clean(f.catdesc)

	if parsers.Clean(f.user) != "" {
		parsers.SetUser(r, f.user)
	} else {
		parsers.SetUser(r, f.unauthuser)
	}
	r.RuleName = parsers.Clean(f.policyname)
	if t := parsers.Clean(f.virus); t != "" {
		r.ThreatName = t
	} else {
		r.ThreatName = parsers.Clean(f.attack)
	}
	r.AddLabel("dns_question", parsers.Clean(f.qname))

	r.EventAction = f.action
	r.Verdict = verdict(f.action)
	switch {
	case f.typ == "traffic" && r.Verdict == parsers.VerdictUnknown && parsers.Clean(f.action) != "":
		// FortiOS Log Message Reference, traffic "action": deny = blocked by
		// policy; start = session start (allowed); all others = allowed by
		// policy, the word says how the session ended.
		r.Verdict = parsers.Allowed
	case f.typ == "utm" && f.subtype == "dns" && parsers.Lower(f.action) == "redirect":
		// DNS filter answered with the block portal address instead.
		r.Verdict = parsers.Denied
	case r.EventAction == "" && f.typ == "utm":
		r.EventAction = f.utmaction
		r.Verdict = verdict(f.utmaction)
	}

	if t, ok := p.timestamp(f, m); ok {
		r.Timestamp = t
	}
	return nil
}

// isAddr reports whether s is an IP address (FortiOS puts addresses in name
// fields when it has no name).
func isAddr(s string) bool {
	if s == "" {
		return false
	}
	// Cheap pre-check: a failed netip parse allocates its error.
	v6 := strings.IndexByte(s, ':') >= 0
	if !v6 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; (c < '0' || c > '9') && c != '.' {
				return false
			}
		}
	}
	return parsers.ParseIP(s).IsValid()
}

// verdict maps FortiOS action words. Traffic logs say how an allowed
// session ended (close, timeout, client-rst, server-rst...); UTM logs say
// what the profile did.
func verdict(a string) parsers.Verdict {
	switch parsers.Lower(a) {
	case "accept", "close", "timeout", "client-rst", "server-rst", "start", "ip-conn", "dns",
		"pass", "passthrough", "allow", "allowed", "monitor", "monitored", "log-only",
		"detected", "exempt", "exempted", "permit":
		return parsers.Allowed
	case "deny", "denied", "block", "blocked", "reset", "drop", "dropped", "reject",
		"clear_session", "blocked-by-policy":
		return parsers.Denied
	}
	return parsers.VerdictUnknown
}

// transport names the IANA protocol number FortiOS logs in proto.
func transport(proto string) string {
	switch proto {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "ipv6-icmp"
	case "132":
		return "sctp"
	case "47":
		return "gre"
	case "50":
		return "esp"
	case "51":
		return "ah"
	}
	return ""
}

// serviceProtocol maps the well-known predefined FortiOS service objects to
// their application protocol. Custom service names say nothing reliable and
// are left out (they are never an application either).
func serviceProtocol(s string) string {
	switch s {
	case "HTTP":
		return "http"
	case "HTTPS":
		return "https"
	case "DNS":
		return "dns"
	case "SSH":
		return "ssh"
	case "FTP":
		return "ftp"
	case "SMTP":
		return "smtp"
	case "SMTPS":
		return "smtps"
	case "IMAP":
		return "imap"
	case "IMAPS":
		return "imaps"
	case "POP3":
		return "pop3"
	case "POP3S":
		return "pop3s"
	case "NTP":
		return "ntp"
	case "RDP":
		return "rdp"
	case "SNMP":
		return "snmp"
	case "LDAP":
		return "ldap"
	case "TELNET":
		return "telnet"
	case "SAMBA", "SMB":
		return "smb"
	case "QUIC":
		return "quic"
	}
	return ""
}

// timestamp picks the event time: eventtime (an absolute epoch in s, µs or
// ns) first, else date+time read in tz or the source's zone.
func (p *parser) timestamp(f *fields, m *parsers.Meta) (time.Time, bool) {
	loc := m.Location
	if loc == nil {
		loc = p.loc
	}
	if off, ok := parseTZ(f.tz); ok {
		loc = p.zones.Get(off)
	}
	if t, ok := parseEventTime(f.eventtime); ok {
		return t.In(loc), true
	}
	y, mo, d, ok := parseDate(f.date)
	if !ok {
		return time.Time{}, false
	}
	hh, mm, ss, ok := parseClock(f.clock)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, hh, mm, ss, 0, loc), true
}

// parseEventTime reads eventtime, whose unit depends on the FortiOS version:
// seconds (6.2), microseconds or nanoseconds (6.4+, 19 digits, which
// parsers.ParseEpoch cannot hold). Values before 2000 are not event times.
func parseEventTime(s string) (time.Time, bool) {
	if s == "" || len(s) > 19 {
		return time.Time{}, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return time.Time{}, false
		}
		n = n*10 + uint64(c-'0')
	}
	var t time.Time
	switch {
	case n < 1e11:
		t = time.Unix(int64(n), 0)
	case n < 1e14:
		t = time.UnixMilli(int64(n))
	case n < 1e17:
		t = time.UnixMicro(int64(n))
	case n <= 1<<63-1:
		t = time.Unix(0, int64(n))
	default:
		return time.Time{}, false
	}
	if t.Year() < 2000 {
		return time.Time{}, false
	}
	return t, true
}

// parseDate reads YYYY-MM-DD (FortiOS also writes YYYY/MM/DD in some exports).
func parseDate(s string) (y, mo, d int, ok bool) {
	if len(s) != 10 || (s[4] != '-' && s[4] != '/') || s[7] != s[4] {
		return 0, 0, 0, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return 0, 0, 0, false
	}
	return y, mo, d, true
}

// parseClock reads HH:MM:SS.
func parseClock(s string) (hh, mm, ss int, ok bool) {
	if len(s) != 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, false
	}
	hh, ok1 := digits(s[0:2])
	mm, ok2 := digits(s[3:5])
	ss, ok3 := digits(s[6:8])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, 0, false
	}
	return hh, mm, ss, true
}

func digits(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

// parseTZ reads the tz field: "+0100", "-0500", "+05:30", "UTC+2:00",
// "GMT-5", "UTC". It returns the offset in seconds east of UTC.
func parseTZ(s string) (int, bool) {
	if s == "" {
		return 0, false
	}
	if len(s) >= 3 && (strings.EqualFold(s[:3], "UTC") || strings.EqualFold(s[:3], "GMT")) {
		s = s[3:]
		if s == "" {
			return 0, true
		}
	}
	if len(s) < 2 || (s[0] != '+' && s[0] != '-') {
		return 0, false
	}
	sign := 1
	if s[0] == '-' {
		sign = -1
	}
	s = s[1:]
	var h, mi int
	var ok bool
	switch {
	case len(s) == 4 && !strings.ContainsRune(s, ':'):
		h, ok = digits(s[:2])
		if ok {
			mi, ok = digits(s[2:])
		}
	case strings.IndexByte(s, ':') > 0:
		i := strings.IndexByte(s, ':')
		h, ok = digits(s[:i])
		if ok {
			mi, ok = digits(s[i+1:])
		}
	case len(s) <= 2:
		h, ok = digits(s)
	}
	if !ok || h > 14 || mi > 59 {
		return 0, false
	}
	return sign * (h*3600 + mi*60), true
}

// detect scores FortiOS lines: the native form by its logid/type/devid keys,
// the CEF form by its Fortinet|Fortigate vendor fields.
func detect(body string, h *parsers.Header) int {
	body = strings.TrimLeft(body, " \t") // Parse tolerates "<189> date=..." too
	if isCEF(body, h) {
		return 95
	}
	if !looksKV(body) || !parsers.HasKVKeys(body, "logid", "type") {
		return 0
	}
	if i := strings.Index(body, "devid="); i >= 0 {
		v := body[i+6:]
		if len(v) > 0 && v[0] == '"' {
			v = v[1:]
		}
		// FortiGate (FG, FGT, FGVM, FGR rugged), FortiWiFi, FortiFirewall.
		if strings.HasPrefix(v, "FG") || strings.HasPrefix(v, "FWF") || strings.HasPrefix(v, "FFW") {
			return 95
		}
		return 60 // another Fortinet product in the same syntax
	}
	if parsers.HasKVKeys(body, "subtype", "date", "time") {
		return 85
	}
	return 50
}
