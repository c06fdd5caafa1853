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
func Detect(body string, h *parsers.Header) int {
	i := cefleef.LocateCEF(body, h)
	switch {
	case i < 0:
		return 0
	case i == 0:
		return 55
	}
	return 50
}

// Parse maps one CEF message. Messages that name no destination (address,
// host or URL), and administrative, authentication and system events, are
// not traffic events and return parsers.ErrSkip.
func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	c, err := cefleef.SplitCEFHeader(body, &m.Header)
	if err != nil {
		return fmt.Errorf("cef: %w", err)
	}
	e := &p.ev
	e.Reset()
	dir, appIsApp := vendorRules(c.Vendor, c.Product)
	it := cefleef.NewExt(c.Ext)
	for it.Next() {
		switch k := it.Key(); k {
		case "deviceExternalId":
			r.ObserverSerial = parsers.Clean(it.Value())
		case "app", "applicationProtocol":
			if appIsApp {
				r.NetworkApplication = parsers.Clean(it.Value())
			} else {
				e.ApplyCEF(r, k, it.Value())
			}
		default:
			e.ApplyCEF(r, k, it.Value())
		}
	}
	e.Finish(r, m, dir)
	if !cefleef.HasDestination(r) {
		return fmt.Errorf("%w: cef event %q names no destination", parsers.ErrSkip, c.Name)
	}
	if cefleef.NonTrafficName(c.Name) {
		return fmt.Errorf("%w: cef event %q is an administrative or system event", parsers.ErrSkip, c.Name)
	}
	if r.EventAction == "" {
		// No act: the event name often says what happened ("Connection
		// blocked").
		if w, v := cefleef.VerdictWord(c.Name); v != parsers.VerdictUnknown {
			r.EventAction, r.Verdict = w, v
		}
	}
	cefleef.DestinationFromURL(r)
	r.ObserverVendor = cefleef.OrDefault(c.Vendor, "unknown")
	r.ObserverProduct = cefleef.OrDefault(c.Product, "CEF")
	cefleef.WebOrNetwork(r)
	return nil
}

// vendorRules returns how a vendor's CEF differs from the ArcSight key
// definitions. Generic CEF follows ArcSight (in = bytes from source to
// destination) unless the vendor documents otherwise: Palo Alto Networks
// (in = bytes_received, out = bytes_sent, app = the App-ID), Fortinet
// (in = rcvdbyte, out = sentbyte), Zscaler NSS (in = response size, out =
// request size) and Forcepoint/Websense Web Security (in = bytesReceived,
// out = bytesSent) write in/out from the client's side. Those vendors
// mostly have formats of their own; this keeps "cef" right for them too.
func vendorRules(vendor, product string) (dir cefleef.InDirection, appIsApp bool) {
	var b [32]byte
	switch string(cefleef.Fold(vendor, &b)) {
	case "palo alto networks":
		return cefleef.InToClient, true
	case "fortinet", "zscaler":
		return cefleef.InToClient, false
	case "forcepoint", "websense":
		// Web Security only: the NGFW ("Firewall") documents no such rule.
		if p := string(cefleef.Fold(product, &b)); p == "security" || p == "web security" {
			return cefleef.InToClient, false
		}
	}
	return cefleef.InFromSource, false
}
