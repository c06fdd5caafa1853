package file_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"strings"
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
