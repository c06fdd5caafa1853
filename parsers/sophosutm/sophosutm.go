// Package sophosutm parses Sophos UTM (SG / ASG, UTM 9) syslog: the web
// proxy's access records (httpproxy, sys="SecureWeb" sub="http") and the
// packet filter's (ulogd, sys="SecureNet" sub="packetfilter"). Everything
// else the UTM logs (proxy diagnostics, IPS, VPN, confd, DHCP...) is not a
// traffic event. The syslog header ("2025:01:15-10:00:00 host tag[pid]:")
// carries the only timestamp, in device-local time; SplitHeader reads it.
package sophosutm

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
)

const (
	name    = "sophos-utm"
	vendor  = "Sophos"
	product = "UTM"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        name,
		Vendor:      vendor,
		Product:     product,
		Description: "Sophos UTM (SG) web proxy (httpproxy) and packet filter (ulogd) logs",
		New:         newParser,
		Detect:      detect,
	})
}

var errNotUTM = errors.New("sophos-utm: not a Sophos UTM log line")

type parser struct{}

var _ parsers.Parser = (*parser)(nil)

func newParser(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

type fields struct {
	id, sys, sub, name, action, method     string
	srcIP, dstIP, srcPort, dstPort, proto  string
	user, adDomain, status, size, url      string
	referer, ua, categoryName, application string
	contentType, srcMAC, reason            string
	n                                      int
}

func (f *fields) set(k, v string) bool {
	f.n++
	switch k {
	case "id":
		f.id = v
	case "sys":
		f.sys = v
	case "sub":
		f.sub = v
	case "name":
		if f.name == "" { // confd repeats name= for the changed object
			f.name = v
		}
	case "action":
		f.action = v
	case "method":
		f.method = v
	case "srcip":
		f.srcIP = v
	case "dstip":
		f.dstIP = v
	case "srcport":
		f.srcPort = v
	case "dstport":
		f.dstPort = v
	case "proto":
		f.proto = v
	case "user":
		f.user = v
	case "ad_domain":
		f.adDomain = v
	case "statuscode":
		f.status = v
	case "size":
		f.size = v
	case "url":
		f.url = v
	case "referer":
		f.referer = v
	case "ua":
		f.ua = v
	case "categoryname":
		f.categoryName = v
	case "application":
		f.application = v
	case "content-type":
		f.contentType = v
	case "srcmac":
		f.srcMAC = v
	case "reason":
		f.reason = v
	default:
		f.n--
	}
	return true
}

func (p *parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	body := strings.TrimLeft(line, " \t")
	if !strings.HasPrefix(body, "id=") {
		return fmt.Errorf("%w: body does not start with id=", errNotUTM)
	}
	var f fields
	parsers.ScanKV(body, ' ', f.set)
	if f.sys == "" && f.sub == "" {
		return errors.New("sophos-utm: record without sys and sub")
	}
	switch {
	case f.sub == "packetfilter":
		if err := packetFilter(&f, r); err != nil {
			return err
		}
	case f.sub == "http" && f.action != "" && f.method != "":
		if err := web(&f, r); err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: sophos-utm %s/%s record %s (%s)", parsers.ErrSkip, f.sys, f.sub, f.id, f.name)
	}
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	return nil
}

// packetFilter maps ulogd records: drop and reject deny; accept allows, and
// so does "DNS request", which the packet filter logs for DNS queries it
// lets through when DNS request logging is on.
func packetFilter(f *fields, r *parsers.Record) error {
	r.Category = "network"
	r.SourceIP = parsers.ParseIP(f.srcIP)
	r.DestinationIP = parsers.ParseIP(f.dstIP)
	if !r.SourceIP.IsValid() && !r.DestinationIP.IsValid() {
		return fmt.Errorf("sophos-utm: packet filter record %s without addresses", f.id)
	}
	r.SourcePort = parsers.ParsePort(f.srcPort)
	r.DestinationPort = parsers.ParsePort(f.dstPort)
	r.NetworkTransport = transport(f.proto)
	r.SourceMAC = parsers.Clean(f.srcMAC)
	r.EventAction = parsers.Clean(f.action)
	switch {
	case parsers.EqualFoldAny(f.action, "drop", "reject"):
		r.Verdict = parsers.Denied
	case parsers.EqualFoldAny(f.action, "accept", "pass", "DNS request"):
		r.Verdict = parsers.Allowed
	}
	return nil
}

// web maps httpproxy access records: pass allows, block denies. warn
// records the warning page the proxy served instead of the site: the
// request did not reach it, and if the user proceeds the proxy logs a
// "warned and proceeded" notice and then the requests themselves as pass.
// So warn counts as denied, as Zscaler's Caution and Sophos Firewall's
// Warned records do; event.action keeps the word. size is what the proxy
// delivered to the client.
func web(f *fields, r *parsers.Record) error {
	r.Category = "web"
	r.SourceIP = parsers.ParseIP(f.srcIP)
	if !r.SourceIP.IsValid() && !parsers.IsEmpty(f.srcIP) {
		return fmt.Errorf("sophos-utm: bad srcip %q", f.srcIP)
	}
	r.DestinationIP = parsers.ParseIP(f.dstIP)
	r.EventAction = parsers.Clean(f.action)
	switch {
	case strings.EqualFold(f.action, "pass"):
		r.Verdict = parsers.Allowed
	case strings.EqualFold(f.action, "block"), strings.EqualFold(f.action, "warn"):
		r.Verdict = parsers.Denied
	}
	r.HTTPMethod = parsers.Clean(f.method)
	r.HTTPStatus = parsers.ParseStatus(f.status)
	r.DestinationBytes = parsers.ParseNum(f.size)
	parsers.SetURL(r, parsers.Clean(f.url))
	if h := r.URLDomain; h != "" {
		if a := parsers.ParseIP(h); !a.IsValid() {
			r.DestinationDomain = h
		} else if !r.DestinationIP.IsValid() {
			r.DestinationIP = a
		}
	}
	r.DestinationPort = r.URLPort
	switch r.URLScheme {
	case "http", "https", "ftp":
		r.NetworkProtocol = r.URLScheme
	}
	parsers.SetUser(r, f.user)
	if r.UserName != "" && r.UserDomain == "" {
		r.UserDomain = parsers.Clean(f.adDomain)
	}
	r.HTTPReferrer = parsers.Clean(f.referer)
	r.UserAgent = parsers.Clean(f.ua)
	r.URLCategory = uniqueList(parsers.Clean(f.categoryName))
	r.NetworkApplication = parsers.Clean(f.application)
	r.HTTPContentType = parsers.Clean(f.contentType)
	if !r.SourceIP.IsValid() && r.URLOriginal == "" {
		return fmt.Errorf("sophos-utm: web record %s without client or URL", f.id)
	}
	return nil
}

// uniqueList drops repeats from a comma-separated list: the proxy logs one
// category name per categorization source ("Business,Business,Business").
func uniqueList(s string) string {
	first, rest, ok := strings.Cut(s, ",")
	if !ok {
		return s
	}
	for rest != "" {
		var v string
		v, rest, _ = strings.Cut(rest, ",")
		if v != first {
			return dedupe(s)
		}
	}
	return first
}

// dedupe is uniqueList for lists of several distinct values.
func dedupe(s string) string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		dup := false
		for _, o := range out {
			if o == v {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, v)
		}
	}
	return strings.Join(out, ",")
}

// transport maps the packet filter's IANA protocol number.
func transport(p string) string {
	switch p {
	case "6":
		return "tcp"
	case "17":
		return "udp"
	case "1":
		return "icmp"
	case "58":
		return "ipv6-icmp"
	case "47":
		return "gre"
	case "50":
		return "esp"
	}
	return ""
}

// detect: UTM records open with id="NNNN" and name their subsystem
// (sys="SecureWeb", sys="SecureNet", sys="System"...) and sub-system.
func detect(body string, _ *parsers.Header) int {
	if !strings.HasPrefix(body, `id="`) || !parsers.HasKVKeys(body, "severity", "sys", "sub") {
		return 0
	}
	if strings.Contains(body, ` sys="Secure`) || strings.Contains(body, ` sys="System"`) {
		return 95
	}
	return 85
}
