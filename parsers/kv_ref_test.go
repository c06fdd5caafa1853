package parsers

import (
	"bufio"
	"math/rand/v2"
	"os"
	"slices"
	"testing"
)

// BenchmarkScanKVFwLog scans the realistic FortiGate lines of the pipeline
// benchmark (CLOUDSCOUT_FW_LOG, default /tmp/fw.log; skipped without it),
// with the scanner and the plain reference one. Lines that differ defeat the
// branch predictor as real traffic does, unlike one line scanned again.
func BenchmarkScanKVFwLog(b *testing.B) {
	lines := fwTestLines(b)
	size := 0
	for _, l := range lines {
		size += len(l)
	}
	for _, c := range []struct {
		name string
		scan func(string, byte, func(k, v string) bool)
	}{{"new", ScanKV}, {"ref", scanKVRef}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(size / len(lines)))
			b.ReportAllocs()
			n := 0
			i := 0
			fn := func(k, v string) bool { n += len(k) + len(v); return true }
			for b.Loop() {
				c.scan(lines[i], ' ', fn)
				if i++; i == len(lines) {
					i = 0
				}
			}
			if n == 0 {
				b.Fatal("no pairs")
			}
		})
	}
}

// fwTestLines returns the first 20000 realistic FortiGate lines the
// pipeline benchmark sends (CLOUDSCOUT_FW_LOG, default /tmp/fw.log), or
// skips the benchmark without them.
func fwTestLines(b *testing.B) []string {
	path := os.Getenv("CLOUDSCOUT_FW_LOG")
	if path == "" {
		path = "/tmp/fw.log"
	}
	fh, err := os.Open(path)
	if err != nil {
		b.Skip(err)
	}
	defer fh.Close()
	var lines []string
	sc := bufio.NewScanner(fh)
	for len(lines) < fwLineCount && sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if len(lines) == 0 {
		b.Skip("no lines")
	}
	return lines
}

var fwLineCount = 5000

// TestScanKVRandom compares ScanKV with the reference on random text
// made of the bytes the scanner looks for, their SWAR near-misses (a byte
// xor 1 can be marked above a match) and filler, at every length around
// the 8-byte words it reads.
func TestScanKVRandom(t *testing.T) {
	const alphabet = "ab=\"\\ ,\t!<#]\x01\x00\xff"
	r := rand.New(rand.NewPCG(11, 12))
	seps := []byte{' ', ',', '=', '"', '\\', '\t', 0, '!'}
	for range 100000 {
		b := make([]byte, r.IntN(41))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		s := string(b)
		sep := seps[r.IntN(len(seps))]
		limit := 1 << 30
		if r.IntN(4) == 0 {
			limit = 1 + r.IntN(3)
		}
		got := kvPairs(ScanKV, s, sep, limit)
		if want := kvPairs(scanKVRef, s, sep, limit); !slices.Equal(got, want) {
			t.Fatalf("ScanKV(%q, %q) limit %d = %q, reference %q", s, sep, limit, got, want)
		}
	}
}
