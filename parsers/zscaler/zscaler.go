// Package zscaler parses Zscaler Internet Access (ZIA) web logs as the
// Nanolog Streaming Service (NSS) sends them: the default quoted-CSV feed
// template, name=value templates using the NSS field names, the JSON output
// type, and the ArcSight CEF output type.
package zscaler

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/cefleef"
)

const (
	name    = "zscaler"
	vendor  = "Zscaler"
	product = "Internet Access"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        name,
		Vendor:      vendor,
		Product:     product,
		Description: "Zscaler ZIA NSS web log feeds (default CSV, name=value, JSON and CEF output types)",
		New:         newParser,
		Detect:      detect,
	})
}

var (
	errNotZscaler = errors.New("zscaler: not an NSS web log line")
	errNoEndpoint = errors.New("zscaler: record names no client and no URL")
)

// The default CSV feed templates, told apart by their column count: the
// classic template (formats.md, 32 columns) and the current default that
// adds the stime and ctime round-trip times after respsize (34 columns).
var (
	csvClassic = []string{"time", "login", "proto", "eurl", "action", "appname", "appclass",
		"reqsize", "respsize", "urlclass", "urlsupercat", "urlcat", "malwarecat", "threatname",
		"riskscore", "dlpeng", "dlpdict", "location", "dept", "cip", "sip", "reqmethod",
		"respcode", "ua", "ereferer", "ruletype", "rulelabel", "contenttype", "unscannabletype",
		"deviceowner", "devicehostname", "keyprotectiontype"}
	csvCurrent = []string{"time", "login", "proto", "eurl", "action", "appname", "appclass",
		"reqsize", "respsize", "stime", "ctime", "urlclass", "urlsupercat", "urlcat",
		"malwarecat", "threatname", "riskscore", "dlpeng", "dlpdict", "location", "dept", "cip",
		"sip", "reqmethod", "respcode", "ua", "ereferer", "ruletype", "rulelabel", "contenttype",
		"unscannabletype", "deviceowner", "devicehostname", "keyprotectiontype"}
)

type parser struct {
	loc *time.Location
	ev  cefleef.Event
}

var _ parsers.Parser = (*parser)(nil)

func newParser(o parsers.Options) (parsers.Parser, error) {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	return &parser{loc: loc}, nil
}

// fields holds the raw values of one record under their NSS names, so the
// CSV, name=value and JSON forms share one mapping (build).
type fields struct {
	time, epochtime, tz, login, proto, url, host   string
	action, appname, appclass, reqsize, respsize   string
	urlcat, threatname, cip, sip, reqmethod, resp  string
	ua, referer, rulelabel, contenttype, devicehos string
	totalsize, cintip, cport, sport                string
	n                                              int // fields seen
}

