package parsers

import (
	"errors"
	"fmt"
	"strings"
)

// AutoName is the registry name of the auto-detecting parser.
const AutoName = "auto"

// ErrUnknownFormat is returned by the auto parser for a line no format claims.
var ErrUnknownFormat = errors.New("no known format recognizes this line")

var errUnclaimedSyslog = fmt.Errorf("%w: syslog message of a program no format covers", ErrSkip)

// minDetectScore is the score below which a guess is not trusted.
const minDetectScore = 30

// Detect returns the best-scoring registered format for one message body and
// its score (0 when nothing claims it).
func Detect(body string, h *Header) (Info, int) {
	var best Info
	bestScore := 0
	for _, i := range list() {
		if i.Detect == nil {
			continue
		}
		if s := i.Detect(body, h); s > bestScore {
			best, bestScore = i, s
		}
	}
	return best, bestScore
}

// DetectLine splits the header off a raw line and detects its format.
func DetectLine(line string, m *Meta) (Info, int) {
	h, body := SplitHeader(line, m.Location, m.Now)
	return Detect(body, &h)
}

// list returns the registered formats sorted by name, without copying.
func list() []Info {
	registry.RLock()
	defer registry.RUnlock()
	return registry.sorted
}

// autoParser detects the format of every line and keeps one parser instance
// per detected format, so per-stream state (W3C #Fields, ASA connections)
// still works when several device types share one stream.
type autoParser struct {
	opts    Options
	byName  map[string]Parser
	last    Info
	hasLast bool
	// locked: a #Fields header chose the format; the data lines that follow
	// carry no markers of their own, so they belong to it.
	locked bool
	// directives of the current file header block (#Software, #Date...),
	// replayed into the format that a later #Fields line chooses.
	directives []string
}

// maxDirectives bounds the remembered header block.
const maxDirectives = 16

func newAuto(o Options) (Parser, error) {
	return &autoParser{opts: o, byName: map[string]Parser{}}, nil
}

// stickyScore: a line the previous format scores this high is not
// re-detected against every format (streams rarely change format).
const stickyScore = 80

// breakLockScore: a line claimed this surely by another format ends a
// #Fields lock (another device's message on the same stream).
const breakLockScore = 90

func (a *autoParser) Parse(body string, m *Meta, r *Record) error {
	if len(body) > 0 && body[0] == '#' {
		if len(a.directives) < maxDirectives {
			// Copied: body may alias the caller's read buffer, which is
			// reused once Parse returns.
			a.directives = append(a.directives, strings.Clone(body))
		}
		info, score := Detect(body, &m.Header)
		if a.hasLast && (score < breakLockScore || info.Name == a.last.Name) {
			// A header line the current format understands keeps it: a
			// generic "#Fields" says nothing about the vendor; a vendor
			// directive ("#Software: SGOS") does, and switches.
			err := a.parserFor(a.last).Parse(body, m, r)
			if err == nil || errors.Is(err, ErrSkip) {
				a.locked = a.locked || strings.HasPrefix(body, "#Fields")
				return err
			}
		}
		if score < minDetectScore {
			return ErrUnknownFormat
		}
		// The header block's earlier directives went elsewhere: replay them.
		p := a.parserFor(info)
		var scratch Record
		for _, d := range a.directives[:len(a.directives)-1] {
			scratch.Reset()
			_ = p.Parse(d, m, &scratch)
		}
		a.last, a.hasLast = info, true
		a.locked = strings.HasPrefix(body, "#Fields")
		return p.Parse(body, m, r)
	}
	a.directives = a.directives[:0]
	if a.locked {
		if info, score := Detect(body, &m.Header); score >= breakLockScore && info.Name != a.last.Name {
			a.last, a.locked = info, false
		}
		return a.parserFor(a.last).Parse(body, m, r)
	}
	var info Info
	score := 0
	if a.hasLast {
		if s := a.last.Detect(body, &m.Header); s >= stickyScore {
			info, score = a.last, s
		}
	}
	if score == 0 {
		info, score = Detect(body, &m.Header)
	}
	if score < minDetectScore {
		if m.Header.Priority >= 0 || !m.Header.Time.IsZero() {
			// Well-formed syslog from a program no format covers (sshd,
			// dhcpd, cron on the same box): not traffic, so skipped.
			return errUnclaimedSyslog
		}
		return ErrUnknownFormat
	}
	a.last, a.hasLast = info, true
	return a.parserFor(info).Parse(body, m, r)
}

func (a *autoParser) parserFor(i Info) Parser {
	if p, ok := a.byName[i.Name]; ok {
		return p
	}
	p, err := i.New(a.opts)
	if err != nil {
		p = failingParser{fmt.Errorf("format %s: %w", i.Name, err)}
	}
	a.byName[i.Name] = p
	return p
}

type failingParser struct{ err error }

func (f failingParser) Parse(string, *Meta, *Record) error { return f.err }

func init() {
	Register(Info{
		Name:        AutoName,
		Vendor:      "CloudScout",
		Product:     "auto-detect",
		Description: "detects the format of every line (one port may take several device types)",
		New:         newAuto,
	})
}
