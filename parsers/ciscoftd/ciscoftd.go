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
	prefix  = "%FTD-"
	product = "FTD"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      "Cisco",
		Product:     "Firepower Threat Defense",
		Description: "Cisco FTD connection events (430002/430003, SFIMS) and LINA connection/deny messages (%FTD-)",
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
	id, text, ok := ciscoasa.SplitID(body, prefix)
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
	if isSFIMS(body, h) {
		if hasConnKeys(body) {
			return 90
		}
		return 80 // other Firepower events: claimed, then skipped
	}
	return 0
}
