package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/klauspost/compress/zstd"
)

// outboxWatcher polls the file:// upload folder and notes when each batch
// became visible: the sink writes the batch, then its manifest, so a
// manifest's first sighting is the moment the batch was shipped (to within
// the poll period).
type outboxWatcher struct {
	dir string

	mu      sync.Mutex
	seen    map[string]time.Time // manifest path -> first seen
	records map[string]int64     // manifest path -> records
	last    time.Time            // latest first sighting
	total   int64                // records in the batches seen
}

type manifestInfo struct {
	Records  int64 `json:"records"`
	Bytes    int64 `json:"bytes"`
	RawBytes int64 `json:"raw_bytes"`
}

func newOutboxWatcher(dir string) *outboxWatcher {
	return &outboxWatcher{dir: dir, seen: map[string]time.Time{}, records: map[string]int64{}}
}

func (w *outboxWatcher) run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		w.poll()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (w *outboxWatcher) poll() {
	now := time.Now()
	_ = filepath.WalkDir(w.dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".manifest.json") {
			return nil
		}
		w.mu.Lock()
		_, known := w.seen[p]
		w.mu.Unlock()
		if known {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return nil
		}
		var m manifestInfo
		if json.Unmarshal(b, &m) != nil {
			return nil // written by rename, so complete; unreadable means foreign
		}
		w.mu.Lock()
		w.seen[p] = now
		w.records[p] = m.Records
		w.total += m.Records
		w.last = now
		w.mu.Unlock()
		return nil
	})
}

// shipped returns the records in the batches seen so far and when the last
// batch appeared.
func (w *outboxWatcher) shipped() (int64, time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total, w.last
}

func (w *outboxWatcher) sightings() map[string]time.Time {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := make(map[string]time.Time, len(w.seen))
	for k, v := range w.seen {
		out[k] = v
	}
	return out
}

// shipStats is what the shipped batches hold.
type shipStats struct {
	Batches    int
	Records    int64 // records read back from the batch files
	Bytes      int64 // compressed
	RawBytes   int64
	Latency    *histogram // batch sighting minus each record's @timestamp
	Unstamped  int64      // records without a readable @timestamp
	ManifestOK bool       // manifests agree with the files' contents
}

// readShipped decompresses every batch seen and measures, per record, the
// time from its @timestamp (the generator's send time) to the batch's
// appearance.
func readShipped(seen map[string]time.Time) (shipStats, error) {
	st := shipStats{Latency: newHistogram(), ManifestOK: true}
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1))
	if err != nil {
		return st, err
	}
	defer dec.Close()
	key := []byte(`"@timestamp":"`)
	for mpath, at := range seen {
		b, err := os.ReadFile(mpath)
		if err != nil {
			return st, err
		}
		var m manifestInfo
		if err := json.Unmarshal(b, &m); err != nil {
			return st, err
		}
		st.Batches++
		st.Bytes += m.Bytes
		st.RawBytes += m.RawBytes
		f, err := os.Open(strings.TrimSuffix(mpath, ".manifest.json"))
		if err != nil {
			return st, err
		}
		if err := dec.Reset(bufio.NewReaderSize(f, 1<<20)); err != nil {
			f.Close()
			return st, err
		}
		sc := bufio.NewScanner(dec)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		var n int64
		for sc.Scan() {
			line := sc.Bytes()
			n++
			i := bytes.Index(line, key)
			if i < 0 {
				st.Unstamped++
				continue
			}
			v := line[i+len(key):]
			j := bytes.IndexByte(v, '"')
			if j < 0 {
				st.Unstamped++
				continue
			}
			ts, err := time.Parse(time.RFC3339Nano, string(v[:j]))
			if err != nil {
				st.Unstamped++
				continue
			}
			st.Latency.add(at.Sub(ts))
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return st, err
		}
		if n != m.Records {
			st.ManifestOK = false
		}
		st.Records += n
	}
	return st, nil
}

// histogram counts durations in 1 ms buckets up to two minutes.
type histogram struct {
	b     []int64
	n     int64
	max   time.Duration
	under int64 // negative durations (clock steps), counted as 0
}

const histBuckets = 120_000

func newHistogram() *histogram { return &histogram{b: make([]int64, histBuckets+1)} }

func (h *histogram) add(d time.Duration) {
	if d < 0 {
		h.under++
		d = 0
	}
	i := int(d / time.Millisecond)
	if i > histBuckets {
		i = histBuckets
	}
	h.b[i]++
	h.n++
	h.max = max(h.max, d)
}

// quantile returns the q-quantile (0..1) in milliseconds, at 1 ms
// resolution (the upper edge of the bucket holding it).
func (h *histogram) quantile(q float64) float64 {
	if h.n == 0 {
		return 0
	}
	rank := int64(q * float64(h.n))
	if rank >= h.n {
		rank = h.n - 1
	}
	var cum int64
	for i, c := range h.b {
		cum += c
		if cum > rank {
			return float64(i + 1)
		}
	}
	return float64(len(h.b))
}
