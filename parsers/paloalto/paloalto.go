// Package paloalto parses Palo Alto Networks PAN-OS TRAFFIC and THREAT
// (URL filtering, virus, spyware...) logs in the syslog CSV format of
// PAN-OS 8.x to 11.x. Columns are read by position; the tail that newer
// versions append (54, 75 and 115 traffic columns) is optional.
package paloalto

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

const (
	vendor  = "Palo Alto Networks"
	product = "PAN-OS"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        "paloalto",
		Vendor:      vendor,
		Product:     product,
		Description: "PAN-OS TRAFFIC and THREAT/URL logs (syslog CSV, PAN-OS 8.x-11.x layouts)",
		New:         newParser,
		Detect:      detect,
	})
}

// maxCols bounds the split; PAN-OS 11 logs have about 120 columns.
const maxCols = 160

type parser struct {
	cols  [maxCols]string
	zones parsers.ZoneCache
}

var _ parsers.Parser = (*parser)(nil)

func newParser(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

var errNotPAN = errors.New("paloalto: not a PAN-OS CSV record")

// Column positions shared by TRAFFIC and THREAT (0-based, from the PAN-OS
// "Syslog Field Descriptions").
const (
	colReceiveTime = 1
	colSerial      = 2
	colType        = 3
	colSubtype     = 4
	colGenTime     = 6
	colSrc         = 7
	colDst         = 8
	colNATSrc      = 9
	colNATDst      = 10
	colRule        = 11
	colSrcUser     = 12
	colApp         = 14
	colSport       = 24
	colDport       = 25
	colNATSport    = 26
	colNATDport    = 27
	colProto       = 29
	colAction      = 30
)

// TRAFFIC columns.
const (
	tBytes       = 31
	tBytesSent   = 32
	tBytesRcvd   = 33
	tPackets     = 34
	tElapsed     = 36
	tCategory    = 37
	tPktsSent    = 44
	tPktsRcvd    = 45
	tDeviceName  = 52
	tSrcHost     = 82
	tSrcMAC      = 83
	tHighResTime = 102
	tAppCategory = 106
	tAppRisk     = 108
)

// THREAT columns.
const (
	thURL         = 31
	thThreatID    = 32
	thCategory    = 33
	thContentType = 41
	thUserAgent   = 46
	thReferer     = 49
	thDeviceName  = 59
	thHTTPMethod  = 63
	thSrcHost     = 86
	thSrcMAC      = 87
	thHighResTime = 107
	thAppCategory = 112
	thAppRisk     = 114
)

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	n, err := splitCSV(line, p.cols[:])
	if err != nil {
		return err
	}
	c := p.cols[:n]
	get := func(i int) string {
		if i < len(c) {
			return c[i]
		}
		return ""
	}
	if n < 7 || !isPANTime(get(colReceiveTime)) {
		return errNotPAN
	}
	typ := get(colType)
	switch typ {
	case "TRAFFIC", "THREAT":
	default:
		return fmt.Errorf("%w: pan-os %s log", parsers.ErrSkip, typ)
	}
	if n <= colAction {
		return fmt.Errorf("paloalto: truncated %s record: %d columns", typ, n)
	}
	sub := get(colSubtype)
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	r.ObserverSerial = parsers.Clean(get(colSerial))

	r.SourceIP = parsers.ParseIP(get(colSrc))
	r.DestinationIP = parsers.ParseIP(get(colDst))
	if !r.SourceIP.IsValid() && !r.DestinationIP.IsValid() {
		return fmt.Errorf("paloalto: %s record without source/destination address", typ)
	}
	r.SourcePort = parsers.ParsePort(get(colSport))
	r.DestinationPort = parsers.ParsePort(get(colDport))
	r.SourceNATIP = parsers.ParseIP(get(colNATSrc))
	r.DestinationNATIP = parsers.ParseIP(get(colNATDst))
	r.SourceNATPort = parsers.ParsePort(get(colNATSport))
	r.DestinationNATPort = parsers.ParsePort(get(colNATDport))
	r.RuleName = parsers.Clean(get(colRule))
	parsers.SetUser(r, get(colSrcUser))
	r.NetworkApplication = application(get(colApp))
	r.NetworkTransport = parsers.Lower(parsers.Clean(get(colProto)))
	action := get(colAction)
	r.EventAction = action
	r.Verdict = verdict(action)

	var highRes string
	if typ == "TRAFFIC" {
		r.Category = "network"
		sent, rcvd := parsers.ParseNum(get(tBytesSent)), parsers.ParseNum(get(tBytesRcvd))
		if sent.Set || rcvd.Set {
			// Bytes Sent is client-to-server, Bytes Received server-to-client.
			r.SourceBytes, r.DestinationBytes = sent, rcvd
		} else {
			r.NetworkBytes = parsers.ParseNum(get(tBytes))
		}
		ps, pr := parsers.ParseNum(get(tPktsSent)), parsers.ParseNum(get(tPktsRcvd))
		if ps.Set || pr.Set {
			r.SourcePackets, r.DestinationPackets = ps, pr
		} else {
			r.NetworkPackets = parsers.ParseNum(get(tPackets))
		}
		// Elapsed Time, not Start Time: the session start is never the event time.
		if d := parsers.ParseNum(get(tElapsed)); d.Set && d.V < 1<<33 {
			r.Duration = parsers.N(d.V * int64(time.Second))
		}
		r.URLCategory = urlCategory(get(tCategory))
		r.ObserverHostname = parsers.Clean(get(tDeviceName))
		r.SourceDomain = parsers.Clean(get(tSrcHost))
		r.SourceMAC = parsers.Clean(get(tSrcMAC))
		r.AppCategory = parsers.Clean(get(tAppCategory))
		r.AppRisk = parsers.Clean(get(tAppRisk))
		highRes = get(tHighResTime)
	} else {
		r.Category = "network"
		if sub == "url" {
			r.Category = "web"
			parsers.SetURL(r, get(thURL))
			if h := r.URLDomain; h != "" && !parsers.ParseIP(h).IsValid() {
				r.DestinationDomain = h
			}
			r.HTTPContentType = parsers.Clean(get(thContentType))
			r.UserAgent = parsers.Clean(get(thUserAgent))
			r.HTTPReferrer = parsers.Clean(get(thReferer))
			if m := parsers.Clean(get(thHTTPMethod)); m != "" {
				r.HTTPMethod = strings.ToUpper(m)
			}
		} else {
			r.ThreatName = parsers.Clean(get(thThreatID))
		}
		r.URLCategory = urlCategory(get(thCategory))
		r.ObserverHostname = parsers.Clean(get(thDeviceName))
		r.SourceDomain = parsers.Clean(get(thSrcHost))
		r.SourceMAC = parsers.Clean(get(thSrcMAC))
		r.AppCategory = parsers.Clean(get(thAppCategory))
		r.AppRisk = parsers.Clean(get(thAppRisk))
		highRes = get(thHighResTime)
	}

	loc := m.Location
	if loc == nil {
		loc = time.UTC
	}
	// High Resolution Timestamp (10.0+) carries its offset; Generated Time
	// is the firewall's local time without one; Receive Time is the last
	// resort. The syslog header's offset says nothing about the CSV times.
	if t, ok := p.parseISO(highRes); ok {
		r.Timestamp = t
	} else if t, ok := parsePANTime(get(colGenTime), loc); ok {
		r.Timestamp = t
	} else if t, ok := parsePANTime(get(colReceiveTime), loc); ok {
		r.Timestamp = t
	}
	return nil
}

