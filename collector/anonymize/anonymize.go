// Package anonymize pseudonymizes users and internal addresses in records on
// the appliance, before anything leaves the site.
//
// Each field has an action: keep, token (keyed HMAC-SHA256: stable,
// irreversible), encrypt (deterministic authenticated encryption, SIV-style:
// stable, reversible with the key by `cloudscout deanonymize`) or drop.
// Tokens look like "tok:" + 16 base64url characters, encrypted values like
// "enc:" + base64url(iv || ciphertext).
package anonymize

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"hash/maphash"
	"math"
	mrand "math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync/atomic"
	"unsafe"

	"github.com/cloudscout/cloudscout/parsers"
)

// Action is what happens to one field.
type Action string

// Actions.
const (
	Keep    Action = "keep"
	Token   Action = "token"
	Encrypt Action = "encrypt"
	Drop    Action = "drop"
)

// Field names the policy can address (ECS names).
const (
	UserName          = "user.name"
	UserDomain        = "user.domain"
	UserEmail         = "user.email"
	SourceIP          = "source.ip"
	SourceNATIP       = "source.nat.ip"
	SourceDomain      = "source.domain"
	SourceMAC         = "source.mac"
	DestinationIP     = "destination.ip"
	DestinationNATIP  = "destination.nat.ip"
	DestinationDomain = "destination.domain"
	URLQuery          = "url.query"
)

// Fields lists every field a policy may name.
var fieldNames = []string{UserName, UserDomain, UserEmail, SourceIP, SourceNATIP, SourceDomain, SourceMAC,
	DestinationIP, DestinationNATIP, DestinationDomain, URLQuery}

// Fields returns the field names a policy may set.
func Fields() []string { return append([]string(nil), fieldNames...) }

// Policy says what to do with each field. Addresses chooses which IP
// addresses the address actions apply to: "internal" (RFC 1918, ULA, CGNAT,
// loopback, link-local; the default) or "all".
type Policy struct {
	Fields    map[string]Action `yaml:"fields"`
	Addresses string            `yaml:"addresses"`
}

// DefaultPolicy tokenizes user names, e-mail addresses, client host names
// and MACs, and internal source addresses; destinations are kept because
// discovery needs them.
func DefaultPolicy() Policy {
	return Policy{
		Fields: map[string]Action{
			UserName:     Token,
			UserEmail:    Token,
			SourceIP:     Token,
			SourceNATIP:  Token,
			SourceDomain: Token,
			SourceMAC:    Token,
		},
		Addresses: "internal",
	}
}

// Merge returns p with o's settings on top (o's fields win).
func (p Policy) Merge(o Policy) Policy {
	out := Policy{Fields: map[string]Action{}, Addresses: p.Addresses}
	for k, v := range p.Fields {
		out.Fields[k] = v
	}
	for k, v := range o.Fields {
		out.Fields[k] = v
	}
	if o.Addresses != "" {
		out.Addresses = o.Addresses
	}
	return out
}

// Validate checks field names and actions.
func (p Policy) Validate() error {
	known := map[string]bool{}
	for _, f := range fieldNames {
		known[f] = true
	}
	keys := make([]string, 0, len(p.Fields))
	for k := range p.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !known[k] {
			return fmt.Errorf("unknown anonymization field %q (known: %s)", k, strings.Join(fieldNames, ", "))
		}
		switch p.Fields[k] {
		case Keep, Token, Encrypt, Drop:
		default:
			return fmt.Errorf("field %s: unknown action %q (keep, token, encrypt, drop)", k, p.Fields[k])
		}
	}
	switch p.Addresses {
	case "", "internal", "all":
	default:
		return fmt.Errorf("addresses: %q is neither internal nor all", p.Addresses)
	}
	return nil
}

// KeySize is the size of the key file's secret: 32 bytes for tokens, 32 for
// encryption.
const KeySize = 64

