package spool

import (
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
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

// cpuNanos is the CPU time (user and system) the process has used.
func cpuNanos(b *testing.B) int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

// refEncoder is the encoder as it was before session 10: zstd with the
// frame's content checksum (xxhash), the reference for BenchmarkEncode and
// the writer of "old" data in TestChecksummedFramesStillRead.
func refEncoder(b testing.TB) *encoder {
	z, err := zstd.NewWriter(nil,
		zstd.WithEncoderLevel(zstd.SpeedFastest),
		zstd.WithEncoderCRC(true),
		zstd.WithLowerEncoderMem(true))
	if err != nil {
		b.Fatal(err)
	}
	return &encoder{c: zstdCodec, zenc: z}
}

// rawBlocks cuts benchRecords into count raw blocks of about size bytes.
func rawBlocks(size, count int) (raws [][]byte, records []uint32) {
	recs := benchRecords(1024)
	i := 0
	for range count {
		var raw []byte
		n := uint32(0)
		for len(raw) < size {
			raw = append(raw, recs[i%len(recs)]...)
			raw = append(raw, '\n')
			i++
			n++
		}
		raws, records = append(raws, raw), append(records, n)
	}
	return raws, records
}

// BenchmarkEncode compresses 512 KiB blocks (the default BlockBytes) with
// the frame checksum (crc, the old encoder) and without (nocrc, now).
func BenchmarkEncode(b *testing.B) {
	raws, records := rawBlocks(defaultBlockBytes, 8)
	cur, err := newEncoder(zstdCodec)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		enc  *encoder
	}{{"crc", refEncoder(b)}, {"nocrc", cur}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(raws[0])))
			b.ReportAllocs()
			var dst []byte
			i := 0
			for b.Loop() {
				dst = c.enc.encode(dst[:0], raws[i%len(raws)], records[i%len(raws)], 1, 2)
				i++
			}
		})
	}
}

// BenchmarkAppend measures taking 700-byte records from parallel
// goroutines over 4 sources, with Run's group commit going on: one record
// per Append with the old encoder (one-crc), one per Append (one), and
// about 32 KiB per AppendBatch, as a pipeline worker would hand them over
// (batch). The -shared variants put every goroutine on one source, as two
// connections from one firewall do. cpu-ns/op is the process's CPU time
// per record.
func BenchmarkAppend(b *testing.B) {
	for _, mode := range []string{"one-crc", "one", "batch", "one-shared", "batch-shared"} {
		b.Run(mode, func(b *testing.B) { benchAppend(b, mode) })
	}
}

