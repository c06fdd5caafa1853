package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloudscout/cloudscout/collector"
)

var adminFlag = &cli.StringFlag{
	Name:    "admin",
	Usage:   "admin endpoint `HOST:PORT` of the running collector (default: collector.admin from the config)",
	EnvVars: []string{"CLOUDSCOUT_ADMIN"},
}

// adminURL finds the running collector's admin endpoint.
func adminURL(c *cli.Context) (string, error) {
	addr := c.String("admin")
	if addr == "" {
		cfg, err := loadConfig(c)
		if err != nil {
			return "", err
		}
		addr = cfg.Collector.Admin
	}
	if addr == "" {
		return "", errors.New("the admin endpoint is disabled (collector.admin is empty)")
	}
	host := addr
	if strings.HasPrefix(host, ":") || strings.HasPrefix(host, "0.0.0.0:") {
		host = "127.0.0.1:" + host[strings.LastIndexByte(host, ':')+1:]
	}
	return "http://" + host, nil
}

func callAdmin(c *cli.Context, method, path string, timeout time.Duration, out any) error {
	base, err := adminURL(c)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(c.Context, method, base+path, nil)
	if err != nil {
		return err
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		return fmt.Errorf("cannot reach the collector at %s (is 'cloudscout run' running? use --admin HOST:PORT): %w", base, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(body, &e) == nil && e.Error != "" {
			return fmt.Errorf("collector: %s", e.Error)
		}
		return fmt.Errorf("collector answered %s: %s", resp.Status, strings.TrimSpace(string(body)))
	}
	return json.Unmarshal(body, out)
}

func statusCommand() *cli.Command {
	return &cli.Command{
		Name:  "status",
		Usage: "show what a running collector receives, parses, spools and ships",
		Flags: []cli.Flag{configFlag, adminFlag,
			&cli.BoolFlag{Name: "json", Usage: "print the raw JSON"},
		},
		Action: func(c *cli.Context) error {
			var st collector.Status
			if err := callAdmin(c, http.MethodGet, "/api/status", 10*time.Second, &st); err != nil {
				return err
			}
			if c.Bool("json") {
				enc := json.NewEncoder(c.App.Writer)
				enc.SetIndent("", "  ")
				return enc.Encode(st)
			}
			printStatus(c.App.Writer, &st)
			if !st.Ready {
				return exitError{code: 2, err: errors.New("collector is not ready")}
			}
			return nil
		},
	}
}

func human(n int64) string {
	f := float64(n)
	for _, u := range []string{"B", "KiB", "MiB", "GiB", "TiB"} {
		if f < 1024 || u == "TiB" {
			if u == "B" {
				return fmt.Sprintf("%d B", n)
			}
			return fmt.Sprintf("%.1f %s", f, u)
		}
		f /= 1024
	}
	return ""
}

func ago(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return time.Since(t).Round(time.Second).String() + " ago"
}

func printStatus(w io.Writer, st *collector.Status) {
	health := "READY"
	if !st.Ready {
		health = "NOT READY"
	}
	fmt.Fprintf(w, "CloudScout %s  collector %q  up %s  %s\n", st.Version, st.Collector, st.Uptime, health)
	for _, p := range st.Problems {
		fmt.Fprintf(w, "  ! %s\n", p)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SOURCE\tFORMAT\tRECEIVED\tRECORDS\tSKIPPED\tFAILED\tDROPPED\tUSER\tURL\tBYTES\tACTION\tLAST SEEN")
	for _, s := range st.Sources {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%d\t%d\t%.0f%%\t%.0f%%\t%.0f%%\t%.0f%%\t%s\n", s.Name, s.Format, s.Received, s.Records, s.Skipped, s.Failed, s.Dropped,
			100*s.Coverage["user"], 100*s.Coverage["url"], 100*s.Coverage["bytes"], 100*s.Coverage["action"], ago(s.LastReceived))
	}
	tw.Flush()
	for _, s := range st.Sources {
		for _, h := range s.Hints {
			fmt.Fprintf(w, "  hint (%s): %s\n", s.Name, h)
		}
	}
	fmt.Fprintln(w)
	sp := st.Spool
	fmt.Fprintf(w, "SPOOL  used %s of %s  waiting: %d batches (%s), oldest sealed %s", human(sp.UsedBytes), human(sp.QuotaBytes), sp.Batches, human(sp.PendingBytes), ago(sp.OldestBatch))
	if sp.Full {
		fmt.Fprint(w, "  FULL")
	}
	fmt.Fprintln(w)
	if sp.WriteError != "" {
		fmt.Fprintf(w, "  ! write error: %s\n", sp.WriteError)
	}
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TARGET\tURL\tSHIPPED\tBYTES\tFAILURES\tPENDING\tLAST SUCCESS\tLAST ERROR")
	for _, t := range st.Targets {
		le := t.LastError
		if le == "" {
			le = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%d\t%d\t%s\t%s\n", t.Name, t.URL, t.Shipped, human(t.Bytes), t.Failures, t.Pending, ago(t.LastSuccess), le)
	}
	tw.Flush()
}

func uploadCommand() *cli.Command {
	return &cli.Command{
		Name:  "upload",
		Usage: "make the running collector seal what it has and ship it now (--test: check each target instead)",
		Flags: []cli.Flag{configFlag, adminFlag,
			&cli.BoolFlag{Name: "test", Usage: "send a tiny test batch to each configured target and explain any failure (needs no running collector)"},
		},
		Action: func(c *cli.Context) error {
			if c.Bool("test") {
				return uploadTest(c)
			}
			var res collector.UploadResult
			if err := callAdmin(c, http.MethodPost, "/api/upload", 11*time.Minute, &res); err != nil {
				return err
			}
			fmt.Fprintf(c.App.Writer, "sealed and shipped %d batch(es)\n", res.Batches)
			for _, t := range res.Targets {
				fmt.Fprintf(c.App.Writer, "  %s: %d delivered (%s)\n", t.Name, t.Delivered, human(t.Bytes))
			}
			for _, f := range res.Failures {
				fmt.Fprintf(c.App.Writer, "  failed: %s\n", f)
			}
			if len(res.Failures) > 0 {
				return exitError{code: 2, err: errors.New("some batches did not ship (they stay queued and are retried)")}
			}
			return nil
		},
	}
}

func reloadCommand() *cli.Command {
	return &cli.Command{
		Name:  "reload",
		Usage: "make the running collector read its configuration again (same as SIGHUP)",
		Description: `Sources, formats, allowed senders, anonymization and FTP accounts change
without a restart; listeners that stay keep their connections. Changes to
collector, spool and syslog limits need a restart (the reply says so).`,
		Flags: []cli.Flag{configFlag, adminFlag},
		Action: func(c *cli.Context) error {
			var res struct {
				Changes []string `json:"changes"`
			}
			if err := callAdmin(c, http.MethodPost, "/api/reload", 30*time.Second, &res); err != nil {
				return err
			}
			fmt.Fprintln(c.App.Writer, "configuration reloaded")
			for _, ch := range res.Changes {
				fmt.Fprintln(c.App.Writer, "  "+ch)
			}
			return nil
		},
	}
}
