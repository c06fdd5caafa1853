// Package checkpoint parses Check Point Log Exporter output ("checkpoint"):
// the syslog form ([key:"value"; ...] in the RFC 5424 structured-data slot
// or in the body, also behind RFC 3164 relays), the standard
// [Fields@1.3.6.1.4.1.2620 ...] structured data, the Splunk/generic
// key=value|key=value form, and the CEF and LEEF exports.
//
// Field semantics follow Check Point's log field names (sk144192) as the
// Elastic checkpoint integration maps them: client_outbound_bytes is what
// the client sent, server_outbound_bytes what the server sent; time is UTC
// epoch seconds; service is the destination port.
package checkpoint

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/cefleef"
)

// Name is the registry name of the format.
const Name = "checkpoint"

const (
	vendor         = "Check Point"
	defaultProduct = "Security Gateway"
	// maxConns bounds the per-stream connection table used to complete
	// "Log Update" lines; it is cleared when full.
	maxConns = 4096
)

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      vendor,
		Product:     defaultProduct + " (Log Exporter)",
		Description: "Check Point Log Exporter: syslog [key:\"value\"] form, Fields@2620 SD, key=value|, CEF and LEEF exports",
		New:         New,
		Detect:      Detect,
	})
}

// conn is what a connection log tells about a connection, kept so a later
// "Log Update" line (same loguid, byte counters only) can be completed.
type conn struct {
	src, dst           netip.Addr
	sport, dport       parsers.Num
	transport          string
	user, domain       string
	app, action, rule  string
	product, observer  string
	verdict            parsers.Verdict
	urlOriginal, dhost string
}

type parser struct {
	f     fields
	ev    cefleef.Event
	conns map[string]conn
}

var _ parsers.Parser = (*parser)(nil)

// New returns a Check Point parser for one stream.
func New(parsers.Options) (parsers.Parser, error) {
	return &parser{conns: make(map[string]conn)}, nil
}

// Detect claims CEF/LEEF messages whose vendor is Check Point, Log
// Exporter's bracketed key:"value" syntax and Check Point's Fields@2620
// structured data.
func Detect(body string, h *parsers.Header) int {
	if i := cefleef.LocateCEF(body, h); i >= 0 {
		if v, ok := cefleef.HeaderField(body, i, 0); ok && strings.TrimSpace(v) == vendor {
			return 95
		}
		return 0
	}
	if i := cefleef.LocateLEEF(body, h); i >= 0 {
		if v, ok := cefleef.HeaderField(body, i, 0); ok && strings.TrimSpace(v) == vendor {
			return 95
		}
		return 0
	}
	if sd := h.SD; sd != "" {
		if strings.HasPrefix(sd, "[Fields@1.3.6.1.4.1.2620 ") {
			return 95
		}
		if sd[0] == '[' && hasCPKeys(sd) {
			return 95
		}
	}
	if h.AppName == "CheckPoint" && strings.Contains(body, `:"`) {
		return 90 // Log Exporter's APP-NAME with its key:"value" syntax
	}
	if hasCPKeys(body) {
		return 90
	}
	if strings.Contains(body, "loguid={0x") && strings.Contains(body, "|origin=") {
		return 90
	}
	return 0
}

// hasCPKeys reports whether s has Log Exporter's key:"value"; syntax with
// keys only Check Point writes.
func hasCPKeys(s string) bool {
	return strings.Contains(s, `loguid:"{0x`) || strings.Contains(s, `originsicname:"`) ||
		(strings.Contains(s, `origin:"`) && strings.Contains(s, `"; `))
}

// Parse maps one Check Point log. Audit, system and VPN/identity events and
// "Log Update" lines for connections this stream has not seen return
// parsers.ErrSkip.
func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	f := &p.f
	*f = fields{}
	e := &p.ev
	e.Reset()
	if err := p.read(body, m, r); err != nil {
		return err
	}
	return p.finish(m, r)
}