// application drops the App-ID sentinels that name no application.
func application(a string) string {
	switch a {
	case "incomplete", "insufficient-data", "unknown-tcp", "unknown-udp", "unknown-p2p", "non-syn-tcp":
		return ""
	}
	return parsers.Clean(a)
}

// urlCategory drops "any", which traffic logs carry for no URL category.
func urlCategory(c string) string {
	if c == "any" {
		return ""
	}
	return parsers.Clean(c)
}

// verdict maps PAN-OS actions. In THREAT/URL logs alert, continue and
// override mean the request went through.
func verdict(a string) parsers.Verdict {
	switch parsers.Lower(a) {
	case "allow", "alert", "continue", "override":
		return parsers.Allowed
	case "deny", "drop", "drop icmp", "drop-icmp", "drop-all-packets", "reset-client", "reset-server",
		"reset-both", "reset client", "reset server", "reset both", "block", "block-url", "block-ip",
		"block-continue", "block-override", "override-lockout", "random-drop", "sinkhole":
		return parsers.Denied
	}
	return parsers.VerdictUnknown
}

// splitCSV splits one PAN-OS record into out and returns the column count.
// Quoted columns may contain commas and doubled quotes; a column that
// starts with '{' (9.1+ Link Switches) runs to its matching brace.
// Columns beyond len(out) are ignored.
func splitCSV(s string, out []string) (int, error) {
	n := 0
	i := 0
	for n < len(out) {
		var field string
		switch {
		case i < len(s) && s[i] == '"':
			j := i + 1
			esc := false
			for {
				k := strings.IndexByte(s[j:], '"')
				if k < 0 {
					return n, fmt.Errorf("%w: unterminated quote in column %d", errNotPAN, n)
				}
				j += k
				if j+1 < len(s) && s[j+1] == '"' {
					esc = true
					j += 2
					continue
				}
				break
			}
			field = s[i+1 : j]
			if esc {
				field = strings.ReplaceAll(field, `""`, `"`)
			}
			i = j + 1
			// Tolerate junk between the closing quote and the comma.
			if k := strings.IndexByte(s[i:], ','); k > 0 {
				i += k
			} else if k < 0 {
				i = len(s)
			}
		case i < len(s) && s[i] == '{':
			depth, j := 0, i
			for ; j < len(s); j++ {
				if s[j] == '{' {
					depth++
				} else if s[j] == '}' {
					depth--
					if depth == 0 {
						break
					}
				}
			}
			if depth != 0 {
				j = i // unbalanced: an ordinary column
			}
			k := strings.IndexByte(s[j:], ',')
			if k < 0 {
				field, i = s[i:], len(s)
			} else {
				field, i = s[i:j+k], j+k
			}
		default:
			k := strings.IndexByte(s[i:], ',')
			if k < 0 {
				field, i = s[i:], len(s)
			} else {
				field, i = s[i:i+k], i+k
			}
		}
		out[n] = field
		n++
		if i >= len(s) {
			break
		}
		i++ // the comma; a trailing one yields a last empty column
		if i == len(s) && n < len(out) {
			out[n] = ""
			n++
			break
		}
	}
	return n, nil
}

