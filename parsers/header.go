package parsers

import (
	"strings"
	"time"
)

// Header is the syslog header split off a message. A message with no header
// (a file line, or a bare vendor body) has Priority -1 and zero values.
type Header struct {
	Priority int       // PRI value, -1 when absent
	Version  int       // 1 for RFC 5424, 0 otherwise
	Time     time.Time // header timestamp; zero when absent
	Hostname string
	AppName  string // RFC 5424 APP-NAME, or the RFC 3164 TAG without [pid]
	ProcID   string
	MsgID    string
	// SD is the raw RFC 5424 STRUCTURED-DATA, brackets included ("" for "-").
	// Use ParseSD for standard elements; some vendors (Check Point) put their
	// own bracketed syntax here.
	SD string
}

// Facility returns the syslog facility, or -1.
func (h *Header) Facility() int {
	if h.Priority < 0 {
		return -1
	}
	return h.Priority >> 3
}

// Severity returns the syslog severity, or -1.
func (h *Header) Severity() int {
	if h.Priority < 0 {
		return -1
	}
	return h.Priority & 7
}

// SplitHeader splits an optional syslog header off line and returns it with
// the message body. It knows RFC 5424, RFC 3164 (with or without hostname,
// tag, year, milliseconds), the header-less vendor form "<189>key=value", the
// RFC 3339-stamped lines syslog daemons write to files, and vendor variants
// (Cisco "Jan 15 2025 10:00:00:", Sophos UTM "2025:01:15-10:00:00", Meraki's
// epoch timestamps). Times without a zone are read in loc; years are inferred
// from now. A line that does not start with a recognizable header is returned
// whole as the body.
func SplitHeader(line string, loc *time.Location, now time.Time) (Header, string) {
	h := Header{Priority: -1}
	if loc == nil {
		loc = time.UTC
	}
	rest := line
	if len(rest) > 2 && rest[0] == '<' {
		end := strings.IndexByte(rest[:min(len(rest), 5)], '>')
		if end > 1 {
			if p, ok := atoiStrict(rest[1:end]); ok && p <= 191 {
				h.Priority = p
				rest = rest[end+1:]
			}
		}
	}
	// RFC 5424: "1 " after PRI.
	if h.Priority >= 0 && len(rest) > 2 && rest[0] == '1' && rest[1] == ' ' {
		if body, ok := split5424(rest[2:], &h, loc, now); ok {
			return h, body
		}
	}
	ts, after, ok := parseHeaderTime(rest, loc, now)
	if !ok {
		if h.Priority >= 0 {
			// "<PRI>body" or "<PRI>TAG: body" with no timestamp.
			return h, stripTag(rest, &h)
		}
		return h, line
	}
	h.Time = ts
	return h, split3164Rest(after, &h)
}

// split5424 parses "TIMESTAMP HOST APP PROCID MSGID SD MSG".
func split5424(s string, h *Header, loc *time.Location, now time.Time) (string, bool) {
	tsTok, s := nextToken(s)
	if tsTok == "" {
		return "", false
	}
	// Some senders (Check Point Log Exporter) write "2018-03-21 17:25:25".
	if len(tsTok) == 10 && tsTok[4] == '-' && tsTok[7] == '-' {
		if clock, rest := nextToken(s); len(clock) >= 8 && clock[2] == ':' {
			tsTok, s = tsTok+"T"+clock, rest
		}
	}
	if tsTok != "-" {
		t, ok := parseRFC3339ish(tsTok, loc)
		if !ok {
			t, ok = parseEpoch(tsTok)
		}
		if !ok {
			return "", false
		}
		h.Time = t
	}
	h.Version = 1
	host, s := nextToken(s)
	h.Hostname = nilDash(host)
	afterHost := s
	app, s := nextToken(s)
	procid, s2 := nextToken(s)
	msgid, s3 := nextToken(s2)
	if app == "" || procid == "" || msgid == "" || (s3 != "" && s3[0] != '-' && s3[0] != '[') || strings.ContainsAny(procid+msgid, "=\"") {
		// Not a full RFC 5424 header (e.g. Meraki: "1 <epoch> <host> flows src=..."):
		// keep everything after the host as the body.
		h.AppName = ""
		return afterHost, true
	}
	h.AppName = nilDash(app)
	h.ProcID = nilDash(procid)
	h.MsgID = nilDash(msgid)
	if s3 == "" {
		return "", true
	}
	if s3[0] == '-' {
		if len(s3) == 1 {
			return "", true
		}
		if s3[1] == ' ' {
			return stripBOM(s3[2:]), true
		}
		return "", false
	}
	n := sdLen(s3)
	if n <= 0 {
		// Unterminated structured data: keep it as the body rather than lose it.
		return s3, true
	}
	h.SD = s3[:n]
	body := s3[n:]
	if len(body) > 0 && body[0] == ' ' {
		body = body[1:]
	}
	return stripBOM(body), true
}