// read fills p.f (and standard CEF/LEEF keys into r and p.ev) from whichever
// syntax the message uses.
func (p *parser) read(body string, m *parsers.Meta, r *parsers.Record) error {
	f := &p.f
	h := &m.Header
	if cefleef.LocateCEF(body, h) >= 0 {
		c, err := cefleef.SplitCEFHeader(body, h)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		f.product = c.Product
		it := cefleef.NewExt(c.Ext)
		for it.Next() {
			k, v := it.Key(), it.Value()
			switch k {
			case "act":
				f.action = v
			case "sntdom", "sourceNtDomain":
				// Check Point maps domain_name (the name a DNS request
				// asked for) here, not the user's domain.
			case "deviceDirection":
				// CEF deviceDirection: 0 inbound, 1 outbound.
				switch v {
				case "0":
					f.ifdir = "inbound"
				case "1":
					f.ifdir = "outbound"
				}
			default:
				if !f.set(k, v) {
					p.ev.ApplyCEF(r, k, v)
				}
			}
		}
		return nil
	}
	if cefleef.LocateLEEF(body, h) >= 0 {
		l, err := cefleef.SplitLEEFHeader(body, h)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		f.product = l.Product
		f.action = l.EventID // Check Point puts the action in the event ID
		it := l.Iter()
		for it.Next() {
			k, v := it.Key(), it.Value()
			switch k {
			case "srcPort":
				f.sport = v
			case "dstPort":
				f.dport = v
			case "usrName":
				f.user = v
			default:
				if !f.set(k, v) {
					p.ev.ApplyLEEF(r, k, v)
				}
			}
		}
		return nil
	}
	if strings.HasPrefix(h.SD, "[Fields@") {
		parsers.ParseSD(h.SD, func(_, name, value string) { f.set(name, value) })
		return nil
	}
	if len(h.SD) >= 2 && h.SD[0] == '[' && h.SD[len(h.SD)-1] == ']' {
		f.scanBracket(h.SD[1 : len(h.SD)-1])
		return nil
	}
	s := strings.TrimSpace(body)
	if s == "" {
		return fmt.Errorf("checkpoint: empty message")
	}
	if ts, hn, rest, ok := spacedHeader(s); ok {
		// "1 2026-06-14 09:30:00 host CheckPoint 123 - [...]": a 5424 header
		// with a space in the timestamp, which SplitHeader leaves whole.
		f.headerTime, f.headerHost = ts, hn
		s = rest
	}
	if i := bracketStart(s); i >= 0 {
		s = strings.TrimRight(s[i:], " ")
		if s[len(s)-1] != ']' {
			return fmt.Errorf("checkpoint: truncated log: no closing ']'")
		}
		f.scanBracket(s[1 : len(s)-1])
		return nil
	}
	if strings.Contains(s, `:"`) && strings.Contains(s, `"; `) {
		f.scanBracket(s)
		return nil
	}
	if strings.IndexByte(s, '|') > 0 && strings.IndexByte(s, '=') > 0 {
		f.scanPipe(s)
		return nil
	}
	return fmt.Errorf("checkpoint: unrecognized log syntax")
}

// spacedHeader recognizes "1 YYYY-MM-DD hh:mm:ss HOST APP PROCID MSGID " and
// returns the time, the host and what follows.
func spacedHeader(s string) (ts, host, rest string, ok bool) {
	if len(s) < 23 || s[0] != '1' || s[1] != ' ' || s[6] != '-' || s[9] != '-' || s[12] != ' ' || s[15] != ':' {
		return "", "", s, false
	}
	r := s[22:]
	var tok [4]string
	for i := range tok {
		r = strings.TrimLeft(r, " ")
		j := strings.IndexByte(r, ' ')
		if j < 0 {
			return "", "", s, false
		}
		tok[i], r = r[:j], r[j+1:]
	}
	if tok[0] == "-" {
		tok[0] = ""
	}
	return s[2:21], tok[0], r, true
}

