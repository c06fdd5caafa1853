// Package squid parses Squid access logs in the built-in logformats
// "squid" (native), "common" and "combined", from files or syslog.
package squid

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

const (
	vendor  = "Squid"
	product = "Squid"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        "squid",
		Vendor:      vendor,
		Product:     product,
		Description: "Squid access.log: native squid, common and combined logformats",
		New:         newParser,
		Detect:      detect,
	})
}

type parser struct {
	zones parsers.ZoneCache
}

var _ parsers.Parser = (*parser)(nil)

func newParser(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

var errNotSquid = errors.New("squid: not an access.log line")

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	s := stripWorkerTag(strings.TrimSpace(line))
	if s == "" {
		return fmt.Errorf("%w: empty", errNotSquid)
	}
	if isCacheLog(s) {
		return fmt.Errorf("%w: squid cache.log line", parsers.ErrSkip)
	}
	var err error
	if isEpochToken(s) {
		err = p.native(s, r)
	} else {
		err = p.common(s, m, r)
	}
	if err != nil {
		return err
	}
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	r.Category = "web"
	return nil
}

// native parses "%ts.%03tu %6tr %>a %Ss/%03>Hs %<st %rm %ru %[un %Sh/%<a %mt".
// %6tr pads with spaces, so fields are separated by runs of spaces.
func (p *parser) native(s string, r *parsers.Record) error {
	var tok [10]string
	rest := s
	n := 0
	for n < len(tok) {
		t, after := next(rest)
		if t == "" {
			break
		}
		tok[n] = t
		n++
		rest = after
	}
	if n < 9 {
		return fmt.Errorf("%w: native record with %d of 10 fields", errNotSquid, n)
	}
	ts, ok := parsers.ParseEpoch(tok[0])
	if !ok {
		return fmt.Errorf("%w: bad timestamp %q", errNotSquid, tok[0])
	}
	r.Timestamp = ts
	if d := parsers.ParseNum(tok[1]); d.Set && d.V < 1<<40 {
		r.Duration = parsers.N(d.V * int64(time.Millisecond))
	}
	if err := client(r, tok[2]); err != nil {
		return err
	}
	code, status, ok := strings.Cut(tok[3], "/")
	if !ok {
		return fmt.Errorf("%w: bad result code %q", errNotSquid, tok[3])
	}
	if err := request(r, tok[5], tok[6]); err != nil {
		return err
	}
	result(r, code, status)
	// %<st: the reply size Squid sent to the client, headers included.
	r.DestinationBytes = parsers.ParseNum(tok[4])
	setUser(r, tok[7])
	hier(r, tok[8])
	if n > 9 && tok[9] != "-" && !strings.HasPrefix(tok[9], "[") {
		r.HTTPContentType = tok[9]
	}
	return nil
}