// set stores one NSS field; unknown names are ignored. Besides the NSS
// field names themselves, the keys of the JSON/name=value templates that
// Zscaler publishes for SIEMs are recognized: the Splunk/Datadog/Sumo Logic
// template ("datetime", "ClientIP", "serverip", "requestsize", "refererURL",
// "transactionsize"...) and the Elastic one ("cltip", "cltintip",
// "cltsourceport", "refererurl", "urlsubcat"...).
func (f *fields) set(k, v string) {
	f.n++
	switch k {
	case "time", "datetime":
		f.time = v
	case "epochtime":
		f.epochtime = v
	case "tz":
		f.tz = v
	case "login", "elogin", "user":
		f.login = v
	case "proto", "protocol":
		f.proto = v
	case "eurl", "url":
		f.url = v
	case "ehost", "host", "hostname":
		f.host = v
	case "action":
		f.action = v
	case "appname":
		f.appname = v
	case "appclass":
		f.appclass = v
	case "reqsize", "requestsize":
		f.reqsize = v
	case "respsize", "responsesize":
		f.respsize = v
	case "totalsize", "transactionsize":
		f.totalsize = v
	case "urlcat", "urlcategory", "urlsubcat":
		f.urlcat = v
	case "threatname":
		f.threatname = v
	case "cip", "clientip", "ClientIP", "cltip":
		f.cip = v
	case "cintip", "clientpublicIP", "cltintip":
		f.cintip = v
	case "clt_sport", "cltsourceport":
		f.cport = v
	case "srv_dport":
		f.sport = v
	case "sip", "serverip":
		f.sip = v
	case "reqmethod", "requestmethod":
		f.reqmethod = v
	case "respcode", "status":
		f.resp = v
	case "ua", "eua", "useragent":
		f.ua = v
	case "ereferer", "referer", "refererURL", "refererurl":
		f.referer = v
	case "rulelabel", "erulelabel":
		f.rulelabel = v
	case "contenttype":
		f.contenttype = v
	case "devicehostname":
		f.devicehos = v
	}
}

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	body := strings.TrimSpace(line)
	if body == "" {
		return fmt.Errorf("%w: empty line", parsers.ErrSkip)
	}
	if cefleef.IndexCEF(body) >= 0 {
		return p.parseCEF(body, m, r)
	}
	var f fields
	switch {
	case body[0] == '"':
		if err := scanCSV(body, &f); err != nil {
			return err
		}
	case body[0] == '{':
		if err := scanJSON(body, f.set); err != nil {
			return err
		}
	case looksKV(body):
		sep := byte(' ')
		if strings.IndexByte(body, '\t') >= 0 {
			sep = '\t' // Zscaler's advice for name=value feeds
		}
		parsers.ScanKV(body, sep, func(k, v string) bool {
			f.set(k, v)
			return true
		})
	default:
		return errNotZscaler
	}
	return p.build(&f, m, r)
}

// maxCSVColumns bounds the columns of one CSV line.
const maxCSVColumns = 64

