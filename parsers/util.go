package parsers

import (
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// IsEmpty reports whether v is one of the markers devices write for "no
// value": such fields are absent from the record, not values.
func IsEmpty(v string) bool {
	// Most values are not markers: the first byte rules them out before
	// the string compares (keep it in step with the list below).
	if v == "" {
		return true
	}
	switch v[0] {
	case '-', 'N', 'n', 'U', 'u', '(', '"', '0', ':':
	default:
		return false
	}
	switch v {
	case "", "-", "--", "N/A", "n/a", "NA", "None", "none", "NONE", "UNKNOWN", "unknown", "Unknown",
		"not-applicable", "(null)", "null", "NULL", "\"\"", "0.0.0.0", "::":
		return true
	}
	return false
}

// Clean returns v, or "" when v is an empty marker.
func Clean(v string) string {
	if IsEmpty(v) {
		return ""
	}
	return v
}

// ParseIP parses an IPv4 or IPv6 address (brackets and an IPv4-mapped form
// are accepted); empty markers and garbage give the zero Addr.
func ParseIP(s string) netip.Addr {
	if a, ok := ipv4(s); ok {
		return a
	}
	if IsEmpty(s) {
		return netip.Addr{}
	}
	if len(s) > 2 && s[0] == '[' && s[len(s)-1] == ']' {
		s = s[1 : len(s)-1]
	}
	if !addrChars(s) && !strings.Contains(s, "%") {
		return netip.Addr{} // a host name: skip the parser's error allocation
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}
	}
	a = a.Unmap().WithZone("") // a zone is local to the device and breaks JSON
	if a.IsUnspecified() {
		return netip.Addr{}
	}
	return a
}

// ipv4 is ParseIP's fast path: a dotted-quad IPv4 address, the common
// case, read by hand with ParseIP's rules (0.0.0.0 is no address); ok is
// false for anything it does not fully decide (other forms, leading
// zeros), which netip then reads.
func ipv4(s string) (netip.Addr, bool) {
	if len(s) < 7 || len(s) > 15 {
		return netip.Addr{}, false
	}
	// Octet by octet, unrolled to at most three digits: fewer branches and
	// instructions than a switch per byte.
	var b [4]byte
	i := 0
	for n := 0; n < 4; n++ {
		if n > 0 {
			if i >= len(s) || s[i] != '.' {
				return netip.Addr{}, false
			}
			i++
		}
		if i >= len(s) {
			return netip.Addr{}, false
		}
		v := uint(s[i] - '0')
		if v > 9 {
			return netip.Addr{}, false
		}
		i++
		if i < len(s) {
			if d := uint(s[i] - '0'); d <= 9 {
				if v == 0 {
					return netip.Addr{}, false // leading zero
				}
				v = v*10 + d
				i++
				if i < len(s) {
					if d := uint(s[i] - '0'); d <= 9 {
						v = v*10 + d
						i++
						if v > 255 {
							return netip.Addr{}, false
						}
					}
				}
			}
		}
		b[n] = byte(v)
	}
	if i != len(s) {
		return netip.Addr{}, false
	}
	if b == [4]byte{} {
		return netip.Addr{}, true // unspecified: no address
	}
	return netip.AddrFrom4(b), true
}

func addrChars(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.' || c == '%') {
			return false
		}
	}
	return true
}

// ParseNum parses a non-negative decimal; empty markers and garbage are unset.
func ParseNum(s string) Num {
	if n, ok := atoi64(s); ok {
		return N(n)
	}
	return Num{}
}

// ParsePort parses a port 1..65535; 0 and anything else are unset.
func ParsePort(s string) Num {
	n, ok := atoi64(s)
	if !ok || n < 1 || n > 65535 {
		return Num{}
	}
	return N(n)
}

// ParseStatus parses an HTTP status; "0", "000" and "-" are unset.
func ParseStatus(s string) Num {
	n, ok := atoi64(s)
	if !ok || n < 100 || n > 999 {
		return Num{}
	}
	return N(n)
}

func atoi64(s string) (int64, bool) {
	if s == "" || len(s) > 19 {
		return 0, false
	}
	var n int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		d := int64(c - '0')
		if n > (math.MaxInt64-d)/10 {
			return 0, false
		}
		n = n*10 + d
	}
	return n, true
}

// SetUser fills user.name and user.domain from a logged user: "CORP\jdoe"
// becomes name jdoe, domain CORP; "jdoe@corp.com" stays whole in name;
// an LDAP DN keeps its first CN. Empty markers leave both absent.
func SetUser(r *Record, s string) {
	s = strings.TrimSpace(s)
	if IsEmpty(s) {
		return
	}
	if i := strings.LastIndexByte(s, '\\'); i >= 0 {
		dom, name := s[:i], s[i+1:]
		dom = strings.TrimRight(dom, "\\")
		if IsEmpty(name) {
			return
		}
		r.UserName = name
		r.UserDomain = Clean(dom)
		return
	}
	if len(s) > 3 && (strings.HasPrefix(s, "CN=") || strings.HasPrefix(s, "cn=")) {
		v := s[3:]
		if i := strings.IndexByte(v, ','); i >= 0 {
			v = v[:i]
		}
		if !IsEmpty(v) {
			r.UserName = v
		}
		return
	}
	r.UserName = s
}

