package https_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cloudscout/cloudscout/uploader"
	_ "github.com/cloudscout/cloudscout/uploader/https"
	"github.com/cloudscout/cloudscout/uploader/internal/uptest"
)

const token = "tok-7f3a9c-SECRET"

// receiver is a batch-receiving service: it stores each Idempotency-Key
// once, as a real service would, and misbehaves on request per a plan.
type receiver struct {
	t *testing.T

	mu      sync.Mutex
	stored  map[string][]byte // Idempotency-Key -> body
	stores  map[string]int    // how often each key was written
	dups    int
	reqs    int
	times   []time.Time
	plan    map[int]string // request number -> fault
	reject  func(r *http.Request) bool
	badAuth int
}

func newReceiver(t *testing.T, plan map[int]string) *receiver {
	return &receiver{t: t, stored: map[string][]byte{}, stores: map[string]int{}, plan: plan}
}

func (rv *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rv.mu.Lock()
	n := rv.reqs
	rv.reqs++
	rv.times = append(rv.times, time.Now())
	fault := rv.plan[n]
	reject := rv.reject != nil && rv.reject(r)
	rv.mu.Unlock()

	if r.Header.Get("Authorization") != "Bearer "+token {
		rv.mu.Lock()
		rv.badAuth++
		rv.mu.Unlock()
		http.Error(w, "bad token", http.StatusUnauthorized)
		return
	}
	switch fault {
	case "503":
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	case "429":
		w.Header().Set("Retry-After", "1")
		http.Error(w, "slow down", http.StatusTooManyRequests)
		return
	case "cut":
		// Read a little of the body, then drop the connection.
		_, _ = io.ReadFull(r.Body, make([]byte, 4))
		hijackClose(w)
		return
	case "slow":
		// Consume the body so the server notices when the client gives up.
		_, _ = io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done():
		case <-time.After(5 * time.Second):
		}
		// Never answer: returning would send an implicit 200, and under load
		// the context was seen to end while the client still waited (the
		// batch then counted as delivered, never stored: 2 runs in 100).
		hijackClose(w)
		return
	}
	if reject {
		http.Error(w, `{"error":"schema violation"}`, http.StatusBadRequest)
		return
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	sum := sha256.Sum256(body)
	if want := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"; r.Header.Get("Content-Digest") != want {
		http.Error(w, "digest mismatch", http.StatusBadRequest)
		return
	}
	id := r.Header.Get("Idempotency-Key")
	if id == "" || r.Header.Get("X-CloudScout-Batch-Id") != id || r.Header.Get("X-CloudScout-Sha256") == "" {
		http.Error(w, "missing manifest headers", http.StatusBadRequest)
		return
	}
	rv.mu.Lock()
	if _, ok := rv.stored[id]; ok {
		rv.dups++
	} else {
		rv.stored[id] = body
		rv.stores[id]++
	}
	rv.mu.Unlock()
	if fault == "lost" {
		// Stored, but the reply never arrives.
		hijackClose(w)
		return
	}
	w.WriteHeader(http.StatusCreated)
}

func hijackClose(w http.ResponseWriter) {
	c, _, err := http.NewResponseController(w).Hijack()
	if err == nil {
		c.Close()
	}
}

// tlsServer starts h with a certificate from ca on 127.0.0.1 (or on ln).
func tlsServer(t *testing.T, ca *uptest.CA, h http.Handler, ln net.Listener) *httptest.Server {
	t.Helper()
	srv := httptest.NewUnstartedServer(h)
	if ln != nil {
		srv.Listener.Close()
		srv.Listener = ln
	}
	srv.TLS = ca.ServerTLS(t)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // handshake failures are the point of some tests
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return srv
}

