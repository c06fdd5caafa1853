// Package meraki parses Cisco Meraki MX syslog: "flows" and, from MX 18.1,
// "firewall", "cellular_firewall", "vpn_firewall" and
// "bridge_anyconnect_client_vpn_firewall" rule matches; "ip_flow_start" /
// "ip_flow_end" (MX 18+); and "urls" HTTP requests. Event logs, IDS alerts,
// Air Marshal and other types return ErrSkip.
//
// Meraki's header "<134>1 <epoch> <device> <type> ..." only looks like RFC
// 5424: the header splitter takes the epoch and device and leaves
// "<type> ..." as the body. Without a syslog header (a file, or a relay that
// prepends its own BSD header) the body starts with "[1] <epoch> <device>".
package meraki

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/netproto"
)

// Name is the registry name of the format.
const Name = "meraki"

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      "Cisco",
		Product:     "Meraki MX",
		Description: "Cisco Meraki MX flows, firewall, ip_flow_start/end and urls syslog",
		New: func(parsers.Options) (parsers.Parser, error) {
			return parser{}, nil
		},
		Detect: detect,
	})
}

// ErrMalformed is wrapped by errors for Meraki lines that cannot be read.
var ErrMalformed = errors.New("malformed Meraki message")

type parser struct{}

var _ parsers.Parser = parser{}

// msgType is what a Meraki message reports.
type msgType uint8

const (
	typeUnknown msgType = iota
	typeFlow            // flows, firewall and its variants
	typeIPFlow          // ip_flow_start, ip_flow_end
	typeURL             // urls
	typeOther           // events, security_event, ids-alerts, airmarshal_events, ...
)

func classify(t string) msgType {
	switch t {
	case "flows", "firewall", "cellular_firewall", "vpn_firewall", "bridge_anyconnect_client_vpn_firewall":
		return typeFlow
	case "ip_flow_start", "ip_flow_end":
		return typeIPFlow
	case "urls":
		return typeURL
	case "events", "security_event", "ids-alerts", "airmarshal_events", "security_filtering_file_scanned",
		"security_filtering_disposition_change", "content_filtering_block":
		return typeOther
	}
	return typeUnknown
}

// head splits the optional "[1 ]<epoch> <device> " prefix off body and
// returns the epoch text, the device and the "<type> ..." rest.
func head(body string) (epoch, device, rest string) {
	s := body
	// A Kiwi-style relay puts "Original Address=<sender> " before the
	// Meraki header.
	if a, ok := strings.CutPrefix(s, "Original Address="); ok {
		if _, after, ok := strings.Cut(a, " "); ok {
			s = after
		}
	}
	if strings.HasPrefix(s, "1 ") {
		s = s[2:]
	}
	tok, after := word(s)
	if !isEpoch(tok) {
		return "", "", body
	}
	device, after = word(after)
	return tok, device, after
}

func (parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	epoch, device, rest := head(body)
	typ, rest := word(rest)
	kind := classify(typ)
	switch kind {
	case typeUnknown:
		if epoch != "" || epochHeader(&m.Header) {
			// A Meraki header with a type this parser does not know
			// (new firmware, MS/MR events): not a flow it can read.
			return fmt.Errorf("%w: Meraki %s message", parsers.ErrSkip, short(typ))
		}
		return fmt.Errorf("%w: unknown message type %q", ErrMalformed, short(typ))
	case typeOther:
		return fmt.Errorf("%w: Meraki %s message", parsers.ErrSkip, typ)
	}
	if epoch != "" {
		if t, ok := parsers.ParseEpoch(epoch); ok {
			r.Timestamp = t
		}
		r.ObserverHostname = device
	}
	var err error
	switch kind {
	case typeFlow:
		err = parseFlow(rest, r)
	case typeIPFlow:
		err = parseIPFlow(rest, r)
		r.EventAction = typ
	case typeURL:
		err = parseURL(rest, r)
	}
	if err != nil {
		return fmt.Errorf("meraki %s: %w", typ, err)
	}
	if !r.SourceIP.IsValid() || !r.DestinationIP.IsValid() {
		return fmt.Errorf("meraki %s: %w: no src or dst address", typ, ErrMalformed)
	}
	r.ObserverVendor = "Cisco"
	r.ObserverProduct = "Meraki MX"
	return nil
}

