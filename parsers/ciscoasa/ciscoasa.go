// Package ciscoasa parses Cisco ASA syslog messages that describe traffic:
// connection built/teardown (302013-302016, 302020/302021), access-list
// denies and permits (106001, 106006, 106007, 106010, 106014, 106015,
// 106023, 106100, 710003) and URL access (304001/304002). Every other
// message id is housekeeping and returns parsers.ErrSkip.
//
// A teardown names no direction: which side initiated comes from the Built
// message with the same connection id, remembered per stream (per Parser)
// in a bounded table. The cisco-ftd format reuses this parser for FTD's
// LINA messages through New with its own Config.
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
			if HasID(body, "%ASA-") {
				return 95
			}
			return 0
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
	id, text, ok := SplitID(body, p.cfg.Prefix)
	if !ok {
		return p.errNoID
	}
	if err := p.ParseMessage(id, text, r); err != nil {
		return err
	}
	FixUTCHeader(&m.Header, r)
	return nil
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
	lim := min(len(body), maxIDOffset+len(prefix)+16)
	i := strings.Index(body[:lim], prefix)
	if i < 0 {
		return "", "", false
	}
	s := body[i+len(prefix):]
	if len(s) < 4 || s[0] < '0' || s[0] > '7' || s[1] != '-' {
		return "", "", false
	}
	s = s[2:]
	j := 0
	for j < len(s) && j < 8 && isDigit(s[j]) {
		j++
	}
	if j < 4 || j >= len(s) || s[j] != ':' {
		return "", "", false
	}
	return s[:j], strings.TrimLeft(s[j+1:], " "), true
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
	case "106100":
		err = accessList(text, r)
	case "106001", "106006", "106007", "106015", "710003":
		err = denyFromTo(id, text, r)
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
