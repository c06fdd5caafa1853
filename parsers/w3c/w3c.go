// Package w3c parses W3C extended log files (IIS and any writer that
// follows the W3C draft: #Fields-driven, space-separated, quoted values).
//
// It also exports the W3C machinery the ELFF-based vendor parsers share
// (bluecoat, cisco-wsa): field identifiers (Field, FieldID), layouts
// (Layout, Row), the tokenizer (Split), per-stream directive state
// (Stream) and the mapping of the common fields to a record (Map).
package w3c

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
)

const (
	name    = "w3c"
	vendor  = "W3C"
	product = "Extended Log File Format"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        name,
		Vendor:      vendor,
		Product:     product,
		Description: "W3C extended log files (IIS and other #Fields-driven web logs)",
		New:         newParser,
		Detect:      detect,
	})
}

// The IIS default field lists, used until a stream sends #Fields (syslog
// forwarders often drop the directives). IIS 8.5 added cs(Referer).
var (
	iisDefault = MustLayout("date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query",
		"s-port", "cs-username", "c-ip", "cs(User-Agent)", "cs(Referer)", "sc-status",
		"sc-substatus", "sc-win32-status", "time-taken")
	iis7Default = MustLayout("date", "time", "s-ip", "cs-method", "cs-uri-stem", "cs-uri-query",
		"s-port", "cs-username", "c-ip", "cs(User-Agent)", "sc-status",
		"sc-substatus", "sc-win32-status", "time-taken")
)

var errNoEndpoint = errors.New("w3c: line names no client and no URL")

type parser struct {
	s Stream
	// software is the #Software value iis was computed from: the
	// directive comes once per file, the lines by the thousand.
	software string
	iis      bool
}

var _ parsers.Parser = (*parser)(nil)

func newParser(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	body := strings.TrimLeft(line, " \t")
	if body == "" {
		return fmt.Errorf("%w: empty line", parsers.ErrSkip)
	}
	if IsDirective(body) {
		return p.s.SkipDirective(body, name)
	}
	toks, err := p.s.Tokens(body, &m.Header)
	if err != nil {
		return err
	}
	layout := p.s.Fields
	if layout == nil {
		switch toks.Len() {
		case iisDefault.Len():
			layout = iisDefault
		case iis7Default.Len():
			layout = iis7Default
		default:
			return fmt.Errorf("w3c: %d fields and no #Fields directive yet (the IIS default has %d)", toks.Len(), iisDefault.Len())
		}
	}
	row, err := layout.Row(toks)
	if err != nil {
		return err
	}
	if err := Map(row, &p.s, Server, m, r); err != nil {
		return err
	}
	if !r.SourceIP.IsValid() && r.URLOriginal == "" && r.DestinationDomain == "" {
		return errNoEndpoint
	}
	r.UserAgent = plusToSpace(r.UserAgent)
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	if p.s.Software != p.software {
		p.software = p.s.Software
		p.iis = strings.Contains(p.software, "Internet Information Services")
	}
	if p.iis {
		r.ObserverVendor, r.ObserverProduct = "Microsoft", "IIS"
	}
	return nil
}

// plusToSpace undoes the IIS encoding of spaces in cs(User-Agent): IIS
// writes "Mozilla/5.0+(Windows+NT+10.0)" for "Mozilla/5.0 (Windows NT 10.0)"
// so the field needs no quotes. A value that has spaces was written by
// another W3C writer that quotes instead, and is kept as logged.
func plusToSpace(ua string) string {
	if strings.IndexByte(ua, '+') < 0 || strings.IndexByte(ua, ' ') >= 0 {
		return ua
	}
	// One allocation, copying the runs between pluses in bulk.
	return strings.ReplaceAll(ua, "+", " ")
}

// detect: the IIS #Software line is this format's own marker; a #Fields
// line naming no vendor-specific field and a data line starting with a
// W3C date and time are generic W3C and score in the middle, below the
// vendors (ProxySG, Cisco WSA) that claim their own field sets. Other
// directives (#Version, #Date) score nothing, so the auto parser hands
// them to the stream's previous format.
func detect(body string, h *parsers.Header) int {
	if IsDirective(body) {
		switch {
		case strings.HasPrefix(body, "#Software: Microsoft Internet Information Services"):
			return 90
		case strings.HasPrefix(body, "#Fields:"):
			if VendorFields(body) {
				return 0
			}
			return 60
		}
		return 0
	}
	if StartsWithDateTime(body) || DateInHostname(body, h) {
		return 45
	}
	return 0
}

// VendorFields reports whether a #Fields line names fields that only
// ProxySG or Cisco WSA write; the generic format leaves those to them.
func VendorFields(body string) bool {
	for _, f := range [...]string{" sc-filter-result", " x-bluecoat-", " x-exception-id", " cs-categories",
		" s-supplier-", " x-virus-id", " x-acltag", " x-resultcode-httpstatus", " x-hierarchy-origin",
		" x-webcat-", " x-avc-"} {
		if strings.Contains(body, f) {
			return true
		}
	}
	return false
}

// StartsWithDateTime reports whether s starts with "2006-01-02 15:04:05"
// followed by a separator, the first columns of most W3C layouts.
func StartsWithDateTime(s string) bool {
	if len(s) < 20 || s[19] != ' ' && s[19] != '\t' && s[19] != '.' {
		return false
	}
	if _, _, _, ok := parseDate(s[:10]); !ok || s[10] != ' ' {
		return false
	}
	_, _, _, _, ok := parseClock(s[11:19])
	return ok
}
