package spool

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/rs/zerolog"
)

// benchRecords are 700-byte ECS-like records that differ the way real
// traffic logs do (addresses, ports, sizes, URLs).
func benchRecords(n int) [][]byte {
	out := make([][]byte, n)
	for i := range out {
		r := fmt.Appendf(nil, `{"@timestamp":"2026-11-28T09:15:%02d.%03d+01:00","event":{"type":["connection","allowed"],"action":"accept"},"source":{"ip":"10.%d.%d.%d","port":%d,"bytes":%d},"destination":{"ip":"52.%d.%d.%d","port":443,"domain":"cdn-%d.example-%d.com","bytes":%d},"network":{"transport":"tcp","protocol":"https","application":"app-%d"},"url":{"original":"https://cdn-%d.example.com/assets/%x/index.html"},"user":{"name":"user%04d","domain":"CORP"},"observer":{"vendor":"Fortinet","product":"FortiGate","hostname":"fw-hq-01"},"labels":{"source":"fw-hq"}`,
			i%60, i%1000, i%7, (i*31)%256, (i*17)%256, 1024+(i*7919)%60000, (i*104729)%1000000,
			(i*13)%256, (i*29)%256, (i*37)%256, i%113, i%17, (i*7907)%5000000, i%41, i%97, i*2654435761, i%5000)
		for len(r) < 699 {
			r = append(r, ' ')
		}
		out[i] = append(r[:699], '}')
	}
	return out
}

// BenchmarkAppend measures Append of 700-byte records from parallel
// goroutines over 4 sources, with Run's group commit going on.
func BenchmarkAppend(b *testing.B) {
	recs := benchRecords(1024)
	s, err := Open(Config{
		Dir:        b.TempDir(),
		Collector:  "bench",
		QuotaBytes: 1 << 40,
		Logger:     zerolog.Nop(),
	})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var gid atomic.Int64
	ts := time.Now()
	b.SetBytes(700)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		g := int(gid.Add(1))
		src := fmt.Sprintf("src-%d", g%4)
		i := g * 7
		for pb.Next() {
			if err := s.Append(src, recs[i%len(recs)], ts); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}
