// Package sophosxg parses Sophos Firewall (XG, SFOS) key=value syslog: the
// format before SFOS 19.5 (device="SFW" date= time= timezone=) and the one
// from 19.5 on (timestamp= with offset, renamed byte and NAT fields).
// Firewall and Content Filtering logs are traffic; every other log type
// (Event, System Health, Anti-Virus, IDP...) is skipped.
package sophosxg

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

const (
	name    = "sophos-xg"
	vendor  = "Sophos"
	product = "Sophos Firewall"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        name,
		Vendor:      vendor,
		Product:     product,
		Description: "Sophos Firewall (XG / SFOS) Firewall and Content Filtering logs, before and after SFOS 19.5",
		New:         newParser,
		Detect:      detect,
	})
}

var errNotSophos = errors.New("sophos-xg: not a Sophos Firewall log line")

type parser struct{}

var _ parsers.Parser = (*parser)(nil)

func newParser(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

// fields holds the raw values of one line; where SFOS 19.5 renamed a field
// both names fill the same slot.
type fields struct {
	date, clock, timezone, timestamp      string
	logType, component, subtype, status   string
	serial, user, app, appCat, appRisk    string
	srcIP, dstIP, srcPort, dstPort, proto string
	sentBytes, recvBytes, sentPkts        string
	recvPkts, natSrcIP, natSrcPort        string
	natDstIP, natDstPort, srcMAC          string
	duration, url, domain, contentType    string
	category, httpStatus, userAgent       string
	referer, ruleName, action             string
	n                                     int
}

func (f *fields) set(k, v string) bool {
	f.n++
	switch k {
	case "date":
		f.date = v
	case "time":
		f.clock = v
	case "timezone":
		f.timezone = v
	case "timestamp":
		f.timestamp = v
	case "log_type":
		f.logType = v
	case "log_component":
		f.component = v
	case "log_subtype":
		f.subtype = v
	case "status":
		f.status = v
	case "device_id", "device_serial_id":
		f.serial = v
	case "user_name", "user":
		if f.user == "" {
			f.user = v
		}
	case "action":
		f.action = v
	case "website":
		if f.domain == "" {
			f.domain = v
		}
	case "site_category":
		if f.category == "" {
			f.category = v
		}
	case "application", "app_name", "application_name":
		f.app = v
	case "application_category", "app_category":
		f.appCat = v
	case "application_risk", "app_risk":
		f.appRisk = v
	case "src_ip":
		f.srcIP = v
	case "dst_ip":
		f.dstIP = v
	case "src_port":
		f.srcPort = v
	case "dst_port":
		f.dstPort = v
	case "protocol":
		f.proto = v
	case "sent_bytes", "bytes_sent":
		f.sentBytes = v
	case "recv_bytes", "bytes_received":
		f.recvBytes = v
	case "sent_pkts", "packets_sent":
		f.sentPkts = v
	case "recv_pkts", "packets_received":
		f.recvPkts = v
	case "tran_src_ip", "src_trans_ip":
		f.natSrcIP = v
	case "tran_src_port", "src_trans_port":
		f.natSrcPort = v
	case "tran_dst_ip", "dst_trans_ip":
		f.natDstIP = v
	case "tran_dst_port", "dst_trans_port":
		f.natDstPort = v
	case "src_mac":
		f.srcMAC = v
	case "duration":
		f.duration = v
	case "url":
		f.url = v
	case "domain":
		f.domain = v
	case "contenttype", "content_type":
		f.contentType = v
	case "category", "http_category":
		f.category = v
	case "status_code", "httpresponsecode", "http_status":
		if f.httpStatus == "" || f.httpStatus == "0" {
			f.httpStatus = v
		}
	case "user_agent", "http_user_agent":
		f.userAgent = v
	case "referer", "http_referer":
		f.referer = v
	case "fw_rule_name":
		f.ruleName = v
	default:
		f.n--
	}
	return true
}

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	body := strings.TrimLeft(line, " \t")
	if !looksKV(body) {
		return fmt.Errorf("%w: no key=value pairs", errNotSophos)
	}
	var f fields
	parsers.ScanKV(body, ' ', f.set)
	if f.logType == "" {
		if f.n == 0 {
			return errNotSophos
		}
		return errors.New("sophos-xg: log without log_type")
	}
	switch f.logType {
	case "Firewall":
		r.Category = "network"
	case "Content Filtering":
		r.Category = "network"
		if strings.HasPrefix(f.component, "HTTP") || f.component == "Web Content Policy" || f.url != "" {
			r.Category = "web"
		}
	default:
		return fmt.Errorf("%w: sophos-xg %s log (%s)", parsers.ErrSkip, f.logType, f.component)
	}
	if err := setTime(&f, m, r); err != nil {
		return err
	}
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	r.ObserverSerial = parsers.Clean(f.serial)

	r.SourceIP = parsers.ParseIP(f.srcIP)
	r.DestinationIP = parsers.ParseIP(f.dstIP)
	r.SourcePort = parsers.ParsePort(f.srcPort)
	r.DestinationPort = parsers.ParsePort(f.dstPort)
	r.NetworkTransport = transport(f.proto)
	r.SourceBytes = parsers.ParseNum(f.sentBytes)
	r.DestinationBytes = parsers.ParseNum(f.recvBytes)
	r.SourcePackets = parsers.ParseNum(f.sentPkts)
	r.DestinationPackets = parsers.ParseNum(f.recvPkts)
	r.SourceNATIP = parsers.ParseIP(f.natSrcIP)
	r.SourceNATPort = parsers.ParsePort(f.natSrcPort)
	r.DestinationNATIP = parsers.ParseIP(f.natDstIP)
	r.DestinationNATPort = parsers.ParsePort(f.natDstPort)
	if mac := parsers.Clean(f.srcMAC); mac != "00:00:00:00:00:00" {
		r.SourceMAC = mac
	}
	if d := parsers.ParseNum(f.duration); d.Set && d.V < 1e9 {
		r.Duration = parsers.N(d.V * int64(time.Second))
	}
	parsers.SetUser(r, f.user)
	r.NetworkApplication = parsers.Clean(f.app)
	if r.NetworkApplication != "" {
		r.AppCategory = parsers.Clean(f.appCat)
		if risk := parsers.Clean(f.appRisk); risk != "0" {
			r.AppRisk = risk
		}
	}
	r.RuleName = parsers.Clean(f.ruleName)
	setWeb(&f, r)
	if f.component == "Application" {
		// Application filter logs: "category" is the application's
		// category, not a URL category.
		r.URLCategory = ""
		if r.AppCategory == "" && r.NetworkApplication != "" {
			r.AppCategory = parsers.Clean(f.category)
		}
	}
	verdict(&f, r)
	if !r.SourceIP.IsValid() && !r.DestinationIP.IsValid() && r.URLOriginal == "" {
		return fmt.Errorf("%w: sophos-xg %s log without addresses", parsers.ErrSkip, f.component)
	}
	return nil
}

