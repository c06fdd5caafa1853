// Package barracuda parses the Barracuda CloudGen Firewall (NG Firewall)
// activity log, box_Firewall_Activity: "<Type> [<host>|<offset>] <Action>:
// type=FWD|proto=TCP|srcIP=...|..." with '|'-separated key=value pairs.
// It arrives over syslog with the tag "<host>/box_Firewall_Activity:", or as
// the box's own log file whose lines start "2026 03 12 09:15:22 Info
// +01:00 Allow: ...". Lines of other box and service logs return ErrSkip.
package barracuda

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/netproto"
)

// Name is the registry name of the format.
const Name = "barracuda"

const activityLog = "box_Firewall_Activity"

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      "Barracuda",
		Product:     "CloudGen Firewall",
		Description: "Barracuda CloudGen Firewall activity log (box_Firewall_Activity, syslog or log file)",
		New: func(o parsers.Options) (parsers.Parser, error) {
			return &parser{}, nil
		},
		Detect: detect,
	})
}

// ErrMalformed is wrapped by errors for activity-log lines that cannot be read.
var ErrMalformed = errors.New("malformed firewall activity line")

type parser struct {
	// zone caches the last fixed zone of the log-file form, which names its
	// offset on every line, so each line does not allocate a new one.
	zoneOff int
	zone    *time.Location
}

var _ parsers.Parser = (*parser)(nil)

func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	if app := m.Header.AppName; app != "" && !strings.HasSuffix(app, activityLog) {
		return fmt.Errorf("%w: %s log", parsers.ErrSkip, app)
	}
	s := strings.TrimLeft(body, " ")
	// Log-file form: "YYYY MM DD hh:mm:ss <Type> <+hh:mm> <Action>: ...".
	var local time.Time
	hasTime := false
	if t, rest, ok := fileTime(s); ok {
		local, hasTime, s = t, true, rest
	}
	// "<Type> [<host> | <offset>] <Action>: <pairs>"
	colon := strings.Index(s, ": ")
	if colon < 0 {
		return fmt.Errorf("%w: no \"<Action>: \"", ErrMalformed)
	}
	headWords := s[:colon]
	pairs := s[colon+2:]
	var buf [4]string
	w := words(headWords, buf[:])
	if len(w) < 2 || len(w) > 3 {
		return fmt.Errorf("%w: %d words before the action, want type [host|offset] action", ErrMalformed, len(w))
	}
	action := w[len(w)-1]
	loc := m.Location // a file line without an offset is in the source's zone
	if len(w) == 3 {
		if off, ok := zoneOffset(w[1]); ok {
			loc = p.fixedZone(off)
		} else {
			r.ObserverHostname = w[1]
		}
	}
	if hasTime {
		if loc == nil {
			loc = time.UTC
		}
		r.Timestamp = time.Date(local.Year(), local.Month(), local.Day(), local.Hour(), local.Minute(), local.Second(), 0, loc)
	}
	var f fields
	for pairs != "" {
		var kv string
		if i := strings.IndexByte(pairs, '|'); i >= 0 {
			kv, pairs = pairs[:i], pairs[i+1:]
		} else {
			kv, pairs = pairs, ""
		}
		if k, v, ok := strings.Cut(kv, "="); ok {
			f.set(k, v)
		}
	}
	if !f.hasType {
		return fmt.Errorf("%w: no type= pair", ErrMalformed)
	}
	return build(&f, action, r)
}

// fields holds the raw values of one activity line.
type fields struct {
	proto, srcIP, srcPort, srcMAC, dstIP, dstPort string
	rule, srcNAT, dstNAT, duration                string
	rcvdBytes, sentBytes, rcvdPkts, sentPkts      string
	user, protocol, app, target, urlcat           string
	hasType                                       bool
}

func (f *fields) set(k, v string) {
	switch k {
	case "type":
		f.hasType = true
	case "proto":
		f.proto = v
	case "srcIP":
		f.srcIP = v
	case "srcPort":
		f.srcPort = v
	case "srcMAC":
		f.srcMAC = v
	case "dstIP":
		f.dstIP = v
	case "dstPort":
		f.dstPort = v
	case "rule":
		f.rule = v
	case "srcNAT":
		f.srcNAT = v
	case "dstNAT":
		f.dstNAT = v
	case "duration":
		f.duration = v
	case "receivedBytes":
		f.rcvdBytes = v
	case "sentBytes":
		f.sentBytes = v
	case "receivedPackets":
		f.rcvdPkts = v
	case "sentPackets":
		f.sentPkts = v
	case "user":
		f.user = v
	case "protocol":
		f.protocol = v
	case "application":
		f.app = v
	case "target":
		f.target = v
	case "urlcat":
		f.urlcat = v
	}
}

