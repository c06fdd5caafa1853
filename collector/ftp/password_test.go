package ftp

import (
	"net"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/internal/fsutil"
)

func TestHashAndCheckPassword(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if err := validateHash(h); err != nil {
		t.Fatal(err)
	}
	if !CheckPassword(h, "correct horse") {
		t.Fatal("right password refused")
	}
	if CheckPassword(h, "correct horsE") || CheckPassword(h, "") {
		t.Fatal("wrong password accepted")
	}
	h2, _ := HashPassword("correct horse")
	if h2 == h {
		t.Fatal("salt not random")
	}
	b := fastHash(t, "pw")
	if !CheckPassword(b, "pw") || CheckPassword(b, "pW") {
		t.Fatal("bcrypt check wrong")
	}
	if CheckPassword(dummyHash, "") || validateHash(dummyHash) != nil {
		t.Fatal("dummy hash")
	}
	if _, err := HashPassword(""); err == nil {
		t.Fatal("empty password hashed")
	}
	for _, bad := range []string{
		"", "hunter2", "$argon2id$", "$argon2i$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$argon2id$v=19$m=99999999,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5", // 95 GiB
		"$argon2id$v=16$m=19456,t=2,p=1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5",
		"$2a$04$short",
	} {
		if validateHash(bad) == nil {
			t.Errorf("validateHash(%q) accepted", bad)
		}
		if CheckPassword(bad, "hunter2") {
			t.Errorf("CheckPassword(%q) matched", bad)
		}
	}
}

func TestTCPPeerGone(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	server, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer server.Close()
	sc := server.(*net.TCPConn)
	if tcpPeerGone(sc) {
		t.Fatal("live peer reported gone")
	}
	if _, err := client.Write([]byte("NOOP\r\n")); err != nil {
		t.Fatal(err)
	}
	// Pending data is not consumed by the peek and does not mean gone.
	waitFor(t, "data", 5*time.Second, func() bool { return !tcpPeerGone(sc) })
	buf := make([]byte, 6)
	if _, err := server.Read(buf); err != nil || string(buf) != "NOOP\r\n" {
		t.Fatalf("peek consumed data: %q %v", buf, err)
	}
	_ = client.Close()
	waitFor(t, "peer gone", 5*time.Second, func() bool { return tcpPeerGone(sc) })
}

func TestBanList(t *testing.T) {
	b := newBanList(3, time.Minute, time.Hour)
	now := time.Now()
	ip := net.ParseIP("192.0.2.1")
	for i := 0; i < 2; i++ {
		if b.fail(ip, now) {
			t.Fatal("banned too early")
		}
	}
	// Failures outside the window do not add up.
	if b.fail(ip, now.Add(2*time.Minute)) || b.banned(ip, now.Add(2*time.Minute)) {
		t.Fatal("window ignored")
	}
	b.fail(ip, now.Add(2*time.Minute))
	if !b.fail(ip, now.Add(2*time.Minute)) || !b.banned(ip, now.Add(3*time.Minute)) {
		t.Fatal("not banned after 3 failures in the window")
	}
	if b.banned(ip, now.Add(3*time.Hour)) {
		t.Fatal("ban did not expire")
	}
	// IPv6 addresses in one /64 share a ban.
	b6 := newBanList(1, time.Minute, time.Hour)
	b6.fail(net.ParseIP("2001:db8::1"), now)
	if !b6.banned(net.ParseIP("2001:db8::ffff"), now) || b6.banned(net.ParseIP("2001:db8:1::1"), now) {
		t.Fatal("IPv6 /64 grouping wrong")
	}
	// The tracker's memory is bounded.
	for i := 0; i < maxBanEntries+100; i++ {
		b.fail(net.IPv4(10, byte(i>>16), byte(i>>8), byte(i)), now)
	}
	if len(b.entries) > maxBanEntries {
		t.Fatalf("%d entries", len(b.entries))
	}
}

func TestNameVariant(t *testing.T) {
	for in, want := range map[string]string{
		"access.log":    "access~3.log",
		"access.log.gz": "access~3.log.gz",
		"access":        "access~3",
		".x.part":       ".x~3.part",
		".hidden":       ".hidden~3",
	} {
		if got := fsutil.NameVariant(in, 3); got != want {
			t.Errorf("fsutil.NameVariant(%q) = %q, want %q", in, got, want)
		}
	}
}
