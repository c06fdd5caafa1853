// Package ciscoftd parses Cisco Firepower Threat Defense (FTD) syslog: the
// LINA messages FTD writes with the ASA text under "%FTD-" (parsed by the
// ciscoasa package) and the Firepower connection events 430002 (start) and
// 430003 (end), "Key: Value" lists carrying initiator/responder counters,
// the identified application, user and URL. FMC-forwarded and pre-6.3
// events tagged "SFIMS:" use the same lists without an "%FTD-" id.
package ciscoftd

import (
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/ciscoasa"
)

// Name is the registry name of the FTD format.
const Name = "cisco-ftd"

const (
	prefix    = "%FTD-"
	asaPrefix = "%ASA-"
	product   = "FTD"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      "Cisco",
		Product:     "Firepower Threat Defense",
		Description: "Cisco FTD connection events (430002/430003, SFIMS) and LINA connection/deny messages (%FTD-; %ASA- before 6.3)",
		New: func(o parsers.Options) (parsers.Parser, error) {
			return newParser(), nil
		},
		Detect: detect,
	})
}

type parser struct {
	asa *ciscoasa.Parser
}

var _ parsers.Parser = (*parser)(nil)

func newParser() *parser {
	return &parser{asa: ciscoasa.New(ciscoasa.Config{Name: Name, Prefix: prefix, Product: product})}
}

var (
	errNoID      = fmt.Errorf("%s: neither an %s<severity>-<id>: message id nor an SFIMS event: %w", Name, prefix, ciscoasa.ErrMalformed)
	errSkipSFIMS = fmt.Errorf("%w: SFIMS event that is not a connection event", parsers.ErrSkip)
)

func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	pre, id, text, ok := ciscoasa.Split(body, prefix)
	if !ok {
		// Before 6.3, FTD wrote its messages under the ASA prefix.
		pre, id, text, ok = ciscoasa.Split(body, asaPrefix)
	}
	if !ok {
		if isSFIMS(body, &m.Header) {
			if !hasConnKeys(body) {
				return errSkipSFIMS
			}
			return parseEvent(body, r)
		}
		return errNoID
	}
	var err error
	switch id {
	case "430002", "430003":
		if err = parseEvent(text, r); err != nil {
			err = fmt.Errorf("%s message %s: %w", Name, id, err)
		}
	case "430001", "430004", "430005":
		err = fmt.Errorf("%w: %s message %s is an intrusion or file event", parsers.ErrSkip, Name, id)
	default:
		err = p.asa.ParseMessage(id, text, r)
	}
	if err != nil {
		return err
	}
	ciscoasa.ApplyPrefix(pre, m, r)
	ciscoasa.FixUTCHeader(&m.Header, r)
	return nil
}

// isSFIMS tells the FMC/legacy form: tag "SFIMS" or a body that starts with
// the connection-event keys.
func isSFIMS(body string, h *parsers.Header) bool {
	return h.AppName == "SFIMS" || strings.HasPrefix(body, "SFIMS: ")
}

// hasConnKeys reports whether a key: value list names both endpoints.
func hasConnKeys(s string) bool {
	return strings.Contains(s, "SrcIP: ") && strings.Contains(s, "DstIP: ")
}

func detect(body string, h *parsers.Header) int {
	if ciscoasa.HasID(body, prefix) {
		return 95
	}
	// Firepower events exist only on FTD (and ASA FirePOWER services);
	// before 6.3 they came with the ASA prefix.
	if id, _, ok := ciscoasa.SplitID(body, asaPrefix); ok && len(id) == 6 && id[:5] == "43000" {
		return 96
	}
	if isSFIMS(body, h) {
		if hasConnKeys(body) {
			return 90
		}
		return 80 // other Firepower events: claimed, then skipped
	}
	return 0
}
