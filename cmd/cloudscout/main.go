// Command cloudscout is the CloudScout log collector: it receives firewall
// and proxy logs (syslog, FTP, watched folders), parses them, pseudonymizes
// users and internal addresses on the appliance, spools them durably and
// ships compressed batches for Cloud Discovery.
package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	_ "github.com/cloudscout/cloudscout/parsers/all"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := newApp().Run(os.Args); err != nil {
		fmt.Fprintln(os.Stderr, "cloudscout:", err)
		os.Exit(exitCode(err))
	}
}

func newApp() *cli.App {
	return &cli.App{
		Name:    "cloudscout",
		Usage:   "log collector for Cloud Discovery (Shadow IT): firewall and proxy logs in, pseudonymized batches out",
		Version: version,
		Description: `CloudScout receives traffic logs from firewalls and web proxies (syslog over
UDP, TCP and TLS; files over FTP/FTPS or from watched folders), parses 20+ vendor
formats into one ECS record, replaces user names and internal addresses with keyed
tokens on this machine, spools the records durably and ships compressed batches
to a folder, an HTTPS endpoint or an S3 bucket.

Start with 'cloudscout run' (no config needed), point a device's syslog at
UDP or TCP port 5514, then watch 'cloudscout status'.`,
		Commands: []*cli.Command{
			runCommand(),
			validateCommand(),
			statusCommand(),
			uploadCommand(),
			parseCommand(),
			detectCommand(),
			formatsCommand(),
			deanonymizeCommand(),
			spoolCommand(),
			configCommand(),
			healthcheckCommand(),
			reloadCommand(),
			sourceCommand(),
			loadgenCommand(),
		},
		EnableBashCompletion: true,
	}
}

// exitError carries a specific exit status.
type exitError struct {
	code int
	err  error
}

func (e exitError) Error() string { return e.err.Error() }
func (e exitError) Unwrap() error { return e.err }

func exitCode(err error) int {
	var e exitError
	if ok := asExit(err, &e); ok {
		return e.code
	}
	return 1
}

func asExit(err error, target *exitError) bool {
	for err != nil {
		if e, ok := err.(exitError); ok {
			*target = e
			return true
		}
		u, ok := err.(interface{ Unwrap() error })
		if !ok {
			return false
		}
		err = u.Unwrap()
	}
	return false
}
