package zscaler

import (
	"errors"
	"strings"
	"unicode/utf8"
)

var errJSON = errors.New("zscaler: malformed JSON record")

// maxJSONDepth bounds nesting: NSS JSON is one object, sometimes wrapped
// in {"sourcetype": ..., "event": {...}}.
const maxJSONDepth = 4

// scanJSON walks a JSON object and calls fn for every member whose value
// is a string, number or literal, nested objects flattened (so the NSS
// wrapper's "event" members arrive like top-level ones). Arrays are
// skipped. Strings allocate only when they hold escapes.
func scanJSON(s string, fn func(k, v string)) error {
	j := jsonScanner{s: s}
	j.ws()
	if !j.object(fn, 0) {
		return errJSON
	}
	j.ws()
	if j.i != len(j.s) {
		return errJSON
	}
	return nil
}

type jsonScanner struct {
	s string
	i int
}

func (j *jsonScanner) ws() {
	for j.i < len(j.s) {
		switch j.s[j.i] {
		case ' ', '\t', '\r', '\n':
			j.i++
		default:
			return
		}
	}
}

func (j *jsonScanner) object(fn func(k, v string), depth int) bool {
	if depth >= maxJSONDepth || j.i >= len(j.s) || j.s[j.i] != '{' {
		return false
	}
	j.i++
	j.ws()
	if j.i < len(j.s) && j.s[j.i] == '}' {
		j.i++
		return true
	}
	for {
		j.ws()
		k, ok := j.str()
		if !ok {
			return false
		}
		j.ws()
		if j.i >= len(j.s) || j.s[j.i] != ':' {
			return false
		}
		j.i++
		j.ws()
		if j.i >= len(j.s) {
			return false
		}
		switch c := j.s[j.i]; {
		case c == '"':
			v, ok := j.str()
			if !ok {
				return false
			}
			fn(k, v)
		case c == '{':
			if !j.object(fn, depth+1) {
				return false
			}
		case c == '[':
			if !j.skipArray(depth + 1) {
				return false
			}
		default:
			start := j.i
			for j.i < len(j.s) && j.s[j.i] != ',' && j.s[j.i] != '}' && j.s[j.i] != ' ' && j.s[j.i] != '\t' && j.s[j.i] != '\r' && j.s[j.i] != '\n' {
				j.i++
			}
			if j.i == start {
				return false
			}
			if lit := j.s[start:j.i]; lit != "null" {
				fn(k, lit)
			}
		}
		j.ws()
		if j.i >= len(j.s) {
			return false
		}
		switch j.s[j.i] {
		case ',':
			j.i++
		case '}':
			j.i++
			return true
		default:
			return false
		}
	}
}

// skipArray skips a balanced array, strings honoured.
func (j *jsonScanner) skipArray(depth int) bool {
	if depth >= maxJSONDepth {
		return false
	}
	level := 0
	for j.i < len(j.s) {
		switch j.s[j.i] {
		case '"':
			if _, ok := j.str(); !ok {
				return false
			}
			continue
		case '[', '{':
			level++
			if level > maxJSONDepth {
				return false
			}
		case ']', '}':
			level--
			if level == 0 {
				j.i++
				return true
			}
		}
		j.i++
	}
	return false
}

// str reads a JSON string at j.i (which must be '"') and unescapes it.
func (j *jsonScanner) str() (string, bool) {
	if j.i >= len(j.s) || j.s[j.i] != '"' {
		return "", false
	}
	start := j.i + 1
	esc := false
	for k := start; k < len(j.s); k++ {
		switch j.s[k] {
		case '\\':
			esc = true
			k++
		case '"':
			j.i = k + 1
			if !esc {
				return j.s[start:k], true
			}
			return unescapeJSON(j.s[start:k])
		}
	}
	return "", false
}

func unescapeJSON(s string) (string, bool) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(s) {
			return "", false
		}
		switch s[i] {
		case '"', '\\', '/':
			b.WriteByte(s[i])
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'u':
			r, n, ok := hexRune(s[i+1:])
			if !ok {
				return "", false
			}
			i += n
			if r >= 0xD800 && r < 0xDC00 && i+2 < len(s) && s[i+1] == '\\' && s[i+2] == 'u' {
				if lo, n2, ok := hexRune(s[i+3:]); ok && lo >= 0xDC00 && lo < 0xE000 {
					r = (r-0xD800)<<10 + (lo - 0xDC00) + 0x10000
					i += 2 + n2
				}
			}
			if r >= 0xD800 && r < 0xE000 {
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default:
			return "", false
		}
	}
	return b.String(), true
}

func hexRune(s string) (rune, int, bool) {
	if len(s) < 4 {
		return 0, 0, false
	}
	var r rune
	for i := 0; i < 4; i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, 0, false
		}
	}
	return r, 4, true
}
