package cefleef

import (
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

// ParseTime reads the event times CEF and LEEF producers write: Unix epoch
// (seconds or milliseconds, told apart by magnitude), the ArcSight forms
// "MMM dd [yyyy] HH:mm:ss[.SSS] [zone]", and RFC 3339 or
// "yyyy-MM-dd HH:mm:ss" forms. Times without a zone, or with a zone
// abbreviation other than UTC/GMT (they are ambiguous), are read in loc; a
// missing year is inferred from now.
func ParseTime(s string, loc *time.Location, now time.Time) (time.Time, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, false
	}
	if loc == nil {
		loc = time.UTC
	}
	if allDigits(s) {
		if len(s) < 9 { // not an epoch of this century
			return time.Time{}, false
		}
		return parsers.ParseEpoch(s)
	}
	if len(s) >= 14 && monthIndex(s[:3]) > 0 && (s[3] == ' ' || s[3] == '-') {
		return parseMonthFirst(s, loc, now)
	}
	return parsers.ParseTime(s, loc)
}

// parseMonthFirst parses "MMM dd [yyyy] HH:mm:ss[.SSS] [zone]".
func parseMonthFirst(s string, loc *time.Location, now time.Time) (time.Time, bool) {
	mon := monthIndex(s[:3])
	r := strings.TrimLeft(s[4:], " ")
	day, r, ok := num(r, 1, 2)
	if !ok || day < 1 || day > 31 {
		return time.Time{}, false
	}
	r = strings.TrimLeft(r, " ")
	year := 0
	if len(r) > 4 && allDigits(r[:4]) && r[4] == ' ' {
		year, _, _ = num(r[:4], 4, 4)
		r = strings.TrimLeft(r[5:], " ")
	}
	hh, mm, ss, ns, r, ok := clock(r)
	if !ok {
		return time.Time{}, false
	}
	zl, ok := zone(strings.TrimSpace(r), loc)
	if !ok {
		return time.Time{}, false
	}
	if year == 0 {
		return parsers.InferYear(time.Month(mon), day, hh, mm, ss, ns, zl, now), true
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, ns, zl), true
}

// clock parses "HH:mm:ss[.fraction]" at the start of s and returns the rest.
func clock(s string) (hh, mm, ss, ns int, rest string, ok bool) {
	var ok1, ok2, ok3 bool
	hh, s, ok1 = num(s, 1, 2)
	if !ok1 || len(s) == 0 || s[0] != ':' {
		return 0, 0, 0, 0, "", false
	}
	mm, s, ok2 = num(s[1:], 2, 2)
	if !ok2 || len(s) == 0 || s[0] != ':' {
		return 0, 0, 0, 0, "", false
	}
	ss, s, ok3 = num(s[1:], 2, 2)
	if !ok3 || hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, 0, 0, "", false
	}
	if len(s) > 1 && (s[0] == '.' || s[0] == ',') && s[1] >= '0' && s[1] <= '9' {
		ns, s = fraction(s[1:])
	}
	return hh, mm, ss, ns, s, true
}

// fraction reads leading digits as a fraction of a second.
func fraction(s string) (int, string) {
	n, i := 0, 0
	for ; i < len(s) && s[i] >= '0' && s[i] <= '9'; i++ {
		if i < 9 {
			n = n*10 + int(s[i]-'0')
		}
	}
	for k := min(i, 9); k < 9; k++ {
		n *= 10
	}
	return n, s[i:]
}

// zone reads a trailing zone: "", UTC/GMT/Z, an offset (+01:00, +0100,
// -05), or GMT/UTC followed by an offset. Other names and abbreviations are
// ambiguous and read as loc.
func zone(z string, loc *time.Location) (*time.Location, bool) {
	switch z {
	case "":
		return loc, true
	case "Z", "z", "UTC", "GMT", "UT":
		return time.UTC, true
	}
	if len(z) > 3 && (strings.HasPrefix(z, "GMT") || strings.HasPrefix(z, "UTC")) {
		z = z[3:]
	}
	if z[0] != '+' && z[0] != '-' {
		if isWord(z) {
			return loc, true
		}
		return nil, false
	}
	h, rest, ok := num(z[1:], 1, 2)
	if !ok || h > 23 {
		return nil, false
	}
	m := 0
	if len(rest) > 0 {
		if rest[0] == ':' {
			rest = rest[1:]
		}
		var okm bool
		m, rest, okm = num(rest, 2, 2)
		if !okm || m > 59 || rest != "" {
			return nil, false
		}
	}
	off := h*3600 + m*60
	if z[0] == '-' {
		off = -off
	}
	if off == 0 {
		return time.UTC, true
	}
	return time.FixedZone("", off), true
}

func isWord(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '/' || c == '_') {
			return false
		}
	}
	return len(s) <= 40
}

