// Package ciscowsa parses Cisco WSA / IronPort / Secure Web Appliance
// access logs: the native (Squid-style) access log and W3C log
// subscriptions, whose #Fields layouts the shared w3c machinery reads.
package ciscowsa

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/w3c"
)

const (
	name    = "cisco-wsa"
	vendor  = "Cisco"
	product = "Secure Web Appliance"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        name,
		Vendor:      vendor,
		Product:     product,
		Description: "Cisco WSA / Secure Web Appliance access logs (native and W3C subscriptions)",
		New:         newParser,
		Detect:      detect,
	})
}

var (
	errTruncated   = errors.New("cisco-wsa: truncated access log line")
	errUnterminate = errors.New("cisco-wsa: unterminated quoted or <...> field")
)

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
	// A W3C subscription announces its layout; without one the line is the
	// native access log (whose leading columns the default W3C field list
	// repeats anyway).
	if p.s.Fields != nil {
		if err := p.parseW3C(body, m, r); err != nil {
			return err
		}
	} else if err := p.parseNative(body, r); err != nil {
		return err
	}
	r.Category = "web"
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	return nil
}

// Native columns, in order (AsyncOS "Squid" style access log):
// %t %e %a %w/%h %s %2r %A %H/%d %c %D <scanning verdicts> %<User-Agent ...
const (
	fTime = iota
	fElapsed
	fClient
	fResult
	fSize
	fMethod
	fURL
	fUser
	fHierarchy
	fMime
	fACL
	nativeFields
)

func (p *parser) parseNative(body string, r *parsers.Record) error {
	var t [nativeFields]string // on the stack: no GC write barriers
	rest := body
	for i := 0; i < nativeFields; i++ {
		tok, next, err := nextField(rest)
		if err != nil {
			return err
		}
		if tok == "" && next == "" {
			return fmt.Errorf("%w: %d of %d leading fields", errTruncated, i, nativeFields)
		}
		t[i] = tok
		rest = next
	}
	ts, ok := parsers.ParseEpoch(t[fTime])
	if !ok {
		return fmt.Errorf("cisco-wsa: bad epoch time %q", t[fTime])
	}
	r.Timestamp = ts
	if d := parsers.ParseNum(t[fElapsed]); d.Set && d.V < 1e12 {
		r.Duration = parsers.N(d.V * 1e6)
	}
	r.SourceIP = w3c.HostIP(t[fClient])
	if !r.SourceIP.IsValid() {
		return fmt.Errorf("cisco-wsa: bad client address %q", t[fClient])
	}
	code, status, ok := strings.Cut(t[fResult], "/")
	if !ok {
		return fmt.Errorf("cisco-wsa: bad result code %q", t[fResult])
	}
	r.HTTPStatus = parsers.ParseStatus(status)
	// The size is what the proxy sent to the client (headers and body).
	r.DestinationBytes = parsers.ParseNum(t[fSize])
	r.HTTPMethod = parsers.Clean(t[fMethod])
	setURL(r, t[fURL])
	w3c.SetUser(r, t[fUser])
	hierarchy(r, t[fHierarchy])
	r.HTTPContentType = parsers.Clean(t[fMime])
	decide(r, code, t[fACL])
	// After the ACL tag: the <...> scanning verdicts, then the suspect user
	// agent (quoted, "-" unless the proxy found it suspect).
	block, rest, err := nextField(rest)
	if err != nil || !strings.HasPrefix(block, "<") {
		return nil // older or custom layouts end here
	}
	verdictBlock(r, block)
	if ua, _, err := nextField(rest); err == nil {
		r.UserAgent = parsers.Clean(ua)
	}
	return nil
}

// verdictBlock reads the application that the AVC engine identified from
// the scanning verdict block: its 24th member is the application name, the
// 25th the application type ("Unknown" when AVC named none).
func verdictBlock(r *parsers.Record, block string) {
	s := strings.TrimSuffix(strings.TrimPrefix(block, "<"), ">")
	var app, appType string
	for i := 1; i <= 25 && s != ""; i++ {
		var member string
		if s[0] == '"' {
			end := strings.IndexByte(s[1:], '"')
			if end < 0 {
				return
			}
			member, s = s[1:end+1], s[end+2:]
		} else if c := strings.IndexByte(s, ','); c >= 0 {
			member, s = s[:c], s[c:]
		} else {
			member, s = s, ""
		}
		s = strings.TrimPrefix(s, ",")
		switch i {
		case 24:
			app = member
		case 25:
			appType = member
		}
	}
	if app = parsers.Clean(app); app != "" {
		r.NetworkApplication = app
		r.AppCategory = parsers.Clean(appType)
	}
}

