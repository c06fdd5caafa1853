// Package bluecoat parses Blue Coat / Symantec / Broadcom ProxySG access
// logs in ELFF form: the bcreportermain_v1 and main formats, from files
// with #Fields directives or from syslog streams without them.
package bluecoat

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/w3c"
)

const (
	name    = "bluecoat"
	vendor  = "Broadcom"
	product = "ProxySG"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        name,
		Vendor:      vendor,
		Product:     product,
		Description: "Blue Coat / Symantec ProxySG access logs (ELFF bcreportermain_v1 and main)",
		New:         newParser,
		Detect:      detect,
	})
}

// Default layouts for streams without #Fields, told apart by their column
// count: bcreportermain_v1 (SGOS 7, 42 columns), the main format of SGOS
// 6.7+ (24 columns) and the main format of SGOS 5/6 (25 columns, with
// s-hierarchy before s-supplier-name), in the order ProxySG documents and
// Elastic's pipelines read.
var (
	reporterMainV1 = w3c.MustLayout("date", "time", "time-taken", "c-ip", "cs-username",
		"cs-auth-group", "s-supplier-name", "s-supplier-ip", "s-supplier-country",
		"s-supplier-failures", "x-exception-id", "sc-filter-result", "cs-categories",
		"cs(Referer)", "sc-status", "s-action", "cs-method", "rs(Content-Type)",
		"cs-uri-scheme", "cs-host", "cs-uri-port", "cs-uri-path", "cs-uri-query",
		"cs-uri-extension", "cs(User-Agent)", "s-ip", "sc-bytes", "cs-bytes", "x-virus-id",
		"cs-threat-source", "cs-threat-id", "rs-threat-source", "rs-threat-id",
		"x-bluecoat-application-name", "x-bluecoat-application-operation",
		"x-bluecoat-application-groups", "cs-threat-risk",
		"x-bluecoat-access-security-policy-action", "x-bluecoat-access-security-policy-reason",
		"x-bluecoat-transaction-uuid", "x-icap-reqmod-header(X-ICAP-Metadata)",
		"x-icap-respmod-header(X-ICAP-Metadata)")
	mainLayout = w3c.MustLayout("date", "time", "time-taken", "c-ip", "sc-status", "s-action",
		"sc-bytes", "cs-bytes", "cs-method", "cs-uri-scheme", "cs-host", "cs-uri-port",
		"cs-uri-path", "cs-uri-query", "cs-username", "cs-auth-group", "s-supplier-name",
		"rs(Content-Type)", "cs(Referer)", "cs(User-Agent)", "sc-filter-result",
		"cs-categories", "x-virus-id", "s-ip")
	mainHierarchy = w3c.MustLayout("date", "time", "time-taken", "c-ip", "sc-status", "s-action",
		"sc-bytes", "cs-bytes", "cs-method", "cs-uri-scheme", "cs-host", "cs-uri-port",
		"cs-uri-path", "cs-uri-query", "cs-username", "cs-auth-group", "s-hierarchy",
		"s-supplier-name", "rs(Content-Type)", "cs(Referer)", "cs(User-Agent)",
		"sc-filter-result", "cs-categories", "x-virus-id", "s-ip")
)

var errNoEndpoint = errors.New("bluecoat: line names no client and no URL")

type parser struct {
	s w3c.Stream
}

var _ parsers.Parser = (*parser)(nil)

