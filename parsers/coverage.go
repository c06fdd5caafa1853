package parsers

import "strings"

// Coverage counts how many records carry the fields Cloud Discovery needs.
type Coverage struct {
	Records, User, URL, Bytes, Action int64
}

// Add counts one record.
func (c *Coverage) Add(r *Record) {
	c.Records++
	if r.UserName != "" {
		c.User++
	}
	if r.URLOriginal != "" || r.URLDomain != "" || r.DestinationDomain != "" {
		c.URL++
	}
	if r.SourceBytes.Set && r.DestinationBytes.Set {
		c.Bytes++
	}
	if r.Verdict != VerdictUnknown {
		c.Action++
	}
}

// Shares returns each field's share of records (0..1).
func (c Coverage) Shares() map[string]float64 {
	out := map[string]float64{"user": 0, "url": 0, "bytes": 0, "action": 0}
	if c.Records == 0 {
		return out
	}
	n := float64(c.Records)
	out["user"], out["url"], out["bytes"], out["action"] = float64(c.User)/n, float64(c.URL)/n, float64(c.Bytes)/n, float64(c.Action)/n
	return out
}

// minHintRecords: fewer records say too little about a device's settings.
const minHintRecords = 50

// Hints says what to change on a device whose logs lack discovery fields.
func (c Coverage) Hints(format string) []string {
	if c.Records < minHintRecords {
		return nil
	}
	s := c.Shares()
	var hints []string
	if s["user"] < 0.01 {
		h := "no user names: user identification is off on the device"
		switch {
		case format == "paloalto":
			h += " (enable User-ID on the zones)"
		case format == "fortigate":
			h += " (use identity-based policies, FSSO or RSSO)"
		case strings.HasPrefix(format, "cisco-"):
			h += " (identity firewall / ISE-PIC, or FTD identity policies)"
		case format == "squid" || format == "bluecoat" || format == "cisco-wsa" || format == "zscaler":
			h += " (require proxy authentication, or log the authenticated user field)"
		}
		hints = append(hints, h+"; usage cannot be attributed to people")
	}
	if s["bytes"] < 0.5 {
		h := "few records carry bytes per direction: upload/download volumes will be missing"
		switch {
		case strings.HasPrefix(format, "cisco-"):
			h += " (ASA/FTD: set 'logging trap informational' (level 6) so teardowns 302014/302016 with byte counts are sent)"
		case format == "fortigate":
			h += " (log traffic at session end: 'set logtraffic all' on the policies)"
		case format == "paloalto":
			h += " (log at session end on the security rules)"
		}
		hints = append(hints, h)
	}
	if s["url"] < 0.05 {
		hints = append(hints, "no URLs or destination host names: enable web filtering/URL logging (or send the proxy's log) so cloud apps are named, not only addresses")
	}
	if s["action"] < 0.5 {
		hints = append(hints, "most records carry no allow/deny verdict: check the device logs its action field")
	}
	return hints
}
