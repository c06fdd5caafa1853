// Package leef parses IBM QRadar Log Event Extended Format messages (LEEF
// 1.0 and 2.0) from any vendor ("leef"). Vendors with their own format claim
// their LEEF lines in auto-detection; this parser maps the predefined keys.
package leef

import (
	"fmt"
	"strings"

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
func Detect(body string, h *parsers.Header) int {
	i := cefleef.LocateLEEF(body, h)
	switch {
	case i < 0:
		return 0
	case i == 0:
		return 55
	}
	return 50
}

// Parse maps one LEEF message. Messages that name no destination (address,
// host or URL), and administrative, authentication and system events, are
// not traffic events and return parsers.ErrSkip.
func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	l, err := cefleef.SplitLEEFHeader(body, &m.Header)
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
	if !cefleef.HasDestination(r) {
		return fmt.Errorf("%w: leef event %q names no destination", parsers.ErrSkip, l.EventID)
	}
	if cefleef.NonTrafficName(l.EventID) {
		return fmt.Errorf("%w: leef event %q is an administrative or system event", parsers.ErrSkip, l.EventID)
	}
	if r.EventAction == "" {
		// Many producers put the verdict in the event ID (Check Point
		// "Accept", Forcepoint "transaction:blocked", "Connection_Allowed").
		v := cefleef.Verdict(l.EventID)
		if v == parsers.VerdictUnknown {
			_, v = cefleef.VerdictWord(l.EventID)
		}
		if v != parsers.VerdictUnknown {
			r.EventAction, r.Verdict = strings.TrimSpace(l.EventID), v
		}
	}
	cefleef.DestinationFromURL(r)
	r.ObserverVendor = cefleef.OrDefault(l.Vendor, "unknown")
	r.ObserverProduct = cefleef.OrDefault(l.Product, "LEEF")
	cefleef.WebOrNetwork(r)
	return nil
}
