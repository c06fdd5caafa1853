package ciscoasa

import (
	"fmt"
	"net/netip"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/netproto"
)

// bad describes what a malformed message lacks.
func bad(want string) error { return fmt.Errorf("expected %s: %w", want, ErrMalformed) }

// endpoint is one side of a connection as the message prints it: the real
// socket, the mapped (translated) socket when logged, and the identity
// firewall user attached to that side.
type endpoint struct {
	ip      netip.Addr
	port    parsers.Num
	mapIP   netip.Addr
	mapPort parsers.Num
	user    string
	// extra is the last parenthesised group that is neither the mapped
	// socket nor an identity-firewall user: on the last endpoint of a Built
	// message it is the cut-through-proxy (AAA) user.
	extra string
}

// built handles 302013/302015:
//
//	Built {inbound|outbound} [Probe] {TCP|UDP} connection <id> for <if>:<ip>/<port> (<ip>/<port>) [(user)] to <if>:<ip>/<port> (<ip>/<port>) [(user)] [(aaa-user)]
//
// Inbound: the "for" side initiated. Outbound: the "to" side initiated.
func (p *Parser) built(text string, r *parsers.Record) error {
	s, inbound, proto, err := builtHead(text)
	if err != nil {
		return err
	}
	w, s := word(s)
	if w != "connection" {
		return bad(`"connection"`)
	}
	w, s = word(s)
	id, ok := atou(w)
	if !ok {
		return bad("a connection id")
	}
	var a, b endpoint
	if s, err = expectEndpoint(s, "for", &a, true, true); err != nil {
		return err
	}
	if _, err = expectEndpoint(s, "to", &b, true, true); err != nil {
		return err
	}
	p.conns.put(id, inbound)
	fillConn(r, &a, &b, inbound, b.extra)
	r.NetworkTransport = transport(proto)
	r.EventAction = "built"
	return nil
}

// builtHead reads "Built {inbound|outbound} [Probe] <proto>".
func builtHead(text string) (rest string, inbound bool, proto string, err error) {
	w, s := word(text)
	if w != "Built" {
		return "", false, "", bad(`"Built"`)
	}
	dir, s := word(s)
	switch dir {
	case "inbound":
		inbound = true
	case "outbound":
	default:
		return "", false, "", bad("inbound or outbound")
	}
	proto, s = word(s)
	if proto == "Probe" || proto == "[Probe]" { // FTD health-check probes
		proto, s = word(s)
	}
	if proto == "" {
		return "", false, "", bad("a protocol")
	}
	return s, inbound, proto, nil
}

// teardown handles 302014/302016:
//
//	Teardown {TCP|UDP} connection <id> for <if>:<ip>/<port> [(user)] to <if>:<ip>/<port> [(user)] duration h:mm:ss bytes <n> [reason] [(aaa-user)]
//
// The byte count is the total of both directions.
func (p *Parser) teardown(text string, r *parsers.Record) error {
	w, s := word(text)
	if w != "Teardown" {
		return bad(`"Teardown"`)
	}
	proto, s := word(s)
	w, s = word(s)
	if w != "connection" {
		return bad(`"connection"`)
	}
	w, s = word(s)
	id, ok := atou(w)
	if !ok {
		return bad("a connection id")
	}
	var a, b endpoint
	var err error
	if s, err = expectEndpoint(s, "for", &a, true, false); err != nil {
		return err
	}
	if s, err = expectEndpoint(s, "to", &b, true, false); err != nil {
		return err
	}
	w, s = word(s)
	if w != "duration" {
		return bad(`"duration"`)
	}
	w, s = word(s)
	secs, ok := parseHMS(w)
	if !ok {
		return bad("a duration h:mm:ss")
	}
	w, s = word(s)
	if w != "bytes" {
		return bad(`"bytes"`)
	}
	w, s = word(s)
	n := parsers.ParseNum(w)
	if !n.Set {
		return bad("a byte count")
	}
	inbound, ok := p.conns.take(id)
	if !ok {
		return fmt.Errorf("%w: connection %d", ErrUnpairedTeardown, id)
	}
	fillConn(r, &a, &b, inbound, trailingGroup(s))
	r.NetworkTransport = transport(proto)
	r.NetworkBytes = n
	r.Duration = parsers.N(secs * 1e9)
	r.EventAction = "teardown"
	return nil
}

