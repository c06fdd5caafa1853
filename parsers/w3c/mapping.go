package w3c

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

// Role says what the logging host was in the transaction, which decides
// whether its own address (s-ip, s-port) is the destination.
type Role uint8

const (
	// Server: the logging host answered the request itself (IIS). Its s-ip
	// and s-port are the destination unless the layout names a remote
	// server (r-ip), as proxies logging in W3C form do.
	Server Role = iota
	// Proxy: the logging host is a proxy (ProxySG, Cisco WSA); s-ip is the
	// proxy, and the destination comes from the supplier / remote fields.
	Proxy
)

var errNoTime = errors.New("w3c: bad date or time")

func clean(v string) string { return parsers.Clean(v) }

// Map fills r from the fields every W3C dialect shares: time, client,
// user, request, URL, status, byte counts, duration, headers and the
// destination. Vendor parsers add their own fields (action, categories)
// afterwards. The stream supplies the #Date of time-only layouts.
//
// Times: date/time columns are UTC (W3C draft, IIS, ProxySG); timestamp is
// a Unix epoch; localtime/gmttime carry their own offset.
func Map(row Row, s *Stream, role Role, m *parsers.Meta, r *parsers.Record) error {
	if err := mapTime(row, s, r); err != nil {
		return err
	}
	r.Category = "web"

	if v := row.Get(CIP); !parsers.IsEmpty(v) {
		r.SourceIP = HostIP(v)
		if !r.SourceIP.IsValid() {
			return fmt.Errorf("w3c: bad client address %q", v)
		}
	}
	r.SourcePort = parsers.ParsePort(row.Get(CPort))
	SetUser(r, row.Get(Username))
	r.HTTPMethod = row.Value(Method)
	r.HTTPStatus = parsers.ParseStatus(row.Get(Status))
	r.SourceBytes = parsers.ParseNum(row.Get(CSBytes))
	r.DestinationBytes = parsers.ParseNum(row.Get(SCBytes))
	r.NetworkBytes = parsers.ParseNum(row.Get(Bytes))
	r.UserAgent = row.Value(UserAgent)
	r.HTTPReferrer = row.Value(Referer)
	r.HTTPContentType = row.Value(ContentType)
	r.ObserverHostname = row.Value(SComputerName)
	if d, ok := millis(row.Get(ElapsedTime)); ok {
		r.Duration = d
	} else if d, ok := timeTaken(row.Get(TimeTaken)); ok {
		r.Duration = d
	}

	s.mapURL(row, r)
	mapDestination(row, role, r)
	return nil
}

// mapTime sets the event time from the first time form the layout has.
func mapTime(row Row, s *Stream, r *parsers.Record) error {
	if v := row.Get(Timestamp); !parsers.IsEmpty(v) {
		t, ok := parsers.ParseEpoch(v)
		if !ok {
			return fmt.Errorf("w3c: bad timestamp %q", v)
		}
		r.Timestamp = t
		return nil
	}
	clock := row.Get(Time)
	if !parsers.IsEmpty(clock) {
		date := row.Get(Date)
		if parsers.IsEmpty(date) {
			date = s.Date
		}
		if date != "" {
			t, ok := DateTime(date, clock, time.UTC)
			if !ok {
				return errNoTime
			}
			r.Timestamp = t
			return nil
		}
	}
	for _, f := range [...]Field{GMTTime, LocalTime} {
		if v := row.Get(f); !parsers.IsEmpty(v) {
			v = strings.TrimSuffix(strings.TrimPrefix(v, "["), "]")
			t, ok := parsers.ParseTime(v, time.UTC)
			if !ok {
				return errNoTime
			}
			r.Timestamp = t
			return nil
		}
	}
	return nil
}

// mapURL fills url.* from a full URL column, or rebuilds the URL from its
// parts (ProxySG: scheme, host, port, path, query; IIS: stem and query).
func (s *Stream) mapURL(row Row, r *parsers.Record) {
	if u := row.Value(URI); u != "" {
		parsers.SetURL(r, u)
	} else if u := row.Value(URL); u != "" {
		parsers.SetURL(r, u)
	} else {
		s.buildURL(row, r)
	}
	if h := row.Value(Host); h != "" {
		host, _ := splitHostPort(h)
		if r.URLDomain == "" {
			r.URLDomain = host
		}
		if a := HostIP(host); a.IsValid() {
			if !r.DestinationIP.IsValid() {
				r.DestinationIP = a
			}
		} else {
			r.DestinationDomain = host
		}
	}
	if r.DestinationDomain == "" && r.URLDomain != "" && !HostIP(r.URLDomain).IsValid() {
		r.DestinationDomain = r.URLDomain
	}
	switch r.URLScheme {
	case "http", "https", "ftp":
		r.NetworkProtocol = r.URLScheme
	}
}

