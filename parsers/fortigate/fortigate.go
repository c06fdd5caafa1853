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
	keys  keySeq
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
// fill it, so the mapping rules live in one place (build). Values sit in
// an array indexed by slot, so the native scanner stores a value by the
// slot its key table gives, without comparing the key again.
type fields struct {
	v        [nSlots]string
	hasLogID bool
}

// The slots of fields.v, one per FortiOS key that build reads. fTZ and
// fLogID come first: put treats them specially.
const (
	fTZ = iota
	fLogID
	fDate
	fClock
	fEventTime
	fType
	fSubtype
	fAction
	fUTMAction
	fSrcIP
	fSrcPort
	fDstIP
	fDstPort
	fSrcName
	fSrcMAC
	fDstName
	fHostname
	fProto
	fService
	fApp
	fAppID
	fAppCat
	fAppRisk
	fURL
	fHTTPMethod
	fUser
	fUnauthUser
	fDevName
	fDevID
	fSentByte
	fRcvdByte
	fSentPkt
	fRcvdPkt
	fDuration
	fTransIP
	fTransPort
	fTranIP
	fTranPort
	fPolicyName
	fCatDesc
	fAgent
	fReferralURL
	fQName
	fVirus
	fAttack
	fSNI
	nSlots

	noSlot = 0xff // a key build does not read
)

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	var f fields
	body := trimBlank(line)
	switch {
	case isCEF(body, &m.Header):
		if err := scanCEFLine(body, &f); err != nil {
			return err
		}
	default:
		if !looksKV(body) {
			return fmt.Errorf("%w: no key=value pairs", errNotFortiGate)
		}
		p.keys.scan(body, separator(body), &f)
	}
	return p.build(&f, m, r)
}