// common parses `%>a %[ui %[un [%tl] "%rm %ru HTTP/%rv" %>Hs %<st %Ss:%Sh`
// and combined, which adds `"%{Referer}>h" "%{User-Agent}>h"` before the
// status tag.
func (p *parser) common(s string, m *parsers.Meta, r *parsers.Record) error {
	addr, rest := next(s)
	ident, rest := next(rest)
	user, rest := next(rest)
	if len(rest) == 0 || rest[0] != '[' {
		return fmt.Errorf("%w: no [time] field", errNotSquid)
	}
	end := strings.IndexByte(rest, ']')
	if end < 0 {
		return fmt.Errorf("%w: unterminated [time]", errNotSquid)
	}
	ts, ok := p.parseCLFTime(rest[1:end], m.Location)
	if !ok {
		return fmt.Errorf("%w: bad time %q", errNotSquid, rest[1:end])
	}
	r.Timestamp = ts
	rest = strings.TrimLeft(rest[end+1:], " ")
	if len(rest) == 0 || rest[0] != '"' {
		return fmt.Errorf("%w: no request line", errNotSquid)
	}
	q := strings.IndexByte(rest[1:], '"')
	if q < 0 {
		return fmt.Errorf("%w: unterminated request line", errNotSquid)
	}
	reqLine := rest[1 : q+1]
	rest = rest[q+2:]
	method, reqLine := next(reqLine)
	url, _ := next(reqLine)
	if err := client(r, addr); err != nil {
		return err
	}
	if err := request(r, method, url); err != nil {
		return err
	}
	statusTok, rest := next(rest)
	sizeTok, rest := next(rest)
	rest = strings.TrimLeft(rest, " ")
	if len(rest) > 0 && rest[0] == '"' {
		ref, ua, after, ok := quotedPair(rest)
		if !ok {
			return fmt.Errorf("%w: unterminated referrer/user-agent", errNotSquid)
		}
		r.HTTPReferrer = parsers.Clean(ref)
		r.UserAgent = parsers.Clean(ua)
		rest = after
	}
	tag, _ := next(rest)
	code, hierCode, ok := strings.Cut(tag, ":")
	if !ok || code == "" {
		return fmt.Errorf("%w: no %%Ss:%%Sh status tag", errNotSquid)
	}
	_ = hierCode // common/combined log no peer address
	result(r, code, statusTok)
	r.DestinationBytes = parsers.ParseNum(sizeTok)
	if parsers.IsEmpty(user) {
		user = ident // RFC 931 ident when there is no authenticated user
	}
	setUser(r, user)
	return nil
}

// quotedPair reads `"referrer" "user agent" ` and returns what follows.
// Squid writes both headers raw, so the agent may itself contain quotes:
// it ends at the quote followed by the %Ss:%Sh tag.
func quotedPair(s string) (ref, ua, rest string, ok bool) {
	i := strings.Index(s[1:], `" "`)
	if i < 0 {
		return "", "", "", false
	}
	ref = s[1 : i+1]
	a := s[i+4:]
	for off := 0; ; {
		j := strings.Index(a[off:], `" `)
		if j < 0 {
			if strings.HasSuffix(a, `"`) {
				return ref, a[:len(a)-1], "", true
			}
			return "", "", "", false
		}
		j += off
		if isTag(a[j+2:]) {
			return ref, a[:j], a[j+2:], true
		}
		off = j + 1
	}
}

// isTag reports whether s starts with a %Ss:%Sh token (TCP_MISS:HIER_DIRECT).
func isTag(s string) bool {
	tok, _ := next(s)
	code, h, ok := strings.Cut(tok, ":")
	return ok && isResultCode(code) && upperWord(h)
}

func client(r *parsers.Record, addr string) error {
	r.SourceIP = parsers.ParseIP(addr)
	if !r.SourceIP.IsValid() {
		return fmt.Errorf("%w: bad client address %q", errNotSquid, addr)
	}
	return nil
}

// request fills method and URL. Squid 4+ logs failed transactions as
// pseudo requests with an "error:..." URL; they carry no destination.
func request(r *parsers.Record, method, url string) error {
	if strings.HasPrefix(url, "error:") {
		return fmt.Errorf("%w: squid %s", parsers.ErrSkip, url)
	}
	if method != "" && method != "-" && method != "NONE" {
		r.HTTPMethod = method
	}
	if url == "" || url == "-" {
		return nil
	}
	parsers.SetURL(r, url)
	if h := r.URLDomain; h != "" {
		if a := parseAddr(h); a.IsValid() {
			r.DestinationIP = a
		} else {
			r.DestinationDomain = h
		}
	}
	r.DestinationPort = r.URLPort
	return nil
}

