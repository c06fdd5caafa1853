package anonymize

import (
	"hash/maphash"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
)

// cacheSlots is the number of slots of each shared cache (a power of two).
// The same users and hosts repeat across every connection of a source, so
// one cache per Anonymizer serves them all; 32k slots hold a site's active
// population with few collisions for 256 KiB of slot pointers, allocated on
// first use.
const cacheSlots = 1 << 15

// cache maps an identifier to its pseudonym (and, for addresses, the text
// form). It is direct-mapped and lock-free: a slot holds a pointer to an
// immutable entry, a colliding identifier replaces the old one, and readers
// never wait. It is safe for concurrent use.
type cache[K comparable] struct {
	seed  maphash.Seed
	hash  func(maphash.Seed, K) uint64
	once  sync.Once
	slots []atomic.Pointer[cacheEntry[K]]
}

type cacheEntry[K comparable] struct {
	k   K
	raw string // text of k (addresses)
	v   string
}

func newStringCache() *cache[string] {
	return &cache[string]{seed: maphash.MakeSeed(), hash: maphash.String}
}

func newAddrCache() *cache[netip.Addr] {
	return &cache[netip.Addr]{seed: maphash.MakeSeed(), hash: maphash.Comparable[netip.Addr]}
}

func (c *cache[K]) slot(k K) *atomic.Pointer[cacheEntry[K]] {
	c.once.Do(func() { c.slots = make([]atomic.Pointer[cacheEntry[K]], cacheSlots) })
	return &c.slots[c.hash(c.seed, k)&(cacheSlots-1)]
}

func (c *cache[K]) get(k K) (*cacheEntry[K], bool) {
	e := c.slot(k).Load()
	if e != nil && e.k == k {
		return e, true
	}
	return nil, false
}

// put stores a result. A string key is cloned: it may be a slice of a log
// line whose buffer is reused.
func (c *cache[K]) put(k K, raw, v string) {
	if s, ok := any(k).(string); ok {
		k = any(strings.Clone(s)).(K)
	}
	c.slot(k).Store(&cacheEntry[K]{k: k, raw: raw, v: v})
}