// isPANTime reports whether s looks like "2026/01/15 10:00:00".
func isPANTime(s string) bool {
	return len(s) == 19 && s[4] == '/' && s[7] == '/' && s[10] == ' ' && s[13] == ':' && s[16] == ':'
}

// parsePANTime reads "yyyy/MM/dd HH:mm:ss" in the firewall's zone.
func parsePANTime(s string, loc *time.Location) (time.Time, bool) {
	if !isPANTime(s) {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	hh, ok4 := digits(s[11:13])
	mm, ok5 := digits(s[14:16])
	ss, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, hh, mm, ss, 0, loc), true
}

// parseISO reads the High Resolution Timestamp, RFC 3339 with an offset
// ("2026-01-15T10:00:00.123+01:00"); a value without offset is refused.
func (p *parser) parseISO(s string) (time.Time, bool) {
	if len(s) < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return time.Time{}, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	hh, ok4 := digits(s[11:13])
	mm, ok5 := digits(s[14:16])
	ss, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	rest := s[19:]
	ns := 0
	if rest[0] == '.' {
		k := 1
		scale := 100000000
		for ; k < len(rest) && rest[k] >= '0' && rest[k] <= '9'; k++ {
			ns += int(rest[k]-'0') * scale
			scale /= 10
		}
		if k == 1 || k > 10 {
			return time.Time{}, false
		}
		rest = rest[k:]
	}
	var loc *time.Location
	switch {
	case rest == "Z":
		loc = time.UTC
	case len(rest) == 6 && (rest[0] == '+' || rest[0] == '-') && rest[3] == ':':
		zh, okh := digits(rest[1:3])
		zm, okm := digits(rest[4:6])
		if !okh || !okm || zh > 14 || zm > 59 {
			return time.Time{}, false
		}
		off := zh*3600 + zm*60
		if rest[0] == '-' {
			off = -off
		}
		loc = p.zones.Get(off)
	default:
		return time.Time{}, false
	}
	return time.Date(y, time.Month(mo), d, hh, mm, ss, ns, loc), true
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

// detect recognizes "FUTURE_USE,yyyy/MM/dd HH:mm:ss,serial,TYPE,".
func detect(body string, _ *parsers.Header) int {
	c := strings.IndexByte(body, ',')
	if c < 0 || c > 12 || len(body) < c+21 || !isPANTime(body[c+1:c+20]) || body[c+20] != ',' {
		return 0
	}
	rest := body[c+21:]
	k := strings.IndexByte(rest, ',')
	if k < 0 || k > 32 {
		return 0
	}
	rest = rest[k+1:]
	e := strings.IndexByte(rest, ',')
	if e < 0 {
		return 0
	}
	switch rest[:e] {
	case "TRAFFIC", "THREAT", "SYSTEM", "CONFIG", "HIPMATCH", "HIP-MATCH", "GLOBALPROTECT", "USERID",
		"AUTHENTICATION", "DECRYPTION", "TUNNEL", "GTP", "SCTP", "CORRELATION", "IPTAG", "AUDIT":
		return 95
	}
	return 0
}
