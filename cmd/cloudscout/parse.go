package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloudscout/cloudscout/collector/anonymize"
	"github.com/cloudscout/cloudscout/parsers"
	"github.com/cloudscout/cloudscout/parsers/custom"
)

// maxParseLine bounds one input line of 'parse' and 'detect'; longer lines
// are cut (and counted) so a file without newlines cannot exhaust memory.
const maxParseLine = 1 << 20

// lineReader yields lines with their byte offsets, cutting overlong lines.
type lineReader struct {
	r      *bufio.Reader
	offset int64
}

// next returns the line (without LF/CRLF), its offset, whether it was cut,
// and io.EOF at the end.
func (l *lineReader) next() (string, int64, bool, error) {
	start := l.offset
	var buf []byte
	cut := false
	for {
		chunk, err := l.r.ReadSlice('\n')
		l.offset += int64(len(chunk))
		if len(buf)+len(chunk) <= maxParseLine {
			buf = append(buf, chunk...)
		} else {
			if room := maxParseLine - len(buf); room > 0 {
				buf = append(buf, chunk[:room]...)
			}
			cut = true
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil && len(buf) == 0 {
			return "", start, false, err
		}
		s := strings.TrimSuffix(strings.TrimSuffix(string(buf), "\n"), "\r")
		return s, start, cut, nil
	}
}

type parseSummary struct {
	lines, records, skipped, failed, cut int64
	cov                                  parsers.Coverage
	failures                             []string
	formats                              map[string]int64
	format                               string
}

func parseCommand() *cli.Command {
	return &cli.Command{
		Name:      "parse",
		Usage:     "parse log lines into ECS JSON records (one per line on stdout), with a summary on stderr",
		ArgsUsage: "[FILE... | -]",
		Description: `Reads log lines from files (or stdin with '-' or no argument), each with or
without a syslog header, and prints one ECS JSON object per traffic record, with
log.offset = the byte offset of its line in its file. Lines that carry no traffic
(system events, headers) are skipped; lines that cannot be parsed are counted as
failed. The summary on stderr gives the counts, the share of records carrying
the fields discovery needs, and the first failures.

Nothing is pseudonymized here unless --anonymize-key is given: this shows what
the device sends.

Examples:
  cloudscout parse --format fortigate fw.log
  cloudscout parse --format auto --timezone Europe/Berlin --now 2026-03-01T00:00:00Z proxy.log
  tail -f /var/log/fw.log | cloudscout parse -f paloalto -`,
		Flags: []cli.Flag{configFlag,
			&cli.StringFlag{Name: "format", Aliases: []string{"f"}, Value: "auto", Usage: "format `NAME` (see 'cloudscout formats', or a custom parser from --config), or auto to detect per line"},
			&cli.StringFlag{Name: "timezone", Aliases: []string{"tz"}, Value: "UTC", Usage: "time `ZONE` for logs whose times carry none (e.g. Europe/Berlin)"},
			&cli.StringFlag{Name: "now", Usage: "fix the clock (`RFC3339`) used to infer the year of header timestamps without one"},
			&cli.StringFlag{Name: "anonymize-key", Usage: "pseudonymize with the default policy and this key `FILE` (as the collector would)"},
			&cli.IntFlag{Name: "max-failures", Value: 5, Usage: "how many failed lines to show in the summary"},
		},
		Action: func(c *cli.Context) error {
			loc, err := time.LoadLocation(c.String("timezone"))
			if err != nil {
				return fmt.Errorf("--timezone: %w", err)
			}
			now := time.Now()
			if s := c.String("now"); s != "" {
				if now, err = time.Parse(time.RFC3339, s); err != nil {
					return fmt.Errorf("--now: %w", err)
				}
			}
			format := c.String("format")
			newParser := func() (parsers.Parser, error) { return parsers.New(format, parsers.Options{Location: loc}) }
			if _, ok := parsers.Lookup(format); !ok {
				// A custom format declared in the configuration's parsers list.
				cfg, err := loadConfig(c)
				if err != nil {
					return err
				}
				spec, ok := cfg.Custom(format)
				if !ok {
					return fmt.Errorf("unknown format %q (see 'cloudscout formats', or declare it under parsers: in --config)", format)
				}
				newParser = func() (parsers.Parser, error) { return custom.New(spec, loc) }
			}
			var anon *anonymize.Worker
			if kf := c.String("anonymize-key"); kf != "" {
				k, err := anonymize.LoadKey(kf)
				if err != nil {
					return err
				}
				a, err := anonymize.New(k, anonymize.DefaultPolicy())
				if err != nil {
					return err
				}
				anon = a.NewWorker()
			}
			files := c.Args().Slice()
			if len(files) == 0 {
				files = []string{"-"}
			}
			out := bufio.NewWriterSize(c.App.Writer, 64<<10)
			sum := &parseSummary{formats: map[string]int64{}, format: format}
			maxFail := c.Int("max-failures")
			var buf []byte
			for _, name := range files {
				var in io.Reader = os.Stdin
				if name != "-" {
					f, err := os.Open(name)
					if err != nil {
						return err
					}
					defer f.Close()
					in = f
				}
				p, err := newParser()
				if err != nil {
					return err
				}
				lr := &lineReader{r: bufio.NewReaderSize(in, 64<<10)}
				var rec parsers.Record
				for {
					line, off, cut, err := lr.next()
					if err == io.EOF {
						break
					}
					if err != nil {
						return fmt.Errorf("%s: %w", name, err)
					}
					if strings.TrimSpace(line) == "" {
						continue
					}
					sum.lines++
					if cut {
						sum.cut++
					}
					rec.Reset()
					m := parsers.Meta{Location: loc, Now: now}
					err = parsers.ParseLine(p, line, &m, &rec)
					switch {
					case errors.Is(err, parsers.ErrSkip):
						sum.skipped++
						continue
					case err != nil:
						sum.failed++
						if len(sum.failures) < maxFail {
							sample := line
							if len(sample) > 160 {
								sample = sample[:160] + "..."
							}
							sum.failures = append(sum.failures, fmt.Sprintf("%s offset %d: %v\n      %s", name, off, err, sample))
						}
						continue
					}
					sum.records++
					if format == parsers.AutoName {
						h, body := parsers.SplitHeader(line, loc, now)
						if i, _ := parsers.Detect(body, &h); i.Name != "" {
							sum.formats[i.Name]++
						}
					}
					rec.LogOffset = parsers.N(off)
					sum.cov.Add(&rec)
					if anon != nil {
						anon.Apply(&rec)
					}
					buf = rec.AppendJSON(buf[:0])
					buf = append(buf, '\n')
					if _, err := out.Write(buf); err != nil {
						return err
					}
				}
			}
			if err := out.Flush(); err != nil {
				return err
			}
			printSummary(c.App.ErrWriter, sum)
			return nil
		},
	}
}

func pct(n, d int64) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*float64(n)/float64(d))
}

