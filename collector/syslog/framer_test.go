package syslog

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
)

type frame struct {
	data      string
	truncated bool
}

func (f frame) String() string {
	d := f.data
	if len(d) > 40 {
		d = fmt.Sprintf("%s...(%d bytes)", d[:40], len(d))
	}
	return fmt.Sprintf("{%q trunc=%v}", d, f.truncated)
}

// runFramer frames in with the streaming framer, reading through r (in if r is nil)
// with a bufio.Reader of bufSize bytes.
func runFramer(t testing.TB, r io.Reader, maxSize, bufSize int) ([]frame, map[string]int) {
	t.Helper()
	errs := map[string]int{}
	fr := newFramer(bufio.NewReaderSize(r, bufSize), maxSize)
	fr.onError = func(reason string) { errs[reason]++ }
	// Swap readers at every refill, alternating sizes, as a busy connection
	// does once: no byte may be lost or repeated across a swap.
	refills := 0
	fr.refill = func(cur *bufio.Reader) *bufio.Reader {
		if refills++; refills > 8 {
			return cur
		}
		return bufio.NewReaderSize(r, bufSize+refills%3*7)
	}
	var out []frame
	for {
		msg, truncated, err := fr.next()
		if err != nil {
			if !errors.Is(err, io.EOF) {
				t.Fatalf("unexpected error %v", err)
			}
			return out, errs
		}
		if len(msg) == 0 || len(msg) > maxSize {
			t.Fatalf("message of %d bytes (max %d)", len(msg), maxSize)
		}
		out = append(out, frame{string(msg), truncated})
	}
}

func octet(s string) string { return fmt.Sprintf("%d %s", len(s), s) }

