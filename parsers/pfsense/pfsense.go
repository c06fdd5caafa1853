// Package pfsense parses the pf packet filter log ("filterlog") that
// pfSense and OPNsense write: one CSV line per logged packet. The common
// fields (rule, sub-rule, anchor, tracker, interface, reason, action,
// direction, IP version) are followed by IPv4 or IPv6 fields and then
// protocol fields; see docs.netgate.com "Raw Filter Log Format".
package pfsense

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/netproto"
)

// Name is the registry name of the format.
const Name = "pfsense"

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      "Netgate",
		Product:     "pfSense",
		Description: "pfSense / OPNsense filterlog (pf packet log, CSV)",
		New: func(parsers.Options) (parsers.Parser, error) {
			return parser{}, nil
		},
		Detect: detect,
	})
}

// ErrMalformed is wrapped by errors for filterlog lines that cannot be read.
var ErrMalformed = errors.New("malformed filterlog line")

type parser struct{}

var _ parsers.Parser = parser{}

// Common field positions.
const (
	fTracker   = 3
	fInterface = 4
	fReason    = 5
	fAction    = 6
	fDirection = 7
	fVersion   = 8
	maxFields  = 24 // enough for the IPv4 TCP/UDP ports (fields 20, 21)
)

func (parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	if app := m.Header.AppName; app != "" && app != "filterlog" {
		return fmt.Errorf("%w: %s message", parsers.ErrSkip, app)
	}
	var buf [maxFields]string
	f := split(body, buf[:])
	if len(f) <= fVersion {
		return fmt.Errorf("%w: %d fields, fewer than the common ones", ErrMalformed, len(f))
	}
	var proto, src, dst string
	var rest []string
	switch f[fVersion] {
	case "4": // tos, ecn, ttl, id, offset, flags, proto id, proto text, length, src, dst
		if len(f) < 20 {
			return fmt.Errorf("%w: IPv4 line with %d fields", ErrMalformed, len(f))
		}
		proto, src, dst, rest = f[16], f[18], f[19], f[20:]
		if proto == "" {
			proto = f[15]
		}
	case "6": // class, flow label, hop limit, proto text, proto id, length, src, dst
		if len(f) < 17 {
			return fmt.Errorf("%w: IPv6 line with %d fields", ErrMalformed, len(f))
		}
		proto, src, dst, rest = f[12], f[15], f[16], f[17:]
		if proto == "" {
			proto = f[13]
		}
	default:
		return fmt.Errorf("%w: IP version %q", ErrMalformed, short(f[fVersion]))
	}
	r.SourceIP = parsers.ParseIP(src)
	r.DestinationIP = parsers.ParseIP(dst)
	if !r.SourceIP.IsValid() || !r.DestinationIP.IsValid() {
		return fmt.Errorf("%w: unreadable source or destination address", ErrMalformed)
	}
	r.NetworkTransport = netproto.Transport(proto)
	if (r.NetworkTransport == "tcp" || r.NetworkTransport == "udp") && len(rest) >= 2 {
		r.SourcePort = parsers.ParsePort(rest[0])
		r.DestinationPort = parsers.ParsePort(rest[1])
	}
	switch a := f[fAction]; a {
	case "pass":
		r.Verdict = parsers.Allowed
		r.EventAction = "pass"
	case "block", "reject":
		r.Verdict = parsers.Denied
		r.EventAction = a
	default:
		r.EventAction = parsers.Clean(a)
	}
	switch f[fDirection] {
	case "in":
		r.NetworkDirection = "ingress"
	case "out":
		r.NetworkDirection = "egress"
	}
	r.Category = "network"
	// OPNsense labels its rules with a 32-hex tracker and stamps RFC 5424
	// messages with [meta sequenceId=...]; pfSense trackers are decimal.
	if isHex32(f[fTracker]) || strings.HasPrefix(m.Header.SD, "[meta ") {
		r.ObserverVendor, r.ObserverProduct = "Deciso", "OPNsense"
	} else {
		r.ObserverVendor, r.ObserverProduct = "Netgate", "pfSense"
	}
	return nil
}

// split cuts a filterlog line at commas into buf; filterlog never quotes.
// When the line has more fields than buf the last slot keeps the unsplit
// rest, so the fields before it are exact. A byte loop beats IndexByte on
// these short fields.
func split(s string, buf []string) []string {
	n, start := 0, 0
	for i := 0; i < len(s) && n < len(buf)-1; i++ {
		if s[i] == ',' {
			buf[n] = s[start:i]
			n++
			start = i + 1
		}
	}
	buf[n] = strings.TrimRight(s[start:], " \r")
	return buf[:n+1]
}

func isHex32(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func short(s string) string {
	if len(s) > 16 {
		return s[:16]
	}
	return s
}

// detect: the filterlog tag is decisive; a bare line must have the common
// fields' shape (numeric rule, reason word, pf action, direction, version).
func detect(body string, h *parsers.Header) int {
	if h.AppName != "" && h.AppName != "filterlog" {
		if isOwnDaemon(h) {
			return 40 // the firewall's own housekeeping: claimed, then skipped
		}
		return 0
	}
	var buf [10]string
	f := split(body, buf[:])
	if len(f) <= fVersion || !isNum(f[0]) {
		return 0
	}
	a, d, v := f[fAction], f[fDirection], f[fVersion]
	if (a != "pass" && a != "block" && a != "reject") || (d != "in" && d != "out") || (v != "4" && v != "6") {
		return 0
	}
	if h.AppName == "filterlog" {
		return 95
	}
	return 80
}

// isOwnDaemon tells the pfSense/OPNsense system daemons that share the
// filterlog stream (OPNsense stamps every RFC 5424 message with
// [meta sequenceId=...]); generic daemons (sshd, dhcpd) are not claimed.
func isOwnDaemon(h *parsers.Header) bool {
	if strings.HasPrefix(h.SD, `[meta sequenceId="`) {
		return true
	}
	switch h.AppName {
	case "check_reload_status", "php-fpm", "php-cgi", "dpinger", "filterdns", "rc.gateway_alarm", "configd.py", "pfSctl":
		return true
	}
	return false
}

func isNum(s string) bool {
	if s == "" || len(s) > 12 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
