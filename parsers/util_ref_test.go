package parsers

// The IPv4 and month readers as they were before the session 10 speed
// work: the oracles of the equivalence tests below.

import (
	"math/rand/v2"
	"net/netip"
	"strconv"
	"strings"
	"testing"
)

// ipv4Old was ParseIP's fast path: a dotted-quad IPv4 address, the common
// case, read by hand with ParseIP's rules (0.0.0.0 is no address); ok is
// false for anything it does not fully decide (other forms, leading
// zeros), which netip then reads.
func ipv4Old(s string) (netip.Addr, bool) {
	if len(s) < 7 || len(s) > 15 {
		return netip.Addr{}, false
	}
	var b [4]byte
	n, v, digits := 0, 0, 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			if digits == 1 && v == 0 {
				return netip.Addr{}, false // leading zero
			}
			v = v*10 + int(c-'0')
			digits++
			if v > 255 {
				return netip.Addr{}, false
			}
		case c == '.' && digits > 0 && n < 3:
			b[n] = byte(v)
			n, v, digits = n+1, 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if n != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	b[3] = byte(v)
	if b == [4]byte{} {
		return netip.Addr{}, true // unspecified: no address
	}
	return netip.AddrFrom4(b), true
}

// randomIPish returns strings near the dotted-quad grammar: digits and
// dots mostly, with an odd other byte.
func randomIPish(r *rand.Rand) string {
	const alphabet = "0123456789012345678901234567890123456789....x:"
	b := make([]byte, r.IntN(18))
	for i := range b {
		b[i] = alphabet[r.IntN(len(alphabet))]
	}
	return string(b)
}

// quadish returns a dotted quad of octets up to 300, some with a leading
// zero, some cut short or extended.
func quadish(r *rand.Rand) string {
	var b []byte
	for i := range 4 {
		if i > 0 {
			b = append(b, '.')
		}
		if r.IntN(20) == 0 {
			b = append(b, '0')
		}
		b = strconv.AppendInt(b, int64(r.IntN(301)), 10)
	}
	switch r.IntN(20) {
	case 0:
		b = b[:r.IntN(len(b)+1)]
	case 1:
		b = append(b, "0."[r.IntN(2)])
	}
	return string(b)
}

func TestIPv4MatchesOld(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	cases := []string{"0.0.0.0", "00.0.0.0", "1.2.3.4", "255.255.255.255", "256.0.0.1", "1.2.3.04", "1.2.3.400",
		"10.17.254.177", "1.2.3.4.", ".1.2.3.4", "1..2.3", "1.2.3", "1111.2.3.4", "1.2.3.4a", "001.2.3.4"}
	for range 200000 {
		cases = append(cases, randomIPish(r), quadish(r))
	}
	for o := range 256 {
		cases = append(cases, strconv.Itoa(o)+".1.2."+strconv.Itoa(o), "0"+strconv.Itoa(o)+".1.2.3")
	}
	valid := 0
	for _, s := range cases {
		ga, gok := ipv4(s)
		wa, wok := ipv4Old(s)
		if ga != wa || gok != wok {
			t.Fatalf("ipv4(%q) = %v %v, old %v %v", s, ga, gok, wa, wok)
		}
		if gok {
			valid++
		}
	}
	if valid < 50000 {
		t.Fatalf("only %d valid addresses among the cases", valid)
	}
}

func FuzzIPv4MatchesOld(f *testing.F) {
	for _, s := range []string{"10.1.2.3", "0.0.0.0", "01.2.3.4", "1.2.3.256"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		ga, gok := ipv4(s)
		wa, wok := ipv4Old(s)
		if ga != wa || gok != wok {
			t.Fatalf("ipv4(%q) = %v %v, old %v %v", s, ga, gok, wa, wok)
		}
	})
}

var benchIPs = []string{"10.17.254.177", "203.0.113.25", "203.0.113.2", "10.26.247.232", "203.0.113.160", "10.24.110.142", "1.2.3.4", "192.168.1.10"}

func BenchmarkIPv4(b *testing.B) {
	for _, c := range []struct {
		name string
		fn   func(string) (netip.Addr, bool)
	}{{"new", ipv4}, {"old", ipv4Old}} {
		b.Run(c.name, func(b *testing.B) {
			n := 0
			i := 0
			for b.Loop() {
				if a, ok := c.fn(benchIPs[i]); ok && a.Is4() {
					n++
				}
				if i++; i == len(benchIPs) {
					i = 0
				}
			}
			if n == 0 {
				b.Fatal("no address")
			}
		})
	}
}

var monthNamesOld = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// monthIndexOld is monthIndex as it was.
func monthIndexOld(s string) int {
	if len(s) != 3 {
		return 0
	}
	if c := s[0] | 0x20; c < 'a' || c > 's' {
		return 0
	}
	for i, m := range monthNamesOld {
		if strings.EqualFold(s, m) {
			return i + 1
		}
	}
	return 0
}

// TestMonthIndexMatchesOld tries every 3-byte string over letters of both
// cases, their |0x20 neighbours, digits, and the lead and trail bytes of
// runes that Unicode folds to ASCII letters (ſ, K).
func TestMonthIndexMatchesOld(t *testing.T) {
	var alphabet []byte
	for c := byte('@'); c <= '~'; c++ {
		alphabet = append(alphabet, c)
	}
	alphabet = append(alphabet, "0 \x00\xff\xc5\xbf\xe2\x84\xaa"...)
	found := 0
	for _, a := range alphabet {
		for _, b := range alphabet {
			for _, c := range alphabet {
				s := string([]byte{a, b, c})
				if got, want := monthIndex(s), monthIndexOld(s); got != want {
					t.Fatalf("monthIndex(%q) = %d, old %d", s, got, want)
				} else if got > 0 {
					found++
				}
			}
		}
	}
	if found != 12*8 {
		t.Fatalf("%d month spellings found, want 96", found)
	}
	for _, s := range []string{"", "Ja", "Janu", "\u212a", "ſep", "Sep"} {
		if got, want := monthIndex(s), monthIndexOld(s); got != want {
			t.Fatalf("monthIndex(%q) = %d, old %d", s, got, want)
		}
	}
}