// scanCSV splits the quoted-CSV template. Every column is quoted, and
// non-escaped fields (login, ua) may hold raw quotes and commas, so a
// column ends only at the three-byte boundary `","`. The current default
// template is told from the classic one by its numeric stime/ctime columns
// where the classic template has urlclass. A user agent holding `","`
// itself yields extra columns: they are joined back into ua, since the
// columns around it are escaped or from a fixed vocabulary.
func scanCSV(body string, f *fields) error {
	if len(body) < 2 || body[0] != '"' || body[len(body)-1] != '"' {
		return errors.New("zscaler: CSV line is not quoted")
	}
	inner := body[1 : len(body)-1]
	var start, end [maxCSVColumns]int // column bounds in inner
	n, off := 0, 0
	for {
		if n == maxCSVColumns {
			return fmt.Errorf("zscaler: more than %d CSV columns", maxCSVColumns)
		}
		start[n] = off
		j := strings.Index(inner[off:], `","`)
		if j < 0 {
			end[n] = len(inner)
			n++
			break
		}
		end[n] = off + j
		n++
		off += j + 3
	}
	col := func(i int) string { return inner[start[i]:end[i]] }
	names := csvClassic
	if n > 10 && isDigits(col(9)) && isDigits(col(10)) {
		names = csvCurrent
	}
	if n < len(names) {
		return fmt.Errorf("zscaler: %d CSV columns: not a default feed template (%d or %d columns)", n, len(csvClassic), len(csvCurrent))
	}
	extra := 0 // columns the user agent spilled into
	for i, name := range names {
		switch {
		case name == "ua":
			extra = n - len(names)
			f.set(name, inner[start[i]:end[i+extra]])
		default:
			f.set(name, col(i+extra))
		}
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// looksKV reports whether body starts with a name=value pair.
func looksKV(s string) bool {
	for i := 0; i < len(s) && i < 32; i++ {
		c := s[i]
		if c == '=' {
			return i > 0
		}
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return false
}

func (p *parser) build(f *fields, m *parsers.Meta, r *parsers.Record) error {
	if f.n == 0 {
		return errNotZscaler
	}
	if err := p.setTime(f, m, r); err != nil {
		return err
	}
	r.Category = "web"
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	parsers.SetUser(r, f.login)
	if v := parsers.Clean(f.cip); v != "" {
		r.SourceIP = parsers.ParseIP(v)
		if !r.SourceIP.IsValid() {
			return fmt.Errorf("zscaler: bad client address %q", v)
		}
	}
	r.SourcePort = parsers.ParsePort(f.cport)
	// cintip is the client's public (NATed) address; NSS repeats cip there
	// when it saw no internal address, which is no translation.
	if a := parsers.ParseIP(f.cintip); a.IsValid() && a != r.SourceIP {
		r.SourceNATIP = a
	}
	r.DestinationIP = parsers.ParseIP(f.sip)
	setProto(r, f.proto)
	setURL(r, f.url, f.host, f.proto)
	if p := parsers.ParsePort(f.sport); p.Set {
		r.DestinationPort = p
	}
	setAction(r, f.action)
	setApp(r, f.appname, f.appclass)
	r.SourceBytes = parsers.ParseNum(f.reqsize)
	r.DestinationBytes = parsers.ParseNum(f.respsize)
	r.NetworkBytes = parsers.ParseNum(f.totalsize)
	r.URLCategory = parsers.Clean(f.urlcat)
	r.ThreatName = parsers.Clean(f.threatname)
	r.HTTPMethod = parsers.Clean(f.reqmethod)
	r.HTTPStatus = parsers.ParseStatus(f.resp)
	r.UserAgent = parsers.Clean(f.ua)
	r.HTTPReferrer = parsers.Clean(f.referer)
	r.RuleName = parsers.Clean(f.rulelabel)
	if ct := parsers.Clean(f.contenttype); strings.IndexByte(ct, '/') > 0 {
		r.HTTPContentType = ct // "Other" and similar are not MIME types
	}
	r.SourceDomain = parsers.Clean(f.devicehos)
	if !r.SourceIP.IsValid() && r.URLOriginal == "" {
		return errNoEndpoint
	}
	return nil
}

// setTime: epochtime is exact; time ("Mon Jun 20 15:29:11 2022") is in the
// feed's configured zone, which tz names when the template includes it.
func (p *parser) setTime(f *fields, m *parsers.Meta, r *parsers.Record) error {
	if v := parsers.Clean(f.epochtime); v != "" {
		t, ok := parsers.ParseEpoch(v)
		if !ok {
			return fmt.Errorf("zscaler: bad epochtime %q", v)
		}
		r.Timestamp = t
		return nil
	}
	v := parsers.Clean(f.time)
	if v == "" {
		return nil
	}
	loc := m.Location
	if loc == nil {
		loc = p.loc
	}
	if tz := strings.TrimSpace(f.tz); parsers.EqualFoldAny(tz, "GMT", "UTC", "Z") {
		loc = time.UTC
	}
	t, ok := parseNSSTime(v, loc)
	if !ok {
		// The SIEM templates Zscaler publishes build "datetime" from
		// %d{yy}-%02d{mth}-%02d{dd} %02d{hh}:%02d{mm}:%02d{ss}.
		t, ok = parseDateTime(v, loc)
	}
	if !ok {
		return fmt.Errorf("zscaler: bad time %q", v)
	}
	r.Timestamp = t
	return nil
}

// parseDateTime parses "2006-01-02 15:04:05" (a two-digit year counts
// from 2000) in loc.
func parseDateTime(s string, loc *time.Location) (time.Time, bool) {
	d, c, ok := strings.Cut(s, " ")
	if !ok || len(c) != 8 || c[2] != ':' || c[5] != ':' {
		return time.Time{}, false
	}
	ys, rest, ok1 := strings.Cut(d, "-")
	ms, ds, ok2 := strings.Cut(rest, "-")
	y, ok3 := num(ys)
	mo, ok4 := num(ms)
	day, ok5 := num(ds)
	hh, ok6 := num(c[0:2])
	mm, ok7 := num(c[3:5])
	ss, ok8 := num(c[6:8])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || !ok7 || !ok8 || mo < 1 || mo > 12 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	switch len(ys) {
	case 2:
		y += 2000
	case 4:
	default:
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), day, hh, mm, ss, 0, loc)
	if t.Day() != day {
		return time.Time{}, false
	}
	return t, true
}

var months = [...]string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"}

// parseNSSTime parses "Mon Jun 20 15:29:11 2022" (day of month may be one
// digit, with one or two spaces before it).
func parseNSSTime(s string, loc *time.Location) (time.Time, bool) {
	if len(s) < 23 || s[3] != ' ' || s[7] != ' ' {
		return time.Time{}, false
	}
	mon := 0
	for i, m := range months {
		if s[4:7] == m {
			mon = i + 1
		}
	}
	if mon == 0 {
		return time.Time{}, false
	}
	rest := strings.TrimLeft(s[8:], " ")
	sp := strings.IndexByte(rest, ' ')
	if sp < 1 || sp > 2 {
		return time.Time{}, false
	}
	day, ok := num(rest[:sp])
	rest = rest[sp+1:]
	if !ok || len(rest) != 13 || rest[2] != ':' || rest[5] != ':' || rest[8] != ' ' {
		return time.Time{}, false
	}
	hh, ok1 := num(rest[0:2])
	mm, ok2 := num(rest[3:5])
	ss, ok3 := num(rest[6:8])
	y, ok4 := num(rest[9:13])
	if !ok1 || !ok2 || !ok3 || !ok4 || day < 1 || day > 31 || hh > 23 || mm > 59 || ss > 60 || y < 1970 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mon), day, hh, mm, ss, 0, loc)
	if t.Day() != day {
		return time.Time{}, false
	}
	return t, true
}

