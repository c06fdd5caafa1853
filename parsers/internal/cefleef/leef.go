package cefleef

import (
	"errors"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
)

// ErrNotLEEF is returned for a body that holds no "LEEF:" header.
var ErrNotLEEF = errors.New("not a LEEF message")

// LEEF is one LEEF 1.0 or 2.0 message: its header fields and raw attributes.
type LEEF struct {
	Version    string
	Vendor     string
	Product    string
	DevVersion string
	EventID    string
	Attrs      string
	// Delim separates the attributes: the LEEF 2.0 delimiter field, or tab;
	// "" means the attributes are space-separated like a CEF extension
	// (producers that ignore the spec).
	Delim string
}

// IndexLEEF returns where "LEEF:<version>|" starts in the first bytes of
// body, or -1. It does not allocate.
func IndexLEEF(body string) int { return indexHeader(body, "LEEF:") }

// tabForms are what relays turn a tab into: rsyslog's octal escape, the
// "<009>" some appliances print, and a literal backslash-t.
var tabForms = [...]string{"#011", "<009>", `\t`, `\0x09`, `\x09`}

// SplitLEEF splits a message body into its LEEF header and attributes. LEEF
// 2.0's delimiter field may be a character or hex ("x09", "0x5E", "^"), and
// may be missing (Check Point); a LEEF 1.0 producer that adds a sixth
// header field without '=' (Forcepoint Email's severity) is tolerated.
func SplitLEEF(body string) (LEEF, error) {
	at := IndexLEEF(body)
	if at < 0 {
		return LEEF{}, ErrNotLEEF
	}
	return splitLEEF(body[at+len("LEEF:"):])
}

// LocateLEEF is LocateCEF for LEEF: where the header starts for
// HeaderField, also when a relay took "LEEF:" as the syslog TAG.
func LocateLEEF(body string, h *parsers.Header) int {
	if i := IndexLEEF(body); i >= 0 {
		return i
	}
	if tagEaten(body, h, "LEEF") {
		return 0
	}
	return -1
}

// SplitLEEFHeader is SplitLEEF that also accepts a body whose "LEEF:" a
// relay took as the syslog TAG.
func SplitLEEFHeader(body string, h *parsers.Header) (LEEF, error) {
	at := IndexLEEF(body) // looked up once: it scans up to maxPrefix bytes
	if at < 0 {
		if tagEaten(body, h, "LEEF") {
			return splitLEEF(body)
		}
		return LEEF{}, ErrNotLEEF
	}
	return splitLEEF(body[at+len("LEEF:"):])
}

// splitLEEF splits what follows "LEEF:".
func splitLEEF(s string) (LEEF, error) {
	var f [5]string
	for n := 0; n < 5; n++ {
		end := unescapedPipe(s)
		if end < 0 {
			if n == 4 && s != "" {
				// "LEEF:1.0|V|P|1|Event" with no attributes at all.
				f[n], s = s, ""
				break
			}
			return LEEF{}, errors.New("truncated LEEF header")
		}
		f[n] = s[:end]
		s = s[end+1:]
	}
	l := LEEF{
		Version:    strings.TrimSpace(f[0]),
		Vendor:     unescapeHeader(f[1]),
		Product:    unescapeHeader(f[2]),
		DevVersion: unescapeHeader(f[3]),
		EventID:    unescapeHeader(f[4]),
		Delim:      "\t",
	}
	if seg, rest, ok := strings.Cut(s, "|"); ok && !strings.Contains(seg, "=") {
		if strings.HasPrefix(l.Version, "2") {
			d, valid := parseDelim(seg)
			if !valid {
				return LEEF{}, errors.New("bad LEEF 2.0 delimiter " + quote(seg))
			}
			l.Delim = d
			s = rest
		} else if len(seg) <= 16 {
			s = rest
		}
	}
	l.Attrs = s
	if l.Delim == "\t" && strings.IndexByte(s, '\t') < 0 {
		l.Delim = ""
		for _, t := range tabForms {
			if strings.Contains(s, t) {
				l.Delim = t
				break
			}
		}
	}
	return l, nil
}