func TestFramer(t *testing.T) {
	const max = 16
	a := strings.Repeat
	cases := []struct {
		name string
		in   string
		want []frame
		errs map[string]int
	}{
		{"lf", "<13>a\n<13>b\n", []frame{{"<13>a", false}, {"<13>b", false}}, nil},
		{"nul", "<13>a\x00<13>b\x00", []frame{{"<13>a", false}, {"<13>b", false}}, nil},
		{"crlf", "<13>a\r\n<13>b\r\n", []frame{{"<13>a", false}, {"<13>b", false}}, nil},
		{"bare cr kept", "<1>a\rb\n", []frame{{"<1>a\rb", false}}, nil},
		{"no final lf", "<13>a\n<13>b", []frame{{"<13>a", false}, {"<13>b", false}}, nil},
		{"empty ignored", "\n\x00\r\n\n<1>x\n\n", []frame{{"<1>x", false}}, nil},
		{"octet", octet("<13>a") + octet("<13>b"), []frame{{"<13>a", false}, {"<13>b", false}}, nil},
		{"octet embedded lf", octet("<1>a\nb\x00c"), []frame{{"<1>a\nb\x00c", false}}, nil},
		{"octet rsyslog lf", octet("<1>a\n") + octet("<1>b\r\n") + octet("<1>c\n\n"),
			[]frame{{"<1>a", false}, {"<1>b", false}, {"<1>c\n", false}}, nil},
		{"octet empty", octet("\n") + octet("\r\n") + octet("<1>z"), []frame{{"<1>z", false}}, nil},
		{"mixed", "<1>a\n" + octet("<1>b") + "<1>c\x00" + octet("<1>d\r\n") + "<1>e\r\n",
			[]frame{{"<1>a", false}, {"<1>b", false}, {"<1>c", false}, {"<1>d", false}, {"<1>e", false}}, nil},
		{"octet then lf after frame", octet("<1>a") + "\n" + octet("<1>b") + "\n",
			[]frame{{"<1>a", false}, {"<1>b", false}}, nil},
		{"leading zero", "0 x\n", []frame{{"0 x", false}}, map[string]int{reasonBadMsgLen: 1}},
		{"zero padded", "007 abcdefg\n", []frame{{"007 abcdefg", false}}, map[string]int{reasonBadMsgLen: 1}},
		{"slash", "12/ x\n", []frame{{"12/ x", false}}, map[string]int{reasonBadMsgLen: 1}},
		{"digits lf", "123\n<1>a\n", []frame{{"123", false}, {"<1>a", false}}, map[string]int{reasonBadMsgLen: 1}},
		{"too many digits", "99999999999999999999 x\n", []frame{{"9999999999999999", true}},
			map[string]int{reasonMsgLenLarge: 1}},
		{"over 16MiB", "16777217 x\n<1>b\n", []frame{{"16777217 x", false}, {"<1>b", false}},
			map[string]int{reasonMsgLenLarge: 1}},
		{"short frame at 16MiB", "16777216 xyz", []frame{{"xyz", true}}, map[string]int{reasonShortFrame: 1}},
		{"short frame", "10 abc", []frame{{"abc", true}}, map[string]int{reasonShortFrame: 1}},
		{"short frame empty", "<1>a\n10 ", []frame{{"<1>a", false}}, map[string]int{reasonShortFrame: 1}},
		{"bad count recovers at lf", "12/ junk\n" + octet("<1>ok"), []frame{{"12/ junk", false}, {"<1>ok", false}},
			map[string]int{reasonBadMsgLen: 1}},
		{"digits at eof", "<1>a\n123", []frame{{"<1>a", false}, {"123", false}}, nil},
		{"lf mode digit lines not errors", "<1>a\n2024-01-01 x\n1700000000 y\n",
			[]frame{{"<1>a", false}, {"2024-01-01 x", false}, {"1700000000 y", false}}, nil},
		{"octet mode digit line is error", octet("<1>a") + "2024-01-01 x\n",
			[]frame{{"<1>a", false}, {"2024-01-01 x", false}}, map[string]int{reasonBadMsgLen: 1}},
		{"lf max exact", a("a", max) + "\n", []frame{{a("a", max), false}}, nil},
		{"lf max exact crlf", a("a", max) + "\r\n", []frame{{a("a", max), false}}, nil},
		{"lf max+1", a("a", max+1) + "\nb\n", []frame{{a("a", max), true}, {"b", false}}, nil},
		{"lf max+1 crlf", a("a", max+1) + "\r\nb\n", []frame{{a("a", max), true}, {"b", false}}, nil},
		{"lf long", a("a", 100) + "\nb\n", []frame{{a("a", max), true}, {"b", false}}, nil},
		{"lf long no terminator", a("a", 100), []frame{{a("a", max), true}}, nil},
		{"octet max+2 with crlf", octet(a("o", max)+"\r\n") + "b\n", []frame{{a("o", max), false}, {"b", false}}, nil},
		{"octet max+1", octet(a("o", max+1)) + "b\n", []frame{{a("o", max), true}, {"b", false}}, nil},
		{"octet long", octet(a("o", 100)) + octet("b"), []frame{{a("o", max), true}, {"b", false}}, nil},
		{"octet long short", "100 " + a("o", 50), []frame{{a("o", max), true}}, map[string]int{reasonShortFrame: 1}},
		{"invalid utf8", "\xff\xfe<1>\xc3\x28\n", []frame{{"\xff\xfe<1>\xc3\x28", false}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, chunk := range []int{0, 1, 3} {
				var r io.Reader = strings.NewReader(tc.in)
				if chunk > 0 {
					r = &chunkReader{data: []byte(tc.in), sizes: []int{chunk}}
				}
				got, errs := runFramer(t, r, max, 16)
				if fmt.Sprint(got) != fmt.Sprint(tc.want) {
					t.Errorf("chunk %d: frames\n got %v\nwant %v", chunk, got, tc.want)
				}
				if tc.errs == nil {
					tc.errs = map[string]int{}
				}
				if fmt.Sprint(errs) != fmt.Sprint(tc.errs) {
					t.Errorf("chunk %d: framing errors got %v want %v", chunk, errs, tc.errs)
				}
				ref, refErrs := refFrames([]byte(tc.in), max)
				if fmt.Sprint(ref) != fmt.Sprint(tc.want) || refErrs != total(tc.errs) {
					t.Errorf("reference framer disagrees with the table: %v (%d errors)", ref, refErrs)
				}
			}
		})
	}
}

func total(m map[string]int) int {
	n := 0
	for _, v := range m {
		n += v
	}
	return n
}

// chunkReader returns data in reads of the given sizes, cycling.
type chunkReader struct {
	data  []byte
	sizes []int
	i     int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(c.data) == 0 {
		return 0, io.EOF
	}
	n := c.sizes[c.i%len(c.sizes)]
	c.i++
	n = min(n, len(p), len(c.data))
	copy(p, c.data[:n])
	c.data = c.data[n:]
	return n, nil
}

