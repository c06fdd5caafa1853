package w3c

import (
	"errors"
	"fmt"
	"strings"
)

// Field identifies a W3C extended / ELFF field that one of the W3C-based
// parsers (w3c, bluecoat, cisco-wsa) reads. Fields no parser reads are
// Unknown: they keep their column but are never looked at.
type Field uint8

// Known fields. The comments name the field identifiers that map to each.
const (
	Unknown          Field = iota
	Date                   // date
	Time                   // time
	LocalTime              // localtime (ProxySG, "[15/Jan/2025:10:00:00 +0100]")
	GMTTime                // gmttime (ProxySG, same form)
	Timestamp              // timestamp (Cisco WSA, Unix epoch)
	TimeTaken              // time-taken
	ElapsedTime            // x-elapsed-time (Cisco WSA, milliseconds)
	CIP                    // c-ip
	CPort                  // c-port
	SIP                    // s-ip
	SPort                  // s-port
	SComputerName          // s-computername
	RIP                    // r-ip
	RPort                  // r-port
	RHost                  // r-host, r-dns
	Username               // cs-username
	AuthGroup              // cs-auth-group
	Method                 // cs-method
	URI                    // cs-uri
	URL                    // cs-url (Cisco WSA)
	URIStem                // cs-uri-stem
	URIQuery               // cs-uri-query
	URIScheme              // cs-uri-scheme
	URIPath                // cs-uri-path
	URIPort                // cs-uri-port
	Host                   // cs-host, cs(Host)
	Status                 // sc-status
	SCBytes                // sc-bytes
	CSBytes                // cs-bytes
	UserAgent              // cs(User-Agent)
	Referer                // cs(Referer)
	ContentType            // rs(Content-Type), sc(Content-Type), cs-mime-type
	SAction                // s-action (ProxySG)
	FilterResult           // sc-filter-result (ProxySG)
	Categories             // cs-categories (ProxySG)
	ExceptionID            // x-exception-id (ProxySG)
	VirusID                // x-virus-id (ProxySG)
	SupplierName           // s-supplier-name (ProxySG)
	SupplierIP             // s-supplier-ip (ProxySG)
	Hierarchy              // s-hierarchy (ProxySG)
	AppName                // x-bluecoat-application-name (ProxySG)
	AppGroups              // x-bluecoat-application-groups (ProxySG)
	ResultCodeStatus       // x-resultcode-httpstatus (Cisco WSA, "TCP_MISS/200")
	HierarchyOrigin        // x-hierarchy-origin (Cisco WSA, "DIRECT/host")
	ACLTag                 // x-acltag (Cisco WSA)
	AVCApp                 // x-avc-app (Cisco WSA)
	WebCatFull             // x-webcat-code-full (Cisco WSA)
	WebCatAbbr             // x-webcat-code-abbr (Cisco WSA)
	SHostname              // s-hostname (Cisco WSA: the server contacted)
	SuspectUA              // x-suspect-user-agent (Cisco WSA)
	Bytes                  // bytes (W3C draft, Cisco WSA: request + response)

	numFields
)

