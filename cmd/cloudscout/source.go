package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/mattn/go-isatty"
	"github.com/urfave/cli/v2"
	"go.yaml.in/yaml/v3"
	"golang.org/x/term"

	"github.com/cloudscout/cloudscout/collector/config"
	"github.com/cloudscout/cloudscout/collector/ftp"
)

// configDoc is a config file held as a YAML node tree, so edits keep the
// user's comments and layout where yaml.v3 allows.
type configDoc struct {
	path string
	root *yaml.Node // document node
}

func readConfigDoc(path string) (*configDoc, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		b = []byte("# CloudScout configuration (see 'cloudscout config default' for every key)\nsources: []\n")
	} else if err != nil {
		return nil, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(b, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode}}}
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: the top level must be a mapping", path)
	}
	return &configDoc{path: path, root: &doc}, nil
}

// sources returns the sources sequence node, creating it if needed.
func (d *configDoc) sources() *yaml.Node {
	m := d.root.Content[0]
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == "sources" {
			seq := m.Content[i+1]
			if seq.Kind != yaml.SequenceNode {
				*seq = yaml.Node{Kind: yaml.SequenceNode}
			}
			seq.Style = 0 // block style, also for a former "[]"
			return seq
		}
	}
	seq := &yaml.Node{Kind: yaml.SequenceNode}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "sources"}, seq)
	return seq
}

func nodeName(n *yaml.Node) string {
	if n.Kind != yaml.MappingNode {
		return ""
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == "name" {
			return n.Content[i+1].Value
		}
	}
	return ""
}

func (d *configDoc) find(name string) (int, *yaml.Node) {
	for i, n := range d.sources().Content {
		if nodeName(n) == name {
			return i, n
		}
	}
	return -1, nil
}

// save validates the edited document as a configuration, then replaces the
// file atomically.
func (d *configDoc) save() (*config.Config, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(d.root); err != nil {
		return nil, err
	}
	enc.Close()
	tmp, err := os.CreateTemp(filepath.Dir(d.path), ".cloudscout-*.yaml")
	if err != nil {
		return nil, err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(buf.Bytes()); err != nil {
		tmp.Close()
		return nil, err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return nil, err
	}
	tmp.Close()
	cfg, err := config.Load(tmp.Name())
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return nil, fmt.Errorf("the change would make the configuration invalid, nothing written:\n%w", indentErr(err))
	}
	if st, err := os.Stat(d.path); err == nil {
		os.Chmod(tmp.Name(), st.Mode().Perm())
	}
	if err := os.Rename(tmp.Name(), d.path); err != nil {
		return nil, err
	}
	if dir, err := os.Open(filepath.Dir(d.path)); err == nil {
		dir.Sync()
		dir.Close()
	}
	return cfg, nil
}

func sourceFileFlag() *cli.StringFlag {
	f := *configFlag
	f.Usage = "configuration `FILE` to edit (created if missing)"
	f.Required = true
	return &f
}

