// Package forcepoint parses Forcepoint (Websense) Web Security SIEM
// integration output ("forcepoint"): the predefined syslog/CEF,
// syslog/LEEF and syslog/key-value pairs format strings.
//
// Field meanings follow Forcepoint's SIEM guide (v8.5 "Working with SIEM
// integration format strings" and "Keys"): CEF in=%<bytesReceived> (bytes
// received in response), out=%<bytesSent> (bytes sent as part of the
// request); suser is the user path (LDAP://server DN/Name or
// WinNT://DOMAIN/user) and loginID the login; rt is the transaction time.
package forcepoint

import (
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/cefleef"
)

// Name is the registry name of the format.
const Name = "forcepoint"

const (
	vendor  = "Forcepoint"
	product = "Web Security"
)

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      vendor,
		Product:     product + " (Websense)",
		Description: "Forcepoint/Websense Web Security SIEM integration: syslog/CEF, syslog/LEEF and syslog/key-value pairs",
		New:         New,
		Detect:      Detect,
	})
}

type parser struct {
	ev      cefleef.Event
	loginID string
	user    string // the user path of a key-value record
}

var _ parsers.Parser = (*parser)(nil)

// New returns a Forcepoint parser for one stream.
func New(parsers.Options) (parsers.Parser, error) { return &parser{}, nil }

// Detect claims CEF and LEEF messages from vendor Forcepoint or Websense
// with product "Security" (Web Security; the NGFW writes "Firewall" and
// Email Security "Email Security", which are not this format).
func Detect(body string, h *parsers.Header) int {
	if isKV(body) {
		return 95
	}
	i := cefleef.LocateCEF(body, h)
	if i < 0 {
		i = cefleef.LocateLEEF(body, h)
	}
	if i < 0 {
		return 0
	}
	v, ok1 := cefleef.HeaderField(body, i, 0)
	p, ok2 := cefleef.HeaderField(body, i, 1)
	if ok1 && ok2 && ours(v, p) {
		return 95
	}
	return 0
}

func ours(v, p string) bool {
	v, p = strings.TrimSpace(v), strings.TrimSpace(p)
	return (strings.EqualFold(v, "Forcepoint") || strings.EqualFold(v, "Websense")) &&
		(strings.EqualFold(p, "Security") || strings.EqualFold(p, "Web Security"))
}

// Parse maps one Forcepoint web transaction. Messages without a requested
// URL or host (audit records) return parsers.ErrSkip.
func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	e := &p.ev
	e.Reset()
	p.loginID, p.user = "", ""
	h := &m.Header
	var eventID string
	switch {
	case isKV(body):
		p.parseKV(body, r)
		eventID = r.EventAction
		if isZoneAbbrev(h.Hostname) && h.AppName != "" {
			// "<159>Dec 19 10:48:57 EST 10.0.0.5 vendor=...": an older
			// header with a zone name, then the sending server.
			r.ObserverHostname = h.AppName
		}
	case cefleef.LocateCEF(body, h) >= 0:
		c, err := cefleef.SplitCEFHeader(body, h)
		if err != nil {
			return fmt.Errorf("forcepoint: %w", err)
		}
		it := cefleef.NewExt(c.Ext)
		for it.Next() {
			p.cefKey(r, it.Key(), it.Value())
		}
		eventID = c.Name // "Transaction permitted"
	case cefleef.LocateLEEF(body, h) >= 0:
		l, err := cefleef.SplitLEEFHeader(body, h)
		if err != nil {
			return fmt.Errorf("forcepoint: %w", err)
		}
		it := l.Iter()
		for it.Next() {
			p.leefKey(r, it.Key(), it.Value())
		}
		eventID = l.EventID // "transaction:permitted"
	default:
		return fmt.Errorf("forcepoint: not a CEF, LEEF or key-value SIEM record")
	}
	user := e.User
	if p.user != "" {
		user = p.user
	}
	e.User = ""
	// in = bytes received in response (server -> client), out = bytes sent
	// with the request (client -> server): Forcepoint's documented keys.
	e.Finish(r, m, cefleef.InToClient)
	p.setUser(r, user)
	if r.EventAction == "" {
		if i := strings.LastIndexAny(eventID, ": "); i >= 0 {
			if v := cefleef.Verdict(eventID[i+1:]); v != parsers.VerdictUnknown {
				r.EventAction, r.Verdict = eventID[i+1:], v
			}
		}
	}
	if r.URLOriginal == "" && r.DestinationDomain == "" {
		return fmt.Errorf("%w: forcepoint event %q without a request", parsers.ErrSkip, eventID)
	}
	cefleef.DestinationFromURL(r)
	r.ObserverVendor = vendor
	r.ObserverProduct = product
	r.Category = "web"
	return nil
}