// bracketStart returns the index of the '[' that opens a key:"value" list
// near the start of s (skipping "CheckPoint[2217]:"-style tags), or -1.
func bracketStart(s string) int {
	off := 0
	for off < min(len(s), 128) {
		i := strings.IndexByte(s[off:], '[')
		if i < 0 {
			return -1
		}
		i += off
		k := i + 1
		for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= '0' && s[k] <= '9' || s[k] == '_') {
			k++
		}
		if k > i+1 && k+1 < len(s) && s[k] == ':' && s[k+1] == '"' {
			return i
		}
		off = i + 1
	}
	return -1
}

// finish turns the collected fields into the record.
func (p *parser) finish(m *parsers.Meta, r *parsers.Record) error {
	f := &p.f
	e := &p.ev
	if f.administrator != "" || f.operation != "" || f.auditStat != "" {
		return fmt.Errorf("%w: check point audit log", parsers.ErrSkip)
	}
	if managementProduct(f.product) {
		return fmt.Errorf("%w: check point %s log", parsers.ErrSkip, f.product)
	}
	if skipAction(f.action) {
		return fmt.Errorf("%w: check point %q event", parsers.ErrSkip, f.action)
	}
	// Addresses and ports: Check Point keys first, then standard CEF/LEEF.
	if ip := cefleef.IP(f.src); ip.IsValid() {
		r.SourceIP = ip
	}
	if ip := cefleef.IP(f.dst); ip.IsValid() {
		r.DestinationIP = ip
	}
	e.IPv6(r)
	if n := parsers.ParsePort(f.sport); n.Set {
		r.SourcePort = n
	}
	if n := parsers.ParsePort(f.dport); n.Set {
		r.DestinationPort = n
	}
	r.SourceNATIP = cefleef.IP(f.xlatesrc)
	r.SourceNATPort = parsers.ParsePort(f.xlatesport)
	r.DestinationNATIP = cefleef.IP(f.xlatedst)
	r.DestinationNATPort = parsers.ParsePort(f.xlatedport)
	if f.proto != "" {
		r.NetworkTransport = cefleef.Transport(f.proto)
	}
	if v := parsers.Clean(f.srcMachine); v != "" {
		r.SourceDomain = v
	}
	if v := firstClean(f.dnsHost, f.dstMachine); v != "" {
		r.DestinationDomain = v
	}
	if v := firstClean(f.resource, f.url); v != "" {
		parsers.SetURL(r, v)
	}
	if r.DestinationDomain == "" {
		r.DestinationDomain = parsers.Clean(f.httpHost)
	}
	if v := parsers.Clean(f.method); v != "" {
		r.HTTPMethod = v
	}
	if v := parsers.Clean(f.userAgent); v != "" {
		r.UserAgent = v
	}
	r.HTTPReferrer = parsers.Clean(f.referrer)
	r.NetworkApplication = parsers.Clean(f.app)
	r.AppCategory = parsers.Clean(f.appCategory)
	r.URLCategory = parsers.Clean(f.urlCategory)
	r.AppRisk = parsers.Clean(f.appRisk)
	r.RuleName = parsers.Clean(f.rule)
	r.ThreatName = parsers.Clean(f.threat)
	r.SourceMAC = parsers.Clean(f.mac)
	switch {
	case strings.EqualFold(f.ifdir, "inbound"):
		r.NetworkDirection = "inbound"
	case strings.EqualFold(f.ifdir, "outbound"):
		r.NetworkDirection = "outbound"
	default:
		e.SetDirection(r)
	}

	// User: Check Point's own keys, else CEF suser / LEEF usrName.
	if u := userName(firstClean(f.user, f.userAlt, f.userAlt2)); u != "" {
		parsers.SetUser(r, u)
	} else {
		e.User = userName(e.User)
		e.SetUser(r)
	}

	// Bytes: client_/server_outbound (what each side sent), then
	// sent_bytes/received_bytes, then CEF in/out per the ArcSight definition
	// (Check Point built its CEF mapping with ArcSight's owners).
	e.SetBytes(r, cefleef.InFromSource)
	if n := firstNum(f.cob, f.sent); n.Set {
		r.SourceBytes = n
	}
	if n := firstNum(f.sob, f.recv); n.Set {
		r.DestinationBytes = n
	}
	if !r.SourceBytes.Set && !r.DestinationBytes.Set {
		if n := parsers.ParseNum(f.bytes); n.Set {
			r.NetworkBytes = n
		}
	}
	r.SourcePackets = parsers.ParseNum(f.cop)
	r.DestinationPackets = parsers.ParseNum(f.sop)
	if !r.SourcePackets.Set && !r.DestinationPackets.Set {
		if n := parsers.ParseNum(f.packets); n.Set {
			r.NetworkPackets = n
		}
	}

	// CEF custom fields as Check Point labels them.
	if r.URLCategory == "" {
		r.URLCategory = parsers.Clean(e.Labelled("Matched Category", "Categories"))
	}
	if r.RuleName == "" {
		r.RuleName = parsers.Clean(e.Labelled("Application Rule Name", "Threat Prevention Rule Name", "DLP Rule Name", "Rule Name"))
	}
	if r.NetworkApplication == "" {
		r.NetworkApplication = parsers.Clean(e.Labelled("Application Name"))
	}
	if r.ThreatName == "" {
		r.ThreatName = parsers.Clean(e.Labelled("Malware Name", "Virus Name", "Protection Name"))
	}
	if d := parsers.ParseNum(e.Labelled("Duration in Seconds", "Elapsed Time in Seconds")); d.Set && d.V < 1<<33 {
		r.Duration = parsers.N(d.V * 1e9)
	}

	// Time: Check Point's time (UTC epoch), else CEF rt / LEEF devTime,
	// else a header SplitHeader could not read.
	if t, ok := cefleef.ParseTime(f.time, m.Location, m.Now); ok {
		r.Timestamp = t
	} else if t, ok := e.Time(m); ok {
		r.Timestamp = t
	} else if t, ok := parsers.ParseTime(f.headerTime, m.Location); ok {
		r.Timestamp = t
	}

	action := parsers.Clean(strings.TrimSpace(f.action))
	if action == "" {
		action = parsers.Clean(strings.TrimSpace(e.Act))
	}
	if action != "" {
		r.EventAction = action
		r.Verdict = verdict(action)
	}

	r.ObserverVendor = vendor
	product := strings.TrimSpace(f.product)
	r.ObserverHostname = firstClean(f.hostname, sicName(f.originSIC), f.origin, f.headerHost)

	if strings.EqualFold(product, "Log Update") || strings.EqualFold(action, "Update") {
		if !r.SourceIP.IsValid() {
			c, ok := p.conns[f.loguid]
			if f.loguid == "" || !ok {
				return fmt.Errorf("%w: check point log update for a connection not seen on this stream", parsers.ErrSkip)
			}
			c.fill(r)
			product = c.product
		}
		if strings.EqualFold(product, "Log Update") {
			product = ""
		}
	}
	if !cefleef.HasEndpoint(r) {
		return fmt.Errorf("%w: check point log without connection fields", parsers.ErrSkip)
	}
	cefleef.DestinationFromURL(r)
	r.ObserverProduct = product
	if r.ObserverProduct == "" {
		r.ObserverProduct = defaultProduct
	}
	cefleef.WebOrNetwork(r)
	if f.loguid != "" && r.SourceIP.IsValid() && !r.SourceBytes.Set && !r.DestinationBytes.Set {
		p.remember(f.loguid, r)
	}
	return nil
}

