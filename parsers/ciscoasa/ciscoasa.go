// Package ciscoasa parses Cisco ASA syslog messages that describe traffic:
// connection built/teardown (302013-302016, 302020/302021), access-list
// denies and permits (106001, 106006, 106007, 106010, 106014, 106015,
// 106023, 106100, 106102, 106103, 710003, 710005), packet denies that log
// bare addresses (106012, 106016, 106017, 106020, 106021, 106022, 313004)
// and URL access (304001/304002). Every other message id is housekeeping
// and returns parsers.ErrSkip.
//
// A teardown names no direction: which side initiated comes from the Built
// message with the same connection id, remembered per stream (per Parser)
// in a bounded table; a teardown whose Built was not seen returns
// ErrUnpairedTeardown (a skip). The cisco-ftd format reuses this parser for
// FTD's LINA messages through New with its own Config.
package ciscoasa

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

// Name is the registry name of the ASA format.
const Name = "cisco-asa"

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      "Cisco",
		Product:     "ASA",
		Description: "Cisco ASA connection, access-list and URL syslog messages (%ASA-)",
		New: func(o parsers.Options) (parsers.Parser, error) {
			return New(Config{Name: Name, Prefix: "%ASA-", Product: "ASA"}), nil
		},
		Detect: func(body string, _ *parsers.Header) int {
			id, _, ok := SplitID(body, "%ASA-")
			if !ok {
				return 0
			}
			if strings.HasPrefix(id, "43000") {
				// Firepower events under the pre-6.3 ASA prefix belong to
				// cisco-ftd; scoring low also ends a sticky ASA stream.
				return 50
			}
			return 95
		},
	})
}

// Config names the message family a Parser accepts.
type Config struct {
	Name     string // registry name, used in error messages ("cisco-asa")
	Prefix   string // message id prefix ("%ASA-", "%FTD-")
	Product  string // observer.product
	MaxConns int    // open connections remembered per stream; 0 means DefaultMaxConns
}

// ErrMalformed is wrapped by errors for lines of the format that cannot be
// read (truncated or garbled), as opposed to lines that are skipped.
var ErrMalformed = errors.New("malformed message")

// ErrUnpairedTeardown is returned (wrapped, with the connection id) for a
// teardown (302014, 302016, 302021) whose Built message this stream has not
// seen: after a collector restart, UDP loss, or a file that starts
// mid-stream. A teardown lists the endpoints in the Built message's order
// ("for" side, "to" side) but not which of them initiated; that comes only
// from the Built message's inbound/outbound (Cisco TAC 116149: the "for"
// side is the initiator of inbound and the responder of outbound
// connections, on same-security interfaces too), so the line is skipped
// rather than guessed. It wraps parsers.ErrSkip, so the caller counts it as
// a skip; errors.Is tells it apart from other skips.
var ErrUnpairedTeardown = fmt.Errorf("%w: teardown without its Built message (initiator unknown)", parsers.ErrSkip)

// Parser parses the messages of one stream. It is not safe for concurrent use.
type Parser struct {
	cfg     Config
	errNoID error
	conns   genTable[uint64]  // TCP/UDP connection id -> Built's "for" side initiated
	icmp    genTable[icmpKey] // ICMP (no connection id) -> inbound
}

// icmpKey identifies an ICMP connection, which has no id, by its addresses.
type icmpKey struct{ foreign, local netip.Addr }

var _ parsers.Parser = (*Parser)(nil)

// New returns a parser for one stream.
func New(c Config) *Parser {
	if c.MaxConns <= 0 {
		c.MaxConns = DefaultMaxConns
	}
	return &Parser{
		cfg:     c,
		errNoID: fmt.Errorf("%s: no %s<severity>-<id>: message id: %w", c.Name, c.Prefix, ErrMalformed),
		conns:   newGenTable[uint64](c.MaxConns),
		icmp:    newGenTable[icmpKey](c.MaxConns),
	}
}

// OpenConns reports how many connections the parser remembers.
func (p *Parser) OpenConns() int { return p.conns.len() + p.icmp.len() }

// Parse implements parsers.Parser.
func (p *Parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	pre, id, text, ok := Split(body, p.cfg.Prefix)
	if !ok {
		return p.errNoID
	}
	if err := p.ParseMessage(id, text, r); err != nil {
		return err
	}
	ApplyPrefix(pre, m, r)
	FixUTCHeader(&m.Header, r)
	return nil
}

