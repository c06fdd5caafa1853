package ftp

import (
	"net"
	"sync"
	"time"
)

// maxBanEntries bounds the memory of the failed-login tracker. When it is full,
// entries without an active ban are evicted first.
const maxBanEntries = 65536

// banList counts failed logins per client address in a fixed window and bans
// an address for a while once the count reaches the threshold.
type banList struct {
	mu       sync.Mutex
	after    int
	window   time.Duration
	duration time.Duration
	entries  map[string]*banEntry
}

type banEntry struct {
	fails      int
	windowFrom time.Time
	until      time.Time
}

func newBanList(after int, window, duration time.Duration) *banList {
	return &banList{after: after, window: window, duration: duration, entries: make(map[string]*banEntry)}
}

// banKey groups IPv6 clients by /64: one host usually owns a whole /64, so a
// per-address key would let it rotate addresses forever.
func banKey(ip net.IP) string {
	if v4 := ip.To4(); v4 != nil {
		return v4.String()
	}
	return ip.Mask(net.CIDRMask(64, 128)).String() + "/64"
}

func (b *banList) banned(ip net.IP, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	e := b.entries[banKey(ip)]
	return e != nil && now.Before(e.until)
}

// fail records a failed login and reports whether it started a new ban.
func (b *banList) fail(ip net.IP, now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	key := banKey(ip)
	e := b.entries[key]
	if e == nil {
		if len(b.entries) >= maxBanEntries {
			b.evictLocked(now)
		}
		e = &banEntry{windowFrom: now}
		b.entries[key] = e
	}
	if now.Before(e.until) {
		return false
	}
	if now.Sub(e.windowFrom) > b.window {
		e.fails, e.windowFrom = 0, now
	}
	e.fails++
	if e.fails < b.after {
		return false
	}
	e.fails, e.windowFrom = 0, now
	e.until = now.Add(b.duration)
	return true
}

// success forgets the failures of an address that has just logged in.
func (b *banList) success(ip net.IP) {
	b.mu.Lock()
	defer b.mu.Unlock()
	delete(b.entries, banKey(ip))
}

// evictLocked frees a tenth of the table at once, so that a flood of new
// addresses costs amortized constant time: expired entries first, then
// entries without an active ban, then anything.
func (b *banList) evictLocked(now time.Time) {
	target := maxBanEntries * 9 / 10
	for _, drop := range []func(*banEntry) bool{
		func(e *banEntry) bool { return !now.Before(e.until) && now.Sub(e.windowFrom) > b.window },
		func(e *banEntry) bool { return !now.Before(e.until) },
		func(*banEntry) bool { return true },
	} {
		for k, e := range b.entries {
			if len(b.entries) <= target {
				return
			}
			if drop(e) {
				delete(b.entries, k)
			}
		}
	}
}
