package fortigate

import (
	"encoding/binary"
	"math/bits"
	"unsafe"

	"github.com/cloudscout/cloudscout/parsers"
)

// The native form is read with parsers.ScanKV's grammar (see there), by a
// scanner of its own that is faster on FortiOS logs in two ways:
//
//   - FortiOS writes the keys of a log type in a fixed order, so the next
//     key is almost always the one that came next in the last line.
//     Comparing 16 bytes against it replaces the search for '=' (a chain
//     of dependent loads, each waiting for the one before) and the key's
//     slot lookup. A guess is only taken when the bytes match, so results
//     never depend on it; a stream's logs of other types cost a search.
//   - Searches test 8 bytes at a time (SWAR).
//
// The equivalence tests hold it to ScanKV and the previous parser.

const (
	// maxKeys bounds the keys remembered per line; later keys are not
	// guessed.
	maxKeys = 96
	// maxSkip bounds the keys of the last line a key may be found ahead
	// of its guess; maxMisses wrong guesses in a row end guessing for the
	// line. Both keep a line unlike the last from costing more than a
	// little over the search.
	maxSkip   = 4
	maxMisses = 3
)

// keySeq remembers the keys of the last native line of a stream.
type keySeq struct {
	seq  [2][maxKeys]keyPat
	n    [2]int
	last int  // seq[last][:n[last]] are the last line's keys
	sep  byte // the separator they were read with
}

// keyPat is a key and its '=' as 16 little-endian bytes (zero past the
// '='), with their masks, and the key's slot.
type keyPat struct {
	w0, w1 uint64
	m0, m1 uint64
	n      uint8 // len(key), at most 15
	slot   uint8
}

// newPat returns the pattern of the key s[ks:ks+n] (n < 16, ks+16 <=
// len(s)).
func newPat(s string, ks, n int, slot uint8) keyPat {
	l := uint(n) + 1
	e := keyPat{n: uint8(n), slot: slot}
	e.m0, e.m1 = ^uint64(0)>>(64-8*min(l, 8)), ^uint64(0)>>(128-8*l)
	e.w0, e.w1 = load8(s, ks)&e.m0, load8(s, ks+8)&e.m1
	return e
}

// scan reads the pairs of s into f, as parsers.ScanKV(s, sep, f.set) does.
func (q *keySeq) scan(s string, sep byte, f *fields) {
	if sep != q.sep {
		q.n[q.last] = 0 // keys read with another separator may end differently
		q.sep = sep
	}
	// A line with the last line's keys leaves them in place; another line
	// is recorded in the other array and becomes the last.
	nc, same := scanPairs(s, sep, f, &q.seq[q.last], q.n[q.last], &q.seq[q.last^1])
	if !same {
		q.last ^= 1
		q.n[q.last] = nc
	}
}

// scanPairs is scan with the last line's keys prev[:np]. When the line's
// keys are prev[:nc] in order, it reports same and leaves cur alone;
// otherwise it records them in cur.
func scanPairs(s string, sep byte, f *fields, prev *[maxKeys]keyPat, np int, cur *[maxKeys]keyPat) (nc int, same bool) {
	same = true // while so, cur[:nc] is prev[:nc], not copied yet
	seps := swarLo * uint64(sep)
	c := 0      // the next key of prev to guess
	misses := 0 // wrong guesses in a row
	i := 0
	for i < len(s) {
		for i < len(s) && (s[i] == sep || s[i] == ' ') {
			i++
		}
		if i >= len(s) {
			return nc, same
		}
		ks := i
		slot := uint8(noSlot)
		if c < np && ks+16 <= len(s) {
			e := &prev[c]
			if load8(s, ks)&e.m0 == e.w0 && load8(s, ks+8)&e.m1 == e.w1 {
				// The key has neither '=' nor sep (it was read with this
				// sep), so the search below would end at its '=' too.
				if same {
					nc++ // c == nc: the key is prev[nc]
				} else if nc < maxKeys {
					cur[nc] = *e
					nc++
				}
				c++
				misses = 0
				slot = e.slot
				i = ks + int(e.n)
				goto value
			}
			if misses++; misses == maxMisses {
				np = 0 // a log of another kind: stop guessing
			}
		}
		for ; i+8 <= len(s); i += 8 {
			w := load8(s, i)
			if m := zeroBytes(w^(swarLo*'=')) | zeroBytes(w^seps); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto keyEnd
			}
		}
		for i < len(s) && s[i] != '=' && s[i] != sep {
			i++
		}
	keyEnd:
		if i >= len(s) {
			return nc, same
		}
		if s[i] != '=' {
			continue // a word without '=': skip it
		}
		slot = keySlot(s[ks:i])
		if same {
			copy(cur[:nc], prev[:nc])
			same = false
		}
		if nc < maxKeys {
			e := keyPat{w1: 1, slot: noSlot} // matches nothing: w1 has a bit m1 clears
			if n := i - ks; n < 16 && ks+16 <= len(s) {
				e = newPat(s, ks, n, slot)
				// Resynchronize when the key comes a little later in the
				// last line: fields left out shift the rest. (A field
				// added leaves the guess right for the next key.)
				for j := c; j < np && j <= c+maxSkip; j++ {
					if prev[j] == e {
						c = j + 1
						break
					}
				}
			}
			cur[nc] = e
			nc++
		}
	value:
		i++ // '='
		if i < len(s) && s[i] == '"' {
			v, next, closed := parsers.KVQuoted(s, i)
			f.put(slot, v)
			if !closed {
				return nc, same // the rest of the line was the value
			}
			i = next
			continue
		}
		vs := i
		for ; i+8 <= len(s); i += 8 {
			if m := zeroBytes(load8(s, i) ^ seps); m != 0 {
				i += bits.TrailingZeros64(m) >> 3
				goto valueEnd
			}
		}
		for i < len(s) && s[i] != sep {
			i++
		}
	valueEnd:
		f.put(slot, s[vs:i])
	}
	return nc, same
}

const swarLo = 0x0101010101010101

// zeroBytes sets the high bit of the bytes of x that are zero. A byte above
// a zero byte may be marked too, so only the lowest mark is exact; the
// searches above only use that one.
func zeroBytes(x uint64) uint64 { return (x - swarLo) &^ x & 0x8080808080808080 }

// load8 reads s[i:i+8] as a little-endian word; the caller checks
// i+8 <= len(s).
func load8(s string, i int) uint64 {
	return binary.LittleEndian.Uint64((*[8]byte)(unsafe.Add(unsafe.Pointer(unsafe.StringData(s)), i))[:])
}
