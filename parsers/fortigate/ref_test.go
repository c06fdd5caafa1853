package fortigate

// The FortiGate parser as it was before the session 10 speed work, kept as
// the oracle of the equivalence tests and the baseline of the benchmarks.
// Generated from fortigate.go and cef.go with every top-level name
// prefixed "ref". It calls today's parsers.ScanKV and parsers.ParseIP,
// which the parsers package checks against its own copies of the old ones.

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

const (
	refVendor  = "Fortinet"
	refProduct = "FortiGate"
)

// refErrNotFortiGate is wrapped for lines that are not FortiOS logs at all.
var refErrNotFortiGate = errors.New("fortigate: not a FortiOS log line")

type refParser struct {
	loc   *time.Location
	zones parsers.ZoneCache
}

// refFields holds the raw values of one line; the native and CEF forms both
// fill it, so the mapping rules live in one place (build).
type refFields struct {
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

func (p *refParser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	var f refFields
	body := strings.TrimLeft(line, " \t")
	switch {
	case refIsCEF(body, &m.Header):
		if err := refScanCEFLine(body, &f); err != nil {
			return err
		}
	default:
		if !refLooksKV(body) {
			return fmt.Errorf("%w: no key=value pairs", refErrNotFortiGate)
		}
		refScanNative(body, &f)
	}
	return p.build(&f, m, r)
}

// refLooksKV reports whether body starts with a key=value pair.
func refLooksKV(s string) bool {
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

// refSeparator tells the default space-separated form from "set format csv",
// which separates the same pairs with commas.
func refSeparator(s string) byte {
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

func refScanNative(body string, f *refFields) {
	// The method value is ScanKV's callback itself: no wrapper call per pair.
	parsers.ScanKV(body, refSeparator(body), f.set)
}

// set stores one native FortiOS key; unknown keys are ignored. It always
// asks ScanKV for the next pair.
func (f *refFields) set(k, v string) bool {
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

func (p *refParser) build(f *refFields, m *parsers.Meta, r *parsers.Record) error {
	if f.typ == "" {
		if !f.hasLogID {
			return fmt.Errorf("%w: no type or logid field", refErrNotFortiGate)
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
	r.ObserverVendor = refVendor
	r.ObserverProduct = refProduct
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
	if !refIsAddr(f.srcname) {
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

	r.NetworkTransport = refTransport(f.proto)
	r.NetworkProtocol = refServiceProtocol(f.service)
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
	if host == "" && !refIsAddr(f.dstname) {
		host = parsers.Clean(f.dstname)
	}
	if host != "" && !refIsAddr(host) {
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
	r.Verdict = refVerdict(f.action)
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
		r.Verdict = refVerdict(f.utmaction)
	}

	if t, ok := p.timestamp(f, m); ok {
		r.Timestamp = t
	}
	return nil
}

// refIsAddr reports whether s is an IP address (FortiOS puts addresses in name
// fields when it has no name).
func refIsAddr(s string) bool {
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

// refVerdict maps FortiOS action words. Traffic logs say how an allowed
// session ended (close, timeout, client-rst, server-rst...); UTM logs say
// what the profile did.
func refVerdict(a string) parsers.Verdict {
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

// refTransport names the IANA protocol number FortiOS logs in proto.
func refTransport(proto string) string {
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

// refServiceProtocol maps the well-known predefined FortiOS service objects to
// their application protocol. Custom service names say nothing reliable and
// are left out (they are never an application either).
func refServiceProtocol(s string) string {
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
func (p *refParser) timestamp(f *refFields, m *parsers.Meta) (time.Time, bool) {
	loc := m.Location
	if loc == nil {
		loc = p.loc
	}
	if off, ok := refParseTZ(f.tz); ok {
		loc = p.zones.Get(off)
	}
	if t, ok := refParseEventTime(f.eventtime); ok {
		return t.In(loc), true
	}
	y, mo, d, ok := refParseDate(f.date)
	if !ok {
		return time.Time{}, false
	}
	hh, mm, ss, ok := refParseClock(f.clock)
	if !ok {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, hh, mm, ss, 0, loc), true
}

// refParseEventTime reads eventtime, whose unit depends on the FortiOS version:
// seconds (6.2), microseconds or nanoseconds (6.4+, 19 digits, which
// parsers.ParseEpoch cannot hold). Values before 2000 are not event times.
func refParseEventTime(s string) (time.Time, bool) {
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

// refParseDate reads YYYY-MM-DD (FortiOS also writes YYYY/MM/DD in some exports).
func refParseDate(s string) (y, mo, d int, ok bool) {
	if len(s) != 10 || (s[4] != '-' && s[4] != '/') || s[7] != s[4] {
		return 0, 0, 0, false
	}
	y, ok1 := refDigits(s[0:4])
	mo, ok2 := refDigits(s[5:7])
	d, ok3 := refDigits(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return 0, 0, 0, false
	}
	return y, mo, d, true
}

// refParseClock reads HH:MM:SS.
func refParseClock(s string) (hh, mm, ss int, ok bool) {
	if len(s) != 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, false
	}
	hh, ok1 := refDigits(s[0:2])
	mm, ok2 := refDigits(s[3:5])
	ss, ok3 := refDigits(s[6:8])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, 0, false
	}
	return hh, mm, ss, true
}

func refDigits(s string) (int, bool) {
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

// refParseTZ reads the tz field: "+0100", "-0500", "+05:30", "UTC+2:00",
// "GMT-5", "UTC". It returns the offset in seconds east of UTC.
func refParseTZ(s string) (int, bool) {
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
		h, ok = refDigits(s[:2])
		if ok {
			mi, ok = refDigits(s[2:])
		}
	case strings.IndexByte(s, ':') > 0:
		i := strings.IndexByte(s, ':')
		h, ok = refDigits(s[:i])
		if ok {
			mi, ok = refDigits(s[i+1:])
		}
	case len(s) <= 2:
		h, ok = refDigits(s)
	}
	if !ok || h > 14 || mi > 59 {
		return 0, false
	}
	return sign * (h*3600 + mi*60), true
}

// FortiOS "set format cef" (FortiOS Log Message Reference, "FortiOS to CEF
// log field mapping guidelines"): header CEF:0|Fortinet|Fortigate|ver|
// logid|type:subtype ...|level|, then an extension where FortiOS fields
// with a CEF equivalent use the CEF key (srcip→src, sentbyte→out,
// rcvdbyte→in, user→duser, service→app, hostname→dhost, catdesc→
// requestContext...) and every other field keeps its name behind the
// FTNTFGT prefix (FTNTFGTapp is the application). Values are unquoted;
// '=' and '\' inside values are backslash-escaped.

// refCefBody returns what follows "CEF:" (a syslog relay may have split
// "CEF:" off as the RFC 3164 tag).
func refCefBody(body string, h *parsers.Header) (string, bool) {
	if strings.HasPrefix(body, "CEF:") {
		return strings.TrimLeft(body[4:], " "), true
	}
	if h != nil && h.AppName == "CEF" && len(body) > 1 && body[0] >= '0' && body[0] <= '9' {
		return body, true
	}
	return "", false
}

// refIsCEF reports whether body is a FortiGate CEF record (vendor Fortinet,
// product Fortigate); other vendors' CEF is not ours.
func refIsCEF(body string, h *parsers.Header) bool {
	s, ok := refCefBody(body, h)
	if !ok {
		return false
	}
	// version|vendor|product|
	i := strings.IndexByte(s, '|')
	if i < 0 || i > 3 {
		return false
	}
	s = s[i+1:]
	j := strings.IndexByte(s, '|')
	if j < 0 || !strings.EqualFold(s[:j], "Fortinet") {
		return false
	}
	s = s[j+1:]
	k := strings.IndexByte(s, '|')
	return k >= 0 && strings.EqualFold(s[:k], "Fortigate")
}

var refErrCEFHeader = errors.New("fortigate: truncated CEF header")

// refScanCEFLine fills f from a FortiGate CEF record.
func refScanCEFLine(body string, f *refFields) error {
	s, _ := refCefBody(body, nil)
	if s == "" {
		s = body // header tag form: the caller checked refIsCEF
	}
	// Skip the seven header fields (|-separated, "\|" escaped).
	n := 0
	i := 0
	for ; i < len(s) && n < 7; i++ {
		switch s[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	if n < 7 {
		return refErrCEFHeader
	}
	// FortiOS 5.6 sent some counters as labelled custom numbers
	// ("cn1=7 cn1Label=Duration").
	var cn, cnLabel [4]string
	refScanCEFExt(s[i:], func(k, v string) {
		if len(k) >= 3 && k[0] == 'c' && k[1] == 'n' && k[2] >= '1' && k[2] <= '3' {
			switch k[3:] {
			case "":
				cn[k[2]-'0'] = v
				return
			case "Label":
				cnLabel[k[2]-'0'] = v
				return
			}
		}
		switch k {
		case "deviceExternalId":
			f.devid = v
		case "dvchost":
			f.devname = v
		case "cat":
			typ, sub, _ := strings.Cut(v, ":")
			f.typ = typ
			if f.subtype == "" {
				f.subtype = sub
			}
		case "src", "c6a2":
			f.srcip = v
		case "spt":
			f.srcport = v
		case "dst", "c6a3":
			f.dstip = v
		case "dpt":
			f.dstport = v
		case "shost":
			f.srcname = v
		case "smac":
			f.srcmac = v
		case "dhost":
			f.hostname = v
		case "proto":
			f.proto = v
		case "app":
			f.service = v // FortiOS maps service, not the application, to app
		case "act":
			f.action = v
		case "duser":
			f.user = v
		case "out":
			f.sentbyte = v
		case "in":
			f.rcvdbyte = v
		case "sourceTranslatedAddress":
			f.transip = v
		case "sourceTranslatedPort":
			f.transport = v
		case "destinationTranslatedAddress":
			f.tranip = v
		case "destinationTranslatedPort":
			f.tranport = v
		case "request":
			f.url = v
		case "requestMethod":
			f.httpmethod = v
		case "requestClientApplication":
			f.agent = v
		case "requestContext":
			f.catdesc = v
		default:
			if len(k) > 7 && k[:7] == "FTNTFGT" {
				k = k[7:]
				if k == "subtype" {
					f.subtype = v
					return
				}
				f.set(k, v)
			}
		}
	})
	for i := 1; i <= 3; i++ {
		switch cnLabel[i] {
		case "Duration":
			if f.duration == "" {
				f.duration = cn[i]
			}
		case "Packets Sent":
			if f.sentpkt == "" {
				f.sentpkt = cn[i]
			}
		case "Packets Received":
			if f.rcvdpkt == "" {
				f.rcvdpkt = cn[i]
			}
		}
	}
	return nil
}

// refScanCEFExt walks a CEF extension: a key is the word before '=', a value
// runs to the last space before the next key. "\=" and "\\" (and the "\n",
// "\r" and "\/" some devices write) are unescaped.
func refScanCEFExt(s string, fn func(k, v string)) {
	s = strings.TrimLeft(s, " ")
	// eq is the '=' of the next key when finding the previous value's end
	// already located (and validated) it, so keys are not scanned twice.
	eq := -1
	for len(s) > 0 {
		if eq < 0 {
			eq = refUnescapedEq(s, 0)
			if eq <= 0 || !refValidKey(s[:eq]) {
				return
			}
		}
		key := s[:eq]
		vs := eq + 1
		end := len(s)
		next := len(s)
		eq = -1
		for from := vs; ; {
			e := refUnescapedEq(s, from)
			if e < 0 {
				break
			}
			sp := strings.LastIndexByte(s[vs:e], ' ')
			if sp >= 0 && refValidKey(s[vs+sp+1:e]) {
				end, next = vs+sp, vs+sp+1
				eq = e - next
				break
			}
			from = e + 1
		}
		fn(key, refCefUnescape(strings.TrimRight(s[vs:end], " ")))
		s = s[next:]
	}
}

func refUnescapedEq(s string, from int) int {
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '=':
			return i
		}
	}
	return -1
}

func refValidKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func refCefUnescape(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '=', '\\', '/', '|':
				b.WriteByte(v[i+1])
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