func num(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, true
}

// setProto maps the NSS protocol (HTTP, HTTPS, SSL, FTP...) to
// network.protocol. HTTP_PROXY is a CONNECT tunnel through the explicit
// proxy: what runs inside it is not logged, so it names no protocol.
func setProto(r *parsers.Record, proto string) {
	switch {
	case strings.EqualFold(proto, "HTTP"):
		r.NetworkProtocol = "http"
	case strings.EqualFold(proto, "HTTPS"):
		r.NetworkProtocol = "https"
	case strings.EqualFold(proto, "SSL"):
		r.NetworkProtocol = "tls"
	case strings.EqualFold(proto, "FTP"):
		r.NetworkProtocol = "ftp"
	}
}

// setURL: eurl has no scheme ("www.example.com/path", "host:443" for
// CONNECT) and stays as logged, feed escapes (%2C...) included; the scheme
// comes from the protocol NSS observed (HTTP or HTTPS, not the CONNECT of
// HTTP_PROXY).
func setURL(r *parsers.Record, u, host, proto string) {
	parsers.SetURL(r, parsers.Clean(u))
	if r.URLScheme == "" && r.URLDomain != "" {
		switch {
		case strings.EqualFold(proto, "HTTP"):
			r.URLScheme = "http"
		case strings.EqualFold(proto, "HTTPS"):
			r.URLScheme = "https"
		}
	}
	h := parsers.Clean(host)
	if h == "" {
		h = r.URLDomain
	}
	if h != "" {
		if a := parsers.ParseIP(h); a.IsValid() {
			if !r.DestinationIP.IsValid() {
				r.DestinationIP = a
			}
		} else {
			r.DestinationDomain = h
		}
	}
	r.DestinationPort = r.URLPort
}

// setAction: Allowed and Blocked are the policy outcome; Isolated means
// the page was rendered in browser isolation, so the user reached it.
// Caution records the transaction on which ZIA served its caution page
// instead of the content: the request did not reach the site, and if the
// user acknowledges the page, ZIA logs the requests that then go through
// as Allowed. So a Caution record counts as denied, like the Sophos
// Firewall "Warned" and Sophos UTM "warn" warning-page records, while the
// vendor word stays in event.action to tell it from a hard block.
func setAction(r *parsers.Record, a string) {
	a = parsers.Clean(a)
	r.EventAction = a
	switch {
	case parsers.EqualFoldAny(a, "Allowed", "Allow", "Isolated", "Isolate"):
		r.Verdict = parsers.Allowed
	case parsers.EqualFoldAny(a, "Blocked", "Block", "Caution", "Cautioned"):
		r.Verdict = parsers.Denied
	}
}