// result maps the Squid result code (%Ss) and HTTP status to the verdict.
func result(r *parsers.Record, code, status string) {
	r.EventAction = code
	st := parsers.ParseStatus(status)
	r.HTTPStatus = st
	switch {
	case strings.HasPrefix(code, "TCP_"):
		r.NetworkTransport = "tcp"
	case strings.HasPrefix(code, "UDP_"):
		r.NetworkTransport = "udp"
	}
	switch {
	case strings.Contains(code, "DENIED"):
		r.Verdict = parsers.Denied
	case st.Set && st.V == 407:
		// Proxy authentication required: the request was refused.
		r.Verdict = parsers.Denied
	case code == "NONE" || strings.HasPrefix(code, "NONE_") || strings.HasPrefix(code, "TAG_NONE"):
		// Squid answered itself without a transaction: a 4xx is a refusal,
		// anything else an error that says nothing about policy.
		if st.Set && st.V >= 400 && st.V < 500 {
			r.Verdict = parsers.Denied
		}
	case strings.HasPrefix(code, "TCP_REDIRECT"):
		// A url_rewrite helper (squidGuard, ufdbGuard...) had Squid answer
		// with a redirect instead of fetching the content: in practice the
		// block page, and the proxy served nothing the client asked for.
		r.Verdict = parsers.Denied
	default:
		r.Verdict = parsers.Allowed
	}
}

// hier handles "%Sh/%<a": the hierarchy code and the address of the next
// hop. Only a direct forward makes that hop the destination server; for a
// parent or sibling it is another proxy.
func hier(r *parsers.Record, tok string) {
	code, host, _ := strings.Cut(tok, "/")
	code = strings.TrimPrefix(code, "TIMEOUT_")
	direct := code == "ORIGINAL_DST" || (strings.Contains(code, "DIRECT") && !strings.Contains(code, "NO_DIRECT"))
	if !direct || parsers.IsEmpty(host) {
		return
	}
	if a := parseAddr(host); a.IsValid() {
		r.DestinationIP = a
	} else if r.DestinationDomain == "" && !strings.ContainsAny(host, " /") {
		r.DestinationDomain = host // Squid 2 logged the host name here
	}
}

// parseAddr is parsers.ParseIP for values that are usually host names: it
// skips the netip parse (which allocates its error) for obvious names.
func parseAddr(s string) netip.Addr {
	if strings.IndexByte(s, ':') < 0 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; (c < '0' || c > '9') && c != '.' {
				return netip.Addr{}
			}
		}
	}
	return parsers.ParseIP(s)
}

func setUser(r *parsers.Record, u string) {
	if parsers.IsEmpty(u) {
		return
	}
	parsers.SetUser(r, percentDecode(u))
}

// percentDecode undoes the %XX encoding Squid applies to user names
// (CORP%5Cjdoe); invalid sequences stay as they are.
func percentDecode(s string) string {
	i := strings.IndexByte(s, '%')
	if i < 0 {
		return s
	}
	b := make([]byte, 0, len(s))
	b = append(b, s[:i]...)
	for ; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) {
			if h, ok := unhex(s[i+1]); ok {
				if l, ok := unhex(s[i+2]); ok {
					b = append(b, h<<4|l)
					i += 2
					continue
				}
			}
		}
		b = append(b, c)
	}
	return string(b)
}