// nextField returns the next space-separated field: a plain token, a
// "quoted" value (users with spaces, the suspect user agent) or the
// <...> scanning verdict block, whose quoted members may hold '>' and
// spaces.
func nextField(s string) (tok, rest string, err error) {
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	s = s[i:]
	if s == "" {
		return "", "", nil
	}
	switch s[0] {
	case '"':
		end := strings.IndexByte(s[1:], '"')
		if end < 0 {
			return "", "", errUnterminate
		}
		return s[1 : end+1], s[end+2:], nil
	case '<':
		inQuote := false
		for j := 1; j < len(s); j++ {
			switch s[j] {
			case '"':
				inQuote = !inQuote
			case '>':
				if !inQuote {
					return s[:j+1], s[j+1:], nil
				}
			}
		}
		return "", "", errUnterminate
	}
	j := strings.IndexAny(s, " \t")
	if j < 0 {
		return s, "", nil
	}
	return s[:j], s[j:], nil
}

// setURL fills url.* and the destination from the requested URL; a
// transparent CONNECT logs "ip:port".
func setURL(r *parsers.Record, u string) {
	if parsers.IsEmpty(u) {
		return
	}
	parsers.SetURL(r, u)
	if a := w3c.HostIP(r.URLDomain); a.IsValid() {
		r.DestinationIP = a
	} else if r.URLDomain != "" {
		r.DestinationDomain = r.URLDomain
	}
	r.DestinationPort = r.URLPort
	switch r.URLScheme {
	case "http", "https", "ftp":
		r.NetworkProtocol = r.URLScheme
	}
}

// hierarchy reads "%H/%d": how the proxy reached the server and the
// server's name or address. Only a DIRECT contact names the destination;
// otherwise the host is a parent proxy.
func hierarchy(r *parsers.Record, h string) {
	code, host, ok := strings.Cut(h, "/")
	if !ok || !strings.Contains(code, "DIRECT") || parsers.IsEmpty(host) {
		return
	}
	if a := w3c.HostIP(host); a.IsValid() {
		r.DestinationIP = a
	} else {
		r.DestinationDomain = host
	}
}

// decide maps the ACL decision tag (the policy outcome, before the first
// '-'; the policy group names follow) and the result code to the verdict.
// BLOCK_*, DROP_* and NO_PASSWORD (failed authentication) refuse the
// request; REDIRECT_* answers with another URL instead of the content; a
// WARN_* tag records the warning page served instead of the content
// (denied, as the other vendors' warning-page records are: the request the
// user makes after acknowledging it is logged on its own). ALLOW_*,
// DEFAULT_CASE, PASSTHRU_*, MONITOR_* and DECRYPT_* let it through. OTHER
// and NONE carry no decision; the result code (TCP_DENIED) decides then.
func decide(r *parsers.Record, code, acl string) {
	decision, _, _ := strings.Cut(acl, "-")
	decision = parsers.Clean(decision)
	if decision == "OTHER" || decision == "NONE" {
		decision = ""
	}
	r.EventAction = decision
	if r.EventAction == "" {
		r.EventAction = parsers.Clean(code)
	}
	switch {
	case strings.Contains(code, "DENIED"), strings.HasPrefix(decision, "BLOCK_"), strings.HasPrefix(decision, "DROP_"),
		strings.HasPrefix(decision, "NO_PASSWORD"), strings.HasPrefix(decision, "REDIRECT_"), strings.HasPrefix(decision, "WARN_"):
		r.Verdict = parsers.Denied
	case strings.HasPrefix(decision, "ALLOW_"), strings.HasPrefix(decision, "DEFAULT_CASE"),
		strings.HasPrefix(decision, "PASSTHRU_"), strings.HasPrefix(decision, "MONITOR_"),
		strings.HasPrefix(decision, "DECRYPT_"):
		r.Verdict = parsers.Allowed
	case r.HTTPStatus.Set && r.HTTPStatus.V == 407:
		// Proxy authentication required: the request was refused.
		r.Verdict = parsers.Denied
	}
}

