// Package leef parses IBM QRadar Log Event Extended Format messages (LEEF
// 1.0 and 2.0) from any vendor ("leef"). Vendors with their own format claim
// their LEEF lines in auto-detection; this parser maps the predefined keys.
package leef

import (
	"fmt"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/cefleef"
)

// Name is the registry name of the format.
const Name = "leef"

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      "IBM QRadar",
		Product:     "Log Event Extended Format",
		Description: "generic LEEF 1.0/2.0 (tab or declared delimiter, devTime/devTimeFormat) from any device",
		New:         New,
		Detect:      Detect,
	})
}

type parser struct{ ev cefleef.Event }

var _ parsers.Parser = (*parser)(nil)

// New returns a LEEF parser for one stream.
func New(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

// Detect scores a body that carries a LEEF header, below any vendor parser
// that recognizes its own vendor and product.
func Detect(body string, _ *parsers.Header) int {
	i := cefleef.IndexLEEF(body)
	switch {
	case i < 0:
		return 0
	case i == 0:
		return 55
	}
	return 50
}

// Parse maps one LEEF message. Messages without any address, host or URL
// are not traffic events and return parsers.ErrSkip.
func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	l, err := cefleef.SplitLEEF(body)
	if err != nil {
		return fmt.Errorf("leef: %w", err)
	}
	e := &p.ev
	e.Reset()
	it := l.Iter()
	for it.Next() {
		e.ApplyLEEF(r, it.Key(), it.Value())
	}
	// LEEF defines srcBytes/dstBytes by sender; "in"/"out" are not LEEF keys.
	e.Finish(r, m, cefleef.InFromSource)
	if r.EventAction == "" {
		// Many producers put the verdict in the event ID (Check Point,
		// Forcepoint "transaction:blocked").
		if v := cefleef.Verdict(l.EventID); v != parsers.VerdictUnknown {
			r.EventAction, r.Verdict = l.EventID, v
		}
	}
	if !cefleef.HasEndpoint(r) {
		return fmt.Errorf("%w: leef event %q without network fields", parsers.ErrSkip, l.EventID)
	}
	r.ObserverVendor = cefleef.OrDefault(l.Vendor, "unknown")
	r.ObserverProduct = cefleef.OrDefault(l.Product, "LEEF")
	cefleef.WebOrNetwork(r)
	return nil
}
