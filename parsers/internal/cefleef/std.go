package cefleef

import (
	"net/netip"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

// Custom is one labelled custom field (csN/csNLabel, cnN, c6aN, flex...).
type Custom struct{ Label, Value string }

// Custom field slots in Event.Custom.
const (
	slotCS     = 0  // cs1..cs6
	slotCN     = 6  // cn1..cn3
	slotC6A    = 9  // c6a1..c6a4
	slotFlexS  = 13 // flexString1..2
	slotFlexN  = 15 // flexNumber1..2
	slotDate   = 17 // deviceCustomDate1..2
	slotsTotal = 19
)

// Event gathers the standard CEF and LEEF keys whose meaning depends on the
// vendor or on other keys: byte counters (whose direction vendors define
// differently), times, the action word, the user, and labelled custom
// fields. Unambiguous keys (addresses, ports, URL, method...) go straight
// into the record. The zero value is ready; Reset reuses one.
type Event struct {
	In, Out    parsers.Num // CEF in / out (bytesIn / bytesOut)
	SrcBytes   parsers.Num // LEEF srcBytes: sent by the source
	DstBytes   parsers.Num // LEEF dstBytes: sent by the destination
	TotalBytes parsers.Num // LEEF totalBytes
	// Event times as logged: CEF rt (deviceReceiptTime), end, start; LEEF
	// devTime and devTimeFormat.
	RT, End, Start, TimeFormat string
	// TZ is CEF dtz (deviceTimeZone): the zone of rt/end/start values
	// written without one.
	TZ        string
	Act       string // act / deviceAction / LEEF action
	Outcome   string // CEF outcome
	User      string // suser / LEEF usrName
	NTDomain  string // sntdom
	Direction string // deviceDirection: 0 inbound, 1 outbound
	// Custom holds the labelled custom fields; used marks the slots set
	// since Reset, so resetting and label lookups touch only those.
	Custom [slotsTotal]Custom
	used   uint32
}

// Reset clears e for the next message.
func (e *Event) Reset() {
	used := e.used
	custom := &e.Custom
	for i := 0; used != 0; i++ {
		if used&1 != 0 {
			custom[i] = Custom{}
		}
		used >>= 1
	}
	e.In, e.Out, e.SrcBytes, e.DstBytes, e.TotalBytes = parsers.Num{}, parsers.Num{}, parsers.Num{}, parsers.Num{}, parsers.Num{}
	e.RT, e.End, e.Start, e.TimeFormat, e.TZ = "", "", "", "", ""
	e.Act, e.Outcome, e.User, e.NTDomain, e.Direction = "", "", "", "", ""
	e.used = 0
}

// ApplyCEF maps one standard CEF extension key (short or full name) into r
// or e and reports whether it knew the key.
func (e *Event) ApplyCEF(r *parsers.Record, key, val string) bool {
	switch key {
	case "src", "sourceAddress":
		r.SourceIP = IP(val)
	case "dst", "destinationAddress":
		r.DestinationIP = IP(val)
	case "spt", "sourcePort":
		r.SourcePort = parsers.ParsePort(val)
	case "dpt", "destinationPort":
		r.DestinationPort = parsers.ParsePort(val)
	case "sourceTranslatedAddress":
		r.SourceNATIP = IP(val)
	case "sourceTranslatedPort":
		r.SourceNATPort = parsers.ParsePort(val)
	case "destinationTranslatedAddress":
		r.DestinationNATIP = IP(val)
	case "destinationTranslatedPort":
		r.DestinationNATPort = parsers.ParsePort(val)
	case "shost", "sourceHostName":
		r.SourceDomain = parsers.Clean(val)
	case "dhost", "destinationHostName":
		r.DestinationDomain = parsers.Clean(val)
	case "smac", "sourceMacAddress":
		r.SourceMAC = parsers.Clean(val)
	case "suser", "sourceUserName":
		e.User = val
	case "sntdom", "sourceNtDomain":
		e.NTDomain = val
	case "request":
		parsers.SetURL(r, val)
	case "requestMethod":
		r.HTTPMethod = parsers.Clean(val)
	case "requestClientApplication":
		r.UserAgent = parsers.Clean(val)
	case "requestContext":
		r.HTTPReferrer = parsers.Clean(val)
	case "app", "applicationProtocol":
		// The application-layer protocol (HTTP, HTTPS), not an application.
		r.NetworkProtocol = Lower(parsers.Clean(val))
	case "proto", "transportProtocol":
		r.NetworkTransport = Transport(val)
	case "act", "deviceAction":
		e.Act = val
	case "outcome", "eventOutcome":
		e.Outcome = val
	case "in", "bytesIn":
		e.In = parsers.ParseNum(val)
	case "out", "bytesOut":
		e.Out = parsers.ParseNum(val)
	case "rt", "deviceReceiptTime":
		e.RT = val
	case "end", "endTime":
		e.End = val
	case "start", "startTime":
		e.Start = val
	case "dtz", "deviceTimeZone":
		e.TZ = val
	case "dvchost", "deviceHostName":
		r.ObserverHostname = parsers.Clean(val)
	case "deviceDirection":
		e.Direction = val
	default:
		return e.custom(key, val)
	}
	return true
}

// ApplyLEEF maps one predefined LEEF attribute (and the few aliases
// producers commonly use for web fields) into r or e and reports whether it
// knew the key.
func (e *Event) ApplyLEEF(r *parsers.Record, key, val string) bool {
	switch key {
	case "src":
		r.SourceIP = IP(val)
	case "srcPreNAT":
		if !r.SourceIP.IsValid() {
			r.SourceIP = IP(val)
		}
	case "dst":
		r.DestinationIP = IP(val)
	case "dstPreNAT":
		if !r.DestinationIP.IsValid() {
			r.DestinationIP = IP(val)
		}
	case "srcPort":
		r.SourcePort = parsers.ParsePort(val)
	case "srcPreNATPort":
		if !r.SourcePort.Set {
			r.SourcePort = parsers.ParsePort(val)
		}
	case "dstPort":
		r.DestinationPort = parsers.ParsePort(val)
	case "dstPreNATPort":
		if !r.DestinationPort.Set {
			r.DestinationPort = parsers.ParsePort(val)
		}
	case "srcPostNAT":
		r.SourceNATIP = IP(val)
	case "dstPostNAT":
		r.DestinationNATIP = IP(val)
	case "srcPostNATPort":
		r.SourceNATPort = parsers.ParsePort(val)
	case "dstPostNATPort":
		r.DestinationNATPort = parsers.ParsePort(val)
	case "srcMAC":
		r.SourceMAC = parsers.Clean(val)
	case "usrName":
		e.User = val
	case "proto":
		r.NetworkTransport = Transport(val)
	case "srcBytes":
		e.SrcBytes = parsers.ParseNum(val)
	case "dstBytes":
		e.DstBytes = parsers.ParseNum(val)
	case "totalBytes":
		e.TotalBytes = parsers.ParseNum(val)
	case "srcPackets":
		r.SourcePackets = parsers.ParseNum(val)
	case "dstPackets":
		r.DestinationPackets = parsers.ParseNum(val)
	case "totalPackets":
		r.NetworkPackets = parsers.ParseNum(val)
	case "devTime":
		e.RT = val
	case "devTimeFormat":
		e.TimeFormat = val
	case "policy":
		r.RuleName = parsers.Clean(val)
	case "url", "request":
		parsers.SetURL(r, val)
	case "action", "act":
		e.Act = val
	case "method", "requestMethod", "httpMethod":
		r.HTTPMethod = parsers.Clean(val)
	case "userAgent", "useragent", "requestClientApplication":
		r.UserAgent = parsers.Clean(val)
	case "dhost":
		r.DestinationDomain = parsers.Clean(val)
	case "identHostName":
		r.SourceDomain = parsers.Clean(val)
	default:
		return false
	}
	return true
}

// custom stores csN/cnN/c6aN/flexStringN/flexNumberN/deviceCustomDateN and
// their Label keys, in short or full form.
func (e *Event) custom(key, val string) bool {
	label := strings.HasSuffix(key, "Label")
	if label {
		key = key[:len(key)-len("Label")]
	}
	if len(key) < 2 {
		return false
	}
	d := key[len(key)-1]
	if d < '1' || d > '9' {
		return false
	}
	n := int(d - '1')
	base, limit := -1, 0
	switch key[:len(key)-1] {
	case "cs", "deviceCustomString":
		base, limit = slotCS, 6
	case "cn", "deviceCustomNumber":
		base, limit = slotCN, 3
	case "c6a", "deviceCustomIPv6Address":
		base, limit = slotC6A, 4
	case "flexString", "deviceFlexString":
		base, limit = slotFlexS, 2
	case "flexNumber", "deviceFlexNumber":
		base, limit = slotFlexN, 2
	case "deviceCustomDate":
		base, limit = slotDate, 2
	}
	if base < 0 || n >= limit {
		return false
	}
	if label {
		e.Custom[base+n].Label = val
	} else {
		e.Custom[base+n].Value = val
	}
	e.used |= 1 << (base + n)
	return true
}

// Labelled returns the value of the custom field whose label equals one of
// labels (ASCII case-insensitive), or "".
func (e *Event) Labelled(labels ...string) string {
	used := e.used
	for i := 0; used != 0; i++ {
		set := used&1 != 0
		used >>= 1
		c := &e.Custom[i]
		if !set || c.Label == "" {
			continue
		}
		for _, l := range labels {
			if strings.EqualFold(c.Label, l) {
				return c.Value
			}
		}
	}
	return ""
}

// IPv6 fills missing source/destination addresses from c6a2 ("Source IPv6
// Address") and c6a3 ("Destination IPv6 Address"), as the CEF spec
// defines those slots.
func (e *Event) IPv6(r *parsers.Record) {
	if !r.SourceIP.IsValid() {
		if c := e.Custom[slotC6A+1]; c.Label == "" || strings.EqualFold(c.Label, "Source IPv6 Address") {
			r.SourceIP = IP(c.Value)
		}
	}
	if !r.DestinationIP.IsValid() {
		if c := e.Custom[slotC6A+2]; c.Label == "" || strings.EqualFold(c.Label, "Destination IPv6 Address") {
			r.DestinationIP = IP(c.Value)
		}
	}
}

// Time returns the event time: CEF rt (LEEF devTime, read with
// devTimeFormat when given), else end. A session start time is never the
// event time.
func (e *Event) Time(m *parsers.Meta) (time.Time, bool) {
	loc := e.location(m)
	if e.RT != "" {
		if e.TimeFormat != "" {
			if t, ok := ParseJavaTime(e.RT, e.TimeFormat, loc, m.Now); ok {
				return t, true
			}
		} else if t, ok := ParseTime(e.RT, loc, m.Now); ok {
			return t, true
		}
	}
	if e.End != "" {
		return ParseTime(e.End, loc, m.Now)
	}
	return time.Time{}, false
}

// location is the zone for times logged without one: dtz when it is
// UTC/GMT or an offset, else the data source's zone. A zone name
// ("Europe/Berlin") would need the time zone database, which a parser
// does not read.
func (e *Event) location(m *parsers.Meta) *time.Location {
	if tz := strings.TrimSpace(e.TZ); tz != "" {
		if l, ok := zone(tz, m.Location); ok && l != nil {
			return l
		}
	}
	return m.Location
}

// Duration sets r.Duration from start and end when both parse.
func (e *Event) Duration(r *parsers.Record, m *parsers.Meta) {
	if e.Start == "" || e.End == "" {
		return
	}
	loc := e.location(m)
	s, ok1 := ParseTime(e.Start, loc, m.Now)
	t, ok2 := ParseTime(e.End, loc, m.Now)
	if ok1 && ok2 && !t.Before(s) {
		r.Duration = parsers.N(int64(t.Sub(s)))
	}
}

// SetUser fills user.name/user.domain from the logged user and, when the
// user carries no domain, the separately logged NT domain.
func (e *Event) SetUser(r *parsers.Record) {
	parsers.SetUser(r, e.User)
	if r.UserName != "" && r.UserDomain == "" {
		r.UserDomain = parsers.Clean(e.NTDomain)
	}
}

// SetDirection maps CEF deviceDirection (0 inbound, 1 outbound).
func (e *Event) SetDirection(r *parsers.Record) {
	switch e.Direction {
	case "0":
		r.NetworkDirection = "inbound"
	case "1":
		r.NetworkDirection = "outbound"
	}
}

// SetOutcome maps a CEF outcome of success/failure.
func (e *Event) SetOutcome(r *parsers.Record) {
	switch {
	case strings.EqualFold(e.Outcome, "success"):
		r.Outcome = "success"
	case strings.EqualFold(e.Outcome, "failure"):
		r.Outcome = "failure"
	}
}

// HasEndpoint reports whether r names any network endpoint or URL.
func HasEndpoint(r *parsers.Record) bool {
	return r.SourceIP.IsValid() || r.DestinationIP.IsValid() || r.URLOriginal != "" || r.DestinationDomain != ""
}

// HasDestination reports whether r names what was connected to (an
// address, a host or a URL). Administrative and system events often carry
// the source address of an administrator, but no destination: they are
// not traffic.
func HasDestination(r *parsers.Record) bool {
	return r.DestinationIP.IsValid() || r.URLOriginal != "" || r.DestinationDomain != ""
}

// nonTrafficWords mark event names of administrative, authentication and
// system events, which are not traffic even when they carry addresses.
var nonTrafficWords = [...]string{
	"login", "logon", "log in", "logged in", "logout", "logoff", "log out", "logged out",
	"sign in", "signed in", "sign-in", "sign out", "signed out", "authentication",
	"administrator", "admin ", "configuration", "config change", "policy update",
	"policy install", "license", "heartbeat", "cpu ", "memory", "disk ", "reboot",
	"shutdown", "startup", "firmware", "system event", "ha state",
	// CamelCase ids ("AdminLogin", "SystemUpdate") have no separators.
	"adminlogin", "userlogin", "systemupdate", "configchange", "policyupdate",
}

// nonTrafficByLetter is nonTrafficWords indexed by first letter, so each
// word start in a name is compared with a few words, not all of them.
var nonTrafficByLetter = func() (t [26][]string) {
	for _, w := range nonTrafficWords {
		t[w[0]-'a'] = append(t[w[0]-'a'], w)
	}
	return t
}()

// NonTrafficName reports whether a CEF name or LEEF event ID names an
// administrative, authentication or system event: one of nonTrafficWords
// at the start of a word, ASCII case-insensitively, '_' read as a space.
// It does not allocate.
func NonTrafficName(name string) bool {
	words := &nonTrafficByLetter
	if len(name) > 256 {
		name = name[:256]
	}
	for i := 0; i < len(name); i++ {
		if i > 0 {
			if c := name[i-1] | 0x20; c >= 'a' && c <= 'z' {
				continue // inside a word ("sysadmin")
			}
		}
		c := name[i] | 0x20
		if c < 'a' || c > 'z' {
			continue
		}
		for _, w := range words[c-'a'] {
			if wordAt(name, i, w) {
				return true
			}
		}
	}
	return false
}

// wordAt reports whether w (lower case) is at s[i:], with '_' in s
// matching ' ' in w and the end of s matching a trailing space in w.
func wordAt(s string, i int, w string) bool {
	for j := 0; j < len(w); j++ {
		if i+j == len(s) {
			return j == len(w)-1 && w[j] == ' '
		}
		c := s[i+j]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		} else if c == '_' {
			c = ' '
		}
		if c != w[j] {
			return false
		}
	}
	return true
}