// Key holds the secrets. Losing it makes encrypted values unrecoverable and
// changes every token; back it up.
type Key struct {
	token  []byte // HMAC key for tokens
	encKey []byte // AES-256 key
	sivKey []byte // HMAC key for the synthetic IV
}

// NewKey builds a Key from KeySize bytes of secret.
func NewKey(secret []byte) (*Key, error) {
	if len(secret) != KeySize {
		return nil, fmt.Errorf("anonymization key must be %d bytes, got %d", KeySize, len(secret))
	}
	derive := func(label string) []byte {
		m := hmac.New(sha256.New, secret[32:])
		m.Write([]byte(label))
		return m.Sum(nil)
	}
	return &Key{token: append([]byte(nil), secret[:32]...), encKey: derive("cloudscout enc"), sivKey: derive("cloudscout siv")}, nil
}

// LoadOrCreateKey reads the hex key file at path, creating it (mode 0600,
// atomically) with a fresh random key if it does not exist. created reports
// whether a new key was made.
func LoadOrCreateKey(path string) (k *Key, created bool, err error) {
	b, err := os.ReadFile(path)
	if err == nil {
		k, err := parseKeyFile(b)
		if err != nil {
			return nil, false, fmt.Errorf("key file %s: %w", path, err)
		}
		return k, false, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, false, fmt.Errorf("read key: %w", err)
	}
	secret := make([]byte, KeySize)
	if _, err := rand.Read(secret); err != nil {
		return nil, false, fmt.Errorf("generate key: %w", err)
	}
	if err := writeFileAtomic(path, []byte(hex.EncodeToString(secret)+"\n"), 0o600); err != nil {
		return nil, false, fmt.Errorf("write key: %w", err)
	}
	k, err = NewKey(secret)
	return k, true, err
}

// LoadKey reads an existing hex key file.
func LoadKey(path string) (*Key, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key: %w", err)
	}
	k, err := parseKeyFile(b)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %w", path, err)
	}
	return k, nil
}

func parseKeyFile(b []byte) (*Key, error) {
	secret, err := hex.DecodeString(strings.TrimSpace(string(b)))
	if err != nil {
		return nil, fmt.Errorf("not hex: %w", err)
	}
	return NewKey(secret)
}

