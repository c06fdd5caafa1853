package netproto

import "testing"

func TestTransport(t *testing.T) {
	for in, want := range map[string]string{
		"6": "tcp", "TCP": "tcp", "tcp": "tcp", "17": "udp", "Udp": "udp",
		"1": "icmp", "ICMP": "icmp", "58": "ipv6-icmp", "icmp6": "ipv6-icmp", "ICMPv6": "ipv6-icmp", "ipv6-icmp": "ipv6-icmp",
		"47": "gre", "50": "esp", "51": "ah", "2": "igmp", "112": "vrrp", "132": "sctp", "89": "ospf",
		"carp": "carp", "PFSYNC": "pfsync", "999": "", "7": "", "": "", "-": "", "tcp/ip": "", "0x06": "", "1234": "",
		"a-very-long-protocol-keyword": "", "IP": "", "ip": "", "IPv6": "", "any": "", "41": "ipv6",
	} {
		if got := Transport(in); got != want {
			t.Errorf("Transport(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestIsICMPAndPorts(t *testing.T) {
	if !IsICMP("icmp") || !IsICMP("ipv6-icmp") || IsICMP("tcp") {
		t.Error("IsICMP")
	}
	if !HasPorts("tcp") || !HasPorts("udp") || !HasPorts("sctp") || HasPorts("icmp") || HasPorts("gre") || HasPorts("") {
		t.Error("HasPorts")
	}
}

func TestAppProtocol(t *testing.T) {
	for in, want := range map[string]string{"HTTPS": "https", "dns": "dns", "Microsoft Office 365": "", "": "", "DNS client": ""} {
		if got := AppProtocol(in); got != want {
			t.Errorf("AppProtocol(%q) = %q, want %q", in, got, want)
		}
	}
}

func BenchmarkTransport(b *testing.B) {
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		_ = Transport("TCP")
		_ = Transport("17")
	}
}