func unhex(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '9':
		return c - '0', true
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10, true
	case c >= 'A' && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// next returns the next space-separated token, skipping runs of spaces.
func next(s string) (tok, rest string) {
	i := 0
	for i < len(s) && s[i] == ' ' {
		i++
	}
	// A plain loop: tokens are short, strings.IndexByte's setup costs more.
	for j := i; j < len(s); j++ {
		if s[j] == ' ' {
			return s[i:j], s[j+1:]
		}
	}
	return s[i:], ""
}

// stripWorkerTag removes the syslog tag SMP Squid writes for its workers,
// "(squid-1)[2211]:", which the syslog header parser leaves in the body
// because of its parentheses.
func stripWorkerTag(s string) string {
	if len(s) < 9 || s[0] != '(' || !strings.HasPrefix(s[1:], "squid") {
		return s
	}
	tok, rest := next(s)
	if len(tok) > 64 || tok[len(tok)-1] != ':' {
		return s
	}
	return strings.TrimLeft(rest, " ")
}

// isEpochToken reports whether s starts with "%ts.%03tu" (seconds.millis).
func isEpochToken(s string) bool {
	dot := -1
	i := 0
	for ; i < len(s) && s[i] != ' '; i++ {
		c := s[i]
		if c == '.' && dot < 0 {
			dot = i
			continue
		}
		if c < '0' || c > '9' {
			return false
		}
	}
	return dot >= 9 && dot <= 11 && i-dot-1 == 3
}

// isCacheLog reports cache.log lines ("2026/01/15 10:00:00 kid1| ...").
func isCacheLog(s string) bool {
	return len(s) > 20 && s[4] == '/' && s[7] == '/' && s[10] == ' ' && s[13] == ':' && s[16] == ':' &&
		strings.Contains(s[19:min(len(s), 40)], "| ")
}

func isResultCode(c string) bool {
	return (strings.HasPrefix(c, "TCP_") || strings.HasPrefix(c, "UDP_") || c == "NONE" ||
		strings.HasPrefix(c, "NONE_") || strings.HasPrefix(c, "TAG_NONE")) && upperWord(c)
}

func upperWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c == '_' || c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseCLFTime reads "15/Jan/2026:10:00:00 +0100" (zone optional: then loc).
func (p *parser) parseCLFTime(s string, loc *time.Location) (time.Time, bool) {
	if len(s) < 20 || s[2] != '/' || s[6] != '/' || s[11] != ':' || s[14] != ':' || s[17] != ':' {
		return time.Time{}, false
	}
	d, ok1 := digits(s[0:2])
	y, ok2 := digits(s[7:11])
	hh, ok3 := digits(s[12:14])
	mm, ok4 := digits(s[15:17])
	ss, ok5 := digits(s[18:20])
	mon := 0
	for i, name := range months {
		if s[3:6] == name {
			mon = i + 1
		}
	}
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || mon == 0 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	if z := strings.TrimSpace(s[20:]); z != "" {
		if len(z) != 5 || (z[0] != '+' && z[0] != '-') {
			return time.Time{}, false
		}
		zh, okh := digits(z[1:3])
		zm, okm := digits(z[3:5])
		if !okh || !okm || zh > 14 || zm > 59 {
			return time.Time{}, false
		}
		off := zh*3600 + zm*60
		if z[0] == '-' {
			off = -off
		}
		loc = p.zones.Get(off)
	}
	return time.Date(y, time.Month(mon), d, hh, mm, ss, 0, loc), true
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

// detect scores Squid lines by their result code token (TCP_MISS/200 in
// the native form, TCP_MISS:HIER_DIRECT at the end of common/combined).
// looksWSA spots the ACL decision tag and "<...>" verdict block that Cisco
// WSA appends to its squid-style access log lines.
func looksWSA(s string) bool {
	return strings.Contains(s, " <") && (strings.Contains(s, "-NONE-") || strings.Contains(s, "DEFAULT_CASE") || strings.Contains(s, "DefaultGroup"))
}

func detect(body string, _ *parsers.Header) int {
	s := stripWorkerTag(strings.TrimLeft(body, " "))
	if isCacheLog(s) {
		// Squid's cache.log, to be skipped by this parser; SMP Squid names
		// the worker ("kid1|"), older releases write just "|".
		if strings.Contains(s[19:min(len(s), 40)], "kid") {
			return 70
		}
		return 60
	}
	if isEpochToken(s) {
		// ts elapsed client code/status
		_, rest := next(s)
		el, rest := next(rest)
		_, rest = next(rest)
		code, _ := next(rest)
		c, st, ok := strings.Cut(code, "/")
		if ok && isResultCode(c) && len(st) == 3 && parsers.ParseNum(el).Set {
			if looksWSA(s) {
				return 60 // Cisco WSA's squid-derived access log: cisco-wsa claims it higher
			}
			return 90
		}
		return 0
	}
	if strings.IndexByte(s, '[') < 0 || strings.IndexByte(s, '"') < 0 {
		return 0
	}
	for off := 0; off < len(s); {
		i := strings.IndexByte(s[off:], ' ')
		if i < 0 {
			return 0
		}
		off += i + 1
		if off < len(s) && (s[off] == 'T' || s[off] == 'U' || s[off] == 'N') && isTag(s[off:]) {
			return 90
		}
	}
	return 0
}
