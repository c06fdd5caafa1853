package anonymize

import (
	"bytes"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cloudscout/cloudscout/parsers"
)

func testKey(t *testing.T) *Key {
	t.Helper()
	k, _, err := LoadOrCreateKey(filepath.Join(t.TempDir(), "key"))
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestKeyFileCreatedOnceWithMode0600(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "anonymize.key")
	k1, created, err := LoadOrCreateKey(path)
	if err != nil || !created {
		t.Fatalf("first load: created=%v err=%v", created, err)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Fatalf("mode %v, want 0600", st.Mode().Perm())
	}
	k2, created, err := LoadOrCreateKey(path)
	if err != nil || created {
		t.Fatalf("second load: created=%v err=%v", created, err)
	}
	a1, _ := New(k1, DefaultPolicy())
	a2, _ := New(k2, DefaultPolicy())
	if a1.NewWorker().Token("jdoe") != a2.NewWorker().Token("jdoe") {
		t.Fatal("tokens differ across restarts with the same key file")
	}
	if _, err := LoadKey(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Fatal("LoadKey of a missing file succeeded")
	}
	if err := os.WriteFile(path, []byte("zz"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadOrCreateKey(path); err == nil {
		t.Fatal("corrupt key accepted")
	}
}

func TestDefaultPolicy(t *testing.T) {
	a, err := New(testKey(t), DefaultPolicy())
	if err != nil {
		t.Fatal(err)
	}
	w := a.NewWorker()
	r := parsers.Record{
		UserName:      "jdoe",
		UserDomain:    "CORP",
		SourceIP:      netip.MustParseAddr("10.1.2.3"),
		DestinationIP: netip.MustParseAddr("203.0.113.9"),
		URLOriginal:   "http://example.com/login?user=jdoe&from=10.1.2.3",
		URLQuery:      "user=jdoe&from=10.1.2.3",
		SourceDomain:  "jdoe-laptop",
	}
	w.Apply(&r)
	if !strings.HasPrefix(r.UserName, "tok:") || r.UserName == "jdoe" {
		t.Fatalf("user not tokenized: %q", r.UserName)
	}
	if r.UserDomain != "CORP" {
		t.Fatalf("domain changed: %q", r.UserDomain)
	}
	if r.SourceIP.IsValid() || !strings.HasPrefix(r.SourceIPToken, "tok:") {
		t.Fatalf("internal source not tokenized: %v %q", r.SourceIP, r.SourceIPToken)
	}
	if r.DestinationIP.String() != "203.0.113.9" {
		t.Fatalf("destination changed: %v", r.DestinationIP)
	}
	js := r.AppendJSON(nil)
	for _, raw := range []string{"jdoe", "10.1.2.3"} {
		if bytes.Contains(js, []byte(raw)) {
			t.Fatalf("raw %q leaked: %s", raw, js)
		}
	}
	if !bytes.Contains(js, []byte(`"domain":"CORP"`)) {
		t.Fatalf("json: %s", js)
	}
}

func TestPublicSourceKeptUnlessAll(t *testing.T) {
	k := testKey(t)
	pub := netip.MustParseAddr("198.51.100.7")
	a, _ := New(k, DefaultPolicy())
	r := parsers.Record{SourceIP: pub}
	a.NewWorker().Apply(&r)
	if r.SourceIP != pub {
		t.Fatal("public source tokenized under internal scope")
	}
	p := DefaultPolicy()
	p.Addresses = "all"
	a, _ = New(k, p)
	r = parsers.Record{SourceIP: pub}
	a.NewWorker().Apply(&r)
	if r.SourceIP.IsValid() || r.SourceIPToken == "" {
		t.Fatal("public source kept under all scope")
	}
	for _, s := range []string{"10.0.0.1", "172.31.255.1", "192.168.1.1", "100.64.0.1", "fd00::1", "fe80::1", "127.0.0.1"} {
		if !IsInternal(netip.MustParseAddr(s)) {
			t.Errorf("%s not internal", s)
		}
	}
	for _, s := range []string{"8.8.8.8", "172.32.0.1", "100.128.0.1", "2001:db8::1"} {
		if IsInternal(netip.MustParseAddr(s)) {
			t.Errorf("%s internal", s)
		}
	}
}

func TestEncryptRoundTrip(t *testing.T) {
	k := testKey(t)
	p := DefaultPolicy().Merge(Policy{Fields: map[string]Action{UserName: Encrypt, SourceIP: Encrypt}})
	a, err := New(k, p)
	if err != nil {
		t.Fatal(err)
	}
	w := a.NewWorker()
	r := parsers.Record{UserName: "alice@corp.example", SourceIP: netip.MustParseAddr("192.168.7.7")}
	w.Apply(&r)
	if !strings.HasPrefix(r.UserName, "enc:") {
		t.Fatalf("not encrypted: %q", r.UserName)
	}
	got, err := Decrypt(k, r.UserName)
	if err != nil || got != "alice@corp.example" {
		t.Fatalf("decrypt = %q, %v", got, err)
	}
	got, err = Decrypt(k, r.SourceIPToken)
	if err != nil || got != "192.168.7.7" {
		t.Fatalf("decrypt ip = %q, %v", got, err)
	}
	// deterministic
	r2 := parsers.Record{UserName: "alice@corp.example"}
	a.NewWorker().Apply(&r2)
	if r2.UserName != r.UserName {
		t.Fatal("encryption not deterministic")
	}
	// another key cannot decrypt; tampering is detected; tokens are one-way
	if _, err := Decrypt(testKey(t), r.UserName); err == nil {
		t.Fatal("decrypted with the wrong key")
	}
	b := []byte(r.UserName)
	b[len(b)-2] ^= 1
	if _, err := Decrypt(k, string(b)); err == nil {
		t.Fatal("tampered value decrypted")
	}
	if _, err := Decrypt(k, "tok:abc"); err != ErrNotEncrypted {
		t.Fatalf("token: %v", err)
	}
}

func TestDropAndValidate(t *testing.T) {
	a, err := New(testKey(t), Policy{Fields: map[string]Action{UserName: Drop}})
	if err != nil {
		t.Fatal(err)
	}
	r := parsers.Record{UserName: "bob", URLOriginal: "http://x.example/?u=bob"}
	a.NewWorker().Apply(&r)
	if r.UserName != "" || strings.Contains(r.URLOriginal, "bob") {
		t.Fatalf("drop failed: %+v", r)
	}
	if err := (Policy{Fields: map[string]Action{"user.nmae": Token}}).Validate(); err == nil {
		t.Fatal("unknown field accepted")
	}
	if err := (Policy{Fields: map[string]Action{UserName: "hash"}}).Validate(); err == nil {
		t.Fatal("unknown action accepted")
	}
}