func sourceCommand() *cli.Command {
	return &cli.Command{
		Name:  "source",
		Usage: "manage data sources (devices) in the configuration file, and show what to enter on each device",
		Description: `Edits the configuration file in place (comments are kept where possible) and
checks the result before writing it. A running collector picks the change up on
'cloudscout reload' (or SIGHUP) without dropping other sources' connections.`,
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add a source",
				ArgsUsage: "[--config FILE] NAME (flags go before the name)",
				Flags: []cli.Flag{sourceFileFlag(),
					&cli.StringFlag{Name: "format", Value: "auto", Usage: "log format `NAME` (cloudscout formats)"},
					&cli.StringFlag{Name: "timezone", Usage: "time `ZONE` for logs without one (e.g. Europe/Berlin)"},
					&cli.StringSliceFlag{Name: "listen", Usage: "syslog listener `URL` (udp://0.0.0.0:514, tcp://..., tls://...); repeatable"},
					&cli.StringSliceFlag{Name: "allowed", Usage: "sender `CIDR` allowed to feed this source; repeatable"},
					&cli.StringFlag{Name: "ftp-user", Usage: "create an FTP account `USER` for this source (then: cloudscout source passwd NAME)"},
					&cli.StringFlag{Name: "ftp-tls", Usage: "FTP TLS policy: required or optional"},
					&cli.StringSliceFlag{Name: "watch", Usage: "watch folder `DIR` for log files; repeatable"},
					&cli.StringFlag{Name: "archive", Usage: "move processed files from watched folders to `DIR` (default: delete)"},
				},
				Action: sourceAdd,
			},
			{
				Name:  "list",
				Usage: "list the sources",
				Flags: []cli.Flag{configFlag},
				Action: func(c *cli.Context) error {
					cfg, err := loadConfig(c)
					if err != nil {
						return err
					}
					w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "NAME\tFORMAT\tTIMEZONE\tINPUTS\tALLOWED")
					for _, s := range cfg.Sources {
						fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", s.Name, s.Format, s.Location(), inputs(&s), orAny(s.Allowed))
					}
					return w.Flush()
				},
			},
			{
				Name:      "show",
				Usage:     "show a source and exactly what to enter on the device",
				ArgsUsage: "[--config FILE] NAME (flags go before the name)",
				Flags: []cli.Flag{configFlag,
					&cli.StringFlag{Name: "host", Usage: "address devices use to reach this collector (default: this machine's first non-loopback address)"},
				},
				Action: func(c *cli.Context) error {
					cfg, err := loadConfig(c)
					if err != nil {
						return err
					}
					s, ok := cfg.Source(c.Args().First())
					if !ok {
						return fmt.Errorf("no source %q (cloudscout source list)", c.Args().First())
					}
					printDeviceSetup(c.App.Writer, cfg, s, c.String("host"))
					return nil
				},
			},
			{
				Name:      "remove",
				Usage:     "remove a source (its spooled data still ships)",
				ArgsUsage: "[--config FILE] NAME (flags go before the name)",
				Flags:     []cli.Flag{sourceFileFlag()},
				Action: func(c *cli.Context) error {
					d, err := readConfigDoc(c.String("config"))
					if err != nil {
						return err
					}
					i, _ := d.find(c.Args().First())
					if i < 0 {
						return fmt.Errorf("no source %q in %s", c.Args().First(), d.path)
					}
					seq := d.sources()
					seq.Content = append(seq.Content[:i], seq.Content[i+1:]...)
					if _, err := d.save(); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "removed source %s from %s; run 'cloudscout reload' to apply\n", c.Args().First(), d.path)
					return nil
				},
			},
			{
				Name:      "passwd",
				Usage:     "set the FTP password of a source's account (prompted, or read from stdin)",
				ArgsUsage: "[--config FILE] NAME (flags go before the name)",
				Flags:     []cli.Flag{sourceFileFlag()},
				Action:    sourcePasswd,
			},
		},
	}
}

func orAny(v []string) string {
	if len(v) == 0 {
		return "any"
	}
	return strings.Join(v, ",")
}

func inputs(s *config.Source) string {
	var in []string
	in = append(in, s.Listen...)
	if s.FTP != nil {
		in = append(in, "ftp:"+s.FTP.User)
	}
	for _, w := range s.Watch {
		in = append(in, "watch:"+w.Dir)
	}
	return strings.Join(in, " ")
}

func scalar(v string) *yaml.Node { return &yaml.Node{Kind: yaml.ScalarNode, Value: v} }

func seqOf(vals []string) *yaml.Node {
	n := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, v := range vals {
		n.Content = append(n.Content, scalar(v))
	}
	return n
}

func sourceAdd(c *cli.Context) error {
	name := c.Args().First()
	if name == "" {
		return errors.New("give the new source a name")
	}
	d, err := readConfigDoc(c.String("config"))
	if err != nil {
		return err
	}
	if i, _ := d.find(name); i >= 0 {
		return fmt.Errorf("source %q already exists in %s", name, d.path)
	}
	m := &yaml.Node{Kind: yaml.MappingNode}
	add := func(k string, v *yaml.Node) { m.Content = append(m.Content, scalar(k), v) }
	add("name", scalar(name))
	add("format", scalar(c.String("format")))
	if tz := c.String("timezone"); tz != "" {
		add("timezone", scalar(tz))
	}
	if l := c.StringSlice("listen"); len(l) > 0 {
		add("listen", seqOf(l))
	}
	if a := c.StringSlice("allowed"); len(a) > 0 {
		add("allowed", seqOf(a))
	}
	if u := c.String("ftp-user"); u != "" {
		f := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("user"), scalar(u)}}
		if t := c.String("ftp-tls"); t != "" {
			f.Content = append(f.Content, scalar("tls"), scalar(t))
		}
		add("ftp", f)
	}
	if ws := c.StringSlice("watch"); len(ws) > 0 {
		seq := &yaml.Node{Kind: yaml.SequenceNode}
		for _, w := range ws {
			wm := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("dir"), scalar(w)}}
			if a := c.String("archive"); a != "" {
				wm.Content = append(wm.Content, scalar("archive"), scalar(a))
			}
			seq.Content = append(seq.Content, wm)
		}
		add("watch", seq)
	}
	seq := d.sources()
	seq.Content = append(seq.Content, m)
	cfg, err := d.save()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "added source %s to %s; run 'cloudscout reload' to apply\n\n", name, d.path)
	s, _ := cfg.Source(name)
	printDeviceSetup(c.App.Writer, cfg, s, "")
	if s.FTP != nil {
		fmt.Fprintf(c.App.Writer, "\nSet the FTP password next: cloudscout source passwd --config %s %s\n", d.path, name)
	}
	return nil
}