func writeFileAtomic(path string, data []byte, mode os.FileMode) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".key-*")
	if err != nil {
		return err
	}
	tmp := f.Name()
	defer os.Remove(tmp)
	if err := f.Chmod(mode); err != nil {
		f.Close()
		return err
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Link(tmp, path); err != nil {
		// Another process created the key first: keep theirs.
		return err
	}
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// Anonymizer applies one policy with one key. Its settings are immutable and
// its caches safe for concurrent use: it is shared, and each goroutine takes
// its own Worker.
type Anonymizer struct {
	// What every record reads first, in one cache line.
	hs     hasher
	act    [11]action // resolved actions, indexed like fieldNames
	allIPs bool
	// results shared by all workers
	tokens, encs         cache[string]
	addrTokens, addrEncs cache[netip.Addr]

	key    *Key
	policy Policy
	block  cipher.Block
	// bytes of the Workers' front caches, at most frontBudget
	frontBytes atomic.Int64
}

// action is an Action as a small number, for the per-record switch.
type action uint8

const (
	actKeep action = iota
	actToken
	actEncrypt
	actDrop
)

func (a Action) code() action {
	switch a {
	case Token:
		return actToken
	case Encrypt:
		return actEncrypt
	case Drop:
		return actDrop
	}
	return actKeep
}

// New validates the policy and returns an Anonymizer.
func New(key *Key, p Policy) (*Anonymizer, error) {
	if key == nil {
		return nil, errors.New("anonymize: nil key")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	blk, err := aes.NewCipher(key.encKey)
	if err != nil {
		return nil, err
	}
	a := &Anonymizer{key: key, policy: p, allIPs: p.Addresses == "all", block: blk,
		hs: hasher{seed: maphash.MakeSeed(), s0: mrand.Uint64(), s1: mrand.Uint64()}}
	for i, f := range fieldNames {
		a.act[i] = actKeep
		if v, ok := p.Fields[f]; ok {
			a.act[i] = v.code()
		}
	}
	return a, nil
}

// Policy returns the policy in force.
func (a *Anonymizer) Policy() Policy { return a.policy }

// Worker pseudonymizes records for one goroutine, reusing its HMAC state.
// Results are remembered in the Anonymizer's shared caches (the same users
// and hosts repeat on every connection) and, once the Worker is busy, in
// its own front cache of the identifiers it sees most (see front.go).
type Worker struct {
	a         *Anonymizer
	front     *front // nil until the Worker is busy (see takeFront)
	nReplaced int
	minRaw    int // length of the shortest raw identifier the scan looks for
	// lookups without a front cache since the last attempt to take one
	sharedOnly int
	// raw identifiers replaced in the current record, for the leak scan:
	// at most one per field
	replaced [11]replacement

	mac, siv hash.Hash
	buf, enc []byte
}

type replacement struct {
	raw, with string
	mask      uint64 // byteMask(raw)
}

// NewWorker returns a Worker; it is not safe for concurrent use.
func (a *Anonymizer) NewWorker() *Worker {
	return &Worker{a: a, mac: hmac.New(sha256.New, a.key.token), siv: hmac.New(sha256.New, a.key.sivKey)}
}

// Apply pseudonymizes r in place according to the policy, then replaces
// any raw identifier it pseudonymized wherever else it appears in the record
// (URL, query, referrer, labels...), so it cannot leak through another field.
func (w *Worker) Apply(r *parsers.Record) {
	w.nReplaced, w.minRaw = 0, math.MaxInt
	act := &w.a.act
	// user.name first: the raw name is also searched in the other fields.
	// str returns the byte mask of a pseudonym it wrote, which the leak
	// scan of that field then need not compute.
	mUser := w.str(act[0], &r.UserName)
	w.str(act[1], &r.UserDomain)
	mEmail := w.str(act[2], &r.UserEmail)
	w.addr(act[3], &r.SourceIP, &r.SourceIPToken)
	w.addr(act[4], &r.SourceNATIP, &r.SourceNATIPToken)
	mSrcDomain := w.str(act[5], &r.SourceDomain)
	w.str(act[6], &r.SourceMAC)
	w.addr(act[7], &r.DestinationIP, &r.DestinationIPToken)
	w.addr(act[8], &r.DestinationNATIP, &r.DestinationNATIPToken)
	mDstDomain := w.str(act[9], &r.DestinationDomain)
	mQuery := w.str(act[10], &r.URLQuery)
	if w.nReplaced == 0 {
		return
	}
	// The URL's parts are usually slices of the URL: if the URL holds no
	// identifier, neither do they.
	url := r.URLOriginal
	if w.scrub(&r.URLOriginal, 0) {
		url = ""
	}
	w.scrubPart(&r.URLPath, 0, url)
	w.scrubPart(&r.URLQuery, mQuery, url)
	w.scrubPart(&r.HTTPReferrer, 0, url)
	w.scrubPart(&r.URLDomain, 0, url)
	w.scrubPart(&r.DestinationDomain, mDstDomain, url)
	w.scrub(&r.SourceDomain, mSrcDomain)
	w.scrub(&r.UserEmail, mEmail)
	w.scrub(&r.UserName, mUser)
	w.scrub(&r.RuleName, 0)
	w.scrub(&r.EventAction, 0)
	for i := range r.Labels {
		w.scrub(&r.Labels[i].Value, 0)
	}
}

// minLeakLen: shorter identifiers ("a", "it") would match everywhere.
const minLeakLen = 3

// scrub replaces the raw identifiers in *p and reports whether it did; m
// is byteMask(*p) if known, else 0.
func (w *Worker) scrub(p *string, m uint64) bool {
	return len(*p) >= w.minRaw && w.scrubText(p, m)
}

// scrubPart is scrub for a text that needs no search if it lies in the
// memory of clean, a text that holds no identifier.
func (w *Worker) scrubPart(p *string, m uint64, clean string) {
	if !within(*p, clean) {
		w.scrub(p, m)
	}
}

// within reports whether s is a non-empty slice of t's memory.
func within(s, t string) bool {
	if s == "" || len(s) > len(t) {
		return false
	}
	ps, pt := uintptr(unsafe.Pointer(unsafe.StringData(s))), uintptr(unsafe.Pointer(unsafe.StringData(t)))
	return ps >= pt && ps-pt <= uintptr(len(t)-len(s))
}

// scrubText does scrub's work. Most text holds no identifier, and a short
// text that lacks a byte of an identifier cannot hold it: comparing byte
// masks rules most pairs out without a search. Long text (URLs) is
// searched directly, which is faster there than building its mask.
func (w *Worker) scrubText(p *string, m uint64) (replaced bool) {
	s := *p
	for i := range w.nReplaced {
		rp := &w.replaced[i]
		if len(rp.raw) < minLeakLen || len(rp.raw) > len(s) {
			continue
		}
		if m == 0 && len(s) <= maxMaskLen {
			m = byteMask(s)
		}
		if (m == 0 || rp.mask&^m == 0) && strings.Contains(s, rp.raw) {
			s = strings.ReplaceAll(s, rp.raw, rp.with)
			*p = s
			m, replaced = 0, true
		}
	}
	return replaced
}

// maxMaskLen is the longest text scrub builds a byte mask of.
const maxMaskLen = 64

// replace notes that raw was replaced by with in the record.
func (w *Worker) replace(raw, with string, mask uint64) {
	// Field by field: a struct literal is built on the stack and copied
	// with wide loads that stall on the narrow stores.
	rp := &w.replaced[w.nReplaced]
	rp.raw, rp.with, rp.mask = raw, with, mask
	w.nReplaced++
	if len(raw) >= minLeakLen && len(raw) < w.minRaw {
		w.minRaw = len(raw)
	}
}

// str applies act to *p and returns byteMask of the pseudonym it wrote, or
// 0.
func (w *Worker) str(act action, p *string) uint64 {
	if act == actKeep || *p == "" {
		return 0
	}
	return w.pseudoStr(act, p)
}

func (w *Worker) pseudoStr(act action, p *string) uint64 {
	v := *p
	if act == actDrop {
		*p = ""
		w.replace(v, "[dropped]", byteMask(v))
		return 0
	}
	kind := kindToken
	if act == actEncrypt {
		kind = kindEncrypt
	}
	t, rm, vm := w.strPseudonym(kind, v)
	*p = t
	w.replace(v, t, rm)
	return vm
}

func (w *Worker) addr(act action, a *netip.Addr, tok *string) {
	if act != actKeep && a.IsValid() {
		w.pseudoAddr(act, a, tok)
	}
}

func (w *Worker) pseudoAddr(act action, a *netip.Addr, tok *string) {
	if !w.a.allIPs && !IsInternal(*a) {
		return
	}
	if act == actDrop {
		var raw string
		if e := w.a.addrTokens.get(w.a.hs.hashAddr(*a), *a); e != nil {
			raw = e.raw()
		} else {
			raw = a.String()
		}
		*a = netip.Addr{}
		w.replace(raw, "[dropped]", byteMask(raw))
		return
	}
	kind := kindToken
	if act == actEncrypt {
		kind = kindEncrypt
	}
	raw, t, m := w.addrPseudonym(kind, *a)
	*tok = t
	*a = netip.Addr{}
	w.replace(raw, t, m)
}

// Token returns the token of v (for tests and tooling).
func (w *Worker) Token(v string) string {
	t, _, _ := w.strPseudonym(kindToken, v)
	return t
}

// strPseudonym returns the token or ciphertext of v and the byte masks
// of v and of the result.
func (w *Worker) strPseudonym(kind uint8, v string) (string, uint64, uint64) {
	h := w.a.hs.hashString(v)
	f := w.front
	if f == nil {
		f = w.takeFront()
	}
	if f == nil || len(v) > maxCachedKey {
		e := w.strEntry(kind, h, v)
		return e.v(), e.rawMask, e.vMask
	}
	f.lookups++
	set := f.set(h, kind)
	for way := range set {
		s := &set[way]
		if s.tag != uint32(h) || s.kind != kind || s.klen != uint8(len(v)) {
			continue
		}
		if len(v) <= frontKeyLen {
			if string(s.key[:len(v)]) != v {
				continue
			}
		} else if s.kv[:len(v)] != v {
			continue
		}
		t, rm, vm := s.kv[len(v):], s.rawMask, s.vMask
		if way == 1 {
			promote(set)
		}
		return t, rm, vm
	}
	e := w.strEntry(kind, h, v)
	f.missed()
	set = f.set(h, kind) // f may have grown
	s := fill(set, h, kind, e)
	copy(s.key[:], v)
	return e.v(), e.rawMask, e.vMask
}

// strEntry returns the shared cache entry of v, making it if needed.
func (w *Worker) strEntry(kind uint8, h uint64, v string) *cacheEntry[string] {
	c := &w.a.tokens
	if kind == kindEncrypt {
		c = &w.a.encs
	}
	if len(v) <= maxCachedKey {
		if e := c.get(h, v); e != nil {
			return e
		}
	}
	w.buf = append(w.buf[:0], v...)
	kv := w.pseudonymize(kind, w.buf)
	e := &cacheEntry[string]{h: h, k: kv[:len(v)], kv: kv, n: len(v)}
	e.rawMask, e.vMask = byteMask(e.raw()), byteMask(e.v())
	if len(v) <= maxCachedKey {
		c.put(e)
	}
	if cap(w.buf) > maxKeepBuf {
		w.buf = nil // a huge identifier: do not keep its buffer
	}
	return e
}

// maxCachedKey is the longest identifier the caches keep: a stream of huge
// ones must not fill memory (the front cache's klen is a byte, too).
const maxCachedKey = 0xff

// maxKeepBuf bounds the scratch buffer a Worker keeps between records.
const maxKeepBuf = 4 << 10

// addrPseudonym returns the text form of a, its token or ciphertext, and
// byteMask of the text. A hit costs neither the text form nor the MAC.
func (w *Worker) addrPseudonym(kind uint8, a netip.Addr) (raw, v string, rawMask uint64) {
	a16, is4 := a.As16(), a.Is4()
	h := w.a.hs.hashAddr(a)
	akind := kind | kindAddr6
	if is4 {
		akind = kind | kindAddr4
	}
	// A zone is not part of the front key: zoned addresses, which are
	// rare, go to the shared cache only.
	var f *front
	if is4 || a.WithZone("") == a {
		if f = w.front; f == nil {
			f = w.takeFront()
		}
	}
	if f != nil {
		f.lookups++
		set := f.set(h, akind)
		for way := range set {
			s := &set[way]
			if s.tag == uint32(h) && s.kind == akind && [16]byte(s.key[:16]) == a16 {
				raw, v, rawMask = s.kv[:s.klen], s.kv[s.klen:], s.rawMask
				if way == 1 {
					promote(set)
				}
				return raw, v, rawMask
			}
		}
	}
	c := &w.a.addrTokens
	if kind == kindEncrypt {
		c = &w.a.addrEncs
	}
	e := c.get(h, a)
	if e == nil {
		w.buf = a.AppendTo(w.buf[:0])
		n := len(w.buf)
		e = &cacheEntry[netip.Addr]{h: h, k: a, kv: w.pseudonymize(kind, w.buf), n: n}
		e.rawMask, e.vMask = byteMask(e.raw()), byteMask(e.v())
		c.put(e)
	}
	if f != nil {
		f.missed()
		s := fill(f.set(h, akind), h, akind, e)
		copy(s.key[:], a16[:])
	}
	return e.raw(), e.v(), e.rawMask
}

// pseudonymize returns text followed by its token (kindToken) or its
// ciphertext (kindEncrypt), in one string.
func (w *Worker) pseudonymize(kind uint8, text []byte) string {
	var b strings.Builder
	if kind == kindToken {
		// tok: + the first 12 bytes of the HMAC, base64url: 16 characters.
		w.mac.Reset()
		w.mac.Write(text)
		w.enc = w.mac.Sum(w.enc[:0])
		var t [16]byte
		base64.RawURLEncoding.Encode(t[:], w.enc[:12])
		b.Grow(len(text) + 4 + len(t))
		b.Write(text)
		b.WriteString("tok:")
		b.Write(t[:])
		return b.String()
	}
	// Deterministic authenticated encryption in the SIV style: the IV is
	// an HMAC of the plaintext, so equal values give equal ciphertexts and
	// any change is detected on decryption.
	w.siv.Reset()
	w.siv.Write(text)
	w.enc = w.siv.Sum(w.enc[:0])
	iv := w.enc[:aes.BlockSize]
	out := make([]byte, aes.BlockSize+len(text))
	copy(out, iv)
	cipher.NewCTR(w.a.block, iv).XORKeyStream(out[aes.BlockSize:], text)
	b.Grow(len(text) + 4 + base64.RawURLEncoding.EncodedLen(len(out)))
	b.Write(text)
	b.WriteString("enc:")
	w.enc = base64.RawURLEncoding.AppendEncode(w.enc[:0], out)
	b.Write(w.enc)
	return b.String()
}

// ErrNotEncrypted is returned by Decrypt for values that are not "enc:" tokens.
var ErrNotEncrypted = errors.New("not an encrypted value (only 'encrypt' fields can be reversed; 'token' is one-way)")

// Decrypt reverses an "enc:" value made with the same key.
func Decrypt(k *Key, token string) (string, error) {
	token = strings.TrimSpace(token)
	if !strings.HasPrefix(token, "enc:") {
		return "", ErrNotEncrypted
	}
	raw, err := base64.RawURLEncoding.DecodeString(token[4:])
	if err != nil || len(raw) < aes.BlockSize {
		return "", errors.New("malformed encrypted value")
	}
	blk, err := aes.NewCipher(k.encKey)
	if err != nil {
		return "", err
	}
	iv := raw[:aes.BlockSize]
	pt := make([]byte, len(raw)-aes.BlockSize)
	cipher.NewCTR(blk, iv).XORKeyStream(pt, raw[aes.BlockSize:])
	m := hmac.New(sha256.New, k.sivKey)
	m.Write(pt)
	if !hmac.Equal(m.Sum(nil)[:aes.BlockSize], iv) {
		return "", errors.New("value was not encrypted with this key (or was altered)")
	}
	return string(pt), nil
}

// IsInternal reports whether a is a private, CGNAT, ULA, loopback or
// link-local address: the addresses that identify people inside a site
// (10/8, 172.16/12, 192.168/16, 100.64/10, 127/8, 169.254/16, ::1,
// fe80::/10, and fc00::/7 without a zone, as netip.Prefix.Contains never
// matches a zoned address). An IPv4-mapped address counts as its IPv4
// address.
func IsInternal(a netip.Addr) bool {
	if a.Is4() || a.Is4In6() {
		b := a.As4()
		switch b[0] {
		case 10, 127:
			return true
		case 172:
			return b[1]&0xf0 == 16
		case 192:
			return b[1] == 168
		case 100:
			return b[1]&0xc0 == 64
		case 169:
			return b[1] == 254
		}
		return false
	}
	if !a.IsValid() {
		return false
	}
	b := a.As16()
	switch {
	case b[0] == 0xfe:
		return b[1]&0xc0 == 0x80
	case b[0]&0xfe == 0xfc:
		return a.WithZone("") == a
	}
	return a.IsLoopback()
}
