package anonymize

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"github.com/cloudscout/cloudscout/parsers"
)

// equivPolicies exercise every action on every field and both address
// scopes.
func equivPolicies() map[string]Policy {
	all := func(a Action) map[string]Action {
		m := map[string]Action{}
		for _, f := range fieldNames {
			m[f] = a
		}
		return m
	}
	return map[string]Policy{
		"default":   DefaultPolicy(),
		"token-all": {Fields: all(Token), Addresses: "all"},
		"drop-all":  {Fields: all(Drop), Addresses: "all"},
		"mixed": {Fields: map[string]Action{
			UserName: Encrypt, UserDomain: Token, UserEmail: Drop, SourceIP: Encrypt, SourceNATIP: Token,
			SourceDomain: Token, SourceMAC: Drop, DestinationIP: Token, DestinationNATIP: Drop,
			DestinationDomain: Encrypt, URLQuery: Token,
		}},
		"encrypt-all": {Fields: all(Encrypt), Addresses: "all"},
	}
}

// equivGen draws records whose identifiers come from a fixed population
// (so they repeat, as in real traffic, and collide in the caches) and
// whose free text embeds identifiers, their address text forms and
// pseudonym-like text.
type equivGen struct {
	r     *rand.Rand
	strs  []string
	addrs []netip.Addr
}

func newEquivGen(seed uint64, a *Anonymizer) *equivGen {
	g := &equivGen{r: rand.New(rand.NewPCG(seed, 7))}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCZ0123456789.:-_@\\/ %=&?é"
	for range 2500 {
		n := g.r.IntN(40)
		if g.r.IntN(4) == 0 {
			n = 24 + g.r.IntN(5) // around frontKeyLen
		}
		var b strings.Builder
		for range n {
			b.WriteByte(alphabet[g.r.IntN(len(alphabet))])
		}
		g.strs = append(g.strs, b.String())
	}
	g.strs = append(g.strs, "", "a", "ab", "abc", "tok", "tok:", "enc:", "[dropped]", "ok:", "10.1.2.3",
		"jdoe", "jdoe@corp.example", `CORP\jdoe`, "00:0c:29:b7:e7:5c", "192.168.1.1", "fd00::1", "::1",
		strings.Repeat("x", frontKeyLen), strings.Repeat("x", frontKeyLen+1), strings.Repeat("y", 300))
	for range 1500 {
		var ad netip.Addr
		switch g.r.IntN(9) {
		case 0:
			ad = netip.AddrFrom4([4]byte{10, byte(g.r.IntN(4)), byte(g.r.IntN(256)), byte(g.r.IntN(256))})
		case 1:
			ad = netip.AddrFrom4([4]byte{192, 168, byte(g.r.IntN(4)), byte(g.r.IntN(256))})
		case 2:
			ad = netip.AddrFrom4([4]byte{byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(g.r.IntN(256)), byte(g.r.IntN(256))})
		case 3:
			ad = netip.AddrFrom4([4]byte{172, byte(g.r.IntN(256)), 1, byte(g.r.IntN(256))})
		case 4:
			ad = netip.AddrFrom4([4]byte{100, byte(g.r.IntN(256)), 1, 1})
		case 5:
			var b [16]byte
			b[0], b[1], b[15] = 0xfd, byte(g.r.IntN(256)), byte(g.r.IntN(256))
			ad = netip.AddrFrom16(b)
		case 6:
			var b [16]byte
			for i := range b {
				b[i] = byte(g.r.IntN(256))
			}
			ad = netip.AddrFrom16(b)
		case 7:
			// IPv4-mapped: the same address as a v4 one, another text
			ad = netip.AddrFrom16(netip.AddrFrom4([4]byte{10, 0, byte(g.r.IntN(4)), byte(g.r.IntN(256))}).As16())
		case 8:
			var b [16]byte
			b[0], b[1], b[15] = 0xfe, 0x80, byte(g.r.IntN(256))
			ad = netip.AddrFrom16(b)
		}
		g.addrs = append(g.addrs, ad)
	}
	for _, s := range []string{"fe80::1%eth0", "fe80::1", "fd00::1%eth1", "fd00::1", "::1", "::ffff:10.1.2.3", "10.1.2.3",
		"127.0.0.1", "169.254.1.1", "::", "0.0.0.0"} {
		g.addrs = append(g.addrs, netip.MustParseAddr(s))
	}
	g.addrs = append(g.addrs, netip.Addr{})
	if a != nil {
		g.strs = append(g.strs, collidingStrings(a)...)
		g.addrs = append(g.addrs, collidingAddrs(a)...)
	}
	return g
}