func (p *parser) parseW3C(body string, m *parsers.Meta, r *parsers.Record) error {
	toks, err := p.s.Tokens(body, &m.Header)
	if err != nil {
		return fmt.Errorf("cisco-wsa: %w", err)
	}
	row, err := p.s.Fields.Row(toks)
	if err != nil {
		return fmt.Errorf("cisco-wsa: %w", err)
	}
	if err := w3c.Map(row, &p.s, w3c.Proxy, m, r); err != nil {
		return fmt.Errorf("cisco-wsa: %w", err)
	}
	// On the WSA, s-computername (%N) names the destination server and
	// s-ip (%k) / s-port (%p) are the server's address and port: unlike
	// IIS, none of them describes the appliance itself.
	if row.L.Has(w3c.SComputerName) {
		if h := r.ObserverHostname; h != "" && r.DestinationDomain == "" && !w3c.HostIP(h).IsValid() {
			r.DestinationDomain = h
		}
		r.ObserverHostname = ""
	}
	if a := w3c.HostIP(row.Value(w3c.SIP)); a.IsValid() && !r.DestinationIP.IsValid() {
		r.DestinationIP = a
	}
	if p := parsers.ParsePort(row.Get(w3c.SPort)); p.Set && !r.DestinationPort.Set {
		r.DestinationPort = p
	}
	if r.UserAgent == "" {
		r.UserAgent = row.Value(w3c.SuspectUA)
	}
	if !r.SourceIP.IsValid() && r.URLOriginal == "" {
		return errors.New("cisco-wsa: line names no client and no URL")
	}
	if r.URLDomain != "" && !r.DestinationIP.IsValid() {
		if a := w3c.HostIP(r.URLDomain); a.IsValid() {
			r.DestinationIP = a
		}
	}
	code := ""
	if rs := row.Value(w3c.ResultCodeStatus); rs != "" {
		c, status, _ := strings.Cut(rs, "/")
		code = c
		if !r.HTTPStatus.Set {
			r.HTTPStatus = parsers.ParseStatus(status)
		}
	}
	hierarchy(r, row.Get(w3c.HierarchyOrigin))
	if h := row.Value(w3c.SHostname); h != "" {
		if a := w3c.HostIP(h); a.IsValid() {
			if !r.DestinationIP.IsValid() {
				r.DestinationIP = a
			}
		} else if r.DestinationDomain == "" {
			r.DestinationDomain = h
		}
	}
	r.NetworkApplication = row.Value(w3c.AVCApp)
	r.URLCategory = row.Value(w3c.WebCatFull)
	if r.URLCategory == "" {
		r.URLCategory = row.Value(w3c.WebCatAbbr)
	}
	decide(r, code, row.Get(w3c.ACLTag))
	return nil
}

// aclPrefixes are the decision tags that open the ACL column.
var aclPrefixes = [...]string{" DEFAULT_CASE", " BLOCK_", " ALLOW_", " PASSTHRU_", " MONITOR_", " DECRYPT_", " OTHER-"}

// detect claims native access log lines (epoch, elapsed, client,
// CODE/status ... ACL decision tag) and W3C #Fields lines with WSA-only
// fields. The Squid-like leading columns alone are Squid's; the ACL tag is
// what makes a line the WSA's, so it outscores Squid.
func detect(body string, _ *parsers.Header) int {
	if w3c.IsDirective(body) {
		if strings.HasPrefix(body, "#Fields:") {
			for _, f := range [...]string{" x-acltag", " x-resultcode-httpstatus", " x-hierarchy-origin", " x-webcat-", " x-avc-"} {
				if strings.Contains(body, f) {
					return 95
				}
			}
		}
		return 0
	}
	if !epochLead(body) {
		return 0
	}
	for _, p := range aclPrefixes {
		if strings.Contains(body, p) {
			if strings.Contains(body, " <") {
				return 95
			}
			return 93
		}
	}
	return 0
}

// epochLead reports whether s starts "<epoch>.<ms> <elapsed> <client> ".
func epochLead(s string) bool {
	dot := strings.IndexByte(s, '.')
	if dot < 9 || dot > 11 {
		return false
	}
	for i := 0; i < dot; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	sp := strings.IndexByte(s, ' ')
	if sp < dot+2 {
		return false
	}
	for i := dot + 1; i < sp; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	rest := strings.TrimLeft(s[sp:], " ")
	n := 0
	for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
		n++
	}
	return n > 0 && n < len(rest) && rest[n] == ' '
}
