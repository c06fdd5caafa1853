package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/mattn/go-isatty"
	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/cloudscout/cloudscout/collector"
	"github.com/cloudscout/cloudscout/collector/config"
)

var configFlag = &cli.StringFlag{
	Name:    "config",
	Aliases: []string{"c"},
	Usage:   "YAML configuration `FILE` (without it: embedded defaults, see 'cloudscout config default')",
	EnvVars: []string{"CLOUDSCOUT_CONFIG"},
}

// loadConfig reads the config file (or the defaults), applies environment
// overrides and validates.
func loadConfig(c *cli.Context) (*config.Config, error) {
	var cfg *config.Config
	var err error
	if p := c.String("config"); p != "" {
		cfg, err = config.Load(p)
	} else {
		cfg, err = config.Default()
	}
	if err != nil {
		return nil, err
	}
	if err := cfg.ApplyEnv(os.Getenv); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("invalid configuration:\n%w", indentErr(err))
	}
	return cfg, nil
}

func indentErr(err error) error {
	lines := strings.Split(err.Error(), "\n")
	for i, l := range lines {
		lines[i] = "  - " + l
	}
	return fmt.Errorf("%s", strings.Join(lines, "\n"))
}

func newLogger(cfg *config.Config, w io.Writer) zerolog.Logger {
	lvl, err := zerolog.ParseLevel(cfg.Collector.LogLevel)
	if err != nil {
		lvl = zerolog.InfoLevel
	}
	out := w
	f, isFile := w.(*os.File)
	if cfg.Collector.LogFormat == "console" || (cfg.Collector.LogFormat == "auto" && isFile && isatty.IsTerminal(f.Fd())) {
		out = zerolog.ConsoleWriter{Out: w, TimeFormat: time.DateTime}
	}
	return zerolog.New(out).Level(lvl).With().Timestamp().Logger()
}

func runCommand() *cli.Command {
	return &cli.Command{
		Name:  "run",
		Usage: "run the collector (listeners, spool, uploads) until SIGTERM/Ctrl-C",
		Description: `Starts the collector. Without --config it uses the embedded defaults:
syslog on UDP and TCP port 5514 (any sender, format auto-detected), data under
./data, batches shipped every 5 minutes to ./data/outbox, admin endpoint on
http://127.0.0.1:5580 (metrics, health, status).

SIGTERM or Ctrl-C stops it cleanly: listeners close, records in flight reach the
spool, nothing acknowledged is lost. What is not yet shipped ships after the
next start.`,
		Flags: []cli.Flag{configFlag},
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			log := newLogger(cfg, os.Stderr)
			for _, w := range cfg.Warnings() {
				log.Warn().Msg(w)
			}
			if lim, from := applyMemoryLimit(int64(cfg.Collector.MemoryLimit), cgroupMemoryFiles); lim > 0 {
				log.Info().Int64("bytes", lim).Str("from", from).Msg("heap ceiling set")
			}
			col, err := collector.New(cfg, collector.Options{
				Logger:     log,
				Version:    version,
				LoadConfig: func() (*config.Config, error) { return loadConfig(c) },
				Started: func(e collector.Endpoints) {
					ev := log.Info().Str("version", version).Str("data_dir", e.DataDir)
					if e.Admin != "" {
						ev = ev.Str("admin", e.Admin)
					}
					ev.Msg("CloudScout collector running")
					for _, l := range e.Listeners {
						log.Info().Msg("listening: " + l)
					}
					for _, t := range e.Targets {
						log.Info().Msg("batches go to: " + t)
					}
				},
			})
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			hup := make(chan os.Signal, 1)
			signal.Notify(hup, syscall.SIGHUP)
			defer signal.Stop(hup)
			go func() {
				for {
					select {
					case <-ctx.Done():
						return
					case <-hup:
						// Errors are logged by Reload's caller here; the running
						// configuration stays in force.
						if _, err := col.ReloadFromSource(); err != nil {
							log.Error().Err(err).Msg("reload failed; the previous configuration stays in force")
						}
					}
				}
			}()
			if err := col.Run(ctx); err != nil {
				return err
			}
			log.Info().Msg("stopped cleanly")
			return nil
		},
	}
}

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "check a configuration file and print what it sets up",
		ArgsUsage: " ",
		Flags:     []cli.Flag{configFlag},
		Action: func(c *cli.Context) error {
			cfg, err := loadConfig(c)
			if err != nil {
				return err
			}
			w := c.App.Writer
			src := cfg.Path()
			if src == "" {
				src = "embedded defaults"
			}
			fmt.Fprintf(w, "configuration OK (%s)\n", src)
			for _, l := range cfg.Listeners() {
				names := []string{}
				for _, s := range l.Sources {
					names = append(names, s.Name)
				}
				fmt.Fprintf(w, "  listen %-26s → %s\n", l.Key(), strings.Join(names, ", "))
			}
			for _, s := range cfg.Sources {
				fmt.Fprintf(w, "  source %-20s format %-12s timezone %s\n", s.Name, s.Format, s.Location())
			}
			for _, t := range cfg.Upload.Targets {
				fmt.Fprintf(w, "  upload to %s (%s) every %s\n", t.Name, t.URL, cfg.Upload.Interval.D())
			}
			for _, wn := range cfg.Warnings() {
				fmt.Fprintf(w, "  warning: %s\n", wn)
			}
			return nil
		},
	}
}

func configCommand() *cli.Command {
	return &cli.Command{
		Name:  "config",
		Usage: "configuration helpers",
		Subcommands: []*cli.Command{{
			Name:  "default",
			Usage: "print the embedded default configuration (annotated): a starting point for your own file",
			Action: func(c *cli.Context) error {
				_, err := c.App.Writer.Write(config.DefaultYAML())
				return err
			},
		}},
	}
}
