// Package iboss parses iboss cloud gateway SIEM output ("iboss") sent as
// CEF or LEEF with iboss in the vendor header field.
//
// No iboss field reference was available (see formats.md "iboss"): only
// the standard CEF and LEEF keys are mapped, with their standard meanings
// (CEF in = bytes from source to destination, LEEF srcBytes = sent by the
// source), plus deviceEventCategory (cat) as the URL category, which is
// what a web gateway categorizes.
package iboss

import (
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/cefleef"
)

// Name is the registry name of the format.
const Name = "iboss"

const (
	vendor  = "iboss"
	product = "iboss Cloud Platform"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      vendor,
		Product:     product,
		Description: "iboss cloud secure web gateway: CEF and LEEF with standard keys",
		New:         New,
		Detect:      Detect,
	})
}

type parser struct{ ev cefleef.Event }

var _ parsers.Parser = (*parser)(nil)

// New returns an iboss parser for one stream.
func New(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

// Detect claims CEF and LEEF messages whose vendor field starts with iboss.
func Detect(body string, h *parsers.Header) int {
	i := cefleef.LocateCEF(body, h)
	if i < 0 {
		i = cefleef.LocateLEEF(body, h)
	}
	if i < 0 {
		return 0
	}
	if v, ok := cefleef.HeaderField(body, i, 0); ok && isIboss(v) {
		return 95
	}
	return 0
}

func isIboss(v string) bool {
	v = strings.TrimSpace(v)
	return len(v) >= 5 && strings.EqualFold(v[:5], "iboss")
}

// Parse maps one iboss web event. Events that name no destination
// (address, host or URL) and administrative or system events return
// parsers.ErrSkip.
func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	e := &p.ev
	e.Reset()
	var name, prod string
	h := &m.Header
	if cefleef.LocateCEF(body, h) >= 0 {
		c, err := cefleef.SplitCEFHeader(body, h)
		if err != nil {
			return fmt.Errorf("iboss: %w", err)
		}
		name, prod = c.Name, c.Product
		it := cefleef.NewExt(c.Ext)
		for it.Next() {
			switch k, v := it.Key(), it.Value(); k {
			case "cat", "deviceEventCategory":
				r.URLCategory = parsers.Clean(v)
			case "deviceExternalId":
				r.ObserverSerial = parsers.Clean(v)
			default:
				e.ApplyCEF(r, k, v)
			}
		}
	} else {
		l, err := cefleef.SplitLEEFHeader(body, h)
		if err != nil {
			return fmt.Errorf("iboss: %w", err)
		}
		name, prod = l.EventID, l.Product
		it := l.Iter()
		for it.Next() {
			switch k, v := it.Key(), it.Value(); k {
			case "cat":
				r.URLCategory = parsers.Clean(v)
			default:
				e.ApplyLEEF(r, k, v)
			}
		}
	}
	e.Finish(r, m, cefleef.InFromSource)
	if !cefleef.HasDestination(r) {
		return fmt.Errorf("%w: iboss event %q names no destination", parsers.ErrSkip, name)
	}
	if cefleef.NonTrafficName(name) {
		return fmt.Errorf("%w: iboss event %q is an administrative or system event", parsers.ErrSkip, name)
	}
	if r.EventAction == "" {
		if w, v := cefleef.VerdictWord(name); v != parsers.VerdictUnknown {
			r.EventAction, r.Verdict = w, v
		}
	}
	cefleef.DestinationFromURL(r)
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	if prod = strings.TrimSpace(prod); prod != "" {
		r.ObserverProduct = prod
	}
	r.Category = "web"
	return nil
}