// flow holds the key=value fields shared by flow messages.
type flow struct {
	src, dst, sport, dport, proto, mac string
	natSrc, natDst, natPort            string
}

func (f *flow) set(k, v string) {
	switch k {
	case "src":
		f.src = v
	case "dst":
		f.dst = v
	case "sport":
		f.sport = v
	case "dport":
		f.dport = v
	case "protocol":
		f.proto = v
	case "mac":
		f.mac = v
	case "translated_src_ip":
		f.natSrc = v
	case "translated_dst_ip":
		f.natDst = v
	case "translated_port":
		f.natPort = v
	}
}

// parseFlow reads "[allow|deny] src=.. dst=.. [mac=..] protocol=.. [sport=.. dport=..|type=..] [pattern: <verdict> <rule>]".
// Old firmware puts the verdict in the pattern: "allow"/"deny", or for
// inbound rules "1" (deny) and "0" (allow).
func parseFlow(s string, r *parsers.Record) error {
	var f flow
	op, after := word(s)
	if op == "allow" || op == "deny" {
		s = after
	} else {
		op = ""
	}
	pattern := ""
	if i := strings.Index(s, "pattern:"); i >= 0 {
		pattern = strings.TrimSpace(s[i+len("pattern:"):])
		s = s[:i]
	}
	scanKV(s, &f)
	f.fill(r)
	verdict, rule := word(pattern)
	if g, ok := strings.CutPrefix(pattern, "Group Policy "); ok {
		// "pattern: Group Policy Allow|Deny": a group policy rule matched.
		verdict, rule = strings.ToLower(strings.TrimSpace(g)), "Group Policy"
	}
	if op == "" {
		op = verdict
	}
	switch op {
	case "allow", "0":
		r.Verdict, r.EventAction = parsers.Allowed, "allow"
	case "deny", "1":
		r.Verdict, r.EventAction = parsers.Denied, "deny"
	}
	r.RuleName = parsers.Clean(strings.TrimSpace(rule))
	r.Category = "network"
	return nil
}

// parseIPFlow reads "src=.. dst=.. protocol=.. sport=.. dport=.. [translated_src_ip=..|translated_dst_ip=..] [translated_port=..]":
// a flow the MX forwarded.
func parseIPFlow(s string, r *parsers.Record) error {
	var f flow
	scanKV(s, &f)
	f.fill(r)
	r.Verdict = parsers.Allowed
	r.Category = "network"
	return nil
}

func (f *flow) fill(r *parsers.Record) {
	r.SourceIP = parsers.ParseIP(f.src)
	r.DestinationIP = parsers.ParseIP(f.dst)
	r.SourcePort = parsers.ParsePort(f.sport)
	r.DestinationPort = parsers.ParsePort(f.dport)
	r.NetworkTransport = netproto.Transport(f.proto)
	r.SourceMAC = parsers.Clean(f.mac)
	// translated_port belongs to whichever address was translated.
	switch {
	case f.natSrc != "":
		r.SourceNATIP = parsers.ParseIP(f.natSrc)
		r.SourceNATPort = parsers.ParsePort(f.natPort)
	case f.natDst != "":
		r.DestinationNATIP = parsers.ParseIP(f.natDst)
		r.DestinationNATPort = parsers.ParsePort(f.natPort)
	}
}

