// Package mcafeemwg parses McAfee / Skyhigh Web Gateway logs
// ("mcafee-mwg"): the SIEM key=value form "McAfeeWG|time_stamp=[...]|...|"
// (McAfee community DOC-5206 syslog rule set), the default access.log line
// (header "time_stamp "auth_user" src_ip status_code "req_line" "categories"
// "rep_level" "media_type" bytes_to_client "user_agent" "virus_name"
// "block_res""), and the CEF and LEEF log handlers.
//
// block_res is MWG's block reason code: 0 means the request was allowed,
// any other code (10 URL filter, 80/81 authentication, ...) that it was
// blocked.
package mcafeemwg

import (
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/cefleef"
)

// Name is the registry name of the format.
const Name = "mcafee-mwg"

const (
	vendor  = "McAfee"
	product = "Web Gateway"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      "McAfee / Skyhigh Security",
		Product:     product,
		Description: "McAfee/Skyhigh Web Gateway: McAfeeWG| key=value syslog, default access.log, CEF and LEEF",
		New:         New,
		Detect:      Detect,
	})
}

type parser struct {
	ev      cefleef.Event
	blockRe string
	// vendor and product from a CEF/LEEF header (Skyhigh Security after
	// the rebranding), else the McAfee names.
	vendor, product string
}

var _ parsers.Parser = (*parser)(nil)

// New returns an MWG parser for one stream.
func New(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

// Detect claims the McAfeeWG| prefix, CEF/LEEF from McAfee or Skyhigh with
// a Web Gateway product, and the default access.log line shape.
func Detect(body string, h *parsers.Header) int {
	if strings.HasPrefix(body, "McAfeeWG|") {
		return 95
	}
	i := cefleef.LocateCEF(body, h)
	if i < 0 {
		i = cefleef.LocateLEEF(body, h)
	}
	if i >= 0 {
		v, ok1 := cefleef.HeaderField(body, i, 0)
		p, ok2 := cefleef.HeaderField(body, i, 1)
		if ok1 && ok2 && ours(v, p) {
			return 95
		}
		return 0
	}
	if accessLine(body) || accessHeader(body) {
		if h.AppName == "mwg" {
			return 90
		}
		return 70
	}
	if strings.HasPrefix(h.AppName, "mwg") {
		// The appliance's other messages on the same stream: claimed so
		// that they are skipped rather than left unrecognized.
		return 60
	}
	return 0
}

func ours(v, p string) bool {
	v = strings.TrimSpace(v)
	return (strings.EqualFold(v, "McAfee") || strings.HasPrefix(v, "Skyhigh")) && strings.Contains(p, "Web Gateway")
}

// accessLine matches `[dd/Mon/yyyy:hh:mm:ss +zzzz] "`.
func accessLine(s string) bool {
	return len(s) > 30 && s[0] == '[' && s[3] == '/' && s[7] == '/' && s[12] == ':' && s[21] == ' ' &&
		s[27] == ']' && s[28] == ' ' && s[29] == '"'
}

// accessHeader matches the access.log header line.
func accessHeader(s string) bool {
	return strings.HasPrefix(s, "#time_stamp") || strings.HasPrefix(s, "# time_stamp")
}

// Parse maps one MWG request. The access.log header line returns
// parsers.ErrSkip, as do CEF/LEEF records without a request.
func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	p.ev.Reset()
	p.blockRe = ""
	p.vendor, p.product = vendor, product
	var err error
	switch {
	case strings.HasPrefix(body, "McAfeeWG|"):
		err = p.parseKV(body[len("McAfeeWG|"):], m, r)
	case cefleef.LocateCEF(body, &m.Header) >= 0:
		err = p.parseCEF(body, m, r)
	case cefleef.LocateLEEF(body, &m.Header) >= 0:
		err = p.parseLEEF(body, m, r)
	case accessHeader(body):
		return fmt.Errorf("%w: mcafee web gateway access.log header", parsers.ErrSkip)
	case len(body) > 0 && body[0] == '[':
		err = p.parseAccess(body, m, r)
	case strings.HasPrefix(m.Header.AppName, "mwg"):
		// The appliance's own messages (service and audit events) share
		// the access log's syslog stream.
		return fmt.Errorf("%w: mcafee web gateway system message", parsers.ErrSkip)
	default:
		return fmt.Errorf("mcafee-mwg: unrecognized log line")
	}
	if err != nil {
		return err
	}
	if r.URLOriginal == "" && r.DestinationDomain == "" && !r.DestinationIP.IsValid() {
		return fmt.Errorf("%w: mcafee web gateway record without a request", parsers.ErrSkip)
	}
	cefleef.DestinationFromURL(r)
	p.verdict(r)
	r.ObserverVendor = p.vendor
	r.ObserverProduct = p.product
	r.Category = "web"
	return nil
}

