package custom

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudscout/cloudscout/parsers"
)

var now = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

func parse(t *testing.T, s Spec, line string, loc *time.Location) (parsers.Record, error) {
	t.Helper()
	p, err := New(s, loc)
	if err != nil {
		t.Fatal(err)
	}
	var r parsers.Record
	m := parsers.Meta{Location: loc, Now: now}
	err = parsers.ParseLine(p, line, &m, &r)
	return r, err
}

func TestKV(t *testing.T) {
	s := Spec{Name: "acme", Type: "kv", Vendor: "Acme", Product: "Edge",
		Fields: map[string]string{"@timestamp": "ts", "source.ip": "src", "destination.ip": "dst",
			"user.name": "usr", "event.action": "verdict", "source.bytes": "up", "destination.bytes": "down", "url.original": "url"},
		TimeLayout: "2006-01-02 15:04:05", Allow: []string{"PASS"}, Deny: []string{"block"}, Require: []string{"source.ip"}}
	berlin, _ := time.LoadLocation("Europe/Berlin")
	r, err := parse(t, s, `<14>Mar  1 10:00:00 edge1 ts="2026-03-01 10:00:00" src=10.0.0.5 dst=203.0.113.7 usr="CORP\jdoe" verdict=pass up=120 down=4500 url="https://app.example.com/a?b=c"`, berlin)
	if err != nil {
		t.Fatal(err)
	}
	if r.Timestamp.UTC().Format(time.RFC3339) != "2026-03-01T09:00:00Z" {
		t.Errorf("timestamp %v (zone-less time must be read in the source zone)", r.Timestamp)
	}
	if r.SourceIP.String() != "10.0.0.5" || r.DestinationIP.String() != "203.0.113.7" {
		t.Errorf("ips %v %v", r.SourceIP, r.DestinationIP)
	}
	if r.UserName != "jdoe" || r.UserDomain != "CORP" {
		t.Errorf("user %q %q", r.UserName, r.UserDomain)
	}
	if r.Verdict != parsers.Allowed || r.SourceBytes.V != 120 || r.DestinationBytes.V != 4500 {
		t.Errorf("verdict/bytes %+v", r)
	}
	if r.URLDomain != "app.example.com" || r.ObserverVendor != "Acme" || r.ObserverHostname != "edge1" {
		t.Errorf("url/observer %q %q %q", r.URLDomain, r.ObserverVendor, r.ObserverHostname)
	}
	_, err = parse(t, s, `ts="2026-03-01 10:00:00" msg="config saved"`, time.UTC)
	if !errors.Is(err, parsers.ErrSkip) {
		t.Errorf("line without source.ip: %v, want ErrSkip", err)
	}
	r, _ = parse(t, s, `src=10.0.0.5 verdict=BLOCK`, time.UTC)
	if r.Verdict != parsers.Denied {
		t.Errorf("deny word not matched case-insensitively")
	}
}

func TestCSV(t *testing.T) {
	s := Spec{Name: "csvfw", Type: "csv", Columns: []string{"time", "src", "dst", "dport", "action", "app"},
		Fields:     map[string]string{"@timestamp": "time", "source.ip": "src", "destination.ip": "dst", "destination.port": "dport", "event.action": "action", "network.application": "app"},
		TimeLayout: "epoch", Deny: []string{"drop"}}
	r, err := parse(t, s, `1772359200,192.168.1.4,2001:db8::1,443,drop,"Dropbox, Inc."`, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if !r.Timestamp.Equal(time.Unix(1772359200, 0)) || r.DestinationIP.String() != "2001:db8::1" || r.DestinationPort.V != 443 ||
		r.Verdict != parsers.Denied || r.NetworkApplication != "Dropbox, Inc." {
		t.Errorf("%+v", r)
	}
}

func TestRegexAndJSON(t *testing.T) {
	re := Spec{Name: "rx", Type: "regex", Pattern: `^(?P<ip>\S+) (?P<user>\S+) "(?P<method>\S+) (?P<url>\S+)" (?P<status>\d+)`,
		Fields: map[string]string{"source.ip": "ip", "user.name": "user", "http.request.method": "method", "url.original": "url", "http.response.status_code": "status"}}
	r, err := parse(t, re, `10.1.1.1 alice@corp.example "GET http://files.example.net/x" 200`, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if r.UserName != "alice@corp.example" || r.HTTPStatus.V != 200 || r.URLDomain != "files.example.net" {
		t.Errorf("%+v", r)
	}
	if _, err := parse(t, re, `garbage`, time.UTC); err == nil || errors.Is(err, parsers.ErrSkip) {
		t.Errorf("non-matching line: %v", err)
	}
	js := Spec{Name: "js", Type: "json", Fields: map[string]string{"@timestamp": "time", "source.ip": "client.ip", "destination.domain": "host", "network.bytes": "bytes"}}
	r, err = parse(t, js, `{"time":"2026-02-01T10:00:00Z","client":{"ip":"10.9.9.9"},"host":"x.example","bytes":1234}`, time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	if r.SourceIP.String() != "10.9.9.9" || r.DestinationDomain != "x.example" || r.NetworkBytes.V != 1234 || r.Timestamp.Month() != 2 {
		t.Errorf("%+v", r)
	}
}

func TestValidate(t *testing.T) {
	bad := []Spec{
		{Name: "a", Type: "xml", Fields: map[string]string{"source.ip": "s"}},
		{Name: "a", Type: "kv"},
		{Name: "a", Type: "kv", Fields: map[string]string{"source.ipp": "s"}},
		{Name: "a", Type: "regex", Pattern: "(", Fields: map[string]string{"source.ip": "s"}},
		{Name: "a", Type: "regex", Pattern: `(\S+)`, Fields: map[string]string{"source.ip": "s"}},
		{Name: "a", Type: "csv", Columns: []string{"x"}, Fields: map[string]string{"source.ip": "s"}},
		{Name: "a", Type: "kv", Fields: map[string]string{"source.ip": "s"}, Require: []string{"user.name"}},
		{Name: "a", Type: "kv", Fields: map[string]string{"source.ip": "s"}, TimeLayout: "yyyy-mm-dd"},
		{Name: "auto", Type: "kv", Fields: map[string]string{"source.ip": "s"}},
	}
	for i, s := range bad {
		if err := s.Validate(); err == nil {
			t.Errorf("spec %d accepted", i)
		} else if !strings.Contains(err.Error(), "") {
			t.Fatal(err)
		}
	}
}