// ApplyPrefix reads what precedes the message id in the body: the device's
// own "[timestamp] [device-id] :" when the syslog header was split off a
// relay's header ("<13>Apr  2 14:06:00 relay01 Apr 02 2026 14:05:59 fw01 :
// %ASA-..."), or a bare device id ("<166>fw01 : %ASA-..."). The device's
// time and name win over the relay's.
func ApplyPrefix(pre string, m *parsers.Meta, r *parsers.Record) {
	pre = strings.TrimRight(pre, ": ")
	if pre == "" {
		return
	}
	h, rest := parsers.SplitHeader(pre, m.Location, m.Now)
	if !h.Time.IsZero() {
		r.Timestamp = h.Time
		if h.Hostname != "" {
			r.ObserverHostname = h.Hostname
		}
		return
	}
	if isDeviceID(rest) {
		r.ObserverHostname = rest
	}
}

// isDeviceID reports a single token that can name a device: a host name,
// an address, or a context/serial string ("logging device-id").
func isDeviceID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '_' || c == ':') {
			return false
		}
	}
	return true
}

// FixUTCHeader sets r.Timestamp for the header "Mar 12 2026 09:15:03 UTC:
// %ASA-...", which the shared header splitter reads as a tag "UTC" and a
// time in the source's zone: the device said UTC.
func FixUTCHeader(h *parsers.Header, r *parsers.Record) {
	if (h.AppName != "UTC" && h.AppName != "GMT") || h.Time.IsZero() || !r.Timestamp.IsZero() {
		return
	}
	t := h.Time
	r.Timestamp = time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), t.Second(), t.Nanosecond(), time.UTC)
}

// maxIDOffset bounds where the message id may start: a device id, an IP or
// a relay's prefix may precede it, a whole message may not.
const maxIDOffset = 128

// SplitID finds "<prefix><severity>-<id>:" near the start of body and
// returns the numeric id and the message text after it.
func SplitID(body, prefix string) (id, text string, ok bool) {
	_, id, text, ok = Split(body, prefix)
	return id, text, ok
}

// Split is SplitID that also returns what precedes the message id (see
// ApplyPrefix).
func Split(body, prefix string) (pre, id, text string, ok bool) {
	lim := min(len(body), maxIDOffset+len(prefix)+16)
	i := strings.Index(body[:lim], prefix)
	if i < 0 {
		return "", "", "", false
	}
	s := body[i+len(prefix):]
	if len(s) < 4 || s[0] < '0' || s[0] > '7' || s[1] != '-' {
		return "", "", "", false
	}
	s = s[2:]
	j := 0
	for j < len(s) && j < 8 && isDigit(s[j]) {
		j++
	}
	if j < 4 || j >= len(s) || s[j] != ':' {
		return "", "", "", false
	}
	return body[:i], s[:j], strings.TrimLeft(s[j+1:], " "), true
}

// HasID reports whether body carries a "<prefix><severity>-<id>:" message
// id; cheap and allocation-free for Detect.
func HasID(body, prefix string) bool {
	_, _, ok := SplitID(body, prefix)
	return ok
}

// ParseMessage fills r from the text of message id (what follows
// "%ASA-6-302013: "). Ids that carry no traffic return parsers.ErrSkip.
func (p *Parser) ParseMessage(id, text string, r *parsers.Record) error {
	var err error
	switch id {
	case "302013", "302015":
		err = p.built(text, r)
	case "302014", "302016":
		err = p.teardown(text, r)
	case "302020":
		err = p.builtICMP(text, r)
	case "302021":
		err = p.teardownICMP(text, r)
	case "106010", "106014", "106023":
		err = denySrcDst(text, r)
	case "106100", "106102", "106103":
		err = accessList(text, r)
	case "106001", "106006", "106007", "106015", "710003", "710005":
		err = denyFromTo(id, text, r)
	case "106012", "106016", "106017", "106020", "106021", "106022", "313004":
		err = denyAddrs(id, text, r)
	case "304001":
		err = urlAccessed(text, r)
	case "304002":
		err = urlDenied(text, r)
	default:
		return fmt.Errorf("%w: %s message %s is not a connection event", parsers.ErrSkip, p.cfg.Name, id)
	}
	if err != nil {
		if errors.Is(err, parsers.ErrSkip) {
			return err
		}
		return fmt.Errorf("%s message %s: %w", p.cfg.Name, id, err)
	}
	r.ObserverVendor = "Cisco"
	r.ObserverProduct = p.cfg.Product
	return nil
}