// verdict applies block_res: 0 allowed, any other code blocked.
func (p *parser) verdict(r *parsers.Record) {
	code := strings.TrimSpace(p.blockRe)
	if code == "" || parsers.IsEmpty(code) {
		return
	}
	if code == "0" {
		r.Verdict = parsers.Allowed
	} else if parsers.ParseNum(code).Set {
		r.Verdict = parsers.Denied
	}
}

// parseKV reads `key=value|key=value|`. Values are not escaped, so a '|'
// not followed by a known-looking "key=" belongs to the value (a URL or
// file name holding '|').
func (p *parser) parseKV(s string, m *parsers.Meta, r *parsers.Record) error {
	n := 0
	for len(s) > 0 {
		eq := strings.IndexByte(s, '=')
		if eq <= 0 {
			break
		}
		key := s[:eq]
		rest := s[eq+1:]
		end := nextKV(rest)
		val := rest
		if end >= 0 {
			val, s = rest[:end], rest[end+1:]
		} else {
			val, s = strings.TrimSuffix(rest, "|"), ""
		}
		p.kv(key, val, m, r)
		n++
	}
	if n == 0 {
		return fmt.Errorf("mcafee-mwg: no key=value pairs")
	}
	return nil
}

// nextKV returns the index of the '|' that starts the next "key=" in s, or
// -1.
func nextKV(s string) int {
	off := 0
	for {
		i := strings.IndexByte(s[off:], '|')
		if i < 0 {
			return -1
		}
		i += off
		k := i + 1
		for k < len(s) && (s[k] >= 'a' && s[k] <= 'z' || s[k] >= 'A' && s[k] <= 'Z' || s[k] >= '0' && s[k] <= '9' || s[k] == '_') {
			k++
		}
		if k == len(s) || (k > i+1 && s[k] == '=') {
			return i // the trailing '|' or a real next key
		}
		off = i + 1
	}
}

func (p *parser) kv(k, v string, m *parsers.Meta, r *parsers.Record) {
	switch k {
	case "time_stamp":
		if t, ok := parsers.ParseTime(strings.Trim(v, "[]"), m.Location); ok {
			r.Timestamp = t
		}
	case "auth_user":
		parsers.SetUser(r, v)
	case "src_ip":
		r.SourceIP = cefleef.IP(v)
	case "server_ip":
		r.DestinationIP = cefleef.IP(v)
	case "host":
		r.DestinationDomain = parsers.Clean(v)
	case "url_port":
		r.DestinationPort = parsers.ParsePort(v)
	case "status_code":
		r.HTTPStatus = parsers.ParseStatus(v)
	case "bytes_from_client":
		r.SourceBytes = parsers.ParseNum(v)
	case "bytes_to_client":
		r.DestinationBytes = parsers.ParseNum(v)
	case "categories":
		r.URLCategory = parsers.Clean(v)
	case "method":
		r.HTTPMethod = parsers.Clean(v)
	case "url":
		parsers.SetURL(r, v)
	case "media_type":
		r.HTTPContentType = parsers.Clean(v)
	case "application_name":
		r.NetworkApplication = parsers.Clean(v)
	case "user_agent":
		r.UserAgent = parsers.Clean(v)
	case "block_res":
		p.blockRe = v
	case "block_reason":
		r.EventAction = parsers.Clean(v)
	case "virus_name":
		r.ThreatName = parsers.Clean(v)
	}
}

// Access log columns, in the default log line's order.
const (
	colTime = iota
	colUser
	colSrc
	colStatus
	colReqLine
	colCategories
	colRep
	colMedia
	colBytesToClient
	colUA
	colVirus
	colBlockRes
	numCols
)

// parseAccess reads the default access.log line. Quoted columns are not
// escaped by MWG, so a quote ends a column only when a space or the end
// of the line follows it.
func (p *parser) parseAccess(s string, m *parsers.Meta, r *parsers.Record) error {
	var col [numCols]string
	n := 0
	for n < numCols {
		s = strings.TrimLeft(s, " ")
		if s == "" {
			break
		}
		switch s[0] {
		case '[':
			end := strings.IndexByte(s, ']')
			if end < 0 {
				return fmt.Errorf("mcafee-mwg: unterminated [time]")
			}
			col[n], s = s[1:end], s[end+1:]
		case '"':
			end := closingQuote(s)
			if end < 0 {
				return fmt.Errorf("mcafee-mwg: unterminated quoted column %d", n+1)
			}
			col[n], s = s[1:end], s[end+1:]
		default:
			end := strings.IndexByte(s, ' ')
			if end < 0 {
				end = len(s)
			}
			col[n], s = s[:end], s[end:]
		}
		n++
	}
	if n < numCols {
		return fmt.Errorf("mcafee-mwg: access.log line has %d of %d columns", n, numCols)
	}
	t, ok := parsers.ParseTime(col[colTime], m.Location)
	if !ok {
		return fmt.Errorf("mcafee-mwg: bad time_stamp %q", col[colTime])
	}
	r.Timestamp = t
	parsers.SetUser(r, col[colUser])
	r.SourceIP = cefleef.IP(col[colSrc])
	r.HTTPStatus = parsers.ParseStatus(col[colStatus])
	requestLine(r, col[colReqLine])
	r.URLCategory = parsers.Clean(col[colCategories])
	r.HTTPContentType = parsers.Clean(col[colMedia])
	// The default line logs only bytes_to_client: what the server sent.
	r.DestinationBytes = parsers.ParseNum(col[colBytesToClient])
	r.UserAgent = parsers.Clean(col[colUA])
	r.ThreatName = parsers.Clean(col[colVirus])
	p.blockRe = col[colBlockRes]
	return nil
}