func printSummary(w io.Writer, s *parseSummary) {
	fmt.Fprintf(w, "lines read: %d  records: %d  skipped: %d  failed: %d", s.lines, s.records, s.skipped, s.failed)
	if s.cut > 0 {
		fmt.Fprintf(w, "  cut at %d bytes: %d", maxParseLine, s.cut)
	}
	fmt.Fprintln(w)
	if c := s.cov; c.Records > 0 {
		fmt.Fprintf(w, "field coverage: user %s  url/domain %s  bytes up+down %s  action %s\n",
			pct(c.User, c.Records), pct(c.URL, c.Records), pct(c.Bytes, c.Records), pct(c.Action, c.Records))
		for _, h := range c.Hints(s.format) {
			fmt.Fprintln(w, "hint: "+h)
		}
	}
	if len(s.formats) > 0 {
		names := make([]string, 0, len(s.formats))
		for k := range s.formats {
			names = append(names, k)
		}
		sort.Strings(names)
		parts := []string{}
		for _, n := range names {
			parts = append(parts, fmt.Sprintf("%s %d", n, s.formats[n]))
		}
		fmt.Fprintf(w, "formats detected: %s\n", strings.Join(parts, ", "))
	}
	if len(s.failures) > 0 {
		fmt.Fprintln(w, "first failures:")
		for _, f := range s.failures {
			fmt.Fprintln(w, "  "+f)
		}
	}
}

func detectCommand() *cli.Command {
	return &cli.Command{
		Name:      "detect",
		Usage:     "name the format of a log file, with a confidence and the share of lines it parses",
		ArgsUsage: "FILE [FILE...]",
		Flags: []cli.Flag{
			&cli.IntFlag{Name: "lines", Value: 1000, Usage: "examine at most `N` lines per file"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return errors.New("name at least one file")
			}
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "FILE\tFORMAT\tCONFIDENCE\tLINES PARSED\tOTHER FORMATS SEEN")
			for _, name := range c.Args().Slice() {
				res, err := detectFile(name, c.Int("lines"))
				if err != nil {
					return err
				}
				fmt.Fprintf(w, "%s\t%s\t%d%%\t%s\t%s\n", name, res.format, res.confidence, res.parsed, res.others)
			}
			return w.Flush()
		},
	}
}

