package parsers

import (
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"
)

// ErrSkip is returned for lines that carry no traffic event: headers,
// comments, system and configuration events.
var ErrSkip = errors.New("not a traffic event")

// Parser parses one message body (syslog header already split off, or one
// file line) into r, which the caller has Reset. A Parser instance belongs to
// one stream (a connection, a file) and may keep per-stream state such as a
// W3C #Fields line or Cisco ASA connection orientation; it is not safe for
// concurrent use.
type Parser interface {
	Parse(line string, m *Meta, r *Record) error
}

// Meta carries what the caller knows about a line.
type Meta struct {
	// Location is the data source's time zone, for times logged without one.
	Location *time.Location
	// Now is the reference clock: it infers the year of timestamps without one
	// and stamps records that carry no time at all.
	Now time.Time
	// Header is the syslog header split off the line, if it had one.
	Header Header
}

// Options configure a parser instance.
type Options struct {
	// Location is the default time zone; nil means UTC.
	Location *time.Location
}

// Info describes one registered format.
type Info struct {
	Name        string // registry key, e.g. "fortigate"; also testdata/<Name>/
	Vendor      string
	Product     string
	Description string
	// New returns a parser for one stream.
	New func(Options) (Parser, error)
	// Detect scores how sure it is (0..100) that a message body (with its
	// syslog header h already split off; h.Priority is -1 without one) is in
	// this format. It must be cheap and allocation-free: auto-detection calls
	// every format's Detect. Nil means the format is never auto-detected.
	Detect func(body string, h *Header) int
}

var registry = struct {
	sync.RWMutex
	m      map[string]Info
	sorted []Info // cache for Detect, rebuilt when a format registers
}{m: map[string]Info{}}

// Register adds a format. It is meant for init() and panics on a duplicate
// or incomplete registration, which is a programming error.
func Register(i Info) {
	if i.Name == "" || i.New == nil {
		panic("parsers: Register needs Name and New")
	}
	registry.Lock()
	defer registry.Unlock()
	if _, dup := registry.m[i.Name]; dup {
		panic("parsers: duplicate format " + i.Name)
	}
	registry.m[i.Name] = i
	sorted := make([]Info, 0, len(registry.m))
	for _, v := range registry.m {
		sorted = append(sorted, v)
	}
	sort.Slice(sorted, func(a, b int) bool { return sorted[a].Name < sorted[b].Name })
	registry.sorted = sorted
}

// Lookup returns the registered format called name.
func Lookup(name string) (Info, bool) {
	registry.RLock()
	defer registry.RUnlock()
	i, ok := registry.m[name]
	return i, ok
}

// List returns every registered format sorted by name.
func List() []Info {
	return append([]Info(nil), list()...)
}

// New returns a parser instance for the named format.
func New(name string, o Options) (Parser, error) {
	i, ok := Lookup(name)
	if !ok {
		return nil, fmt.Errorf("unknown format %q (see 'cloudscout formats')", name)
	}
	if o.Location == nil {
		o.Location = time.UTC
	}
	return i.New(o)
}
