// Package cefleef tokenizes ArcSight CEF and IBM QRadar LEEF messages and
// maps their standard keys onto the normalized record. The generic cef and
// leef formats and every vendor format that exports CEF or LEEF (Check Point,
// Forcepoint, McAfee Web Gateway, iboss) share it, so each syntax is parsed
// by one piece of code.
package cefleef

import (
	"errors"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
)

// ErrNotCEF is returned for a body that holds no "CEF:" header.
var ErrNotCEF = errors.New("not a CEF message")

// maxPrefix bounds how far into a body a CEF/LEEF header is looked for: some
// relays leave a host or tag in front of it.
const maxPrefix = 256

// CEF is one CEF message: the seven header fields (unescaped) and the raw
// extension.
type CEF struct {
	Version     string
	Vendor      string
	Product     string
	DevVersion  string
	SignatureID string
	Name        string
	Severity    string
	Ext         string
}

// IndexCEF returns where "CEF:<digits>|" starts in the first bytes of body,
// or -1. It does not allocate.
func IndexCEF(body string) int { return indexHeader(body, "CEF:") }

// indexHeader finds tag (CEF: or LEEF:) at the start of body or after a
// space within maxPrefix bytes, followed by an optional space, a version
// and '|'.
func indexHeader(body, tag string) int {
	limit := min(len(body), maxPrefix+len(tag))
	off := 0
	for off < limit {
		i := strings.Index(body[off:limit], tag)
		if i < 0 {
			return -1
		}
		i += off
		if i == 0 || body[i-1] == ' ' || body[i-1] == '\t' {
			j := i + len(tag)
			for j < len(body) && body[j] == ' ' {
				j++
			}
			k := j
			for k < len(body) && (body[k] >= '0' && body[k] <= '9' || body[k] == '.') {
				k++
			}
			if k > j && k < len(body) && body[k] == '|' {
				return i
			}
		}
		off = i + 1
	}
	return -1
}

// LocateCEF returns where the CEF header of body starts for HeaderField,
// or -1. A relay whose RFC 3164 parser took "CEF:" of "CEF: 0|..." as the
// TAG and forwarded the message with it as APP-NAME ("<134>1 ... host CEF
// - - - 0|...") leaves h.AppName "CEF" and a body starting at the
// version; then the header starts at 0.
func LocateCEF(body string, h *parsers.Header) int {
	if i := IndexCEF(body); i >= 0 {
		return i
	}
	if tagEaten(body, h, "CEF") {
		return 0
	}
	return -1
}

// tagEaten reports whether the syslog header split took tag ("CEF" or
// "LEEF") as the RFC 3164 TAG, leaving "<version>|..." as the body.
func tagEaten(body string, h *parsers.Header, tag string) bool {
	if h == nil || h.AppName != tag {
		return false
	}
	j := 0
	for j < len(body) && body[j] == ' ' {
		j++
	}
	k := j
	for k < len(body) && (body[k] >= '0' && body[k] <= '9' || body[k] == '.') {
		k++
	}
	return k > j && k < len(body) && body[k] == '|'
}

// HeaderField returns the n-th (0-based, after the version) pipe-separated
// header field following the CEF:/LEEF: tag at body[at:], raw (escapes left
// in). Detect functions use it to compare vendor and product without
// allocating.
func HeaderField(body string, at, n int) (string, bool) {
	s := body[at:]
	p := strings.IndexByte(s, '|')
	if p < 0 {
		return "", false
	}
	s = s[p+1:]
	for f := 0; ; f++ {
		end := unescapedPipe(s)
		if end < 0 {
			return "", false
		}
		if f == n {
			return s[:end], true
		}
		s = s[end+1:]
	}
}

// unescapedPipe returns the index of the first '|' in s not escaped with a
// backslash, or -1.
func unescapedPipe(s string) int {
	off := 0
	for {
		i := strings.IndexByte(s[off:], '|')
		if i < 0 {
			return -1
		}
		i += off
		if !escaped(s, i) {
			return i
		}
		off = i + 1
	}
}

// escaped reports whether s[i] is preceded by an odd number of backslashes.
func escaped(s string, i int) bool {
	n := 0
	for j := i - 1; j >= 0 && s[j] == '\\'; j-- {
		n++
	}
	return n%2 == 1
}

// SplitCEF splits a message body into its CEF header and extension. Header
// fields are unescaped (\| and \\); the extension is left raw for ExtIter.
func SplitCEF(body string) (CEF, error) {
	at := IndexCEF(body)
	if at < 0 {
		return CEF{}, ErrNotCEF
	}
	return splitCEF(body[at+len("CEF:"):])
}

