// Package loadgen generates realistic firewall and proxy log lines with
// varied users, hosts and addresses, for the load generator and benchmarks.
// Lines are templates whose time fields are patched at send time, so a
// receiver can measure latency from the line's own timestamp.
package loadgen

import (
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"
)

// PoolSize is the number of distinct lines per format.
const PoolSize = 4096

// Formats are the line generators, by name.
var Formats = []string{"fortigate", "paloalto", "cisco-asa", "squid", "mix", "raw"}

// stampKind is a time field of a line, rewritten with the send time.
type stampKind uint8

const (
	stDate     stampKind = iota // 2006-01-02
	stTime                      // 15:04:05
	stEventNS                   // FortiGate eventtime: Unix ns, 19 digits
	stPanTime                   // 2006/01/02 15:04:05
	stPanHiRes                  // 2006-01-02T15:04:05.000+00:00
	stBSD                       // Jan _2 15:04:05
	stASA                       // Jan 02 2006 15:04:05
	stSquid                     // Unix seconds.millis: 1772366400.123
	stRFC3339                   // 2006-01-02T15:04:05.000000Z
	numStampKinds
)

var stampWidth = [numStampKinds]int{10, 8, 19, 19, 29, 15, 20, 14, 27}

// Stamps holds the rendered time fields for one clock reading. Every field
// has a fixed width (UTC, years 1000-9999, Unix seconds with 10 digits), so
// templates reserve the bytes and rendering patches them in place.
type Stamps struct {
	sec  int64 // the second the second-resolution fields were rendered for
	ok   bool
	f    [numStampKinds][32]byte
	scra []byte
}

func (s *Stamps) Set(now time.Time) {
	t := now.UTC()
	if !s.ok || t.Unix() != s.sec {
		s.ok, s.sec = true, t.Unix()
		s.put(stDate, t.AppendFormat(s.scra[:0], "2006-01-02"))
		s.put(stTime, t.AppendFormat(s.scra[:0], "15:04:05"))
		s.put(stPanTime, t.AppendFormat(s.scra[:0], "2006/01/02 15:04:05"))
		s.put(stBSD, t.AppendFormat(s.scra[:0], "Jan _2 15:04:05"))
		s.put(stASA, t.AppendFormat(s.scra[:0], "Jan 02 2006 15:04:05"))
	}
	s.put(stEventNS, strconv.AppendInt(s.scra[:0], t.UnixNano(), 10))
	s.put(stPanHiRes, t.AppendFormat(s.scra[:0], "2006-01-02T15:04:05.000-07:00"))
	ms := t.UnixMilli()
	b := strconv.AppendInt(s.scra[:0], ms/1000, 10)
	b = append(b, '.', byte('0'+ms/100%10), byte('0'+ms/10%10), byte('0'+ms%10))
	s.put(stSquid, b)
	s.put(stRFC3339, t.AppendFormat(s.scra[:0], "2006-01-02T15:04:05.000000Z07:00"))
}

func (s *Stamps) put(k stampKind, b []byte) {
	// A field whose width differs (a clock outside years 1000-9999) is left
	// as it was rather than misaligning the line.
	if len(b) == stampWidth[k] {
		copy(s.f[k][:], b)
	}
	s.scra = b[:0]
}

type patch struct {
	off  int
	kind stampKind
}

// lineTemplate is one line with reserved bytes for its time fields.
type lineTemplate struct {
	b       []byte
	patches []patch
}

// Pool is a set of pre-generated lines of one format.
type Pool struct {
	lines []lineTemplate
}

// Len is the number of distinct lines.
func (p *Pool) Len() int { return len(p.lines) }

// Render appends line i, stamped with st, to dst.
func (p *Pool) Render(dst []byte, i int, st *Stamps) []byte {
	t := &p.lines[i]
	base := len(dst)
	dst = append(dst, t.b...)
	for _, pt := range t.patches {
		copy(dst[base+pt.off:], st.f[pt.kind][:stampWidth[pt.kind]])
	}
	return dst
}

// lb builds a template.
type lb struct{ t lineTemplate }

func (l *lb) s(parts ...string) *lb {
	for _, p := range parts {
		l.t.b = append(l.t.b, p...)
	}
	return l
}

func (l *lb) i(v int64) *lb { l.t.b = strconv.AppendInt(l.t.b, v, 10); return l }