func stripBOM(s string) string { return strings.TrimPrefix(s, "\ufeff") }

// sdLen returns the length of the bracketed structured data at the start of
// s, honouring quotes and backslash escapes, or -1 if it is unterminated.
func sdLen(s string) int {
	i := 0
	for i < len(s) && s[i] == '[' {
		inQuote := false
		j := i + 1
		for j < len(s) {
			k := strings.IndexAny(s[j:], "\\\"]")
			if k < 0 {
				j = len(s)
				break
			}
			j += k
			c := s[j]
			if c == '\\' {
				j += 2
				continue
			}
			if c == '"' {
				inQuote = !inQuote
				j++
				continue
			}
			if !inQuote {
				break // ']' closes the element
			}
			j++
		}
		if j >= len(s) {
			return -1
		}
		i = j + 1
	}
	return i
}

// ParseSD walks standard RFC 5424 structured data, calling fn for every
// param with escapes (\" \\ \]) removed. It stops quietly at malformed input.
func ParseSD(sd string, fn func(id, name, value string)) {
	for len(sd) > 0 && sd[0] == '[' {
		sd = sd[1:]
		sp := strings.IndexAny(sd, " ]")
		if sp < 0 {
			return
		}
		id := sd[:sp]
		sd = sd[sp:]
		for len(sd) > 0 && sd[0] == ' ' {
			sd = strings.TrimLeft(sd, " ")
			eq := strings.IndexByte(sd, '=')
			if eq < 0 || eq+1 >= len(sd) || sd[eq+1] != '"' {
				return
			}
			name := sd[:eq]
			sd = sd[eq+2:]
			val, n, ok := readQuoted(sd)
			if !ok {
				return
			}
			fn(id, name, val)
			sd = sd[n:]
		}
		if len(sd) == 0 || sd[0] != ']' {
			return
		}
		sd = sd[1:]
	}
}

// readQuoted reads up to the closing quote of a value whose opening quote is
// already consumed; it returns the unescaped value and the bytes consumed
// including the closing quote.
func readQuoted(s string) (string, int, bool) {
	esc := false
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			esc = true
			i++
		case '"':
			if !esc {
				return s[:i], i + 1, true
			}
			return unescapeBackslash(s[:i]), i + 1, true
		}
	}
	return "", 0, false
}

