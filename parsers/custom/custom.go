// Package custom builds parsers from configuration, for formats CloudScout
// does not know: key=value, CSV, regular expressions with named groups, and
// JSON lines, each with a mapping of the line's fields to ECS fields.
package custom

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

// Spec declares a custom parser in the configuration's `parsers:` list.
type Spec struct {
	Name    string `yaml:"name"`    // used as a source's format
	Type    string `yaml:"type"`    // kv, csv, regex or json
	Vendor  string `yaml:"vendor"`  // observer.vendor
	Product string `yaml:"product"` // observer.product
	// Separator: kv pair separator (default " "); csv delimiter (default ",").
	Separator string `yaml:"separator"`
	// Columns names the CSV columns in order (the names used in Fields).
	Columns []string `yaml:"columns"`
	// Pattern is the regex (RE2 syntax) with named groups (?P<name>...).
	Pattern string `yaml:"pattern"`
	// Fields maps ECS field names (see Targets) to a key, column or group.
	Fields map[string]string `yaml:"fields"`
	// TimeLayout reads @timestamp: a Go layout ("2006-01-02 15:04:05"), or
	// rfc3339, epoch (seconds, ms, us or ns), or auto (the default: the
	// common forms). Times without a zone are read in the source's time zone.
	TimeLayout string `yaml:"time_layout"`
	// Allow and Deny list the event.action words that mean allowed or
	// denied (case-insensitive). Unlisted words leave event.type open.
	Allow []string `yaml:"allow"`
	Deny  []string `yaml:"deny"`
	// Require lists ECS fields a traffic record must have; lines without
	// them are skipped (not failed), e.g. [source.ip].
	Require []string `yaml:"require"`
}

type setter func(r *parsers.Record, v string)

var targets = map[string]setter{
	"event.action":              func(r *parsers.Record, v string) { r.EventAction = v },
	"source.ip":                 func(r *parsers.Record, v string) { r.SourceIP = parsers.ParseIP(v) },
	"source.port":               func(r *parsers.Record, v string) { r.SourcePort = parsers.ParsePort(v) },
	"source.bytes":              func(r *parsers.Record, v string) { r.SourceBytes = parsers.ParseNum(v) },
	"source.domain":             func(r *parsers.Record, v string) { r.SourceDomain = parsers.Clean(v) },
	"source.mac":                func(r *parsers.Record, v string) { r.SourceMAC = parsers.Clean(v) },
	"source.nat.ip":             func(r *parsers.Record, v string) { r.SourceNATIP = parsers.ParseIP(v) },
	"destination.ip":            func(r *parsers.Record, v string) { r.DestinationIP = parsers.ParseIP(v) },
	"destination.port":          func(r *parsers.Record, v string) { r.DestinationPort = parsers.ParsePort(v) },
	"destination.bytes":         func(r *parsers.Record, v string) { r.DestinationBytes = parsers.ParseNum(v) },
	"destination.domain":        func(r *parsers.Record, v string) { r.DestinationDomain = parsers.Clean(v) },
	"network.bytes":             func(r *parsers.Record, v string) { r.NetworkBytes = parsers.ParseNum(v) },
	"network.transport":         func(r *parsers.Record, v string) { r.NetworkTransport = parsers.Lower(parsers.Clean(v)) },
	"network.protocol":          func(r *parsers.Record, v string) { r.NetworkProtocol = parsers.Lower(parsers.Clean(v)) },
	"network.application":       func(r *parsers.Record, v string) { r.NetworkApplication = parsers.Clean(v) },
	"url.original":              func(r *parsers.Record, v string) { parsers.SetURL(r, v) },
	"url.domain":                func(r *parsers.Record, v string) { r.URLDomain = parsers.Clean(v) },
	"url.path":                  func(r *parsers.Record, v string) { r.URLPath = parsers.Clean(v) },
	"http.request.method":       func(r *parsers.Record, v string) { r.HTTPMethod = parsers.Clean(v) },
	"http.response.status_code": func(r *parsers.Record, v string) { r.HTTPStatus = parsers.ParseStatus(v) },
	"http.request.referrer":     func(r *parsers.Record, v string) { r.HTTPReferrer = parsers.Clean(v) },
	"user_agent.original":       func(r *parsers.Record, v string) { r.UserAgent = parsers.Clean(v) },
	"user.name":                 func(r *parsers.Record, v string) { parsers.SetUser(r, v) },
	"user.domain":               func(r *parsers.Record, v string) { r.UserDomain = parsers.Clean(v) },
	"observer.hostname":         func(r *parsers.Record, v string) { r.ObserverHostname = parsers.Clean(v) },
	"rule.name":                 func(r *parsers.Record, v string) { r.RuleName = parsers.Clean(v) },
	"labels.url_category":       func(r *parsers.Record, v string) { r.URLCategory = parsers.Clean(v) },
	"labels.app_category":       func(r *parsers.Record, v string) { r.AppCategory = parsers.Clean(v) },
}

