package checkpoint

import "strings"

// fields holds the Check Point log fields of one line, as logged, so the
// precedence between synonyms (client_outbound_bytes over sent_bytes, time
// over rt...) is decided once in finish whatever the syntax.
type fields struct {
	action, product, time, loguid       string
	src, dst, sport, dport, proto       string
	xlatesrc, xlatesport                string
	xlatedst, xlatedport                string
	user, userAlt, userAlt2             string
	srcMachine, dstMachine, dnsHost     string
	resource, url, httpHost             string
	method, userAgent, referrer         string
	app, appCategory, urlCategory       string
	appRisk, rule, threat, mac, ifdir   string
	cob, sob, sent, recv, bytes         string
	cop, sop, packets                   string
	origin, originSIC, hostname         string
	headerTime, headerHost              string
	administrator, operation, auditStat string
}

// set stores one Check Point field and reports whether the key is one
// this parser uses.
func (f *fields) set(k, v string) bool {
	switch k {
	case "action":
		f.action = v
	case "product", "ProductName":
		f.product = v
	case "time":
		if f.time == "" { // the Splunk form repeats time; the first is the event's
			f.time = v
		}
	case "loguid":
		f.loguid = v
	case "src":
		f.src = v
	case "dst":
		f.dst = v
	case "s_port", "sport_svc":
		f.sport = v
	case "service", "svc", "d_port":
		f.dport = v
	case "proto":
		f.proto = v
	case "xlatesrc":
		f.xlatesrc = v
	case "xlatesport", "xlatesport_svc":
		f.xlatesport = v
	case "xlatedst":
		f.xlatedst = v
	case "xlatedport", "xlatedport_svc":
		f.xlatedport = v
	case "src_user_name":
		f.user = v
	case "user":
		f.userAlt = v
	case "source_user_name":
		f.userAlt2 = v
	case "src_machine_name":
		f.srcMachine = v
	case "dst_machine_name":
		f.dstMachine = v
	case "destination_dns_hostname":
		f.dnsHost = v
	case "resource":
		f.resource = v
	case "url":
		f.url = v
	case "http_host":
		f.httpHost = v
	case "method":
		f.method = v
	case "user_agent":
		f.userAgent = v
	case "referrer":
		f.referrer = v
	case "appi_name":
		f.app = v
	case "app_name":
		if f.app == "" {
			f.app = v
		}
	case "app_category":
		f.appCategory = v
	case "matched_category":
		f.urlCategory = v
	case "categories":
		if f.urlCategory == "" {
			f.urlCategory = v
		}
	case "app_risk":
		f.appRisk = v
	case "rule_name":
		f.rule = v
	case "protection_name":
		f.threat = v
	case "mac_source_address":
		f.mac = v
	case "ifdir":
		f.ifdir = v
	case "client_outbound_bytes":
		f.cob = v
	case "server_outbound_bytes":
		f.sob = v
	case "sent_bytes", "sent_byte":
		f.sent = v
	case "received_bytes":
		f.recv = v
	case "bytes":
		f.bytes = v
	case "client_outbound_packets":
		f.cop = v
	case "server_outbound_packets":
		f.sop = v
	case "packets":
		f.packets = v
	case "origin":
		f.origin = v
	case "originsicname":
		f.originSIC = v
	case "hostname":
		f.hostname = v
	case "administrator":
		f.administrator = v
	case "operation":
		f.operation = v
	case "audit_status":
		f.auditStat = v
	default:
		return false
	}
	return true
}

// scanBracket reads Log Exporter's `key:"value"; key:"value"` list (the
// brackets already removed). Values are double-quoted with \" \\ and \]
// escaped and may hold "; ", ':' and '='; an unquoted value runs to the
// next ';'.
func (f *fields) scanBracket(s string) {
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == ' ' || s[i] == ';') {
			i++
		}
		if i >= len(s) {
			return
		}
		c := strings.IndexByte(s[i:], ':')
		if c < 0 {
			return
		}
		key := strings.TrimSpace(s[i : i+c])
		i += c + 1
		for i < len(s) && s[i] == ' ' {
			i++
		}
		var val string
		if i < len(s) && s[i] == '"' {
			end, esc := quoted(s, i+1)
			if end < 0 {
				val, i = s[i+1:], len(s) // unterminated: the rest is the value
			} else {
				val = s[i+1 : end]
				if esc {
					val = unescape(val)
				}
				i = end + 1
			}
		} else {
			end := strings.IndexByte(s[i:], ';')
			if end < 0 {
				end = len(s) - i
			}
			val = strings.TrimSpace(s[i : i+end])
			i += end
		}
		f.set(key, val)
	}
}

// quoted returns the index of the quote closing a value that starts at i,
// and whether the value holds escapes unescape removes (a backslash that
// escapes nothing, as in CORP\jdoe, costs no copy); -1 if it never closes.
// It jumps from quote to quote, looking for backslashes only before each.
func quoted(s string, i int) (int, bool) {
	esc := false
	for j := i; j < len(s); {
		q := strings.IndexByte(s[j:], '"')
		if q < 0 {
			return -1, esc
		}
		q += j
		b := strings.IndexByte(s[j:q], '\\')
		if b < 0 {
			return q, esc
		}
		b += j // a backslash escapes the next byte, which may be the quote
		if b+1 < len(s) && (s[b+1] == '"' || s[b+1] == '\\' || s[b+1] == ']') {
			esc = true
		}
		j = b + 2
	}
	return -1, esc
}

// unescape removes the \" \\ and \] escapes of a quoted value; other
// backslashes (CORP\jdoe) stay.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '"' || s[i+1] == '\\' || s[i+1] == ']') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// scanPipe reads the Splunk/generic form `key=value|key=value|` where '=',
// '|' and '\' inside values are backslash-escaped.
func (f *fields) scanPipe(s string) {
	for len(s) > 0 {
		end := unescapedIndex(s, '|')
		piece := s
		if end >= 0 {
			piece, s = s[:end], s[end+1:]
		} else {
			s = ""
		}
		eq := unescapedIndex(piece, '=')
		if eq <= 0 {
			continue
		}
		v := piece[eq+1:]
		if pipeEscaped(v) {
			v = unescapePipe(v)
		}
		f.set(strings.TrimSpace(piece[:eq]), v)
	}
}

// unescapedIndex returns the index of the first c in s not preceded by an
// odd number of backslashes, or -1.
func unescapedIndex(s string, c byte) int {
	off := 0
	for {
		i := strings.IndexByte(s[off:], c)
		if i < 0 {
			return -1
		}
		i += off
		n := 0
		for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
			n++
		}
		if n%2 == 0 {
			return i
		}
		off = i + 1
	}
}

// pipeEscaped reports whether s holds an escape unescapePipe removes, so
// a value with only literal backslashes (CORP\jdoe) is not copied.
func pipeEscaped(s string) bool {
	for {
		i := strings.IndexByte(s, '\\')
		if i < 0 || i+1 >= len(s) {
			return false
		}
		if c := s[i+1]; c == '=' || c == '|' || c == '\\' {
			return true
		}
		s = s[i+2:]
	}
}

func unescapePipe(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '=' || s[i+1] == '|' || s[i+1] == '\\') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