// unescapeBackslash removes the escapes \" \\ and \] (RFC 5424 and most
// key=value syntaxes); any other backslash is literal, so quoted Windows
// names like "CORP\jdoe" survive.
func unescapeBackslash(s string) string {
	if !strings.Contains(s, `\"`) && !strings.Contains(s, `\\`) && !strings.Contains(s, `\]`) {
		return s
	}
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

// split3164Rest handles what follows an RFC 3164 timestamp: an optional
// hostname, an optional tag, then the body.
func split3164Rest(s string, h *Header) string {
	s = strings.TrimLeft(s, " ")
	if s == "" {
		return ""
	}
	tok, after := nextToken(s)
	switch {
	case tok == ":":
		return strings.TrimLeft(after, " ")
	case isTag(tok):
		return stripTag(s, h)
	case strings.HasPrefix(tok, "%") || strings.ContainsAny(tok, "=,\"") || !isHostname(tok) || isDate(tok):
		return s
	}
	h.Hostname = tok
	rest := strings.TrimLeft(after, " ")
	// A relay that rewrites an RFC 5424 message in the traditional format
	// (rsyslog's default forwarding template) leaves the APP-NAME as a bare
	// word without ':'. Strip it when the body clearly starts after it.
	if word, body := nextToken(rest); isBareTag(word) && startsBody(body) {
		h.AppName = word
		return body
	}
	return stripTag(rest, h)
}

func isBareTag(w string) bool {
	if w == "" || strings.ContainsAny(w, "=:%|") {
		return false
	}
	return isTag(w + ":")
}

// startsBody reports whether s starts like a structured vendor body.
func startsBody(s string) bool {
	tok, _ := nextToken(s)
	return strings.Contains(tok, "=") || strings.HasPrefix(tok, "CEF:") || strings.HasPrefix(tok, "LEEF:")
}

// stripTag removes a leading "TAG:" / "TAG[pid]:" / lone ":" token.
func stripTag(s string, h *Header) string {
	tok, after := nextToken(s)
	if tok == ":" {
		return strings.TrimLeft(after, " ")
	}
	if !isTag(tok) {
		return s
	}
	name := tok[:len(tok)-1]
	if i := strings.IndexByte(name, '['); i > 0 {
		h.ProcID = strings.TrimSuffix(name[i+1:], "]")
		name = name[:i]
	}
	h.AppName = name
	return after
}

// isTag reports whether tok looks like an RFC 3164 TAG ("sshd:", "filterlog[42]:").
// Tokens starting with '%' are Cisco message ids and stay in the body.
func isTag(tok string) bool {
	if len(tok) < 2 || tok[len(tok)-1] != ':' || tok[0] == '%' || tok == "CEF:" || tok == "LEEF:" {
		return false // "CEF: 0|..." is the body's own header
	}
	name := tok[:len(tok)-1]
	if i := strings.IndexByte(name, '['); i > 0 {
		if name[len(name)-1] != ']' {
			return false
		}
		name = name[:i]
	}
	if len(name) > 48 {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == '/') {
			return false
		}
	}
	return true
}

func isHostname(tok string) bool {
	if tok == "" || len(tok) > 255 {
		return false
	}
	for i := 0; i < len(tok); i++ {
		c := tok[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.' || c == ':' || c == '@') {
			return false
		}
	}
	return true
}

// isDate reports a "YYYY-MM-DD" token: a body that starts with its own
// timestamp (W3C, Blue Coat), not a host name.
func isDate(tok string) bool {
	return len(tok) == 10 && tok[4] == '-' && tok[7] == '-' && tok[0] >= '0' && tok[0] <= '9'
}

func nextToken(s string) (tok, rest string) {
	s = strings.TrimLeft(s, " ")
	i := strings.IndexByte(s, ' ')
	if i < 0 {
		return s, ""
	}
	return s[:i], s[i+1:]
}