// SetURL fills url.original and, where they can be told, scheme, domain,
// port, path and query. It accepts absolute URLs, "host:port" (CONNECT),
// "host/path" and path-only forms; it never fails.
func SetURL(r *Record, raw string) {
	if IsEmpty(raw) {
		return
	}
	r.URLOriginal = raw
	s := raw
	if i := strings.Index(s, "://"); i > 0 && i < 10 {
		r.URLScheme = strings.ToLower(s[:i])
		s = s[i+3:]
	} else if s[0] == '/' {
		setPathQuery(r, s)
		return
	}
	hostEnd := strings.IndexAny(s, "/?#")
	host := s
	rest := ""
	if hostEnd >= 0 {
		host, rest = s[:hostEnd], s[hostEnd:]
	}
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:] // userinfo never becomes the domain
	}
	if strings.HasPrefix(host, "[") {
		if end := strings.IndexByte(host, ']'); end > 0 {
			if p := host[end+1:]; len(p) > 1 && p[0] == ':' {
				r.URLPort = ParsePort(p[1:])
			}
			host = host[1:end]
		}
	} else if c := strings.LastIndexByte(host, ':'); c >= 0 && strings.Count(host, ":") == 1 {
		r.URLPort = ParsePort(host[c+1:])
		host = host[:c]
	}
	if host != "" {
		r.URLDomain = host
	}
	if rest != "" {
		setPathQuery(r, rest)
	}
}

func setPathQuery(r *Record, s string) {
	if i := strings.IndexByte(s, '#'); i >= 0 {
		s = s[:i]
	}
	path, q, _ := strings.Cut(s, "?")
	r.URLPath = path
	r.URLQuery = q
}

// ParseTime parses the timestamp forms vendors write in their own fields:
// RFC 3339 (zone optional), "2006-01-02 15:04:05[.fff]", "2006/01/02
// 15:04:05" and "02/Jan/2006:15:04:05 -0700". Times without a zone are read
// in loc.
func ParseTime(s string, loc *time.Location) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if loc == nil {
		loc = time.UTC
	}
	if len(s) >= 19 && s[4] == '/' && s[7] == '/' {
		b := []byte(s)
		b[4], b[7] = '-', '-'
		s = string(b)
	}
	if t, ok := parseRFC3339ish(s, loc); ok {
		return t, true
	}
	if len(s) >= 20 && s[2] == '/' && s[6] == '/' && s[11] == ':' {
		if t, err := time.Parse("02/Jan/2006:15:04:05 -0700", s); err == nil {
			return t, true
		}
		if t, err := time.ParseInLocation("02/Jan/2006:15:04:05", s[:20], loc); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// ParseEpoch parses a Unix time in seconds, milliseconds, microseconds or
// nanoseconds (told apart by magnitude), with an optional fraction.
func ParseEpoch(s string) (time.Time, bool) {
	sec, _, hasFrac := strings.Cut(s, ".")
	n, ok := atoi64(sec)
	if !ok {
		return time.Time{}, false
	}
	if hasFrac {
		return parseEpoch(s)
	}
	switch {
	case n < 1e11:
		return time.Unix(n, 0).UTC(), true
	case n < 1e14:
		return time.UnixMilli(n).UTC(), true
	case n < 1e17:
		return time.UnixMicro(n).UTC(), true
	default:
		return time.Unix(0, n).UTC(), true
	}
}

// Lower returns s in lower case, without allocating when it already is.
func Lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// Itoa is strconv.Itoa, here so vendor packages need one import less.
func Itoa(n int64) string { return strconv.FormatInt(n, 10) }

// EqualFoldAny reports whether s equals one of words, ASCII
// case-insensitively, without allocating a lower-cased copy.
func EqualFoldAny(s string, words ...string) bool {
	for _, w := range words {
		if strings.EqualFold(s, w) {
			return true
		}
	}
	return false
}

// maxZones bounds a ZoneCache: devices log few distinct offsets.
const maxZones = 64

// ZoneCache hands out one *time.Location per UTC offset, so a parser reading
// "+01:00" on every line does not allocate a zone per line. A parser keeps
// one per instance (it is not safe for concurrent use).
type ZoneCache struct {
	m map[int]*time.Location
}

// Get returns a zone for an offset in seconds east of UTC.
func (z *ZoneCache) Get(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if l, ok := z.m[off]; ok {
		return l
	}
	if z.m == nil || len(z.m) >= maxZones {
		z.m = make(map[int]*time.Location, 8)
	}
	l := time.FixedZone("", off)
	z.m[off] = l
	return l
}
