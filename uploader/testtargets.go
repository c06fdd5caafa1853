package uploader

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"sync"
	"time"
)

// TestResult is the outcome of sending a test batch to one target.
type TestResult struct {
	Target string `json:"target"`
	Sink   string `json:"sink"`
	Key    string `json:"key"`
	OK     bool   `json:"ok"`
	// Class and Explanation say in plain words why it failed.
	Class       string        `json:"class,omitempty"`
	Explanation string        `json:"explanation,omitempty"`
	Error       string        `json:"error,omitempty"`
	Duration    time.Duration `json:"duration_ns"`
	Err         error         `json:"-"`
}

// TestTargets sends a tiny test batch to every target in parallel, under
// the key <collector>/_test/<time>-<random>.jsonl, and explains failures.
// Test objects are left in place; they sit apart from real batches.
func TestTargets(ctx context.Context, collector string, targets []Target) []TestResult {
	if collector == "" {
		collector = "cloudscout"
	}
	out := make([]TestResult, len(targets))
	var wg sync.WaitGroup
	for i, t := range targets {
		wg.Go(func() { out[i] = testTarget(ctx, collector, t) })
	}
	wg.Wait()
	return out
}

func testTarget(ctx context.Context, collector string, t Target) TestResult {
	now := time.Now().UTC()
	var rnd [6]byte
	_, _ = rand.Read(rnd[:]) // crypto/rand never fails on supported platforms
	suffix := hex.EncodeToString(rnd[:])
	line, _ := json.Marshal(map[string]any{
		"@timestamp": now.Format(time.RFC3339Nano),
		"event":      map[string]any{"kind": "cloudscout_test"},
		"labels":     map[string]any{"collector": collector},
	})
	body := append(line, '\n')
	sum := sha256.Sum256(body)
	m := Manifest{
		Key:         collector + "/_test/" + now.Format("20060102T150405Z") + "-" + suffix + ".jsonl",
		ID:          "test-" + suffix,
		Collector:   collector,
		Source:      "_test",
		Records:     1,
		Bytes:       int64(len(body)),
		RawBytes:    int64(len(body)),
		SHA256:      hex.EncodeToString(sum[:]),
		ContentType: "application/x-ndjson",
		FirstTime:   now,
		LastTime:    now,
		Sealed:      now,
	}
	res := TestResult{Target: t.Name, Key: m.Key}
	if t.Sink == nil {
		res.Class, res.Explanation, res.Error = ClassNetwork, "no sink configured", "no sink"
		return res
	}
	res.Sink = t.Sink.String()
	start := time.Now()
	err := t.Sink.Put(ctx, m.Key, bytes.NewReader(body), m.Bytes, m)
	res.Duration = time.Since(start)
	if err == nil {
		res.OK = true
		return res
	}
	res.Err = err
	res.Error = err.Error()
	res.Class, res.Explanation = Classify(err)
	if res.Class == ClassRejected {
		// Classify speaks of the dead-letter folder; a test batch goes nowhere.
		res.Explanation = "the target refused the test batch as invalid: " + lastPart(err)
	}
	return res
}