func benchAppend(b *testing.B, mode string) {
	shared := strings.HasSuffix(mode, "-shared")
	mode = strings.TrimSuffix(mode, "-shared")
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
	if mode == "one-crc" {
		s.enc = refEncoder(b)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	var gid atomic.Int64
	ts := time.Now()
	b.SetBytes(700)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuNanos(b)
	b.RunParallel(func(pb *testing.PB) {
		g := int(gid.Add(1))
		src := fmt.Sprintf("src-%d", g%4)
		if shared {
			src = "src-0"
		}
		i := g * 7
		if mode != "batch" {
			for pb.Next() {
				if err := s.Append(src, recs[i%len(recs)], ts); err != nil {
					b.Error(err)
					return
				}
				i++
			}
			return
		}
		// The worker frames records into its own buffer (where a pipeline
		// would encode them) and hands over about 32 KiB at a time.
		buf := make([]byte, 0, 40<<10)
		n := 0
		flush := func() bool {
			if n == 0 {
				return true
			}
			if err := s.AppendBatch(src, buf, n, ts, ts); err != nil {
				b.Error(err)
				return false
			}
			buf, n = buf[:0], 0
			return true
		}
		for pb.Next() {
			buf = append(buf, recs[i%len(recs)]...)
			buf = append(buf, '\n')
			n++
			i++
			if len(buf) >= 32<<10 && !flush() {
				return
			}
		}
		flush()
	})
	if err := s.Sync(); err != nil {
		b.Fatal(err)
	}
	b.StopTimer()
	b.ReportMetric(float64(cpuNanos(b)-cpu0)/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
}

// BenchmarkSeal writes a segment of 16 compressed 512 KiB blocks and seals
// it, re-reading the file to build the manifest (rescan, as before session
// 10, and still after a write error) or from what was hashed while writing
// (memory). The wall time is mostly fsyncs; cpu-ns/op is what differs.
func BenchmarkSeal(b *testing.B) {
	raws, records := rawBlocks(defaultBlockBytes, 16)
	enc, err := newEncoder(zstdCodec)
	if err != nil {
		b.Fatal(err)
	}
	var blocks []*block
	var size int64
	for i, raw := range raws {
		data := enc.encode(nil, raw, records[i], int64(i), int64(i)+5)
		blocks = append(blocks, &block{data: data, raw: int64(len(raw)), records: int64(records[i]),
			minTs: int64(i), maxTs: int64(i) + 5})
		size += int64(len(data))
	}
	for _, mode := range []string{"rescan", "memory"} {
		b.Run(mode, func(b *testing.B) {
			s, err := Open(Config{
				Dir:             b.TempDir(),
				Collector:       "bench",
				QuotaBytes:      1 << 40,
				SegmentMaxBytes: 1 << 40,
				Logger:          zerolog.Nop(),
			})
			if err != nil {
				b.Fatal(err)
			}
			src, err := s.source("fw")
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(size)
			cpu0 := cpuNanos(b)
			for b.Loop() {
				src.wmu.Lock()
				seg, err := s.createSegment("fw")
				if err != nil {
					b.Fatal(err)
				}
				seg.known = mode == "memory"
				src.seg = seg
				for _, blk := range blocks {
					if err := s.writeLocked(src, blk); err != nil {
						b.Fatal(err)
					}
				}
				if err := s.sealLocked(src); err != nil {
					b.Fatal(err)
				}
				src.wmu.Unlock()
				bs, _ := s.Batches()
				for _, x := range bs {
					if err := s.Remove(x); err != nil {
						b.Fatal(err)
					}
				}
			}
			b.ReportMetric(float64(cpuNanos(b)-cpu0)/float64(b.N), "cpu-ns/op")
			if want := int64(0); mode == "memory" && s.liveRescans.Load() != want {
				b.Fatalf("%d rescans in memory mode", s.liveRescans.Load())
			}
		})
	}
}

// BenchmarkAppendPath measures only the hand-over that Append and
// AppendBatch do under the source's lock (checks, copy, accounting), with
// compression kept out: the block size is never reached and the buffer is
// emptied now and then. Modes as in BenchmarkAppend.
func BenchmarkAppendPath(b *testing.B) {
	for _, mode := range []string{"one", "batch", "one-shared", "batch-shared"} {
		b.Run(mode, func(b *testing.B) {
			shared := strings.HasSuffix(mode, "-shared")
			batch := strings.HasPrefix(mode, "batch")
			recs := benchRecords(1024)
			s, err := Open(Config{Dir: b.TempDir(), Collector: "bench", QuotaBytes: 1 << 40, Logger: zerolog.Nop()})
			if err != nil {
				b.Fatal(err)
			}
			// Never reached; buffers are made here, as getRaw sizes them by it.
			s.blockBytes = 1 << 62
			for i := range 4 {
				src, err := s.source(fmt.Sprintf("src-%d", i))
				if err != nil {
					b.Fatal(err)
				}
				src.buf = make([]byte, 0, 3<<20)
			}
			// empty drops what the source holds, as a written block would.
			empty := func(src *source) {
				src.mu.Lock()
				if len(src.buf) > 2<<20 {
					s.buffered.Add(-src.reserved)
					src.buf, src.n, src.reserved = src.buf[:0], 0, 0
				}
				src.mu.Unlock()
			}
			var gid atomic.Int64
			ts := time.Now()
			b.SetBytes(700)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				g := int(gid.Add(1))
				name := fmt.Sprintf("src-%d", g%4)
				if shared {
					name = "src-0"
				}
				src, err := s.source(name)
				if err != nil {
					b.Error(err)
					return
				}
				i := g * 7
				buf := make([]byte, 0, 40<<10)
				n := 0
				for pb.Next() {
					if batch {
						buf = append(buf, recs[i%len(recs)]...)
						buf = append(buf, '\n')
						n++
						if len(buf) >= 32<<10 {
							if err := s.AppendBatch(name, buf, n, ts, ts); err != nil {
								b.Error(err)
								return
							}
							buf, n = buf[:0], 0
						}
					} else {
						// Both modes write each record once into the
						// worker's buffer, as the pipeline encodes it.
						buf = append(buf[:0], recs[i%len(recs)]...)
						if err := s.Append(name, buf, ts); err != nil {
							b.Error(err)
							return
						}
					}
					if i++; i%1024 == 0 {
						empty(src)
					}
				}
			})
		})
	}
}

// BenchmarkSealSummary isolates what BenchmarkSeal's two modes compute for
// the manifest of a 16-block segment: re-reading the file (pread, CRC-32C
// and SHA-256 of every block: rescan) or hashing the blocks as they are
// written (memory).
func BenchmarkSealSummary(b *testing.B) {
	raws, records := rawBlocks(defaultBlockBytes, 16)
	enc, err := newEncoder(zstdCodec)
	if err != nil {
		b.Fatal(err)
	}
	var seg []byte
	var blocks [][]byte
	for i, raw := range raws {
		at := len(seg)
		seg = enc.encode(seg, raw, records[i], 1, 2)
		blocks = append(blocks, seg[at:])
	}
	path := filepath.Join(b.TempDir(), "seg")
	if err := os.WriteFile(path, seg, 0o600); err != nil {
		b.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	b.Run("rescan", func(b *testing.B) {
		b.SetBytes(int64(len(seg)))
		for b.Loop() {
			sc, err := scanFile(f, int64(len(seg)), zstdCodec, scanOpts{})
			if err != nil || sc.badAt >= 0 {
				b.Fatal(err, sc.badWhy)
			}
		}
	})
	b.Run("memory", func(b *testing.B) {
		b.SetBytes(int64(len(seg)))
		var sum [sha256.Size]byte
		for b.Loop() {
			h := sha256.New()
			for _, blk := range blocks {
				h.Write(blk)
			}
			h.Sum(sum[:0])
		}
	})
}
