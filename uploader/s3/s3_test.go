package s3_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cloudscout/cloudscout/uploader"
	"github.com/cloudscout/cloudscout/uploader/internal/uptest"
	_ "github.com/cloudscout/cloudscout/uploader/s3"
)

const bucket = "logs"

// fakeS3 is gofakes3 behind a wrapper that adds what v1.2.0 lacks
// (If-None-Match on CompleteMultipartUpload) and injects faults.
type fakeS3 struct {
	t       *testing.T
	backend *s3mem.Backend
	next    http.Handler
	srv     *httptest.Server

	mu          sync.Mutex
	reqs        []string // "METHOD path?query"
	headers     []http.Header
	dropPut     int // lose the reply of the next n single PUTs after storing
	failPart    int // answer 500 to the next n UploadPart requests for part 2
	precondFail int // 412 answers seen
	aborts      int
	lists       int
}

func newFakeS3(t *testing.T, opts ...gofakes3.Option) *fakeS3 {
	t.Helper()
	b := s3mem.New()
	if err := b.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	f := &fakeS3{t: t, backend: b, next: gofakes3.New(b, opts...).Server()}
	f.srv = httptest.NewServer(f)
	f.srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f.mu.Lock()
	f.reqs = append(f.reqs, r.Method+" "+r.URL.Path+"?"+r.URL.RawQuery)
	f.headers = append(f.headers, r.Header.Clone())
	if r.Method == http.MethodGet && (q.Has("list-type") || r.URL.Path == "/"+bucket || r.URL.Path == "/"+bucket+"/") {
		f.lists++
	}
	if r.Method == http.MethodDelete && q.Has("uploadId") {
		f.aborts++
	}
	failPart := r.Method == http.MethodPut && q.Get("partNumber") == "2" && f.failPart > 0
	if failPart {
		f.failPart--
	}
	drop := r.Method == http.MethodPut && !q.Has("partNumber") && f.dropPut > 0
	if drop {
		f.dropPut--
	}
	f.mu.Unlock()

	if failPart {
		_, _ = io.Copy(io.Discard, r.Body)
		http.Error(w, "<Error><Code>InternalError</Code><Message>injected</Message></Error>", http.StatusInternalServerError)
		return
	}
	// gofakes3 v1.2.0 honours If-None-Match on PutObject but not on
	// CompleteMultipartUpload; emulate S3 there.
	if r.Method == http.MethodPost && q.Has("uploadId") && r.Header.Get("If-None-Match") == "*" {
		key := strings.TrimPrefix(r.URL.Path, "/"+bucket+"/")
		if _, err := f.backend.HeadObject(bucket, key); err == nil {
			f.mu.Lock()
			f.precondFail++
			f.mu.Unlock()
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(http.StatusPreconditionFailed)
			io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message></Error>`)
			return
		}
	}
	rec := httptest.NewRecorder()
	f.next.ServeHTTP(rec, r)
	if rec.Code == http.StatusPreconditionFailed {
		f.mu.Lock()
		f.precondFail++
		f.mu.Unlock()
	}
	if drop {
		// The object is stored; the client never hears so.
		if c, _, err := http.NewResponseController(w).Hijack(); err == nil {
			c.Close()
		}
		return
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.WriteHeader(rec.Code)
	_, _ = w.Write(rec.Body.Bytes())
}

func (f *fakeS3) object(t *testing.T, key string) ([]byte, map[string]string) {
	t.Helper()
	obj, err := f.backend.GetObject(bucket, key, nil)
	if err != nil {
		t.Fatalf("get %s: %v", key, err)
	}
	defer obj.Contents.Close()
	b, err := io.ReadAll(obj.Contents)
	if err != nil {
		t.Fatal(err)
	}
	return b, obj.Metadata
}

func (f *fakeS3) keys(t *testing.T) []string {
	t.Helper()
	list, err := f.backend.ListBucket(bucket, nil, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	var keys []string
	for _, c := range list.Contents {
		keys = append(keys, c.Key)
	}
	return keys
}

func keyFiles(t *testing.T) (string, string) {
	dir := t.TempDir()
	ak, sk := filepath.Join(dir, "ak"), filepath.Join(dir, "sk")
	if err := os.WriteFile(ak, []byte("AKIDTEST\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sk, []byte("s3cr3t-KEY-value\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return ak, sk
}

func newSink(t *testing.T, f *fakeS3, o uploader.SinkOptions) uploader.Sink {
	t.Helper()
	o.Endpoint, o.PathStyle, o.Region = f.srv.URL, true, "us-east-1"
	if o.AccessKeyFile == "" {
		o.AccessKeyFile, o.SecretKeyFile = keyFiles(t)
	}
	s, err := uploader.NewSink("s3://"+bucket+"/cs/site1", o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func manifest(key string, body []byte) uploader.Manifest {
	sum := sha256.Sum256(body)
	return uploader.Manifest{Key: key, ID: "id-" + strings.ReplaceAll(key, "/", "-"), Collector: "c1", Source: "fw",
		Records: 5, Bytes: int64(len(body)), SHA256: hex.EncodeToString(sum[:]), Compression: "zstd",
		Sealed: time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)}
}

func runUploader(t *testing.T, q *uptest.Queue, sink uploader.Sink) (*uploader.Uploader, *prometheus.Registry) {
	t.Helper()
	reg := prometheus.NewRegistry()
	u, err := uploader.New(uploader.Config{Queue: q, Targets: []uploader.Target{{Name: "s3", Sink: sink}},
		StateDir: t.TempDir(), Interval: time.Hour, PollInterval: 10 * time.Millisecond,
		RetryBase: time.Millisecond, RetryMax: 20 * time.Millisecond, Registerer: reg, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- u.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	for !u.Status().Running {
		time.Sleep(time.Millisecond)
	}
	return u, reg
}

// trigger ships everything now. Tests check the target's pending count, not
// the result's own delivered count: the uploader's first pass at start may
// ship batches before the trigger begins.
func trigger(t *testing.T, u *uploader.Uploader) uploader.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res, err := u.Trigger(ctx)
	if err != nil {
		t.Fatalf("trigger: %v %+v", err, res)
	}
	return res
}

func TestObjectsUnderPrefix(t *testing.T) {
	f := newFakeS3(t)
	sink := newSink(t, f, uploader.SinkOptions{SSE: "AES256", ManifestMode: "sidecar"})
	q := uptest.NewQueue(t.TempDir())
	want := map[string][]byte{}
	for i := range 3 {
		body := bytes.Repeat([]byte(fmt.Sprintf(`{"n":%d}`+"\n", i)), 50)
		b := q.Add(fmt.Sprintf("c1/fw/2026/11/28/%06d.jsonl.zst", i), body, time.Now())
		want["cs/site1/"+b.Manifest.Key] = body
	}
	u, _ := runUploader(t, q, sink)
	if res := trigger(t, u); res.Targets[0].Pending != 0 || q.Len() != 0 {
		t.Fatalf("%+v", res)
	}
	for key, body := range want {
		got, meta := f.object(t, key)
		if !bytes.Equal(got, body) {
			t.Errorf("%s: content differs", key)
		}
		if meta["X-Amz-Meta-Cloudscout-Batch-Id"] == "" || meta["X-Amz-Meta-Cloudscout-Sha256"] == "" || meta["Content-Encoding"] != "zstd" {
			t.Errorf("%s: metadata %v", key, meta)
		}
		side, _ := f.object(t, key+".manifest.json")
		if !bytes.Contains(side, []byte(`"sha256"`)) {
			t.Errorf("%s: sidecar %s", key, side)
		}
	}
	if n := len(f.keys(t)); n != 6 {
		t.Fatalf("%d objects, want 3 batches + 3 sidecars", n)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for i, r := range f.reqs {
		h := f.headers[i]
		if strings.HasPrefix(r, "PUT ") {
			if h.Get("If-None-Match") != "*" || h.Get("X-Amz-Server-Side-Encryption") != "AES256" || h.Get("X-Amz-Checksum-Sha256") == "" {
				t.Errorf("%s: headers %v", r, h)
			}
			if strings.Contains(h.Get("Authorization"), "s3cr3t") {
				t.Error("secret key on the wire")
			}
		}
	}
	if f.lists != 0 {
		t.Errorf("the sink listed the bucket %d times", f.lists)
	}
}

// Putting the same key twice leaves one object and both calls succeed.
func TestConditionalWrite(t *testing.T) {
	f := newFakeS3(t)
	sink := newSink(t, f, uploader.SinkOptions{})
	body := []byte("same batch\n")
	m := manifest("c1/fw/x.jsonl.zst", body)
	for i := range 2 {
		if err := sink.Put(context.Background(), m.Key, bytes.NewReader(body), int64(len(body)), m); err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
	}
	if keys := f.keys(t); len(keys) != 1 || keys[0] != "cs/site1/c1/fw/x.jsonl.zst" {
		t.Fatalf("objects %v", keys)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.precondFail != 1 {
		t.Fatalf("second put was not refused by If-None-Match (412 seen %d times)", f.precondFail)
	}
}

// The store keeps the object but the reply is lost: the retry meets 412 and
// counts as success; one object.
func TestLostReply(t *testing.T) {
	f := newFakeS3(t)
	f.dropPut = 1
	sink := newSink(t, f, uploader.SinkOptions{})
	q := uptest.NewQueue(t.TempDir())
	body := []byte("lost reply batch\n")
	q.Add("c1/fw/lost.jsonl.zst", body, time.Now())
	u, reg := runUploader(t, q, sink)
	if res := trigger(t, u); res.Targets[0].Pending != 0 || q.Len() != 0 {
		t.Fatalf("%+v", res)
	}
	if keys := f.keys(t); len(keys) != 1 {
		t.Fatalf("objects %v", keys)
	}
	got, _ := f.object(t, "cs/site1/c1/fw/lost.jsonl.zst")
	if !bytes.Equal(got, body) {
		t.Fatalf("content %q", got)
	}
	f.mu.Lock()
	pf := f.precondFail
	f.mu.Unlock()
	if pf != 1 {
		t.Fatalf("retry did not meet 412 (seen %d)", pf)
	}
	mfs, _ := reg.Gather()
	var network float64
	for _, mf := range mfs {
		if mf.GetName() == "cloudscout_upload_failures_total" {
			for _, m := range mf.GetMetric() {
				for _, l := range m.GetLabel() {
					if l.GetName() == "class" && l.GetValue() == "network" {
						network += m.GetCounter().GetValue()
					}
				}
			}
		}
	}
	if network != 1 {
		t.Fatalf("network failures %v, want 1", network)
	}
}

// Big batches go up in parts, through the bandwidth limiter; a failed part
// aborts the upload; a repeat completes conditionally and counts as success.
func TestMultipart(t *testing.T) {
	f := newFakeS3(t)
	f.failPart = 1
	sink := newSink(t, f, uploader.SinkOptions{MultipartThreshold: 6 << 20, PartSize: 5 << 20, BandwidthLimit: 1 << 30})
	body := make([]byte, 11<<20+123)
	for i := range body {
		body[i] = byte(i * 7)
	}
	path := filepath.Join(t.TempDir(), "big")
	if err := os.WriteFile(path, body, 0o600); err != nil {
		t.Fatal(err)
	}
	m := manifest("c1/fw/big.jsonl.zst", body)
	put := func() error {
		fh, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		return sink.Put(context.Background(), m.Key, fh, int64(len(body)), m)
	}
	err := put()
	if err == nil {
		t.Fatal("injected part failure did not fail the upload")
	}
	if class, _ := uploader.Classify(err); class != "http_5xx" || uploader.IsPermanent(err) {
		t.Fatalf("part failure classified %s: %v", class, err)
	}
	if err := put(); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	got, meta := f.object(t, "cs/site1/"+m.Key)
	if !bytes.Equal(got, body) {
		t.Fatalf("multipart content differs (%d bytes)", len(got))
	}
	if meta["X-Amz-Meta-Cloudscout-Records"] != "5" {
		t.Fatalf("metadata %v", meta)
	}
	if err := put(); err != nil {
		t.Fatalf("repeat of a stored batch: %v", err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.aborts != 2 || f.precondFail != 1 {
		t.Fatalf("aborts %d (want failed + superseded), 412s %d", f.aborts, f.precondFail)
	}
	parts := 0
	for _, r := range f.reqs {
		if strings.HasPrefix(r, "PUT ") && strings.Contains(r, "partNumber=") {
			parts++
		}
	}
	if parts != 2+3+3 {
		t.Fatalf("%d part uploads, want 8", parts)
	}
	if keys := f.keys(t); len(keys) != 1 {
		t.Fatalf("objects %v", keys)
	}
}

// A plain reader without a known checksum still uploads (unsigned payload,
// parts buffered within part_size).
func TestUnseekableBody(t *testing.T) {
	f := newFakeS3(t)
	sink := newSink(t, f, uploader.SinkOptions{MultipartThreshold: 5 << 20, PartSize: 5 << 20})
	small := []byte("no checksum known\n")
	if err := sink.Put(context.Background(), "a/small", struct{ io.Reader }{bytes.NewReader(small)}, int64(len(small)), uploader.Manifest{Key: "a/small"}); err != nil {
		t.Fatal(err)
	}
	big := bytes.Repeat([]byte("z"), 6<<20)
	if err := sink.Put(context.Background(), "a/big", struct{ io.Reader }{bytes.NewReader(big)}, int64(len(big)), uploader.Manifest{Key: "a/big"}); err != nil {
		t.Fatal(err)
	}
	if got, _ := f.object(t, "cs/site1/a/big"); !bytes.Equal(got, big) {
		t.Fatal("big content differs")
	}
	if got, _ := f.object(t, "cs/site1/a/small"); !bytes.Equal(got, small) {
		t.Fatal("small content differs")
	}
}

func TestClockSkewAndCredentials(t *testing.T) {
	f := newFakeS3(t, gofakes3.WithTimeSource(gofakes3.FixedTimeSource(time.Now().Add(2*time.Hour))))
	ak, sk := keyFiles(t)
	skewed := newSink(t, f, uploader.SinkOptions{AccessKeyFile: ak, SecretKeyFile: sk})
	f2 := newFakeS3(t)
	ak2, sk2 := keyFiles(t)
	noKeys := newSink(t, f2, uploader.SinkOptions{AccessKeyFile: ak2, SecretKeyFile: sk2})
	if err := os.Remove(sk2); err != nil {
		t.Fatal(err)
	}
	res := uploader.TestTargets(context.Background(), "c1", []uploader.Target{
		{Name: "skewed", Sink: skewed}, {Name: "nokeys", Sink: noKeys},
	})
	for _, r := range res {
		t.Logf("%s: ok=%v class=%s %s", r.Target, r.OK, r.Class, r.Explanation)
		if strings.Contains(r.Error+r.Explanation, "s3cr3t") {
			t.Errorf("%s: secret key leaked", r.Target)
		}
	}
	if res[0].OK || res[0].Class != "auth" || !strings.Contains(res[0].Explanation, "clock skew") {
		t.Errorf("skew: %+v", res[0])
	}
	if res[1].OK || res[1].Class != "auth" || !strings.Contains(res[1].Explanation, "credentials could not be read") {
		t.Errorf("missing key file: %+v", res[1])
	}
}

func TestRejectsBadConfig(t *testing.T) {
	for _, c := range []struct {
		url string
		o   uploader.SinkOptions
	}{
		{"s3://", uploader.SinkOptions{}},
		{"s3://b/p?x=1", uploader.SinkOptions{}},
		{"s3://b/p", uploader.SinkOptions{SSE: "DES"}},
		{"s3://b/p", uploader.SinkOptions{SSEKMSKeyID: "k"}},
		{"s3://b/p", uploader.SinkOptions{AccessKeyFile: "/nonexistent/ak", SecretKeyFile: "/nonexistent/sk"}},
		{"s3://b/p", uploader.SinkOptions{AccessKeyFile: "/x"}},
		{"s3://b/p", uploader.SinkOptions{PartSize: 1 << 20}},
		{"s3://b/../p", uploader.SinkOptions{}},
	} {
		if _, err := uploader.NewSink(c.url, c.o); err == nil {
			t.Errorf("%s %+v accepted", c.url, c.o)
		}
	}
}