// DestinationFromURL fills destination.domain and destination.port from
// the requested URL when the message named neither: the web server a
// request went to is the destination.
func DestinationFromURL(r *parsers.Record) {
	if r.DestinationDomain == "" && r.URLDomain != "" {
		if !IP(r.URLDomain).IsValid() {
			r.DestinationDomain = r.URLDomain
		} else if !r.DestinationIP.IsValid() {
			r.DestinationIP = IP(r.URLDomain)
		}
	}
	if !r.DestinationPort.Set && r.URLPort.Set {
		r.DestinationPort = r.URLPort
	}
}

// Fold lower-cases a short ASCII word (spaces trimmed) into b, so a switch
// on string(Fold(s, &b)) matches vendor words case-insensitively without
// allocating. Words longer than b give nil.
func Fold(s string, b *[32]byte) []byte {
	s = strings.TrimSpace(s)
	if len(s) > len(b) {
		return nil
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	return b[:len(s)]
}

// Verdict maps the action words CEF/LEEF producers write to allowed or
// denied; unknown words give VerdictUnknown. Detections that let the
// traffic pass (alert, detect, monitor) count as allowed.
func Verdict(action string) parsers.Verdict {
	var b [32]byte
	switch string(Fold(action, &b)) {
	case "accept", "accepted", "allow", "allowed", "permit", "permitted", "pass", "passed",
		"forward", "forwarded", "success", "succeeded", "ok", "observed", "observe",
		"alert", "alerted", "detect", "detected", "log", "logged", "monitor", "monitored",
		"bypass", "bypassed", "continue", "inform", "notify", "ask", "warn", "warned",
		"encrypt", "decrypt", "tunnel", "proxied", "cached", "close", "closed", "override":
		return parsers.Allowed
	case "deny", "denied", "drop", "dropped", "block", "blocked", "reject", "rejected",
		"prevent", "prevented", "refuse", "refused", "quarantine", "quarantined",
		"terminate", "terminated", "reset", "reset-client", "reset-server", "reset-both",
		"blocked-url", "block-url", "block-continue", "block-override", "block-ip",
		"drop-icmp", "drop-all", "random-drop", "sinkhole", "discard", "discarded":
		return parsers.Denied
	}
	return parsers.VerdictUnknown
}

// VerdictWord finds the verdict in an event name or ID such as
// "Connection_Allowed", "transaction:blocked" or "Web Request Blocked":
// the one clear verdict word among its words (allow, permit, accept, deny,
// block, drop, reject, discard, prevent and their forms). Weaker words
// (log, alert, close) do not count here: a name is not an action field.
func VerdictWord(name string) (string, parsers.Verdict) {
	word, v := "", parsers.VerdictUnknown
	s := name
	for s != "" {
		i := strings.IndexAny(s, " _:/|,;.")
		tok := s
		if i >= 0 {
			tok, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		var b [32]byte
		tv := parsers.VerdictUnknown
		switch string(Fold(tok, &b)) {
		case "allow", "allowed", "permit", "permitted", "accept", "accepted", "pass", "passed":
			tv = parsers.Allowed
		case "deny", "denied", "block", "blocked", "drop", "dropped", "reject", "rejected",
			"discard", "discarded", "prevent", "prevented":
			tv = parsers.Denied
		}
		if tv == parsers.VerdictUnknown {
			continue
		}
		if v != parsers.VerdictUnknown && v != tv {
			return "", parsers.VerdictUnknown // conflicting words
		}
		word, v = tok, tv
	}
	return word, v
}

// Transport returns the lower-case transport name for a protocol logged as
// a name or an IANA number; unknown values are returned lower-cased.
func Transport(s string) string {
	var b [32]byte
	switch string(Fold(s, &b)) {
	case "6", "tcp":
		return "tcp"
	case "17", "udp":
		return "udp"
	case "1", "icmp":
		return "icmp"
	case "58", "icmp6", "icmpv6", "ipv6-icmp":
		return "ipv6-icmp"
	case "47", "gre":
		return "gre"
	case "50", "esp":
		return "esp"
	case "51", "ah":
		return "ah"
	case "132", "sctp":
		return "sctp"
	case "2", "igmp":
		return "igmp"
	}
	if allDigits(s) {
		return "" // an IANA number without a well-known name
	}
	return Lower(parsers.Clean(s))
}

// Lower is parsers.Lower: it allocates only when s has upper-case letters.
func Lower(s string) string { return parsers.Lower(s) }

// InDirection says what a vendor's CEF "in" counter holds.
type InDirection uint8

const (
	// InFromSource is the ArcSight definition: bytesIn flowed from source
	// to destination, bytesOut from destination to source.
	InFromSource InDirection = iota
	// InToClient is the client-centric reading several vendors document
	// (Forcepoint: in = bytes received in response, out = bytes sent).
	InToClient
)

// SetBytes fills the byte counters: CEF in/out per dir, LEEF srcBytes (sent
// by the source) and dstBytes (sent by the destination), and a total only
// when no direction is known.
func (e *Event) SetBytes(r *parsers.Record, dir InDirection) {
	src, dst := e.In, e.Out
	if dir == InToClient {
		src, dst = e.Out, e.In
	}
	if e.SrcBytes.Set {
		src = e.SrcBytes
	}
	if e.DstBytes.Set {
		dst = e.DstBytes
	}
	if src.Set {
		r.SourceBytes = src
	}
	if dst.Set {
		r.DestinationBytes = dst
	}
	if !src.Set && !dst.Set && e.TotalBytes.Set {
		r.NetworkBytes = e.TotalBytes
	}
}

// CommonLabels fills still-empty fields from custom fields whose labels
// name them unambiguously.
func (e *Event) CommonLabels(r *parsers.Record) {
	if e.used == 0 {
		return
	}
	// One pass over the set slots, each label folded once, finds what
	// commonLabels would find with a Labelled call per field.
	var found [numCommon]string
	var seen [numCommon]bool
	used := e.used
	for i := 0; used != 0; i++ {
		set := used&1 != 0
		used >>= 1
		c := &e.Custom[i]
		if !set || c.Label == "" {
			continue
		}
		k, ok := commonKind(c.Label)
		if !ok {
			// Non-ASCII: Unicode folding may match ("\u212a" is 'k');
			// leave it to strings.EqualFold.
			e.commonLabels(r)
			return
		}
		if k != numCommon && !seen[k] {
			found[k], seen[k] = c.Value, true
		}
	}
	if r.RuleName == "" {
		r.RuleName = parsers.Clean(found[commonRule])
	}
	if r.URLCategory == "" {
		r.URLCategory = parsers.Clean(found[commonCategory])
	}
	if r.NetworkApplication == "" {
		r.NetworkApplication = parsers.Clean(found[commonApp])
	}
	if r.HTTPContentType == "" {
		r.HTTPContentType = parsers.Clean(found[commonContentType])
	}
	if r.ThreatName == "" {
		r.ThreatName = parsers.Clean(found[commonThreat])
	}
}

// Fields CommonLabels fills from labelled custom fields.
const (
	commonRule = iota
	commonCategory
	commonApp
	commonContentType
	commonThreat
	numCommon
)

// commonKind returns which field an ASCII label names (numCommon for
// none), matching case-insensitively; ok is false for a label with
// non-ASCII bytes.
func commonKind(label string) (kind int, ok bool) {
	var b [32]byte
	if len(label) > len(b) {
		return numCommon, isASCII(label)
	}
	for i := 0; i < len(label); i++ {
		c := label[i]
		if c >= 0x80 {
			return numCommon, false
		}
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b[:len(label)]) {
	case "rule", "rule name", "rulename", "policy", "policy name", "firewall rule":
		return commonRule, true
	case "url category", "urlcategory", "url categories", "category", "categories":
		return commonCategory, true
	case "application", "application name", "appname":
		return commonApp, true
	case "content type", "contenttype":
		return commonContentType, true
	case "virus name", "threat name", "malware name":
		return commonThreat, true
	}
	return numCommon, true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// commonLabels is CommonLabels through Labelled, for labels that need
// Unicode case folding.
func (e *Event) commonLabels(r *parsers.Record) {
	if r.RuleName == "" {
		r.RuleName = parsers.Clean(e.Labelled("Rule", "Rule Name", "RuleName", "Policy", "Policy Name", "Firewall Rule"))
	}
	if r.URLCategory == "" {
		r.URLCategory = parsers.Clean(e.Labelled("URL Category", "URLCategory", "URL Categories", "Category", "Categories"))
	}
	if r.NetworkApplication == "" {
		r.NetworkApplication = parsers.Clean(e.Labelled("Application", "Application Name", "AppName"))
	}
	if r.HTTPContentType == "" {
		r.HTTPContentType = parsers.Clean(e.Labelled("Content Type", "ContentType"))
	}
	if r.ThreatName == "" {
		r.ThreatName = parsers.Clean(e.Labelled("Virus Name", "Threat Name", "Malware Name"))
	}
}

// Finish applies what every CEF/LEEF format shares once all keys are read:
// IPv6 custom addresses, user, direction, outcome, duration, event time,
// the action word and its verdict, byte counters (per dir) and labelled
// custom fields.
func (e *Event) Finish(r *parsers.Record, m *parsers.Meta, dir InDirection) {
	e.IPv6(r)
	e.SetUser(r)
	e.SetDirection(r)
	e.SetOutcome(r)
	e.Duration(r, m)
	if t, ok := e.Time(m); ok {
		r.Timestamp = t
	}
	if a := parsers.Clean(strings.TrimSpace(e.Act)); a != "" {
		r.EventAction = a
		r.Verdict = Verdict(a)
	}
	e.SetBytes(r, dir)
	e.CommonLabels(r)
}

// WebOrNetwork sets the event category: "web" for a request with a URL or
// method, "network" otherwise.
func WebOrNetwork(r *parsers.Record) {
	if r.URLOriginal != "" || r.HTTPMethod != "" {
		r.Category = "web"
	} else {
		r.Category = "network"
	}
}

// IP is parsers.ParseIP without an IPv6 zone: a zone ("fe80::1%eth0") is
// meaningless in a log record, and the record's JSON writer does not escape
// it.
func IP(s string) netip.Addr {
	return parsers.ParseIP(s).WithZone("")
}

// OrDefault returns s without surrounding spaces, or def when that is empty.
func OrDefault(s, def string) string {
	if s = strings.TrimSpace(s); s != "" {
		return s
	}
	return def
}