func newParser(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	body := strings.TrimLeft(line, " \t")
	if body == "" {
		return fmt.Errorf("%w: empty line", parsers.ErrSkip)
	}
	if w3c.IsDirective(body) {
		return p.s.SkipDirective(body, name)
	}
	toks, err := p.s.Tokens(body, &m.Header)
	if err != nil {
		return fmt.Errorf("bluecoat: %w", err)
	}
	layout := p.s.Fields
	if layout == nil {
		switch toks.Len() {
		case reporterMainV1.Len():
			layout = reporterMainV1
		case mainLayout.Len():
			layout = mainLayout
		case mainHierarchy.Len():
			layout = mainHierarchy
		default:
			return fmt.Errorf("bluecoat: %d fields and no #Fields directive (bcreportermain_v1 has %d, main %d or %d)",
				toks.Len(), reporterMainV1.Len(), mainLayout.Len(), mainHierarchy.Len())
		}
	}
	row, err := layout.Row(toks)
	if err != nil {
		return fmt.Errorf("bluecoat: %w", err)
	}
	if err := w3c.Map(row, &p.s, w3c.Proxy, m, r); err != nil {
		return fmt.Errorf("bluecoat: %w", err)
	}
	if !r.SourceIP.IsValid() && r.URLOriginal == "" && r.DestinationDomain == "" {
		return errNoEndpoint
	}
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	verdict(row, r)
	// ProxySG writes "unavailable" when the categorization service failed.
	if c := row.Value(w3c.Categories); !strings.EqualFold(c, "unavailable") {
		r.URLCategory = c
	}
	r.NetworkApplication = row.Value(w3c.AppName)
	if r.NetworkApplication != "" {
		r.AppCategory = row.Value(w3c.AppGroups)
	}
	r.ThreatName = row.Value(w3c.VirusID)
	return nil
}

// verdict maps the proxy's decision. sc-filter-result is the policy
// outcome (OBSERVED and PROXIED pass, DENIED blocks); a policy exception
// (policy_denied, authentication_failed, virus_detected...) means the proxy
// answered with an exception page instead of the content, and a *_DENIED
// cache action is a refusal too. Exceptions that report a failure to reach
// the server (DNS, TCP, gateway errors) are no policy decision: the filter
// result stands for them. event.action keeps the most specific word.
func verdict(row w3c.Row, r *parsers.Record) {
	filter := row.Value(w3c.FilterResult)
	exception := row.Value(w3c.ExceptionID)
	action := row.Value(w3c.SAction)
	switch {
	case exception != "":
		r.EventAction = exception
	case filter != "":
		r.EventAction = filter
	default:
		r.EventAction = action
	}
	switch {
	case strings.EqualFold(filter, "DENIED"), exception != "" && !errorException(exception), strings.HasSuffix(action, "_DENIED"):
		r.Verdict = parsers.Denied
	case strings.EqualFold(filter, "OBSERVED"), strings.EqualFold(filter, "PROXIED"):
		r.Verdict = parsers.Allowed
	case !row.L.Has(w3c.FilterResult) && action != "" && exception == "":
		// Layouts without sc-filter-result: a cache action that is not a
		// denial means the request was served.
		r.Verdict = parsers.Allowed
	}
}

// errorException reports whether a built-in ProxySG exception id names a
// failure to fetch the content rather than a policy decision.
func errorException(id string) bool {
	switch id {
	case "dns_unresolved_hostname", "dns_server_failure", "tcp_error", "gateway_error", "gateway_timeout",
		"internal_error", "invalid_response", "icap_error", "icap_communication_error",
		"server_request_limit_exceeded", "unsupported_encoding", "transformation_error":
		return true
	}
	return false
}

// detect claims ProxySG's own markers: the SGOS #Software line, #Fields
// lines with ProxySG-only fields, and data lines that start with the ELFF
// date and time and carry a filter result next to a cache action.
func detect(body string, h *parsers.Header) int {
	if w3c.IsDirective(body) {
		switch {
		case strings.HasPrefix(body, "#Software: SGOS"):
			return 95
		case strings.HasPrefix(body, "#Fields:"):
			for _, f := range [...]string{" sc-filter-result", " x-bluecoat-", " x-exception-id", " cs-categories", " s-supplier-"} {
				if strings.Contains(body, f) {
					return 95
				}
			}
		}
		return 0
	}
	if !w3c.StartsWithDateTime(body) && !w3c.DateInHostname(body, h) {
		return 0
	}
	hasFilter := strings.Contains(body, " OBSERVED ") || strings.Contains(body, " PROXIED ") || strings.Contains(body, " DENIED ")
	hasAction := strings.Contains(body, " TCP_") || strings.Contains(body, " SSL_") || strings.Contains(body, " UDP_")
	if hasFilter && hasAction {
		return 92
	}
	return 0
}