func tokenFile(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(p, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type run struct {
	u      *uploader.Uploader
	q      *uptest.Queue
	reg    *prometheus.Registry
	cancel context.CancelFunc
	done   chan error
}

func startUploader(t *testing.T, q *uptest.Queue, state string, log zerolog.Logger, targets ...uploader.Target) *run {
	t.Helper()
	r := &run{q: q, reg: prometheus.NewRegistry(), done: make(chan error, 1)}
	u, err := uploader.New(uploader.Config{
		Queue: q, Targets: targets, StateDir: state, Interval: time.Hour, PollInterval: 10 * time.Millisecond,
		RetryBase: time.Millisecond, RetryMax: 20 * time.Millisecond, Registerer: r.reg, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.u = u
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- u.Run(ctx) }()
	t.Cleanup(r.stop)
	deadline := time.Now().Add(5 * time.Second)
	for !u.Status().Running {
		if time.Now().After(deadline) {
			t.Fatal("uploader did not start")
		}
		time.Sleep(time.Millisecond)
	}
	return r
}

func (r *run) stop() {
	if r.cancel != nil {
		r.cancel()
		<-r.done
		r.cancel = nil
	}
}

func (r *run) trigger(t *testing.T, d time.Duration) (uploader.Result, error) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	return r.u.Trigger(ctx)
}

func failures(t *testing.T, reg *prometheus.Registry, target, class string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "cloudscout_upload_failures_total" {
			continue
		}
		for _, m := range mf.GetMetric() {
			l := map[string]string{}
			for _, lp := range m.GetLabel() {
				l[lp.GetName()] = lp.GetValue()
			}
			if l["target"] == target && l["class"] == class {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// Every fault a network can produce, and still each batch arrives exactly
// once at a receiver that deduplicates by Idempotency-Key.
func TestFaultyReceiver(t *testing.T) {
	ca := uptest.NewCA(t, "test-ca")
	rv := newReceiver(t, map[int]string{0: "503", 1: "503", 2: "503", 3: "429", 4: "cut", 5: "slow", 6: "lost"})
	srv := tlsServer(t, ca, rv, nil)
	var logs syncBuffer
	log := zerolog.New(&logs).Level(zerolog.DebugLevel)
	sink, err := uploader.NewSink(srv.URL+"/ingest", uploader.SinkOptions{
		CAFile: ca.WriteFile(t, t.TempDir()), TokenFile: tokenFile(t), Timeout: 500 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sink.String(), token) {
		t.Fatal("String leaks the token")
	}
	q := uptest.NewQueue(t.TempDir())
	want := map[string][]byte{}
	for i := range 6 {
		body := bytes.Repeat([]byte(fmt.Sprintf("record %d\n", i)), 100)
		b := q.Add(fmt.Sprintf("c1/fw/2026/11/28/%06d.jsonl.zst", i), body, time.Now())
		want[b.Manifest.ID] = body
	}
	r := startUploader(t, q, t.TempDir(), log, uploader.Target{Name: "recv", Sink: sink})
	res, err := r.trigger(t, 30*time.Second)
	if err != nil {
		t.Fatalf("trigger: %v %+v", err, res)
	}
	// Pending, not the trigger's own count: the uploader's first pass at
	// start may ship batches before the trigger begins.
	if res.Targets[0].Pending != 0 || q.Len() != 0 {
		t.Fatalf("result %+v, %d left", res, q.Len())
	}
	rv.mu.Lock()
	defer rv.mu.Unlock()
	if len(rv.stored) != len(want) {
		t.Fatalf("stored %d distinct batches, want %d (%d requests, %d dups); uploader log:\n%s",
			len(rv.stored), len(want), rv.reqs, rv.dups, logs.String())
	}
	for id, body := range want {
		if !bytes.Equal(rv.stored[id], body) {
			t.Errorf("batch %s missing or different", id)
		}
		if rv.stores[id] != 1 {
			t.Errorf("batch %s stored %d times", id, rv.stores[id])
		}
	}
	if rv.dups < 1 {
		t.Errorf("the lost reply was never retried (dups=%d)", rv.dups)
	}
	if rv.badAuth != 0 {
		t.Errorf("%d requests without the token", rv.badAuth)
	}
	if gap := rv.times[4].Sub(rv.times[3]); gap < 950*time.Millisecond {
		t.Errorf("Retry-After: 1 not honoured, next request after %s", gap)
	}
	for class, min := range map[string]float64{"http_5xx": 3, "http_4xx": 1, "network": 2, "timeout": 1} {
		if got := failures(t, r.reg, "recv", class); got < min {
			t.Errorf("failures{class=%s} = %v, want >= %v", class, got, min)
		}
	}
	r.stop()
	st, _ := json.Marshal(r.u.Status())
	if strings.Contains(logs.String(), token) || strings.Contains(string(st), token) {
		t.Fatal("the token appears in logs or status")
	}
	if !strings.Contains(logs.String(), "upload failed, will retry") {
		t.Fatal("failures were not logged")
	}
}

// A 400 sends the batch to the dead-letter folder; after the receiver is
// fixed, Requeue sends it again.
func TestRejectedBatchRequeued(t *testing.T) {
	ca := uptest.NewCA(t, "test-ca")
	rv := newReceiver(t, nil)
	var mu sync.Mutex
	strict := true
	rv.reject = func(r *http.Request) bool {
		mu.Lock()
		defer mu.Unlock()
		return strict && strings.Contains(r.URL.Path, "bad")
	}
	srv := tlsServer(t, ca, rv, nil)
	sink, err := uploader.NewSink(srv.URL+"/ingest/", uploader.SinkOptions{CAFile: ca.WriteFile(t, t.TempDir()), TokenFile: tokenFile(t)})
	if err != nil {
		t.Fatal(err)
	}
	q := uptest.NewQueue(t.TempDir())
	state := t.TempDir()
	bad := q.Add("c1/fw/bad.jsonl.zst", []byte("{broken"), time.Now())
	good := q.Add("c1/fw/good.jsonl.zst", []byte("{}\n"), time.Now())
	r := startUploader(t, q, state, zerolog.Nop(), uploader.Target{Name: "recv", Sink: sink})
	res, err := r.trigger(t, 10*time.Second)
	// The dead letter is checked below (reject.json) and the good batch in
	// the receiver: the trigger's own counts may miss what the first pass did.
	if err != nil || res.Targets[0].Pending != 0 || q.Len() != 0 {
		t.Fatalf("%v %+v", err, res)
	}
	rej, err := os.ReadFile(filepath.Join(state, "deadletter", "recv", bad.Manifest.ID, "reject.json"))
	if err != nil || !strings.Contains(string(rej), "schema violation") || !strings.Contains(string(rej), `"status": 400`) {
		t.Fatalf("reject.json %s %v", rej, err)
	}
	rv.mu.Lock()
	goodBody := string(rv.stored[good.Manifest.ID])
	rv.mu.Unlock()
	if goodBody != "{}\n" {
		t.Fatalf("good batch stored as %q", goodBody)
	}
	r.stop()

	mu.Lock()
	strict = false
	mu.Unlock()
	n, err := uploader.Requeue(state)
	if err != nil || n != 1 {
		t.Fatalf("requeue %d %v", n, err)
	}
	startUploader(t, q, state, zerolog.Nop(), uploader.Target{Name: "recv", Sink: sink})
	deadline := time.Now().Add(10 * time.Second)
	for {
		rv.mu.Lock()
		got := rv.stored[bad.Manifest.ID]
		rv.mu.Unlock()
		if string(got) == "{broken" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("requeued batch never arrived")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// One target refuses connections: the other gets every batch once, and the
// batches stay in the spool until the first one comes back.
func TestOneTargetDown(t *testing.T) {
	ca := uptest.NewCA(t, "test-ca")
	caFile := ca.WriteFile(t, t.TempDir())
	hold, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	downAddr := hold.Addr().String()
	hold.Close() // now refused
	down, err := uploader.NewSink("https://"+downAddr+"/in", uploader.SinkOptions{CAFile: caFile, TokenFile: tokenFile(t)})
	if err != nil {
		t.Fatal(err)
	}
	goodRecv := newReceiver(t, nil)
	goodSrv := tlsServer(t, ca, goodRecv, nil)
	good, err := uploader.NewSink(goodSrv.URL+"/in", uploader.SinkOptions{CAFile: caFile, TokenFile: tokenFile(t)})
	if err != nil {
		t.Fatal(err)
	}
	q := uptest.NewQueue(t.TempDir())
	for i := range 3 {
		q.Add(fmt.Sprintf("k/%d", i), []byte(fmt.Sprintf("b%d", i)), time.Now())
	}
	r := startUploader(t, q, t.TempDir(), zerolog.Nop(),
		uploader.Target{Name: "down", Sink: down}, uploader.Target{Name: "good", Sink: good})
	// The down target holds the trigger to its deadline. The good one ships
	// on regardless (also before the trigger: the first pass at start), so
	// its three deliveries are awaited on their own, not within the trigger.
	res, err := r.trigger(t, time.Second)
	if err == nil || res.Targets[0].Pending != 3 ||
		res.Targets[0].Class != "network" || !strings.Contains(res.Targets[0].Explanation, "connection refused") {
		t.Fatalf("%v %+v", err, res)
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		goodRecv.mu.Lock()
		n := len(goodRecv.stored)
		goodRecv.mu.Unlock()
		if n == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("good target: %d of 3 batches after 20 s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if q.Len() != 3 {
		t.Fatalf("removed before the down target had them: %d left", q.Len())
	}

	ln, err := net.Listen("tcp", downAddr)
	if err != nil {
		t.Skipf("port %s taken meanwhile: %v", downAddr, err)
	}
	downRecv := newReceiver(t, nil)
	tlsServer(t, ca, downRecv, ln)
	if res, err := r.trigger(t, 10*time.Second); err != nil {
		t.Fatalf("after recovery: %v %+v", err, res)
	}
	if q.Len() != 0 {
		t.Fatalf("%d left", q.Len())
	}
	goodRecv.mu.Lock()
	defer goodRecv.mu.Unlock()
	downRecv.mu.Lock()
	defer downRecv.mu.Unlock()
	if goodRecv.reqs != 3 || goodRecv.dups != 0 || len(downRecv.stored) != 3 {
		t.Fatalf("good: %d requests %d dups; down stored %d", goodRecv.reqs, goodRecv.dups, len(downRecv.stored))
	}
}

func TestPostAndSidecar(t *testing.T) {
	ca := uptest.NewCA(t, "test-ca")
	caFile := ca.WriteFile(t, t.TempDir())
	var mu sync.Mutex
	seen := map[string]*http.Request{}
	bodies := map[string]string{}
	srv := tlsServer(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		seen[r.Method+" "+r.URL.Path] = r
		bodies[r.Method+" "+r.URL.Path] = string(b)
		mu.Unlock()
	}), nil)
	t.Setenv("CS_TEST_TOKEN", token)
	post, err := uploader.NewSink(srv.URL+"/collect", uploader.SinkOptions{
		Method: "post", CAFile: caFile, TokenEnv: "CS_TEST_TOKEN", Headers: map[string]string{"X-Tenant": "acme"},
	})
	if err != nil {
		t.Fatal(err)
	}
	m := uploader.Manifest{Key: "c1/src 1/b.jsonl.zst", ID: "b1", Source: "Zürich FW", Compression: "zstd", Records: 3}
	if err := post.Put(context.Background(), m.Key, strings.NewReader("abc"), 3, m); err != nil {
		t.Fatal(err)
	}
	side, err := uploader.NewSink(srv.URL+"/store", uploader.SinkOptions{CAFile: caFile, ManifestMode: "sidecar"})
	if err != nil {
		t.Fatal(err)
	}
	if err := side.Put(context.Background(), m.Key, strings.NewReader("abc"), 3, m); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	p := seen["POST /collect"]
	if p == nil || p.Header.Get("Authorization") != "Bearer "+token || p.Header.Get("X-Tenant") != "acme" ||
		p.Header.Get("Content-Encoding") != "zstd" || p.Header.Get("X-CloudScout-Records") != "3" ||
		!strings.HasPrefix(p.Header.Get("X-CloudScout-Source"), "=?utf-8?q?") || bodies["POST /collect"] != "abc" {
		t.Fatalf("POST request: %v", p)
	}
	if bodies["PUT /store/c1/src 1/b.jsonl.zst"] != "abc" {
		t.Fatalf("PUT batch missing: %v", bodies)
	}
	var back uploader.Manifest
	if err := json.Unmarshal([]byte(bodies["PUT /store/c1/src 1/b.jsonl.zst.manifest.json"]), &back); err != nil || back.ID != "b1" {
		t.Fatalf("sidecar: %v %v", bodies, err)
	}
	// The CA of a TLS-inspecting proxy (which re-signs every site) is trusted too.
	viaProxyCA, err := uploader.NewSink(srv.URL+"/store", uploader.SinkOptions{ProxyCAFile: caFile})
	if err != nil {
		t.Fatal(err)
	}
	mu.Unlock()
	err = viaProxyCA.Put(context.Background(), "p/q", strings.NewReader("z"), 1, uploader.Manifest{Key: "p/q"})
	mu.Lock()
	if err != nil || bodies["PUT /store/p/q"] != "z" {
		t.Fatalf("proxy_ca_file not trusted: %v", err)
	}
	if _, err := uploader.NewSink("https://user:pw@"+strings.TrimPrefix(srv.URL, "https://"), uploader.SinkOptions{}); err == nil {
		t.Fatal("credentials in the URL accepted")
	}
	if _, err := uploader.NewSink(srv.URL, uploader.SinkOptions{Method: "POST", ManifestMode: "sidecar"}); err == nil {
		t.Fatal("POST with sidecar accepted")
	}
}

// TestTargets explains the usual first-day failures in plain words.
func TestTestTargetsExplains(t *testing.T) {
	ca := uptest.NewCA(t, "test-ca")
	caFile := ca.WriteFile(t, t.TempDir())
	tok := tokenFile(t)
	ok := tlsServer(t, ca, newReceiver(t, nil), nil)
	forbidden := tlsServer(t, ca, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "not allowed", http.StatusForbidden)
	}), nil)
	otherCA := uptest.NewCA(t, "other-ca")
	untrusted := tlsServer(t, otherCA, newReceiver(t, nil), nil)
	expiredSrv := httptest.NewUnstartedServer(newReceiver(t, nil))
	old := ca.Leaf(t, []string{"127.0.0.1"}, time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour))
	expiredSrv.TLS = &tls.Config{Certificates: []tls.Certificate{old}}
	expiredSrv.Config.ErrorLog = log.New(io.Discard, "", 0)
	expiredSrv.StartTLS()
	defer expiredSrv.Close()
	wrongName := httptest.NewUnstartedServer(newReceiver(t, nil))
	wrongName.TLS = &tls.Config{Certificates: []tls.Certificate{ca.Leaf(t, []string{"upload.example.com"}, time.Now().Add(-time.Hour), time.Now().Add(time.Hour))}}
	wrongName.Config.ErrorLog = log.New(io.Discard, "", 0)
	wrongName.StartTLS()
	defer wrongName.Close()
	hold, _ := net.Listen("tcp", "127.0.0.1:0")
	closed := hold.Addr().String()
	hold.Close()
	proxy := uptest.NewProxy(t, "svc", "right-pw")

	mk := func(name, url string, o uploader.SinkOptions) uploader.Target {
		o.CAFile, o.TokenFile = caFile, tok
		s, err := uploader.NewSink(url, o)
		if err != nil {
			t.Fatal(err)
		}
		return uploader.Target{Name: name, Sink: s}
	}
	targets := []uploader.Target{
		mk("ok", ok.URL, uploader.SinkOptions{}),
		mk("refused", "https://"+closed+"/x", uploader.SinkOptions{}),
		mk("unknown-ca", untrusted.URL, uploader.SinkOptions{}),
		mk("forbidden", forbidden.URL, uploader.SinkOptions{}),
		mk("proxy-auth", ok.URL, uploader.SinkOptions{ProxyURL: "http://svc:wrong-pw@" + proxy.Addr}),
		mk("expired", expiredSrv.URL, uploader.SinkOptions{}),
		mk("wrong-name", wrongName.URL, uploader.SinkOptions{}),
		mk("via-proxy", ok.URL, uploader.SinkOptions{ProxyURL: "http://svc:right-pw@" + proxy.Addr}),
	}
	want := map[string][2]string{
		"refused":    {"network", "connection refused by " + closed},
		"unknown-ca": {"tls", "unknown authority"},
		"forbidden":  {"auth", "access denied (403"},
		"proxy-auth": {"proxy_auth", "requires authentication (407 Proxy Authentication Required)"},
		"expired":    {"tls", "expired"},
		"wrong-name": {"tls", "does not cover the name"},
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	results := uploader.TestTargets(ctx, "c1", targets)
	for _, r := range results {
		t.Logf("%-10s ok=%v class=%s: %s", r.Target, r.OK, r.Class, r.Explanation)
		if !strings.HasPrefix(r.Key, "c1/_test/") {
			t.Errorf("%s: test key %q", r.Target, r.Key)
		}
		for _, s := range []string{r.Explanation, r.Error, r.Sink} {
			if strings.Contains(s, "wrong-pw") || strings.Contains(s, "right-pw") || strings.Contains(s, token) {
				t.Errorf("%s: secret in %q", r.Target, s)
			}
		}
		w, fail := want[r.Target]
		if !fail {
			if !r.OK {
				t.Errorf("%s failed: %s", r.Target, r.Error)
			}
			continue
		}
		if r.OK || r.Class != w[0] || !strings.Contains(r.Explanation, w[1]) {
			t.Errorf("%s: ok=%v class=%q explanation=%q; want %q containing %q", r.Target, r.OK, r.Class, r.Explanation, w[0], w[1])
		}
	}
	if proxy.Tunnels.Load() < 1 || proxy.Refused.Load() < 1 {
		t.Errorf("proxy tunnels %d refused %d", proxy.Tunnels.Load(), proxy.Refused.Load())
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// Through the uploader a wrong proxy password is counted as proxy_auth and
// the batch stays queued.
func TestProxyAuthFailureCounted(t *testing.T) {
	ca := uptest.NewCA(t, "test-ca")
	srv := tlsServer(t, ca, newReceiver(t, nil), nil)
	proxy := uptest.NewProxy(t, "svc", "right-pw")
	sink, err := uploader.NewSink(srv.URL, uploader.SinkOptions{CAFile: ca.WriteFile(t, t.TempDir()), TokenFile: tokenFile(t),
		ProxyURL: "http://svc:wrong-pw@" + proxy.Addr})
	if err != nil {
		t.Fatal(err)
	}
	q := uptest.NewQueue(t.TempDir())
	q.Add("k/1", []byte("x"), time.Now())
	var logs syncBuffer
	r := startUploader(t, q, t.TempDir(), zerolog.New(&logs), uploader.Target{Name: "viaproxy", Sink: sink})
	// The trigger runs into its deadline (the batch cannot ship); the first
	// attempt through the proxy is awaited on its own (slow under -race).
	if res, err := r.trigger(t, time.Second); err == nil {
		t.Fatalf("trigger shipped through a proxy that refuses: %+v", res)
	}
	deadline := time.Now().Add(20 * time.Second)
	for failures(t, r.reg, "viaproxy", "proxy_auth") < 1 {
		if time.Now().After(deadline) {
			t.Fatalf("proxy_auth not counted after 20 s: %+v", r.u.Status().Targets)
		}
		time.Sleep(5 * time.Millisecond)
	}
	if st := r.u.Status().Targets[0]; st.LastErrorClass != "proxy_auth" || q.Len() != 1 {
		t.Fatalf("status %+v, %d queued", st, q.Len())
	}
	r.stop()
	if strings.Contains(logs.String(), "wrong-pw") || !strings.Contains(logs.String(), "requires authentication") {
		t.Fatalf("logs: %s", logs.String())
	}
}

func TestClientCertificate(t *testing.T) {
	ca := uptest.NewCA(t, "test-ca")
	dir := t.TempDir()
	caFile := ca.WriteFile(t, dir)
	certFile, keyFile := ca.ClientFiles(t, dir, "collector")
	rv := newReceiver(t, nil)
	srv := httptest.NewUnstartedServer(rv)
	srv.TLS = ca.ServerTLS(t)
	srv.TLS.ClientAuth = tls.RequireAndVerifyClientCert
	srv.TLS.ClientCAs = x509.NewCertPool()
	srv.TLS.ClientCAs.AddCert(ca.Cert)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	defer srv.Close()
	with, err := uploader.NewSink(srv.URL, uploader.SinkOptions{CAFile: caFile, TokenFile: tokenFile(t), ClientCert: certFile, ClientKey: keyFile})
	if err != nil {
		t.Fatal(err)
	}
	without, err := uploader.NewSink(srv.URL, uploader.SinkOptions{CAFile: caFile, TokenFile: tokenFile(t)})
	if err != nil {
		t.Fatal(err)
	}
	res := uploader.TestTargets(context.Background(), "c1", []uploader.Target{{Name: "mtls", Sink: with}, {Name: "nocert", Sink: without}})
	if !res[0].OK {
		t.Fatalf("with client certificate: %+v", res[0])
	}
	if res[1].OK || res[1].Class != "tls" || !strings.Contains(res[1].Explanation, "client certificate") {
		t.Fatalf("without client certificate: %+v", res[1])
	}
	if _, err := uploader.NewSink(srv.URL, uploader.SinkOptions{ClientCert: certFile}); err == nil {
		t.Fatal("client_cert without client_key accepted")
	}
}