// remember stores the connection fields a later Log Update needs. Every
// string is copied (the line may alias the caller's reused read buffer),
// all of them into one allocation.
func (p *parser) remember(loguid string, r *parsers.Record) {
	if len(p.conns) >= maxConns {
		clear(p.conns)
	}
	// NetworkTransport may be the logged word, lower-cased.
	strs := [...]string{loguid, r.NetworkTransport, r.UserName, r.UserDomain, r.NetworkApplication,
		r.EventAction, r.RuleName, r.ObserverProduct, r.ObserverHostname, r.URLOriginal, r.DestinationDomain}
	n := 0
	for _, s := range strs {
		n += len(s)
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range strs {
		b.WriteString(s)
	}
	all := b.String()
	for i, s := range strs {
		strs[i], all = all[:len(s)], all[len(s):]
	}
	p.conns[strs[0]] = conn{
		src: r.SourceIP, dst: r.DestinationIP, sport: r.SourcePort, dport: r.DestinationPort,
		transport: strs[1], user: strs[2], domain: strs[3], app: strs[4], action: strs[5],
		rule: strs[6], product: strs[7], observer: strs[8], verdict: r.Verdict,
		urlOriginal: strs[9], dhost: strs[10],
	}
}

// fill completes a Log Update record from the connection it updates.
func (c *conn) fill(r *parsers.Record) {
	r.SourceIP, r.DestinationIP = c.src, c.dst
	if !r.SourcePort.Set {
		r.SourcePort = c.sport
	}
	if !r.DestinationPort.Set {
		r.DestinationPort = c.dport
	}
	if r.NetworkTransport == "" {
		r.NetworkTransport = c.transport
	}
	if r.UserName == "" {
		r.UserName, r.UserDomain = c.user, c.domain
	}
	if r.NetworkApplication == "" {
		r.NetworkApplication = c.app
	}
	if r.EventAction == "" {
		r.EventAction, r.Verdict = c.action, c.verdict
	}
	if r.RuleName == "" {
		r.RuleName = c.rule
	}
	if r.ObserverHostname == "" {
		r.ObserverHostname = c.observer
	}
	if r.URLOriginal == "" && c.urlOriginal != "" {
		parsers.SetURL(r, c.urlOriginal)
	}
	if r.DestinationDomain == "" {
		r.DestinationDomain = c.dhost
	}
}

// verdict maps Check Point actions: Accept/Allow pass; Drop, Reject,
// Block, Prevent and Quarantine stop the traffic; Detect, Inform, Ask and
// Bypass let it pass (with an alert or a UserCheck interaction).
func verdict(a string) parsers.Verdict {
	var b [32]byte
	switch string(cefleef.Fold(a, &b)) {
	case "accept", "allow", "detect", "inform", "ask", "bypass", "encrypt", "decrypt":
		return parsers.Allowed
	case "drop", "reject", "block", "prevent", "quarantine":
		return parsers.Denied
	}
	return parsers.VerdictUnknown
}

// skipAction reports actions of VPN tunnel, identity and login events,
// which carry no traffic.
func skipAction(a string) bool {
	var b [32]byte
	switch string(cefleef.Fold(a, &b)) {
	case "key install", "log in", "log out", "failed log in", "authorize", "deauthorize":
		return true
	}
	return false
}

// managementProduct reports blades whose logs are management, audit or
// system events.
func managementProduct(p string) bool {
	var b [32]byte
	switch string(cefleef.Fold(p, &b)) {
	case "smartconsole", "web_api", "web-ui", "system monitor", "smartupdate", "cpmidu_update_tool",
		"smart event", "smartevent", "endpoint management", "security gateway/management":
		return true
	}
	return false
}

// userName extracts the login from Check Point's "Full Name (login)".
func userName(s string) string {
	s = strings.TrimSpace(s)
	if n := len(s); n > 2 && s[n-1] == ')' {
		if i := strings.LastIndexByte(s, '('); i >= 0 {
			if inner := strings.TrimSpace(s[i+1 : n-1]); inner != "" {
				return inner
			}
		}
	}
	return s
}

// sicName returns the object name (CN) of a SIC name
// "CN=gw-hq01,O=mgmt01.example.com.abc123".
func sicName(s string) string {
	if len(s) < 4 || !strings.EqualFold(s[:3], "cn=") {
		return ""
	}
	s = s[3:]
	if i := strings.IndexByte(s, ','); i >= 0 {
		s = s[:i]
	}
	return s
}

func firstClean(vs ...string) string {
	for _, v := range vs {
		if v = parsers.Clean(strings.TrimSpace(v)); v != "" {
			return v
		}
	}
	return ""
}

func firstNum(vs ...string) parsers.Num {
	for _, v := range vs {
		if n := parsers.ParseNum(v); n.Set {
			return n
		}
	}
	return parsers.Num{}
}
