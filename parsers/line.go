package parsers

// ParseLine splits the syslog header off line (if any), parses the body with
// p into r (which the caller has Reset) and applies the rules every format
// shares: the record's own event time wins, else the header time, else
// m.Now; the header hostname names the observer when the body does not.
// m.Header is overwritten with the header found.
func ParseLine(p Parser, line string, m *Meta, r *Record) error {
	h, body := SplitHeader(line, m.Location, m.Now)
	m.Header = h
	if err := p.Parse(body, m, r); err != nil {
		return err
	}
	if r.Timestamp.IsZero() {
		if !h.Time.IsZero() {
			r.Timestamp = h.Time
		} else {
			r.Timestamp = m.Now
		}
	}
	if r.ObserverHostname == "" {
		r.ObserverHostname = h.Hostname
	}
	return nil
}
