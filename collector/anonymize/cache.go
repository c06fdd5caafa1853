package anonymize

import (
	"encoding/binary"
	"hash/maphash"
	"math/bits"
	"net/netip"
	"sync"
	"sync/atomic"
)

// cacheSlots is the number of slots of each shared cache (a power of two).
// The same users and hosts repeat across every connection of a source, so
// one cache per Anonymizer serves them all; 32k slots (16k sets of two)
// hold a site's active population for 256 KiB of slot pointers, allocated
// on first use.
const cacheSlots = 1 << 15

// cache maps an identifier to its pseudonym (and, for addresses, the text
// form). It is two-way set-associative and lock-free: a slot holds a
// pointer to an immutable entry, a new identifier takes the first way of
// its set and pushes the previous one to the second, and readers never
// wait. Two ways keep a pair of busy identifiers that share a set from
// evicting each other on every record, which would recompute an HMAC each
// time. Callers pass the key's hash (see hashString and hashAddr), which
// the Worker's front cache computed already. It is safe for concurrent
// use: racing writers can only lose an entry, never corrupt one.
type cache[K comparable] struct {
	once  sync.Once
	slots []atomic.Pointer[cacheEntry[K]]
}

type cacheEntry[K comparable] struct {
	h uint64
	k K
	// kv is the text of k followed by its pseudonym: one allocation, so
	// reading the key (strings) brings the pseudonym into the CPU cache
	// for the JSON encoder. For strings, k is kv[:n].
	kv string
	n  int
	// byteMask of the text and of the pseudonym, for the leak scan.
	rawMask, vMask uint64
}

func (e *cacheEntry[K]) raw() string { return e.kv[:e.n] }
func (e *cacheEntry[K]) v() string   { return e.kv[e.n:] }

func (c *cache[K]) set(h uint64) []atomic.Pointer[cacheEntry[K]] {
	c.once.Do(func() { c.slots = make([]atomic.Pointer[cacheEntry[K]], cacheSlots) })
	i := h & (cacheSlots - 2)
	return c.slots[i : i+2 : i+2]
}

func (c *cache[K]) get(h uint64, k K) *cacheEntry[K] {
	s := c.set(h)
	if e := s[0].Load(); e != nil && e.h == h && e.k == k {
		return e
	}
	if e := s[1].Load(); e != nil && e.h == h && e.k == k {
		return e
	}
	return nil
}

// put stores e, which must not be modified afterwards. A string key must
// not alias a log line's buffer, which is reused.
func (c *cache[K]) put(e *cacheEntry[K]) {
	s := c.set(e.h)
	if old := s[0].Swap(e); old != nil && !(old.h == e.h && old.k == e.k) {
		s[1].Store(old)
	}
}

// hashString and hashAddr hash a key for the shared caches and the front
// caches. They are seeded per Anonymizer, so input cannot be crafted to
// collide; collisions only cost a recomputation anyway.
type hasher struct {
	seed   maphash.Seed
	s0, s1 uint64 // for addresses: maphash.Comparable costs 9 ns, this 2
}

// mix is the wyhash mixer: a 128-bit product folded to 64 bits.
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

const (
	mixK0 = 0xa0761d6478bd642f
	mixK1 = 0xe7037ed1a0b428db
	mixK2 = 0x8ebc6af09c88c6e3
)

// hashString hashes a text key (user names, MACs, host names) with the
// runtime's string hash.
func (hs hasher) hashString(s string) uint64 { return maphash.String(hs.seed, s) }

// hashAddr hashes an address; a zone does not take part (equal addresses
// still hash equal).
func (hs hasher) hashAddr(a netip.Addr) uint64 {
	if a.Is4() {
		b := a.As4()
		return mix(uint64(binary.BigEndian.Uint32(b[:]))^hs.s0, hs.s1^mixK1)
	}
	b := a.As16()
	return mix(mix(binary.BigEndian.Uint64(b[:8])^hs.s0, binary.BigEndian.Uint64(b[8:])^hs.s1)^mixK2, mixK0)
}