// fillConn maps the "for" side a and the "to" side b of a connection
// message. The real socket is the address; a different mapped socket is
// the NAT address (the client's translation, or the server's address as
// the other side sees it).
func fillConn(r *parsers.Record, a, b *endpoint, forInitiated bool, aaaUser string) {
	cli, srv := a, b
	dir := "inbound"
	if !forInitiated {
		cli, srv = b, a
		dir = "outbound"
	}
	r.SourceIP, r.SourcePort = cli.ip, cli.port
	if translated(cli) {
		r.SourceNATIP, r.SourceNATPort = cli.mapIP, cli.mapPort
	}
	r.DestinationIP, r.DestinationPort = srv.ip, srv.port
	if translated(srv) {
		r.DestinationNATIP, r.DestinationNATPort = srv.mapIP, srv.mapPort
	}
	switch {
	case cli.user != "":
		parsers.SetUser(r, cli.user)
	case aaaUser != "":
		parsers.SetUser(r, aaaUser)
	}
	r.NetworkDirection = dir
	r.Verdict = parsers.Allowed
	r.Category = "network"
}

func translated(e *endpoint) bool {
	return e.mapIP.IsValid() && (e.mapIP != e.ip || e.mapPort != e.port)
}

// builtICMP handles 302020:
//
//	Built {inbound|outbound} ICMP connection for faddr <ip>/<n> gaddr <ip>/<n> laddr <ip>/<n> [(user)] [type <t> code <c>]
//
// faddr is the foreign host, laddr the local one and gaddr laddr's global
// (translated) address; the numbers are ICMP ids/types, not ports.
func (p *Parser) builtICMP(text string, r *parsers.Record) error {
	s, inbound, proto, err := builtHead(text)
	if err != nil {
		return err
	}
	var f, g, l endpoint
	if _, err = icmpAddrs(s, &f, &g, &l); err != nil {
		return err
	}
	p.icmp.put(icmpKey{f.ip, l.ip}, inbound)
	fillICMP(r, &f, &g, &l, inbound)
	r.NetworkTransport = transport(proto)
	r.EventAction = "built"
	return nil
}

// teardownICMP handles 302021, which has the addresses of 302020 but no
// direction, duration or counters.
func (p *Parser) teardownICMP(text string, r *parsers.Record) error {
	w, s := word(text)
	if w != "Teardown" {
		return bad(`"Teardown"`)
	}
	proto, s := word(s)
	var f, g, l endpoint
	var err error
	if _, err = icmpAddrs(s, &f, &g, &l); err != nil {
		return err
	}
	inbound, ok := p.icmp.take(icmpKey{f.ip, l.ip})
	if !ok {
		return fmt.Errorf("%w: ICMP connection", ErrUnpairedTeardown)
	}
	fillICMP(r, &f, &g, &l, inbound)
	r.NetworkTransport = transport(proto)
	r.EventAction = "teardown"
	return nil
}

// icmpAddrs reads "connection for faddr A gaddr G laddr L [(user)]".
func icmpAddrs(s string, f, g, l *endpoint) (string, error) {
	w, s := word(s)
	if w != "connection" {
		return "", bad(`"connection"`)
	}
	w, s = word(s)
	if w != "for" {
		return "", bad(`"for"`)
	}
	var err error
	if s, err = expectEndpoint(s, "faddr", f, false, false); err != nil {
		return "", err
	}
	if s, err = expectEndpoint(s, "gaddr", g, false, false); err != nil {
		return "", err
	}
	if s, err = expectEndpoint(s, "laddr", l, false, false); err != nil {
		return "", err
	}
	return s, nil
}

func fillICMP(r *parsers.Record, f, g, l *endpoint, inbound bool) {
	// ICMP "ports" are ids and types; they do not belong in the port fields.
	if inbound {
		r.SourceIP = f.ip
		r.DestinationIP = l.ip
		if g.ip.IsValid() && g.ip != l.ip {
			r.DestinationNATIP = g.ip
		}
		r.NetworkDirection = "inbound"
	} else {
		r.SourceIP = l.ip
		if g.ip.IsValid() && g.ip != l.ip {
			r.SourceNATIP = g.ip
		}
		r.DestinationIP = f.ip
		r.NetworkDirection = "outbound"
		parsers.SetUser(r, l.user)
	}
	r.Verdict = parsers.Allowed
	r.Category = "network"
}

