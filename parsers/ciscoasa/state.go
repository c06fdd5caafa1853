package ciscoasa

// DefaultMaxConns bounds the connections a Parser remembers between their
// Built and Teardown messages (per stream).
const DefaultMaxConns = 100_000

// genTable is a bounded map in two generations: when the current generation
// holds half the limit it becomes the old one and the previous old one is
// dropped. Memory stays under the limit without per-entry bookkeeping, and
// the most recently built connections are the last to be forgotten.
type genTable[K comparable] struct {
	cur, old map[K]bool
	half     int
}

func newGenTable[K comparable](max int) genTable[K] {
	if max < 2 {
		max = 2
	}
	return genTable[K]{half: max / 2}
}

func (t *genTable[K]) put(k K, v bool) {
	if t.cur == nil {
		t.cur = make(map[K]bool)
	}
	if _, ok := t.cur[k]; !ok && len(t.cur) >= t.half {
		t.old, t.cur = t.cur, make(map[K]bool, t.half/4)
	}
	t.cur[k] = v
	if t.old != nil {
		delete(t.old, k)
	}
}

// take returns and forgets the value stored for k.
func (t *genTable[K]) take(k K) (v, ok bool) {
	if v, ok = t.cur[k]; ok {
		delete(t.cur, k)
		return v, true
	}
	if v, ok = t.old[k]; ok {
		delete(t.old, k)
		return v, true
	}
	return false, false
}

func (t *genTable[K]) len() int { return len(t.cur) + len(t.old) }
