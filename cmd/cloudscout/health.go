package main

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/urfave/cli/v2"
)

func healthcheckCommand() *cli.Command {
	return &cli.Command{
		Name:  "healthcheck",
		Usage: "exit 0 when the running collector answers its health check (for container HEALTHCHECK)",
		Description: `Asks the admin endpoint's /healthz (alive) or, with --ready, /readyz (alive
and able to accept and ship data: spool not full, uploads not stuck). Needs no
shell, so it works in the minimal container image.`,
		Flags: []cli.Flag{configFlag, adminFlag,
			&cli.BoolFlag{Name: "ready", Usage: "check readiness instead of liveness"},
		},
		Action: func(c *cli.Context) error {
			base, err := adminURL(c)
			if err != nil {
				return err
			}
			path := "/healthz"
			if c.Bool("ready") {
				path = "/readyz"
			}
			resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(base + path)
			if err != nil {
				return exitError{code: 1, err: fmt.Errorf("unhealthy: %w", err)}
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
			if resp.StatusCode != http.StatusOK {
				return exitError{code: 1, err: fmt.Errorf("unhealthy: %s", strings.TrimSpace(string(body)))}
			}
			fmt.Fprint(c.App.Writer, string(body))
			return nil
		},
	}
}