func (l *lb) stamp(k stampKind) *lb {
	l.t.patches = append(l.t.patches, patch{off: len(l.t.b), kind: k})
	for range stampWidth[k] {
		l.t.b = append(l.t.b, '0')
	}
	return l
}

// NewPool pre-generates the lines of a format. syslog adds the header
// each device sends; without it lines look as in the device's log files.
func NewPool(format string, size int, seed uint64, syslog bool) *Pool {
	g := &gen{r: rand.New(rand.NewPCG(seed, 0x5c0075)), syslog: syslog, size: size}
	p := &Pool{lines: make([]lineTemplate, 0, PoolSize)}
	mix := []func() lineTemplate{g.fortigate, g.paloalto, g.ciscoASA, g.squid}
	for i := range PoolSize {
		var t lineTemplate
		switch format {
		case "fortigate":
			t = g.fortigate()
		case "paloalto":
			t = g.paloalto()
		case "cisco-asa":
			t = g.ciscoASA()
		case "squid":
			t = g.squid()
		case "mix":
			t = mix[i%len(mix)]()
		default:
			t = g.raw(i)
		}
		p.lines = append(p.lines, t)
	}
	return p
}

// gen draws realistic values: a population of internal clients (skewed), public servers from the
// documentation ranges (and 2001:db8::/32), users in the forms directories
// log them, and well-known cloud services.
type gen struct {
	r      *rand.Rand
	syslog bool
	size   int
	asaID  int64
	hosts  []lgHost
	zipf   *rand.Zipf
}

// lgHost is one workstation: its address, MAC and usual user. Traffic is
// skewed as in real networks (a Zipf draw): a few hosts send much of it.
type lgHost struct {
	ip, mac, name, user, hostname string
}

// loadgenHosts is the size of the simulated client population.
const loadgenHosts = 2000

// host draws a client of the population.
func (g *gen) host() *lgHost {
	if g.hosts == nil {
		g.hosts = make([]lgHost, loadgenHosts)
		for i := range g.hosts {
			h := &g.hosts[i]
			h.name, h.user = g.user()
			h.ip, h.mac = g.clientIP(), g.mac()
			h.hostname = "ws-" + strconv.Itoa(1000+i)
		}
		g.zipf = rand.NewZipf(g.r, 1.1, 4, loadgenHosts-1)
	}
	return &g.hosts[g.zipf.Uint64()]
}

var (
	lgFirst   = []string{"anna", "ben", "carla", "david", "emma", "felix", "gina", "hugo", "ines", "jonas", "kim", "lara", "max", "nina", "omar", "paula", "quinn", "rosa", "sven", "tara", "uwe", "vera", "wim", "yara", "zoe"}
	lgLast    = []string{"schmidt", "mueller", "weber", "fischer", "meyer", "wagner", "becker", "hoffmann", "koch", "richter", "klein", "wolf", "neumann", "braun", "zimmermann", "kruger", "hartmann", "lange", "werner", "krause"}
	lgDomains = []string{"CORP", "EMEA", "LAB"}
	lgSites   = []struct{ host, app, cat string }{
		{"www.dropbox.com", "Dropbox", "Storage.Backup"},
		{"drive.google.com", "Google.Drive", "Storage.Backup"},
		{"outlook.office365.com", "Microsoft.Outlook", "Collaboration"},
		{"teams.microsoft.com", "Microsoft.Teams", "Collaboration"},
		{"slack.com", "Slack", "Collaboration"},
		{"github.com", "GitHub", "Web.Client"},
		{"app.box.com", "Box", "Storage.Backup"},
		{"zoom.us", "Zoom", "Video/Audio"},
		{"s3.amazonaws.com", "Amazon.AWS", "Cloud.IT"},
		{"www.wetransfer.com", "WeTransfer", "Storage.Backup"},
		{"web.whatsapp.com", "WhatsApp", "Collaboration"},
		{"chat.openai.com", "ChatGPT", "Web.Client"},
		{"www.salesforce.com", "Salesforce", "Business"},
		{"mega.nz", "MEGA", "Storage.Backup"},
		{"intranet.example.com", "HTTPS.BROWSER", "Web.Client"},
		{"www.example.org", "HTTP.BROWSER", "Web.Client"},
	}
	lgPaths = []string{"/", "/index.html", "/api/v2/files/upload", "/s/abc123/report.pdf", "/login", "/v1/messages", "/assets/app.js", "/download/setup.exe", "/search?q=quarterly+report", "/rest/chat.postMessage"}
	lgUA    = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0 Safari/537.36", "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_3) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.3 Safari/605.1.15", "Microsoft Office/16.0", "curl/8.5.0"}
)