// setApp: "General Browsing" is what ZIA logs when it identified no cloud
// application, so it is not an application.
func setApp(r *parsers.Record, app, class string) {
	app = parsers.Clean(app)
	if app == "" || strings.EqualFold(app, "General Browsing") {
		return
	}
	r.NetworkApplication = app
	r.AppCategory = parsers.Clean(class)
}

// parseCEF reads the NSS ArcSight output type. Its template puts the
// response size in "in" and the request size in "out" (client-centric, not
// the ArcSight definition), the HTTP status in "outcome", the cloud
// application in destinationServiceName and the URL category in cat.
func (p *parser) parseCEF(body string, m *parsers.Meta, r *parsers.Record) error {
	c, err := cefleef.SplitCEF(body)
	if err != nil {
		return fmt.Errorf("zscaler: %w", err)
	}
	if !strings.EqualFold(c.Vendor, "Zscaler") {
		return fmt.Errorf("%w: CEF from %q", errNotZscaler, c.Vendor)
	}
	e := &p.ev
	e.Reset()
	var app, cat, status, proto, url, dhost string
	it := cefleef.NewExt(c.Ext)
	for it.Next() {
		k, v := it.Key(), it.Value()
		switch k {
		case "in", "bytesIn":
			r.DestinationBytes = parsers.ParseNum(v)
		case "out", "bytesOut":
			r.SourceBytes = parsers.ParseNum(v)
		case "outcome":
			status = v
		case "destinationServiceName":
			app = v
		case "cat":
			cat = v
		case "app":
			proto = v
		case "request":
			url = v
		case "dhost":
			dhost = v
		default:
			e.ApplyCEF(r, k, v)
		}
	}
	setProto(r, proto)
	setURL(r, url, dhost, proto)
	if t, ok := e.Time(m); ok {
		r.Timestamp = t
	}
	e.SetUser(r)
	if !r.SourceIP.IsValid() && e.User == "" && r.URLOriginal == "" {
		return errNoEndpoint
	}
	r.Category = "web"
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	act := e.Act
	if act == "" {
		act = c.SignatureID // the template puts the action there too
	}
	setAction(r, act)
	setApp(r, app, e.Labelled("appclass"))
	r.HTTPStatus = parsers.ParseStatus(status)
	r.URLCategory = parsers.Clean(cat)
	if r.URLCategory == "" {
		r.URLCategory = parsers.Clean(e.Labelled("urlcat"))
	}
	r.ThreatName = parsers.Clean(e.Labelled("threatname"))
	return nil
}

var days = [...]string{"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}

// detect: the CSV template opens with the quoted NSS time ("Mon Jun 20 ...),
// CEF names Zscaler as its vendor, JSON carries the NSS sourcetype or its
// field names, and name=value feeds use the NSS field names.
func detect(body string, _ *parsers.Header) int {
	if len(body) < 10 {
		return 0
	}
	switch body[0] {
	case '"':
		if body[4] != ' ' || body[8] != ' ' {
			return 0
		}
		for _, d := range days {
			if body[1:4] == d {
				for _, m := range months {
					if body[5:8] == m {
						if strings.Contains(body, `","`) {
							return 90
						}
					}
				}
			}
		}
		return 0
	case '{':
		if strings.Contains(body, `"zscalernss-web"`) {
			return 95
		}
		if strings.Contains(body, `"reqsize"`) && strings.Contains(body, `"respsize"`) && strings.Contains(body, `"cip"`) ||
			strings.Contains(body, `"requestsize"`) && strings.Contains(body, `"responsesize"`) && strings.Contains(body, `"ClientIP"`) {
			return 85
		}
		return 0
	}
	if at := cefleef.IndexCEF(body); at >= 0 {
		if v, ok := cefleef.HeaderField(body, at, 0); ok && strings.EqualFold(strings.TrimSpace(v), "Zscaler") {
			return 95
		}
		return 0
	}
	if parsers.HasKVKeys(body, "reqsize", "respsize") && (parsers.HasKVKeys(body, "cip") || parsers.HasKVKeys(body, "eurl")) ||
		parsers.HasKVKeys(body, "requestsize", "responsesize", "ClientIP") {
		return 85
	}
	return 0
}