func build(f *fields, action string, r *parsers.Record) error {
	r.SourceIP = parsers.ParseIP(f.srcIP)
	r.DestinationIP = parsers.ParseIP(f.dstIP)
	if !r.SourceIP.IsValid() || !r.DestinationIP.IsValid() {
		return fmt.Errorf("%w: unreadable srcIP or dstIP", ErrMalformed)
	}
	r.NetworkTransport = netproto.Transport(f.proto)
	// For ICMP the firewall logs its internal ICMP id as the port.
	if !netproto.IsICMP(r.NetworkTransport) {
		r.SourcePort = parsers.ParsePort(f.srcPort)
		r.DestinationPort = parsers.ParsePort(f.dstPort)
	}
	if f.srcMAC != "00:00:00:00:00:00" { // the firewall's own (LOUT) traffic
		r.SourceMAC = parsers.Clean(f.srcMAC)
	}
	if ip, port := natAddr(f.srcNAT); ip.IsValid() && ip != r.SourceIP {
		r.SourceNATIP, r.SourceNATPort = ip, port
	}
	if ip, port := natAddr(f.dstNAT); ip.IsValid() && ip != r.DestinationIP {
		r.DestinationNATIP, r.DestinationNATPort = ip, port
	}
	r.EventAction = action
	switch action {
	case "Allow", "Remove":
		// Allow: session established; Remove: session ended with counters.
		r.Verdict = parsers.Allowed
	case "Block", "Deny", "Drop", "Reset":
		r.Verdict = parsers.Denied
	case "Fail":
		// allowed by the rule set, but the connection attempt failed
		r.Verdict = parsers.Allowed
		r.Outcome = "failure"
	}
	// sentBytes are the client's (source's) bytes, receivedBytes the
	// server's answer (formats.md §17).
	r.SourceBytes = parsers.ParseNum(f.sentBytes)
	r.DestinationBytes = parsers.ParseNum(f.rcvdBytes)
	r.SourcePackets = parsers.ParseNum(f.sentPkts)
	r.DestinationPackets = parsers.ParseNum(f.rcvdPkts)
	if d := parsers.ParseNum(f.duration); d.Set {
		r.Duration = parsers.N(d.V * int64(time.Millisecond))
	}
	parsers.SetUser(r, f.user)
	r.NetworkApplication = parsers.Clean(f.app)
	r.NetworkProtocol = netproto.AppProtocol(f.protocol)
	r.DestinationDomain = parsers.Clean(f.target)
	r.URLCategory = parsers.Clean(f.urlcat)
	r.RuleName = parsers.Clean(f.rule)
	r.Category = "network"
	r.ObserverVendor = "Barracuda"
	r.ObserverProduct = "CloudGen Firewall"
	return nil
}

// fileTime reads the log file's "YYYY MM DD hh:mm:ss " prefix (its zone
// comes later on the line).
func fileTime(s string) (time.Time, string, bool) {
	if len(s) < 20 || s[4] != ' ' || s[7] != ' ' || s[10] != ' ' || s[13] != ':' || s[16] != ':' || s[19] != ' ' {
		return time.Time{}, s, false
	}
	y, ok1 := atoi(s[0:4])
	mo, ok2 := atoi(s[5:7])
	d, ok3 := atoi(s[8:10])
	hh, ok4 := atoi(s[11:13])
	mm, ok5 := atoi(s[14:16])
	ss, ok6 := atoi(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, s, false
	}
	return time.Date(y, time.Month(mo), d, hh, mm, ss, 0, time.UTC), s[20:], true
}

// zoneOffset parses "+01:00" / "-05:30" into seconds east of UTC.
func zoneOffset(s string) (int, bool) {
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return 0, false
	}
	h, ok1 := atoi(s[1:3])
	m, ok2 := atoi(s[4:6])
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return 0, false
	}
	off := h*3600 + m*60
	if s[0] == '-' {
		off = -off
	}
	return off, true
}

func (p *parser) fixedZone(off int) *time.Location {
	if off == 0 {
		return time.UTC
	}
	if p.zone == nil || p.zoneOff != off {
		p.zone, p.zoneOff = time.FixedZone("", off), off
	}
	return p.zone
}

func atoi(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, s != ""
}

// words splits s on runs of spaces into buf; a line with more words than
// buf holds comes back with len(buf) words.
func words(s string, buf []string) []string {
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

// natAddr reads a NAT address, which may carry a port ("198.51.100.1:8443").
func natAddr(s string) (netip.Addr, parsers.Num) {
	if ip := parsers.ParseIP(s); ip.IsValid() || strings.Count(s, ":") != 1 {
		return ip, parsers.Num{}
	}
	host, port, _ := strings.Cut(s, ":")
	return parsers.ParseIP(host), parsers.ParsePort(port)
}

// detect: the activity-log tag, or its '|'-separated pairs after an action.
func detect(body string, h *parsers.Header) int {
	if strings.HasSuffix(h.AppName, activityLog) {
		return 95
	}
	if i := strings.IndexByte(h.AppName, '/'); i > 0 && (strings.HasPrefix(h.AppName[i+1:], "box_") || strings.HasPrefix(h.AppName[i+1:], "srv_")) {
		return 80 // other CloudGen logs: claimed, then skipped
	}
	lim := min(len(body), 96)
	if i := strings.Index(body[:lim], ": type="); i > 0 && strings.Contains(body, "|srcIP=") && strings.Contains(body, "|dstIP=") {
		return 90
	}
	return 0
}