// denySrcDst handles 106023, 106010 and 106014:
//
//	Deny [inbound] <proto> src <if>:<ip>[/<port>] [(user)] dst <if>:<ip>[/<port>] [(user)] [(type t, code c)] [by access-group "<acl>" [...]]
//
// 106023 writes unnamed protocols as "protocol 47".
func denySrcDst(text string, r *parsers.Record) error {
	w, s := word(text)
	if w != "Deny" {
		return bad(`"Deny"`)
	}
	proto := ""
	for {
		w, s = word(s)
		switch w {
		case "":
			return bad(`"src"`)
		case "inbound", "outbound":
			r.NetworkDirection = w
			continue
		case "protocol":
			proto, s = word(s)
			continue
		}
		if w == "src" {
			break
		}
		proto = w
	}
	var a, b endpoint
	var err error
	if s, err = parseEndpoint(s, &a, true, false); err != nil {
		return err
	}
	if s, err = expectEndpoint(s, "dst", &b, true, false); err != nil {
		return err
	}
	if i := strings.Index(s, `by access-group "`); i >= 0 {
		acl := s[i+len(`by access-group "`):]
		if j := strings.IndexByte(acl, '"'); j >= 0 {
			r.RuleName = acl[:j]
		}
	}
	fillPacket(r, &a, &b, proto)
	r.Verdict = parsers.Denied
	r.EventAction = "deny"
	return nil
}

// fillPacket maps a packet-level message: source and destination as written.
func fillPacket(r *parsers.Record, src, dst *endpoint, proto string) {
	r.SourceIP, r.SourcePort = src.ip, src.port
	r.DestinationIP, r.DestinationPort = dst.ip, dst.port
	parsers.SetUser(r, src.user)
	r.NetworkTransport = transport(proto)
	r.Category = "network"
}

// accessList handles 106100 and the per-user 106102/106103:
//
//	access-list <acl> {permitted|denied|est-allowed} <proto> <if>/<ip>(<port>) [(user)] [->] <if>/<ip>(<port>) [(user)] hit-cnt <n> ...
//	access-list <acl> {permitted|denied} <proto> for user <user> <if>/<ip>(<port>) -> <if>/<ip>(<port>) hit-cnt <n> ...
//
// For ICMP the parenthesised numbers are type and code, not ports.
func accessList(text string, r *parsers.Record) error {
	w, s := word(text)
	if w != "access-list" {
		return bad(`"access-list"`)
	}
	acl, s := word(s)
	action, s := word(s)
	switch action {
	case "permitted", "est-allowed":
		r.Verdict = parsers.Allowed
	case "denied":
		r.Verdict = parsers.Denied
	default:
		return bad("permitted, denied or est-allowed")
	}
	proto, s := word(s)
	if proto == "" {
		return bad("a protocol")
	}
	var a, b endpoint
	// 106102/106103: "for user <name>" before the endpoints.
	if t := trimSpaces(s); strings.HasPrefix(t, "for user ") {
		a.user, s = word(t[len("for user "):])
		a.user = strings.Trim(a.user, "'")
	}
	ports := !netproto.IsICMP(netproto.Transport(proto))
	var err error
	if s, err = aclEndpoint(s, &a, ports); err != nil {
		return err
	}
	if t := trimSpaces(s); strings.HasPrefix(t, "->") {
		s = t[2:]
	}
	if _, err = aclEndpoint(s, &b, ports); err != nil {
		return err
	}
	fillPacket(r, &a, &b, proto)
	r.RuleName = acl
	r.EventAction = action
	return nil
}

// aclEndpoint reads "<if>/<ip>(<port>)" and any following groups.
func aclEndpoint(s string, e *endpoint, ports bool) (string, error) {
	s = trimSpaces(s)
	end := tokenEnd(s)
	tok := s[:end]
	slash := strings.IndexByte(tok, '/')
	if slash < 0 {
		return "", bad("<interface>/<address>")
	}
	e.ip = parsers.ParseIP(tok[slash+1:])
	if !e.ip.IsValid() {
		return "", bad("an address")
	}
	rest, first, ok := groups(s[end:], e, false)
	if !ok {
		return "", bad("a closing parenthesis")
	}
	if ports {
		e.port = parsers.ParsePort(first)
	}
	return rest, nil
}