// collidingStrings returns strings that share a front cache slot, and
// strings that share a set of the shared cache, short and long ones.
func collidingStrings(a *Anonymizer) []string {
	out := []string{"c0"}
	h0 := a.hs.hashString(out[0])
	nf, ns := 0, 0
	for i := 1; nf < 6 || ns < 6; i++ {
		s := fmt.Sprintf("c%d", i)
		if i%2 == 0 {
			s += ".long.enough.to.be.held.outside.the.slot"
		}
		h := a.hs.hashString(s)
		if nf < 6 && (h>>32)&(frontMaxSets-1) == (h0>>32)&(frontMaxSets-1) {
			out, nf = append(out, s), nf+1
		}
		if ns < 6 && h&(cacheSlots-2) == h0&(cacheSlots-2) {
			out, ns = append(out, s), ns+1
		}
	}
	return out
}

func collidingAddrs(a *Anonymizer) []netip.Addr {
	out := []netip.Addr{netip.AddrFrom4([4]byte{10, 9, 0, 0})}
	h0 := a.hs.hashAddr(out[0])
	nf, ns := 0, 0
	for i := 1; nf < 4 || ns < 4; i++ {
		ad := netip.AddrFrom4([4]byte{10, 9, byte(i >> 8), byte(i)})
		h := a.hs.hashAddr(ad)
		if nf < 4 && (h>>32)&(frontMaxSets-1) == (h0>>32)&(frontMaxSets-1) {
			out, nf = append(out, ad), nf+1
		}
		if ns < 4 && h&(cacheSlots-2) == h0&(cacheSlots-2) {
			out, ns = append(out, ad), ns+1
		}
	}
	return out
}

func (g *equivGen) str() string {
	if g.r.IntN(5) == 0 {
		return ""
	}
	// Skewed: low indexes (and the special strings at the end) are drawn
	// more often.
	if g.r.IntN(3) == 0 {
		return g.strs[len(g.strs)-1-g.r.IntN(min(60, len(g.strs)))]
	}
	return g.strs[int(float64(len(g.strs))*g.r.Float64()*g.r.Float64())]
}

func (g *equivGen) addr() netip.Addr {
	if g.r.IntN(3) == 0 {
		return g.addrs[len(g.addrs)-1-g.r.IntN(min(30, len(g.addrs)))]
	}
	return g.addrs[int(float64(len(g.addrs))*g.r.Float64()*g.r.Float64())]
}

// text embeds identifiers and address texts among other words.
func (g *equivGen) text() string {
	var b strings.Builder
	for range g.r.IntN(5) {
		switch g.r.IntN(4) {
		case 0:
			b.WriteString(g.str())
		case 1:
			if a := g.addr(); a.IsValid() {
				b.WriteString(a.String())
			}
		case 2:
			b.WriteString("tok:")
		default:
			b.WriteString([]string{"/", "?u=", "&", "@", ".", " ", "http://", "LAN-to-Internet"}[g.r.IntN(8)])
		}
	}
	return b.String()
}

func (g *equivGen) record() parsers.Record {
	r := parsers.Record{
		UserName: g.str(), UserDomain: g.str(), UserEmail: g.str(),
		SourceIP: g.addr(), SourceNATIP: g.addr(), SourceDomain: g.str(), SourceMAC: g.str(),
		DestinationIP: g.addr(), DestinationNATIP: g.addr(), DestinationDomain: g.str(), URLQuery: g.text(),
		URLOriginal: g.text(), URLPath: g.text(), HTTPReferrer: g.text(), URLDomain: g.text(),
		RuleName: g.text(), EventAction: g.text(), UserAgent: g.text(),
	}
	// As parsers make them, URL parts are often slices of the URL.
	if g.r.IntN(2) == 0 {
		u := r.URLOriginal + "/" + g.text() + "?" + g.text()
		r.URLOriginal = u
		for _, p := range []*string{&r.URLPath, &r.URLQuery, &r.URLDomain, &r.HTTPReferrer, &r.DestinationDomain} {
			if g.r.IntN(3) > 0 {
				i := g.r.IntN(len(u) + 1)
				*p = u[i : i+g.r.IntN(len(u)-i+1)]
			}
		}
	}
	for i := range g.r.IntN(3) {
		r.Labels = append(r.Labels, parsers.Label{Key: fmt.Sprint("k", i), Value: g.text()})
	}
	return r
}