// num reads between minDigits and maxDigits decimal digits at the start of s.
func num(s string, minDigits, maxDigits int) (int, string, bool) {
	n, i := 0, 0
	for i < len(s) && i < maxDigits && s[i] >= '0' && s[i] <= '9' {
		n = n*10 + int(s[i]-'0')
		i++
	}
	if i < minDigits {
		return 0, s, false
	}
	return n, s[i:], true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// monthIndex returns 1..12 for a three-letter English month name (ASCII
// case-insensitive), else 0.
func monthIndex(s string) int {
	if len(s) < 3 {
		return 0
	}
	var b [3]byte
	for i := range b {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		b[i] = c
	}
	switch string(b[:]) {
	case "jan":
		return 1
	case "feb":
		return 2
	case "mar":
		return 3
	case "apr":
		return 4
	case "may":
		return 5
	case "jun":
		return 6
	case "jul":
		return 7
	case "aug":
		return 8
	case "sep":
		return 9
	case "oct":
		return 10
	case "nov":
		return 11
	case "dec":
		return 12
	}
	return 0
}

// ParseJavaTime parses s with a Java SimpleDateFormat pattern, as LEEF's
// devTimeFormat declares (e.g. "MMM dd yyyy HH:mm:ss.SSS z",
// "yyyy-MM-dd'T'HH:mm:ssXXX"). Letters it does not know make it fail; a
// value that is all digits is then read as a Unix epoch.
func ParseJavaTime(s, layout string, loc *time.Location, now time.Time) (time.Time, bool) {
	if t, ok := parseJava(strings.TrimSpace(s), layout, loc, now); ok {
		return t, true
	}
	if allDigits(strings.TrimSpace(s)) {
		return ParseTime(s, loc, now)
	}
	return time.Time{}, false
}

func parseJava(s, layout string, loc *time.Location, now time.Time) (time.Time, bool) {
	if loc == nil {
		loc = time.UTC
	}
	year, mon, day, hh, mm, ss, ns := -1, 0, 1, 0, 0, 0, 0
	pm, hasAMPM := false, false
	zl := loc
	i := 0
	for i < len(layout) {
		c := layout[i]
		if c == '\'' {
			j := strings.IndexByte(layout[i+1:], '\'')
			if j < 0 {
				return time.Time{}, false
			}
			lit := layout[i+1 : i+1+j]
			if j == 0 {
				lit = "'"
			}
			if !strings.HasPrefix(s, lit) {
				return time.Time{}, false
			}
			s = s[len(lit):]
			i += j + 2
			continue
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			if c == ' ' {
				s = strings.TrimLeft(s, " ")
			} else {
				if len(s) == 0 || s[0] != c {
					return time.Time{}, false
				}
				s = s[1:]
			}
			i++
			continue
		}
		n := 1
		for i+n < len(layout) && layout[i+n] == c {
			n++
		}
		i += n
		// Adjacent numeric fields ("yyyyMMdd") need exact widths.
		adjacent := i < len(layout) && (layout[i] >= 'a' && layout[i] <= 'z' || layout[i] >= 'A' && layout[i] <= 'Z')
		width := func(def int) (int, int) {
			if adjacent || n > 2 {
				return max(n, def), max(n, def)
			}
			return 1, max(n, def)
		}
		var ok bool
		switch c {
		case 'y', 'u':
			if n == 2 {
				year, s, ok = num(s, 2, 2)
				year += 2000
			} else {
				year, s, ok = num(s, 4, 4)
			}
		case 'M', 'L':
			if n >= 3 {
				mon = monthIndex(s)
				ok = mon > 0
				if ok {
					k := 0
					for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z') {
						k++
					}
					if n == 3 {
						k = 3
					}
					s = s[k:]
				}
			} else {
				lo, hi := width(2)
				mon, s, ok = num(s, lo, hi)
				ok = ok && mon >= 1 && mon <= 12
			}
		case 'd':
			lo, hi := width(2)
			day, s, ok = num(s, lo, hi)
		case 'H', 'k', 'h', 'K':
			lo, hi := width(2)
			hh, s, ok = num(s, lo, hi)
			if c == 'k' && hh == 24 {
				hh = 0
			}
		case 'm':
			lo, hi := width(2)
			mm, s, ok = num(s, lo, hi)
		case 's':
			lo, hi := width(2)
			ss, s, ok = num(s, lo, hi)
		case 'S':
			if len(s) > 0 && s[0] >= '0' && s[0] <= '9' {
				ns, s = fraction(s)
				ok = true
			}
		case 'a':
			hasAMPM = true
			if len(s) >= 2 && (s[0] == 'P' || s[0] == 'p') {
				pm = true
			}
			ok = len(s) >= 2 && (s[1] == 'M' || s[1] == 'm')
			if ok {
				s = s[2:]
			}
		case 'E':
			k := 0
			for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z') {
				k++
			}
			s, ok = s[k:], k > 0
		case 'z', 'Z', 'X', 'x':
			k := 0
			for k < len(s) && s[k] != ' ' {
				k++
			}
			zl, ok = zone(s[:k], loc)
			s = s[k:]
		default:
			return time.Time{}, false
		}
		if !ok {
			return time.Time{}, false
		}
	}
	if strings.TrimSpace(s) != "" || mon == 0 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	if hasAMPM {
		if hh == 12 {
			hh = 0
		}
		if pm {
			hh += 12
		}
	}
	if year < 0 {
		return parsers.InferYear(time.Month(mon), day, hh, mm, ss, ns, zl, now), true
	}
	return time.Date(year, time.Month(mon), day, hh, mm, ss, ns, zl), true
}