// SplitCEFHeader is SplitCEF that also accepts a body whose "CEF:" a relay
// took as the syslog TAG (see LocateCEF).
func SplitCEFHeader(body string, h *parsers.Header) (CEF, error) {
	at := IndexCEF(body) // looked up once: it scans up to maxPrefix bytes
	if at < 0 {
		if tagEaten(body, h, "CEF") {
			return splitCEF(body)
		}
		return CEF{}, ErrNotCEF
	}
	return splitCEF(body[at+len("CEF:"):])
}

// splitCEF splits what follows "CEF:".
func splitCEF(s string) (CEF, error) {
	var f [7]string
	for n := 0; n < 7; n++ {
		end := unescapedPipe(s)
		if end < 0 {
			return CEF{}, errors.New("truncated CEF header: " + parsers.Itoa(int64(n)) + " of 7 fields")
		}
		f[n] = s[:end]
		s = s[end+1:]
	}
	c := CEF{
		Version:     strings.TrimSpace(f[0]),
		Vendor:      unescapeHeader(f[1]),
		Product:     unescapeHeader(f[2]),
		DevVersion:  unescapeHeader(f[3]),
		SignatureID: unescapeHeader(f[4]),
		Name:        unescapeHeader(f[5]),
		Severity:    strings.TrimSpace(unescapeHeader(f[6])),
		Ext:         strings.TrimLeft(s, " "),
	}
	return c, nil
}

// unescapeHeader removes the header escapes \| and \\; other backslashes
// stay literal.
func unescapeHeader(s string) string {
	if strings.IndexByte(s, '\\') < 0 {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+1 < len(s) && (s[i+1] == '|' || s[i+1] == '\\') {
			i++
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// ExtIter walks the key=value pairs of a CEF extension. Values may contain
// spaces: a value ends at the last space before the next unescaped
// "key=". Escapes \= \\ \n \r (and \| which some producers add) are
// removed by Value; nothing is allocated unless a value holds an escape.
type ExtIter struct {
	s        string
	pos      int
	nextEq   int // the '=' of the next key, found while ending the value
	key, raw string
}

// NewExt returns an iterator over ext.
func NewExt(ext string) ExtIter { return ExtIter{s: ext} }

// Next advances to the next pair and reports whether there was one.
func (it *ExtIter) Next() bool {
	s := it.s
	i := it.pos
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	if i >= len(s) {
		it.pos = len(s)
		return false
	}
	ks, eq := i, it.nextEq
	// The previous call found this key and its '=' while ending its value
	// (a key is never empty, so a remembered '=' lies after i, and the key
	// starts at i); else look for the first unescaped '='.
	if eq <= i || eq >= len(s) {
		eq = i
		for {
			k := strings.IndexByte(s[eq:], '=')
			if k < 0 {
				it.pos = len(s)
				return false
			}
			eq += k
			if !escaped(s, eq) {
				break
			}
			eq++
		}
		if sp := strings.LastIndexByte(s[i:eq], ' '); sp >= 0 {
			ks = i + sp + 1 // text before a key that has no '=' is dropped
		}
	}
	it.key = s[ks:eq]
	vs := eq + 1
	it.nextEq = 0
	end, next := len(s), len(s)
	// The value ends at the first space followed by a valid key and '='.
	// Scanning forward from space to space touches each byte about once;
	// a key candidate never holds a backslash, so its '=' is never an
	// escaped one.
	for j := vs; j < len(s); {
		sp := strings.IndexByte(s[j:], ' ')
		if sp < 0 {
			break
		}
		sp += j
		k, limit := sp+1, min(len(s), sp+66) // keys are at most 64 bytes
		for k < limit && keyChars[s[k]] {
			k++
		}
		if k > sp+1 && k < limit && s[k] == '=' {
			end, next = sp, sp+1
			it.nextEq = k
			break
		}
		j = k
	}
	v := s[vs:end]
	for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\t' || v[len(v)-1] == '\r') {
		v = v[:len(v)-1]
	}
	it.raw = v
	it.pos = next
	return true
}

// Key returns the current key.
func (it *ExtIter) Key() string { return it.key }

// Value returns the current value with CEF escapes removed and one pair of
// surrounding double quotes (added by some producers) stripped.
func (it *ExtIter) Value() string { return UnescapeValue(it.raw) }

// UnescapeValue removes CEF extension escapes from v.
func UnescapeValue(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '=', '\\', '|':
				c = v[i+1]
				i++
			case 'n':
				c = '\n'
				i++
			case 'r':
				c = '\r'
				i++
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}

// keyChars holds the bytes a CEF/LEEF key may have: ASCII letters, digits
// and _ . - [ ] (keys are at most 64 bytes). A table, because the value
// scan tests every byte after a space.
var keyChars = func() (t [256]bool) {
	for c := 0; c < 256; c++ {
		t[c] = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '[' || c == ']'
	}
	return t
}()
