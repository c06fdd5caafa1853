package anonymize

import (
	"runtime"
	"sync/atomic"
	"unsafe"
)

// A Worker's front cache holds the identifiers its stream saw last with
// their pseudonyms, in one compact array that a hit reads without atomics
// or pointer chasing; the other lookups fall through to the shared caches.
// A site's traffic is skewed (a few hundred hosts send most of it), so a
// thousand slots catch most lookups. The cache starts there (64 KiB) and
// doubles, up to 256 KiB, while more than one lookup in frontGrowMiss
// misses: wider populations get more room, small ones stay small.
const (
	frontMinSets = 1 << 9  // two slots each
	frontMaxSets = 1 << 11 // two slots each
	// frontWindow is how many lookups a growth decision looks at.
	frontWindow = 1 << 16
	// frontGrowMiss: the cache grows while more than one lookup in this
	// many misses.
	frontGrowMiss = 8
)

// frontBudget bounds the front caches of an Anonymizer's live Workers, in
// bytes: UDP makes a Worker per sender, and senders can be many, or forged.
const frontBudget = 8 << 20

// frontAfter is how many lookups a Worker makes through the shared caches
// before it takes a front cache, and between attempts while the budget is
// spent: streams that send little never take one.
const frontAfter = 1024

// frontKeyLen is the longest string key a slot holds itself; longer ones
// (up to 255 bytes) are compared with the text in kv.
const frontKeyLen = 26

// Kinds of front cache key. A slot's kind is never 0, so a zero slot is
// empty.
const (
	kindToken   uint8 = 1
	kindEncrypt uint8 = 2
	kindAddr4   uint8 = 4 // with kindToken or kindEncrypt: an IPv4 address
	kindAddr6   uint8 = 8 // with kindToken or kindEncrypt: an IPv6 address
)

// front is two-way set-associative, so a pair of busy identifiers can share
// a set. A new identifier takes the second way (see fill) and a hit there
// swaps the two (see promote): the first way holds the busier one.
type front struct {
	sets [][2]frontSlot // a power of two of them
	// lookups and misses since the last growth decision
	lookups, misses int
	lease           *frontLease
}

// frontLease is the share of the Anonymizer's budget a Worker's front
// cache holds; it goes back when the Worker is garbage.
type frontLease struct {
	bytes  atomic.Int64
	budget *atomic.Int64 // the Anonymizer's spent budget
}

const frontSetBytes = int64(unsafe.Sizeof([2]frontSlot{}))

// frontSlot holds one identifier and its pseudonym in one 64-byte cache
// line.
type frontSlot struct {
	tag  uint32 // low half of the key's hash
	kind uint8
	klen uint8 // length of the key's text in kv
	// key is a string key's text if it is at most frontKeyLen bytes, or
	// an address in its 16-byte form.
	key [frontKeyLen]byte
	kv  string // the key's text, then the pseudonym (a cacheEntry's kv)
	// byteMask of the text and of the pseudonym.
	rawMask, vMask uint64
}

// set returns the set of a key.
func (f *front) set(h uint64, kind uint8) *[2]frontSlot {
	return &f.sets[(h>>32+uint64(kind))&uint64(len(f.sets)-1)]
}

// takeFront counts a lookup without a front cache and, every frontAfter
// of them, tries to allocate one within the Anonymizer's budget.
func (w *Worker) takeFront() *front {
	if w.sharedOnly++; w.sharedOnly < frontAfter {
		return nil
	}
	w.sharedOnly = 0
	n := int64(frontMinSets) * frontSetBytes
	if w.a.frontBytes.Add(n) > frontBudget {
		w.a.frontBytes.Add(-n)
		return nil
	}
	l := &frontLease{budget: &w.a.frontBytes}
	l.bytes.Store(n)
	runtime.AddCleanup(w, func(l *frontLease) { l.budget.Add(-l.bytes.Load()) }, l)
	w.front = &front{sets: make([][2]frontSlot, frontMinSets), lease: l}
	return w.front
}

// missed counts a lookup that missed f and, at the end of a window,
// doubles f if too many did and the budget allows. The new array starts
// empty; the busy identifiers come back within a few records.
func (f *front) missed() {
	if f.misses++; f.lookups < frontWindow {
		return
	}
	grow := f.misses*frontGrowMiss > f.lookups && len(f.sets) < frontMaxSets
	f.lookups, f.misses = 0, 0
	if !grow {
		return
	}
	n := int64(len(f.sets)) * frontSetBytes // the new array is twice the old
	if f.lease.budget.Add(n) > frontBudget {
		f.lease.budget.Add(-n)
		return
	}
	f.lease.bytes.Add(n)
	f.sets = make([][2]frontSlot, 2*len(f.sets))
}

// promote makes set[1], which was just hit, the first way.
func promote(set *[2]frontSlot) {
	set[0], set[1] = set[1], set[0]
}

// fill stores a new identifier in the second way, unless the first is
// empty: a new identifier must be used again before it displaces the
// set's busiest one (most identifiers in the traffic's long tail are not).
func fill[K comparable](set *[2]frontSlot, h uint64, kind uint8, e *cacheEntry[K]) *frontSlot {
	s := &set[1]
	if set[0].kind == 0 {
		s = &set[0]
	}
	s.tag, s.kind, s.klen, s.kv, s.rawMask, s.vMask = uint32(h), kind, uint8(e.n), e.kv, e.rawMask, e.vMask
	return s
}

// byteBits maps a byte to one of 64 bits for byteMask: a bit for each
// digit, letter (either case), and common punctuation of identifiers and
// URLs; other bytes share the last bits.
var byteBits = func() (t [256]uint64) {
	for c := range 256 {
		switch {
		case c >= '0' && c <= '9':
			t[c] = 1 << (c - '0')
		case c >= 'a' && c <= 'z':
			t[c] = 1 << (10 + c - 'a')
		case c >= 'A' && c <= 'Z':
			t[c] = 1 << (10 + c - 'A')
		default:
			t[c] = 1 << (36 + c%28)
		}
	}
	for i, c := range []byte(".:-_@\\/%=&?+ ,;~#[]") {
		t[c] = 1 << (36 + i)
	}
	return t
}()

// byteMask is the set of byte classes of s. A text can hold s only if its
// mask covers s's.
func byteMask(s string) uint64 {
	t := &byteBits
	var m, n uint64
	for len(s) >= 4 {
		m |= t[s[0]] | t[s[1]]
		n |= t[s[2]] | t[s[3]]
		s = s[4:]
	}
	for i := 0; i < len(s); i++ {
		m |= t[s[i]]
	}
	return m | n
}