// FieldID returns the Field a field identifier names (ASCII
// case-insensitive), or Unknown.
func FieldID(name string) Field {
	switch strings.ToLower(name) {
	case "date":
		return Date
	case "time":
		return Time
	case "localtime":
		return LocalTime
	case "gmttime":
		return GMTTime
	case "timestamp":
		return Timestamp
	case "time-taken":
		return TimeTaken
	case "x-elapsed-time":
		return ElapsedTime
	case "c-ip":
		return CIP
	case "c-port":
		return CPort
	case "s-ip":
		return SIP
	case "s-port":
		return SPort
	case "s-computername":
		return SComputerName
	case "r-ip":
		return RIP
	case "r-port":
		return RPort
	case "r-host", "r-dns":
		return RHost
	case "cs-username":
		return Username
	case "cs-auth-group":
		return AuthGroup
	case "cs-method", "s-operation": // s-operation: Microsoft TMG/ISA web proxy
		return Method
	case "cs-uri":
		return URI
	case "cs-url":
		return URL
	case "cs-uri-stem":
		return URIStem
	case "cs-uri-query":
		return URIQuery
	case "cs-uri-scheme":
		return URIScheme
	case "cs-uri-path":
		return URIPath
	case "cs-uri-port":
		return URIPort
	case "cs-host", "cs(host)":
		return Host
	case "sc-status":
		return Status
	case "sc-bytes":
		return SCBytes
	case "cs-bytes":
		return CSBytes
	case "cs(user-agent)", "c-agent": // c-agent: Microsoft TMG/ISA web proxy
		return UserAgent
	case "cs(referer)":
		return Referer
	case "rs(content-type)", "sc(content-type)", "cs-mime-type":
		return ContentType
	case "s-action":
		return SAction
	case "sc-filter-result":
		return FilterResult
	case "cs-categories":
		return Categories
	case "x-exception-id":
		return ExceptionID
	case "x-virus-id":
		return VirusID
	case "s-supplier-name":
		return SupplierName
	case "s-supplier-ip":
		return SupplierIP
	case "s-hierarchy":
		return Hierarchy
	case "x-bluecoat-application-name":
		return AppName
	case "x-bluecoat-application-groups":
		return AppGroups
	case "x-resultcode-httpstatus":
		return ResultCodeStatus
	case "x-hierarchy-origin":
		return HierarchyOrigin
	case "x-acltag":
		return ACLTag
	case "x-avc-app":
		return AVCApp
	case "x-webcat-code-full":
		return WebCatFull
	case "x-webcat-code-abbr":
		return WebCatAbbr
	case "s-hostname":
		return SHostname
	case "x-suspect-user-agent":
		return SuspectUA
	case "bytes":
		return Bytes
	}
	return Unknown
}

// MaxFields bounds the columns of a layout and of a data line, so a hostile
// line cannot grow per-stream memory without limit.
const MaxFields = 256

// Layout is the column order of a W3C stream: the field list of a #Fields
// directive or a vendor's documented default.
type Layout struct {
	names []string
	pos   [numFields]uint16 // column index + 1; 0 when the field is absent
}

// NewLayout returns the layout of the given field identifiers, in column
// order. The names are copied, so a layout may outlive the line it came
// from. When a field appears twice, the first column wins.
func NewLayout(names ...string) (*Layout, error) {
	if len(names) == 0 {
		return nil, errors.New("w3c: empty field list")
	}
	if len(names) > MaxFields {
		return nil, fmt.Errorf("w3c: %d fields, at most %d are supported", len(names), MaxFields)
	}
	l := &Layout{names: make([]string, len(names))}
	for i, n := range names {
		l.names[i] = strings.Clone(n)
		if f := FieldID(n); f != Unknown && l.pos[f] == 0 {
			l.pos[f] = uint16(i + 1)
		}
	}
	return l, nil
}

// MustLayout is NewLayout for the vendors' built-in default layouts; it
// panics on an invalid list, which is a programming error.
func MustLayout(names ...string) *Layout {
	l, err := NewLayout(names...)
	if err != nil {
		panic(err)
	}
	return l
}

// Len returns the number of columns.
func (l *Layout) Len() int { return len(l.names) }

// Names returns the field identifiers in column order (a copy).
func (l *Layout) Names() []string { return append([]string(nil), l.names...) }

// Has reports whether the layout has a column for f.
func (l *Layout) Has(f Field) bool { return f < numFields && l.pos[f] != 0 }

// Row is one data line split into the columns of its layout.
type Row struct {
	L *Layout
	T Tokens
}

// Row pairs tokens with l after checking that their count matches: a line
// with another number of columns cannot be aligned with the field list.
func (l *Layout) Row(tokens Tokens) (Row, error) {
	if n := tokens.Len(); n != len(l.names) {
		return Row{}, fmt.Errorf("w3c: line has %d fields, the field list has %d", n, len(l.names))
	}
	return Row{L: l, T: tokens}, nil
}

// Get returns the raw value of f, or "" when the layout has no such column.
// Row checked the column count against the layout, so every column the
// layout names exists.
func (r *Row) Get(f Field) string {
	if f >= numFields || r.L == nil {
		return ""
	}
	p := int(r.L.pos[f])
	if p == 0 {
		return ""
	}
	// The usual field (no lead field, no doubled quotes) without another
	// call: every mapped field comes through here.
	if t := &r.T; t.lead == "" {
		if s := t.sp[p-1]; !s.esc {
			return t.line[s.start:s.end]
		}
	}
	return r.T.at(p - 1)
}

// Value returns the value of f with empty markers ("-", "None"...) as "".
func (r *Row) Value(f Field) string {
	v := r.Get(f)
	if v == "-" || v == "" {
		return ""
	}
	return clean(v)
}
