package main

import (
	"encoding/xml"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
)

func TestHistogramQuantiles(t *testing.T) {
	h := newHistogram()
	for i := 1; i <= 1000; i++ {
		h.add(time.Duration(i) * time.Millisecond)
	}
	h.add(-time.Second) // a clock step counts as 0
	if got := h.quantile(0.5); got < 499 || got > 502 {
		t.Fatalf("p50 = %v, want about 500", got)
	}
	if got := h.quantile(0.99); got < 989 || got > 992 {
		t.Fatalf("p99 = %v, want about 990", got)
	}
	if h.under != 1 || h.n != 1001 || h.max != time.Second {
		t.Fatalf("under %d n %d max %s", h.under, h.n, h.max)
	}
	h.add(time.Hour) // beyond the last bucket
	if got := h.quantile(1); got != histBuckets+1 {
		t.Fatalf("p100 = %v", got)
	}
	if newHistogram().quantile(0.5) != 0 {
		t.Fatal("empty histogram")
	}
}

func TestParseMetrics(t *testing.T) {
	in := `# HELP cloudscout_source_received_total x
# TYPE cloudscout_source_received_total counter
cloudscout_source_received_total{source="a"} 10
cloudscout_source_received_total{source="b"} 5
cloudscout_source_dropped_total{reason="spool_full",source="a"} 2
cloudscout_syslog_bytes_total{listener="tcp://127.0.0.1:1",transport="tcp"} 1.5e+06
go_goroutines 7
`
	m, err := parseMetrics(strings.NewReader(in))
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]float64{
		"cloudscout_source_received_total":                          15,
		"cloudscout_source_received_total{source=a}":                10,
		"cloudscout_source_dropped_total{reason=spool_full}":        2,
		"cloudscout_syslog_bytes_total":                             1.5e6,
		"cloudscout_syslog_bytes_total{listener=tcp://127.0.0.1:1}": 1.5e6,
		"go_goroutines": 7,
	} {
		if m[k] != want {
			t.Errorf("%s = %v, want %v", k, m[k], want)
		}
	}
}

func TestMedianOf(t *testing.T) {
	runs := []runResult{
		{Received: 10, RecvMBps: 3, ExitOK: true, Errors: []string{"a"}},
		{Received: 30, RecvMBps: 1, ExitOK: false},
		{Received: 20, RecvMBps: 2, ExitOK: true, Errors: []string{"b"}},
	}
	m := medianOf(runs)
	if m.Received != 20 || m.RecvMBps != 2 || m.ExitOK || strings.Join(m.Errors, ",") != "a,b" {
		t.Fatalf("median %+v", m)
	}
	if median([]float64{4, 1, 3, 2}) != 2.5 {
		t.Fatal("even median")
	}
}

func TestProcReaders(t *testing.T) {
	pid := os.Getpid()
	// Burn a little CPU so the counter is above zero.
	x := 0.0
	for i := range 20_000_000 {
		x += math.Sqrt(float64(i))
	}
	cpu, err := procCPU(pid)
	if err != nil || cpu <= 0 || x == 0 {
		t.Fatalf("cpu %v err %v", cpu, err)
	}
	rss, hwm, err := procMem(pid)
	if err != nil || rss <= 0 || hwm < rss {
		t.Fatalf("rss %d hwm %d err %v", rss, hwm, err)
	}
}

func TestParseGoBench(t *testing.T) {
	out := []byte(`goos: linux
pkg: github.com/cloudscout/cloudscout/parsers/fortigate
BenchmarkParse-2    	  964542	      1204 ns/op	 501.38 MB/s	     167 B/op	       1 allocs/op
BenchmarkDetect-2   	20000000	        58.1 ns/op	       0 B/op	       0 allocs/op
PASS
`)
	b := parseGoBench(out)
	if len(b) != 2 || b[0].Package != "parsers/fortigate" || b[0].MBps != 501.38 || b[0].AllocsPerOp != 1 || b[1].MBps != 0 || b[1].NsPerOp != 58.1 {
		t.Fatalf("%+v", b)
	}
}

func TestSVGIsWellFormed(t *testing.T) {
	r := &report{Mode: "quick", Machine: machine{CPUs: 2, CPUModel: `CPU <"&">`}, Started: time.Now()}
	sr := scenarioResult{scenario: scenario{Name: "tcp-lf", Title: "TCP & co"}}
	for i := range 20 {
		sr.Median.Series = append(sr.Median.Series, sample{T: float64(i) / 2, Received: float64(i * 1000), RSSMB: 20 + float64(i)})
	}
	r.Scenarios = []scenarioResult{sr, {scenario: scenario{Name: "empty"}}}
	svg := renderSVG(r)
	d := xml.NewDecoder(strings.NewReader(svg))
	paths := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("not well-formed: %v\n%s", err, svg)
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Local == "path" {
			paths++
		}
	}
	if paths != 2 {
		t.Fatalf("%d lines drawn, want 2 (throughput and RSS)", paths)
	}
}

// TestReadShipped checks the latency measurement on a batch written as the
// spool writes them (a skippable header frame, then zstd frames of lines).
func TestReadShipped(t *testing.T) {
	dir := t.TempDir()
	batch := filepath.Join(dir, "b.jsonl.zst")
	f, err := os.Create(batch)
	if err != nil {
		t.Fatal(err)
	}
	// Skippable frame (magic 0x184D2A50, 4-byte length) as the spool's header.
	f.Write([]byte{0x50, 0x2a, 0x4d, 0x18, 4, 0, 0, 0, 1, 2, 3, 4})
	enc, _ := zstd.NewWriter(f)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range 100 {
		ts := base.Add(time.Duration(i) * 10 * time.Millisecond).Format(time.RFC3339Nano)
		enc.Write([]byte(`{"@timestamp":"` + ts + `","event":{"action":"x"}}` + "\n"))
	}
	enc.Close()
	f.Close()
	if err := os.WriteFile(batch+".manifest.json", []byte(`{"records":100,"bytes":10,"raw_bytes":20}`), 0o644); err != nil {
		t.Fatal(err)
	}
	seen := map[string]time.Time{batch + ".manifest.json": base.Add(2 * time.Second)}
	st, err := readShipped(seen)
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != 100 || !st.ManifestOK || st.Unstamped != 0 || st.Batches != 1 {
		t.Fatalf("%+v", st)
	}
	// Latencies run from 2000 ms down to 1010 ms.
	if p50 := st.Latency.quantile(0.5); p50 < 1500 || p50 > 1512 {
		t.Fatalf("p50 %v", p50)
	}
	if st.Latency.max != 2*time.Second {
		t.Fatalf("max %s", st.Latency.max)
	}
}

func TestCollectorConfigIsValid(t *testing.T) {
	bin := os.Getenv("CLOUDSCOUT_BIN")
	if bin == "" {
		t.Skip("set CLOUDSCOUT_BIN to a built cloudscout to validate the generated configuration")
	}
	dir := t.TempDir()
	certs, err := makeCerts(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []scenario{
		{Name: "tls", Transport: "tls", Source: "auto"},
		{Name: "raw", Transport: "tcp", Source: "rawbench", rawParserRE: rawParserRE},
	} {
		p := filepath.Join(dir, sc.Name+".yaml")
		os.WriteFile(p, []byte(collectorConfig(dir, sc, 5514, 5580, certs)), 0o644)
		if out, _, _, err := runCapture(t.Context(), 30*time.Second, dir, bin, "validate", "--config", p); err != nil {
			t.Fatalf("%s: %v\n%s", sc.Name, err, out)
		}
	}
}
