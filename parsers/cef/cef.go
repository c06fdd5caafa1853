// Package cef parses ArcSight Common Event Format messages from any vendor
// ("cef"). Vendors with their own format (Check Point, Forcepoint, McAfee Web
// Gateway, iboss) claim their CEF lines in auto-detection; this parser maps
// the standard keys only.
package cef

import (
	"fmt"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/cefleef"
)

// Name is the registry name of the format.
const Name = "cef"

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      "ArcSight",
		Product:     "Common Event Format",
		Description: "generic CEF (CEF:0/1 header and standard extension keys) from any device",
		New:         New,
		Detect:      Detect,
	})
}

type parser struct{ ev cefleef.Event }

var _ parsers.Parser = (*parser)(nil)

// New returns a CEF parser for one stream.
func New(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

// Detect scores a body that carries a CEF header. Generic CEF scores below
// any vendor parser that recognizes its own vendor and product.
func Detect(body string, _ *parsers.Header) int {
	i := cefleef.IndexCEF(body)
	switch {
	case i < 0:
		return 0
	case i == 0:
		return 55
	}
	return 50
}

// Parse maps one CEF message. Messages without any address, host or URL are
// not traffic events and return parsers.ErrSkip.
func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	c, err := cefleef.SplitCEF(body)
	if err != nil {
		return fmt.Errorf("cef: %w", err)
	}
	e := &p.ev
	e.Reset()
	it := cefleef.NewExt(c.Ext)
	for it.Next() {
		switch k := it.Key(); k {
		case "deviceExternalId":
			r.ObserverSerial = parsers.Clean(it.Value())
		default:
			e.ApplyCEF(r, k, it.Value())
		}
	}
	// Generic CEF follows the ArcSight definition of in/out; vendors that
	// document the opposite have their own formats.
	e.Finish(r, m, cefleef.InFromSource)
	if !cefleef.HasEndpoint(r) {
		return fmt.Errorf("%w: cef event %q without network fields", parsers.ErrSkip, c.Name)
	}
	r.ObserverVendor = cefleef.OrDefault(c.Vendor, "unknown")
	r.ObserverProduct = cefleef.OrDefault(c.Product, "CEF")
	cefleef.WebOrNetwork(r)
	return nil
}