// readPassword prompts twice on a terminal, or reads one line from stdin.
func readPassword(in io.Reader, out io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && isatty.IsTerminal(f.Fd()) {
		fmt.Fprint(out, "New FTP password: ")
		p1, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return "", err
		}
		fmt.Fprint(out, "Repeat: ")
		p2, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(out)
		if err != nil {
			return "", err
		}
		if string(p1) != string(p2) {
			return "", errors.New("the passwords differ")
		}
		return string(p1), nil
	}
	line, err := bufio.NewReader(in).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func sourcePasswd(c *cli.Context) error {
	name := c.Args().First()
	d, err := readConfigDoc(c.String("config"))
	if err != nil {
		return err
	}
	i, n := d.find(name)
	if i < 0 {
		return fmt.Errorf("no source %q in %s", name, d.path)
	}
	pw, err := readPassword(os.Stdin, c.App.ErrWriter)
	if err != nil {
		return err
	}
	if len(pw) < 8 {
		return errors.New("use at least 8 characters")
	}
	hash, err := ftp.HashPassword(pw)
	if err != nil {
		return err
	}
	var ftpNode *yaml.Node
	for j := 0; j+1 < len(n.Content); j += 2 {
		if n.Content[j].Value == "ftp" {
			ftpNode = n.Content[j+1]
		}
	}
	if ftpNode == nil || ftpNode.Kind != yaml.MappingNode {
		ftpNode = &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{scalar("user"), scalar(name)}}
		n.Content = append(n.Content, scalar("ftp"), ftpNode)
	}
	set := false
	for j := 0; j+1 < len(ftpNode.Content); j += 2 {
		if ftpNode.Content[j].Value == "password_hash" {
			ftpNode.Content[j+1] = scalar(hash)
			set = true
		}
	}
	if !set {
		ftpNode.Content = append(ftpNode.Content, scalar("password_hash"), scalar(hash))
	}
	if _, err := d.save(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "FTP password of source %s set (stored as an Argon2id hash, never in clear); run 'cloudscout reload' to apply\n", name)
	return nil
}

// hostAddress guesses the address devices use to reach this machine.
func hostAddress() string {
	ifs, err := net.InterfaceAddrs()
	if err == nil {
		for _, a := range ifs {
			if ip, ok := a.(*net.IPNet); ok && !ip.IP.IsLoopback() && ip.IP.To4() != nil {
				return ip.IP.String()
			}
		}
	}
	return "<this collector's address>"
}

func printDeviceSetup(w io.Writer, cfg *config.Config, s *config.Source, host string) {
	if host == "" {
		host = hostAddress()
	}
	fmt.Fprintf(w, "Source %s (format %s, time zone %s, senders: %s)\n", s.Name, s.Format, s.Location(), orAny(s.Allowed))
	fmt.Fprintln(w, "Enter on the device:")
	for _, l := range s.Listen {
		tr, addr, _ := strings.Cut(l, "://")
		_, port, _ := net.SplitHostPort(addr)
		switch tr {
		case "udp":
			fmt.Fprintf(w, "  syslog server %s, port %s, protocol UDP\n", host, port)
		case "tcp":
			fmt.Fprintf(w, "  syslog server %s, port %s, protocol TCP (newline or octet-counting framing, both work)\n", host, port)
		case "tls":
			fmt.Fprintf(w, "  syslog server %s, port %s, protocol TLS (RFC 5425); trust the certificate in syslog.tls.cert\n", host, port)
		}
	}
	if s.FTP != nil {
		_, port, _ := net.SplitHostPort(cfg.FTP.Listen)
		mode := "FTPS (explicit, AUTH TLS) required"
		if s.FTP.TLS == "optional" || (s.FTP.TLS == "" && cfg.FTP.Cert == "") {
			mode = "plain FTP allowed"
		}
		pub := cfg.FTP.PublicHost
		if pub == "" {
			pub = host
		}
		fmt.Fprintf(w, "  FTP server %s, port %s, user %s, %s, passive mode (data ports %s)\n", pub, port, s.FTP.User, mode, cfg.FTP.PassivePorts)
		if cfg.FTP.ImplicitTLS != "" {
			_, ip, _ := net.SplitHostPort(cfg.FTP.ImplicitTLS)
			fmt.Fprintf(w, "  (implicit FTPS also on port %s)\n", ip)
		}
		if s.FTP.PasswordHash == "" {
			fmt.Fprintf(w, "  password: not set yet (cloudscout source passwd %s)\n", s.Name)
		}
	}
	for _, wd := range s.Watch {
		fmt.Fprintf(w, "  write log files into %s (a mounted share works)\n", wd.Dir)
	}
}
