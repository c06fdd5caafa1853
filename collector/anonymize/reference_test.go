package anonymize

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"hash"
	"hash/maphash"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/cloudscout/cloudscout/parsers"
)

// The implementation before session 10's speed work (issue #7),
// kept as the oracle of the equivalence tests and the baseline of the
// benchmarks. It shares only the key, the policy and the cipher with the
// Anonymizer it is made from; its caches are its own.

const refCacheSlots = 1 << 15

type refCache[K comparable] struct {
	seed  maphash.Seed
	hash  func(maphash.Seed, K) uint64
	once  sync.Once
	slots []atomic.Pointer[refCacheEntry[K]]
}

type refCacheEntry[K comparable] struct {
	k   K
	raw string
	v   string
}

func newRefStringCache() *refCache[string] {
	return &refCache[string]{seed: maphash.MakeSeed(), hash: maphash.String}
}

func newRefAddrCache() *refCache[netip.Addr] {
	return &refCache[netip.Addr]{seed: maphash.MakeSeed(), hash: maphash.Comparable[netip.Addr]}
}

func (c *refCache[K]) slot(k K) *atomic.Pointer[refCacheEntry[K]] {
	c.once.Do(func() { c.slots = make([]atomic.Pointer[refCacheEntry[K]], refCacheSlots) })
	return &c.slots[c.hash(c.seed, k)&(refCacheSlots-1)]
}

func (c *refCache[K]) get(k K) (*refCacheEntry[K], bool) {
	e := c.slot(k).Load()
	if e != nil && e.k == k {
		return e, true
	}
	return nil, false
}

func (c *refCache[K]) put(k K, raw, v string) {
	if s, ok := any(k).(string); ok {
		k = any(strings.Clone(s)).(K)
	}
	c.slot(k).Store(&refCacheEntry[K]{k: k, raw: raw, v: v})
}

// refShared is the reference's counterpart of the Anonymizer's caches:
// shared by the refWorkers made from it.
type refShared struct {
	a                    *Anonymizer
	act                  [11]Action
	tokens, encs         *refCache[string]
	addrTokens, addrEncs *refCache[netip.Addr]
}

func newRefShared(a *Anonymizer) *refShared {
	s := &refShared{a: a, tokens: newRefStringCache(), encs: newRefStringCache(),
		addrTokens: newRefAddrCache(), addrEncs: newRefAddrCache()}
	for i, f := range fieldNames {
		s.act[i] = Keep
		if v, ok := a.policy.Fields[f]; ok {
			s.act[i] = v
		}
	}
	return s
}

type refReplacement struct{ raw, with string }

type refWorker struct {
	a        *refShared
	mac      hash.Hash
	siv      hash.Hash
	replaced []refReplacement
	buf      []byte
}

func (s *refShared) newWorker() *refWorker {
	return &refWorker{a: s, mac: hmac.New(sha256.New, s.a.key.token), siv: hmac.New(sha256.New, s.a.key.sivKey)}
}

func (w *refWorker) Apply(r *parsers.Record) {
	w.replaced = w.replaced[:0]
	w.str(0, &r.UserName)
	w.str(1, &r.UserDomain)
	w.str(2, &r.UserEmail)
	w.addr(3, &r.SourceIP, &r.SourceIPToken)
	w.addr(4, &r.SourceNATIP, &r.SourceNATIPToken)
	w.str(5, &r.SourceDomain)
	w.str(6, &r.SourceMAC)
	w.addr(7, &r.DestinationIP, &r.DestinationIPToken)
	w.addr(8, &r.DestinationNATIP, &r.DestinationNATIPToken)
	w.str(9, &r.DestinationDomain)
	w.str(10, &r.URLQuery)
	if len(w.replaced) == 0 {
		return
	}
	for _, p := range []*string{&r.URLOriginal, &r.URLPath, &r.URLQuery, &r.HTTPReferrer, &r.URLDomain,
		&r.DestinationDomain, &r.SourceDomain, &r.UserEmail, &r.UserName, &r.RuleName, &r.EventAction} {
		w.scrub(p)
	}
	for i := range r.Labels {
		w.scrub(&r.Labels[i].Value)
	}
}

func (w *refWorker) scrub(p *string) {
	if *p == "" {
		return
	}
	for _, rp := range w.replaced {
		if len(rp.raw) >= minLeakLen && strings.Contains(*p, rp.raw) {
			*p = strings.ReplaceAll(*p, rp.raw, rp.with)
		}
	}
}

func (w *refWorker) str(i int, p *string) {
	v := *p
	if v == "" {
		return
	}
	switch w.a.act[i] {
	case Keep:
		return
	case Drop:
		*p = ""
		w.replaced = append(w.replaced, refReplacement{v, "[dropped]"})
	case Token:
		*p = w.token(v)
		w.replaced = append(w.replaced, refReplacement{v, *p})
	case Encrypt:
		*p = w.encrypt(v)
		w.replaced = append(w.replaced, refReplacement{v, *p})
	}
}

func (w *refWorker) addr(i int, a *netip.Addr, tok *string) {
	if !a.IsValid() {
		return
	}
	act := w.a.act[i]
	if act == Keep || (!w.a.a.allIPs && !refIsInternal(*a)) {
		return
	}
	c := w.a.addrTokens
	if act == Encrypt {
		c = w.a.addrEncs
	}
	var raw string
	if e, ok := c.get(*a); ok {
		raw = e.raw
		if act != Drop {
			*tok = e.v
		}
	} else {
		raw = a.String()
		switch act {
		case Token:
			*tok = w.token(raw)
		case Encrypt:
			*tok = w.encrypt(raw)
		}
		if act != Drop {
			c.put(*a, raw, *tok)
		}
	}
	*a = netip.Addr{}
	if act == Drop {
		w.replaced = append(w.replaced, refReplacement{raw, "[dropped]"})
		return
	}
	w.replaced = append(w.replaced, refReplacement{raw, *tok})
}

func (w *refWorker) token(v string) string {
	if e, ok := w.a.tokens.get(v); ok {
		return e.v
	}
	w.mac.Reset()
	w.mac.Write([]byte(v))
	w.buf = w.mac.Sum(w.buf[:0])
	t := "tok:" + base64.RawURLEncoding.EncodeToString(w.buf[:12])
	w.a.tokens.put(v, "", t)
	return t
}

func (w *refWorker) encrypt(v string) string {
	if e, ok := w.a.encs.get(v); ok {
		return e.v
	}
	w.siv.Reset()
	w.siv.Write([]byte(v))
	iv := w.siv.Sum(nil)[:aes.BlockSize]
	out := make([]byte, aes.BlockSize+len(v))
	copy(out, iv)
	cipher.NewCTR(w.a.a.block, iv).XORKeyStream(out[aes.BlockSize:], []byte(v))
	t := "enc:" + base64.RawURLEncoding.EncodeToString(out)
	w.a.encs.put(v, "", t)
	return t
}

var refInternalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("fc00::/7"),
}

func refIsInternal(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsLinkLocalUnicast() {
		return true
	}
	for _, p := range refInternalPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
