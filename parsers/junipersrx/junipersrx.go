// Package junipersrx parses Juniper SRX RT_FLOW session logs
// (RT_FLOW_SESSION_CREATE, _CLOSE, _DENY and their logical-system _LS
// variants) in both forms Junos writes: RFC 5424 structured data
// ([junos@2636.1.1.1.2.<model> source-address="..." ...]) and the "brief"
// positional text ("session created 10.0.0.1/1234->203.0.113.5/443 ...").
// Other Junos messages (RT_IDP, RT_UTM, UI_*, APPTRACK_*) return ErrSkip.
package junipersrx

import (
	"errors"
	"fmt"
	"strings"

	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/internal/netproto"
)

// Name is the registry name of the format.
const Name = "juniper-srx"

func init() {
	parsers.Register(parsers.Info{
		Name:        Name,
		Vendor:      "Juniper",
		Product:     "SRX",
		Description: "Juniper SRX RT_FLOW session create/close/deny logs (structured-data or brief)",
		New: func(parsers.Options) (parsers.Parser, error) {
			return &parser{}, nil
		},
		Detect: detect,
	})
}

// ErrMalformed is wrapped by errors for RT_FLOW lines that cannot be read.
var ErrMalformed = errors.New("malformed RT_FLOW message")

type parser struct{}

var _ parsers.Parser = (*parser)(nil)

// kind is the session event an RT_FLOW message reports.
type kind uint8

const (
	kindNone kind = iota
	kindCreate
	kindClose
	kindDeny
	kindOther // an RT_FLOW_* message that is not a session event
)

// eventKind reads a message name such as "RT_FLOW_SESSION_CLOSE_LS".
func eventKind(name string) kind {
	rest, ok := strings.CutPrefix(name, "RT_FLOW_SESSION_")
	if !ok {
		if strings.HasPrefix(name, "RT_FLOW") {
			return kindOther
		}
		return kindNone
	}
	rest = strings.TrimSuffix(rest, "_LS")
	switch rest {
	case "CREATE":
		return kindCreate
	case "CLOSE":
		return kindClose
	case "DENY":
		return kindDeny
	}
	return kindOther
}

// findEvent locates "RT_FLOW_SESSION_xxx" near the start of a brief body and
// returns its kind and the text after "NAME: ".
func findEvent(body string) (kind, string) {
	lim := min(len(body), 96)
	i := strings.Index(body[:lim], "RT_FLOW")
	if i < 0 {
		return kindNone, body
	}
	s := body[i:]
	end := strings.IndexAny(s, ": ")
	if end < 0 {
		end = len(s)
	}
	k := eventKind(s[:end])
	s = s[end:]
	s = strings.TrimPrefix(s, ":")
	return k, strings.TrimLeft(s, " ")
}

func (p *parser) Parse(body string, m *parsers.Meta, r *parsers.Record) error {
	h := &m.Header
	sd := strings.Contains(h.SD, "[junos@")
	k, text := kindNone, body
	if h.MsgID != "" {
		// RFC 5424: the message name is the MSGID; the text may repeat it.
		if k = eventKind(h.MsgID); k == kindNone {
			return fmt.Errorf("%w: Junos %s message", parsers.ErrSkip, h.MsgID)
		}
		if bk, bt := findEvent(body); bk != kindNone {
			text = bt
		}
	} else {
		k, text = findEvent(body)
	}
	switch {
	case k == kindNone && sd:
		return fmt.Errorf("%w: structured data without an RT_FLOW_SESSION message id", ErrMalformed)
	case k == kindNone:
		if h.AppName != "" && h.AppName != "RT_FLOW" {
			return fmt.Errorf("%w: Junos %s message", parsers.ErrSkip, h.AppName)
		}
		return fmt.Errorf("%w: no RT_FLOW_SESSION event", ErrMalformed)
	case k == kindOther:
		return fmt.Errorf("%w: RT_FLOW message that is not a session create/close/deny", parsers.ErrSkip)
	}
	var f fields
	var err error
	switch {
	case sd:
		parsers.ParseSD(h.SD, f.setSD)
	case strings.HasPrefix(text, "[junos@"):
		// Structured data relayed in a BSD message ("RT_FLOW:
		// RT_FLOW_SESSION_CLOSE [junos@2636... ...]"): it is the body.
		sd = true
		parsers.ParseSD(text, f.setSD)
	default:
		err = parseBrief(text, k, &f)
	}
	if sd && f.srcIP == "" {
		err = fmt.Errorf("%w: structured data without source-address", ErrMalformed)
	}
	if err != nil {
		return err
	}
	return build(&f, k, r)
}

// fields holds the raw values of one session message.
type fields struct {
	srcIP, srcPort, dstIP, dstPort        string
	natSrcIP, natSrcPort, natDstIP        string
	natDstPort, service, protocol, policy string
	bytesC, bytesS, pktsC, pktsS, elapsed string
	app, nestedApp, user, reason, appCat  string
	appRisk                               string
}