// parseURL reads "src=IP:PORT dst=IP:PORT mac=.. [agent='...'] request: METHOD URL".
// The user agent is single-quoted with spaces inside; the request is last.
func parseURL(s string, r *parsers.Record) error {
	req := ""
	if i := strings.LastIndex(s, "request: "); i >= 0 && (i == 0 || s[i-1] == ' ') {
		req = s[i+len("request: "):]
		s = s[:i]
	} else {
		return fmt.Errorf("%w: no \"request:\"", ErrMalformed)
	}
	if i := strings.Index(s, "agent='"); i >= 0 && (i == 0 || s[i-1] == ' ') {
		ua := s[i+len("agent='"):]
		if j := strings.LastIndexByte(ua, '\''); j >= 0 {
			ua = ua[:j]
		}
		r.UserAgent = parsers.Clean(ua)
		s = s[:i]
	}
	var f flow
	scanKV(s, &f)
	r.SourceIP, r.SourcePort = hostPort(f.src)
	r.DestinationIP, r.DestinationPort = hostPort(f.dst)
	r.SourceMAC = parsers.Clean(f.mac)
	method, url := word(req)
	r.HTTPMethod = parsers.Clean(method)
	parsers.SetURL(r, strings.TrimSpace(url))
	if h := r.URLDomain; h != "" && !parsers.ParseIP(h).IsValid() {
		r.DestinationDomain = h
	}
	switch r.URLScheme {
	case "http", "https":
		r.NetworkProtocol = r.URLScheme
	}
	// The MX logs a URL only for requests it let through.
	r.Verdict = parsers.Allowed
	r.Category = "web"
	r.NetworkTransport = "tcp"
	return nil
}

// hostPort splits "ip:port", "[ipv6]:port" or Meraki's unbracketed
// "ipv6:port" (the port is always logged for urls).
func hostPort(s string) (netip.Addr, parsers.Num) {
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 {
			ip := parsers.ParseIP(s[1:end])
			if p := s[end+1:]; len(p) > 1 && p[0] == ':' {
				return ip, parsers.ParsePort(p[1:])
			}
			return ip, parsers.Num{}
		}
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if ip := parsers.ParseIP(s[:i]); ip.IsValid() {
			return ip, parsers.ParsePort(s[i+1:])
		}
	}
	return parsers.ParseIP(s), parsers.Num{}
}

// scanKV reads space-separated key=value words; Meraki does not quote
// these values.
func scanKV(s string, f *flow) {
	for s != "" {
		var w string
		w, s = word(s)
		if k, v, ok := strings.Cut(w, "="); ok {
			f.set(k, v)
		}
	}
}

// isEpoch reports "1374543213.342705328" (seconds, optional fraction).
func isEpoch(s string) bool {
	sec, frac, _ := strings.Cut(s, ".")
	if len(sec) < 9 || len(sec) > 11 || len(frac) > 9 {
		return false
	}
	for i := 0; i < len(sec); i++ {
		if sec[i] < '0' || sec[i] > '9' {
			return false
		}
	}
	for i := 0; i < len(frac); i++ {
		if frac[i] < '0' || frac[i] > '9' {
			return false
		}
	}
	return true
}

func word(s string) (string, string) {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func short(s string) string {
	if len(s) > 32 {
		return s[:32]
	}
	return s
}

// epochHeader reports the header splitter's reading of Meraki's look-alike
// RFC 5424 header ("<134>1 <epoch> <device> <type> ..."): version 1, a time
// and a host, but no APP-NAME, the type staying in the body.
func epochHeader(h *parsers.Header) bool {
	return h.Version == 1 && h.AppName == "" && h.Hostname != "" && !h.Time.IsZero()
}

// detect: a known Meraki type right after the epoch header (split off or
// still in the body), followed by Meraki's key=value words.
func detect(body string, h *parsers.Header) int {
	epoch, _, rest := head(body)
	if epoch == "" && !epochHeader(h) {
		return 0
	}
	typ, rest := word(rest)
	switch classify(typ) {
	case typeFlow, typeIPFlow, typeURL:
		if strings.Contains(rest, "src=") {
			return 95
		}
		return 60
	case typeOther:
		return 85
	}
	// A type this parser does not know after Meraki's header shape: claimed
	// weakly (other formats' markers win), then skipped.
	if isTypeWord(typ) && (epoch != "" || strings.Contains(rest, "=")) {
		return 45
	}
	return 0
}

// isTypeWord reports a Meraki message type shape: lower case and '_'.
func isTypeWord(s string) bool {
	if s == "" || len(s) > 48 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'a' && c <= 'z' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}
