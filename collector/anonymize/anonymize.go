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
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"

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

// Anonymizer applies one policy with one key. It is immutable and shared;
// each goroutine takes its own Worker.
type Anonymizer struct {
	key    *Key
	policy Policy
	allIPs bool
	block  cipher.Block
	// resolved actions, indexed like fieldNames
	act [11]Action
	// results shared by all workers
	tokens, encs         *cache[string]
	addrTokens, addrEncs *cache[netip.Addr]
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
		tokens: newStringCache(), encs: newStringCache(), addrTokens: newAddrCache(), addrEncs: newAddrCache()}
	for i, f := range fieldNames {
		a.act[i] = Keep
		if v, ok := p.Fields[f]; ok {
			a.act[i] = v
		}
	}
	return a, nil
}

// Policy returns the policy in force.
func (a *Anonymizer) Policy() Policy { return a.policy }

// Worker pseudonymizes records for one goroutine, reusing its HMAC state;
// results are remembered in the Anonymizer's shared caches (the same users
// and hosts repeat).
type Worker struct {
	a   *Anonymizer
	mac hash.Hash
	siv hash.Hash
	// raw identifiers replaced in the current record, for the leak scan
	replaced []replacement
	buf      []byte
}

type replacement struct{ raw, with string }

// NewWorker returns a Worker; it is not safe for concurrent use.
func (a *Anonymizer) NewWorker() *Worker {
	return &Worker{a: a, mac: hmac.New(sha256.New, a.key.token), siv: hmac.New(sha256.New, a.key.sivKey)}
}

// Apply pseudonymizes r in place according to the policy, then replaces
// any raw identifier it pseudonymized wherever else it appears in the record
// (URL, query, referrer, labels...), so it cannot leak through another field.
func (w *Worker) Apply(r *parsers.Record) {
	w.replaced = w.replaced[:0]
	// user.name first: the raw name is also searched in the other fields.
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

// minLeakLen: shorter identifiers ("a", "it") would match everywhere.
const minLeakLen = 3

func (w *Worker) scrub(p *string) {
	if *p == "" {
		return
	}
	for _, rp := range w.replaced {
		if len(rp.raw) >= minLeakLen && strings.Contains(*p, rp.raw) {
			*p = strings.ReplaceAll(*p, rp.raw, rp.with)
		}
	}
}

func (w *Worker) str(i int, p *string) {
	v := *p
	if v == "" {
		return
	}
	switch w.a.act[i] {
	case Keep:
		return
	case Drop:
		*p = ""
		w.replaced = append(w.replaced, replacement{v, "[dropped]"})
	case Token:
		*p = w.token(v)
		w.replaced = append(w.replaced, replacement{v, *p})
	case Encrypt:
		*p = w.encrypt(v)
		w.replaced = append(w.replaced, replacement{v, *p})
	}
}

func (w *Worker) addr(i int, a *netip.Addr, tok *string) {
	if !a.IsValid() {
		return
	}
	act := w.a.act[i]
	if act == Keep || (!w.a.allIPs && !IsInternal(*a)) {
		return
	}
	// Cached by address: a hit costs neither the text form nor the MAC.
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
		w.replaced = append(w.replaced, replacement{raw, "[dropped]"})
		return
	}
	w.replaced = append(w.replaced, replacement{raw, *tok})
}

// Token returns the token of v (for tests and tooling).
func (w *Worker) Token(v string) string { return w.token(v) }

func (w *Worker) token(v string) string {
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

// encrypt is deterministic authenticated encryption in the SIV style: the IV
// is an HMAC of the plaintext, so equal values give equal ciphertexts and
// any change is detected on decryption.
func (w *Worker) encrypt(v string) string {
	if e, ok := w.a.encs.get(v); ok {
		return e.v
	}
	w.siv.Reset()
	w.siv.Write([]byte(v))
	iv := w.siv.Sum(nil)[:aes.BlockSize]
	out := make([]byte, aes.BlockSize+len(v))
	copy(out, iv)
	cipher.NewCTR(w.a.block, iv).XORKeyStream(out[aes.BlockSize:], []byte(v))
	t := "enc:" + base64.RawURLEncoding.EncodeToString(out)
	w.a.encs.put(v, "", t)
	return t
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

var internalPrefixes = []netip.Prefix{
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT
	netip.MustParsePrefix("fc00::/7"),      // ULA
}

// IsInternal reports whether a is a private, CGNAT, ULA, loopback or
// link-local address: the addresses that identify people inside a site.
func IsInternal(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsLinkLocalUnicast() {
		return true
	}
	for _, p := range internalPrefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
