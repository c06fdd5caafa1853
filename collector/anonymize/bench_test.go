package anonymize

import (
	"bytes"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/internal/loadgen"
	"github.com/cloudscout/cloudscout/parsers"
	_ "github.com/cloudscout/cloudscout/parsers/fortigate"
	_ "github.com/cloudscout/cloudscout/parsers/paloalto"
	_ "github.com/cloudscout/cloudscout/parsers/squid"
)

// loadgenRecords parses the load generator's lines of a format: the
// records the collector pseudonymizes, with identifiers drawn from its
// skewed population of 2000 hosts (address, MAC, user).
func loadgenRecords(tb testing.TB, format string) ([]parsers.Record, []string) {
	tb.Helper()
	pool := loadgen.NewPool(format, 700, 1, false)
	var st loadgen.Stamps
	st.Set(time.Date(2026, 11, 28, 16, 13, 2, 0, time.UTC))
	p, err := parsers.New(format, parsers.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	recs := make([]parsers.Record, 0, pool.Len())
	lines := make([]string, 0, pool.Len())
	var buf []byte
	for i := range pool.Len() {
		buf = pool.Render(buf[:0], i, &st)
		var r parsers.Record
		m := parsers.Meta{Location: time.UTC, Now: time.Now()}
		line := string(buf)
		if err := p.Parse(line, &m, &r); err != nil {
			tb.Fatalf("%s line %d: %v", format, i, err)
		}
		recs = append(recs, r)
		lines = append(lines, line)
	}
	return recs, lines
}

type applier interface{ Apply(*parsers.Record) }

// applyFields are the fields Apply reads or writes. The benchmarks restore
// them from a compact copy before each record instead of copying whole
// records, whose cost would hide Apply's.
type applyFields struct {
	userName, userDomain, userEmail, sourceDomain, sourceMAC, destinationDomain    string
	urlQuery, urlOriginal, urlPath, httpReferrer, urlDomain, ruleName, eventAction string
	sourceIP, sourceNATIP, destinationIP, destinationNATIP                         netip.Addr
	labels                                                                         []parsers.Label
}

func fieldsOf(r *parsers.Record) applyFields {
	return applyFields{r.UserName, r.UserDomain, r.UserEmail, r.SourceDomain, r.SourceMAC, r.DestinationDomain,
		r.URLQuery, r.URLOriginal, r.URLPath, r.HTTPReferrer, r.URLDomain, r.RuleName, r.EventAction,
		r.SourceIP, r.SourceNATIP, r.DestinationIP, r.DestinationNATIP, r.Labels}
}

func (f *applyFields) restore(r *parsers.Record) {
	r.UserName, r.UserDomain, r.UserEmail, r.SourceDomain, r.SourceMAC, r.DestinationDomain = f.userName, f.userDomain, f.userEmail, f.sourceDomain, f.sourceMAC, f.destinationDomain
	r.URLQuery, r.URLOriginal, r.URLPath, r.HTTPReferrer, r.URLDomain, r.RuleName, r.EventAction = f.urlQuery, f.urlOriginal, f.urlPath, f.httpReferrer, f.urlDomain, f.ruleName, f.eventAction
	r.SourceIP, r.SourceNATIP, r.DestinationIP, r.DestinationNATIP = f.sourceIP, f.sourceNATIP, f.destinationIP, f.destinationNATIP
	r.SourceIPToken, r.SourceNATIPToken, r.DestinationIPToken, r.DestinationNATIPToken = "", "", "", ""
	r.Labels = append(r.Labels[:0], f.labels...)
}

// pressure stands for the rest of the pipeline between two records
// (parsing, JSON, zstd's hash tables): it writes lines spread over 16 MiB,
// so the anonymizer's data is no longer in L1 and partly not in L2, as in
// the collector's profile, where a cache hit cost about 80 ns.
type pressure struct {
	buf []byte
	x   uint32
}

func (p *pressure) run(lines int) {
	for range lines {
		p.x = p.x*1664525 + 1013904223
		p.buf[int(p.x>>4)&(len(p.buf)-1)&^63]++
	}
}

// BenchmarkApply pseudonymizes the load generator's records in order with
// the default policy, as one stream's worker does after a warm-up (nearly
// all cache hits). "old" is the reference implementation, "copy" the cost
// of restoring a record alone: compare old and new net of it. Modes: plain,
// the 4096 records of a load generator pool; "cold", each record followed
// by 128 cache line writes spread over 16 MiB (the same in all three), for
// the rest of the pipeline; "l1", 64 records whose data all stays in the
// CPU's first-level cache, for the instruction cost alone.
func BenchmarkApply(b *testing.B) {
	k, err := NewKey(bytes.Repeat([]byte{7}, KeySize))
	if err != nil {
		b.Fatal(err)
	}
	pr := &pressure{buf: make([]byte, 16<<20)}
	for _, format := range []string{"fortigate", "paloalto", "squid"} {
		recs, lines := loadgenRecords(b, format)
		in := make([]applyFields, len(recs))
		for i := range recs {
			in[i] = fieldsOf(&recs[i])
		}
		for _, mode := range []string{"", "-cold", "-l1"} {
			in, lines, pollute := in, lines, 0
			switch mode {
			case "-cold":
				pollute = 128
			case "-l1":
				in, lines = in[:64], lines[:64]
			}
			for _, impl := range []string{"copy", "old", "new"} {
				b.Run(format+mode+"/"+impl, func(b *testing.B) {
					a, err := New(k, DefaultPolicy())
					if err != nil {
						b.Fatal(err)
					}
					var w applier
					switch impl {
					case "old":
						w = newRefShared(a).newWorker()
					case "new":
						w = a.NewWorker()
					}
					var r parsers.Record
					if w != nil {
						// Long enough for the Worker to take its front
						// cache and grow it as far as it will.
						for i := range max(len(in), 4*frontWindow) {
							in[i%len(in)].restore(&r)
							w.Apply(&r)
						}
					}
					b.ReportAllocs()
					b.ResetTimer()
					var sink byte
					for i := range b.N {
						// The record's text is in cache: the collector
						// has just parsed its line.
						line := lines[i%len(lines)]
						for j := 0; j < len(line); j += 64 {
							sink += line[j]
						}
						in[i%len(in)].restore(&r)
						if w != nil {
							w.Apply(&r)
						}
						pr.run(pollute)
					}
					runtime.KeepAlive(sink)
				})
			}
		}
	}
}
