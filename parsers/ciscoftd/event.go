package ciscoftd

import (
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/ciscoasa"
	"github.com/cloudscout/cloudscout/parsers/internal/netproto"
)

// event holds the raw values of one connection event.
type event struct {
	action, ruleName                  string
	srcIP, dstIP, srcPort, dstPort    string
	protocol, user, userAgent, client string
	appProto, webApp, duration        string
	iPkts, rPkts, iBytes, rBytes      string
	httpStatus, referer, host, url    string
	urlCat                            string
	natSrcIP, natSrcPort, natDstIP    string
	natDstPort                        string
}

func (e *event) set(k, v string) {
	switch k {
	case "AccessControlRuleAction":
		e.action = v
	case "AccessControlRuleName":
		e.ruleName = v
	case "SrcIP":
		e.srcIP = v
	case "DstIP":
		e.dstIP = v
	case "SrcPort":
		e.srcPort = v
	case "DstPort":
		e.dstPort = v
	case "Protocol":
		e.protocol = v
	case "User", "UserName":
		if e.user == "" || !isNoUser(v) {
			e.user = v
		}
	case "UserAgent":
		e.userAgent = v
	case "Client":
		e.client = v
	case "ApplicationProtocol":
		e.appProto = v
	case "WebApplication", "WebApp":
		e.webApp = v
	case "ConnectionDuration":
		e.duration = v
	case "InitiatorPackets":
		e.iPkts = v
	case "ResponderPackets":
		e.rPkts = v
	case "InitiatorBytes":
		e.iBytes = v
	case "ResponderBytes":
		e.rBytes = v
	case "HTTPResponse":
		e.httpStatus = v
	case "HTTPReferer":
		e.referer = v
	case "ReferencedHost":
		e.host = v
	case "URL":
		e.url = v
	case "URLCategory":
		e.urlCat = v
	case "NAT_InitiatorIP":
		e.natSrcIP = v
	case "NAT_InitiatorPort":
		e.natSrcPort = v
	case "NAT_ResponderIP":
		e.natDstIP = v
	case "NAT_ResponderPort":
		e.natDstPort = v
	}
}

// parseEvent maps a 430002/430003 (or SFIMS) "Key: Value, Key: Value" list.
func parseEvent(text string, r *parsers.Record) error {
	text = strings.TrimPrefix(text, "SFIMS: ")
	var e event
	scanPairs(text, &e)
	r.SourceIP = parsers.ParseIP(e.srcIP)
	r.DestinationIP = parsers.ParseIP(e.dstIP)
	if !r.SourceIP.IsValid() || !r.DestinationIP.IsValid() {
		return errNoAddrs
	}
	r.NetworkTransport = netproto.Transport(e.protocol)
	// ICMP events carry ICMPType/ICMPCode; ports, when present, are not ports.
	if !netproto.IsICMP(r.NetworkTransport) {
		r.SourcePort = parsers.ParsePort(e.srcPort)
		r.DestinationPort = parsers.ParsePort(e.dstPort)
	}
	if ip := parsers.ParseIP(e.natSrcIP); ip.IsValid() && (ip != r.SourceIP || parsers.ParsePort(e.natSrcPort) != r.SourcePort) {
		r.SourceNATIP, r.SourceNATPort = ip, parsers.ParsePort(e.natSrcPort)
	}
	if ip := parsers.ParseIP(e.natDstIP); ip.IsValid() && (ip != r.DestinationIP || parsers.ParsePort(e.natDstPort) != r.DestinationPort) {
		r.DestinationNATIP, r.DestinationNATPort = ip, parsers.ParsePort(e.natDstPort)
	}
	r.EventAction = parsers.Clean(e.action)
	r.Verdict = verdict(e.action)
	r.RuleName = parsers.Clean(e.ruleName)
	if !isNoUser(e.user) {
		parsers.SetUser(r, e.user)
	}
	// Initiator = client: FTD counts per connection side.
	r.SourceBytes = parsers.ParseNum(e.iBytes)
	r.DestinationBytes = parsers.ParseNum(e.rBytes)
	r.SourcePackets = parsers.ParseNum(e.iPkts)
	r.DestinationPackets = parsers.ParseNum(e.rPkts)
	if d := parsers.ParseNum(e.duration); d.Set {
		r.Duration = parsers.N(d.V * 1e9)
	}
	switch {
	case !parsers.IsEmpty(e.webApp):
		r.NetworkApplication = e.webApp
	case !parsers.IsEmpty(e.appProto):
		r.NetworkApplication = e.appProto
	case !parsers.IsEmpty(e.client):
		r.NetworkApplication = e.client
	}
	r.NetworkProtocol = netproto.AppProtocol(e.appProto)
	r.UserAgent = parsers.Clean(e.userAgent)
	r.HTTPStatus = parsers.ParseStatus(e.httpStatus)
	r.HTTPReferrer = parsers.Clean(e.referer)
	r.DestinationDomain = hostOnly(e.host)
	parsers.SetURL(r, e.url)
	if r.DestinationDomain == "" {
		r.DestinationDomain = hostOnly(r.URLDomain)
	}
	r.URLCategory = parsers.Clean(e.urlCat)
	r.Category = "network"
	r.ObserverVendor = "Cisco"
	r.ObserverProduct = product
	return nil
}

