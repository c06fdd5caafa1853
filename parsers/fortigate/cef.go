package fortigate

import (
	"errors"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
)

// FortiOS "set format cef" (FortiOS Log Message Reference, "FortiOS to CEF
// log field mapping guidelines"): header CEF:0|Fortinet|Fortigate|ver|
// logid|type:subtype ...|level|, then an extension where FortiOS fields
// with a CEF equivalent use the CEF key (srcip→src, sentbyte→out,
// rcvdbyte→in, user→duser, service→app, hostname→dhost, catdesc→
// requestContext...) and every other field keeps its name behind the
// FTNTFGT prefix (FTNTFGTapp is the application). Values are unquoted;
// '=' and '\' inside values are backslash-escaped.

// cefBody returns what follows "CEF:" (a syslog relay may have split
// "CEF:" off as the RFC 3164 tag).
func cefBody(body string, h *parsers.Header) (string, bool) {
	if strings.HasPrefix(body, "CEF:") {
		return strings.TrimLeft(body[4:], " "), true
	}
	if h != nil && h.AppName == "CEF" && len(body) > 1 && body[0] >= '0' && body[0] <= '9' {
		return body, true
	}
	return "", false
}

// isCEF reports whether body is a FortiGate CEF record (vendor Fortinet,
// product Fortigate); other vendors' CEF is not ours.
func isCEF(body string, h *parsers.Header) bool {
	s, ok := cefBody(body, h)
	if !ok {
		return false
	}
	// version|vendor|product|
	i := strings.IndexByte(s, '|')
	if i < 0 || i > 3 {
		return false
	}
	s = s[i+1:]
	j := strings.IndexByte(s, '|')
	if j < 0 || !strings.EqualFold(s[:j], "Fortinet") {
		return false
	}
	s = s[j+1:]
	k := strings.IndexByte(s, '|')
	return k >= 0 && strings.EqualFold(s[:k], "Fortigate")
}

var errCEFHeader = errors.New("fortigate: truncated CEF header")

// scanCEFLine fills f from a FortiGate CEF record.
func scanCEFLine(body string, f *fields) error {
	s, _ := cefBody(body, nil)
	if s == "" {
		s = body // header tag form: the caller checked isCEF
	}
	// Skip the seven header fields (|-separated, "\|" escaped).
	n := 0
	i := 0
	for ; i < len(s) && n < 7; i++ {
		switch s[i] {
		case '\\':
			i++
		case '|':
			n++
		}
	}
	if n < 7 {
		return errCEFHeader
	}
	// FortiOS 5.6 sent some counters as labelled custom numbers
	// ("cn1=7 cn1Label=Duration").
	var cn, cnLabel [4]string
	scanCEFExt(s[i:], func(k, v string) {
		if len(k) >= 3 && k[0] == 'c' && k[1] == 'n' && k[2] >= '1' && k[2] <= '3' {
			switch k[3:] {
			case "":
				cn[k[2]-'0'] = v
				return
			case "Label":
				cnLabel[k[2]-'0'] = v
				return
			}
		}
		switch k {
		case "deviceExternalId":
			f.v[fDevID] = v
		case "dvchost":
			f.v[fDevName] = v
		case "cat":
			typ, sub, _ := strings.Cut(v, ":")
			f.v[fType] = typ
			if f.v[fSubtype] == "" {
				f.v[fSubtype] = sub
			}
		case "src", "c6a2":
			f.v[fSrcIP] = v
		case "spt":
			f.v[fSrcPort] = v
		case "dst", "c6a3":
			f.v[fDstIP] = v
		case "dpt":
			f.v[fDstPort] = v
		case "shost":
			f.v[fSrcName] = v
		case "smac":
			f.v[fSrcMAC] = v
		case "dhost":
			f.v[fHostname] = v
		case "proto":
			f.v[fProto] = v
		case "app":
			f.v[fService] = v // FortiOS maps service, not the application, to app
		case "act":
			f.v[fAction] = v
		case "duser":
			f.v[fUser] = v
		case "out":
			f.v[fSentByte] = v
		case "in":
			f.v[fRcvdByte] = v
		case "sourceTranslatedAddress":
			f.v[fTransIP] = v
		case "sourceTranslatedPort":
			f.v[fTransPort] = v
		case "destinationTranslatedAddress":
			f.v[fTranIP] = v
		case "destinationTranslatedPort":
			f.v[fTranPort] = v
		case "request":
			f.v[fURL] = v
		case "requestMethod":
			f.v[fHTTPMethod] = v
		case "requestClientApplication":
			f.v[fAgent] = v
		case "requestContext":
			f.v[fCatDesc] = v
		default:
			if len(k) > 7 && k[:7] == "FTNTFGT" {
				k = k[7:]
				if k == "subtype" {
					f.v[fSubtype] = v
					return
				}
				f.set(k, v)
			}
		}
	})
	for i := 1; i <= 3; i++ {
		switch cnLabel[i] {
		case "Duration":
			if f.v[fDuration] == "" {
				f.v[fDuration] = cn[i]
			}
		case "Packets Sent":
			if f.v[fSentPkt] == "" {
				f.v[fSentPkt] = cn[i]
			}
		case "Packets Received":
			if f.v[fRcvdPkt] == "" {
				f.v[fRcvdPkt] = cn[i]
			}
		}
	}
	return nil
}

// scanCEFExt walks a CEF extension: a key is the word before '=', a value
// runs to the last space before the next key. "\=" and "\\" (and the "\n",
// "\r" and "\/" some devices write) are unescaped.
func scanCEFExt(s string, fn func(k, v string)) {
	s = strings.TrimLeft(s, " ")
	// eq is the '=' of the next key when finding the previous value's end
	// already located (and validated) it, so keys are not scanned twice.
	eq := -1
	for len(s) > 0 {
		if eq < 0 {
			eq = unescapedEq(s, 0)
			if eq <= 0 || !validKey(s[:eq]) {
				return
			}
		}
		key := s[:eq]
		vs := eq + 1
		end := len(s)
		next := len(s)
		eq = -1
		for from := vs; ; {
			e := unescapedEq(s, from)
			if e < 0 {
				break
			}
			sp := strings.LastIndexByte(s[vs:e], ' ')
			if sp >= 0 && validKey(s[vs+sp+1:e]) {
				end, next = vs+sp, vs+sp+1
				eq = e - next
				break
			}
			from = e + 1
		}
		fn(key, cefUnescape(strings.TrimRight(s[vs:end], " ")))
		s = s[next:]
	}
}

func unescapedEq(s string, from int) int {
	for i := from; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
		case '=':
			return i
		}
	}
	return -1
}

func validKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-' || c == '[' || c == ']') {
			return false
		}
	}
	return true
}

func cefUnescape(v string) string {
	if strings.IndexByte(v, '\\') < 0 {
		return v
	}
	var b strings.Builder
	b.Grow(len(v))
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == '\\' && i+1 < len(v) {
			switch v[i+1] {
			case '=', '\\', '/', '|':
				b.WriteByte(v[i+1])
				i++
				continue
			case 'n':
				b.WriteByte('\n')
				i++
				continue
			case 'r':
				b.WriteByte('\r')
				i++
				continue
			}
		}
		b.WriteByte(c)
	}
	return b.String()
}