// trimBlank is strings.TrimLeft(s, " \t") without building a cutset per
// call.
func trimBlank(s string) string {
	for len(s) > 0 && (s[0] == ' ' || s[0] == '\t') {
		s = s[1:]
	}
	return s
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

// set stores one native FortiOS key; unknown keys are ignored.
func (f *fields) set(k, v string) { f.put(keySlot(k), v) }

// put stores v in slot s (noSlot: nowhere).
func (f *fields) put(s uint8, v string) {
	if s <= fLogID {
		switch s {
		case fTZ:
			// FortiAnalyzer-relayed logs may carry tz twice; the first is
			// the device's.
			if f.v[fTZ] != "" {
				return
			}
		case fLogID:
			f.hasLogID = true
		}
	}
	if s < nSlots {
		f.v[s] = v
	}
}

// keySlot returns the slot of a native FortiOS key, or noSlot.
func keySlot(k string) uint8 {
	switch k {
	case "tz":
		return fTZ
	case "logid":
		return fLogID
	case "date":
		return fDate
	case "time":
		return fClock
	case "eventtime":
		return fEventTime
	case "type":
		return fType
	case "subtype":
		return fSubtype
	case "action":
		return fAction
	case "utmaction":
		return fUTMAction
	case "srcip":
		return fSrcIP
	case "srcport":
		return fSrcPort
	case "dstip":
		return fDstIP
	case "dstport":
		return fDstPort
	case "srcname":
		return fSrcName
	case "srcmac":
		return fSrcMAC
	case "dstname":
		return fDstName
	case "hostname":
		return fHostname
	case "proto":
		return fProto
	case "service":
		return fService
	case "app":
		return fApp
	case "appid":
		return fAppID
	case "appcat":
		return fAppCat
	case "apprisk":
		return fAppRisk
	case "url":
		return fURL
	case "httpmethod":
		return fHTTPMethod
	case "user":
		return fUser
	case "unauthuser":
		return fUnauthUser
	case "devname":
		return fDevName
	case "devid":
		return fDevID
	case "sentbyte":
		return fSentByte
	case "rcvdbyte":
		return fRcvdByte
	case "sentpkt":
		return fSentPkt
	case "rcvdpkt":
		return fRcvdPkt
	case "duration":
		return fDuration
	case "transip":
		return fTransIP
	case "transport":
		return fTransPort // the source NAT port, not a protocol
	case "tranip":
		return fTranIP
	case "tranport":
		return fTranPort
	case "policyname":
		return fPolicyName
	case "catdesc":
		return fCatDesc
	case "agent":
		return fAgent
	case "referralurl":
		return fReferralURL
	case "qname":
		return fQName
	case "virus":
		return fVirus
	case "attack":
		return fAttack
	case "sni":
		return fSNI
	}
	return noSlot
}

func (p *parser) build(f *fields, m *parsers.Meta, r *parsers.Record) error {
	if f.v[fType] == "" {
		if !f.hasLogID {
			return fmt.Errorf("%w: no type or logid field", errNotFortiGate)
		}
		return errors.New("fortigate: log without a type field")
	}
	switch f.v[fType] {
	case "traffic":
		r.Category = "network"
	case "utm", "dns", "anomaly":
		r.Category = "network"
		if f.v[fSubtype] == "webfilter" {
			r.Category = "web"
		}
	case "event":
		return fmt.Errorf("%w: fortigate event log (subtype %s)", parsers.ErrSkip, f.v[fSubtype])
	default:
		return fmt.Errorf("%w: fortigate %s log", parsers.ErrSkip, f.v[fType])
	}
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	r.ObserverHostname = parsers.Clean(f.v[fDevName])
	r.ObserverSerial = parsers.Clean(f.v[fDevID])

	r.SourceIP = parsers.ParseIP(f.v[fSrcIP])
	r.DestinationIP = parsers.ParseIP(f.v[fDstIP])
	if !r.SourceIP.IsValid() && !r.DestinationIP.IsValid() {
		return fmt.Errorf("fortigate: %s log without srcip/dstip", f.v[fType])
	}
	r.SourcePort = parsers.ParsePort(f.v[fSrcPort])
	r.DestinationPort = parsers.ParsePort(f.v[fDstPort])
	r.SourceMAC = parsers.Clean(f.v[fSrcMAC])
	if !isAddr(f.v[fSrcName]) {
		r.SourceDomain = parsers.Clean(f.v[fSrcName])
	}
	r.SourceNATIP = parsers.ParseIP(f.v[fTransIP])
	r.SourceNATPort = parsers.ParsePort(f.v[fTransPort])
	r.DestinationNATIP = parsers.ParseIP(f.v[fTranIP])
	r.DestinationNATPort = parsers.ParsePort(f.v[fTranPort])

	// sentbyte is what the source (the initiator) sent.
	r.SourceBytes = parsers.ParseNum(f.v[fSentByte])
	r.DestinationBytes = parsers.ParseNum(f.v[fRcvdByte])
	r.SourcePackets = parsers.ParseNum(f.v[fSentPkt])
	r.DestinationPackets = parsers.ParseNum(f.v[fRcvdPkt])
	if d := parsers.ParseNum(f.v[fDuration]); d.Set && d.V < 1<<33 {
		r.Duration = parsers.N(d.V * int64(time.Second))
	}

	r.NetworkTransport = transport(f.v[fProto])
	r.NetworkProtocol = serviceProtocol(f.v[fService])
	if app := parsers.Clean(f.v[fApp]); app != "" && f.v[fAppCat] != "unscanned" &&
		!(strings.EqualFold(app, f.v[fService]) && (f.v[fAppID] == "" || f.v[fAppID] == "0")) {
		r.NetworkApplication = app
	}
	if f.v[fAppCat] != "unscanned" {
		r.AppCategory = parsers.Clean(f.v[fAppCat])
	}
	r.AppRisk = parsers.Clean(f.v[fAppRisk])

	host := parsers.Clean(f.v[fHostname])
	if host == "" {
		host = parsers.Clean(f.v[fSNI]) // SSL inspection logs name the server by SNI
	}
	if host == "" && !isAddr(f.v[fDstName]) {
		host = parsers.Clean(f.v[fDstName])
	}
	if host != "" && !isAddr(host) {
		r.DestinationDomain = host
	}
	if u := parsers.Clean(f.v[fURL]); u != "" {
		parsers.SetURL(r, u)
		if r.URLDomain == "" && host != "" {
			// Webfilter logs carry the path in url and the host in hostname.
			r.URLDomain = host
		}
	}
	if m := parsers.Clean(f.v[fHTTPMethod]); m != "" {
		r.HTTPMethod = strings.ToUpper(m)
	}
	r.UserAgent = parsers.Clean(f.v[fAgent])
	r.HTTPReferrer = parsers.Clean(f.v[fReferralURL])
	r.URLCategory = parsers.Clean(f.v[fCatDesc])

	if parsers.Clean(f.v[fUser]) != "" {
		parsers.SetUser(r, f.v[fUser])
	} else {
		parsers.SetUser(r, f.v[fUnauthUser])
	}
	r.RuleName = parsers.Clean(f.v[fPolicyName])
	if t := parsers.Clean(f.v[fVirus]); t != "" {
		r.ThreatName = t
	} else {
		r.ThreatName = parsers.Clean(f.v[fAttack])
	}
	r.AddLabel("dns_question", parsers.Clean(f.v[fQName]))

	r.EventAction = f.v[fAction]
	r.Verdict = verdict(f.v[fAction])
	switch {
	case f.v[fType] == "traffic" && r.Verdict == parsers.VerdictUnknown && parsers.Clean(f.v[fAction]) != "":
		// FortiOS Log Message Reference, traffic "action": deny = blocked by
		// policy; start = session start (allowed); all others = allowed by
		// policy, the word says how the session ended.
		r.Verdict = parsers.Allowed
	case f.v[fType] == "utm" && f.v[fSubtype] == "dns" && parsers.Lower(f.v[fAction]) == "redirect":
		// DNS filter answered with the block portal address instead.
		r.Verdict = parsers.Denied
	case r.EventAction == "" && f.v[fType] == "utm":
		r.EventAction = f.v[fUTMAction]
		r.Verdict = verdict(f.v[fUTMAction])
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
	if off, ok := parseTZ(f.v[fTZ]); ok {
		loc = p.zones.Get(off)
	}
	if t, ok := parseEventTime(f.v[fEventTime]); ok {
		return t.In(loc), true
	}
	y, mo, d, ok := parseDate(f.v[fDate])
	if !ok {
		return time.Time{}, false
	}
	hh, mm, ss, ok := parseClock(f.v[fClock])
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
	// Year is costly and computed in the Local zone: only times within two
	// days of 2000-01-01 UTC, where the zone can matter, need it.
	switch sec := t.Unix(); {
	case sec >= y2000+2*86400:
		return t, true
	case sec < y2000-2*86400:
		return time.Time{}, false
	case t.Year() < 2000:
		return time.Time{}, false
	}
	return t, true
}

// y2000 is 2000-01-01T00:00:00Z in Unix seconds.
const y2000 = 946684800

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
	if len(s) == 5 && (s[0] == '+' || s[0] == '-') &&
		s[1]-'0' <= 9 && s[2]-'0' <= 9 && s[3]-'0' <= 9 && s[4]-'0' <= 9 {
		// The usual "+0100" form, read as the general case below does.
		h := int(s[1]-'0')*10 + int(s[2]-'0')
		mi := int(s[3]-'0')*10 + int(s[4]-'0')
		if h > 14 || mi > 59 {
			return 0, false
		}
		if s[0] == '-' {
			return -(h*3600 + mi*60), true
		}
		return h*3600 + mi*60, true
	}
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
