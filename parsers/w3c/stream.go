package w3c

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
)

var (
	errTooManyFields = fmt.Errorf("w3c: more than %d fields on one line", MaxFields)
	errUnterminated  = errors.New("w3c: unterminated quoted field")
	errTooLong       = errors.New("w3c: line too long")
)

// span locates one field in its line; esc marks a quoted value holding
// doubled quotes, unescaped when read. Spans hold no pointers, so filling
// them costs no GC write barriers.
type span struct {
	start, end int32
	esc        bool
}

// Tokens is one data line split into fields. The first field may come from
// outside the line (see Stream.Tokens).
type Tokens struct {
	line string
	lead string // a first field that was split off the line, or ""
	sp   []span
}

// Len returns the number of fields.
func (t Tokens) Len() int {
	if t.lead != "" {
		return len(t.sp) + 1
	}
	return len(t.sp)
}

// At returns field i. Only a quoted value holding doubled quotes allocates.
func (t Tokens) At(i int) string { return t.at(i) }

// at is At without copying the Tokens.
func (t *Tokens) at(i int) string {
	if t.lead != "" {
		if i == 0 {
			return t.lead
		}
		i--
	}
	s := t.sp[i]
	if s.esc {
		return unquote(t.line[s.start:s.end])
	}
	return t.line[s.start:s.end]
}

// unquote undoes the doubled quotes of a quoted value.
func unquote(v string) string { return strings.ReplaceAll(v, `""`, `"`) }

// Split returns the fields of one W3C data line, appended to dst[:0]; the
// parsers use Stream.Tokens, which does not allocate. Fields are separated
// by runs of spaces or tabs (ProxySG syslog streams sometimes put two
// spaces between columns). A field that starts with '"' runs to the
// closing quote: a quote followed by a separator or the end of the line.
// Inside it a doubled quote ("") stands for one quote, as the W3C draft
// says, and a lone quote is kept literally, because some writers log user
// agents with raw quotes inside.
func Split(line string, dst []string) ([]string, error) {
	sp, err := splitSpans(line, nil)
	if err != nil {
		return dst[:0], err
	}
	t := Tokens{line: line, sp: sp}
	dst = dst[:0]
	for i := 0; i < t.Len(); i++ {
		dst = append(dst, t.At(i))
	}
	return dst, nil
}

// splitSpans appends the fields of line to dst.
func splitSpans(line string, dst []span) ([]span, error) {
	if len(line) > 1<<30 {
		return dst, errTooLong
	}
	i := 0
	for {
		for i < len(line) && (line[i] == ' ' || line[i] == '\t') {
			i++
		}
		if i >= len(line) {
			return dst, nil
		}
		if len(dst) >= MaxFields {
			return dst, errTooManyFields
		}
		if line[i] == '"' {
			n, esc, ok := quoted(line[i+1:])
			if !ok {
				return dst, errUnterminated
			}
			dst = append(dst, span{int32(i + 1), int32(i + 1 + n), esc})
			i += n + 2
			continue
		}
		j := i
		// Most field bytes are above ' ', which one compare rules out as
		// a separator.
		for j < len(line) && (line[j] > ' ' || line[j] != ' ' && line[j] != '\t') {
			j++
		}
		dst = append(dst, span{int32(i), int32(j), false})
		i = j
	}
}

// quoted scans a quoted field whose opening quote is consumed. It returns
// the length of the raw value (without the closing quote), whether it holds
// doubled quotes, and false when the line ends first.
func quoted(s string) (int, bool, bool) {
	doubled := false
	for i := 0; i < len(s); i++ {
		if s[i] != '"' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '"' {
			doubled = true
			i++
			continue
		}
		if i+1 == len(s) || s[i+1] == ' ' || s[i+1] == '\t' {
			return i, doubled, true
		}
	}
	return 0, false, false
}

// Stream is the per-stream (per file or connection) state of a W3C log:
// the layout of the last #Fields directive and the date of the last #Date
// directive (for layouts with a time column but no date column). Its memory
// is bounded: one layout of at most MaxFields columns.
type Stream struct {
	Fields   *Layout // nil until a #Fields directive was seen
	Date     string  // "2025-01-15", from #Date or #Start-Date
	Software string  // the #Software directive
	sp       []span
	buf      []byte
}

// IsDirective reports whether a body is a W3C directive ("#Fields: ...").
func IsDirective(body string) bool {
	return len(body) > 1 && body[0] == '#'
}

// Directive applies one directive line to the stream and returns its name
// ("Fields", "Date", ...). Every directive is housekeeping, so callers
// answer ErrSkip unless err is set; err reports an unusable #Fields line.
func (s *Stream) Directive(line string) (name string, err error) {
	body := strings.TrimSpace(strings.TrimPrefix(line, "#"))
	name, value, _ := strings.Cut(body, ":")
	name = strings.TrimSpace(name)
	value = strings.TrimSpace(value)
	switch {
	case strings.EqualFold(name, "Fields"):
		names := strings.Fields(value)
		l, err := NewLayout(names...)
		if err != nil {
			return name, fmt.Errorf("w3c: bad #Fields directive: %w", err)
		}
		s.Fields = l
	case strings.EqualFold(name, "Date"), strings.EqualFold(name, "Start-Date"):
		if len(value) >= 10 {
			if _, _, _, ok := parseDate(value[:10]); ok {
				s.Date = strings.Clone(value[:10])
			}
		}
	case strings.EqualFold(name, "Software"):
		s.Software = strings.Clone(value[:min(len(value), 128)])
	}
	return name, nil
}

// SkipDirective handles a directive line the way every W3C-based parser
// answers one: state updated, then ErrSkip (or the #Fields error).
func (s *Stream) SkipDirective(line, format string) error {
	name, err := s.Directive(line)
	if err != nil {
		return err
	}
	return fmt.Errorf("%w: %s #%s directive", parsers.ErrSkip, format, name)
}

// Tokens splits a data line, reusing the stream's scratch space (the
// result is valid until the next call). h is the syslog header split off
// the line, if any: a header without a hostname followed by a line that
// starts with a W3C date makes SplitHeader take the date for the hostname
// (it looks like one) and leave the body starting at the clock, so the
// date is put back as the first field.
func (s *Stream) Tokens(line string, h *parsers.Header) (Tokens, error) {
	t := Tokens{line: line}
	if DateInHostname(line, h) {
		t.lead = h.Hostname
	}
	sp, err := splitSpans(line, s.sp[:0])
	s.sp = sp[:0]
	t.sp = sp
	if err == nil && t.Len() > MaxFields {
		err = errTooManyFields
	}
	return t, err
}

// DateInHostname reports whether h.Hostname is a W3C date that SplitHeader
// split off a body starting with the clock (see Tokens).
func DateInHostname(body string, h *parsers.Header) bool {
	if h == nil || len(h.Hostname) != 10 || len(body) < 9 || body[8] != ' ' && body[8] != '.' {
		return false
	}
	if _, _, _, ok := parseDate(h.Hostname); !ok {
		return false
	}
	_, _, _, _, ok := parseClock(body[:8])
	return ok
}