var errNoAddrs = fmt.Errorf("connection event without SrcIP and DstIP: %w", ciscoasa.ErrMalformed)

// scanPairs walks "Key: Value, Key: Value". Values may contain ", " (user
// agents, policy names), so a pair ends only at ", " followed by something
// shaped like a key: letters, digits, '_', '/' or single spaces, then ": ".
func scanPairs(s string, e *event) {
	for len(s) > 0 {
		s = strings.TrimLeft(s, " ")
		colon := strings.Index(s, ": ")
		if colon <= 0 {
			return
		}
		key := s[:colon]
		v := s[colon+2:]
		end := len(v)
		next := ""
		for off := 0; ; {
			i := strings.Index(v[off:], ", ")
			if i < 0 {
				break
			}
			i += off
			if keyAhead(v[i+2:]) {
				end = i
				next = v[i+2:]
				break
			}
			off = i + 2
		}
		e.set(key, strings.TrimSpace(v[:end]))
		if next == "" {
			return
		}
		s = next
	}
}

// keyAhead reports whether s starts with a key followed by ": " or ":" at
// the end of the line.
func keyAhead(s string) bool {
	for i := 0; i < len(s) && i < 48; i++ {
		c := s[i]
		switch {
		case c >= 'A' && c <= 'Z', c >= 'a' && c <= 'z', c == '_':
		case c >= '0' && c <= '9', c == '/', c == ' ':
			if i == 0 || (c == ' ' && s[i-1] == ' ') {
				return false
			}
		case c == ':':
			return i > 0 && s[i-1] != ' ' && (i+1 == len(s) || s[i+1] == ' ')
		default:
			return false
		}
	}
	return false
}

// verdict maps AccessControlRuleAction.
func verdict(a string) parsers.Verdict {
	switch a {
	case "Allow", "Trust", "Fastpath":
		return parsers.Allowed
	case "Block", "Block with reset", "Interactive Block", "Interactive Block with reset":
		return parsers.Denied
	}
	return parsers.VerdictUnknown
}

// isNoUser tells the sentinels FTD writes when no user is known.
func isNoUser(u string) bool {
	switch u {
	case "No Authentication Required", "Not Found", "Pending", "Guest":
		return true
	}
	return parsers.IsEmpty(u)
}

// hostOnly returns the host name of an HTTP Host value ("files.example.com:8443"
// gives "files.example.com"); an address is not a domain name.
func hostOnly(h string) string {
	h = parsers.Clean(h)
	if i := strings.LastIndexByte(h, ':'); i > 0 && strings.IndexByte(h, ':') == i {
		if parsers.ParsePort(h[i+1:]).Set {
			h = h[:i]
		}
	}
	if h == "" || parsers.ParseIP(h).IsValid() || strings.HasPrefix(h, "[") {
		return ""
	}
	return h
}