func nilDash(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

// monthIndex returns 1..12 for a three-letter English month name, in any
// ASCII case. (strings.EqualFold's Unicode folding adds nothing here: a
// 3-byte string with a non-ASCII rune has fewer than three runes.)
func monthIndex(s string) int {
	if len(s) != 3 {
		return 0
	}
	// c|0x20 lowers an ASCII letter and is a lower-case letter only for
	// that letter's two cases, so one packed compare per month decides.
	switch uint32(s[0]|0x20) | uint32(s[1]|0x20)<<8 | uint32(s[2]|0x20)<<16 {
	case 'j' | 'a'<<8 | 'n'<<16:
		return 1
	case 'f' | 'e'<<8 | 'b'<<16:
		return 2
	case 'm' | 'a'<<8 | 'r'<<16:
		return 3
	case 'a' | 'p'<<8 | 'r'<<16:
		return 4
	case 'm' | 'a'<<8 | 'y'<<16:
		return 5
	case 'j' | 'u'<<8 | 'n'<<16:
		return 6
	case 'j' | 'u'<<8 | 'l'<<16:
		return 7
	case 'a' | 'u'<<8 | 'g'<<16:
		return 8
	case 's' | 'e'<<8 | 'p'<<16:
		return 9
	case 'o' | 'c'<<8 | 't'<<16:
		return 10
	case 'n' | 'o'<<8 | 'v'<<16:
		return 11
	case 'd' | 'e'<<8 | 'c'<<16:
		return 12
	}
	return 0
}

// parseHeaderTime reads a leading RFC 3164-family or RFC 3339 timestamp.
func parseHeaderTime(s string, loc *time.Location, now time.Time) (time.Time, string, bool) {
	if len(s) < 15 {
		return time.Time{}, s, false
	}
	// "Mmm dd hh:mm:ss", "Mmm  d hh:mm:ss", optional ".fff", optional year
	// before or after the clock, optional trailing ':'.
	if mon := monthIndex(s[:3]); mon > 0 && s[3] == ' ' {
		r := strings.TrimLeft(s[4:], " ")
		dayTok, r := nextToken(r)
		day, ok := atoiStrict(dayTok)
		if !ok || day < 1 || day > 31 {
			return time.Time{}, s, false
		}
		year := 0
		tok, r2 := nextToken(r)
		if len(tok) == 4 {
			if y, ok := atoiStrict(tok); ok {
				year = y
				tok, r2 = nextToken(r2)
			}
		}
		tok = strings.TrimSuffix(tok, ":")
		hh, mm, ss, ns, ok := parseClock(tok)
		if !ok {
			return time.Time{}, s, false
		}
		r = r2
		if year == 0 {
			if t2, r3 := nextToken(r); len(t2) == 4 {
				if y, ok := atoiStrict(strings.TrimSuffix(t2, ":")); ok && y > 1970 {
					year = y
					r = r3
				}
			}
		}
		// A zone abbreviation some devices add ("UTC", "CET").
		if t2, r3 := nextToken(r); t2 == "UTC" || t2 == "GMT" || t2 == "UTC:" || t2 == "GMT:" {
			loc = time.UTC
			r = r3
		}
		var t time.Time
		if year == 0 {
			t = InferYear(time.Month(mon), day, hh, mm, ss, ns, loc, now)
		} else {
			t = time.Date(year, time.Month(mon), day, hh, mm, ss, ns, loc)
		}
		return t, r, true
	}
	// Sophos UTM: "2025:01:15-10:00:00".
	if len(s) >= 19 && s[4] == ':' && s[7] == ':' && s[10] == '-' && s[13] == ':' && s[16] == ':' {
		y, ok1 := atoiStrict(s[0:4])
		mo, ok2 := atoiStrict(s[5:7])
		d, ok3 := atoiStrict(s[8:10])
		hh, mm, ss, ns, ok4 := parseClock(s[11:19])
		if ok1 && ok2 && ok3 && ok4 && (len(s) == 19 || s[19] == ' ') {
			return time.Date(y, time.Month(mo), d, hh, mm, ss, ns, loc), s[min(len(s), 20):], true
		}
	}
	// RFC 3339 as written by syslog daemons ("2025-01-15T10:00:00.123+01:00 host tag: msg").
	if s[4] == '-' && s[7] == '-' && (s[10] == 'T') {
		tok, r := nextToken(s)
		tok = strings.TrimSuffix(tok, ":")
		if t, ok := parseRFC3339ish(tok, loc); ok {
			return t, r, true
		}
	}
	return time.Time{}, s, false
}

// parseClock parses "hh:mm:ss" with optional ".fraction".
func parseClock(s string) (hh, mm, ss, ns int, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, 0, false
	}
	var ok1, ok2, ok3 bool
	hh, ok1 = atoiStrict(s[0:2])
	mm, ok2 = atoiStrict(s[3:5])
	ss, ok3 = atoiStrict(s[6:8])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, 0, 0, false
	}
	if len(s) > 8 {
		if s[8] != '.' && s[8] != ',' {
			return 0, 0, 0, 0, false
		}
		frac := s[9:]
		if len(frac) == 0 || len(frac) > 9 {
			return 0, 0, 0, 0, false
		}
		f, okf := atoiStrict(frac)
		if !okf {
			return 0, 0, 0, 0, false
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	return hh, mm, ss, ns, true
}

// parseRFC3339ish parses RFC 3339 timestamps, tolerating a missing zone
// (read in loc) and a space instead of 'T'.
func parseRFC3339ish(s string, loc *time.Location) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') {
		return time.Time{}, false
	}
	y, ok1 := atoiStrict(s[0:4])
	mo, ok2 := atoiStrict(s[5:7])
	d, ok3 := atoiStrict(s[8:10])
	if !ok1 || !ok2 || !ok3 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return time.Time{}, false
	}
	clock := s[11:]
	zoneAt := len(clock)
	for i := 8; i < len(clock); i++ {
		if c := clock[i]; c == 'Z' || c == 'z' || c == '+' || c == '-' {
			zoneAt = i
			break
		}
	}
	hh, mm, ss, ns, ok := parseClock(clock[:zoneAt])
	if !ok {
		return time.Time{}, false
	}
	zone := clock[zoneAt:]
	switch {
	case zone == "":
	case zone == "Z" || zone == "z":
		loc = time.UTC
	case len(zone) == 6 && zone[3] == ':' || len(zone) == 5 || len(zone) == 3:
		zh, okh := atoiStrict(zone[1:3])
		zm := 0
		okm := true
		if len(zone) == 6 {
			zm, okm = atoiStrict(zone[4:6])
		} else if len(zone) == 5 {
			zm, okm = atoiStrict(zone[3:5])
		}
		if !okh || !okm || zh > 23 || zm > 59 {
			return time.Time{}, false
		}
		off := zh*3600 + zm*60
		if zone[0] == '-' {
			off = -off
		}
		loc = fixedZone(off)
	default:
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, hh, mm, ss, ns, loc), true
}