// refFrames is a reference framer written directly from the rules in the package doc,
// working on the whole input in memory. It returns the frames and the number of framing
// errors.
func refFrames(in []byte, max int) ([]frame, int) {
	var out []frame
	errs := 0
	lf := false
	emit := func(d []byte, truncated bool) {
		if len(d) > max {
			d, truncated = d[:max], true
		}
		if len(d) > 0 {
			out = append(out, frame{string(d), truncated})
		}
	}
	pos := 0
	for pos < len(in) {
		j := pos
		for j < len(in) && in[j] >= '0' && in[j] <= '9' {
			j++
		}
		if digits := j - pos; digits > 0 {
			switch {
			case digits > 8:
				if !lf {
					errs++
				}
			case j == len(in):
				// digits at the end of the stream: plain data
			case in[j] == ' ':
				n := 0
				for _, c := range in[pos:j] {
					n = n*10 + int(c-'0')
				}
				if in[pos] != '0' && n <= 16<<20 {
					lf = false
					start := j + 1
					if start+n > len(in) {
						errs++
						emit(in[start:], true)
						return out, errs
					}
					body := in[start : start+n]
					if bytes.HasSuffix(body, []byte("\n")) {
						body = body[:len(body)-1]
						body = bytes.TrimSuffix(body, []byte("\r"))
					}
					emit(body, false)
					pos = start + n
					continue
				}
				if !lf {
					errs++
				}
			default:
				if !lf {
					errs++
				}
			}
		}
		k := bytes.IndexAny(in[pos:], "\n\x00")
		var line []byte
		if k < 0 {
			line = in[pos:]
			pos = len(in)
		} else {
			line = bytes.TrimSuffix(in[pos:pos+k], []byte("\r"))
			pos += k + 1
		}
		if len(line) > 0 {
			lf = true
		}
		emit(line, false)
	}
	return out, errs
}

// FuzzFramer checks the streaming framer against the reference framer (differential)
// with fuzzed read sizes and maximum message sizes, and the invariants: no panic, every
// message non-empty and at most max bytes.
func FuzzFramer(f *testing.F) {
	for _, s := range []string{
		"<13>a\n<13>b\r\n", "<1>x\x00", octet("<1>a\n") + "<1>b\n", "0 x\n", "007 x\n", "12/ x\n",
		"99999999999999999999 x\n", "16777217 x\n", "16777216 x", "10 abc",
		"5 hello6 world!\n", strings.Repeat("a", 200) + "\nb", "300 " + strings.Repeat("o", 400),
		"\xff\xfe\x00\n\r\r\n", "1 \n2 \r\n3 abc",
	} {
		f.Add([]byte(s), uint8(0), uint8(1))
		f.Add([]byte(s), uint8(7), uint8(200))
	}
	f.Fuzz(func(t *testing.T, in []byte, maxSel, seed uint8) {
		maxSize := minMessageSize + int(maxSel%64)
		sizes := []int{1 + int(seed%17), 1 + int(seed/17), 64, 1}
		got, errs := runFramer(t, &chunkReader{data: in, sizes: sizes}, maxSize, 16)
		want, wantErrs := refFrames(in, maxSize)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("max %d input %q\n got %v\nwant %v", maxSize, in, got, want)
		}
		if total(errs) != wantErrs {
			t.Fatalf("max %d input %q: framing errors %v, reference %d", maxSize, in, errs, wantErrs)
		}
	})
}

// patternReader yields n bytes of c without allocating.
type patternReader struct {
	n int
	c byte
}

func (p *patternReader) Read(b []byte) (int, error) {
	if p.n == 0 {
		return 0, io.EOF
	}
	k := min(len(b), p.n)
	for i := range b[:k] {
		b[i] = p.c
	}
	p.n -= k
	return k, nil
}

func TestFramerHugeLineBoundedMemory(t *testing.T) {
	const maxSize = 64 << 10
	for _, tc := range []struct {
		name   string
		header string
	}{
		{"lf", ""},
		{"octet", fmt.Sprintf("%d ", 10<<20)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := io.MultiReader(strings.NewReader(tc.header), &patternReader{n: 10 << 20, c: 'A'},
				strings.NewReader("\n<13>next\n"))
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			got, _ := runFramer(t, r, maxSize, streamBufferSize)
			runtime.ReadMemStats(&after)
			if len(got) != 2 || !got[0].truncated || len(got[0].data) != maxSize ||
				got[0].data != strings.Repeat("A", maxSize) || got[1] != (frame{"<13>next", false}) {
				t.Fatalf("got %v", got)
			}
			// The frames recorded by the test hold 64 KiB; the framer itself ~64 KiB + 16 KiB.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 1<<20 {
				t.Errorf("framing a 10 MiB message allocated %d bytes", alloc)
			}
		})
	}
}