func setWeb(f *fields, r *parsers.Record) {
	parsers.SetURL(r, parsers.Clean(f.url))
	if d := strings.TrimSpace(parsers.Clean(f.domain)); d != "" {
		if !parsers.ParseIP(d).IsValid() && !strings.ContainsAny(d, " /") {
			r.DestinationDomain = d
		}
		if r.URLDomain == "" {
			r.URLDomain = d
		}
	} else if r.URLDomain != "" && !parsers.ParseIP(r.URLDomain).IsValid() {
		r.DestinationDomain = r.URLDomain
	}
	switch r.URLScheme {
	case "http", "https", "ftp":
		r.NetworkProtocol = r.URLScheme
	}
	r.HTTPContentType = parsers.Clean(f.contentType)
	r.HTTPStatus = parsers.ParseStatus(f.httpStatus)
	r.UserAgent = parsers.Clean(f.userAgent)
	r.HTTPReferrer = parsers.Clean(f.referer)
	r.URLCategory = parsers.Clean(strings.TrimSpace(f.category))
}

// verdict: log_subtype names the outcome (Allowed, Denied); status repeats
// it for firewall logs (Allow, Deny). Web Content Policy alerts carry the
// decision in action (Allow, Deny). A content filtering "Warned" record is
// the warning page SFOS served instead of the site: the request did not
// reach it, and when the user proceeds SFOS logs the requests that follow
// as Allowed. So Warned counts as denied, as Zscaler's Caution and Sophos
// UTM's warn records do, and event.action keeps the word.
func verdict(f *fields, r *parsers.Record) {
	r.EventAction = parsers.Clean(f.subtype)
	if a := parsers.Clean(f.action); a != "" && f.component == "Web Content Policy" {
		r.EventAction = a
	}
	if r.EventAction == "" {
		r.EventAction = parsers.Clean(f.status)
	}
	switch {
	case parsers.EqualFoldAny(r.EventAction, "Allowed", "Allow", "Allow Session"):
		r.Verdict = parsers.Allowed
	case parsers.EqualFoldAny(r.EventAction, "Denied", "Deny", "Deny Session", "Drop", "Dropped", "Blocked", "Warned", "Warn"):
		r.Verdict = parsers.Denied
	}
}

// setTime: 19.5+ logs an ISO timestamp with offset; older releases log
// date, time and a zone abbreviation. An abbreviation that names one
// offset wins; ambiguous ones (IST: India, Ireland or Israel; CST; BST)
// and unknown ones leave the source's configured zone.
func setTime(f *fields, m *parsers.Meta, r *parsers.Record) error {
	if ts := parsers.Clean(f.timestamp); ts != "" {
		// 19.5+ writes ISO 8601; before it some Event logs carry a Unix
		// timestamp= next to date= and time=.
		t, ok := parsers.ParseTime(ts, m.Location)
		if !ok {
			t, ok = parsers.ParseEpoch(ts)
		}
		if ok {
			r.Timestamp = t
			return nil
		}
		if f.date == "" || f.clock == "" {
			return fmt.Errorf("sophos-xg: bad timestamp %q", ts)
		}
	}
	if f.date == "" || f.clock == "" {
		return nil
	}
	loc := m.Location
	if loc == nil {
		loc = time.UTC
	}
	if off, ok := zoneOffset(strings.TrimSpace(f.timezone)); ok {
		loc = fixed(off)
	}
	t, ok := dateTime(f.date, f.clock, loc)
	if !ok {
		return fmt.Errorf("sophos-xg: bad date/time %q %q", f.date, f.clock)
	}
	r.Timestamp = t
	return nil
}