func cloneRecord(r parsers.Record) parsers.Record {
	r.Labels = append([]parsers.Label(nil), r.Labels...)
	return r
}

// TestEquivalentToReference checks that Workers give exactly what the
// implementation before the front cache gave, record by record, for a
// stream of repeating, colliding identifiers under every policy, with
// several Workers sharing the Anonymizer's caches.
func TestEquivalentToReference(t *testing.T) {
	k, err := NewKey(bytes.Repeat([]byte{3}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	for name, p := range equivPolicies() {
		t.Run(name, func(t *testing.T) {
			// The mixed policy's stream is long enough for the busy
			// Worker's front cache to grow.
			n, grows := 10000, name == "mixed"
			if grows {
				n = 40000
			}
			if testing.Short() {
				n, grows = 3000, false
			}
			a, err := New(k, p)
			if err != nil {
				t.Fatal(err)
			}
			ref := newRefShared(a).newWorker()
			ws := []*Worker{a.NewWorker(), a.NewWorker(), a.NewWorker()}
			g := newEquivGen(1, a)
			for i := range n {
				in := g.record()
				want, got := cloneRecord(in), cloneRecord(in)
				ref.Apply(&want)
				// Most records to one Worker, whose front cache grows.
				w := ws[0]
				if g.r.IntN(4) == 0 {
					w = ws[1+g.r.IntN(len(ws)-1)]
				}
				w.Apply(&got)
				if !reflect.DeepEqual(want, got) {
					t.Fatalf("record %d: %+v\n got %+v\nwant %+v", i, in, got, want)
				}
			}
			if grows && (ws[0].front == nil || len(ws[0].front.sets) == frontMinSets) {
				t.Fatal("the busy Worker's front cache did not grow: the test does not cover growth")
			}
		})
	}
}

// TestEquivalentConcurrent runs Workers of one Anonymizer in parallel (for
// the race detector) and checks each against the reference.
func TestEquivalentConcurrent(t *testing.T) {
	k, err := NewKey(bytes.Repeat([]byte{5}, KeySize))
	if err != nil {
		t.Fatal(err)
	}
	p := equivPolicies()["mixed"]
	a, err := New(k, p)
	if err != nil {
		t.Fatal(err)
	}
	const workers, n = 4, 2000
	in := make([][]parsers.Record, workers)
	want := make([][]parsers.Record, workers)
	ref := newRefShared(a).newWorker()
	for w := range workers {
		g := newEquivGen(uint64(10+w), a)
		for range n {
			r := g.record()
			in[w] = append(in[w], r)
			c := cloneRecord(r)
			ref.Apply(&c)
			want[w] = append(want[w], c)
		}
	}
	errs := make(chan error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			aw := a.NewWorker()
			for i, r := range in[w] {
				got := cloneRecord(r)
				aw.Apply(&got)
				if !reflect.DeepEqual(got, want[w][i]) {
					errs <- fmt.Errorf("worker %d record %d: got %+v want %+v", w, i, got, want[w][i])
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// forgeFront copies the front slot of the key hashed hHave into both ways
// of the set of the key hashed hOther, with that key's tag.
func forgeFront(t *testing.T, f *front, hHave, hOther uint64, kind uint8) {
	t.Helper()
	for _, src := range f.set(hHave, kind) {
		if src.tag == uint32(hHave) && src.kind == kind {
			src.tag = uint32(hOther)
			dst := f.set(hOther, kind)
			dst[0], dst[1] = src, src
			return
		}
	}
	t.Fatal("key not in the front cache")
}

// TestFrontCacheComparesKeys forges front slots whose hash tag matches
// another key's: a lookup must compare the key itself.
func TestFrontCacheComparesKeys(t *testing.T) {
	a, err := New(testKey(t), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	w := a.NewWorker()
	w.front = &front{sets: make([][2]frontSlot, frontMinSets), lease: &frontLease{budget: &a.frontBytes}}
	ref := newRefShared(a).newWorker()
	long := strings.Repeat("z", frontKeyLen+5)
	longAlt := long[:len(long)-1] + "y"
	for _, pair := range [][2]string{{"alice", "bob"}, {"alice", "alicf"}, {long, longAlt}, {long, long + "!"}, {long, "alice"}, {"alice", long}} {
		have, other := pair[0], pair[1]
		w.Token(have)
		forgeFront(t, w.front, a.hs.hashString(have), a.hs.hashString(other), kindToken)
		if got, want := w.Token(other), ref.token(other); got != want {
			t.Fatalf("%q after a forged slot of %q: %q, want %q", other, have, got, want)
		}
	}
	// The same text as another kind of key: its token is not its ciphertext.
	h := a.hs.hashString("alice")
	w.Token("alice")
	forged := false
	for _, src := range w.front.set(h, kindToken) {
		if src.tag == uint32(h) && src.kind == kindToken && string(src.key[:src.klen]) == "alice" {
			dst := w.front.set(h, kindEncrypt)
			dst[0], dst[1], forged = src, src, true
			break
		}
	}
	if !forged {
		t.Fatal("alice is not in the front cache")
	}
	if got, _, _ := w.strPseudonym(kindEncrypt, "alice"); got != ref.encrypt("alice") {
		t.Fatalf("ciphertext of alice after a forged slot of its token: %q", got)
	}
	a1, a2 := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	w.addrPseudonym(kindToken, a1)
	forgeFront(t, w.front, a.hs.hashAddr(a1), a.hs.hashAddr(a2), kindToken|kindAddr4)
	if raw, tok, _ := w.addrPseudonym(kindToken, a2); raw != "10.0.0.2" || tok != ref.token("10.0.0.2") {
		t.Fatalf("10.0.0.2 after a forged slot: %q %q", raw, tok)
	}
	// The IPv4-mapped form of an address has the same 16 bytes, another
	// text and another token.
	a1m := netip.AddrFrom16(a1.As16())
	w.addrPseudonym(kindToken, a1)
	for _, src := range w.front.set(a.hs.hashAddr(a1), kindToken|kindAddr4) {
		if src.kind == kindToken|kindAddr4 && [16]byte(src.key[:16]) == a1.As16() {
			h := a.hs.hashAddr(a1m)
			src.tag = uint32(h)
			for _, k := range []uint8{kindAddr4, kindAddr6} {
				dst := w.front.set(h, kindToken|k)
				dst[0], dst[1] = src, src
			}
		}
	}
	if raw, tok, _ := w.addrPseudonym(kindToken, a1m); raw != "::ffff:10.0.0.1" || tok != ref.token("::ffff:10.0.0.1") {
		t.Fatalf("::ffff:10.0.0.1 after a forged slot of 10.0.0.1: %q %q", raw, tok)
	}
}

// TestHugeIdentifiersNotCached: a stream of huge identifiers must not fill
// memory through the caches.
func TestHugeIdentifiersNotCached(t *testing.T) {
	a, err := New(testKey(t), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	w := a.NewWorker()
	ref := newRefShared(a).newWorker()
	huge := strings.Repeat("x", 10000)
	if w.Token(huge) != ref.token(huge) {
		t.Fatal("token of a huge identifier differs")
	}
	if a.tokens.get(a.hs.hashString(huge), huge) != nil {
		t.Fatal("a huge identifier was cached")
	}
	if cap(w.buf) > maxKeepBuf {
		t.Fatalf("the Worker keeps a %d-byte buffer", cap(w.buf))
	}
	edge := strings.Repeat("x", maxCachedKey)
	w.Token(edge)
	if a.tokens.get(a.hs.hashString(edge), edge) == nil {
		t.Fatalf("a %d-byte identifier was not cached", maxCachedKey)
	}
}

// TestFrontSlotIsOneCacheLine: a front cache hit must read one line.
func TestFrontSlotIsOneCacheLine(t *testing.T) {
	if n := unsafe.Sizeof(frontSlot{}); n != 64 {
		t.Fatalf("frontSlot is %d bytes, want 64", n)
	}
}

// TestSharedCacheWays checks the shared cache's two ways: a new entry
// takes the first and pushes the previous one to the second, whose entry
// leaves.
func TestSharedCacheWays(t *testing.T) {
	var c cache[string]
	const h = 12345
	e := func(k string) *cacheEntry[string] { return &cacheEntry[string]{h: h, k: k, kv: k + "v", n: len(k)} }
	e1, e2, e3 := e("one"), e("two"), e("three")
	c.put(e1)
	c.put(e2)
	if c.get(h, "one") != e1 || c.get(h, "two") != e2 {
		t.Fatal("two entries of one set: not both found")
	}
	if c.get(h, "four") != nil || c.get(h+cacheSlots, "one") != nil {
		t.Fatal("found an entry under another key or hash")
	}
	c.put(e3)
	if c.get(h, "one") != nil || c.get(h, "two") != e2 || c.get(h, "three") != e3 {
		t.Fatal("the third entry of a set did not replace the oldest")
	}
	c.put(e("three"))
	if c.get(h, "two") != e2 {
		t.Fatal("storing a key again evicted the other way")
	}
}

// TestFrontCacheBudget checks that Workers take a front cache only once
// busy, that an Anonymizer's live Workers hold at most frontBudget bytes of
// them, and that a Worker that is garbage gives its share back.
func TestFrontCacheBudget(t *testing.T) {
	a, err := New(testKey(t), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	busy := func(w *Worker) {
		for i := range 2 * frontAfter {
			w.Token(fmt.Sprint("user", i%50))
		}
	}
	w := a.NewWorker()
	w.Token("idle")
	if w.front != nil {
		t.Fatal("a Worker took a front cache on its first lookup")
	}
	fit := int(frontBudget / (frontMinSets * frontSetBytes))
	ws := make([]*Worker, fit+3)
	with := 0
	for i := range ws {
		ws[i] = a.NewWorker()
		busy(ws[i])
		if ws[i].front != nil {
			with++
		}
	}
	if with != fit || a.frontBytes.Load() != int64(fit)*frontMinSets*frontSetBytes {
		t.Fatalf("%d busy Workers have front caches (%d bytes), want %d", with, a.frontBytes.Load(), fit)
	}
	ws = nil
	// Cleanups run after a collection, on another goroutine: poll.
	deadline := time.Now().Add(10 * time.Second)
	for a.frontBytes.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d bytes of front caches after the Workers were dropped, want 0", a.frontBytes.Load())
		}
		runtime.GC()
		time.Sleep(time.Millisecond)
	}
	w2 := a.NewWorker()
	busy(w2)
	if w2.front == nil {
		t.Fatal("no front cache after the budget came back")
	}
	runtime.KeepAlive(w)
}

// TestFrontCacheGrows checks that a front cache doubles up to its maximum
// while it misses often, and only then.
func TestFrontCacheGrows(t *testing.T) {
	a, err := New(testKey(t), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	run := func(keys, lookups int) *Worker {
		w := a.NewWorker()
		for i := range lookups {
			w.Token(fmt.Sprint("k", i%keys))
		}
		return w
	}
	few := run(100, 4*frontWindow)
	if n := len(few.front.sets); n != frontMinSets {
		t.Fatalf("front cache of 100 keys has %d sets, want %d", n, frontMinSets)
	}
	many := run(4*2*frontMaxSets, 4*frontWindow)
	if n := len(many.front.sets); n != frontMaxSets {
		t.Fatalf("front cache of %d keys has %d sets, want %d", 8*frontMaxSets, n, frontMaxSets)
	}
	if got, want := many.front.lease.bytes.Load(), int64(frontMaxSets)*frontSetBytes; got != want {
		t.Fatalf("lease of %d bytes, want %d", got, want)
	}
	if got, want := a.frontBytes.Load(), int64(frontMinSets+frontMaxSets)*frontSetBytes; got != want {
		t.Fatalf("budget spent %d bytes, want %d", got, want)
	}
	// Still the same tokens after growing.
	ref := newRefShared(a).newWorker()
	for i := range 100 {
		k := fmt.Sprint("k", i)
		if many.Token(k) != ref.token(k) {
			t.Fatalf("token of %s changed", k)
		}
	}
	runtime.KeepAlive(few)
}

// TestIsInternalMatchesPrefixes compares IsInternal with the prefix list
// it encodes on addresses around every boundary, zoned and mapped ones.
func TestIsInternalMatchesPrefixes(t *testing.T) {
	g := newEquivGen(2, nil)
	addrs := append([]netip.Addr(nil), g.addrs...)
	for _, s := range []string{"9.255.255.255", "10.0.0.0", "11.0.0.0", "172.15.255.255", "172.16.0.0", "172.31.255.255",
		"172.32.0.0", "192.167.255.255", "192.168.0.0", "192.169.0.0", "100.63.255.255", "100.64.0.0", "100.127.255.255",
		"100.128.0.0", "126.255.255.255", "127.0.0.0", "128.0.0.0", "169.253.255.255", "169.254.0.0", "169.255.0.0",
		"fbff::1", "fc00::", "fdff:ffff::1", "fe00::1", "fe7f::1", "fe80::", "febf::1", "fec0::1", "::2", "::1%lo",
		"fc00::1%x", "fe80::1%x", "fec0::1%x", "::ffff:192.168.1.1", "::ffff:8.8.8.8", "::ffff:127.0.0.1%x", "::ffff:0:0"} {
		addrs = append(addrs, netip.MustParseAddr(s))
	}
	for range 20000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(g.r.IntN(256))
		}
		b[0] = []byte{0xfc, 0xfd, 0xfe, 0xff, 0, 0x20}[g.r.IntN(6)]
		addrs = append(addrs, netip.AddrFrom16(b), netip.AddrFrom4([4]byte(b[:4])), netip.AddrFrom16(b).WithZone("z"))
	}
	for _, ad := range addrs {
		if got, want := IsInternal(ad), refIsInternal(ad); got != want {
			t.Errorf("IsInternal(%v) = %v, want %v", ad, got, want)
		}
	}
}

// TestByteMaskCoversSubstrings: the leak scan skips a text whose byte mask
// lacks a bit of the identifier's, which is sound only if every substring's
// mask is covered.
func TestByteMaskCoversSubstrings(t *testing.T) {
	g := newEquivGen(3, nil)
	for range 20000 {
		s := g.text()
		if s == "" {
			continue
		}
		i := g.r.IntN(len(s))
		j := i + g.r.IntN(len(s)-i+1)
		if m, sub := byteMask(s), byteMask(s[i:j]); sub&^m != 0 {
			t.Fatalf("mask of %q not covered by %q's", s[i:j], s)
		}
	}
	if byteMask("10.1.2.3")&^byteMask("LAN-to-Internet") == 0 {
		t.Fatal("an address's mask is covered by a rule name's")
	}
}

// FuzzApplyEquivalent compares Apply with the reference on arbitrary
// identifiers and text.
func FuzzApplyEquivalent(f *testing.F) {
	f.Add("jdoe", "CORP", "jdoe-laptop", "00:0c:29:b7:e7:5c", []byte{10, 1, 2, 3}, "http://x.example/?u=jdoe&ip=10.1.2.3", "all")
	f.Add("tok", "", "abc", "ok:", []byte{0xfd, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, "tok:tok:tok", "")
	f.Add(strings.Repeat("é", 20), "x", "", "", []byte{}, "é", "internal")
	k, err := NewKey(bytes.Repeat([]byte{9}, KeySize))
	if err != nil {
		f.Fatal(err)
	}
	type pair struct {
		ref *refWorker
		w   *Worker
	}
	ps := map[string]pair{}
	for name, p := range equivPolicies() {
		a, err := New(k, p)
		if err != nil {
			f.Fatal(err)
		}
		ps[name] = pair{newRefShared(a).newWorker(), a.NewWorker()}
	}
	f.Fuzz(func(t *testing.T, user, domain, host, mac string, ip []byte, text, action string) {
		var ad netip.Addr
		switch len(ip) {
		case 4:
			ad = netip.AddrFrom4([4]byte(ip))
		case 16:
			ad = netip.AddrFrom16([16]byte(ip))
		}
		in := parsers.Record{UserName: user, UserDomain: domain, UserEmail: user + "@" + domain, SourceDomain: host,
			SourceMAC: mac, SourceIP: ad, SourceNATIP: ad, DestinationIP: ad, DestinationDomain: host,
			URLOriginal: text, URLQuery: text, RuleName: text + user, EventAction: action,
			Labels: []parsers.Label{{Key: "x", Value: text + mac}}}
		for name, p := range ps {
			want, got := cloneRecord(in), cloneRecord(in)
			p.ref.Apply(&want)
			p.w.Apply(&got)
			if !reflect.DeepEqual(want, got) {
				t.Fatalf("%s: got %+v\nwant %+v", name, got, want)
			}
		}
	})
}