// fixedZone returns a zone for an offset; UTC for zero so output says "Z".
func fixedZone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	return time.FixedZone("", off)
}

// parseEpoch parses "1374543213.342705328" (seconds with optional fraction).
func parseEpoch(s string) (time.Time, bool) {
	sec, frac, _ := strings.Cut(s, ".")
	if len(sec) < 9 || len(sec) > 11 {
		return time.Time{}, false
	}
	n, ok := atoi64(sec)
	if !ok {
		return time.Time{}, false
	}
	ns := 0
	if frac != "" {
		if len(frac) > 9 {
			frac = frac[:9]
		}
		f, ok := atoiStrict(frac)
		if !ok {
			return time.Time{}, false
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	return time.Unix(n, int64(ns)).UTC(), true
}

// InferYear returns the date in the latest year that does not put it more
// than a day after now (RFC 3164 timestamps carry no year).
func InferYear(mon time.Month, day, hh, mm, ss, ns int, loc *time.Location, now time.Time) time.Time {
	if now.IsZero() {
		now = time.Unix(0, 0)
	}
	limit := now.Add(24 * time.Hour)
	for y := now.In(loc).Year() + 1; ; y-- {
		t := time.Date(y, mon, day, hh, mm, ss, ns, loc)
		// Feb 29 normalizes into March in non-leap years; skip those years.
		if t.Month() == mon && !t.After(limit) {
			return t
		}
		if y < now.Year()-8 {
			return t
		}
	}
}

// atoiStrict parses a non-negative decimal of at most 9 digits.
func atoiStrict(s string) (int, bool) {
	if s == "" || len(s) > 9 {
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