func (s *Stream) buildURL(row Row, r *parsers.Record) {
	scheme := parsers.Lower(row.Value(URIScheme))
	host := row.Value(Host)
	port := parsers.ParsePort(row.Get(URIPort))
	path := row.Value(URIPath)
	if path == "" {
		path = row.Value(URIStem)
	}
	query := row.Value(URIQuery)
	q := strings.TrimPrefix(query, "?") // ProxySG logs the '?', IIS does not
	if host != "" {
		host, _ = splitHostPort(host)
	}
	abs := scheme != "" && host != ""
	if !abs && path == "" {
		return
	}
	b := s.buf[:0]
	if abs {
		b = append(b, scheme...)
		b = append(b, "://"...)
		if strings.IndexByte(host, ':') >= 0 {
			b = append(b, '[')
			b = append(b, host...)
			b = append(b, ']')
		} else {
			b = append(b, host...)
		}
		if port.Set && !defaultPort(scheme, port.V) {
			b = append(b, ':')
			b = strconv.AppendInt(b, port.V, 10) // no temporary string
		}
		r.URLScheme = scheme
		r.URLDomain = host
		r.URLPort = port
	}
	b = append(b, path...)
	if q != "" {
		b = append(b, '?')
		b = append(b, q...)
	}
	if !abs && q == "" {
		r.URLOriginal = path // the path as logged: no copy needed
	} else {
		r.URLOriginal = string(b)
	}
	if cap(b) <= maxKeptBuf { // a huge URL's buffer is not kept for the stream's life
		s.buf = b
	}
	r.URLPath = path
	r.URLQuery = q
}

// maxKeptBuf bounds the URL scratch buffer a stream keeps between lines.
const maxKeptBuf = 8 << 10

func defaultPort(scheme string, p int64) bool {
	switch scheme {
	case "http":
		return p == 80
	case "https":
		return p == 443
	case "ftp":
		return p == 21
	}
	return false
}

// mapDestination sets the server address and port. For a proxy the
// supplier (the server it contacted) is the destination; for a server the
// logging host itself is, unless the layout names a remote server.
func mapDestination(row Row, role Role, r *parsers.Record) {
	ip := parsers.Clean(row.Get(SupplierIP))
	if ip == "" {
		ip = parsers.Clean(row.Get(RIP))
	}
	port := parsers.ParsePort(row.Get(RPort))
	if role == Server && !row.L.Has(RIP) && !row.L.Has(SupplierIP) {
		if ip == "" {
			ip = parsers.Clean(row.Get(SIP))
		}
		if !port.Set {
			port = parsers.ParsePort(row.Get(SPort))
		}
	}
	if a := HostIP(ip); a.IsValid() {
		r.DestinationIP = a
	}
	if name := row.Value(SupplierName); name != "" && r.DestinationDomain == "" {
		if a := HostIP(name); a.IsValid() {
			if !r.DestinationIP.IsValid() {
				r.DestinationIP = a
			}
		} else {
			r.DestinationDomain = name
		}
	}
	if name := row.Value(RHost); name != "" && r.DestinationDomain == "" && !HostIP(name).IsValid() {
		r.DestinationDomain = name
	}
	if p := parsers.ParsePort(row.Get(URIPort)); p.Set {
		port = p
	}
	if !port.Set {
		port = r.URLPort
	}
	r.DestinationPort = port
}

// SetUser is parsers.SetUser plus the realm suffix proxies append to
// Windows names ("CORP\jdoe@NTLMRealm" is user jdoe of domain CORP).
func SetUser(r *parsers.Record, u string) {
	if parsers.IsEmpty(u) {
		return
	}
	if bs := strings.LastIndexByte(u, '\\'); bs >= 0 {
		if at := strings.LastIndexByte(u, '@'); at > bs {
			u = u[:at]
		}
	}
	parsers.SetUser(r, u)
}

// HostIP parses an address, returning the zero Addr for host names without
// calling the address parser (which allocates an error for every name).
func HostIP(s string) netip.Addr {
	if s == "" {
		return netip.Addr{}
	}
	if strings.IndexByte(s, ':') < 0 {
		for i := 0; i < len(s); i++ {
			if c := s[i]; (c < '0' || c > '9') && c != '.' {
				return netip.Addr{}
			}
		}
	} else {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F' || c == ':' || c == '.' || c == '[' || c == ']' || c == '%') {
				return netip.Addr{}
			}
		}
	}
	return parsers.ParseIP(s)
}

