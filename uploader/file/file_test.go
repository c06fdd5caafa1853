package file_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/uploader"
	"github.com/cloudscout/cloudscout/uploader/file"
)

func manifest(key string, body []byte) uploader.Manifest {
	sum := sha256.Sum256(body)
	return uploader.Manifest{Key: key, ID: "id-" + key, Bytes: int64(len(body)), SHA256: hex.EncodeToString(sum[:]),
		Records: 2, Sealed: time.Date(2026, 11, 28, 9, 15, 0, 0, time.UTC)}
}

func TestRoundTripAndOverwrite(t *testing.T) {
	dir := t.TempDir()
	s, err := uploader.NewSink("file://"+filepath.ToSlash(dir), uploader.SinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := "c1/fw/2026/11/28/000042.jsonl.zst"
	for _, body := range [][]byte{[]byte("first\n"), []byte("second version\n")} {
		m := manifest(key, body)
		if err := s.Put(context.Background(), key, bytes.NewReader(body), int64(len(body)), m); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)))
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("batch content %q %v", got, err)
		}
		var back uploader.Manifest
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(key)) + ".manifest.json")
		if err != nil || json.Unmarshal(data, &back) != nil || back.SHA256 != m.SHA256 || !back.Sealed.Equal(m.Sealed) {
			t.Fatalf("manifest %s %v", data, err)
		}
	}
	// Overwriting left exactly the two files, no temp leftovers.
	entries, err := os.ReadDir(filepath.Join(dir, "c1/fw/2026/11/28"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if strings.Join(names, ",") != "000042.jsonl.zst,000042.jsonl.zst.manifest.json" {
		t.Fatalf("files: %v", names)
	}
}

func TestRelativeURL(t *testing.T) {
	wd := t.TempDir()
	t.Chdir(wd)
	s, err := uploader.NewSink("file://./out/batches", uploader.SinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if s.String() != "file://"+filepath.ToSlash(filepath.Join(wd, "out/batches")) {
		t.Fatalf("resolved to %s", s)
	}
	body := []byte("x")
	if err := s.Put(context.Background(), "k", bytes.NewReader(body), 1, manifest("k", body)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(wd, "out", "batches", "k")); err != nil {
		t.Fatal(err)
	}
}

func TestRejects(t *testing.T) {
	for _, raw := range []string{"file://host/x", "file:///x?y=1", "file://"} {
		u, _ := url.Parse(raw)
		if _, err := file.New(u, uploader.SinkOptions{}); err == nil {
			t.Errorf("%s accepted", raw)
		}
	}
	dir := t.TempDir()
	u, _ := url.Parse("file://" + filepath.ToSlash(dir))
	s, err := file.New(u, uploader.SinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Put(context.Background(), "../x", bytes.NewReader(nil), 0, uploader.Manifest{}); !uploader.IsPermanent(err) {
		t.Fatalf("escaping key: %v", err)
	}
	body := []byte("damaged")
	m := manifest("k", []byte("original"))
	m.Bytes = int64(len(body))
	if err := s.Put(context.Background(), "k", bytes.NewReader(body), int64(len(body)), m); !uploader.IsPermanent(err) {
		t.Fatalf("sha mismatch: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "k")); !os.IsNotExist(err) {
		t.Fatalf("damaged batch was stored: %v", err)
	}
	if err := s.Put(context.Background(), "k", bytes.NewReader([]byte("short")), 10, uploader.Manifest{}); err == nil || uploader.IsPermanent(err) {
		t.Fatalf("short body: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("leftovers: %v", entries)
	}
}

// verifiedBody is a body its queue claims to have checked. Its Read fails,
// so a Put that succeeds must have copied from the file.
type verifiedBody struct {
	f    *os.File
	sha  string
	size int64
	read bool // Read works
}

var _ uploader.VerifiedFile = (*verifiedBody)(nil)

func (b *verifiedBody) Read(p []byte) (int, error) {
	if !b.read {
		return 0, errors.New("read through the body")
	}
	return b.f.Read(p)
}
func (b *verifiedBody) Close() error                            { return b.f.Close() }
func (b *verifiedBody) VerifiedFile() (*os.File, string, int64) { return b.f, b.sha, b.size }

// openVerified writes body to a file and opens it as a verified body.
func openVerified(t *testing.T, body []byte) *verifiedBody {
	t.Helper()
	p := filepath.Join(t.TempDir(), "batch")
	if err := os.WriteFile(p, body, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(p)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = f.Close() })
	sum := sha256.Sum256(body)
	return &verifiedBody{f: f, sha: hex.EncodeToString(sum[:]), size: int64(len(body))}
}

func bigBody(n int) []byte {
	b := make([]byte, 0, n)
	for i := 0; len(b) < n; i++ {
		b = fmt.Appendf(b, "{\"n\":%d,\"pad\":\"%x\"}\n", i, sha256.Sum256([]byte{byte(i), byte(i >> 8)}))
	}
	return b[:n]
}

// TestVerifiedBodyCopiedFromFile: a verified body is copied from its file
// (not read through the body), landed like any other, and replaced on a
// second Put.
func TestVerifiedBodyCopiedFromFile(t *testing.T) {
	dir := t.TempDir()
	u, _ := url.Parse("file://" + filepath.ToSlash(dir))
	s, err := file.New(u, uploader.SinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	key := "c1/fw/2026/11/28/000043.jsonl.zst"
	dst := filepath.Join(dir, filepath.FromSlash(key))
	for _, n := range []int{3 << 20, 1000} { // the second, shorter, replaces the first
		body := bigBody(n)
		vb := openVerified(t, body)
		m := manifest(key, body)
		if err := s.Put(context.Background(), key, vb, int64(len(body)), m); err != nil {
			t.Fatalf("Put: %v", err)
		}
		got, err := os.ReadFile(dst)
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("stored %d bytes (%v), want %d", len(got), err, len(body))
		}
		fi, err := os.Stat(dst)
		if err != nil || fi.Mode().Perm() != 0o644 {
			t.Errorf("mode %v (%v)", fi.Mode(), err)
		}
		var back uploader.Manifest
		data, err := os.ReadFile(dst + ".manifest.json")
		if err != nil || json.Unmarshal(data, &back) != nil || back.SHA256 != m.SHA256 {
			t.Fatalf("manifest %s %v", data, err)
		}
	}
	if names := dirList(t, filepath.Dir(dst)); strings.Join(names, ",") != "000043.jsonl.zst,000043.jsonl.zst.manifest.json" {
		t.Fatalf("files: %v", names)
	}
}

// TestVerifiedBodyMismatch: a body verified against another SHA-256 or size
// than the one declared is not trusted: it is hashed as it is read and, if
// it differs, refused for good; a file shorter than verified is an error.
// Nothing is stored either way.
func TestVerifiedBodyMismatch(t *testing.T) {
	dir := t.TempDir()
	u, _ := url.Parse("file://" + filepath.ToSlash(dir))
	s, err := file.New(u, uploader.SinkOptions{})
	if err != nil {
		t.Fatal(err)
	}
	damaged := []byte("damaged body\n")
	vb := openVerified(t, damaged) // verified as what it is
	vb.read = true
	m := manifest("k", []byte("original body\n")) // declared as something else
	if err := s.Put(context.Background(), "k", vb, int64(len(damaged)), m); !uploader.IsPermanent(err) {
		t.Errorf("body verified against another sha256: %v", err)
	}

	body := []byte("complete body\n")
	short := openVerified(t, body[:5])
	short.sha, short.size = manifest("k", body).SHA256, int64(len(body)) // a stale claim
	if err := s.Put(context.Background(), "k", short, int64(len(body)), manifest("k", body)); err == nil || uploader.IsPermanent(err) {
		t.Errorf("file shorter than verified: %v", err)
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Put(ctx, "k", openVerified(t, body), int64(len(body)), manifest("k", body)); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("stored or left over: %v", entries)
	}
}

// TestLimitedVerifiedBody: behind a bandwidth limit the body is no longer a
// verified file (the limit must apply), so it is read and hashed.
func TestLimitedVerifiedBody(t *testing.T) {
	dir := t.TempDir()
	s, err := uploader.NewSink("file://"+filepath.ToSlash(dir), uploader.SinkOptions{BandwidthLimit: 1 << 30})
	if err != nil {
		t.Fatal(err)
	}
	body := bigBody(100 << 10)
	vb := openVerified(t, body)
	if err := s.Put(context.Background(), "k", vb, int64(len(body)), manifest("k", body)); err == nil {
		t.Fatal("a limited sink copied from the file, bypassing the limit")
	}
	vb = openVerified(t, body)
	vb.read = true
	if err := s.Put(context.Background(), "k", vb, int64(len(body)), manifest("k", body)); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(filepath.Join(dir, "k")); err != nil || !bytes.Equal(got, body) {
		t.Fatalf("stored %d bytes (%v)", len(got), err)
	}
}

func dirList(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func cpuNanos(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// BenchmarkPut stores an 8 MiB batch from a file, as a plain *os.File
// (hash: read, hashed and written through user space, the only path before
// session 10) and as a body its queue verified (verified: copy_file_range,
// no hash). The wall time is mostly fsyncs; cpu-ns/op is what differs.
func BenchmarkPut(b *testing.B) {
	body := bigBody(8 << 20)
	src := filepath.Join(b.TempDir(), "batch")
	if err := os.WriteFile(src, body, 0o600); err != nil {
		b.Fatal(err)
	}
	sum := sha256.Sum256(body)
	m := uploader.Manifest{Key: "c1/fw/k.jsonl.zst", ID: "id", Bytes: int64(len(body)), SHA256: hex.EncodeToString(sum[:])}
	for _, mode := range []string{"hash", "verified"} {
		b.Run(mode, func(b *testing.B) {
			dir := b.TempDir()
			u, _ := url.Parse("file://" + filepath.ToSlash(dir))
			s, err := file.New(u, uploader.SinkOptions{})
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(body)))
			cpu0 := cpuNanos(b)
			for b.Loop() {
				f, err := os.Open(src)
				if err != nil {
					b.Fatal(err)
				}
				var r io.Reader = f
				if mode == "verified" {
					r = &verifiedBody{f: f, sha: m.SHA256, size: m.Bytes}
				}
				if err := s.Put(context.Background(), m.Key, r, m.Bytes, m); err != nil {
					b.Fatal(err)
				}
				_ = f.Close()
			}
			b.ReportMetric(float64(cpuNanos(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}