func (f *fields) setSD(id, k, v string) {
	if !strings.HasPrefix(id, "junos@") {
		return
	}
	switch k {
	case "source-address":
		f.srcIP = v
	case "source-port":
		f.srcPort = v
	case "destination-address":
		f.dstIP = v
	case "destination-port":
		f.dstPort = v
	case "nat-source-address":
		f.natSrcIP = v
	case "nat-source-port":
		f.natSrcPort = v
	case "nat-destination-address":
		f.natDstIP = v
	case "nat-destination-port":
		f.natDstPort = v
	case "service-name":
		f.service = v
	case "protocol-id":
		f.protocol = v
	case "policy-name":
		f.policy = v
	case "bytes-from-client":
		f.bytesC = v
	case "bytes-from-server":
		f.bytesS = v
	case "packets-from-client":
		f.pktsC = v
	case "packets-from-server":
		f.pktsS = v
	case "elapsed-time":
		f.elapsed = v
	case "application":
		f.app = v
	case "nested-application":
		f.nestedApp = v
	case "username":
		f.user = v
	case "reason":
		f.reason = v
	case "application-category":
		f.appCat = v
	case "application-risk":
		f.appRisk = v
	}
}

func build(f *fields, k kind, r *parsers.Record) error {
	r.SourceIP = parsers.ParseIP(f.srcIP)
	r.DestinationIP = parsers.ParseIP(f.dstIP)
	if !r.SourceIP.IsValid() || !r.DestinationIP.IsValid() {
		return fmt.Errorf("%w: unreadable source or destination address", ErrMalformed)
	}
	r.NetworkTransport = netproto.Transport(f.protocol)
	// For ICMP Junos logs the identifier and type/code in the port fields.
	ports := !netproto.IsICMP(r.NetworkTransport)
	var natSrcPort, natDstPort parsers.Num
	if ports {
		r.SourcePort = parsers.ParsePort(f.srcPort)
		r.DestinationPort = parsers.ParsePort(f.dstPort)
		natSrcPort, natDstPort = parsers.ParsePort(f.natSrcPort), parsers.ParsePort(f.natDstPort)
	}
	// NAT fields only when a translation happened (Junos repeats the
	// original socket otherwise).
	if ip := parsers.ParseIP(f.natSrcIP); ip.IsValid() && (ip != r.SourceIP || natSrcPort != r.SourcePort) {
		r.SourceNATIP, r.SourceNATPort = ip, natSrcPort
	}
	if ip := parsers.ParseIP(f.natDstIP); ip.IsValid() && (ip != r.DestinationIP || natDstPort != r.DestinationPort) {
		r.DestinationNATIP, r.DestinationNATPort = ip, natDstPort
	}
	r.RuleName = parsers.Clean(f.policy)
	r.SourceBytes = parsers.ParseNum(f.bytesC)
	r.DestinationBytes = parsers.ParseNum(f.bytesS)
	r.SourcePackets = parsers.ParseNum(f.pktsC)
	r.DestinationPackets = parsers.ParseNum(f.pktsS)
	if d := parsers.ParseNum(f.elapsed); d.Set {
		r.Duration = parsers.N(d.V * 1e9)
	}
	// The nested application (FACEBOOK-CHAT inside HTTP) is the more
	// specific one; the service name (junos-https) is a port, not an app.
	if app := appName(f.nestedApp); app != "" {
		r.NetworkApplication = app
	} else {
		r.NetworkApplication = appName(f.app)
	}
	r.AppCategory = parsers.Clean(f.appCat)
	if f.appRisk != "" && f.appRisk[0] != '-' {
		r.AppRisk = parsers.Clean(f.appRisk)
	}
	parsers.SetUser(r, f.user)
	switch k {
	case kindCreate:
		r.Verdict, r.EventAction = parsers.Allowed, "create"
	case kindClose:
		r.Verdict, r.EventAction = parsers.Allowed, "close"
	case kindDeny:
		r.Verdict, r.EventAction = parsers.Denied, "deny"
	}
	r.Category = "network"
	r.ObserverVendor = "Juniper"
	r.ObserverProduct = "SRX"
	return nil
}

// appName drops the markers Junos writes for "not identified".
func appName(s string) string {
	s = strings.TrimPrefix(s, "junos:")
	switch s {
	case "INCONCLUSIVE", "PENDING", "Pending":
		return ""
	}
	return parsers.Clean(s)
}

func detect(body string, h *parsers.Header) int {
	if eventKind(h.MsgID) != kindNone || h.AppName == "RT_FLOW" {
		return 95
	}
	if strings.Contains(h.SD, "[junos@2636.") {
		return 90
	}
	if strings.HasPrefix(h.AppName, "RT_") && strings.HasPrefix(body, h.AppName+"_") {
		return 85 // other Junos security logs (RT_SCREEN_TCP, RT_IDP_...): claimed, then skipped
	}
	if k, _ := findEvent(body); k != kindNone {
		return 90
	}
	if h.AppName != "" && isEventTag(body) {
		return 45 // a Junos daemon's event ("mgd[42]: UI_COMMIT: ..."): claimed weakly, then skipped
	}
	return 0
}

// isEventTag reports a body that starts with a Junos event tag such as
// "UI_COMMIT:" or "KMD_PM_SA_ESTABLISHED:": upper case words joined by '_'.
func isEventTag(body string) bool {
	i := strings.IndexByte(body[:min(len(body), 64)], ':')
	if i < 3 || body[0] < 'A' || body[0] > 'Z' || strings.IndexByte(body[:i], '_') < 0 {
		return false
	}
	for j := 0; j < i; j++ {
		if c := body[j]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return i+1 == len(body) || body[i+1] == ' '
}