func (g *gen) pick(s []string) string { return s[g.r.IntN(len(s))] }

func (g *gen) user() (bare, qualified string) {
	u := g.pick(lgFirst) + "." + g.pick(lgLast)
	switch g.r.IntN(4) {
	case 0:
		return u, g.pick(lgDomains) + `\` + u
	case 1:
		return u, u + "@example.com"
	default:
		return u, u
	}
}

func (g *gen) clientIP() string {
	if g.r.IntN(5) == 0 {
		return fmt.Sprintf("192.168.%d.%d", g.r.IntN(32), 2+g.r.IntN(250))
	}
	return fmt.Sprintf("10.%d.%d.%d", g.r.IntN(64), g.r.IntN(256), 2+g.r.IntN(250))
}

func (g *gen) serverIP() string {
	switch g.r.IntN(8) {
	case 0:
		return fmt.Sprintf("2001:db8:%x::%x", g.r.IntN(0x1000), 1+g.r.IntN(0xfffe))
	case 1, 2:
		return fmt.Sprintf("192.0.2.%d", 1+g.r.IntN(254))
	case 3, 4:
		return fmt.Sprintf("198.51.100.%d", 1+g.r.IntN(254))
	default:
		return fmt.Sprintf("203.0.113.%d", 1+g.r.IntN(254))
	}
}

func (g *gen) site() (host, app, cat string) {
	s := lgSites[g.r.IntN(len(lgSites))]
	return s.host, s.app, s.cat
}

func (g *gen) port() int64 { return int64(1024 + g.r.IntN(64000)) }

func (g *gen) mac() string {
	return fmt.Sprintf("00:0c:29:%02x:%02x:%02x", g.r.IntN(256), g.r.IntN(256), g.r.IntN(256))
}

// fortigate: a FortiOS 7.x forward traffic log (about 700 bytes). Syslog
// form is FortiGate's default: <PRI> directly followed by the pairs.
func (g *gen) fortigate() lineTemplate {
	var l lb
	if g.syslog {
		l.s("<189>")
	}
	cl := g.host()
	user := cl.user
	host, app, cat := g.site()
	dport := int64(443)
	service := "HTTPS"
	if g.r.IntN(6) == 0 {
		dport, service = 80, "HTTP"
	}
	action := []string{"close", "close", "close", "accept", "timeout", "server-rst", "client-rst", "deny"}[g.r.IntN(8)]
	fw := g.r.IntN(4)
	l.s(`date=`).stamp(stDate).s(` time=`).stamp(stTime)
	l.s(fmt.Sprintf(` devname="FGT-BR%02d" devid="FG100FTK2290%04d" eventtime=`, fw, 1000+fw)).stamp(stEventNS)
	l.s(` tz="+0000" logid="0000000013" type="traffic" subtype="forward" level="notice" vd="root"`)
	l.s(` srcip=`, cl.ip, ` srcport=`).i(g.port()).s(` srcintf="port2" srcintfrole="lan"`)
	l.s(` dstip=`, g.serverIP(), ` dstport=`).i(dport).s(` dstintf="wan1" dstintfrole="wan"`)
	l.s(` sessionid=`).i(int64(1e8 + g.r.IntN(9e8)))
	l.s(` proto=6 action="`, action, `" policyid=`).i(int64(1 + g.r.IntN(40)))
	l.s(` policytype="policy" policyname="LAN-to-Internet" user="`, user, `" group="Staff"`)
	l.s(` service="`, service, `" trandisp="snat" transip=203.0.113.2 transport=`).i(g.port())
	l.s(` appid=`).i(int64(15000+g.r.IntN(30000))).s(` app="`, app, `" appcat="`, cat, `"`)
	l.s(` duration=`).i(int64(1 + g.r.IntN(900)))
	l.s(` sentbyte=`).i(int64(200 + g.r.IntN(2e6))).s(` rcvdbyte=`).i(int64(500 + g.r.IntN(2e7)))
	l.s(` sentpkt=`).i(int64(3 + g.r.IntN(2000))).s(` rcvdpkt=`).i(int64(3 + g.r.IntN(20000)))
	l.s(` hostname="`, host, `" srcmac="`, cl.mac, `"`)
	return l.t
}

// paloalto: a PAN-OS 10.x TRAFFIC end record (CSV), with the high
// resolution timestamp in column 102.
func (g *gen) paloalto() lineTemplate {
	var l lb
	if g.syslog {
		l.s("<14>").stamp(stBSD).s(" PA-3220-HQ ")
	}
	cl := g.host()
	user := cl.user
	if g.r.IntN(5) == 0 {
		user = ""
	}
	host, _, _ := g.site()
	apps := []string{"ssl", "web-browsing", "dropbox-base", "ms-office365-base", "slack-base", "github-base", "zoom-base", "google-drive-web"}
	acts := []string{"allow", "allow", "allow", "allow", "deny", "drop", "reset-both"}
	src, dst := cl.ip, g.serverIP()
	sent, rcvd := int64(200+g.r.IntN(1e6)), int64(500+g.r.IntN(1e7))
	c := make([]string, 114)
	c[0] = "1"
	c[2] = "013201012345"
	c[3], c[4] = "TRAFFIC", "end"
	c[5] = "2561"
	c[7], c[8], c[9], c[10] = src, dst, "203.0.113.2", "0.0.0.0"
	c[11], c[12], c[14] = "allow-web", strings.ToLower(user), apps[g.r.IntN(len(apps))]
	c[15], c[16], c[17], c[18], c[19], c[20] = "vsys1", "trust", "untrust", "ethernet1/2", "ethernet1/1", "log-forwarding-default"
	c[22], c[23] = strconv.Itoa(100000+g.r.IntN(900000)), "1"
	c[24], c[25], c[26], c[27] = strconv.FormatInt(g.port(), 10), "443", strconv.FormatInt(g.port(), 10), "443"
	c[28], c[29], c[30] = "0x40001c", "tcp", acts[g.r.IntN(len(acts))]
	c[31], c[32], c[33] = strconv.FormatInt(sent+rcvd, 10), strconv.FormatInt(sent, 10), strconv.FormatInt(rcvd, 10)
	c[34], c[36], c[37] = strconv.Itoa(10+g.r.IntN(5000)), strconv.Itoa(g.r.IntN(600)), "computer-and-internet-info"
	c[39], c[40], c[41], c[42] = strconv.FormatInt(7e9+int64(g.r.IntN(1e9)), 10), "0x8000000000000000", "10.0.0.0-10.255.255.255", "United States"
	c[44], c[45], c[46] = strconv.Itoa(5+g.r.IntN(2000)), strconv.Itoa(5+g.r.IntN(3000)), "tcp-fin"
	c[47], c[48], c[49], c[50] = "0", "0", "0", "0"
	c[52], c[53] = "PA-3220-HQ", "from-policy"
	c[58], c[62], c[63], c[64] = "0", "0", "0", "0"
	c[65] = "9a4e1c2b-5d3f-4e6a-8b7c-" + fmt.Sprintf("%012x", g.r.Uint64()&0xffffffffffff)
	c[66], c[67], c[68] = "0", "0", "0"
	c[82], c[83] = cl.hostname, cl.mac
	c[90] = host
	c[101] = "0"
	c[105], c[106], c[107], c[108] = "file-sharing", "general-internet", "browser-based", strconv.Itoa(1+g.r.IntN(5))
	c[112], c[113] = "yes", "no"
	for i, v := range c {
		if i > 0 {
			l.s(",")
		}
		switch i {
		case 1, 6, 35:
			l.stamp(stPanTime)
		case 102:
			l.stamp(stPanHiRes)
		default:
			l.s(v)
		}
	}
	return l.t
}

// ciscoASA: connection teardowns (with byte totals), builds and ACL denies,
// with the "logging timestamp" header and a device id.
func (g *gen) ciscoASA() lineTemplate {
	var l lb
	if g.syslog {
		l.s("<166>").stamp(stASA).s(" ASA-FW-01 : ")
	} else {
		l.stamp(stASA).s(" ASA-FW-01 : ")
	}
	g.asaID++
	id := 80000000 + g.asaID
	cl := g.host()
	src, dst := cl.ip, g.serverIP()
	sp, dp := g.port(), []int64{443, 443, 80, 53, 8443}[g.r.IntN(5)]
	bare := cl.name
	switch g.r.IntN(6) {
	case 0, 1, 2:
		l.s("%ASA-6-302014: Teardown TCP connection ").i(id).s(" for outside:", dst, "/").i(dp)
		l.s(" to inside:", src, "/").i(sp).s(" duration ")
		d := g.r.IntN(7200)
		l.s(fmt.Sprintf("%d:%02d:%02d", d/3600, d/60%60, d%60)).s(" bytes ").i(int64(100 + g.r.IntN(5e6)))
		l.s([]string{" TCP FINs", " TCP Reset-I", " TCP Reset-O", " Flow closed by inspection"}[g.r.IntN(4)])
		l.s(" (CORP\\", bare, ")")
	case 3, 4:
		l.s("%ASA-6-302013: Built outbound TCP connection ").i(id).s(" for outside:", dst, "/").i(dp)
		l.s(" (", dst, "/").i(dp).s(") to inside:", src, "/").i(sp).s(" (203.0.113.2/").i(g.port()).s(")")
		l.s(" (CORP\\", bare, ")")
	default:
		l.s(`%ASA-4-106023: Deny tcp src inside:`, src, "/").i(sp).s(" dst outside:", dst, "/").i(dp)
		l.s(` by access-group "inside_access_in" [0x5a3c1d2e, 0x0]`)
	}
	return l.t
}

// squid: the native access.log format; over syslog with the tag squid.
// With --size the URL's query is lengthened to reach the size.
func (g *gen) squid() lineTemplate {
	var l lb
	if g.syslog {
		l.s("<150>").stamp(stBSD).s(" proxy01 squid[2211]: ")
	}
	start := len(l.t.b)
	cl := g.host()
	user := cl.user
	if g.r.IntN(3) == 0 {
		user = "-"
	}
	host, _, _ := g.site()
	l.stamp(stSquid).s(fmt.Sprintf(" %6d ", 5+g.r.IntN(60000)), cl.ip, " ")
	bytes := strconv.Itoa(300 + g.r.IntN(3e6))
	dst := g.serverIP()
	var tail lb
	if g.r.IntN(2) == 0 {
		l.s([]string{"TCP_TUNNEL/200", "TCP_TUNNEL/200", "TCP_DENIED/403"}[g.r.IntN(3)], " ", bytes, " CONNECT ", host, ":443 ", user, " HIER_DIRECT/", dst, " -")
	} else {
		path := g.pick(lgPaths)
		status := []string{"TCP_MISS/200", "TCP_MISS/200", "TCP_MISS/304", "TCP_HIT/200", "TCP_DENIED/403", "TCP_MISS/404"}[g.r.IntN(6)]
		l.s(status, " ", bytes, " ", []string{"GET", "GET", "POST", "PUT"}[g.r.IntN(4)], " http://", host, path)
		tail.s(" ", user, " HIER_DIRECT/", dst, " ", []string{"text/html", "application/json", "image/png", "application/octet-stream"}[g.r.IntN(4)])
		if pad := g.size - (len(l.t.b) - start) - len(tail.t.b); g.size > 0 && pad > 0 {
			sep := "?"
			if strings.Contains(path, "?") {
				sep = "&"
			}
			if pad > len(sep)+3 {
				l.s(sep, "sid=", strings.Repeat("x", pad-len(sep)-4))
			}
		}
		l.s(string(tail.t.b))
	}
	return l.t
}

// raw: a synthetic RFC 5424 message padded to --size (default 300) bytes,
// for measuring ingest without vendor parsing.
func (g *gen) raw(i int) lineTemplate {
	var l lb
	size := g.size
	if size == 0 {
		size = 300
	}
	if g.syslog {
		l.s("<134>1 ").stamp(stRFC3339).s(" bench01 rawgen - - - ")
	} else {
		l.stamp(stRFC3339).s(" ")
	}
	l.s("raw seq=").i(int64(i)).s(" ")
	for n := len(l.t.b); n < size; n++ {
		l.t.b = append(l.t.b, byte('a'+(n+i)%26))
	}
	return l.t
}
