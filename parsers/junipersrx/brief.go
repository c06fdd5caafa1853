package junipersrx

import (
	"fmt"
	"strings"
)

// maxTokens bounds the words of a brief message read positionally; Junos
// 23 writes about 30.
const maxTokens = 48

// parseBrief reads the positional text of a brief RT_FLOW message:
//
//	session created S/sp->D/dp [0xTAG] SERVICE NS/nsp->ND/ndp [0xTAG] RULES... PROTO POLICY FROM TO SESSION [USER(ROLES) IF APP NESTED ...]
//	session closed REASON: S/sp->D/dp [0xTAG] SERVICE NS/nsp->ND/ndp [0xTAG] RULES... PROTO POLICY FROM TO SESSION P(B) P(B) ELAPSED [APP NESTED USER(ROLES) IF ...]
//	session denied S/sp->D/dp [0xTAG] SERVICE PROTO(ICMPTYPE) POLICY FROM TO [APP NESTED USER(ROLES) IF ...]
//
// Junos versions differ in the connection tags and NAT rule tokens (the
// rule type "source rule" is two words), so the fixed run PROTO POLICY FROM
// TO SESSION is found by its shape rather than by position.
func parseBrief(s string, k kind, f *fields) error {
	lim := min(len(s), 96)
	i := strings.Index(s[:lim], "session ")
	if i < 0 {
		return fmt.Errorf("%w: no \"session\" text", ErrMalformed)
	}
	s = s[i+len("session "):]
	switch {
	case strings.HasPrefix(s, "created "):
		s = s[len("created "):]
	case strings.HasPrefix(s, "denied "):
		s = s[len("denied "):]
	case strings.HasPrefix(s, "closed "):
		// The close reason may hold spaces ("TCP FIN", "idle Timeout") and
		// ends with ": " before the first address pair.
		j := strings.Index(s, ": ")
		if j < 0 {
			return fmt.Errorf("%w: close reason not followed by \": \"", ErrMalformed)
		}
		f.reason = s[len("closed "):j]
		s = s[j+2:]
	default:
		return fmt.Errorf("%w: unknown session verb", ErrMalformed)
	}
	var buf [maxTokens]string
	t := fieldsN(s, buf[:])
	if len(t) < 4 {
		return fmt.Errorf("%w: truncated after %d words", ErrMalformed, len(t))
	}
	if !setPair(t[0], &f.srcIP, &f.srcPort, &f.dstIP, &f.dstPort) {
		return fmt.Errorf("%w: no source->destination pair", ErrMalformed)
	}
	n := 1
	if n < len(t) && isTag(t[n]) {
		n++
	}
	f.service = t[n]
	n++
	if k == kindDeny {
		return briefDeny(t, n, f)
	}
	if n >= len(t) || !setPair(t[n], &f.natSrcIP, &f.natSrcPort, &f.natDstIP, &f.natDstPort) {
		return fmt.Errorf("%w: no NAT address pair", ErrMalformed)
	}
	n++
	if n < len(t) && isTag(t[n]) {
		n++
	}
	j := -1
	for c := n; c <= n+8 && c+4 < len(t); c++ {
		if !isNum(t[c]) || !isNum(t[c+4]) {
			continue
		}
		next := ""
		if c+5 < len(t) {
			next = t[c+5]
		}
		if k == kindClose && isCounter(next) || k == kindCreate && (next == "" || isParen(next)) {
			j = c
			break
		}
	}
	if j < 0 {
		return fmt.Errorf("%w: no protocol/policy/zone/session run", ErrMalformed)
	}
	f.protocol, f.policy = t[j], t[j+1]
	rest := t[j+5:]
	if k == kindCreate {
		// USER(ROLES) IF APP NESTED ...
		if len(rest) > 0 {
			f.user = userOf(rest[0])
		}
		if len(rest) > 3 {
			f.app, f.nestedApp = rest[2], rest[3]
		}
		return nil
	}
	// P(B) P(B) ELAPSED [APP NESTED] USER(ROLES) ...
	f.pktsC, f.bytesC = counter(rest[0])
	if len(rest) < 2 || !isCounter(rest[1]) {
		return fmt.Errorf("%w: no server counters", ErrMalformed)
	}
	f.pktsS, f.bytesS = counter(rest[1])
	if len(rest) > 2 {
		f.elapsed = rest[2]
	}
	tail := rest[min(len(rest), 3):]
	switch {
	case len(tail) > 0 && isParen(tail[0]): // older Junos: user right after the counters
		f.user = userOf(tail[0])
	case len(tail) > 2:
		f.app, f.nestedApp = tail[0], tail[1]
		if isParen(tail[2]) {
			f.user = userOf(tail[2])
		}
	}
	return nil
}

// briefDeny reads "PROTO(ICMPTYPE) POLICY FROM TO [APP NESTED USER(ROLES) IF ...]".
func briefDeny(t []string, n int, f *fields) error {
	if n+3 >= len(t) || !isCounter(t[n]) {
		return fmt.Errorf("%w: no protocol(icmp-type) after the service", ErrMalformed)
	}
	f.protocol, _ = counter(t[n])
	f.policy = t[n+1]
	rest := t[n+4:]
	if len(rest) > 2 && isParen(rest[2]) {
		f.app, f.nestedApp = rest[0], rest[1]
		f.user = userOf(rest[2])
	}
	if len(rest) > 0 && isParen(rest[0]) {
		f.user = userOf(rest[0])
	}
	return nil
}

// fieldsN splits s on spaces into buf without allocating; words past the
// buffer are dropped.
func fieldsN(s string, buf []string) []string {
	n := 0
	for n < len(buf) {
		for len(s) > 0 && s[0] == ' ' {
			s = s[1:]
		}
		if s == "" {
			break
		}
		i := strings.IndexByte(s, ' ')
		if i < 0 {
			buf[n] = s
			n++
			break
		}
		buf[n] = s[:i]
		n++
		s = s[i+1:]
	}
	return buf[:n]
}

// setPair splits "A/pa->B/pb" (IPv6 addresses keep their colons).
func setPair(tok string, a, pa, b, pb *string) bool {
	l, r, ok := strings.Cut(tok, "->")
	if !ok {
		return false
	}
	*a, *pa = splitAddr(l)
	*b, *pb = splitAddr(r)
	return *a != "" && *b != ""
}

func splitAddr(s string) (addr, port string) {
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		return s[:i], s[i+1:]
	}
	return s, ""
}

func isTag(s string) bool { return strings.HasPrefix(s, "0x") }

func isNum(s string) bool {
	if s == "" || len(s) > 19 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isParen reports "x(y)": USER(ROLES).
func isParen(s string) bool {
	i := strings.IndexByte(s, '(')
	return i >= 0 && len(s) > i+1 && s[len(s)-1] == ')'
}

// isCounter reports "N(M)": PACKETS(BYTES) or PROTO(ICMPTYPE).
func isCounter(s string) bool {
	a, b := counter(s)
	return a != "" && b != ""
}

func counter(s string) (a, b string) {
	i := strings.IndexByte(s, '(')
	if i <= 0 || len(s) < i+3 || s[len(s)-1] != ')' {
		return "", ""
	}
	a, b = s[:i], s[i+1:len(s)-1]
	if !isNum(a) || !isNum(b) {
		return "", ""
	}
	return a, b
}

// userOf returns USER of "USER(ROLES)".
func userOf(s string) string {
	if i := strings.LastIndexByte(s, '('); i >= 0 && strings.HasSuffix(s, ")") {
		return s[:i]
	}
	return s
}