// parseDelim reads a LEEF 2.0 delimiter field: one character, or a hex
// code written x09, 0x09, \x09 or X5E.
func parseDelim(seg string) (string, bool) {
	switch {
	case len(seg) == 1:
		return seg, true
	case seg == `\t`:
		return "\t", true
	}
	h := seg
	for _, p := range [...]string{`\x`, "0x", "0X", "x", "X"} {
		if strings.HasPrefix(h, p) {
			h = h[len(p):]
			break
		}
	}
	if h == seg || len(h) == 0 || len(h) > 4 {
		return "", false
	}
	n := 0
	for i := 0; i < len(h); i++ {
		c := h[i]
		switch {
		case c >= '0' && c <= '9':
			n = n*16 + int(c-'0')
		case c >= 'a' && c <= 'f':
			n = n*16 + int(c-'a'+10)
		case c >= 'A' && c <= 'F':
			n = n*16 + int(c-'A'+10)
		default:
			return "", false
		}
	}
	if n == 0 || n >= 0x80 || n == '=' {
		return "", false
	}
	return ascii[n : n+1], true
}

// ascii holds every 7-bit character, so a one-byte delimiter string is a
// slice of it rather than an allocation.
const ascii = "\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f" +
	"\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f" +
	" !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~\x7f"

func quote(s string) string {
	if len(s) > 32 {
		s = s[:32]
	}
	return `"` + s + `"`
}

// AttrIter walks LEEF attributes. With a delimiter each attribute is
// "key=value" and the value runs to the next delimiter ('=' inside it is
// literal); without one it falls back to CEF extension rules.
type AttrIter struct {
	s, delim string
	pos      int
	cef      ExtIter
	key, val string
}

// Iter returns an iterator over l's attributes.
func (l *LEEF) Iter() AttrIter {
	if l.Delim == "" {
		return AttrIter{cef: NewExt(l.Attrs)}
	}
	return AttrIter{s: l.Attrs, delim: l.Delim}
}

// Next advances to the next attribute and reports whether there was one.
func (it *AttrIter) Next() bool {
	if it.delim == "" {
		if !it.cef.Next() {
			return false
		}
		it.key, it.val = it.cef.Key(), it.cef.Value()
		return true
	}
	for it.pos < len(it.s) {
		rest := it.s[it.pos:]
		piece := rest
		if i := indexDelim(rest, it.delim); i >= 0 {
			piece = rest[:i]
			it.pos += i + len(it.delim)
		} else {
			it.pos = len(it.s)
		}
		eq := strings.IndexByte(piece, '=')
		if eq <= 0 {
			continue
		}
		it.key = trimKey(piece[:eq])
		v := piece[eq+1:]
		for len(v) > 0 && (v[len(v)-1] == ' ' || v[len(v)-1] == '\r' || v[len(v)-1] == '\n') {
			v = v[:len(v)-1]
		}
		it.val = v
		return true
	}
	return false
}

// indexDelim is strings.Index, with the common one-byte delimiter (tab)
// going straight to strings.IndexByte.
func indexDelim(s, delim string) int {
	if len(delim) == 1 {
		return strings.IndexByte(s, delim[0])
	}
	return strings.Index(s, delim)
}

// trimKey is strings.TrimSpace without the call for the usual key, whose
// first and last bytes are printable ASCII.
func trimKey(k string) string {
	if n := len(k); n > 0 && k[0] > ' ' && k[0] < 0x80 && k[n-1] > ' ' && k[n-1] < 0x80 {
		return k
	}
	return strings.TrimSpace(k)
}

// Key returns the current attribute name.
func (it *AttrIter) Key() string { return it.key }

// Value returns the current attribute value.
func (it *AttrIter) Value() string { return it.val }