// isZoneAbbrev reports whether s looks like a time zone abbreviation
// ("EST", "CEST") rather than a host name.
func isZoneAbbrev(s string) bool {
	if len(s) < 3 || len(s) > 5 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

func (p *parser) cefKey(r *parsers.Record, k, v string) {
	switch k {
	case "loginID":
		p.loginID = v
	case "destinationTranslatedPort":
		// Forcepoint fills it with %<proxySourcePort>, the port the proxy
		// connected out from: a translated source port.
		r.SourceNATPort = parsers.ParsePort(v)
	default:
		p.ev.ApplyCEF(r, k, v)
	}
}

func (p *parser) leefKey(r *parsers.Record, k, v string) {
	switch k {
	case "loginID":
		p.loginID = v
	case "cat":
		r.URLCategory = parsers.Clean(v)
	case "contentType":
		r.HTTPContentType = parsers.Clean(v)
	case "proxyStatus-code":
		r.HTTPStatus = parsers.ParseStatus(v)
	case "serverStatus-code":
		if !r.HTTPStatus.Set {
			r.HTTPStatus = parsers.ParseStatus(v)
		}
	case "disposition":
		// numeric disposition code; the verdict comes from the event ID
	default:
		p.ev.ApplyLEEF(r, k, v)
	}
}

// setUser prefers the login ID and takes the domain from the user path
// when the login carries none.
func (p *parser) setUser(r *parsers.Record, userPath string) {
	name, domain := splitUserPath(userPath)
	if l := parsers.Clean(strings.TrimSpace(p.loginID)); l != "" {
		setLogin(r, l)
	} else if name != "" {
		parsers.SetUser(r, name)
	}
	if r.UserName != "" && r.UserDomain == "" {
		r.UserDomain = domain
	}
}

// setLogin sets the user from a login ID, which Forcepoint can write as
// "domain/userID" as well as "DOMAIN\user", "user@domain" or "user".
func setLogin(r *parsers.Record, l string) {
	if i := strings.LastIndexByte(l, '/'); i > 0 && i < len(l)-1 &&
		strings.IndexByte(l, '\\') < 0 && strings.IndexByte(l, '@') < 0 && !strings.Contains(l, "://") {
		r.UserName, r.UserDomain = l[i+1:], parsers.Clean(l[:i])
		return
	}
	parsers.SetUser(r, l)
}

// splitUserPath reads Forcepoint's user path: "WinNT://DOMAIN/user",
// "LDAP://server OU=x,DC=corp,DC=example/Display Name" (domain from the DC
// components), or a plain name.
func splitUserPath(s string) (name, domain string) {
	s = strings.TrimSpace(s)
	if parsers.IsEmpty(s) {
		return "", ""
	}
	switch {
	case hasPrefixFold(s, "WinNT://"):
		rest := s[len("WinNT://"):]
		if i := strings.LastIndexByte(rest, '/'); i >= 0 {
			return parsers.Clean(rest[i+1:]), parsers.Clean(rest[:i])
		}
		return parsers.Clean(rest), ""
	case hasPrefixFold(s, "LDAP://"):
		rest := s[len("LDAP://"):]
		i := strings.LastIndexByte(rest, '/')
		if i < 0 {
			return "", ""
		}
		name = parsers.Clean(strings.TrimSpace(rest[i+1:]))
		dn := rest[:i]
		if sp := strings.IndexByte(dn, ' '); sp >= 0 {
			dn = dn[sp+1:]
		} else {
			dn = ""
		}
		return name, dnDomain(dn)
	}
	return s, ""
}

// dnDomain joins the DC= components of an LDAP DN: "OU=x,DC=corp,DC=example"
// gives "corp.example".
func dnDomain(dn string) string {
	var b strings.Builder
	for dn != "" {
		part := dn
		if i := strings.IndexByte(dn, ','); i >= 0 {
			part, dn = dn[:i], dn[i+1:]
		} else {
			dn = ""
		}
		part = strings.TrimSpace(part)
		if len(part) > 3 && strings.EqualFold(part[:3], "DC=") {
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(part[3:])
		}
	}
	return b.String()
}

func hasPrefixFold(s, p string) bool {
	return len(s) >= len(p) && strings.EqualFold(s[:len(p)], p)
}