// denyFromTo handles the "from <ip>/<port> to <ip>/<port>" deny messages:
//
//	106001 Inbound TCP connection denied from <ip>/<port> to <ip>/<port> flags <flags> on interface <if>
//	106006 Deny inbound UDP from <ip>/<port> to <ip>/<port> on interface <if>
//	106007 Deny inbound UDP from <ip>/<port> to <ip>/<port> due to DNS {Response|Query}
//	106015 Deny TCP (no connection) from <ip>/<port> to <ip>/<port> flags <flags> on interface <if>
//	710003 {TCP|UDP} access denied by ACL from <ip>/<port> to <if>:<ip>/<service>
//	710005 {TCP|UDP|SCTP} request discarded from <ip>/<port> to <if>:<ip>/<service>
func denyFromTo(id, text string, r *parsers.Record) error {
	head, rest, ok := strings.Cut(text, " from ")
	if !ok {
		return bad(`"from"`)
	}
	w1, h := word(head)
	w2, h := word(h)
	w3, _ := word(h)
	var proto string
	action := "deny"
	switch id {
	case "106001": // Inbound TCP connection denied
		proto, action = w2, "denied"
		r.NetworkDirection = "inbound"
	case "106006", "106007": // Deny inbound UDP
		proto = w3
		r.NetworkDirection = "inbound"
		if id == "106007" && strings.Contains(rest, " due to DNS ") {
			r.NetworkProtocol = "dns"
		}
	case "106015": // Deny TCP (no connection)
		proto = w2
	case "710003": // TCP access denied by ACL
		proto, action = w1, "denied"
	case "710005": // TCP request discarded
		proto, action = w1, "discarded"
	}
	var a, b endpoint
	var err error
	if rest, err = parseEndpoint(rest, &a, false, false); err != nil {
		return err
	}
	w, rest := word(rest)
	if w != "to" {
		return bad(`"to"`)
	}
	if _, err = parseEndpoint(rest, &b, id == "710003" || id == "710005", false); err != nil {
		return err
	}
	fillPacket(r, &a, &b, proto)
	r.Verdict = parsers.Denied
	r.EventAction = action
	return nil
}

// denyAddrs handles the denies that log bare addresses:
//
//	106012 Deny IP from <ip> to <ip>, IP options: "<options>"
//	106016 Deny IP spoof from (<ip>) to <ip> on interface <if>
//	106017 Deny IP due to Land Attack from <ip> to <ip>
//	106020 Deny IP teardrop fragment (size = n, offset = n) from <ip> to <ip>
//	106021 Deny <proto> reverse path check from <ip> to <ip> on interface <if>
//	106022 Deny <proto> connection spoof from <ip> to <ip> on interface <if>
//	313004 Denied ICMP type=<t>, from laddr <ip> on interface <if> to <ip>: no matching session
func denyAddrs(id, text string, r *parsers.Record) error {
	head, rest, ok := strings.Cut(text, " from ")
	if !ok {
		return bad(`"from"`)
	}
	_, h := word(head)
	proto, _ := word(h)
	src, rest := word(rest)
	if id == "313004" {
		proto = "icmp"
		if src == "laddr" || src == "faddr" {
			src, rest = word(rest)
		}
		_, after, ok := strings.Cut(rest, " to ")
		if !ok {
			return bad(`"to"`)
		}
		rest = after
	} else {
		w, after := word(rest)
		if w != "to" {
			return bad(`"to"`)
		}
		rest = after
	}
	dst, _ := word(rest)
	r.SourceIP = parsers.ParseIP(strings.Trim(src, "(),"))
	r.DestinationIP = parsers.ParseIP(strings.TrimRight(dst, ",:"))
	if !r.SourceIP.IsValid() || !r.DestinationIP.IsValid() {
		return bad("source and destination addresses")
	}
	r.NetworkTransport = transport(proto)
	r.Verdict = parsers.Denied
	r.EventAction = "deny"
	if id == "313004" {
		r.EventAction = "denied"
	}
	r.Category = "network"
	return nil
}

// urlAccessed handles 304001:
//
//	[<user>@]<ip> [(user)] Accessed [JAVA] URL <ip>:<url>
func urlAccessed(text string, r *parsers.Record) error {
	src, rest, ok := strings.Cut(text, " Accessed ")
	if !ok {
		return bad(`"Accessed"`)
	}
	var a endpoint
	end := tokenEnd(src)
	tok := src[:end]
	if at := strings.LastIndexByte(tok, '@'); at >= 0 {
		a.user = tok[:at]
		tok = tok[at+1:]
	}
	if a.ip = parsers.ParseIP(tok); !a.ip.IsValid() {
		return bad("a source address")
	}
	if _, _, ok := groups(src[end:], &a, false); !ok {
		return bad("a closing parenthesis")
	}
	rest = trimSpaces(rest)
	rest = strings.TrimPrefix(rest, "JAVA ")
	if !strings.HasPrefix(rest, "URL ") {
		return bad(`"URL"`)
	}
	rest = strings.TrimSpace(rest[4:])
	dst, url, ok := splitAddrURL(rest)
	if !ok {
		return bad("<address>:<url>")
	}
	r.SourceIP = a.ip
	r.DestinationIP = dst
	parsers.SetUser(r, a.user)
	setURL(r, url)
	r.Verdict = parsers.Allowed
	r.EventAction = "accessed"
	r.Category = "web"
	r.NetworkTransport = "tcp"
	return nil
}

