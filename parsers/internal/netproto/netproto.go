// Package netproto names network protocols the way the ECS record wants
// them, for the vendor parsers that log an IANA protocol number, a
// protocol keyword in any case, or an application protocol word.
package netproto

import "strings"

// Transport returns the ECS network.transport value (the lower-case IANA
// keyword) for an IANA protocol number or keyword in any case: "6", "TCP"
// and "tcp" give "tcp"; "58", "icmp6" and "ICMPv6" give "ipv6-icmp". An
// unknown number gives ""; an unknown keyword is kept, lower-cased, when it
// is shaped like one (a letter, then letters, digits or '-'), since devices
// print the keyword of their protocol table (pf: "carp", "pfsync").
func Transport(p string) string {
	if p == "" {
		return ""
	}
	if c := p[0]; c >= '0' && c <= '9' {
		return byNumber(p)
	}
	for _, k := range keywords {
		if strings.EqualFold(p, k.name) {
			return k.canon
		}
	}
	if !isKeyword(p) {
		return ""
	}
	return lower(p)
}

// IsICMP reports whether t (a Transport result) is ICMP for IPv4 or IPv6,
// whose "ports" are message types and identifiers, not ports.
func IsICMP(t string) bool { return t == "icmp" || t == "ipv6-icmp" }

// HasPorts reports whether a transport carries port numbers.
func HasPorts(t string) bool {
	return t == "tcp" || t == "udp" || t == "sctp" || t == "udplite" || t == "dccp"
}

type keyword struct{ name, canon string }

// keywords lists the names devices print for the common protocols,
// aliases included; anything else falls through to the shape check.
var keywords = [...]keyword{
	{"tcp", "tcp"}, {"udp", "udp"}, {"icmp", "icmp"},
	{"ipv6-icmp", "ipv6-icmp"}, {"icmp6", "ipv6-icmp"}, {"icmpv6", "ipv6-icmp"}, {"ipv6icmp", "ipv6-icmp"},
	{"gre", "gre"}, {"esp", "esp"}, {"ah", "ah"}, {"sctp", "sctp"}, {"igmp", "igmp"},
	{"ospf", "ospf"}, {"ospfigp", "ospf"}, {"pim", "pim"}, {"eigrp", "eigrp"}, {"vrrp", "vrrp"},
	{"ipip", "ipv4"}, {"ipencap", "ipv4"}, {"l2tp", "l2tp"},
	// Words for "any protocol" or an IP version, not a transport.
	{"ip", ""}, {"ipv4", ""}, {"ipv6", ""}, {"any", ""}, {"unknown", ""}, {"none", ""},
}

// byNumber maps an IANA protocol number to its keyword.
func byNumber(p string) string {
	n := 0
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c < '0' || c > '9' || i >= 3 {
			return ""
		}
		n = n*10 + int(c-'0')
	}
	switch n {
	case 1:
		return "icmp"
	case 2:
		return "igmp"
	case 4:
		return "ipv4"
	case 6:
		return "tcp"
	case 17:
		return "udp"
	case 41:
		return "ipv6"
	case 47:
		return "gre"
	case 50:
		return "esp"
	case 51:
		return "ah"
	case 58:
		return "ipv6-icmp"
	case 88:
		return "eigrp"
	case 89:
		return "ospf"
	case 103:
		return "pim"
	case 112:
		return "vrrp"
	case 115:
		return "l2tp"
	case 132:
		return "sctp"
	case 136:
		return "udplite"
	}
	return ""
}

func isKeyword(s string) bool {
	if len(s) > 16 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20 // ASCII lower case for letters
		switch {
		case c >= 'a' && c <= 'z':
		case i > 0 && (s[i] >= '0' && s[i] <= '9' || s[i] == '-'):
		default:
			return false
		}
	}
	return true
}

func lower(s string) string {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(s)
		}
	}
	return s
}

// appProtocols are the application protocols ECS network.protocol names
// by their lower-case keyword.
var appProtocols = [...]string{"http", "https", "dns", "ssh", "ftp", "smtp", "imap", "pop3", "ntp", "quic", "rdp", "sip", "ldap", "snmp", "smb", "tls", "ssl", "dhcp", "telnet", "kerberos", "mysql", "nfs"}

// AppProtocol returns the ECS network.protocol keyword for an application
// protocol word in any case ("HTTPS" gives "https"), or "" for words that
// name an application rather than a protocol.
func AppProtocol(p string) string {
	for _, k := range appProtocols {
		if strings.EqualFold(p, k) {
			return k
		}
	}
	return ""
}
