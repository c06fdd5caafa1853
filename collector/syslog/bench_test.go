package syslog

import (
	"bufio"
	"context"
	"fmt"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// countHandler counts messages and does nothing else.
type countHandler struct{ n atomic.Int64 }

type countStream struct{ h *countHandler }

var (
	_ Handler = (*countHandler)(nil)
	_ Stream  = countStream{}
)

func (h *countHandler) Open(StreamInfo) Stream { return countStream{h} }

func (s countStream) Message(context.Context, []byte, bool, netip.AddrPort) error {
	s.h.n.Add(1)
	return nil
}

func (countStream) Close() {}

// BenchmarkTCPIngest measures messages/s through one TCP connection with a no-op handler.
func BenchmarkTCPIngest(b *testing.B) {
	body := "<134>1 2024-05-01T12:00:00.000Z fw01 fortigate - - - " +
		`date=2024-05-01 time=12:00:00 devname="fw01" type="traffic" subtype="forward" srcip=10.1.2.3 ` +
		`dstip=203.0.113.9 dstport=443 action="accept" sentbyte=1234 rcvdbyte=5678`
	for _, framing := range []string{"lf", "octet"} {
		b.Run(framing, func(b *testing.B) {
			h := &countHandler{}
			r, _ := start(b, Config{Handler: h})
			c := dial(b, r.Addr())
			msg := body + "\n"
			if framing == "octet" {
				msg = octet(body)
			}
			w := bufio.NewWriterSize(c, 64<<10)
			b.SetBytes(int64(len(msg)))
			b.ResetTimer()
			t0 := time.Now()
			for range b.N {
				if _, err := w.WriteString(msg); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				b.Fatal(err)
			}
			waitFor(b, "all messages", func() bool { return h.n.Load() == int64(b.N) })
			b.ReportMetric(float64(b.N)/time.Since(t0).Seconds(), "msgs/s")
		})
	}
}

func BenchmarkFramer(b *testing.B) {
	line := strings.Repeat("x", 200) + "\n"
	in := strings.Repeat(line, 1000)
	b.SetBytes(int64(len(in)))
	for range b.N {
		fr := newFramer(bufio.NewReaderSize(strings.NewReader(in), streamBufferSize), DefaultMaxMessageSize)
		n := 0
		for {
			if _, _, err := fr.next(); err != nil {
				break
			}
			n++
		}
		if n != 1000 {
			b.Fatal(fmt.Sprint("framed ", n))
		}
	}
}