// setURL fills url.* and, from the URL, the server's host name and the
// application protocol its scheme names.
func setURL(r *parsers.Record, url string) {
	parsers.SetURL(r, url)
	if h := r.URLDomain; h != "" && !parsers.ParseIP(h).IsValid() {
		r.DestinationDomain = h
	}
	switch r.URLScheme {
	case "http", "https", "ftp":
		r.NetworkProtocol = r.URLScheme
	}
}

// splitAddrURL splits "<ip>:<url>" at the first colon whose prefix is an
// address, so IPv6 destinations work.
func splitAddrURL(s string) (netip.Addr, string, bool) {
	for i := 0; i < len(s) && i < 48; i++ {
		if s[i] != ':' {
			continue
		}
		if ip := parsers.ParseIP(s[:i]); ip.IsValid() {
			return ip, s[i+1:], true
		}
	}
	return netip.Addr{}, "", false
}

// urlDenied handles 304002:
//
//	Access denied URL <url> SRC <ip> DEST <ip>[: <text>]
func urlDenied(text string, r *parsers.Record) error {
	rest, ok := strings.CutPrefix(text, "Access denied URL ")
	if !ok {
		return bad(`"Access denied URL"`)
	}
	url, rest := word(rest)
	w, rest := word(rest)
	if w != "SRC" {
		return bad(`"SRC"`)
	}
	src, rest := word(rest)
	w, rest = word(rest)
	if w != "DEST" {
		return bad(`"DEST"`)
	}
	dst, _ := word(rest)
	r.SourceIP = parsers.ParseIP(src)
	r.DestinationIP = parsers.ParseIP(strings.TrimSuffix(dst, ":"))
	if !r.SourceIP.IsValid() || !r.DestinationIP.IsValid() {
		return bad("source and destination addresses")
	}
	setURL(r, url)
	r.Verdict = parsers.Denied
	r.EventAction = "denied"
	r.Category = "web"
	r.NetworkTransport = "tcp"
	return nil
}

// expectEndpoint reads the keyword kw and an endpoint, "<if>:<ip>/<port>"
// when iface is set.
func expectEndpoint(s, kw string, e *endpoint, iface, mapped bool) (string, error) {
	w, s := word(s)
	if w != kw {
		return "", bad(`"` + kw + `"`)
	}
	return parseEndpoint(s, e, iface, mapped)
}

// parseEndpoint reads "[<if>:]<ip>[/<port>]" and the parenthesised groups
// after it: with mapped set the first "(<ip>/<port>)" group is the mapped
// socket; groups naming a DOMAIN\user or user@domain are identity-firewall
// users; other groups (ICMP type/code, security-group tags) are kept in
// e.extra or ignored.
func parseEndpoint(s string, e *endpoint, iface, mapped bool) (string, error) {
	s = trimSpaces(s)
	end := tokenEnd(s)
	tok := s[:end]
	if iface && strings.IndexByte(tok, ':') < 0 {
		// An interface name with spaces: "NP Identity Ifc:10.1.1.1/22".
		lim := s[:min(len(s), maxIfaceName)]
		if c := strings.IndexByte(lim, ':'); c > 0 && !strings.ContainsAny(lim[:c], "()/") {
			s = s[c+1:]
			end = tokenEnd(s)
			tok = s[:end]
			iface = false
		}
	}
	if !setAddrPort(tok, &e.ip, &e.port, iface) {
		return "", bad("an address in " + quoteShort(tok))
	}
	rest, _, ok := groups(s[end:], e, mapped)
	if !ok {
		return "", bad("a closing parenthesis")
	}
	return rest, nil
}

// maxIfaceName bounds an interface name that holds spaces.
const maxIfaceName = 48