// closingQuote returns the index of the quote closing the column that
// starts at s[0] == '"': the first quote followed by a space or the end.
func closingQuote(s string) int {
	off := 1
	for {
		i := strings.IndexByte(s[off:], '"')
		if i < 0 {
			return -1
		}
		i += off
		if i+1 == len(s) || s[i+1] == ' ' {
			return i
		}
		off = i + 1
	}
}

// requestLine reads "METHOD URL HTTP/x.y".
func requestLine(r *parsers.Record, s string) {
	method, rest, ok := strings.Cut(strings.TrimSpace(s), " ")
	if !ok {
		parsers.SetURL(r, method)
		return
	}
	r.HTTPMethod = parsers.Clean(method)
	if i := strings.LastIndex(rest, " HTTP/"); i >= 0 {
		rest = rest[:i]
	}
	parsers.SetURL(r, rest)
	if ip := cefleef.IP(r.URLDomain); ip.IsValid() {
		r.DestinationIP = ip
	} else if r.URLDomain != "" {
		r.DestinationDomain = r.URLDomain
	}
}

func (p *parser) parseCEF(body string, m *parsers.Meta, r *parsers.Record) error {
	c, err := cefleef.SplitCEFHeader(body, &m.Header)
	if err != nil {
		return fmt.Errorf("mcafee-mwg: %w", err)
	}
	p.header(c.Vendor, c.Product)
	e := &p.ev
	it := cefleef.NewExt(c.Ext)
	for it.Next() {
		switch k, v := it.Key(), it.Value(); k {
		case "fileType":
			// MWG writes the response media type here.
			r.HTTPContentType = parsers.Clean(v)
		default:
			e.ApplyCEF(r, k, v)
		}
	}
	// The MWG CEF handler follows the ArcSight definition of in/out.
	e.Finish(r, m, cefleef.InFromSource)
	p.blockRe = e.Labelled("Block Reason", "BlockReason", "block_res")
	if p.blockRe == "" {
		p.blockRe = e.Labelled("Block ID", "block_id")
	}
	// The signature ID carries the HTTP status, the name the rule that
	// decided.
	if st := parsers.ParseStatus(strings.TrimSpace(c.SignatureID)); st.Set && !r.HTTPStatus.Set {
		r.HTTPStatus = st
	}
	if n := parsers.Clean(strings.TrimSpace(c.Name)); n != "" {
		r.RuleName = n
	}
	return nil
}

func (p *parser) parseLEEF(body string, m *parsers.Meta, r *parsers.Record) error {
	l, err := cefleef.SplitLEEFHeader(body, &m.Header)
	if err != nil {
		return fmt.Errorf("mcafee-mwg: %w", err)
	}
	p.header(l.Vendor, l.Product)
	e := &p.ev
	it := l.Iter()
	for it.Next() {
		switch k, v := it.Key(), it.Value(); k {
		case "urlCategories", "categories", "cat":
			r.URLCategory = parsers.Clean(v)
		case "httpStatus", "status_code", "statusCode":
			r.HTTPStatus = parsers.ParseStatus(v)
		case "blockReason", "block_reason":
			if r.EventAction == "" {
				r.EventAction = parsers.Clean(v)
			}
		case "block_res", "blockId", "blockID":
			p.blockRe = v
		case "mediaType", "media_type", "contentType":
			r.HTTPContentType = parsers.Clean(v)
		case "application_name", "applicationName", "appName":
			r.NetworkApplication = parsers.Clean(v)
		default:
			e.ApplyLEEF(r, k, v)
		}
	}
	e.Finish(r, m, cefleef.InFromSource)
	return nil
}

// header keeps a CEF/LEEF header's vendor and product names.
func (p *parser) header(v, prod string) {
	if v = strings.TrimSpace(v); v != "" {
		p.vendor = v
	}
	if prod = strings.TrimSpace(prod); prod != "" {
		p.product = prod
	}
}