// Targets lists the ECS fields a mapping may fill (besides @timestamp).
func Targets() []string {
	out := []string{"@timestamp"}
	for k := range targets {
		out = append(out, k)
	}
	sort.Strings(out[1:])
	return out
}

// Validate checks a spec without building it.
func (s Spec) Validate() error {
	_, err := s.compile(time.UTC)
	return err
}

type compiled struct {
	spec   Spec
	re     *regexp.Regexp
	sep    byte
	fields []mapping
	ts     string // source key of @timestamp
	allow  map[string]bool
	deny   map[string]bool
	loc    *time.Location
	colIdx map[string]int
	groups map[string]int
}

type mapping struct {
	from string
	set  setter
	name string
}

func (s Spec) compile(loc *time.Location) (*compiled, error) {
	if s.Name == "" {
		return nil, errors.New("name is empty")
	}
	if _, builtin := parsers.Lookup(s.Name); builtin {
		return nil, fmt.Errorf("name %q is a built-in format", s.Name)
	}
	c := &compiled{spec: s, loc: loc, allow: map[string]bool{}, deny: map[string]bool{}}
	switch s.Type {
	case "kv":
		c.sep = ' '
		if s.Separator != "" {
			if len(s.Separator) != 1 {
				return nil, errors.New("separator must be one character")
			}
			c.sep = s.Separator[0]
		}
	case "csv":
		c.sep = ','
		if s.Separator != "" {
			if len(s.Separator) != 1 {
				return nil, errors.New("separator must be one character")
			}
			c.sep = s.Separator[0]
		}
		if len(s.Columns) == 0 {
			return nil, errors.New("csv needs columns")
		}
		c.colIdx = map[string]int{}
		for i, n := range s.Columns {
			c.colIdx[n] = i
		}
	case "regex":
		if s.Pattern == "" {
			return nil, errors.New("regex needs a pattern")
		}
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return nil, fmt.Errorf("pattern: %w", err)
		}
		c.re = re
		c.groups = map[string]int{}
		for i, n := range re.SubexpNames() {
			if n != "" {
				c.groups[n] = i
			}
		}
		if len(c.groups) == 0 {
			return nil, errors.New("pattern has no named groups (?P<name>...)")
		}
	case "json":
	default:
		return nil, fmt.Errorf("type %q: use kv, csv, regex or json", s.Type)
	}
	if len(s.Fields) == 0 {
		return nil, errors.New("fields: map at least one ECS field")
	}
	keys := make([]string, 0, len(s.Fields))
	for k := range s.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, ecs := range keys {
		from := s.Fields[ecs]
		if c.colIdx != nil {
			if _, ok := c.colIdx[from]; !ok {
				return nil, fmt.Errorf("fields.%s: %q is not one of the columns", ecs, from)
			}
		}
		if c.groups != nil {
			if _, ok := c.groups[from]; !ok {
				return nil, fmt.Errorf("fields.%s: %q is not a named group of the pattern", ecs, from)
			}
		}
		if ecs == "@timestamp" {
			c.ts = from
			continue
		}
		set, ok := targets[ecs]
		if !ok {
			return nil, fmt.Errorf("fields: unknown ECS field %q (known: %s)", ecs, strings.Join(Targets(), ", "))
		}
		c.fields = append(c.fields, mapping{from: from, set: set, name: ecs})
	}
	for _, w := range s.Allow {
		c.allow[strings.ToLower(w)] = true
	}
	for _, w := range s.Deny {
		c.deny[strings.ToLower(w)] = true
	}
	for _, f := range s.Require {
		if _, ok := s.Fields[f]; !ok {
			return nil, fmt.Errorf("require: %q is not mapped in fields", f)
		}
	}
	switch strings.ToLower(s.TimeLayout) {
	case "", "auto", "rfc3339", "epoch":
	default:
		if !strings.Contains(s.TimeLayout, "2006") && !strings.Contains(s.TimeLayout, "15") && !strings.Contains(s.TimeLayout, "Jan") {
			return nil, fmt.Errorf("time_layout %q is not a Go layout (write the reference time Mon Jan 2 15:04:05 MST 2006 in your format)", s.TimeLayout)
		}
	}
	return c, nil
}