type detectResult struct {
	format     string
	confidence int
	parsed     string
	others     string
}

func detectFile(name string, maxLines int) (detectResult, error) {
	f, err := os.Open(name)
	if err != nil {
		return detectResult{}, err
	}
	defer f.Close()
	lr := &lineReader{r: bufio.NewReaderSize(f, 64<<10)}
	votes := map[string]int{}
	scores := map[string]int{}
	var lines []string
	now := time.Now()
	for len(lines) < maxLines {
		line, _, _, err := lr.next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return detectResult{}, err
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		lines = append(lines, line)
		h, body := parsers.SplitHeader(line, time.UTC, now)
		if i, s := parsers.Detect(body, &h); s > 0 {
			votes[i.Name]++
			scores[i.Name] += s
		}
	}
	if len(lines) == 0 {
		return detectResult{format: "-", parsed: "empty file"}, nil
	}
	best := ""
	for n, v := range votes {
		if best == "" || v > votes[best] || (v == votes[best] && n < best) {
			best = n
		}
	}
	if best == "" {
		return detectResult{format: "unknown", parsed: fmt.Sprintf("0/%d", len(lines))}, nil
	}
	// Share of lines the winning parser reads (records or recognised skips).
	p, err := parsers.New(best, parsers.Options{Location: time.UTC})
	if err != nil {
		return detectResult{}, err
	}
	ok := 0
	var rec parsers.Record
	for _, l := range lines {
		rec.Reset()
		m := parsers.Meta{Location: time.UTC, Now: now}
		if err := parsers.ParseLine(p, l, &m, &rec); err == nil || errors.Is(err, parsers.ErrSkip) {
			ok++
		}
	}
	conf := scores[best] / votes[best] * votes[best] / len(lines)
	others := []string{}
	for n, v := range votes {
		if n != best {
			others = append(others, fmt.Sprintf("%s (%d lines)", n, v))
		}
	}
	sort.Strings(others)
	o := strings.Join(others, ", ")
	if o == "" {
		o = "-"
	}
	return detectResult{format: best, confidence: conf, parsed: fmt.Sprintf("%d/%d (%s)", ok, len(lines), pct(int64(ok), int64(len(lines)))), others: o}, nil
}

func formatsCommand() *cli.Command {
	return &cli.Command{
		Name:  "formats",
		Usage: "list the log formats CloudScout parses",
		Action: func(c *cli.Context) error {
			w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NAME\tVENDOR\tPRODUCT\tDESCRIPTION")
			for _, i := range parsers.List() {
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", i.Name, i.Vendor, i.Product, i.Description)
			}
			return w.Flush()
		},
	}
}

func deanonymizeCommand() *cli.Command {
	return &cli.Command{
		Name:      "deanonymize",
		Usage:     "reveal the value behind an 'enc:' pseudonym (fields with the encrypt action), using the key",
		ArgsUsage: "TOKEN [TOKEN...]",
		Description: `Only values made by the 'encrypt' action can be reversed; 'token' values are
one-way by design. The key file is the collector's anonymize.key_file.`,
		Flags: []cli.Flag{configFlag,
			&cli.StringFlag{Name: "key", Usage: "key `FILE` (default: anonymize.key_file from the config)"},
		},
		Action: func(c *cli.Context) error {
			if c.NArg() == 0 {
				return errors.New("give at least one enc: value")
			}
			kf := c.String("key")
			if kf == "" {
				cfg, err := loadConfig(c)
				if err != nil {
					return err
				}
				kf = cfg.Anonymize.KeyFile
			}
			k, err := anonymize.LoadKey(kf)
			if err != nil {
				return err
			}
			failed := 0
			for _, t := range c.Args().Slice() {
				v, err := anonymize.Decrypt(k, t)
				if err != nil {
					fmt.Fprintf(c.App.ErrWriter, "%s: %v\n", t, err)
					failed++
					continue
				}
				fmt.Fprintln(c.App.Writer, v)
			}
			if failed > 0 {
				return exitError{code: 1, err: fmt.Errorf("%d value(s) could not be reversed", failed)}
			}
			return nil
		},
	}
}