// splitHostPort splits "host:port" and "[v6]:port"; a bare IPv6 address is
// returned whole.
func splitHostPort(s string) (host, port string) {
	if strings.HasPrefix(s, "[") {
		if end := strings.IndexByte(s, ']'); end > 0 {
			host = s[1:end]
			if rest := s[end+1:]; len(rest) > 1 && rest[0] == ':' {
				port = rest[1:]
			}
			return host, port
		}
	}
	if c := strings.LastIndexByte(s, ':'); c >= 0 && strings.IndexByte(s, ':') == c {
		return s[:c], s[c+1:]
	}
	return s, ""
}

// millis converts a millisecond count to a duration.
func millis(s string) (parsers.Num, bool) {
	n := parsers.ParseNum(s)
	if !n.Set || n.V > 1e12 {
		return parsers.Num{}, false
	}
	return parsers.N(n.V * int64(time.Millisecond)), true
}

// timeTaken reads time-taken: IIS and ProxySG write whole milliseconds; the
// W3C draft's fixed-point form ("0.125") is seconds.
func timeTaken(s string) (parsers.Num, bool) {
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return millis(s)
	}
	sec := parsers.ParseNum(s[:dot])
	frac := s[dot+1:]
	if !sec.Set || sec.V > 1e9 || frac == "" || len(frac) > 9 {
		return parsers.Num{}, false
	}
	f := parsers.ParseNum(frac)
	if !f.Set {
		return parsers.Num{}, false
	}
	ns := f.V
	for i := len(frac); i < 9; i++ {
		ns *= 10
	}
	return parsers.N(sec.V*int64(time.Second) + ns), true
}

// DateTime combines a "2006-01-02" date and a "15:04:05[.fraction]" clock
// read in loc, without allocating.
func DateTime(date, clock string, loc *time.Location) (time.Time, bool) {
	y, mo, d, ok := parseDate(date)
	if !ok {
		return time.Time{}, false
	}
	hh, mm, ss, ns, ok := parseClock(clock)
	if !ok {
		return time.Time{}, false
	}
	if loc == time.UTC {
		// Every W3C line takes this path: plain day arithmetic is several
		// times cheaper than time.Date and gives the same instant.
		// Feb 30 and friends, and 23:59:60, which time.Date would move
		// into the next day, are rejected as before.
		tod := hh*3600 + mm*60 + ss
		if d > daysIn(mo, y) || tod >= 86400 {
			return time.Time{}, false
		}
		return time.Unix(daysFromCivil(y, mo, d)*86400+int64(tod), int64(ns)).UTC(), true
	}
	t := time.Date(y, time.Month(mo), d, hh, mm, ss, ns, loc)
	if t.Day() != d { // Feb 30 and friends
		return time.Time{}, false
	}
	return t, true
}

// daysFromCivil returns the days from 1970-01-01 to a proleptic Gregorian
// date, for years from 0 (H. Hinnant's days_from_civil).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	yoe := y - era*400
	mp := m + 9
	if m > 2 {
		mp = m - 3
	}
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// daysIn returns the number of days of month m (1..12) in year y.
func daysIn(m, y int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

func parseDate(s string) (y, mo, d int, ok bool) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return 0, 0, 0, false
	}
	y, ok1 := digits(s[0:4])
	mo, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 || y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 {
		return 0, 0, 0, false
	}
	return y, mo, d, true
}

func parseClock(s string) (hh, mm, ss, ns int, ok bool) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return 0, 0, 0, 0, false
	}
	hh, ok1 := digits(s[0:2])
	mm, ok2 := digits(s[3:5])
	ss, ok3 := digits(s[6:8])
	if !ok1 || !ok2 || !ok3 || hh > 23 || mm > 59 || ss > 60 {
		return 0, 0, 0, 0, false
	}
	if len(s) > 8 {
		frac := s[9:]
		if s[8] != '.' || frac == "" || len(frac) > 9 {
			return 0, 0, 0, 0, false
		}
		f, okf := digits(frac)
		if !okf {
			return 0, 0, 0, 0, false
		}
		for i := len(frac); i < 9; i++ {
			f *= 10
		}
		ns = f
	}
	return hh, mm, ss, ns, true
}

func digits(s string) (int, bool) {
	if s == "" || len(s) > 9 {
		return 0, false
	}
	n := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}