// Parser is a parser built from a Spec.
type Parser struct{ c *compiled }

var _ parsers.Parser = (*Parser)(nil)

// New builds a parser; loc is the source's time zone.
func New(s Spec, loc *time.Location) (*Parser, error) {
	if loc == nil {
		loc = time.UTC
	}
	c, err := s.compile(loc)
	if err != nil {
		return nil, fmt.Errorf("parser %s: %w", s.Name, err)
	}
	return &Parser{c: c}, nil
}

// Parse implements parsers.Parser.
func (p *Parser) Parse(line string, m *parsers.Meta, r *parsers.Record) error {
	c := p.c
	get, err := c.values(line)
	if err != nil {
		return err
	}
	for _, mp := range c.fields {
		if v, ok := get(mp.from); ok {
			mp.set(r, strings.TrimSpace(v))
		}
	}
	for _, f := range c.spec.Require {
		v, ok := get(c.spec.Fields[f])
		if !ok || parsers.IsEmpty(strings.TrimSpace(v)) {
			return fmt.Errorf("%w: no %s", parsers.ErrSkip, f)
		}
	}
	if c.ts != "" {
		if v, ok := get(c.ts); ok && !parsers.IsEmpty(v) {
			t, err := c.parseTime(strings.TrimSpace(v), m.Location)
			if err != nil {
				return err
			}
			r.Timestamp = t
		}
	}
	a := strings.ToLower(r.EventAction)
	switch {
	case c.allow[a]:
		r.Verdict = parsers.Allowed
	case c.deny[a]:
		r.Verdict = parsers.Denied
	}
	r.ObserverVendor, r.ObserverProduct = c.spec.Vendor, c.spec.Product
	return nil
}

func (c *compiled) parseTime(v string, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = c.loc
	}
	switch strings.ToLower(c.spec.TimeLayout) {
	case "epoch":
		if t, ok := parsers.ParseEpoch(v); ok {
			return t, nil
		}
	case "", "auto", "rfc3339":
		if t, ok := parsers.ParseTime(v, loc); ok {
			return t, nil
		}
		if t, ok := parsers.ParseEpoch(v); ok {
			return t, nil
		}
	default:
		if t, err := time.ParseInLocation(c.spec.TimeLayout, v, loc); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("time %q does not match time_layout %q", v, c.spec.TimeLayout)
}

// values returns a lookup over one line's fields.
func (c *compiled) values(line string) (func(string) (string, bool), error) {
	switch c.spec.Type {
	case "kv":
		kv := map[string]string{}
		parsers.ScanKV(line, c.sep, func(k, v string) bool { kv[k] = v; return true })
		if len(kv) == 0 {
			return nil, errors.New("no key=value pairs")
		}
		return func(k string) (string, bool) { v, ok := kv[k]; return v, ok }, nil
	case "csv":
		rd := csv.NewReader(strings.NewReader(line))
		rd.Comma = rune(c.sep)
		rd.LazyQuotes = true
		rd.FieldsPerRecord = -1
		rec, err := rd.Read()
		if err != nil {
			return nil, fmt.Errorf("csv: %w", err)
		}
		return func(k string) (string, bool) {
			i := c.colIdx[k]
			if i >= len(rec) {
				return "", false
			}
			return rec[i], true
		}, nil
	case "regex":
		m := c.re.FindStringSubmatch(line)
		if m == nil {
			return nil, errors.New("line does not match the pattern")
		}
		return func(k string) (string, bool) {
			i, ok := c.groups[k]
			if !ok || i >= len(m) {
				return "", false
			}
			return m[i], true
		}, nil
	default: // json
		var obj map[string]any
		if err := json.Unmarshal([]byte(line), &obj); err != nil {
			return nil, fmt.Errorf("json: %w", err)
		}
		return func(k string) (string, bool) { return lookupJSON(obj, k) }, nil
	}
}

// lookupJSON finds "a.b.c" as a nested path or as a literal dotted key.
func lookupJSON(obj map[string]any, k string) (string, bool) {
	if v, ok := obj[k]; ok {
		return jsonString(v)
	}
	head, rest, ok := strings.Cut(k, ".")
	for ok {
		if sub, isMap := obj[head].(map[string]any); isMap {
			if v, found := lookupJSON(sub, rest); found {
				return v, true
			}
		}
		var h2 string
		h2, rest, ok = strings.Cut(rest, ".")
		head = head + "." + h2
	}
	return "", false
}

func jsonString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case float64:
		return strconv.FormatFloat(t, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(t), true
	case nil:
		return "", false
	}
	b, _ := json.Marshal(v)
	return string(b), true
}