// setAddrPort parses "[<if>:]<ip>[/<port>]". An IPv6 address keeps its
// colons: the interface is cut at the first colon only when the whole does
// not parse as an address.
func setAddrPort(tok string, ip *netip.Addr, port *parsers.Num, iface bool) bool {
	addr, portStr := tok, ""
	if i := strings.LastIndexByte(tok, '/'); i >= 0 {
		addr, portStr = tok[:i], tok[i+1:]
	}
	a := netip.Addr{}
	if !iface {
		a = parsers.ParseIP(addr)
	}
	if !a.IsValid() {
		if c := strings.IndexByte(addr, ':'); c >= 0 {
			a = parsers.ParseIP(addr[c+1:])
		} else if iface {
			a = parsers.ParseIP(addr)
		}
	}
	if !a.IsValid() {
		return false
	}
	*ip = a
	*port = parsers.ParsePort(portStr)
	return true
}

// groups consumes the parenthesised groups at the start of s (spaces
// allowed between them). It returns the rest, the first group's text and
// false for an unclosed group.
func groups(s string, e *endpoint, mapped bool) (rest, first string, ok bool) {
	n := 0
	for {
		t := trimSpaces(s)
		if len(t) == 0 || t[0] != '(' {
			return s, first, true
		}
		end := strings.IndexByte(t, ')')
		if end < 0 {
			return "", first, false
		}
		g := t[1:end]
		s = t[end+1:]
		if n == 0 {
			first = g
		}
		n++
		switch {
		case mapped && !e.mapIP.IsValid() && setAddrPort(g, &e.mapIP, &e.mapPort, false):
		case isUserGroup(g):
			e.user = userOf(g)
		case g != "" && !strings.ContainsAny(g, " ,") && !isSGT(g):
			e.extra = g
		}
	}
}

// isUserGroup tells an identity-firewall user ("CORP\jdoe", "LOCAL\admin",
// "jdoe@example.com", optionally followed by ", <sgt>") from other groups.
func isUserGroup(g string) bool {
	u := userOf(g)
	return strings.IndexByte(u, '\\') > 0 || strings.IndexByte(u, '@') > 0
}

// isSGT reports a security group tag group, "12" or "12:Employees".
func isSGT(g string) bool {
	tag, _, _ := strings.Cut(g, ":")
	_, ok := atou(tag)
	return ok
}

func userOf(g string) string {
	if i := strings.IndexByte(g, ','); i >= 0 {
		g = g[:i]
	}
	return strings.TrimSpace(g)
}

// trailingGroup returns the text of a "(...)" group that ends s, if any.
func trailingGroup(s string) string {
	s = strings.TrimRight(s, " ")
	if len(s) < 2 || s[len(s)-1] != ')' {
		return ""
	}
	i := strings.LastIndexByte(s, '(')
	if i < 0 {
		return ""
	}
	return userOf(s[i+1 : len(s)-1])
}

// parseHMS parses an ASA duration "h:mm:ss" (hours unbounded) into seconds.
func parseHMS(s string) (int64, bool) {
	c2 := strings.LastIndexByte(s, ':')
	if c2 < 0 {
		return 0, false
	}
	c1 := strings.LastIndexByte(s[:c2], ':')
	if c1 < 0 {
		return 0, false
	}
	h, ok1 := atou(s[:c1])
	m, ok2 := atou(s[c1+1 : c2])
	sec, ok3 := atou(s[c2+1:])
	if !ok1 || !ok2 || !ok3 || m > 59 || sec > 59 || h > 1<<31 {
		return 0, false
	}
	return int64(h*3600 + m*60 + sec), true
}

// transport names a protocol word or number the way ECS network.transport
// does.
func transport(p string) string { return netproto.Transport(p) }

// tokenEnd returns the length of the address token at the start of s: up
// to a space or an opening parenthesis.
func tokenEnd(s string) int {
	for i := 0; i < len(s); i++ {
		if s[i] == ' ' || s[i] == '(' {
			return i
		}
	}
	return len(s)
}

// word returns the next space-separated word of s and the rest.
func word(s string) (string, string) {
	s = trimSpaces(s)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func trimSpaces(s string) string {
	for len(s) > 0 && s[0] == ' ' {
		s = s[1:]
	}
	return s
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// atou parses a decimal of at most 19 digits.
func atou(s string) (uint64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n uint64
	for i := 0; i < len(s); i++ {
		if !isDigit(s[i]) {
			return 0, false
		}
		n = n*10 + uint64(s[i]-'0')
	}
	return n, true
}

// quoteShort quotes at most 40 bytes of s for an error message.
func quoteShort(s string) string {
	if len(s) > 40 {
		s = s[:40] + "..."
	}
	return fmt.Sprintf("%q", s)
}
