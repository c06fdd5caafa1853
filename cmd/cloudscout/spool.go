package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/cloudscout/cloudscout/collector"
	"github.com/cloudscout/cloudscout/collector/spool"
	"github.com/cloudscout/cloudscout/uploader"
)

func spoolCommand() *cli.Command {
	dataDir := func(c *cli.Context) (string, error) {
		cfg, err := loadConfig(c)
		if err != nil {
			return "", err
		}
		return cfg.Collector.DataDir, nil
	}
	return &cli.Command{
		Name:  "spool",
		Usage: "inspect and check the on-disk spool (works while the collector runs or not)",
		Subcommands: []*cli.Command{
			{
				Name:  "ls",
				Usage: "list batches waiting to ship and the open segments",
				Flags: []cli.Flag{configFlag},
				Action: func(c *cli.Context) error {
					dd, err := dataDir(c)
					if err != nil {
						return err
					}
					batches, open, err := spool.List(filepath.Join(dd, "spool"))
					if err != nil {
						return err
					}
					w := tabwriter.NewWriter(c.App.Writer, 0, 4, 2, ' ', 0)
					fmt.Fprintln(w, "STATE\tSOURCE\tRECORDS\tSIZE\tFIRST\tLAST\tKEY / FILE")
					for _, b := range batches {
						m := b.Manifest
						fmt.Fprintf(w, "sealed\t%s\t%d\t%s\t%s\t%s\t%s\n", m.Source, m.Records, human(m.Bytes), ts(m.FirstTime), ts(m.LastTime), m.Key)
					}
					for _, o := range open {
						fmt.Fprintf(w, "open\t%s\t%d\t%s\t%s\t%s\t%s\n", o.Source, o.Records, human(o.Bytes), ts(o.FirstTime), ts(o.LastTime), filepath.Base(o.Path))
					}
					if err := w.Flush(); err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "%d sealed batch(es), %d open segment(s)\n", len(batches), len(open))
					return nil
				},
			},
			{
				Name:  "verify",
				Usage: "decompress every batch and segment and check checksums; exit 1 on any problem",
				Flags: []cli.Flag{configFlag},
				Action: func(c *cli.Context) error {
					dd, err := dataDir(c)
					if err != nil {
						return err
					}
					rep, err := spool.Verify(filepath.Join(dd, "spool"))
					if err != nil {
						return err
					}
					bad := 0
					var records int64
					for _, f := range rep.Files {
						records += f.Records
						if !f.OK() {
							bad++
							for _, p := range f.Problems {
								fmt.Fprintf(c.App.Writer, "PROBLEM %s: %s\n", f.Path, p)
							}
						}
					}
					for _, q := range rep.Quarantined {
						fmt.Fprintf(c.App.Writer, "quarantined (kept for inspection): %s\n", q)
					}
					fmt.Fprintf(c.App.Writer, "%d file(s) checked, %d record(s), %d with problems\n", len(rep.Files), records, bad)
					if bad > 0 {
						return exitError{code: 1, err: errors.New("spool verification found problems")}
					}
					return nil
				},
			},
			{
				Name:  "requeue",
				Usage: "send dead-lettered batches (rejected by a target as invalid) again",
				Flags: []cli.Flag{configFlag},
				Action: func(c *cli.Context) error {
					dd, err := dataDir(c)
					if err != nil {
						return err
					}
					n, err := uploader.Requeue(filepath.Join(dd, "upload"))
					if err != nil {
						return err
					}
					fmt.Fprintf(c.App.Writer, "requeued %d batch(es); they ship with the next upload\n", n)
					return nil
				},
			},
		},
	}
}

func ts(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05")
}

// uploadTest sends a tiny test batch to every configured target.
func uploadTest(c *cli.Context) error {
	cfg, err := loadConfig(c)
	if err != nil {
		return err
	}
	targets, err := collector.Sinks(cfg)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Context, 2*time.Minute)
	defer cancel()
	failed := 0
	for _, r := range uploader.TestTargets(ctx, cfg.Collector.Name, targets) {
		if r.OK {
			fmt.Fprintf(c.App.Writer, "OK    %s (%s): test batch stored as %s in %s\n", r.Target, r.Sink, r.Key, r.Duration.Round(time.Millisecond))
			continue
		}
		failed++
		fmt.Fprintf(c.App.Writer, "FAIL  %s (%s): %s\n", r.Target, r.Sink, r.Explanation)
		if r.Error != "" {
			fmt.Fprintf(c.App.Writer, "      detail [%s]: %s\n", r.Class, r.Error)
		}
	}
	if failed > 0 {
		return exitError{code: 2, err: fmt.Errorf("%d target(s) failed the test", failed)}
	}
	return nil
}
