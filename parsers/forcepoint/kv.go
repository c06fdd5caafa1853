package forcepoint

import (
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/cefleef"
)

// The predefined "syslog/key-value pairs" SIEM format (for Splunk and
// others) writes unquoted key=value pairs after the syslog header:
//
//	vendor=Forcepoint product=Security product_version=%<productVersion>
//	action=%<dispositionString> severity=%<severity> category=%<categoryNumber>
//	user=%<userPath> src_host=%<source> src_port=%<clientSourcePort>
//	dst_host=%<urlHost> dst_ip=%<destination> dst_port=%<port>
//	bytes_out=%<bytesSent> bytes_in=%<bytesReceived> http_response=...
//	http_method=%<method> http_content_type=%<_contentType>
//	http_user_agent=%<_userAgent> http_proxy_status_code=%<proxyStatusCode>
//	reason=%<scanReasonString> disposition=%<dispositionNumber>
//	policy=%<policyNames> role=... duration=... url=%<url>
//
// (Forcepoint SIEM guide "Working with SIEM integration format strings"
// and "Keys"; sample output in the syslog-ng/AxoSyslog websense-parser
// documentation; bytes_out=%<bytesSent> bytes_in=%<bytesReceived> as
// quoted on the McAfee community). Values are not quoted: a user path
// ("LDAP://10.0.0.2 OU=Eng,DC=corp/Jane Doe") holds spaces and '=', and the
// %<_name> forms replace spaces with '_'.

// isKV reports whether body is the key-value format.
func isKV(body string) bool {
	if !strings.HasPrefix(body, "vendor=") {
		return false
	}
	v := body[len("vendor="):]
	if !hasPrefixFold(v, "Forcepoint ") && !hasPrefixFold(v, "Websense ") {
		return false
	}
	head := body[:min(len(body), 64)]
	return strings.Contains(head, " product=Security ") || strings.Contains(head, " product=Web Security ")
}

// kvKeys are the keys the predefined and common custom key-value strings
// use; other snake_case keys are accepted too.
var kvKeys = [...]string{"loginID", "logRecordSource", "product_version"}

// validKVKey tells a key from '=' inside a value (LDAP DN components such
// as "OU=", "DC=", "cn=" are not keys).
func validKVKey(k string) bool {
	for _, w := range kvKeys {
		if k == w {
			return true
		}
	}
	if k == "" || len(k) > 40 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	switch k {
	case "vendor", "product", "action", "severity", "category", "user", "reason",
		"disposition", "policy", "role", "duration", "url", "protocol", "keyword":
		return true
	}
	under := false
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c == '_':
			under = true
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
		default:
			return false
		}
	}
	return under
}

// scanKV calls fn for every pair: a value runs to the last space before
// the next valid key.
func scanKV(s string, fn func(k, v string)) {
	keyStart, keyEnd := -1, -1
	pos := 0
	for pos < len(s) {
		eq := strings.IndexByte(s[pos:], '=')
		if eq < 0 {
			break
		}
		eq += pos
		pos = eq + 1
		ks := strings.LastIndexByte(s[:eq], ' ') + 1
		if ks <= keyEnd || !validKVKey(s[ks:eq]) {
			continue
		}
		if keyStart >= 0 {
			fn(s[keyStart:keyEnd], strings.TrimSpace(s[keyEnd+1:ks]))
		}
		keyStart, keyEnd = ks, eq
	}
	if keyStart >= 0 {
		fn(s[keyStart:keyEnd], strings.TrimSpace(s[keyEnd+1:]))
	}
}

// kvState collects what the key-value pairs say before it is applied.
type kvState struct {
	action, summary, user     string
	proxyStatus, serverStatus parsers.Num
	in, out                   parsers.Num
	n                         int
}

// parseKV maps one key-value record into r.
func (p *parser) parseKV(body string, r *parsers.Record) {
	var st kvState
	scanKV(body, func(k, v string) {
		st.n++
		switch k {
		case "action":
			st.action = v
		case "action_summary":
			st.summary = v
		case "category":
			r.URLCategory = parsers.Clean(v)
		case "user":
			st.user = v
		case "loginID":
			p.loginID = v
		case "src_host", "src_ip":
			if ip := cefleef.IP(v); ip.IsValid() {
				r.SourceIP = ip
			} else if k == "src_host" {
				r.SourceDomain = parsers.Clean(v)
			}
		case "src_port":
			r.SourcePort = parsers.ParsePort(v)
		case "dst_host":
			r.DestinationDomain = parsers.Clean(v)
		case "dst_ip":
			r.DestinationIP = cefleef.IP(v)
		case "dst_port":
			r.DestinationPort = parsers.ParsePort(v)
		case "bytes_out":
			st.out = parsers.ParseNum(v)
		case "bytes_in":
			st.in = parsers.ParseNum(v)
		case "http_response":
			st.serverStatus = parsers.ParseStatus(v)
		case "http_proxy_status_code":
			st.proxyStatus = parsers.ParseStatus(v)
		case "http_method":
			r.HTTPMethod = parsers.Clean(v)
		case "http_content_type":
			r.HTTPContentType = parsers.Clean(v)
		case "http_user_agent":
			r.UserAgent = parsers.Clean(v)
		case "policy":
			r.RuleName = parsers.Clean(v)
		case "url":
			parsers.SetURL(r, v)
		}
	})
	// bytes_out is %<bytesSent> (sent with the request), bytes_in
	// %<bytesReceived> (received in response).
	r.SourceBytes, r.DestinationBytes = st.out, st.in
	// The status the client got is the proxy's; the server's when the
	// proxy's is not logged.
	r.HTTPStatus = st.proxyStatus
	if !r.HTTPStatus.Set {
		r.HTTPStatus = st.serverStatus
	}
	act := parsers.Clean(st.action)
	if parsers.ParseNum(act).Set {
		// Custom strings put %<dispositionNumber> in action and the word
		// in action_summary.
		act = parsers.Clean(st.summary)
	}
	if act != "" {
		r.EventAction = act
		r.Verdict = cefleef.Verdict(act)
	}
	p.user = st.user
}