// Fixed zones for the offsets zoneOffset returns, built once: the parser
// holds no per-line zone allocations.
var zones = map[int]*time.Location{}

func init() {
	for _, off := range zoneTable {
		if _, ok := zones[off]; !ok {
			if off == 0 {
				zones[off] = time.UTC
			} else {
				zones[off] = time.FixedZone("", off)
			}
		}
	}
}

func fixed(off int) *time.Location { return zones[off] }

// zoneTable lists the unambiguous abbreviations SFOS writes (seconds east
// of UTC).
var zoneTable = map[string]int{
	"UTC": 0, "GMT": 0, "WET": 0, "WEST": 3600, "CET": 3600, "CEST": 7200, "MET": 3600,
	"MEST": 7200, "EET": 7200, "EEST": 10800, "MSK": 10800, "GST": 4 * 3600,
	"PKT": 5 * 3600, "NPT": 5*3600 + 2700, "ICT": 7 * 3600, "WIB": 7 * 3600,
	"SGT": 8 * 3600, "HKT": 8 * 3600, "AWST": 8 * 3600, "PHT": 8 * 3600, "JST": 9 * 3600,
	"KST": 9 * 3600, "ACST": 9*3600 + 1800, "ACDT": 10*3600 + 1800, "AEST": 10 * 3600,
	"AEDT": 11 * 3600, "NZST": 12 * 3600, "NZDT": 13 * 3600, "HST": -10 * 3600,
	"AKST": -9 * 3600, "AKDT": -8 * 3600, "PST": -8 * 3600, "PDT": -7 * 3600,
	"MST": -7 * 3600, "MDT": -6 * 3600, "CDT": -5 * 3600, "EST": -5 * 3600,
	"EDT": -4 * 3600, "BRT": -3 * 3600, "ART": -3 * 3600, "SAST": 2 * 3600,
	"WAT": 3600, "CAT": 2 * 3600, "EAT": 3 * 3600,
}

func zoneOffset(abbr string) (int, bool) {
	off, ok := zoneTable[abbr]
	return off, ok
}

func dateTime(date, clock string, loc *time.Location) (time.Time, bool) {
	if len(date) != 10 || date[4] != '-' || date[7] != '-' || len(clock) != 8 || clock[2] != ':' || clock[5] != ':' {
		return time.Time{}, false
	}
	y, ok1 := num(date[0:4])
	mo, ok2 := num(date[5:7])
	d, ok3 := num(date[8:10])
	hh, ok4 := num(clock[0:2])
	mm, ok5 := num(clock[3:5])
	ss, ok6 := num(clock[6:8])
	if !ok1 || !ok2 || !ok3 || !ok4 || !ok5 || !ok6 || mo < 1 || mo > 12 || d < 1 || d > 31 || hh > 23 || mm > 59 || ss > 60 {
		return time.Time{}, false
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, 0, loc)
	if t.Day() != d {
		return time.Time{}, false
	}
	return t, true
}

func num(s string) (int, bool) {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
		n = n*10 + int(s[i]-'0')
	}
	return n, s != ""
}

// transport maps SFOS protocol names (TCP, UDP, ICMP, ICMPv6) and numbers.
func transport(p string) string {
	p = strings.TrimSpace(p)
	switch {
	case parsers.EqualFoldAny(p, "TCP", "6"):
		return "tcp"
	case parsers.EqualFoldAny(p, "UDP", "17"):
		return "udp"
	case parsers.EqualFoldAny(p, "ICMP", "1"):
		return "icmp"
	case parsers.EqualFoldAny(p, "ICMPv6", "IPv6-ICMP", "58"):
		return "ipv6-icmp"
	}
	return ""
}

// looksKV reports whether body starts with a key=value pair.
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

// detect: device="SFW" (before 19.5) and device_name= with timestamp= (19.5
// on) open every SFOS line; log_id, log_type and log_component together are
// SFOS's own field names.
func detect(body string, _ *parsers.Header) int {
	if !parsers.HasKVKeys(body, "log_type", "log_component") {
		return 0
	}
	if strings.HasPrefix(body, `device="SFW"`) || strings.HasPrefix(body, `device_name=`) && parsers.HasKVKeys(body, "timestamp") {
		return 95
	}
	if parsers.HasKVKeys(body, "log_id") {
		return 92
	}
	return 0
}
