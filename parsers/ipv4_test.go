package parsers

import (
	"net/netip"
	"testing"
)

// FuzzIPv4FastPath checks ParseIP's hand-written IPv4 path against netip:
// whatever it decides, netip decides the same.
func FuzzIPv4FastPath(f *testing.F) {
	for _, s := range []string{"10.1.2.3", "0.0.0.0", "255.255.255.255", "256.1.1.1", "01.2.3.4", "1.2.3", "1.2.3.4.5", "1..2.3", "a.b.c.d"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := ipv4(s)
		if !ok {
			return
		}
		want, err := netip.ParseAddr(s)
		if err != nil {
			t.Fatalf("%q: fast path gave %v, netip: %v", s, got, err)
		}
		if want.IsUnspecified() {
			want = netip.Addr{}
		}
		if got != want {
			t.Fatalf("%q: fast path %v, netip %v", s, got, want)
		}
	})
}
