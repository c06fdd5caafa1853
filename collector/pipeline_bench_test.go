package collector

import (
	"bytes"
	"context"
	"net/netip"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/rs/zerolog"

	"github.com/cloudscout/cloudscout/collector/anonymize"
	"github.com/cloudscout/cloudscout/collector/config"
	"github.com/cloudscout/cloudscout/collector/spool"
	"github.com/cloudscout/cloudscout/collector/syslog"
	"github.com/cloudscout/cloudscout/internal/loadgen"
	_ "github.com/cloudscout/cloudscout/parsers/all"
)

// BenchmarkPipeline measures one stream's cost per message through the
// whole pipeline (parse, pseudonymize, encode, zstd spool) with the load
// generator's lines, as the TCP receiver drives it: the message bytes live
// in a buffer that is reused for the next message.
func BenchmarkPipeline(b *testing.B) {
	for _, format := range []string{"fortigate", "paloalto", "squid", "raw"} {
		b.Run(format, func(b *testing.B) { benchPipeline(b, format) })
	}
}

func benchPipeline(b *testing.B, format string) {
	dir := b.TempDir()
	parser, custom := format, ""
	if format == "raw" {
		// As bench/: a one-group regex, for receive/frame/spool cost alone.
		parser = "rawbench"
		custom = "parsers:\n  - name: rawbench\n    type: regex\n    pattern: '^raw seq=(?P<seq>[0-9]+)'\n    fields:\n      event.action: seq\n"
	}
	cfgYAML := "collector:\n  data_dir: " + dir + "\n" + custom + "sources:\n  - name: bench\n    format: " + parser + "\n    timezone: UTC\n    listen: [\"tcp://127.0.0.1:15514\"]\n"
	path := filepath.Join(dir, "c.yaml")
	if err := os.WriteFile(path, []byte(cfgYAML), 0o600); err != nil {
		b.Fatal(err)
	}
	cfg, err := config.Load(path)
	if err != nil {
		b.Fatal(err)
	}
	if err := cfg.Validate(); err != nil {
		b.Fatal(err)
	}
	key, err := anonymize.NewKey(bytes.Repeat([]byte{7}, 64))
	if err != nil {
		b.Fatal(err)
	}
	sp, err := spool.Open(spool.Config{Dir: filepath.Join(dir, "spool"), Collector: "bench", QuotaBytes: 1 << 40, Logger: zerolog.Nop()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- sp.Run(ctx) }()
	defer func() {
		cancel()
		<-done
	}()
	p, err := newPipeline(cfg, sp, key, prometheus.NewRegistry(), zerolog.Nop())
	if err != nil {
		b.Fatal(err)
	}
	l := cfg.Listeners()[0]
	st := p.Open(syslog.StreamInfo{Listener: l.Key(), Transport: syslog.TransportTCP})
	defer st.Close()

	pool := loadgen.NewPool(format, 700, 1, true)
	var stamps loadgen.Stamps
	stamps.Set(time.Now())
	peer := netip.MustParseAddrPort("127.0.0.1:50000")
	var buf []byte
	var n int64
	for i := range pool.Len() {
		n += int64(len(pool.Render(buf[:0], i, &stamps)))
	}
	b.SetBytes(n / int64(pool.Len()))
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		buf = pool.Render(buf[:0], i%pool.Len(), &stamps)
		if err := st.Message(ctx, buf, false, peer); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	if err := st.(syslog.Flusher).Flush(ctx); err != nil {
		b.Fatal(err)
	}
	stats := p.Stats("bench")
	if got := stats.Records.Load(); got != int64(b.N) {
		b.Fatalf("%d records of %d messages (failed %d, skipped %d, first errors %q)", got, b.N, stats.Failed.Load(), stats.Skipped.Load(), stats.FirstErrors())
	}
}
